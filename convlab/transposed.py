"""Transposed convolution: the adjoint of a (strided, padded, dilated) convolution layer.

Four parts, each tested against ``torch.nn.functional``:

1. **Convolution arithmetic** (per spatial dimension; ``i`` input size, ``k`` kernel size,
   ``s`` stride, ``p`` padding, ``d`` dilation, ``a`` output_padding)::

       conv            o  = floor((i + 2p - d(k-1) - 1) / s) + 1
       transposed conv o' = (i' - 1) s - 2p + d(k-1) + a + 1          (PyTorch's formula)
       adjoint of conv a  = (i + 2p - d(k-1) - 1) mod s              (so that o' = i again)

   Dumoulin & Visin ("A guide to convolution arithmetic", relationship 14, d = 1): the
   transposed convolution equals a stride-1 convolution with the *flipped* kernel of the input
   stretched by ``s - 1`` zeros between samples, padded by ``k - 1 - p`` before and
   ``k - 1 - p + a`` after; with dilation ``k - 1`` becomes ``d(k-1)``.
   (:func:`zero_insertion_plan`; a negative padding means cropping.)

2. **Convolution layers as sparse matrices** (:func:`conv_layer_matrix`), one row per output
   entry, with their transposes equal to ``F.conv_transpose{1,2}d``
   (:func:`conv_transpose_layer_matrix`).

3. **Transposed convolution implementations**, all equal (device-agnostic, 1D and 2D):
   ``"loop"`` (the lecture's ``trans_conv``, generalised: for each input pixel add the scaled
   kernel into the output), ``"taps"`` (one strided scatter-add per kernel tap, vectorised over
   batch, channels and pixels), ``"fold"`` (one GEMM to the column matrix, then ``col2im`` =
   ``F.fold``), ``"zero_insertion"`` (stretch, pad, correlate with the flipped kernel) and
   ``"torch"`` (``F.conv_transpose{1,2}d``). See :func:`conv_transpose`.

4. **Upsampling** (nearest, (bi)linear) as linear operators with adjoints, equal to
   ``torch.nn.Upsample`` (:func:`interpolation_matrix`, :func:`upsample_operator`).

Conventions (PyTorch's)
-----------------------
* ``F.conv2d`` is a **cross-correlation**: ``y[b, o, h, w] = sum_{c, u, v}
  w[o, c, u, v] x[b, c, h s - p + u d, w s - p + v d]`` with weight ``(C_out, C_in, kh, kw)``.
* ``F.conv_transpose2d`` takes weight ``(C_in, C_out, kh, kw)`` -- the *same* tensor as the
  convolution it transposes (channels are swapped by the layout, not by the user).
* Vectorisation is row-major: one example of shape ``(C, H, W)`` is ``x.reshape(-1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from convlab._validate import (
    as_choice,
    as_device,
    as_real_number,
    as_shape,
    as_size,
    check_cost,
    require_finite,
)
from convlab.operators import LinearMap

__all__ = [
    "METHODS",
    "ZeroInsertionPlan",
    "adjoint_output_padding",
    "conv_layer_matrix",
    "conv_operator",
    "conv_output_size",
    "conv_transpose",
    "conv_transpose_fold",
    "conv_transpose_layer_matrix",
    "conv_transpose_loop",
    "conv_transpose_output_size",
    "conv_transpose_taps",
    "conv_transpose_zero_insertion",
    "interpolation_matrix",
    "pool_output_size",
    "trans_conv",
    "upsample_operator",
    "zero_insertion_plan",
]

METHODS = ("fold", "taps", "zero_insertion", "loop", "torch")

IntOrTuple = int | Sequence[int]


# ============================================================================================
# 1. Convolution arithmetic (one spatial dimension; scalar ints)
# ============================================================================================


def _params(k: Any, stride: Any, padding: Any, dilation: Any) -> tuple[int, int, int, int]:
    return (
        as_size(k, "kernel_size"),
        as_size(stride, "stride"),
        as_size(padding, "padding", minimum=0),
        as_size(dilation, "dilation"),
    )


def conv_output_size(
    i: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution (PyTorch ``Conv``, Dumoulin & Visin relationship 15).

    ``o = floor((i + 2p - d(k-1) - 1) / s) + 1``; raises ``ValueError`` when the (dilated)
    kernel does not fit in the padded input.

    >>> conv_output_size(7, 3, stride=2)          # the lecture: 7 samples -> 3
    3
    >>> conv_output_size(5, 3, stride=2, padding=1, dilation=2)
    2
    """
    i = as_size(i, "i")
    k, s, p, d = _params(kernel_size, stride, padding, dilation)
    span = d * (k - 1) + 1  # the dilated kernel's extent
    if i + 2 * p < span:
        raise ValueError(
            f"kernel of extent d*(k-1)+1 = {span} does not fit in the padded input "
            f"i + 2p = {i + 2 * p}"
        )
    return (i + 2 * p - span) // s + 1


