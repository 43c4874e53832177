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


def _cases(cases: Cases, hidden: bool):
    sizes = [(16, 3, 10), (8, 3, 1), (12, 5, 4)]
    if hidden:
        sizes += [(9, 4, 3), (5, 5, 2), (64, 7, 20), (6, 1, 3)]
    for n, L, b in sizes:
        theta = np.round(cases.rng.standard_normal(L), 2)
        Y = cases.rng.standard_normal((b, n))
        yield n, L, b, theta, Y


@register(
    "04.Jmv",
    hint="Y K(theta) is linear in theta, so J v = Y K(v): for every row y, "
    "real(fft(fft(Q v) * ifft(y))) along axis 1, where Q v is v circshifted into a length-n "
    "first column (the lecture's K(theta)^T y formula with theta replaced by v).",
)
def _Jmv(student, cases: Cases, hidden: bool) -> None:
    for n, L, b, theta, Y in _cases(cases, hidden):
        v = cases.rng.standard_normal(L)
        label = f"theta = {theta.tolist()}, Y of shape {Y.shape}"
        got = cases.call(label, student, theta.copy(), Y.copy(), v.copy())
        if got is not None:
            ref = (_dense_jacobian(Y, L) @ v).reshape(b, n)
            cases.compare(label, got, ref, rtol=1e-6)  # float32 answers accepted


@register(
    "04.Jtmv",
    hint="J^T W = Q^T real(fft(sum over examples of ifft(y_b) * fft(w_b))): multiply in Fourier "
    "space, sum over the rows (axis 0), one fft back, then Q^T picks the L entries around index 0 "
    "(undo the circshift). The result has length L.",
)
def _Jtmv(student, cases: Cases, hidden: bool) -> None:
    for n, L, b, theta, Y in _cases(cases, hidden):
        W = cases.rng.standard_normal((b, n))
        label = f"theta = {theta.tolist()}, Y and W of shape {Y.shape}"
        got = cases.call(label, student, theta.copy(), Y.copy(), W.copy())
        if got is not None:
            cases.compare(
                label, got, _dense_jacobian(Y, L).T @ W.ravel(), rtol=1e-6
            )  # float32 answers accepted
