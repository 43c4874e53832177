"""Checks for exercises/07_adjoints_transposed_conv.ipynb.

References are ``torch.nn.functional`` (conv1d / conv_transpose1d / conv_transpose2d and their
output sizes) and :func:`convlab.transposed.conv_layer_matrix` (itself tested against F.conv2d).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from convlab.grading._core import Cases, register
from convlab.transposed import conv_layer_matrix

# (n, k, stride): the lecture's case first; n - k not always a multiple of the stride
_MATRIX_VISIBLE = [(7, 3, 2), (8, 3, 2), (6, 2, 1), (10, 4, 3), (4, 1, 2), (5, 5, 1)]
_MATRIX_HIDDEN = [(9, 3, 4), (12, 5, 2), (11, 2, 3), (3, 3, 3)]
# the exercise compares with torch's transposed convolutions: they are not allowed in answers
_TRANSPOSED = (
    "torch.nn.functional.conv_transpose1d",
    "torch.nn.functional.conv_transpose2d",
    "torch.nn.grad",
)


def _kernel(cases: Cases, k: int) -> np.ndarray:
    # asymmetric, rounded kernels: a flipped kernel is wrong, and labels stay readable
    return np.round(cases.rng.uniform(0.5, 2.0, k) * cases.rng.choice([-1, 1], k), 2)


@register(
    "07.strided_conv_matrix",
    task="the strided convolution matrix",
    forbid=_TRANSPOSED,
    hint="torch's conv1d is a correlation (the kernel is not flipped), 'valid' keeps only "
    "windows inside the signal, and the stride moves the window by s columns from one row "
    "to the next; there are (n - K)//s + 1 rows.",
)
def _strided_conv_matrix(student, cases: Cases) -> None:
    if not cases.hidden:
        label = "the lecture: k = [0.5, 1, 0.5], n = 7, stride 2"
        got = cases.call(label, student, np.array([0.5, 1.0, 0.5]), 7, 2)
        if got is not None:
            cases.compare(label, got, conv_layer_matrix(np.array([[[0.5, 1, 0.5]]]), 7, stride=2))
    for n, K, s in cases.grid(_MATRIX_VISIBLE, _MATRIX_HIDDEN):
        k = _kernel(cases, K)
        label = f"k = {k.tolist()}, n = {n}, stride = {s}"
        got = cases.call(label, student, k, n, s)
        if got is None:
            continue
        ref = F.conv1d(
            torch.eye(n, dtype=torch.float64)[:, None], torch.tensor(k)[None, None], stride=s
        )
        cases.compare(label, got, ref[:, 0].T.numpy(), rtol=1e-12)  # columns = images of e_j


@register(
    "07.transpose_apply",
    task="A^T y without the matrix",
    forbid=_TRANSPOSED,
    hint="A^T y is the lecture's picture read backwards: each y[i] adds a scaled copy of the "
    "kernel (not flipped) at the place its window started, i*s; the output has the conv's "
    "input length n, with zeros that no window reaches.",
)
def _transpose_apply(student, cases: Cases) -> None:
    for n, K, s in cases.grid(_MATRIX_VISIBLE, _MATRIX_HIDDEN):
        k = _kernel(cases, K)
        m = (n - K) // s + 1
        y = np.round(cases.rng.standard_normal(m), 2)
        label = f"k = {k.tolist()}, y = {y.tolist()}, n = {n}, stride = {s}"
        got = cases.call(label, student, k, y, n, s)
        if got is None:
            continue
        a = n - ((m - 1) * s + K)  # output_padding (d = 1, p = 0)
        kt = torch.tensor(k)[None, None]
        if a < s:
            ref = F.conv_transpose1d(torch.tensor(y)[None, None], kt, stride=s, output_padding=a)
            ref = ref[0, 0].numpy()
        else:  # output_padding >= stride is not allowed in torch: pad by hand
            ref = F.conv_transpose1d(torch.tensor(y)[None, None], kt, stride=s)[0, 0].numpy()
            ref = np.concatenate([ref, np.zeros(n - ref.size)])
        cases.compare(label, got, ref, rtol=1e-12)


# (B, C_in, C_out, H, W, kh, kw, stride, padding): C_in != C_out; non-square; p up to k-1
_TC_VISIBLE = [
    (1, 1, 1, 2, 2, 2, 2, 2, 0),
    (2, 3, 2, 4, 5, 3, 3, 2, 1),
    (1, 2, 4, 3, 3, 3, 2, 1, 1),
    (2, 2, 3, 3, 4, 4, 4, 3, 2),
]
_TC_HIDDEN = [
    (3, 4, 1, 5, 3, 3, 3, 2, 2),
    (1, 1, 2, 1, 6, 2, 3, 3, 0),
    (2, 3, 3, 4, 4, 1, 1, 2, 0),
    (1, 2, 5, 6, 2, 5, 3, 1, 2),
    (2, 5, 2, 3, 3, 3, 3, 4, 1),
]


@register(
    "07.conv_transpose2d",
    task="the transposed convolution",
    forbid=_TRANSPOSED,
    hint="The weight is (C_in, C_out, kh, kw): every input pixel (i, j) scatters its kernel "
    "copy to offset (i*s, j*s) of the full ((H-1)s + kh) x ((W-1)s + kw) output, summed over "
    "C_in; `padding` then crops at BOTH ends. With zero insertion + conv2d, the kernel must be "
    "flipped and its channel axes swapped.",
)
def _conv_transpose2d(student, cases: Cases) -> None:
    for B, ci, co, H, W, kh, kw, s, p in cases.grid(_TC_VISIBLE, _TC_HIDDEN):
        if (H - 1) * s - 2 * p + kh < 1 or (W - 1) * s - 2 * p + kw < 1:
            continue
        g = torch.Generator().manual_seed(int(cases.rng.integers(2**31)))
        Y = torch.randn(B, ci, H, W, generator=g, dtype=torch.float64)
        w = torch.randn(ci, co, kh, kw, generator=g, dtype=torch.float64)
        label = f"Y {tuple(Y.shape)}, weight {tuple(w.shape)}, stride {s}, padding {p}"
        got = cases.call(label, student, Y, w, s, p)
        if got is None:
            continue
        cases.compare(label, got, F.conv_transpose2d(Y, w, stride=s, padding=p), rtol=1e-10)


# (n, k, stride, padding, dilation)
_OP_VISIBLE = [(7, 3, 2, 0, 1), (8, 3, 2, 0, 1), (8, 3, 2, 1, 1), (10, 3, 3, 1, 2), (9, 2, 4, 0, 1)]
_OP_HIDDEN = [(9, 3, 2, 0, 2), (12, 5, 3, 2, 1), (6, 1, 2, 0, 1), (15, 3, 4, 1, 3), (5, 5, 1, 2, 1)]


@register(
    "07.adjoint_output_padding",
    task="the output_padding",
    forbid=_TRANSPOSED,
    hint="output_padding is what the transposed output (with output_padding 0) lacks to reach "
    "n; that size is (m-1)*s - 2p + d*(k-1) + 1 with m the conv's output size, and padding "
    "and dilation count. The answer is an int.",
)
def _adjoint_output_padding(student, cases: Cases) -> None:
    grid = cases.grid(_OP_VISIBLE, _OP_HIDDEN)
    for _ in range(6 if cases.hidden else 3):  # random extra cases
        k, s, p, d = (int(v) for v in cases.rng.integers([1, 1, 0, 1], [5, 5, 3, 4]))
        n = int(cases.rng.integers(max(1, d * (k - 1) + 1 - 2 * p), 20))
        grid.append((n, k, s, p, d))
    for n, k, s, p, d in grid:
        label = f"n = {n}, k = {k}, stride = {s}, padding = {p}, dilation = {d}"
        got = cases.call(label, student, n, k, s, p, d)
        if got is None:
            continue
        x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
        m = F.conv1d(x, w, stride=s, padding=p, dilation=d).shape[-1]
        full = F.conv_transpose1d(torch.zeros(1, 1, m), w, stride=s, padding=p, dilation=d)
        cases.compare_scalar(label, got, n - full.shape[-1], kind="int")
