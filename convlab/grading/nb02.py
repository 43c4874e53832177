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


_MATLAB = ("convlab.matlab",)  # the exercise offers MATLAB's spdiags and circshift


@register(
    "02.spdiags_K",
    task="the periodic matrix with spdiags",
    allow=_MATLAB,
    hint="theta[p] belongs on diagonal d = L//2 - p (MATLAB: spdiags(ones(n,1)*theta, d, n, n)); "
    "with a periodic boundary every diagonal d != 0 also wraps around, to d - n or d + n.",
)
def _spdiags_K(student, cases: Cases) -> None:
    visible = [(16, 3), (8, 3), (9, 5), (12, 2), (7, 1), (5, 5)]
    for n, L in cases.grid(visible, [(5, 4), (12, 6), (2, 2), (31, 9)]):
        theta = _theta(cases, L)
        label = f"theta = {theta.tolist()}, n = {n}"
        got = cases.call(label, student, theta, n)
        if got is None:
            continue
        if not sp.issparse(got):
            cases.fail(label, f"K should be a scipy sparse array, got {type(got).__name__}")
            continue
        cases.compare(label, got, conv_matrix(theta, n, "periodic"), rtol=1e-12)


@register(
    "02.eig_fft",
    task="the eigenvalues by one FFT",
    allow=_MATLAB,
    forbid=("numpy.linalg.eig", "numpy.linalg.eigvals", "scipy.linalg.eig", "scipy.linalg.eigvals"),
    hint="The eigenvalues of a circulant matrix are the FFT of its first column "
    "(MATLAB: fft(full(K(:,1)))), with no extra scaling.",
)
def _eig_fft(student, cases: Cases) -> None:
    visible = [(16, 3), (9, 3), (12, 4), (7, 1), (6, 6)]
    for n, L in cases.grid(visible, [(2, 2), (31, 7), (8, 4), (1, 1)]):
        theta = _theta(cases, L)
        K = conv_matrix(theta, n, "periodic")
        label = f"K = periodic matrix of theta = {theta.tolist()}, n = {n}"
        got = cases.call(label, student, K)
        if got is not None:
            cases.compare_eigenvalues(label, got, np.linalg.eigvals(K.toarray()))


def _matvec_check(transpose: bool):
    def run(student, cases: Cases) -> None:
        # (shape of Y, L): 1-D and 2-D Y, odd and even n and L, L = 1, the n = L edge
        visible = [((16,), 3), ((3, 16), 4), ((10,), 1), ((5, 12), 5), ((7,), 2), ((2, 9), 9)]
        hidden = [((1, 7), 6), ((4, 33), 7), ((2,), 2), ((3, 1), 1)]
        for shape, L in cases.grid(visible, hidden):
            theta = _theta(cases, L)
            Y = cases.rng.standard_normal(shape)
            K = conv_matrix(theta, shape[-1], "periodic").toarray()
            A = K.T if transpose else K
            label = f"theta = {theta.tolist()}, y of shape {shape}"
            got = cases.call(label, student, theta, Y)
            if got is not None:
                cases.compare(label, got, Y @ A.T, transposed="rows are examples")

    return run


register(
    "02.fft_matvec",
    task="K y by the FFT",
    allow=_MATLAB,
    hint="K is diagonal in Fourier space, with its eigenvalues (the fft of K's first column, "
    "whose entry 0 is theta[L//2], also for even L) on the diagonal; transform along the last "
    "axis (every row of a 2-D y is one example), and K y is real.",
)(_matvec_check(transpose=False))
register(
    "02.fft_matvec_transpose",
    task="K^T y by the FFT",
    allow=_MATLAB,
    hint="K^T has the complex-conjugate eigenvalues of K (K is real); transform along the last "
    "axis, and K's first column has theta[L//2] at index 0.",
)(_matvec_check(transpose=True))