def pool_output_size(
    i: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of max/avg pooling (PyTorch rules; ``stride`` defaults to ``kernel_size``).

    Floor mode is :func:`conv_output_size`. With ``ceil_mode`` the division rounds up, but a
    last window that would start in the right padding is dropped (``(o-1)s >= i + p``).
    PyTorch requires ``p <= (d(k-1)+1) // 2`` (half the effective kernel).

    >>> pool_output_size(7, 2), pool_output_size(7, 2, ceil_mode=True)
    (3, 4)
    """
    k = as_size(kernel_size, "kernel_size")
    s = k if stride is None else as_size(stride, "stride")
    p = as_size(padding, "padding", minimum=0)
    d = as_size(dilation, "dilation")
    i = as_size(i, "i")
    span = d * (k - 1) + 1
    if p > span // 2:
        raise ValueError(f"padding {p} must be at most half the effective kernel ({span} // 2)")
    # PyTorch's pooling_output_shape: floor division (towards -inf), + (s - 1) in ceil mode
    o = (i + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= i + p:  # the last window would start in the right padding
        o -= 1
    if o < 1:
        raise ValueError(f"pooling window {span} does not fit in the padded input {i + 2 * p}")
    return o


def conv_transpose_output_size(
    i: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    """Output length of a transposed convolution (PyTorch's formula).

    ``o' = (i' - 1) s - 2p + d(k-1) + a + 1`` with ``a = output_padding``. PyTorch requires
    ``a < max(s, d)`` ("smaller than either stride or dilation"); this is enforced.
    ``padding`` *crops* ``p`` entries from each end of the full result; ``a`` adds entries at
    the end (zeros from the input, bias only).

    >>> conv_transpose_output_size(3, 3, stride=2)      # the lecture: 3 values -> 7
    7
    >>> conv_transpose_output_size(2, 2, stride=2)      # [[0,1],[2,3]] -> 4x4
    4
    """
    i = as_size(i, "i")
    k, s, p, d = _params(kernel_size, stride, padding, dilation)
    a = as_size(output_padding, "output_padding", minimum=0)
    if a >= max(s, d):
        raise ValueError(
            f"output_padding ({a}) must be smaller than either stride ({s}) or dilation ({d})"
        )
    o = (i - 1) * s - 2 * p + d * (k - 1) + a + 1
    if o < 1:
        raise ValueError(f"transposed convolution output size would be {o} (padding {p} too big)")
    return o


def adjoint_output_padding(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """``output_padding`` that makes ``conv_transpose`` the exact adjoint of ``conv`` on length n.

    A strided convolution maps several input lengths to the same output length (7 and 8 both
    give 3 at k=3, s=2); its transpose must return the length ``n`` it came from:
    ``a = n - o'(a=0) = (n + 2p - d(k-1) - 1) mod s``. (The shortcut ``n - ((o-1)s + k - 2p)``
    forgets dilation.)

    >>> adjoint_output_padding(7, 3, stride=2), adjoint_output_padding(8, 3, stride=2)
    (0, 1)
    """
    n = as_size(n, "n")
    k, s, p, d = _params(kernel_size, stride, padding, dilation)
    o = conv_output_size(n, k, s, p, d)
    a = n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
    assert a == (n + 2 * p - d * (k - 1) - 1) % s  # the closed form
    return a


class ZeroInsertionPlan(NamedTuple):
    """A transposed convolution as a stride-1 correlation with the flipped kernel."""

    stretched: int  # (i'-1) s + 1: the input with s-1 zeros between samples
    pad_before: int  # d(k-1) - p   (negative = crop)
    pad_after: int  # d(k-1) - p + a
    dilation: int  # the direct convolution keeps the dilation
    output: int  # = conv_transpose_output_size(...)


def zero_insertion_plan(
    i: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> ZeroInsertionPlan:
    """Dumoulin & Visin's equivalent direct convolution of a transposed convolution.

    Insert ``s - 1`` zeros between the ``i`` input samples, pad ``d(k-1) - p`` zeros before and
    ``d(k-1) - p + a`` after, then correlate (stride 1, dilation d) with the flipped kernel.
    At d = 1 these are D&V's ``p' = k - p - 1`` and the extra ``a`` zeros at the bottom/right.

    >>> zero_insertion_plan(3, 3, stride=2)
    ZeroInsertionPlan(stretched=5, pad_before=2, pad_after=2, dilation=1, output=7)
    """
    o = conv_transpose_output_size(i, kernel_size, stride, padding, dilation, output_padding)
    stretched = (i - 1) * stride + 1
    before = dilation * (kernel_size - 1) - padding
    after = before + output_padding
    assert stretched + before + after - dilation * (kernel_size - 1) == o
    return ZeroInsertionPlan(stretched, before, after, dilation, o)


# ============================================================================================
# Shared validation for the layer functions
# ============================================================================================


def _tuple(value: Any, name: str, nd: int, minimum: int) -> tuple[int, ...]:
    """An int (the same on every spatial axis) or one int per axis, each ``>= minimum``."""
    return as_shape(value, name, ndim=nd, minimum=minimum)


def _weight_array(weight: Any) -> np.ndarray:
    if isinstance(weight, torch.Tensor):
        weight = weight.detach().cpu().numpy()
    w = np.asarray(weight)
    if not np.issubdtype(w.dtype, np.number):
        raise TypeError(f"weight must be numeric, got dtype {w.dtype}")
    if w.size == 0:
        raise ValueError(f"weight must not be empty, got shape {w.shape}")
    require_finite(w, "weight")
    if w.ndim not in (3, 4):
        raise ValueError(
            f"weight must have shape (C_out, C_in, k) or (C_out, C_in, kh, kw), got {w.shape}"
        )
    return w


def _sizes(value: Any, name: str, nd: int) -> tuple[int, ...]:
    """Spatial sizes, one per axis of the weight (an int only for 1D weights)."""
    if np.ndim(value) == 0 and nd != 1 and not isinstance(value, str):
        raise ValueError(f"{name} must be a tuple of {nd} sizes, got {value!r}")
    return as_shape(value, name, ndim=nd)


# ============================================================================================
# 2. Convolution layers as sparse matrices
# ============================================================================================


def conv_layer_matrix(
    weight: Any,
    in_size: IntOrTuple,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    out_size: IntOrTuple | None = None,
    batch: int | None = None,
) -> sp.csr_array:
    """The matrix of ``F.conv1d``/``F.conv2d`` (no bias) as a ``scipy.sparse.csr_array``.

    Row-major vectorisation of one example: ``A @ x[b].reshape(-1) ==
    F.conv2d(x, weight, ...)[b].reshape(-1)``. With ``batch=B`` the matrix is the block
    diagonal ``kron(I_B, A)`` acting on ``x.reshape(-1)`` of the whole batch.

    The entries (cross-correlation, as torch)::

        A[(o, h, w), (c, h s - p + u d, w s - p + v d)] = weight[o, c, u, v]

    for every tap whose input index lies inside the image (zero padding = dropped entries).

    Parameters
    ----------
    weight : array or tensor (C_out, C_in, k) or (C_out, C_in, kh, kw)
    in_size : int (1D) or (H, W)
    stride, padding, dilation : int or tuple per spatial dim
    out_size : optional; default the convolution's own output size. A smaller value keeps only
        the first outputs (used for the adjoint of a transposed convolution whose
        ``output_padding >= stride``).
    batch : optional number of examples (block-diagonal matrix).

    See Also
    --------
    convlab.transposed.conv_transpose_layer_matrix
        its transpose (``F.conv_transpose1d/2d``).
    convlab.structured.conv_matrix
        1D convolution (the flipped kernel), centred at L//2, zero/periodic/valid.
    convlab.conv.Conv2D.matrix
        periodic convolution, column-major by default.
    convlab.matlab.convmtx2
        full convolution, column-major.

    Examples
    --------
    >>> conv_layer_matrix([[[0.5, 1, 0.5]]], 7, stride=2).toarray()
    array([[0.5, 1. , 0.5, 0. , 0. , 0. , 0. ],
           [0. , 0. , 0.5, 1. , 0.5, 0. , 0. ],
           [0. , 0. , 0. , 0. , 0.5, 1. , 0.5]])
    """
    w = _weight_array(weight)
    nd = w.ndim - 2
    c_out, c_in, ks = w.shape[0], w.shape[1], w.shape[2:]
    ins = _sizes(in_size, "in_size", nd)
    s = _tuple(stride, "stride", nd, 1)
    p = _tuple(padding, "padding", nd, 0)
    d = _tuple(dilation, "dilation", nd, 1)
    full = tuple(conv_output_size(ins[j], ks[j], s[j], p[j], d[j]) for j in range(nd))
    outs = full if out_size is None else _sizes(out_size, "out_size", nd)
    if any(o > f for o, f in zip(outs, full)):
        raise ValueError(f"out_size {outs} exceeds the convolution's output size {full}")
    nb = 1 if batch is None else as_size(batch, "batch")
    check_cost(
        f"conv_layer_matrix for inputs of size {ins} ({c_out} x {c_in} channels)",
        nbytes=40 * nb * c_out * c_in * math.prod(outs) * math.prod(ks),  # indices, mask, CSR
        alternative="apply the layer with conv_operator (matrix-free) or torch.nn.functional",
    )
    # Broadcast over (C_out, C_in, o_1, k_1, ..., o_nd, k_nd).
    shape = (c_out, c_in, *(n for j in range(nd) for n in (outs[j], ks[j])))
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij", sparse=True)
    co, ci = grids[0], grids[1]
    row, col = co, ci
    inside = np.ones((1,) * len(shape), dtype=bool)
    for j in range(nd):
        o, u = grids[2 + 2 * j], grids[3 + 2 * j]
        pos = o * s[j] - p[j] + u * d[j]  # input index of output o, tap u
        inside = inside & (pos >= 0) & (pos < ins[j])
        row = row * outs[j] + o
        col = col * ins[j] + pos
    # weight value for each (co, ci, o.., u..): index the kernel with the tap grids
    vals = w[(co, ci, *[grids[3 + 2 * j] for j in range(nd)])]
    full_shape = np.broadcast_shapes(*(g.shape for g in grids))
    row, col, vals, inside = (np.broadcast_to(a, full_shape) for a in (row, col, vals, inside))
    m = c_out * int(np.prod(outs))
    n = c_in * int(np.prod(ins))
    A = sp.csr_array((vals[inside], (row[inside], col[inside])), shape=(m, n))
    if batch is not None:
        A = sp.csr_array(sp.kron(sp.eye_array(as_size(batch, "batch")), A, format="csr"))
    return A


def conv_transpose_layer_matrix(
    weight: Any,
    in_size: IntOrTuple,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
    batch: int | None = None,
) -> sp.csr_array:
    """The matrix of ``F.conv_transpose1d/2d`` (no bias): a transposed convolution matrix.

    ``weight`` has torch's transposed layout ``(C_in, C_out, k...)``; ``in_size`` is the size of
    the transposed convolution's input. The result is ``conv_layer_matrix(weight, out).T`` with
    ``out = conv_transpose_output_size(...)``: the same weight tensor read as a convolution
    ``C_out -> C_in``. When ``output_padding >= stride`` (allowed if dilation is larger) the
    convolution from ``out`` has extra outputs; only the first ``in_size`` are kept.

    See Also
    --------
    convlab.transposed.conv_layer_matrix
        the convolution it transposes (the same weight tensor).
    convlab.matlab.convmtx
        stride 1, no padding, one channel: a full convolution, ``convmtx(w[0, 0], n)``.

    Examples
    --------
    >>> conv_transpose_layer_matrix([[[0.5, 1, 0.5]]], 3, stride=2).shape
    (7, 3)
    """
    w = _weight_array(weight)
    nd = w.ndim - 2
    ins = _sizes(in_size, "in_size", nd)
    s = _tuple(stride, "stride", nd, 1)
    p = _tuple(padding, "padding", nd, 0)
    d = _tuple(dilation, "dilation", nd, 1)
    a = _tuple(output_padding, "output_padding", nd, 0)
    ks = w.shape[2:]
    outs = tuple(
        conv_transpose_output_size(ins[j], ks[j], s[j], p[j], d[j], a[j]) for j in range(nd)
    )
    C = conv_layer_matrix(w, outs, stride=s, padding=p, dilation=d, out_size=ins, batch=batch)
    return sp.csr_array(C.T)


# ============================================================================================
# 3. Transposed convolution implementations
# ============================================================================================


def trans_conv(Y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The lecture's ``trans_conv``, verbatim (stride 1, no padding; 2D; slow on purpose).

    For each input neuron, multiply the kernel and add (accumulate) it into the output.
    ``w`` has shape ``(C_in, C_out, f1, f2)``, ``Y`` shape ``(B, C_in, m, n)``; the output has
    shape ``(B, C_out, m + f1 - 1, n + f2 - 1)`` (created with ``Y``'s dtype and device here).
    """
    for name, t in (("Y", Y), ("w", w)):
        if not isinstance(t, torch.Tensor) or t.ndim != 4:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"{name} must be a 4-D torch.Tensor, got {shape}")
    if w.shape[0] != Y.shape[1]:
        raise ValueError(f"w.shape[0] = {w.shape[0]} must equal Y's channels {Y.shape[1]}")
    if not isinstance(b, torch.Tensor) or b.shape != (w.shape[1],):
        raise ValueError(f"b must be a tensor of shape ({w.shape[1]},) (one bias per output)")
    c_in, c_out, f1, f2 = w.shape
    batch, c_in, m, n = Y.shape
    X = torch.zeros(batch, c_out, m + f1 - 1, n + f2 - 1, dtype=Y.dtype, device=Y.device)
    for k in range(c_in):
        for i in range(Y.shape[2]):
            for j in range(Y.shape[3]):
                X[:, :, i : i + f1, j : j + f2] += Y[:, k, i, j].view(-1, 1, 1, 1) * w[
                    k, :, :, :
                ].unsqueeze(0)
    return X + b.view(1, -1, 1, 1)


