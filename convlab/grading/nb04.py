"""Checks for exercises/04_conv_derivatives.ipynb (the ``conv1D.m`` exercise).

The layer is the lecture's ``Y K(theta)`` with one example per row of ``Y`` (n_examples x n),
periodic convolution ``K[i, i - p + L//2] = theta[p]``. References are dense: ``K(e_p)`` from
:func:`convlab.structured.conv_matrix` gives column p of the Jacobian.
"""

from __future__ import annotations

import numpy as np

from convlab.grading._core import Cases, register
from convlab.structured import conv_matrix


def _dense_jacobian(Y: np.ndarray, L: int) -> np.ndarray:
    """Columns: vec(Y K(e_p)) for p = 0..L-1 (Y K is linear in theta)."""
    n = Y.shape[1]
    return np.stack(
        [(Y @ conv_matrix(np.eye(L)[p], n, "periodic").toarray()).ravel() for p in range(L)],
        axis=1,
    )


def _cases(cases: Cases):
    # (n, L, examples): odd and even n and L, L = 1, the n = L edge, one example
    visible = [(16, 3, 10), (8, 3, 1), (12, 5, 4), (9, 4, 3), (6, 1, 3), (5, 5, 2)]
    for n, L, b in cases.grid(visible, [(64, 7, 20), (7, 2, 1), (10, 10, 2), (1, 1, 3)]):
        theta = np.round(cases.rng.standard_normal(L), 2)
        Y = cases.rng.standard_normal((b, n))
        yield n, L, b, theta, Y


@register(
    "04.Jmv",
    task="J v by the FFT",
    hint="Y K(theta) is linear in theta, so J v = Y K(v): the layer itself with the stencil v. "
    "Each row of Y is one example (transform along axis 1), and row b of Y K is "
    "(K^T y_b)^T, the lecture's K(theta)^T y formula.",
)
def _Jmv(student, cases: Cases) -> None:
    for n, L, b, theta, Y in _cases(cases):
        v = cases.rng.standard_normal(L)
        label = f"theta = {theta.tolist()}, Y of shape {Y.shape}"
        got = cases.call(label, student, theta, Y, v)
        if got is not None:
            ref = (_dense_jacobian(Y, L) @ v).reshape(b, n)
            cases.compare(label, got, ref, transposed="rows of Y are the examples")


@register(
    "04.Jtmv",
    task="J^T W by the FFT",
    hint="J^T W sums the contributions of ALL examples (rows); Q^T undoes the circshift of "
    "first_column, picking the L entries that it filled (around index 0, also for even L). "
    "The result has length L.",
)
def _Jtmv(student, cases: Cases) -> None:
    for n, L, b, theta, Y in _cases(cases):
        W = cases.rng.standard_normal((b, n))
        label = f"theta = {theta.tolist()}, Y and W of shape {Y.shape}"
        got = cases.call(label, student, theta, Y, W)
        if got is not None:
            cases.compare(label, got, _dense_jacobian(Y, L).T @ W.ravel())
