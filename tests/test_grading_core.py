"""The grading engine itself, and properties every registered check must have."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from grader_power import stub

from convlab.grading import Cases, CheckFailed, NotDoneYet, check, registered_checks
from convlab.grading._core import register

ALL_CHECKS = registered_checks()


def test_every_notebook_with_a_solution_has_checks():
    from conftest import ROOT

    notebooks = {p.name[:2] for p in (ROOT / "solutions").glob("[0-9]*.ipynb")}
    assert notebooks == {name.split(".")[0] for name in ALL_CHECKS}


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_returning_none_fails_every_check(name):
    with pytest.raises(CheckFailed, match="returned None"):
        check(name, lambda *args: None)


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_raising_fails_every_check_with_the_error_named(name):
    def broken(*args):
        raise IndexError("index 7 is out of bounds")

    with pytest.raises(CheckFailed, match="raised IndexError: index 7 is out of bounds"):
        check(name, broken)


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_stub_is_not_done_yet_for_every_check(name, capsys):
    with pytest.raises(NotDoneYet, match="not done yet") as info:
        check(name, stub)
    assert info.value._render_traceback_() == [str(info.value)]  # one line in a notebook
    assert capsys.readouterr().out == ""


def test_notebook_shows_the_report_once_without_a_traceback():
    """IPython renders CheckFailed as the report alone; the error output still scores 0."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    result = shell.run_cell(
        "from convlab.grading import check\n"
        "check('01.zero_matrix', lambda theta, n: __import__('numpy').eye(n))"
    )
    assert isinstance(result.error_in_exec, CheckFailed)
    stb = result.error_in_exec._render_traceback_()
    assert stb[0].startswith("✘ 01.zero_matrix") and any("hint:" in line for line in stb)
    assert not any("File" in line or "_core.py" in line for line in stb)


def test_forbidden_call_is_named_even_under_an_alias():
    from convlab.structured import conv_matrix as cm

    with pytest.raises(CheckFailed) as info:
        check("01.periodic_matrix", lambda theta, n: cm(theta, n, "periodic"))
    assert (
        "this exercise asks you to write the periodic matrix yourself; "
        "convlab.structured.conv_matrix is not allowed here" in str(info.value)
    )


def test_constant_multiple_is_reported_with_its_factor():
    cases = _cases()
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    assert not cases.compare("case", expected / 16, expected)
    assert "is 0.0625 (= 1/16) times the expected one" in cases.results[-1].detail
    assert not cases.compare("case", -expected, expected)
    assert "is -1 times the expected one" in cases.results[-1].detail


def test_mutated_argument_is_reported():
    cases = _cases()

    def sorts_in_place(x):
        x.sort()
        return x.sum()

    assert cases.call("case", sorts_in_place, np.array([3.0, 1.0, 2.0])) is None
    assert "changed its argument `x` in place" in cases.results[-1].detail


def test_unknown_and_malformed_names():
    with pytest.raises(KeyError, match=r"no check named '01\.nope'"):
        check("01.nope", stub)
    with pytest.raises(ValueError, match=r"look like '01\.task_name'"):
        check("periodic_matrix", stub)
    with pytest.raises(ValueError, match="already registered"):
        register("01.zero_matrix", task="", hint="")(lambda s, c: None)


def _cases() -> Cases:
    return Cases(rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("got", "why"),
    [
        (np.ones((3, 2)), "shape (3, 2), expected (2, 3) (transposed?)"),
        (np.ones((2, 3)) + 0j, "the answer is complex"),
        (np.ones(5), "shape (5,), expected (2, 3)"),
        (np.full((2, 3), np.nan), "NaN or inf"),
        (np.ones((2, 3), dtype=np.float16), "too little precision"),
        (np.array([["a"] * 3] * 2), "expected numbers"),
        (np.ones((2, 3)) + 0.01 * np.eye(2, 3), "values differ: max abs error 1.00e-02"),
        (np.ones((2, 3)) * 1.01, "is 1.01 times the expected one"),
    ],
)
def test_compare_rejects_with_a_reason(got, why):
    cases = _cases()
    assert not cases.compare("case", got, np.ones((2, 3)))
    assert why in cases.results[-1].detail


def test_compare_accepts_sparse_torch_and_float32_answers():
    import scipy.sparse as sp

    cases = _cases()
    expected = np.arange(6.0).reshape(2, 3) / 7
    assert cases.compare("sparse", sp.csr_array(expected), expected, rtol=1e-12)
    assert cases.compare("torch", torch.tensor(expected), expected, rtol=1e-12)
    # float32 is judged at float32 precision; a float64 answer with the same error is not
    assert cases.compare("f32", expected.astype(np.float32), expected, rtol=1e-12)
    rounded = expected.astype(np.float32).astype(float)
    assert not cases.compare("f64", rounded, expected, rtol=1e-12)
    # ... and not 100 times looser than what float32 reaches
    assert not cases.compare("f32", (expected * (1 + 1e-4)).astype(np.float32), expected)
