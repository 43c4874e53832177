"""The grader-power suite shared by tests/test_grading_nbNN.py.

A notebook's test module defines ``WRONG = {check_name: {description: impl}}`` and
``CORRECT = {check_name: [impl, ...]}`` and gets its tests with one line::

    test_rejects_wrong, test_accepts_correct, test_stub_is_not_done_yet, test_coverage = (
        grader_power_tests("02", WRONG, CORRECT)
    )

The checks: every wrong implementation is rejected by the VISIBLE cases alone (what a student
sees), every correct alternative is accepted by the visible and the hidden cases, a stub is
reported as not done yet, and every registered check of the notebook has at least five wrong and
two correct implementations. Three kinds of wrong answer are derived from the first correct
implementation of every check, so that no check can miss them: the right values computed with a
forbidden call (the ``convlab`` package and each callable the check forbids), the right values
with an argument changed in place, and the right values of the wrong kind (complex for real,
float for int, int for bool).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from convlab.grading import CheckFailed, NotDoneYet, check, registered_checks, spec

MIN_WRONG, MIN_CORRECT = 5, 2


def stub(*args: Any) -> Any:
    raise NotImplementedError()


def rejected(name: str, impl: Callable, *, match: str = "") -> str:
    """The report of ``impl`` on the visible cases; fails the test unless it is rejected."""
    with pytest.raises(CheckFailed) as info:
        check(name, impl, quiet=True)
    assert match in str(info.value), str(info.value)
    return str(info.value)


def _ignore_errors(call: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            call()
        except Exception:
            pass

    return run


_X = np.ones(4)
_T = torch.ones(1, 1, 4, 4, dtype=torch.float64)
# one call of each forbidden callable (a Python function needs valid arguments to be entered)
FORBIDDEN_CALLS: dict[str, Callable[[], Any]] = {
    "convlab.structured.conv_matrix": lambda: __import__(
        "convlab.structured"
    ).structured.conv_matrix(_X, 4, "zero"),
    "numpy.convolve": lambda: np.convolve(_X, _X),
    "numpy.linalg.eig": lambda: np.linalg.eig(np.eye(2)),
    "numpy.linalg.eigvals": lambda: np.linalg.eigvals(np.eye(2)),
    "scipy.linalg.eig": lambda: importlib.import_module("scipy.linalg").eig(np.eye(2)),
    "scipy.linalg.eigvals": lambda: importlib.import_module("scipy.linalg").eigvals(np.eye(2)),
    "scipy.linalg.convolution_matrix": lambda: importlib.import_module(
        "scipy.linalg"
    ).convolution_matrix(_X, 2),
    "scipy.signal": lambda: importlib.import_module("scipy.signal").convolve2d(
        np.eye(2), np.eye(2)
    ),
    "scipy.ndimage": lambda: importlib.import_module("scipy.ndimage").convolve(
        np.eye(2), np.eye(2)
    ),
    "scipy.special.logsumexp": lambda: importlib.import_module("scipy.special").logsumexp(_X),
    "skimage.metrics": lambda: importlib.import_module("skimage.metrics").mean_squared_error(
        _X, _X
    ),
    "torch.logsumexp": lambda: torch.logsumexp(_T, 0),
    "torch.nn.functional.conv2d": lambda: torch.nn.functional.conv2d(_T, _T),
    "torch.nn.functional.conv_transpose1d": lambda: torch.nn.functional.conv_transpose1d(
        _T[0], _T[0]
    ),
    "torch.nn.functional.conv_transpose2d": lambda: torch.nn.functional.conv_transpose2d(_T, _T),
    "torch.nn.grad": lambda: torch.nn.grad.conv1d_input((1, 1, 4), _T[0, :, :1], _T[0, :, :1]),
    "torch.nn.functional.avg_pool2d": lambda: torch.nn.functional.avg_pool2d(_T, 2),
    "torch.nn.functional.adaptive_avg_pool2d": lambda: torch.nn.functional.adaptive_avg_pool2d(
        _T, 2
    ),
    "torch.nn.functional.cross_entropy": lambda: torch.nn.functional.cross_entropy(
        _T[0, 0], torch.zeros(4, dtype=torch.int64)
    ),
    "torch.nn.functional.nll_loss": lambda: torch.nn.functional.nll_loss(
        _T[0, 0], torch.zeros(4, dtype=torch.int64)
    ),
    "torch.nn.functional.log_softmax": lambda: torch.nn.functional.log_softmax(_T, 0),
}


def forbidden_variants(name: str, impl: Callable) -> dict[str, Callable]:
    """``impl`` plus one call of each forbidden callable: the guard must reject each."""
    s = spec(name)
    names = ("convlab.structured.conv_matrix", *s.forbid)
    calls = {f: _ignore_errors(FORBIDDEN_CALLS[f]) for f in names}

    def variant(call: Callable[[], None]) -> Callable:
        def cheat(*args: Any) -> Any:
            call()
            return impl(*args)

        return cheat

    return {f: variant(call) for f, call in calls.items()}


def _mutate(value: Any) -> bool:
    """Change ``value`` in place (as a student's `/=`, sort or masked assignment would)."""
    if isinstance(value, torch.Tensor) and value.numel():
        value.view(-1)[0] = value.view(-1)[0] + 1 if value.dtype != torch.bool else True
        return True
    if sp.issparse(value) and value.nnz:
        value.data[0] += 1
        return True
    if isinstance(value, np.ndarray) and value.size and value.flags.writeable:
        value.flat[0] = ~value.flat[0] if value.dtype == bool else value.flat[0] + 1
        return True
    if isinstance(value, list) and value:
        value.reverse() if len(value) > 1 else value.append(value[0])
        return True
    return False


def mutating(impl: Callable) -> Callable:
    """``impl`` that returns the right answer and then changes its first mutable argument."""

    def changed(*args: Any) -> Any:
        result = impl(*args)
        for a in args:
            if _mutate(a):
                break
        return result

    return changed


def _wrong_kind(result: Any) -> Any:
    if isinstance(result, (bool, np.bool_)):
        return int(result)
    if isinstance(result, (int, np.integer)):
        return np.float64(result)
    if isinstance(result, torch.Tensor):
        return result.to(torch.complex128) if not result.is_complex() else result.abs().half()
    if sp.issparse(result):
        return result.astype(complex)
    arr = np.asarray(result)
    return arr.astype(complex) if not np.iscomplexobj(arr) else arr.astype(str)


def wrong_kind(impl: Callable) -> Callable:
    """``impl`` with its result of the wrong kind (complex for real, float for int, ...)."""
    return lambda *args: _wrong_kind(impl(*args))


def grader_power_tests(
    notebook: str, wrong: dict[str, dict[str, Callable]], correct: dict[str, list[Callable]]
) -> tuple[Callable, ...]:
    @pytest.mark.parametrize(
        ("name", "kind"), [(name, kind) for name, impls in wrong.items() for kind in impls]
    )
    def test_rejects_wrong(name: str, kind: str) -> None:
        rejected(name, wrong[name][kind])

    @pytest.mark.parametrize("name", list(correct))
    @pytest.mark.parametrize("hidden", [False, True])
    def test_accepts_correct(name: str, hidden: bool) -> None:
        for impl in correct[name]:
            check(name, impl, hidden=hidden, quiet=True)

    @pytest.mark.parametrize("name", list(correct))
    def test_stub_is_not_done_yet(name: str) -> None:
        with pytest.raises(NotDoneYet):
            check(name, stub, quiet=True)

    @pytest.mark.parametrize("name", list(correct))
    def test_rejects_forbidden_calls_mutation_and_wrong_kind(name: str) -> None:
        impl = correct[name][0]
        for cheat in forbidden_variants(name, impl).values():
            report = rejected(name, cheat, match="is not allowed here")
            assert f"write {spec(name).task} yourself" in report
        if name not in NO_MUTABLE_ARGUMENT:
            rejected(name, mutating(impl), match="in place")
        rejected(name, wrong_kind(impl))

    def test_coverage() -> None:
        names = set(registered_checks(notebook))
        assert names and set(wrong) == names and set(correct) == names
        for name in names:
            assert len(wrong[name]) >= MIN_WRONG, name
            assert len(correct[name]) >= MIN_CORRECT, name

    return (
        test_rejects_wrong,
        test_accepts_correct,
        test_stub_is_not_done_yet,
        test_rejects_forbidden_calls_mutation_and_wrong_kind,
        test_coverage,
    )


# checks whose arguments are all immutable (ints) or absent: nothing to change in place
NO_MUTABLE_ARGUMENT = {"03.m_matrix_Q", "07.adjoint_output_padding", "09.pixel_pick_filters"}
