"""Every relative link in README.md and the index notebook points at a file in the repository."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT

LINK = re.compile(r"\]\(([^)#\s]+)\)")


def _links(text: str) -> list[str]:
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+://", t)]


@pytest.mark.parametrize("source", ["README.md", "notebooks/00_index.ipynb"])
def test_links_resolve(source):
    path = ROOT / source
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    links = _links(text)
    assert links, f"no links found in {source}"
    missing = [t for t in links if not (path.parent / t).exists()]
    assert not missing, f"{source} links to missing files: {missing}"


def test_every_notebook_and_exercise_is_in_the_readme_course_map():
    readme = (ROOT / "README.md").read_text()
    for folder in ("notebooks", "exercises"):
        for nb in sorted((ROOT / folder).glob("[0-9]*.ipynb")):
            assert f"({folder}/{nb.name})" in readme, f"{folder}/{nb.name} missing from README"
