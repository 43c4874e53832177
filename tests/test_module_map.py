"""The module map in ``convlab/__init__.py`` names, for every module, the notebooks importing it.

The imports are read from the code cells of ``notebooks/`` and ``solutions/`` (``from convlab
import x``, ``from convlab.x import y``, ``import convlab.x``); a notebook ``NN_topic`` counts
as ``NN``. A new module, a renamed one or a notebook that starts (or stops) using a module
makes this test fail with the line to write.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import convlab

ROOT = Path(__file__).resolve().parents[1]
ENTRY = re.compile(r"^- :mod:`convlab\.(\w+)` -- (.*?)Notebooks: ([\d, ]+|none)\.", re.S | re.M)


def notebook_imports(root: Path = ROOT) -> dict[str, set[str]]:
    """Top-level convlab module -> numbers of the notebooks/solutions that import it."""
    use: dict[str, set[str]] = defaultdict(set)
    for folder in ("notebooks", "solutions"):
        for path in sorted((root / folder).glob("[0-9][0-9]_*.ipynb")):
            for cell in json.loads(path.read_text())["cells"]:
                if cell["cell_type"] != "code":
                    continue
                lines = "".join(cell["source"]).splitlines()
                code = "\n".join(x for x in lines if not x.lstrip().startswith(("%", "!")))
                for node in ast.walk(ast.parse(code)):
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "convlab"
                    ):
                        parts = node.module.split(".")
                        names = parts[1:2] or [a.name for a in node.names]
                    elif isinstance(node, ast.Import):
                        names = [
                            a.name.split(".")[1]
                            for a in node.names
                            if a.name.startswith("convlab.")
                        ]
                    else:
                        continue
                    for name in names:
                        use[name].add(path.name[:2])
    return use


def module_map(doc: str) -> dict[str, set[str]]:
    """Module -> notebook numbers, as the package docstring states them."""
    return {
        m: set() if nbs.strip() == "none" else {s.strip() for s in nbs.split(",")}
        for m, _, nbs in ENTRY.findall(doc)
    }


def stale_entries(
    modules: set[str], documented: dict[str, set[str]], used: dict[str, set[str]]
) -> list[str]:
    """What to change in the map (empty when it is in step)."""
    problems = []
    for m in sorted(modules | set(documented)):
        want = sorted(used.get(m, set()))
        line = f"- :mod:`convlab.{m}` -- ... Notebooks: {', '.join(want) or 'none'}."
        if m not in modules:
            problems.append(f"convlab.{m} is in the map but is not a module: remove its entry")
        elif m not in documented:
            problems.append(f"convlab.{m} is missing from the map: add  {line}")
        elif documented[m] != set(want):
            problems.append(f"convlab.{m}: the map says {sorted(documented[m])}, write  {line}")
    return problems


def test_the_module_map_lists_every_module_and_the_notebooks_that_import_it():
    modules = {m.name for m in pkgutil.iter_modules(convlab.__path__) if m.name[0] != "_"}
    used = notebook_imports()
    unknown = set(used) - modules
    assert not unknown, f"notebooks import names that are not convlab modules: {unknown}"
    problems = stale_entries(modules, module_map(convlab.__doc__ or ""), used)
    assert not problems, "convlab/__init__.py module map is stale:\n" + "\n".join(problems)


def test_the_check_reads_every_import_form_and_catches_a_stale_map(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["from convlab import fake"]},
            {
                "cell_type": "code",
                "source": [
                    "%matplotlib inline\n",
                    "from convlab import transposed as T, pooling\n",
                    "from convlab.checks import adjoint_test\n",
                    "import convlab.fourier\n",
                    "import numpy\n",
                ],
            },
        ]
    }
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "42_x.ipynb").write_text(json.dumps(nb))
    used = notebook_imports(tmp_path)
    assert dict(used) == {m: {"42"} for m in ("transposed", "pooling", "checks", "fourier")}
    doc = (
        "- :mod:`convlab.pooling` -- pooling.\n  Notebooks: 42.\n"
        "- :mod:`convlab.fourier` -- FFTs. Notebooks: 05, 42.\n"
        "- :mod:`convlab.gone` -- removed. Notebooks: none.\n"
    )
    documented = module_map(doc)
    assert documented == {"pooling": {"42"}, "fourier": {"05", "42"}, "gone": set()}
    problems = stale_entries({"pooling", "fourier", "checks", "transposed"}, documented, used)
    assert len(problems) == 4, problems  # fourier wrong, gone removed, checks/transposed missing