class _Prepared(NamedTuple):
    Y: torch.Tensor  # (B, C_in, H', W')
    w: torch.Tensor  # (C_in, C_out, kh, kw)
    bias: torch.Tensor | None
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    a: tuple[int, int]
    out: tuple[int, int]  # final spatial size
    full: tuple[int, int]  # uncropped size (i'-1)s + d(k-1) + 1
    squeeze: bool  # 1D input: drop the dummy height axis at the end


def _prepare(
    Y: Any, w: Any, bias: Any, stride: Any, padding: Any, dilation: Any, output_padding: Any
) -> _Prepared:
    if not isinstance(Y, torch.Tensor):
        raise TypeError(f"Y: the input must be a torch.Tensor, got {type(Y).__name__}")
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(w).__name__}")
    if Y.ndim not in (3, 4):
        raise ValueError(
            f"input must be (B, C_in, L) or (B, C_in, H, W), got shape {tuple(Y.shape)}"
        )
    if w.ndim != Y.ndim:
        raise ValueError(
            f"weight must be (C_in, C_out, k...) with {Y.ndim - 2} spatial dims like the input, "
            f"got shape {tuple(w.shape)}"
        )
    if w.shape[0] != Y.shape[1]:
        raise ValueError(
            f"weight.shape[0] = {w.shape[0]} must equal the input channels {Y.shape[1]} "
            "(conv_transpose weights are (C_in, C_out, k...))"
        )
    if w.dtype != Y.dtype or w.device != Y.device:
        raise TypeError(
            f"input and weight must share dtype and device, got {Y.dtype}/{Y.device} and "
            f"{w.dtype}/{w.device}"
        )
    nd = Y.ndim - 2
    s = _tuple(stride, "stride", nd, 1)
    p = _tuple(padding, "padding", nd, 0)
    d = _tuple(dilation, "dilation", nd, 1)
    a = _tuple(output_padding, "output_padding", nd, 0)
    squeeze = nd == 1
    if squeeze:  # 1D = 2D with a height-1 image and a height-1 kernel
        Y, w = Y.unsqueeze(-2), w.unsqueeze(-2)
        s, p, d, a = (1, *s), (0, *p), (1, *d), (0, *a)
    ks = tuple(w.shape[2:])
    ins = tuple(Y.shape[2:])
    out = tuple(conv_transpose_output_size(ins[j], ks[j], s[j], p[j], d[j], a[j]) for j in (0, 1))
    full = tuple((ins[j] - 1) * s[j] + d[j] * (ks[j] - 1) + 1 for j in (0, 1))
    if bias is not None:
        if not isinstance(bias, torch.Tensor) or bias.shape != (w.shape[1],):
            raise ValueError(f"bias must be a tensor of shape ({w.shape[1]},) (C_out)")
    return _Prepared(Y, w, bias, s, p, d, a, out, full, squeeze)  # type: ignore[arg-type]


