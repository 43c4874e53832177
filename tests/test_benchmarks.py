"""Every benchmark still runs (``--quick``: tiny sizes) and prints a ratio table."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_runs_quick(path):
    done = subprocess.run(
        [sys.executable, str(path), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "x" in done.stdout and len(done.stdout.splitlines()) >= 3, done.stdout
