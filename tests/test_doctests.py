"""Every docstring example in the package runs and prints what it claims (doctest).

Examples are documentation that readers copy: a stale one misleads. Modules are discovered, so a
new module's examples are checked without touching this file.
"""

import doctest
import importlib
import pkgutil

import pytest

import convlab

MODULES = sorted(m.name for m in pkgutil.walk_packages(convlab.__path__, "convlab."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} fail"


def test_the_package_has_examples():
    # the discovery itself can fail (e.g. a wrong package path): require a healthy total
    total = sum(
        doctest.testmod(importlib.import_module(name), report=False).attempted for name in MODULES
    )
    assert total >= 200