def _finish(X: torch.Tensor, P: _Prepared) -> torch.Tensor:
    """Crop ``p`` from both ends of the full result and append ``a`` zeros (F.pad < 0 crops)."""
    (ph, pw), (ah, aw) = P.p, P.a
    X = F.pad(X, (-pw, aw - pw, -ph, ah - ph))
    assert tuple(X.shape[2:]) == P.out
    if P.bias is not None:
        X = X + P.bias.view(1, -1, 1, 1)
    return X.squeeze(-2) if P.squeeze else X


def conv_transpose_loop(
    Y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
) -> torch.Tensor:
    """The lecture's ``trans_conv`` loop with stride, padding, dilation and output_padding.

    For each input channel ``c`` and pixel ``(i, j)``: add ``Y[:, c, i, j] * weight[c]`` (the
    kernel, dilated) into the full output at ``(i s, j s)``; finally crop ``p`` at both ends and
    append ``a`` zeros. ``C_in * H' * W'`` Python iterations: slow on purpose (reference).
    """
    P = _prepare(Y, weight, bias, stride, padding, dilation, output_padding)
    B, c_in, H, W = P.Y.shape
    c_out, kh, kw = P.w.shape[1:]
    (sh, sw), (dh, dw) = P.s, P.d
    X = torch.zeros(B, c_out, *P.full, dtype=P.Y.dtype, device=P.Y.device)
    for c in range(c_in):
        for i in range(H):
            for j in range(W):
                # X[b, o, i s + u d, j s + v d] += Y[b, c, i, j] * w[c, o, u, v]
                X[
                    :,
                    :,
                    i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                    j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                ] += P.Y[:, c, i, j].view(-1, 1, 1, 1) * P.w[c].unsqueeze(0)
    return _finish(X, P)


