"""Checks for exercises/02_circulant_fft_eigenvalues.ipynb ("Coding: 1D Convolution using FFTs").

References are dense: ``K.toarray()``, ``np.linalg.eigvals`` and matrix products. Eigenvalues
are compared as multisets with :func:`convlab.checks.eigenvalues_match`, never by position.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from convlab.grading._core import Cases, register
from convlab.structured import conv_matrix


def _theta(cases: Cases, L: int) -> np.ndarray:
    return np.round(cases.rng.standard_normal(L), 2)


@register(
    "02.spdiags_K",
    hint="Put theta[p] on diagonal d = L//2 - p (MATLAB: spdiags(ones(n,1)*theta, d, n, n)) and "
    "add the wrap-around diagonals d - n (for d > 0) and d + n (for d < 0).",
)
def _spdiags_K(student, cases: Cases, hidden: bool) -> None:
    sizes = [(16, 3), (8, 3), (10, 5)] + ([(5, 5), (12, 2), (7, 1)] if hidden else [])
    for n, L in sizes:
        theta = _theta(cases, L)
        label = f"theta = {theta.tolist()}, n = {n}"
        got = cases.call(label, student, theta.copy(), n)
        if got is None:
            continue
        if not sp.issparse(got):
            cases.fail(label, f"K should be a scipy sparse array, got {type(got).__name__}")
            continue
        cases.compare(label, got, conv_matrix(theta, n, "periodic"), rtol=1e-12)


@register(
    "02.eig_fft",
    hint="The eigenvalues of a circulant matrix are the FFT of its first column: "
    "np.fft.fft(K[:, 0]) (MATLAB: fft(full(K(:,1)))). No extra scaling.",
)
def _eig_fft(student, cases: Cases, hidden: bool) -> None:
    sizes = [(16, 3), (9, 3), (12, 5)] + ([(2, 2), (31, 7), (8, 4)] if hidden else [])
    for n, L in sizes:
        theta = _theta(cases, L)
        K = conv_matrix(theta, n, "periodic")
        label = f"K = periodic matrix of theta = {theta.tolist()}, n = {n}"
        got = cases.call(label, student, K.copy())
        if got is not None:
            cases.compare_eigenvalues(label, got, np.linalg.eigvals(K.toarray()))


def _matvec_check(transpose: bool):
    def run(student, cases: Cases, hidden: bool) -> None:
        shapes = [(16,), (3, 16), (10,), (5, 12)] + ([(1, 7), (4, 33), (2,)] if hidden else [])
        for shape in shapes:
            L = 3 if shape[-1] >= 3 else 1
            if hidden:
                L = min(shape[-1], int(cases.rng.integers(1, 8)))
            theta = _theta(cases, L)
            Y = cases.rng.standard_normal(shape)
            K = conv_matrix(theta, shape[-1], "periodic").toarray()
            A = K.T if transpose else K
            label = f"theta = {theta.tolist()}, y of shape {shape}"
            got = cases.call(label, student, theta.copy(), Y.copy())
            if got is not None:
                cases.compare(label, got, Y @ A.T, rtol=1e-10)

    return run


register(
    "02.fft_matvec",
    hint="K y = real(ifft(lam * fft(y))) with lam = fft(first column of K); transform along "
    "the last axis so every row of a 2-D y is one example.",
)(_matvec_check(transpose=False))
register(
    "02.fft_matvec_transpose",
    hint="K^T has the conjugate eigenvalues: K^T y = real(ifft(conj(lam) * fft(y))).",
)(_matvec_check(transpose=True))


@register(
    "02.stencil_eigenvalues",
    hint="Build the first column without K: zero-pad theta to length n, then circshift it by "
    "-(L//2) (np.roll(col, -(L // 2))) so theta[L//2] lands at index 0; then fft.",
)
def _stencil_eigenvalues(student, cases: Cases, hidden: bool) -> None:
    sizes = [(16, 3), (16, 5), (10, 2), (12, 4), (20, 7)]
    if hidden:
        sizes += [(1, 1), (5, 5), (64, 9), (6, 6), (33, 8)]
    for n, L in sizes:
        theta = _theta(cases, L)
        label = f"theta = {theta.tolist()}, n = {n}"
        got = cases.call(label, student, theta.copy(), n)
        if got is not None:
            K = conv_matrix(theta, n, "periodic").toarray()
            cases.compare_eigenvalues(label, got, np.linalg.eigvals(K))


@register(
    "02.same_eigenvalues",
    hint="Eigenvalues come in no particular order, and sorting complex numbers breaks when "
    "rounding moves real parts: match every eigenvalue to its nearest partner instead "
    "(e.g. scipy.optimize.linear_sum_assignment on |a_i - b_j|), then compare with tol.",
)
def _same_eigenvalues(student, cases: Cases, hidden: bool) -> None:
    rng = cases.rng
    for k in range(6 if hidden else 4):
        n = 16 + 4 * k
        lam = np.fft.fft(conv_matrix(_theta(cases, 3), n, "periodic").toarray()[:, 0])
        noise = 1e-13 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        shuffled = rng.permutation(lam) + noise  # same multiset, other order, rounding noise
        tol = 1e-10
        wrong = lam.copy()
        wrong[int(rng.integers(n))] += 1e-3  # one eigenvalue moved
        i, j = rng.choice(n, size=2, replace=False)
        same_sum = lam.copy()
        same_sum[i] += 1e-3  # two moved, the sum (trace) unchanged
        same_sum[j] -= 1e-3
        for name, a, b, expected in (
            ("a permutation of lam (+1e-13 noise)", shuffled, lam, True),
            ("lam with one eigenvalue moved by 1e-3", wrong, lam, False),
            ("lam with two eigenvalues moved by +-1e-3", same_sum, lam, False),
            ("lam and its complex conjugates", np.conj(lam), lam, True),
            ("lam and lam with two entries swapped for copies", _duplicate(lam), lam, False),
        ):
            label = f"n = {n}: {name}, tol = {tol}"
            got = cases.call(label, student, a.copy(), b.copy(), tol)
            if got is None:
                continue
            if not isinstance(got, (bool, np.bool_)):
                cases.fail(label, f"return True or False, got {type(got).__name__}")
            elif bool(got) != expected:
                cases.fail(label, f"returned {bool(got)}, expected {expected}")
            else:
                cases.record(label, True)
    label = "different lengths"
    got = cases.call(label, student, np.ones(3), np.ones(4), 1e-10)
    if got is not None:
        cases.record(label, got is False or got is np.False_, f"returned {got!r}, expected False")


def _duplicate(lam: np.ndarray) -> np.ndarray:
    """Same length, every entry within the set, but a different multiset (one value twice)."""
    order = np.argsort(np.abs(lam - lam[0]))
    out = lam.copy()
    out[order[-1]] = lam[order[-2]]
    return out
