"""Grader power for notebook 04 (conv1D.m's J and J^T): wrong ones rejected, correct accepted."""

from __future__ import annotations

import numpy as np
from grader_power import grader_power_tests


def first_col(t, n):
    """Independent of convlab: the stencil scattered around index 0 by hand."""
    col = np.zeros(n)
    for p, v in enumerate(t):
        col[(p - len(t) // 2) % n] += v
    return col


def QT(g, L):
    """Q^T: pick the entries (p - L//2) mod n."""
    n = g.shape[-1]
    return g[..., (np.arange(L) - L // 2) % n]


def Jmv(t, Y, v, *, flip=False, swap=False):
    n = Y.shape[1]
    lam = np.fft.fft(first_col(v[::-1] if flip else v, n))
    if swap:  # fft where ifft belongs
        return np.real(np.fft.ifft(lam * np.fft.fft(Y, axis=1), axis=1))
    return np.real(np.fft.fft(lam * np.fft.ifft(Y, axis=1), axis=1))


def Jtmv(t, Y, W, *, sum_axis=0, conj=False, use_ifft_for_w=False, no_QT=False, of_K=False):
    L = len(t)
    fy = np.fft.ifft(Y, axis=1)
    if conj:
        fy = np.conj(fy)
    fw = np.fft.ifft(W, axis=1) if use_ifft_for_w else np.fft.fft(W, axis=1)
    if of_K:  # J^T of K(theta) y instead of K(theta)^T y: the transpose of the wrong factor
        g = np.real(np.fft.ifft(np.sum(np.conj(np.fft.fft(Y, axis=1)) * fw, axis=0)))
        return QT(g, L)
    G = fy * fw
    G = G.sum(axis=sum_axis) if sum_axis is not None else G[0]
    g = np.real(np.fft.fft(G, axis=-1))
    return g if no_QT else QT(g, L)


def dense_K(t, n):
    col = first_col(t, n)
    return np.stack([np.roll(col, j) for j in range(n)], axis=1)


WRONG = {
    "04.Jmv": {
        "flipped stencil (J of K y)": lambda t, Y, v: Jmv(t, Y, v, flip=True),
        "fft and ifft swapped": lambda t, Y, v: Jmv(t, Y, v, swap=True),
        "theta instead of v": lambda t, Y, v: Jmv(t, Y, np.asarray(t)),
        "MATLAB's default axis (transform along the examples)": lambda t, Y, v: np.real(
            np.fft.fft(np.fft.fft(first_col(v, Y.shape[1])) * np.fft.ifft(Y, axis=0), axis=0)
        ),
        "no circshift": lambda t, Y, v: np.real(
            np.fft.fft(
                np.fft.fft(np.r_[v, np.zeros(Y.shape[1] - len(v))]) * np.fft.ifft(Y, axis=1),
                axis=1,
            )
        ),
        "Y K(theta + v) (forgot linearity)": lambda t, Y, v: Y @ dense_K(np.add(t, v), Y.shape[1]),
    },
    "04.Jtmv": {
        "no sum over examples (first only)": lambda t, Y, W: Jtmv(t, Y, W, sum_axis=None),
        "mean instead of sum": lambda t, Y, W: Jtmv(t, Y, W) / Y.shape[0],
        "missing Q^T (length n)": lambda t, Y, W: Jtmv(t, Y, W, no_QT=True),
        "extra conjugate": lambda t, Y, W: Jtmv(t, Y, W, conj=True),
        "ifft where fft belongs": lambda t, Y, W: Jtmv(t, Y, W, use_ifft_for_w=True),
        "transpose of the wrong factor (J^T of K y)": lambda t, Y, W: Jtmv(t, Y, W, of_K=True),
        "Q^T without the circshift": lambda t, Y, W: Jtmv(t, Y, W, no_QT=True)[: len(t)],
    },
}


def Jtmv_loop(t, Y, W):
    """Correct alternative: loop over examples and stencil entries (dense)."""
    L, n = len(t), Y.shape[1]
    out = np.zeros(L, dtype=np.float32)
    for p in range(L):
        Kp = dense_K(np.eye(L)[p], n)
        out[p] = np.sum(W * (Y @ Kp))
    return out


CORRECT = {
    "04.Jmv": [
        Jmv,
        lambda t, Y, v: (Y @ dense_K(v, Y.shape[1])).astype(np.float32),
        lambda t, Y, v: np.real(  # K(v)^T y = ifft(conj(lam) fft(y)): the other way round
            np.fft.ifft(np.conj(np.fft.fft(first_col(v, Y.shape[1]))) * np.fft.fft(Y, axis=1))
        ),
    ],
    "04.Jtmv": [Jtmv, Jtmv_loop],
}


# near-misses added with the engine's visible cases (even L, L = 1, n = L)
def _Jtmv_numpy_centre(t, Y, W):
    """Q^T with numpy's centre (L - 1) // 2: right for odd L only."""
    L, n = len(t), Y.shape[1]
    G = np.sum(np.fft.ifft(Y, axis=1) * np.fft.fft(W, axis=1), axis=0)
    return np.real(np.fft.fft(G))[(np.arange(L) - (L - 1) // 2) % n]


def _Jmv_numpy_centre(t, Y, v):
    """J v with v circshifted by (L - 1) // 2: right for odd L only."""
    n, L = Y.shape[1], len(v)
    col = np.zeros(n)
    col[(np.arange(L) - (L - 1) // 2) % n] = v
    return np.real(np.fft.fft(np.fft.fft(col) * np.fft.ifft(Y, axis=1), axis=1))


WRONG["04.Jtmv"]["numpy centre (L - 1) // 2"] = _Jtmv_numpy_centre
WRONG["04.Jmv"]["numpy centre (L - 1) // 2"] = _Jmv_numpy_centre

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("04", WRONG, CORRECT)