def conv_transpose_taps(
    Y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
) -> torch.Tensor:
    """One GEMM, then a scatter-add per kernel tap: ``kh * kw`` strided slice updates.

    The loop of :func:`conv_transpose_loop` turned inside out. ``cols[b, o, u, v, i, j] =
    sum_c w[c, o, u, v] Y[b, c, i, j]`` is one matrix product; then for each tap ``(u, v)``
    *all* input pixels land on the strided grid ``X[:, :, u d + i s, v d + j s]`` at once.
    This is col2im written with slices instead of ``F.fold``.
    """
    P = _prepare(Y, weight, bias, stride, padding, dilation, output_padding)
    B, c_in, H, W = P.Y.shape
    c_out, kh, kw = P.w.shape[1:]
    (sh, sw), (dh, dw) = P.s, P.d
    cols = (P.w.reshape(c_in, c_out * kh * kw).T @ P.Y.reshape(B, c_in, H * W)).reshape(
        B, c_out, kh, kw, H, W
    )
    X = torch.zeros(B, c_out, *P.full, dtype=P.Y.dtype, device=P.Y.device)
    for u in range(kh):
        for v in range(kw):
            # X[b, o, u d + i s, v d + j s] += cols[b, o, u, v, i, j]
            rows = slice(u * dh, u * dh + (H - 1) * sh + 1, sh)
            cols_ = slice(v * dw, v * dw + (W - 1) * sw + 1, sw)
            X[:, :, rows, cols_] += cols[:, :, u, v]
    return _finish(X, P)


