"""Checks for exercises/01_conv1d_structured_matrices.ipynb.

References come from :func:`convlab.structured.conv_matrix`, which is itself tested against
dense loops, ``scipy.linalg.toeplitz``/``circulant``, ``np.convolve`` and ``torch`` conv1d.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from convlab.grading._core import Cases, register
from convlab.structured import conv_matrix

# (n, L): odd and even stencils, small and larger signals; hidden adds edge cases.
_VISIBLE = [(4, 3), (6, 3), (8, 5), (7, 2), (9, 4), (12, 7)]
_HIDDEN = [(3, 3), (5, 1), (10, 6), (16, 3), (31, 9), (4, 4), (2, 2)]


def _matrix_check(boundary: str):
    def run(student, cases: Cases, hidden: bool) -> None:
        for n, L in _HIDDEN if hidden else _VISIBLE:
            if boundary == "valid" and L > n:
                continue
            theta = np.round(cases.rng.standard_normal(L), 2)
            label = f"theta = {theta.tolist()}, n = {n}"
            got = cases.call(label, student, theta.copy(), n)
            if got is None:
                continue
            cases.compare(label, got, conv_matrix(theta, n, boundary), rtol=1e-12)

    return run


_CONVENTION = (
    "Row i holds theta[p] in column i - p + L//2 (convolution: the stencil runs backwards "
    "along the row; theta[L//2] sits on the diagonal, also for even L)."
)

register(
    "01.zero_matrix",
    hint=_CONVENTION + " Zero boundary: entries whose column falls outside 0..n-1 are dropped.",
)(_matrix_check("zero"))
register(
    "01.periodic_matrix",
    hint=_CONVENTION + " Periodic boundary: a column outside 0..n-1 wraps around (use % n).",
)(_matrix_check("periodic"))
register(
    "01.valid_matrix",
    hint="Valid: K is (n-L+1) x n and row i holds theta[p] in column i + L - 1 - p "
    "(the lecture's 4x6 matrix: theta_3, theta_2, theta_1 from left to right).",
)(_matrix_check("valid"))


@register(
    "01.torch_same",
    hint="torch's conv1d computes a correlation: flip the stencil (theta.flip(-1)) and use "
    "padding='same'; inputs and weights need shape (batch, channels, length).",
)
def _torch_same(student, cases: Cases, hidden: bool) -> None:
    sizes = [(10, 3), (8, 5), (9, 2), (12, 4)] + ([(5, 1), (16, 6), (7, 7)] if hidden else [])
    for n, L in sizes:
        theta = np.round(cases.rng.standard_normal(L), 2)
        y = np.round(cases.rng.standard_normal(n), 2)
        label = f"y of length {n}, theta = {theta.tolist()}"
        got = cases.call(label, student, y.copy(), theta.copy())
        if got is None:
            continue
        if sp.issparse(got):
            cases.fail(label, "expected a vector (tensor or array), got a sparse matrix")
            continue
        cases.compare(label, got, conv_matrix(theta, n, "zero") @ y, rtol=1e-10)
