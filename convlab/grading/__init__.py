"""Graders behind the exercise notebooks: ``check("01.periodic_matrix", build_periodic)``.

Each notebook NN has a module ``convlab.grading.nbNN`` that registers its checks. A check runs
the student's code on many seeded cases (``hidden=True``: the instructor's extra cases) against
an independent reference, prints one line when all pass, and otherwise raises an error whose
notebook rendering is the report (first failing case, what went wrong, a hint).

The policy, one rule for every check
------------------------------------
While the student's function runs:

- it may not call any function of the ``convlab`` package (it holds the answers), except the
  modules the exercise offers (``allow``, e.g. ``convlab.matlab`` in exercise 02), nor the
  library functions the exercise forbids by name (``forbid``, e.g.
  ``torch.nn.functional.conv_transpose2d`` in exercise 07); a forbidden call fails the case with
  "this exercise asks you to write X yourself; Y is not allowed here";
- it must leave its arguments unchanged;
- its result must have the kind the task asks for (a real array where the result is real, an
  ``int`` where an integer is needed, ``True``/``False`` for a test).

The visible cases cover every convention the task states, so "all cases passed" on the visible
cases is not followed by a zero on the hidden ones; ``tests/grader_power.py`` enforces that each
declared wrong answer is rejected by the visible cases alone.
"""

from convlab.grading._core import (
    Cases,
    CheckFailed,
    CheckReport,
    NotDoneYet,
    as_array,
    check,
    register,
    registered_checks,
    spec,
)

__all__ = [
    "Cases",
    "CheckFailed",
    "CheckReport",
    "NotDoneYet",
    "as_array",
    "check",
    "register",
    "registered_checks",
    "spec",
]