def conv_transpose_fold(
    Y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
) -> torch.Tensor:
    """GEMM + col2im: how libraries compute a transposed convolution.

    1. ``cols[b, (o, u, v), (i, j)] = sum_c w[c, o, u, v] Y[b, c, i, j]``: one matrix product
       ``W^T Y`` with ``W`` = weight reshaped ``(C_in, C_out kh kw)``.
    2. ``F.fold`` (col2im) adds column ``(i, j)`` -- a ``kh x kw`` patch -- into the full output
       at ``(i s, j s)`` with dilation ``d``: the scatter-add of the lecture, done in one call.
    3. Crop ``p`` / append ``a`` (see :func:`_finish`).
    """
    P = _prepare(Y, weight, bias, stride, padding, dilation, output_padding)
    B, c_in, H, W = P.Y.shape
    c_out, kh, kw = P.w.shape[1:]
    cols = P.w.reshape(c_in, c_out * kh * kw).T @ P.Y.reshape(B, c_in, H * W)
    X = F.fold(cols, output_size=P.full, kernel_size=(kh, kw), dilation=P.d, stride=P.s)
    return _finish(X, P)


def conv_transpose_zero_insertion(
    Y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
) -> torch.Tensor:
    """Zero insertion + a stride-1 correlation with the flipped, channel-swapped kernel.

    Dumoulin & Visin's relationship (:func:`zero_insertion_plan`): stretch the input with
    ``s - 1`` zeros between samples, pad ``d(k-1) - p`` before and ``d(k-1) - p + a`` after
    (negative = crop), then ``F.conv2d`` with ``weight.flip(u, v).transpose(0, 1)``. Wasteful:
    a fraction ``1 - 1/s^2`` of the multiplications hit inserted zeros.
    """
    P = _prepare(Y, weight, bias, stride, padding, dilation, output_padding)
    B, c_in, H, W = P.Y.shape
    (sh, sw), (ph, pw), (dh, dw), (ah, aw) = P.s, P.p, P.d, P.a
    kh, kw = P.w.shape[2:]
    Z = P.Y.new_zeros(B, c_in, (H - 1) * sh + 1, (W - 1) * sw + 1)
    Z[:, :, ::sh, ::sw] = P.Y  # s-1 zeros between samples
    bh, bw = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    Z = F.pad(Z, (bw, bw + aw, bh, bh + ah))
    k = P.w.flip(-2, -1).transpose(0, 1)  # (C_out, C_in, kh, kw), flipped: correlation -> conv
    X = F.conv2d(Z, k, dilation=P.d)
    assert tuple(X.shape[2:]) == P.out
    X = X if P.bias is None else X + P.bias.view(1, -1, 1, 1)
    return X.squeeze(-2) if P.squeeze else X


def _torch_conv_transpose(
    Y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
) -> torch.Tensor:
    P = _prepare(Y, weight, bias, stride, padding, dilation, output_padding)  # same validation
    fn = F.conv_transpose1d if P.squeeze else F.conv_transpose2d
    pick = (lambda t: t[1]) if P.squeeze else (lambda t: t)
    return fn(
        Y,
        weight,
        bias,
        stride=pick(P.s),
        padding=pick(P.p),
        output_padding=pick(P.a),
        dilation=pick(P.d),
    )


_IMPLS = {
    "fold": conv_transpose_fold,
    "taps": conv_transpose_taps,
    "zero_insertion": conv_transpose_zero_insertion,
    "loop": conv_transpose_loop,
    "torch": _torch_conv_transpose,
}


