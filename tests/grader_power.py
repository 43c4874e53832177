"""The grader-power suite shared by tests/test_grading_nbNN.py.

A notebook's test module defines ``WRONG = {check_name: {description: impl}}`` and
``CORRECT = {check_name: [impl, ...]}`` and gets its tests with one line::

    test_rejects_wrong, test_accepts_correct, test_stub_is_not_done_yet, test_coverage = (
        grader_power_tests("02", WRONG, CORRECT)
    )

The checks: every wrong implementation is rejected (AssertionError) by the visible cases, every
correct alternative is accepted by the visible and the hidden cases, a stub is reported as not
done yet (NotImplementedError), and every registered check of the notebook has at least five
wrong and two correct implementations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from convlab.grading import check, registered_checks

MIN_WRONG, MIN_CORRECT = 5, 2


def stub(*args: Any) -> Any:
    raise NotImplementedError()


def grader_power_tests(
    notebook: str, wrong: dict[str, dict[str, Callable]], correct: dict[str, list[Callable]]
) -> tuple[Callable, ...]:
    @pytest.mark.parametrize(
        ("name", "kind"), [(name, kind) for name, impls in wrong.items() for kind in impls]
    )
    def test_rejects_wrong(name: str, kind: str) -> None:
        with pytest.raises(AssertionError):
            check(name, wrong[name][kind], quiet=True)

    @pytest.mark.parametrize("name", list(correct))
    @pytest.mark.parametrize("hidden", [False, True])
    def test_accepts_correct(name: str, hidden: bool) -> None:
        for impl in correct[name]:
            check(name, impl, hidden=hidden, quiet=True)

    @pytest.mark.parametrize("name", list(correct))
    def test_stub_is_not_done_yet(name: str) -> None:
        with pytest.raises(NotImplementedError):
            check(name, stub, quiet=True)

    def test_coverage() -> None:
        names = set(registered_checks(notebook))
        assert names and set(wrong) == names and set(correct) == names
        for name in names:
            assert len(wrong[name]) >= MIN_WRONG, name
            assert len(correct[name]) >= MIN_CORRECT, name

    return test_rejects_wrong, test_accepts_correct, test_stub_is_not_done_yet, test_coverage
