"""Graders behind the exercise notebooks: ``check("01.periodic_matrix", build_periodic)``.

Each notebook NN has a module ``convlab.grading.nbNN`` that registers its checks. A check runs
the student's code on many seeded random cases (``hidden=True``: the instructor's extra cases)
against an independent reference, prints a short report and raises ``AssertionError`` on failure.
"""

from convlab.grading._core import (
    Cases,
    CheckReport,
    as_array,
    check,
    register,
    registered_checks,
)

__all__ = ["Cases", "CheckReport", "as_array", "check", "register", "registered_checks"]
