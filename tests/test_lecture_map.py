"""The lecture map (tests/lecture_map.toml) stays in step with the lectures and the notebooks.

Every item of the five lectures has one entry: where the course handles it (a notebook and an
nbformat cell id, which survives re-execution, or a list of them: the first is the cell that
handles the item, the others where the course shows or discusses it further) and a status:

- ``checked``: the (first) cell asserts it (``assert``) or a grader checks it (``check(``);
- ``explained``: a concept or prose item, shown but with nothing to compute (an item that should be
  asserted in a notebook the map's author does not own carries ``needs = "assert"``);
- ``left-out``: not reproduced, with the reason, which the (first) cell (markdown) states too.

The lecture texts live beside the repository (``../shared/lectures`` in CI, or
``$CONVLAB_LECTURES``). When they are present, every section title listed in the map must be a line
of its lecture, in order, and for the lectures with markdown headings (000, 002) every heading must
be a listed section.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

MAP = ROOT / "tests" / "lecture_map.toml"
STATUSES = {"checked", "explained", "left-out"}
NEEDS = {"assert", "content"}  # for the lead: an assert to add / a lecture item to add
REQUIRED = ("id", "lecture", "section", "item", "notebook", "cell", "status")


@cache
def lecture_map() -> dict:
    with MAP.open("rb") as fh:
        return tomllib.load(fh)


@cache
def cells(notebook: str) -> dict[str, dict]:
    nb = json.loads((ROOT / notebook).read_text())
    return {c["id"]: {"type": c["cell_type"], "source": "".join(c["source"])} for c in nb["cells"]}


def lecture_dir() -> Path | None:
    candidates = [os.environ.get("CONVLAB_LECTURES"), ROOT.parent / "shared" / "lectures"]
    return next((Path(c) for c in candidates if c and Path(c).is_dir()), None)


def _title(line: str) -> str:
    return re.sub(r"^#+\s*", "", line).strip()


ITEMS = lecture_map()["item"]
LECTURES = lecture_map()["lecture"]


def test_items_are_well_formed():
    seen = set()
    for it in ITEMS:
        missing = [k for k in REQUIRED if k not in it]
        assert not missing, f"item {it.get('id')} lacks {missing}"
        assert it["id"] not in seen, f"duplicate item id {it['id']}"
        seen.add(it["id"])
        assert it["lecture"] in LECTURES, f"{it['id']}: unknown lecture {it['lecture']!r}"
        assert it["status"] in STATUSES, f"{it['id']}: status {it['status']!r} not in {STATUSES}"
        if it["status"] == "left-out":
            assert it.get("reason"), f"{it['id']}: a left-out item needs a reason"
        if "needs" in it:
            assert it["status"] == "explained", f"{it['id']}: 'needs' only marks explained items"
            assert it["needs"] in NEEDS, f"{it['id']}: needs {it['needs']!r} not in {NEEDS}"


def cell_ids(it: dict) -> list[str]:
    """The item's cells: ``cell`` is one id or a non-empty list of distinct ids (first = main)."""
    ids = [it["cell"]] if isinstance(it["cell"], str) else it["cell"]
    assert isinstance(ids, list) and ids, f"{it['id']}: cell must be an id or a non-empty list"
    assert all(isinstance(c, str) for c in ids), f"{it['id']}: cell ids must be strings"
    assert len(set(ids)) == len(ids), f"{it['id']}: a cell is listed twice"
    return ids


def check_item(it: dict, nb_cells: dict[str, dict]) -> None:
    """Assert that the item's cells exist in ``nb_cells`` and do what its status says."""
    ids = cell_ids(it)
    for cid in ids:
        assert cid in nb_cells, f"{it['id']}: cell id {cid} is not in {it['notebook']}"
    main, cell = ids[0], nb_cells[ids[0]]
    if it["status"] == "checked":
        assert cell["type"] == "code" and re.search(r"\bassert\b|\bcheck\(", cell["source"]), (
            f"{it['id']} is 'checked' but cell {main} of {it['notebook']} has no assert/check("
        )
    if it["status"] == "left-out":
        assert cell["type"] == "markdown", (
            f"{it['id']} is 'left-out': cell {main} should be the markdown cell saying why"
        )


@pytest.mark.parametrize("it", ITEMS, ids=[it["id"] for it in ITEMS])
def test_item_points_at_a_cell_that_does_what_the_status_says(it):
    path = ROOT / it["notebook"]
    assert path.exists(), f"{it['id']}: notebook {it['notebook']} does not exist"
    check_item(it, cells(it["notebook"]))


FAKE = {
    "asserts": {"type": "code", "source": "assert x == 1, 'x'"},
    "prints": {"type": "code", "source": "print(x == 1)  # assertion in a comment"},
    "prose": {"type": "markdown", "source": "we assert nothing here"},
}


@pytest.mark.parametrize(
    ("status", "cell"),
    [
        ("checked", "prints"),
        ("checked", "prose"),
        ("checked", ["prose", "asserts"]),  # the main (first) cell must assert
        ("checked", ["asserts", "missing"]),
        ("checked", ["asserts", "asserts"]),
        ("checked", []),
        ("left-out", ["asserts", "prose"]),
    ],
)
def test_the_item_check_rejects(status, cell):
    it = {"id": "fake", "notebook": "fake.ipynb", "status": status, "cell": cell}
    with pytest.raises(AssertionError):
        check_item(it, FAKE)


@pytest.mark.parametrize(
    ("status", "cell"),
    [("checked", "asserts"), ("checked", ["asserts", "prose", "prints"]), ("left-out", "prose")],
)
def test_the_item_check_accepts(status, cell):
    check_item({"id": "fake", "notebook": "fake.ipynb", "status": status, "cell": cell}, FAKE)


@pytest.mark.parametrize("key", sorted(LECTURES))
def test_every_section_has_an_entry(key):
    sections = LECTURES[key]["sections"]
    assert len(set(sections)) == len(sections), f"lecture {key}: duplicate section titles"
    used = {it["section"] for it in ITEMS if it["lecture"] == key}
    unknown = used - set(sections)
    assert not unknown, f"lecture {key}: items name unknown sections {unknown}"
    empty = [s for s in sections if s not in used]
    assert not empty, f"lecture {key}: sections without an entry: {empty}"


@pytest.mark.parametrize("key", sorted(LECTURES))
def test_sections_match_the_lecture_text(key):
    folder = lecture_dir()
    if folder is None:
        pytest.skip("lecture texts not found (../shared/lectures or $CONVLAB_LECTURES)")
    lec = LECTURES[key]
    lines = [_title(line) for line in (folder / lec["file"]).read_text().splitlines()]
    pos = 0
    for title in lec["sections"]:
        assert title in lines[pos:], (
            f"lecture {key}: section {title!r} not found (in order) in {lec['file']}"
        )
        pos = lines.index(title, pos)
    if lec.get("markdown_headings"):
        text = (folder / lec["file"]).read_text().splitlines()
        headings = {_title(line) for line in text if re.match(r"#+\s", line)}
        missing = sorted(headings - set(lec["sections"]))
        assert not missing, f"lecture {key}: headings missing from the map: {missing}"
