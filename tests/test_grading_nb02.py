"""Grader power for notebook 02: wrong implementations are rejected, other correct ones accepted."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from grader_power import grader_power_tests
from scipy.optimize import linear_sum_assignment


def first_col(theta, n):
    """Independent of convlab: scatter the stencil around index 0 by hand."""
    col = np.zeros(n, dtype=complex if np.iscomplexobj(theta) else float)
    for p, t in enumerate(theta):
        col[(p - len(theta) // 2) % n] += t
    return col


def dense_K(theta, n):
    col = first_col(theta, n)
    return np.stack([np.roll(col, j) for j in range(n)], axis=1)


def spdiags_K(theta, n):
    L, c = len(theta), len(theta) // 2
    K = sp.lil_array((n, n))
    for p in range(L):
        d = c - p
        K += sp.diags_array(np.full(n - abs(d), theta[p]), offsets=d, shape=(n, n))
        if d:
            K += sp.diags_array(np.full(abs(d), theta[p]), offsets=d - np.sign(d) * n, shape=(n, n))
    return sp.csr_array(K)


def spdiags_matlab(theta, n):
    """With convlab.matlab's spdiags, which the exercise offers (its helpers run too)."""
    from convlab.matlab import spdiags

    theta = np.asarray(theta, dtype=float)
    d = len(theta) // 2 - np.arange(len(theta))
    wrap = d != 0
    diags = np.concatenate([d, d[wrap] - np.sign(d[wrap]) * n])
    return spdiags(np.ones((n, 1)) * np.concatenate([theta, theta[wrap]]), diags, n, n)


def fft_matvec(theta, Y, transpose=False):
    lam = np.fft.fft(first_col(theta, np.shape(Y)[-1]))
    lam = np.conj(lam) if transpose else lam
    return np.real(np.fft.ifft(lam * np.fft.fft(Y, axis=-1), axis=-1))