@register(
    "02.stencil_eigenvalues",
    task="the eigenvalues without K",
    allow=_MATLAB,
    hint="K's first column holds theta backwards around index 0: zero-pad theta to length n "
    "and circshift it so that theta[L//2] (the centre, also for even L) lands at index 0; "
    "then fft.",
)
def _stencil_eigenvalues(student, cases: Cases) -> None:
    visible = [(16, 3), (16, 5), (10, 2), (12, 4), (9, 3), (7, 1), (6, 6)]
    for n, L in cases.grid(visible, [(1, 1), (5, 5), (64, 9), (33, 8), (20, 7)]):
        theta = _theta(cases, L)
        label = f"theta = {theta.tolist()}, n = {n}"
        got = cases.call(label, student, theta, n)
        if got is not None:
            K = conv_matrix(theta, n, "periodic").toarray()
            cases.compare_eigenvalues(label, got, np.linalg.eigvals(K))


@register(
    "02.same_eigenvalues",
    task="the multiset comparison",
    allow=_MATLAB,
    hint="Eigenvalues come in no particular order, and sorting complex numbers breaks when "
    "rounding moves real parts: pair every eigenvalue one-to-one with a partner (a duplicate "
    "may be used only once), judge each pair by its complex distance against the absolute tol, "
    "and answer with a bool.",
)
def _same_eigenvalues(student, cases: Cases) -> None:
    rng = cases.rng
    tol = 1e-10
    for k in range(6 if cases.hidden else 4):
        n = 16 + 4 * k
        lam = np.fft.fft(conv_matrix(_theta(cases, 3), n, "periodic").toarray()[:, 0])
        noise = 1e-13 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        shuffled = rng.permutation(lam) + noise  # same multiset, other order, rounding noise
        wrong = lam.copy()
        wrong[int(rng.integers(n))] += 1e-3  # one eigenvalue moved
        i, j = rng.choice(n, size=2, replace=False)
        same_sum = lam.copy()
        same_sum[i] += 1e-3  # two moved, the sum (trace) unchanged
        same_sum[j] -= 1e-3
        big = 1e6 * lam
        near = big + 0.5 * tol * np.exp(2j * np.pi * rng.uniform(size=n))  # inside tol
        far = big.copy()
        far[int(rng.integers(n))] += 3 * tol  # outside the absolute tol, tiny relatively
        for name, a, b, expected in (
            ("a permutation of lam (+1e-13 noise)", shuffled, lam, True),
            ("lam with one eigenvalue moved by 1e-3", wrong, lam, False),
            ("lam with two eigenvalues moved by +-1e-3", same_sum, lam, False),
            ("lam and its complex conjugates", np.conj(lam), lam, True),
            ("lam with a duplicate, and lam", _duplicate(lam), lam, False),
            ("lam, and lam with a duplicate", lam, _duplicate(lam), False),
            ("1e6 lam, each moved by 0.5 tol", rng.permutation(near), big, True),
            ("1e6 lam, one moved by 3 tol", far, big, False),
            ("real and imaginary parts paired differently", *_repaired(lam), False),
        ):
            label = f"n = {n}: {name}, tol = {tol}"
            got = cases.call(label, student, a, b, tol)
            if got is not None:
                cases.compare_scalar(label, got, expected, kind="bool")
    label = "different lengths"
    got = cases.call(label, student, np.ones(3), np.ones(4), tol)
    if got is not None:
        cases.compare_scalar(label, got, False, kind="bool")


def _duplicate(lam: np.ndarray) -> np.ndarray:
    """Same length, every entry within the set, but a different multiset (one value twice)."""
    order = np.argsort(np.abs(lam - lam[0]))
    out = lam.copy()
    out[order[-1]] = lam[order[-2]]
    return out


def _repaired(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sets with the same real parts and the same imaginary parts, paired differently."""
    a = np.array([1 + 2j, 3 + 4j, 5 - 1j]) + 0 * lam[:3]
    return np.concatenate([a, lam[3:]]), np.concatenate([a.real + 1j * a.imag[[1, 2, 0]], lam[3:]])
