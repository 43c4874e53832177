"""The exercise pipeline: exercises/ is generated and fresh, stubs fail only as "not done yet",
and nbgrader's own autograde gives solutions full marks and untouched exercises zero."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from convlab.instructor import annotate, stale

SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9]*.ipynb"))
NAMES = [p.name for p in SOLUTIONS]


def test_every_solution_has_an_exercise_and_exercises_are_fresh():
    assert SOLUTIONS, "no solution notebooks found"
    assert stale() == [], "exercises/ is stale: run `make exercises`"


@pytest.mark.parametrize("name", NAMES)
def test_solution_metadata_is_complete(name):
    nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
    before = json.dumps([c.metadata.get("nbgrader") for c in nb.cells], sort_keys=True)
    annotate(nb, Path(name).stem)
    after = json.dumps([c.metadata.get("nbgrader") for c in nb.cells], sort_keys=True)
    assert before == after, "solutions/ metadata is out of date: run `make exercises`"
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert graded and answers
    assert all("hidden=True" in c.source for c in graded), "every check has hidden cases"


@pytest.mark.parametrize("name", NAMES)
def test_exercise_has_no_answers(name):
    text = (ROOT / "exercises" / name).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True"):
        assert marker not in text
    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NAMES)
def test_demo_cells_assert_what_they_print(name):
    """A printed True/False in a solution's demo cell is never the only verification: the cell
    asserts it, and every assert carries a message (a student who edits a demo is told why)."""
    nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.metadata.get("nbgrader"):
            continue
        asserts = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Assert)]
        assert all(a.msg is not None for a in asserts), (index, "an assert without a message")
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if re.search(r"\b(True|False)\b", text):
            assert asserts, (index, "prints a boolean but asserts nothing", cell.source)


@pytest.mark.parametrize("name", NAMES)
def test_demo_cells_come_after_the_checks_of_what_they_call(name):
    """A demo (and its asserts) that calls a student's function sits below that function's check
    cell, so Run All on an unfinished exercise stops at the check ("not done yet") first."""
    nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
    checked_at: dict[str, int] = {}  # student function -> index of the first check below it
    pending: list[str] = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            tree = ast.parse(cell.source)
            pending += [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        elif meta.get("grade"):
            checked_at.update(dict.fromkeys(pending, index))
            pending = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.metadata.get("nbgrader"):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                where = checked_at.get(node.func.id, -1)
                assert where < index, (index, node.func.id, "is called above its check cell")


@pytest.mark.parametrize("name", NAMES)
def test_untouched_exercise_fails_only_with_not_implemented(name):
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(ROOT / "exercises")}},
    ).execute()
    first_error = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stubs = ("NotImplementedError", "NotDoneYet")
        assert all(e.ename in stubs for e in errors), (index, errors)
        if errors and first_error is None:
            first_error = cell
        if cell.metadata.get("nbgrader", {}).get("grade"):
            # one line, no traceback, no machine path
            assert errors and errors[0].traceback == [errors[0].evalue], (index, errors)
            assert "not done yet" in errors[0].evalue and "/" not in errors[0].evalue
    # Run All stops at the first error: it must be a check, not a sanity cell under a stub
    assert first_error is not None and first_error.metadata.get("nbgrader", {}).get("grade"), (
        first_error.source
    )


@pytest.mark.parametrize("name", NAMES)
def test_exercise_is_titled_and_states_what_is_forbidden(name):
    from convlab.grading import registered_checks, spec

    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    intro = nb.cells[0].source
    assert intro.startswith(f"# Exercise {name[:2]}: "), intro.splitlines()[0]
    assert "Not allowed in your answers" in intro and "`convlab`" in intro
    for check_name in registered_checks(name[:2]):
        for forbidden in spec(check_name).forbid:
            short = forbidden.replace("torch.nn.functional.", "F.")
            assert f"`{short}`" in intro, (check_name, forbidden)


def _nbgrader(course: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "nbgrader", *args, "--CourseDirectory.root=" + str(course)]
    # nbgrader runs `alembic` as a command: put this environment's scripts first on PATH
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


def test_nbgrader_autograde_round_trip(tmp_path):
    """Solutions score full marks; the generated exercises, untouched, score zero."""
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    (course / "source" / "unit").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'convlab'\nc.Execute.timeout = 600\n"
    )
    for path in SOLUTIONS:
        shutil.copy(path, course / "source" / "unit" / path.name)
    _nbgrader(course, "generate_assignment", "unit", "--force")
    for student, folder in (("solved", ROOT / "solutions"), ("untouched", ROOT / "exercises")):
        target = course / "submitted" / student / "unit"
        target.mkdir(parents=True)
        for path in SOLUTIONS:
            shutil.copy(folder / path.name, target / path.name)
    _nbgrader(course, "autograde", "unit", "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        solved = gb.find_submission("unit", "solved")
        untouched = gb.find_submission("unit", "untouched")
        assert solved.max_score > 0
        assert solved.score == solved.max_score
        assert untouched.score == 0


def _nb(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_annotate_sets_metadata_from_markers():
    nb = annotate(
        _nb(
            "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
            '# points: 3\ncheck("09.task", f)\n### BEGIN HIDDEN TESTS\n'
            'check("09.task", f, hidden=True)\n### END HIDDEN TESTS',
            "print(1)",
        ),
        "09_topic",
    )
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert meta[0]["solution"] and meta[0]["grade_id"] == "09_f_answer"
    assert meta[1]["grade"] and meta[1]["locked"] and meta[1]["points"] == 3
    assert meta[1]["grade_id"] == "09_task" and meta[2] is None


@pytest.mark.parametrize(
    ("sources", "match"),
    [
        (('x = f(1)\ncheck("09.task", f)',), "holds only check"),
        (("def f():\n    ### BEGIN SOLUTION\n    check('09.a', f)\n    ### END SOLUTION",), "not"),
        (('check("09.task", f)', 'check("09.task", g)'), "duplicate nbgrader grade_id"),
    ],
)
def test_annotate_rejects_badly_formed_cells(sources, match):
    with pytest.raises(ValueError, match=match):
        annotate(_nb(*sources), "09_topic")


def test_notebook_report_is_shown_once_and_autograde_scores_it():
    """In a kernel: a wrong answer's report is the error output itself (no traceback, no path,
    not printed twice) and nbgrader scores the cell 0; a right answer scores full points."""
    from nbclient import NotebookClient
    from nbgrader.utils import determine_grade

    nb = annotate(
        _nb(
            "import numpy as np\nfrom convlab.grading import check",
            "def wrong(theta, n):\n    return np.eye(n)",
            'check("01.zero_matrix", wrong)',
            "def right(theta, n):\n"
            "    K = np.zeros((n, n))\n"
            "    for i in range(n):\n"
            "        for p, t in enumerate(theta):\n"
            "            K[i, (i - p + len(theta) // 2) % n] += t\n"
            "    return K",
            'check("01.periodic_matrix", right)',
        ),
        "01_probe",
    )
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    wrong_cell, right_cell = nb.cells[2], nb.cells[4]
    assert [o.output_type for o in wrong_cell.outputs] == ["error"]  # the report, once
    report = "\n".join(wrong_cell.outputs[0].traceback)
    assert report.startswith("✘ 01.zero_matrix") and "hint:" in report
    assert not any(word in report for word in ("Traceback", ".py", "site-packages")), report
    assert determine_grade(wrong_cell)[0] == 0
    assert [o.output_type for o in right_cell.outputs] == ["stream"]
    assert right_cell.outputs[0].text.startswith("✔ 01.periodic_matrix: all")
    assert determine_grade(right_cell)[0] == right_cell.metadata.nbgrader["points"]