WRONG = {
    "02.spdiags_K": {
        "dense result": lambda t, n: dense_K(t, n),
        "no wrap-around (zero boundary)": lambda t, n: sp.csr_array(
            np.triu(np.tril(dense_K(t, n), len(t)), -len(t)) * 0
            + sp.diags_array(
                [np.full(n - abs(len(t) // 2 - p), t[p]) for p in range(len(t))],
                offsets=[len(t) // 2 - p for p in range(len(t))],
                shape=(n, n),
            ).toarray()
        ),
        "flipped stencil": lambda t, n: spdiags_K(np.asarray(t)[::-1], n),
        "transposed": lambda t, n: spdiags_K(t, n).T,
        "shifted by one": lambda t, n: sp.csr_array(np.roll(dense_K(t, n), 1, axis=0)),
        "scipy.sparse.spdiags without wrap": lambda t, n: sp.csr_array(
            sp.spdiags(np.outer(t, np.ones(n)), [len(t) // 2 - p for p in range(len(t))], n, n)
        ),
    },
    "02.eig_fft": {
        "ifft instead of fft": lambda K: np.fft.ifft(K.toarray()[:, 0]),
        "orthonormal fft": lambda K: np.fft.fft(K.toarray()[:, 0], norm="ortho"),
        "fft of the diagonal": lambda K: np.fft.fft(K.diagonal()),
        "real part only": lambda K: np.fft.fft(K.toarray()[:, 0]).real,
        "fft of the whole matrix": lambda K: np.fft.fft(K.toarray()),
        "singular values": lambda K: np.linalg.svd(K.toarray(), compute_uv=False),
    },
    "02.fft_matvec": {
        "transpose instead": lambda t, Y: fft_matvec(t, Y, transpose=True),
        "fft and ifft swapped": lambda t, Y: np.real(
            np.fft.fft(np.fft.fft(first_col(t, np.shape(Y)[-1])) * np.fft.ifft(Y, axis=-1), axis=-1)
        ),
        "transform along axis 0": lambda t, Y: (
            np.real(
                np.fft.ifft(
                    np.fft.fft(first_col(t, np.shape(Y)[-1])) * np.fft.fft(Y, axis=0).T, axis=0
                ).T
            )
            if np.ndim(Y) == 2
            else fft_matvec(t, Y)
        ),
        "no circshift of the stencil": lambda t, Y: np.real(
            np.fft.ifft(
                np.fft.fft(np.r_[t, np.zeros(np.shape(Y)[-1] - len(t))]) * np.fft.fft(Y, axis=-1),
                axis=-1,
            )
        ),
        "flipped stencil": lambda t, Y: fft_matvec(np.asarray(t)[::-1], Y),
        "orthonormal fft": lambda t, Y: np.real(
            np.fft.ifft(
                np.fft.fft(first_col(t, np.shape(Y)[-1]), norm="ortho") * np.fft.fft(Y, axis=-1),
                axis=-1,
            )
        ),
    },
    "02.fft_matvec_transpose": {
        "conjugate dropped": lambda t, Y: fft_matvec(t, Y),
        "conjugate on fft(y)": lambda t, Y: np.real(
            np.fft.ifft(
                np.fft.fft(first_col(t, np.shape(Y)[-1])) * np.conj(np.fft.fft(Y, axis=-1)), axis=-1
            )
        ),
        "no circshift": lambda t, Y: fft_matvec(
            np.r_[t, np.zeros(0)], np.roll(Y, 1, axis=-1), True
        ),
        "flipped stencil, no conjugate, off by one": lambda t, Y: np.roll(
            fft_matvec(np.asarray(t)[::-1], Y), 1, axis=-1
        ),
        "scaled by n": lambda t, Y: np.shape(Y)[-1] * fft_matvec(t, Y, transpose=True),
    },
    "02.stencil_eigenvalues": {
        "no circshift": lambda t, n: np.fft.fft(np.r_[t, np.zeros(n - len(t))]),
        "shift the wrong way": lambda t, n: np.fft.fft(
            np.roll(np.r_[t, np.zeros(n - len(t))], len(t) // 2)
        ),
        "numpy centre (L-1)//2": lambda t, n: np.fft.fft(
            np.roll(np.r_[t, np.zeros(n - len(t))], -((len(t) - 1) // 2))
        ),
        "fft of the stencil only": lambda t, n: np.fft.fft(t, n=len(t)),
        "ifft": lambda t, n: np.fft.ifft(first_col(t, n)),
        "real parts": lambda t, n: np.fft.fft(first_col(t, n)).real,
    },
    "02.same_eigenvalues": {
        "position by position": lambda a, b, tol: bool(
            len(a) == len(b) and np.allclose(a, b, rtol=0, atol=tol)
        ),
        "sort_complex then compare": lambda a, b, tol: bool(
            len(a) == len(b)
            and np.allclose(np.sort_complex(a), np.sort_complex(b), rtol=0, atol=tol)
        ),
        "compare sums only": lambda a, b, tol: bool(
            len(a) == len(b) and abs(a.sum() - b.sum()) < tol
        ),
        "every a near some b (not one-to-one)": lambda a, b, tol: bool(
            len(a) == len(b) and np.all(np.min(np.abs(a[:, None] - b[None, :]), axis=1) < tol)
        ),
        "compare moduli only": lambda a, b, tol: bool(
            len(a) == len(b) and np.allclose(np.sort(np.abs(a)), np.sort(np.abs(b)), atol=tol)
        ),
        "always True": lambda a, b, tol: True,
    },
}


def matched(a, b, tol):
    if len(a) != len(b):
        return False
    cost = np.abs(a[:, None] - b[None, :])
    r, c = linear_sum_assignment(cost)
    return bool(cost[r, c].max() <= tol)


def greedy_matched(a, b, tol):
    """Correct alternative: greedy nearest-partner matching without replacement."""
    if len(a) != len(b):
        return False
    left = list(b)
    for x in a:
        k = int(np.argmin(np.abs(np.array(left) - x)))
        if abs(left[k] - x) > tol:
            return False
        left.pop(k)
    return True


CORRECT = {
    "02.spdiags_K": [
        spdiags_K,
        lambda t, n: sp.csc_array(dense_K(t, n).astype(np.float32)),
        spdiags_matlab,
    ],
    "02.eig_fft": [
        lambda K: np.fft.fft(K.toarray()[:, 0]),
        lambda K: np.fft.ifft(K.toarray()[:, 0])[::-1] * K.shape[0],  # other ordering
        lambda K: np.fft.fft(K.toarray()[0, :]).astype(np.complex64),  # K^T: same multiset
    ],
    "02.fft_matvec": [fft_matvec, lambda t, Y: (dense_K(t, np.shape(Y)[-1]) @ np.asarray(Y).T).T],
    "02.fft_matvec_transpose": [
        lambda t, Y: fft_matvec(t, Y, transpose=True),
        lambda t, Y: np.float32(Y) @ dense_K(t, np.shape(Y)[-1]).astype(np.float32),
    ],
    "02.stencil_eigenvalues": [
        lambda t, n: np.fft.fft(first_col(t, n)),
        lambda t, n: np.sort_complex(np.linalg.eigvals(dense_K(t, n))),
    ],
    "02.same_eigenvalues": [matched, greedy_matched],
}


# near-misses added with the engine's visible cases (even L, L = 1, tolerances, pairing)
def _centre_one(theta, Y, transpose=False):
    """The circshift by -1 of the L = 3 examples, hard-coded: right for L = 3 only."""
    n = np.shape(Y)[-1]
    col = np.zeros(n)
    col[: len(theta)] = theta
    lam = np.fft.fft(np.roll(col, -1))
    lam = np.conj(lam) if transpose else lam
    return np.real(np.fft.ifft(lam * np.fft.fft(Y, axis=-1), axis=-1))


def _same_relative(a, b, tol):
    """np.isclose after sorting: a relative tolerance that grows with the magnitude."""
    a, b = np.sort_complex(np.asarray(a)), np.sort_complex(np.asarray(b))
    return bool(a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=tol))


def _same_parts(a, b, tol):
    """Real parts and imaginary parts compared as two separate multisets."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    return bool(
        np.abs(np.sort(a.real) - np.sort(b.real)).max() <= tol
        and np.abs(np.sort(a.imag) - np.sort(b.imag)).max() <= tol
    )


def _same_one_way(a, b, tol):
    """Every a has a partner in b within tol (not one-to-one; duplicates in b go unseen)."""
    a, b = np.asarray(a), np.asarray(b)
    return bool(a.shape == b.shape and (np.abs(a[:, None] - b[None, :]).min(1) <= tol).all())


WRONG["02.fft_matvec"]["circshift by -1 hard-coded (L = 3 only)"] = _centre_one
WRONG["02.fft_matvec_transpose"]["circshift by -1 hard-coded (L = 3 only)"] = lambda t, Y: (
    _centre_one(t, Y, transpose=True)
)
WRONG["02.same_eigenvalues"]["sorted, relative tolerance (np.allclose)"] = _same_relative
WRONG["02.same_eigenvalues"]["real and imaginary parts sorted separately"] = _same_parts
WRONG["02.same_eigenvalues"]["every a near some b (one direction)"] = _same_one_way

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("02", WRONG, CORRECT)
