"""pyproject.toml and environment.yml list the same dependencies, with the same lower bounds."""

from __future__ import annotations

import re
import sys

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _parse(spec: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, spec
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_parse(s) for s in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted.update(_parse(s) for s in extra)
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    listed = {}
    for line in env_lines:
        m = re.fullmatch(r"\s+-\s+([A-Za-z][A-Za-z0-9_.\-]*[<>=!~].*)", line)
        if m and not m.group(1).startswith("python"):
            name, bound = _parse(m.group(1))
            listed[name] = bound
    assert listed == wanted


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    commands = [ln for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[-1].strip() == "make test"