def conv_transpose(
    Y: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    output_padding: IntOrTuple = 0,
    method: str = "fold",
) -> torch.Tensor:
    """Transposed convolution, 1D or 2D, by one of :data:`METHODS`; same result as
    ``F.conv_transpose1d/2d(Y, weight, bias, stride, padding, output_padding, 1, dilation)``.

    Parameters
    ----------
    Y : tensor (B, C_in, L) or (B, C_in, H, W)
    weight : tensor (C_in, C_out, k) or (C_in, C_out, kh, kw) (torch's transposed layout)
    bias : optional tensor (C_out,)
    stride, padding, dilation, output_padding : int or per-dimension tuple
    method : "fold" (GEMM + col2im, default), "taps", "zero_insertion", "loop" (lecture),
        "torch" (the library).

    Examples
    --------
    >>> Y = torch.tensor([[[[0.0, 1], [2, 3]]]])
    >>> conv_transpose(Y, Y, stride=2)          # the lecture's example
    tensor([[[[0., 0., 0., 1.],
              [0., 0., 2., 3.],
              [0., 2., 0., 3.],
              [4., 6., 6., 9.]]]])
    """
    method = as_choice(method, "method", METHODS)
    return _IMPLS[method](
        Y,
        weight,
        bias,
        stride=stride,
        padding=padding,
        dilation=dilation,
        output_padding=output_padding,
    )


