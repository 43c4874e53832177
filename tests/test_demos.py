"""``python -m convlab.<module>`` runs each module's self-demo (as conv1D.m does with no
arguments); every demo must run and every True/False it prints must be True."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

DEMOS = sorted(
    [
        p.stem
        for p in (ROOT / "convlab").glob("*.py")
        if 'if __name__ == "__main__":' in p.read_text() and p.stem != "instructor"
    ]
    + [p.parent.name for p in (ROOT / "convlab").glob("*/__main__.py")]  # packages
)


def test_the_core_modules_have_demos():
    assert {"matlab", "structured", "fourier", "checks", "conv"} <= set(DEMOS)


@pytest.mark.parametrize("module", DEMOS)
def test_demo_runs_and_its_claims_hold(module):
    done = subprocess.run(
        [sys.executable, "-m", f"convlab.{module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the demo printed nothing"
    claims = [ln for ln in done.stdout.splitlines() if ln.rstrip().endswith(("True", "False"))]
    assert not [ln for ln in claims if ln.rstrip().endswith("False")], done.stdout
