"""Grader power for notebook 07: wrong answers are rejected, alternative right ones accepted."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from grader_power import grader_power_tests

# ---------------------------------------------------------------- 07.strided_conv_matrix


def matrix_right(k, n, s):
    k = np.asarray(k, dtype=float)
    m = (n - k.size) // s + 1
    A = np.zeros((m, n))
    for i in range(m):
        A[i, i * s : i * s + k.size] = k
    return A


MATRIX_WRONG = {
    "flipped kernel": lambda k, n, s: matrix_right(np.asarray(k)[::-1], n, s),
    "stride ignored": lambda k, n, s: matrix_right(k, n, 1),
    "transposed": lambda k, n, s: matrix_right(k, n, s).T,
    "ceil rows": lambda k, n, s: (
        np.vstack([matrix_right(k, n, s), np.zeros((1, n))])
        if (n - len(k)) % s
        else matrix_right(k, n, s)
    ),
    "off by one column": lambda k, n, s: np.roll(matrix_right(k, n, s), 1, axis=1),
    "same padding": lambda k, n, s: matrix_right(k, n + 2 * (len(k) // 2), s)[
        :, len(k) // 2 : len(k) // 2 + n
    ],
}


STRIDED_CONV_MATRIX_CORRECT = [
    matrix_right,
    lambda k, n, s: sp.csr_array(matrix_right(k, n, s)),  # sparse
    lambda k, n, s: torch.tensor(matrix_right(k, n, s), dtype=torch.float32),
    # probing: column j is the conv of the unit vector e_j (torch conv1d is a correlation)
    lambda k, n, s: (
        F.conv1d(torch.eye(n, dtype=torch.float64)[:, None], torch.tensor(k)[None, None], stride=s)[
            :, 0
        ].T
    ),
]


# ---------------------------------------------------------------- 07.transpose_apply


def transpose_right(k, y, n, s):
    return matrix_right(k, n, s).T @ y


def _scatter(k, y, n, s, offset=0, flip=False, length=None):
    k = np.asarray(k)[::-1] if flip else np.asarray(k)
    x = np.zeros(n + len(k) + s)
    for i, yi in enumerate(y):
        x[i * s + offset : i * s + offset + len(k)] += yi * k
    return x[: n if length is None else length]


TRANSPOSE_WRONG = {
    "flipped kernel": lambda k, y, n, s: _scatter(k, y, n, s, flip=True),
    "stride ignored": lambda k, y, n, s: _scatter(k, y, n, 1),
    "shifted by one": lambda k, y, n, s: _scatter(k, y, n, s, offset=1),
    "forward instead of transpose": lambda k, y, n, s: np.resize(
        matrix_right(k, n, s) @ np.resize(y, n), n
    ),
    "no output_padding (short)": lambda k, y, n, s: _scatter(
        k, y, n, s, length=(len(y) - 1) * s + len(k)
    ),
    "conv_transpose with the unflipped correlation": lambda k, y, n, s: np.resize(
        np.convolve(y, k), n
    ),
}


TRANSPOSE_APPLY_CORRECT = [
    transpose_right,
    lambda k, y, n, s: _scatter(k, y, n, s),
    lambda k, y, n, s: np.float32(1) * _scatter(k, y, n, s).astype(np.float32),
]


# ---------------------------------------------------------------- 07.conv_transpose2d


def conv_transpose(Y, w, stride=1, padding=0):
    """Scatter-add per kernel tap (the solution's route), cropped by `padding` at both ends."""
    B, _, H, W = Y.shape
    c_out, kh, kw = w.shape[1:]
    cols = torch.einsum("bchw,couv->bouvhw", Y, w)
    X = Y.new_zeros(B, c_out, (H - 1) * stride + kh, (W - 1) * stride + kw)
    for u in range(kh):
        for v in range(kw):
            X[
                :, :, u : u + (H - 1) * stride + 1 : stride, v : v + (W - 1) * stride + 1 : stride
            ] += cols[:, :, u, v]
    return X[:, :, padding : X.shape[2] - padding, padding : X.shape[3] - padding]


def _full(Y, w, s):
    return conv_transpose(Y, w, stride=s)


def _zero_insert(Y, w, s, p, flip=True, swap=True):
    B, ci, H, W = Y.shape
    kh, kw = w.shape[2:]
    Z = Y.new_zeros(B, ci, (H - 1) * s + 1, (W - 1) * s + 1)
    Z[:, :, ::s, ::s] = Y
    Z = F.pad(Z, (kw - 1 - p, kw - 1 - p, kh - 1 - p, kh - 1 - p))
    k = w.flip(-2, -1) if flip else w
    k = k.transpose(0, 1) if swap else k
    return F.conv2d(Z, k)


TC_WRONG = {
    "kernel not flipped": lambda Y, w, s, p: _zero_insert(Y, w, s, p, flip=False),
    "channels not swapped": lambda Y, w, s, p: _zero_insert(Y, w, s, p, swap=False),
    "channels reshaped, not transposed": lambda Y, w, s, p: _zero_insert(
        Y, w.transpose(0, 1).reshape(w.shape), s, p
    ),
    "padding off by one": lambda Y, w, s, p: (
        conv_transpose(Y, w, stride=s, padding=max(p - 1, 0))
        if p
        else conv_transpose(Y, w, stride=s)[:, :, :-1, :-1]
    ),
    "crop only at the start": lambda Y, w, s, p: F.pad(
        _full(Y, w, s)[:, :, 2 * p :, 2 * p :], (0, 0)
    ),
    "crop only at the end": lambda Y, w, s, p: _full(Y, w, s)[
        :, :, : _full(Y, w, s).shape[2] - 2 * p, : _full(Y, w, s).shape[3] - 2 * p
    ],
    "padding ignored": lambda Y, w, s, p: _full(Y, w, s),
    "stride ignored": lambda Y, w, s, p: conv_transpose(Y, w, padding=p),
    "no sum over input channels": lambda Y, w, s, p: conv_transpose(
        Y[:, :1], w[:1], stride=s, padding=p
    ),
}


CONV_TRANSPOSE2D_CORRECT = [
    conv_transpose,
    lambda Y, w, s, p: _zero_insert(Y.float(), w.float(), s, p),
]


# ---------------------------------------------------------------- 07.adjoint_output_padding


def op_right(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) % s


def op_search(n, k, s, p, d):  # brute force: the a whose transposed length is n
    m = (n + 2 * p - d * (k - 1) - 1) // s + 1
    return next(a for a in range(s) if (m - 1) * s - 2 * p + d * (k - 1) + a + 1 == n)


OP_WRONG = {
    "always zero": lambda n, k, s, p, d: 0,
    "dilation ignored": lambda n, k, s, p, d: n - (((n + 2 * p - k) // s) * s + k - 2 * p),
    "padding ignored": lambda n, k, s, p, d: (n - d * (k - 1) - 1) % s,
    "stride - 1": lambda n, k, s, p, d: s - 1,
    "off by one": lambda n, k, s, p, d: (n + 2 * p - d * (k - 1)) % s,
    "returns a float": lambda n, k, s, p, d: op_right(n, k, s, p, d) + 0.5,
}


OP_CORRECT = [op_right, op_search, lambda n, k, s, p, d: np.int64(op_right(n, k, s, p, d))]


WRONG = {
    "07.strided_conv_matrix": MATRIX_WRONG,
    "07.transpose_apply": TRANSPOSE_WRONG,
    "07.conv_transpose2d": TC_WRONG,
    "07.adjoint_output_padding": OP_WRONG,
}
CORRECT = {
    "07.strided_conv_matrix": STRIDED_CONV_MATRIX_CORRECT,
    "07.transpose_apply": TRANSPOSE_APPLY_CORRECT,
    "07.conv_transpose2d": CONV_TRANSPOSE2D_CORRECT,
    "07.adjoint_output_padding": OP_CORRECT,
}

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("07", WRONG, CORRECT)
