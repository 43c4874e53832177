"""Grader power for notebook 07: wrong answers are rejected, alternative right ones accepted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.grading import check
from convlab.transposed import conv_layer_matrix, conv_transpose


def _run(name, fn):
    for hidden in (False, True):
        check(name, fn, hidden=hidden, quiet=True)


def _rejected(name, fn):
    with pytest.raises(AssertionError):
        _run(name, fn)


def _stub(*_args):
    raise NotImplementedError()


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
    "same padding": lambda k, n, s: conv_layer_matrix(
        np.asarray(k, dtype=float)[None, None], n, stride=s, padding=len(k) // 2
    ).toarray(),
}


@pytest.mark.parametrize("wrong", list(MATRIX_WRONG))
def test_strided_conv_matrix_rejects(wrong):
    _rejected("07.strided_conv_matrix", MATRIX_WRONG[wrong])


@pytest.mark.parametrize(
    "right",
    [
        matrix_right,
        lambda k, n, s: conv_layer_matrix(np.asarray(k)[None, None], n, stride=s),  # sparse
        lambda k, n, s: torch.tensor(matrix_right(k, n, s), dtype=torch.float32),
    ],
)
def test_strided_conv_matrix_accepts(right):
    _run("07.strided_conv_matrix", right)


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


@pytest.mark.parametrize("wrong", list(TRANSPOSE_WRONG))
def test_transpose_apply_rejects(wrong):
    _rejected("07.transpose_apply", TRANSPOSE_WRONG[wrong])


@pytest.mark.parametrize(
    "right",
    [
        transpose_right,
        lambda k, y, n, s: _scatter(k, y, n, s),
        lambda k, y, n, s: np.float32(1) * _scatter(k, y, n, s).astype(np.float32),
    ],
)
def test_transpose_apply_accepts(right):
    _run("07.transpose_apply", right)


# ---------------------------------------------------------------- 07.conv_transpose2d


def _full(Y, w, s):
    return conv_transpose(Y, w, stride=s, method="taps")


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


@pytest.mark.parametrize("wrong", list(TC_WRONG))
def test_conv_transpose2d_rejects(wrong):
    _rejected("07.conv_transpose2d", TC_WRONG[wrong])


@pytest.mark.parametrize(
    "right",
    [
        lambda Y, w, s, p: conv_transpose(Y, w, stride=s, padding=p, method="fold"),
        lambda Y, w, s, p: conv_transpose(Y, w, stride=s, padding=p, method="loop"),
        lambda Y, w, s, p: conv_transpose(
            Y.float(), w.float(), stride=s, padding=p, method="zero_insertion"
        ),
    ],
)
def test_conv_transpose2d_accepts(right):
    _run("07.conv_transpose2d", right)


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


@pytest.mark.parametrize("wrong", list(OP_WRONG))
def test_adjoint_output_padding_rejects(wrong):
    _rejected("07.adjoint_output_padding", OP_WRONG[wrong])


@pytest.mark.parametrize(
    "right", [op_right, op_search, lambda n, k, s, p, d: np.int64(op_right(n, k, s, p, d))]
)
def test_adjoint_output_padding_accepts(right):
    _run("07.adjoint_output_padding", right)


@pytest.mark.parametrize(
    "name",
    [
        "07.strided_conv_matrix",
        "07.transpose_apply",
        "07.conv_transpose2d",
        "07.adjoint_output_padding",
    ],
)
def test_stub_is_not_done_yet(name):
    with pytest.raises(NotImplementedError):
        check(name, _stub, quiet=True)