def conv_operator(
    weight: torch.Tensor,
    in_size: IntOrTuple,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    method: str = "torch",
) -> LinearMap:
    """A convolution layer (no bias) on one example ``(C_in, *in_size)`` as a ``LinearMap``.

    Forward ``F.conv1d/2d``; adjoint :func:`conv_transpose` with the same weight and the
    ``output_padding`` of :func:`adjoint_output_padding`, so ``A.T`` maps back to exactly
    ``in_size``.

    >>> A = conv_operator(torch.ones(1, 1, 3, dtype=torch.float64), 8, stride=2)
    >>> A.shape, A.T.shape
    ((3, 8), (8, 3))
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    w = _weight_array(weight)  # shape validation
    nd = w.ndim - 2
    ins = _sizes(in_size, "in_size", nd)
    s = _tuple(stride, "stride", nd, 1)
    p = _tuple(padding, "padding", nd, 0)
    d = _tuple(dilation, "dilation", nd, 1)
    ks = w.shape[2:]
    outs = tuple(conv_output_size(ins[j], ks[j], s[j], p[j], d[j]) for j in range(nd))
    a = tuple(adjoint_output_padding(ins[j], ks[j], s[j], p[j], d[j]) for j in range(nd))
    conv = F.conv1d if nd == 1 else F.conv2d

    def forward(x: torch.Tensor) -> torch.Tensor:
        return conv(x.unsqueeze(0), weight, stride=s, padding=p, dilation=d)[0]

    def adjoint(y: torch.Tensor) -> torch.Tensor:
        return conv_transpose(
            y.unsqueeze(0),
            weight,
            stride=s,
            padding=p,
            dilation=d,
            output_padding=a,
            method=method,
        )[0]

    return LinearMap(
        forward,
        adjoint,
        (w.shape[1], *ins),
        (w.shape[0], *outs),
        backend="torch",
        dtype=weight.dtype,
        device=weight.device,
        name="conv",
    )


# ============================================================================================
# 4. Upsampling as a linear operator
# ============================================================================================

UPSAMPLE_MODES = ("nearest", "linear")


def interpolation_matrix(
    n_in: int,
    *,
    size: int | None = None,
    scale_factor: float | None = None,
    mode: str = "nearest",
    align_corners: bool = False,
) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of 1D ``torch.nn.Upsample`` along one axis.

    ``mode="linear"`` is the 1D factor of 'bilinear'; 2D upsampling is separable,
    ``U2 = kron(U_H, U_W)`` on row-major images. PyTorch's source coordinate of output ``j``:

    * ``scale = 1 / scale_factor`` if ``scale_factor`` is given, else ``n_in / n_out``;
      with ``align_corners=True`` (linear) ``scale = (n_in - 1) / (n_out - 1)``.
    * nearest: ``src = min(floor(j * scale), n_in - 1)``.
    * linear: ``x = max(scale (j + 0.5) - 0.5, 0)`` (``x = scale j`` if align_corners),
      ``i0 = floor(x)``, ``i1 = min(i0 + 1, n_in - 1)``, weights ``1 - (x - i0)`` and ``x - i0``.

    >>> interpolation_matrix(2, scale_factor=2, mode="linear")
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    """
    n_in = as_size(n_in, "n_in")
    mode = as_choice(mode, "mode", UPSAMPLE_MODES)
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if size is not None:
        n_out = as_size(size, "size")
        scale = n_in / n_out
    else:
        scale_factor = as_real_number(scale_factor, "scale_factor", strict=True)
        n_out = int(np.floor(n_in * scale_factor))
        if n_out < 1:
            raise ValueError(f"n_in * scale_factor = {n_in * scale_factor} gives no output")
        scale = 1.0 / scale_factor
    check_cost(
        f"interpolation_matrix {n_out} x {n_in} (dense)",
        nbytes=8 * n_out * n_in,
        alternative="use torch.nn.functional.interpolate (no matrix)",
    )
    j = np.arange(n_out)
    U = np.zeros((n_out, n_in))
    if mode == "nearest":
        if align_corners:
            raise ValueError("align_corners only applies to linear interpolation")
        src = np.minimum(np.floor(j.astype(np.float32) * np.float32(scale)).astype(int), n_in - 1)
        U[j, src] = 1.0
        return U
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        x = scale * j
    else:
        x = np.maximum(scale * (j + 0.5) - 0.5, 0.0)
    i0 = np.floor(x).astype(int)
    i0 = np.minimum(i0, n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = x - i0
    np.add.at(U, (j, i0), 1 - lam)
    np.add.at(U, (j, i1), lam)
    return U


def upsample_operator(
    in_shape: Sequence[int],
    *,
    scale_factor: float | None = None,
    size: IntOrTuple | None = None,
    mode: str = "nearest",
    align_corners: bool = False,
    dtype: torch.dtype = torch.float64,
    device: Any = None,
) -> LinearMap:
    """``torch.nn.Upsample`` on one example ``(C, L)`` or ``(C, H, W)`` as a ``LinearMap``.

    Forward: ``X -> U_H X U_W^T`` per channel (separable; ``mode`` "nearest", or "linear" /
    "bilinear" for 1D / 2D). Adjoint: ``Y -> U_H^T Y U_W``. Both are einsums with small dense
    matrices, so they run on any device. The adjoint of nearest upsampling by ``r`` is
    *sum* pooling over ``r x r`` blocks (``r^2`` times average pooling).

    >>> A = upsample_operator((1, 2, 2), scale_factor=2, mode="bilinear")
    >>> A.shape
    (16, 4)
    """
    in_shape = as_shape(in_shape, "in_shape")
    device = as_device(device)
    if len(in_shape) not in (2, 3):
        raise ValueError(f"in_shape must be (C, L) or (C, H, W), got {in_shape}")
    nd = len(in_shape) - 1
    mode1 = {"nearest": "nearest", "linear": "linear", "bilinear": "linear"}.get(mode)
    if mode1 is None or (mode == "linear" and nd != 1) or (mode == "bilinear" and nd != 2):
        raise ValueError(
            f"mode must be 'nearest' or {'linear' if nd == 1 else 'bilinear'} for {nd}D, "
            f"got {mode!r}"
        )
    sizes = _tuple(size, "size", nd, 1) if size is not None else (None,) * nd
    Us = [
        torch.as_tensor(
            interpolation_matrix(
                in_shape[1 + j],
                size=sizes[j],
                scale_factor=None if size is not None else scale_factor,
                mode=mode1,
                align_corners=align_corners,
            ),
            dtype=dtype,
            device=device,
        )
        for j in range(nd)
    ]
    out_shape = (in_shape[0], *[U.shape[0] for U in Us])
    if nd == 1:
        (U,) = Us

        def forward(x: torch.Tensor) -> torch.Tensor:
            return torch.einsum("Ll,cl->cL", U, x)

        def adjoint(y: torch.Tensor) -> torch.Tensor:
            return torch.einsum("Ll,cL->cl", U, y)
    else:
        UH, UW = Us

        def forward(x: torch.Tensor) -> torch.Tensor:
            # Y[c, H, W] = sum_{h, w} UH[H, h] X[c, h, w] UW[W, w]
            return torch.einsum("Hh,chw,Ww->cHW", UH, x, UW)

        def adjoint(y: torch.Tensor) -> torch.Tensor:
            # X[c, h, w] = sum_{H, W} UH[H, h] Y[c, H, W] UW[W, w]
            return torch.einsum("Hh,cHW,Ww->chw", UH, y, UW)

    return LinearMap(
        forward,
        adjoint,
        in_shape,
        out_shape,
        backend="torch",
        dtype=dtype,
        device=device,
        name=f"upsample-{mode}",
    )


def _demo() -> None:
    """``python -m convlab.transposed``: the lecture's two examples, checked."""
    f = torch.tensor([[[1.0, 0, -2, 3, 1, 2, -1]]], dtype=torch.float64)
    k = torch.tensor([[[0.5, 1, 0.5]]], dtype=torch.float64)
    y = F.conv1d(f, k, stride=2)
    A = conv_layer_matrix(k, 7, stride=2).toarray()
    print("stride-2 valid conv of 1 0 -2 3 1 2 -1 with 0.5 1 0.5:", y.flatten().tolist())
    print("its 3x7 matrix:\n", A)
    print("A @ f equals conv1d:", np.allclose(A @ f.flatten().numpy(), y.flatten().numpy()))
    Y = torch.tensor([[[[0.0, 1], [2, 3]]]])
    for method in METHODS:
        print(f"{method:>15}:", conv_transpose(Y, Y, stride=2, method=method)[0, 0].tolist())


if __name__ == "__main__":
    _demo()
