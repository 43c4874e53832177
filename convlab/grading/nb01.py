"""Checks for exercises/01_conv1d_structured_matrices.ipynb.

References come from :func:`convlab.structured.conv_matrix`, which is itself tested against
dense loops, ``scipy.linalg.toeplitz``/``circulant``, ``np.convolve`` and ``torch`` conv1d.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from convlab.grading._core import Cases, register
from convlab.structured import conv_matrix

# (n, L): odd and even stencils and n, L = 1, the n = L edge; hidden adds breadth.
_VISIBLE = [(4, 3), (6, 3), (8, 5), (7, 2), (9, 4), (5, 1), (4, 4), (12, 7)]
_HIDDEN = [(3, 3), (6, 1), (10, 6), (16, 3), (31, 9), (5, 5), (2, 2)]

_CORRELATION = (
    "that is the correlation matrix, theta running forwards along the row; a convolution "
    "runs it backwards"
)


def _matrix_check(boundary: str):
    def run(student, cases: Cases) -> None:
        for n, L in cases.grid(_VISIBLE, _HIDDEN):
            theta = np.round(cases.rng.standard_normal(L), 2)
            label = f"theta = {theta.tolist()}, n = {n}"
            got = cases.call(label, student, theta, n)
            if got is not None:
                ref = conv_matrix(theta, n, boundary)
                cases.compare(label, got, ref, rtol=1e-12, transposed=_CORRELATION)

    return run


_CONVENTION = (
    "Row i holds theta[p] in column i - p + L//2 (convolution: the stencil runs backwards "
    "along the row; theta[L//2] sits on the diagonal, also for even L)."
)

register(
    "01.zero_matrix",
    task="the zero-boundary matrix",
    hint=_CONVENTION + " Zero boundary: entries whose column falls outside 0..n-1 are dropped.",
)(_matrix_check("zero"))
register(
    "01.periodic_matrix",
    task="the periodic matrix",
    hint=_CONVENTION + " Periodic boundary: a column outside 0..n-1 wraps around (use % n).",
)(_matrix_check("periodic"))
register(
    "01.valid_matrix",
    task="the valid matrix",
    hint="Valid: K is (n-L+1) x n and row i holds theta[p] in column i + L - 1 - p "
    "(the lecture's 4x6 matrix: theta_3, theta_2, theta_1 from left to right).",
)(_matrix_check("valid"))


@register(
    "01.torch_same",
    task="the 'same' convolution with torch's conv1d",
    forbid=("numpy.convolve", "scipy.signal", "scipy.ndimage"),
    hint="torch's conv1d computes a correlation, so the stencil must run the other way; "
    "'same' keeps len(y) outputs with theta[L//2] at the centre, also for even L; inputs and "
    "weights need shape (batch, channels, length).",
)
def _torch_same(student, cases: Cases) -> None:
    visible = [(10, 3), (8, 5), (9, 2), (12, 4), (5, 1), (6, 6)]
    for n, L in cases.grid(visible, [(16, 6), (7, 7), (1, 1), (13, 8)]):
        theta = np.round(cases.rng.standard_normal(L), 2)
        y = np.round(cases.rng.standard_normal(n), 2)
        label = f"y of length {n}, theta = {theta.tolist()}"
        got = cases.call(label, student, y, theta)
        if got is None:
            continue
        if sp.issparse(got):
            cases.fail(label, "expected a vector (tensor or array), got a sparse matrix")
            continue
        cases.compare(label, got, conv_matrix(theta, n, "zero") @ y)
