"""Grader power for notebook 05 (fft2 eigenvalues, 2D convolution)."""

from __future__ import annotations

import numpy as np
from grader_power import grader_power_tests


def first_col2(t, n, shift=None):
    """Stencil zero-padded to the image and circshifted so the centre is at (0, 0); by hand."""
    t = np.asarray(t, dtype=float)
    col = np.zeros(n)
    col[: t.shape[0], : t.shape[1]] = t
    if shift is None:
        shift = (-(t.shape[0] // 2), -(t.shape[1] // 2))
    return np.roll(col, shift, axis=(0, 1))


def eig2(t, n, **kw):
    return np.fft.fft2(first_col2(t, n, **kw))


def conv2(t, Y, *, conj=False, shift=None, flip=False):
    t = np.asarray(t)[::-1, ::-1] if flip else t
    lam = eig2(t, Y.shape[-2:], shift=shift)
    lam = np.conj(lam) if conj else lam
    return np.real(np.fft.ifft2(lam * np.fft.fft2(Y, axes=(-2, -1)), axes=(-2, -1)))


def conv2_scipy(t, Y):
    """Correct alternative: a loop over the stencil taps with np.roll, in float32."""
    t = np.asarray(t, dtype=np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    L1, L2 = t.shape
    Z = np.zeros_like(Y)
    for p in range(L1):
        for q in range(L2):  # z[a, b] += theta[p, q] y[a - p + L1//2, b - q + L2//2]
            Z += t[p, q] * np.roll(Y, (p - L1 // 2, q - L2 // 2), axis=(-2, -1))
    return Z


WRONG = {
    "05.bccb_eigenvalues": {
        "no circshift": lambda t, n: eig2(t, n, shift=(0, 0)),
        "ifft2 instead of fft2": lambda t, n: np.fft.ifft2(first_col2(t, n)),
        "fft along one axis only": lambda t, n: np.fft.fft(first_col2(t, n), axis=0),
        "orthonormal fft2": lambda t, n: np.fft.fft2(first_col2(t, n), norm="ortho"),
        "real parts only": lambda t, n: eig2(t, n).real,
        "shifted the wrong way": lambda t, n: eig2(
            t, n, shift=(np.shape(t)[0] // 2, np.shape(t)[1] // 2)
        ),
        "transposed image shape": lambda t, n: eig2(np.asarray(t).T, n[::-1]),
    },
    "05.conv2d_fft": {
        "transpose instead (conjugate eigenvalues)": lambda t, Y: conv2(t, Y, conj=True),
        "correlation (flipped stencil)": lambda t, Y: conv2(t, Y, flip=True),
        "no circshift": lambda t, Y: conv2(t, Y, shift=(0, 0)),
        "fft along the last axis only": lambda t, Y: np.real(
            np.fft.ifft(eig2(t, Y.shape[-2:]) * np.fft.fft(Y, axis=-1), axis=-1)
        ),
        "stencil transposed (row/column mix-up)": lambda t, Y: conv2(np.asarray(t).T, Y),
        "scaled by the number of pixels": lambda t, Y: Y.shape[-1] * Y.shape[-2] * conv2(t, Y),
    },
}

CORRECT = {
    "05.bccb_eigenvalues": [
        eig2,
        lambda t, n: np.conj(eig2(t, n)).astype(np.complex64),  # K^T: same multiset
        lambda t, n: eig2(t, n)[::-1, ::-1],  # another layout
    ],
    "05.conv2d_fft": [conv2, conv2_scipy],
}


# near-misses added with the engine's visible cases (even stencils, 1 x 1, stencil = image)
def _numpy_centre(t):
    t = np.asarray(t)
    return (-((t.shape[0] - 1) // 2), -((t.shape[1] - 1) // 2))


WRONG["05.bccb_eigenvalues"]["numpy centre (L - 1) // 2"] = lambda t, n: eig2(
    t, n, shift=_numpy_centre(t)
)
WRONG["05.conv2d_fft"]["numpy centre (L - 1) // 2"] = lambda t, Y: conv2(
    t, Y, shift=_numpy_centre(t)
)

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("05", WRONG, CORRECT)
