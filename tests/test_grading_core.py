"""The grading engine itself, and properties every registered check must have."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from grader_power import stub

from convlab.grading import Cases, check, registered_checks
from convlab.grading._core import register

ALL_CHECKS = registered_checks()


def test_every_notebook_with_a_solution_has_checks():
    from conftest import ROOT

    notebooks = {p.name[:2] for p in (ROOT / "solutions").glob("[0-9]*.ipynb")}
    assert notebooks == {name.split(".")[0] for name in ALL_CHECKS}


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_returning_none_fails_every_check(name, capsys):
    with pytest.raises(AssertionError):
        check(name, lambda *args: None)
    assert "returned None" in capsys.readouterr().out


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_raising_fails_every_check_with_the_error_named(name, capsys):
    def broken(*args):
        raise IndexError("index 7 is out of bounds")

    with pytest.raises(AssertionError):
        check(name, broken)
    assert "raised IndexError: index 7 is out of bounds" in capsys.readouterr().out


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_stub_is_not_done_yet_for_every_check(name, capsys):
    with pytest.raises(NotImplementedError, match="not done yet"):
        check(name, stub)
    assert "not done yet" in capsys.readouterr().out


def test_unknown_and_malformed_names():
    with pytest.raises(KeyError, match=r"no check named '01\.nope'"):
        check("01.nope", stub)
    with pytest.raises(ValueError, match=r"look like '01\.task_name'"):
        check("periodic_matrix", stub)
    with pytest.raises(ValueError, match="already registered"):
        register("01.zero_matrix", hint="")(lambda s, c, h: None)


def _cases() -> Cases:
    return Cases(rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("got", "why"),
    [
        (np.ones((3, 2)), "shape (3, 2), expected (2, 3) (transposed?)"),
        (np.ones(5), "shape (5,), expected (2, 3)"),
        (np.full((2, 3), np.nan), "NaN or inf"),
        (np.ones((2, 3), dtype=np.float16), "too little precision"),
        (np.array([["a"] * 3] * 2), "expected numbers"),
        (np.ones((2, 3)) * 1.01, "values differ: max abs error 1.00e-02"),
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
