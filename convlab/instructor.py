"""Instructor tools: nbgrader metadata, student notebooks from solutions, executing notebooks.

``solutions/NN_topic.ipynb`` is the single source. ``python -m convlab.instructor generate``
(``make exercises``) writes ``exercises/NN_topic.ipynb`` with nbgrader's own preprocessors
(ClearSolutions, ClearHiddenTests, ClearOutput) run through nbconvert, so no nbgrader course
database is needed. ``check`` reports stale exercises; ``execute`` re-runs notebooks in place.

nbgrader metadata is derived from the markers, so authors only write the markers:

- a code cell containing ``### BEGIN SOLUTION`` is a solution cell
  (grade_id ``NN_<first def or assigned name>_answer``);
- a code cell calling ``check("NN.task", ...)`` is a locked grade cell (grade_id ``NN_task``),
  worth ``points`` given by a ``# points: K`` comment (default 1). It may hold nothing but
  ``check(...)`` calls and comments (the hidden-test markers are comments).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 3
_CHECK_CALL = re.compile(r"""check\(\s*["'](\d+)\.(\w+)["']""")
_POINTS = re.compile(r"#\s*points:\s*(\d+)")
_GRADE_LINE = re.compile(r"\s*(#|check\()")
_DEF_NAME = re.compile(r"^(?:def\s+(\w+)|(\w+)\s*=)", re.MULTILINE)


def annotate(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Set nbgrader metadata on every solution and grade cell of ``nb`` (in place, idempotent)."""
    prefix = stem.split("_", 1)[0]
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type != "code":
            continue
        src = cell.source
        if "### BEGIN SOLUTION" in src:
            if _CHECK_CALL.search(src):
                raise ValueError(f"{stem} cell {index}: a solution cell must not call check()")
            body = src.split("### BEGIN SOLUTION")[0] + src.split("### END SOLUTION")[-1]
            match = _DEF_NAME.search(body) or _DEF_NAME.search(src)
            name = next(g for g in match.groups() if g) if match else f"cell{index}"
            meta = {"solution": True, "grade": False, "locked": False}
            grade_id = f"{prefix}_{name}_answer"
        elif (match := _CHECK_CALL.search(src)) is not None:
            other = [ln for ln in src.splitlines() if ln.strip() and not _GRADE_LINE.match(ln)]
            if other:
                raise ValueError(
                    f"{stem} cell {index}: a grade cell holds only check(...) calls, so that "
                    "an unfinished stub is reported as 'not done yet'; "
                    f"move {other[0]!r} to a cell above"
                )
            points = _POINTS.search(src)
            meta = {
                "solution": False,
                "grade": True,
                "locked": True,
                "points": int(points.group(1)) if points else 1,
            }
            grade_id = f"{match.group(1)}_{match.group(2)}"
        else:
            continue
        if grade_id in seen:
            raise ValueError(f"{stem} cell {index}: duplicate nbgrader grade_id {grade_id!r}")
        seen.add(grade_id)
        cell.metadata["nbgrader"] = {**meta, "grade_id": grade_id, "schema_version": SCHEMA_VERSION}
    return nb


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook: solutions and hidden tests cleared, outputs removed (nbgrader)."""
    from nbconvert.exporters import NotebookExporter
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    exporter = NotebookExporter()
    for pre in (
        ClearSolutions(enforce_metadata=False),
        ClearHiddenTests(enforce_metadata=False),
        ClearOutput(),
    ):
        exporter.register_preprocessor(pre, enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.from_dict(nb))
    out = nbformat.reads(body, as_version=4)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    return out


def _pairs(solutions: Path, exercises: Path) -> list[tuple[Path, Path]]:
    return [(src, exercises / src.name) for src in sorted(solutions.glob("[0-9]*.ipynb"))]


def generate(solutions: Path = ROOT / "solutions", exercises: Path = ROOT / "exercises") -> None:
    """Annotate ``solutions/`` and (re)write ``exercises/`` from it."""
    exercises.mkdir(exist_ok=True)
    for src, dst in _pairs(solutions, exercises):
        nb = nbformat.read(src, as_version=4)
        before = nbformat.writes(nb)
        annotate(nb, src.stem)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, src)
        nbformat.write(student_version(nb), dst)
        print(f"wrote {dst.relative_to(ROOT) if dst.is_relative_to(ROOT) else dst}")


def stale(solutions: Path = ROOT / "solutions", exercises: Path = ROOT / "exercises") -> list[str]:
    """Names of exercise notebooks that differ from what ``generate`` would write."""
    out = []
    expected_names = set()
    for src, dst in _pairs(solutions, exercises):
        expected_names.add(dst.name)
        nb = annotate(nbformat.read(src, as_version=4), src.stem)
        if not dst.exists() or dst.read_text() != _as_written(student_version(nb)):
            out.append(dst.name)
    out += sorted(p.name for p in exercises.glob("*.ipynb") if p.name not in expected_names)
    return out


def _as_written(nb: nbformat.NotebookNode) -> str:
    """The exact text ``nbformat.write`` puts in a file (it appends a final newline)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def execute(paths: list[Path], timeout: int = 600) -> None:
    """Execute notebooks in place (cwd = the notebook's folder), keeping outputs."""
    from nbclient import NotebookClient

    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": path.parent}},
        ).execute()
        nbformat.write(nb, path)
        print(f"executed {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convlab.instructor", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("generate", help="write exercises/ from solutions/")
    sub.add_parser("check", help="exit 1 if exercises/ is stale")
    run = sub.add_parser("execute", help="execute notebooks in place")
    run.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "generate":
        generate()
    elif args.cmd == "check":
        names = stale()
        if names:
            print("stale exercises (run `make exercises`): " + ", ".join(names))
            return 1
        print("exercises/ is up to date")
    else:
        execute(args.paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
