"""Every linear operator of convlab, one entry each: the instance list of the property suite.

Meganet's pattern (``kernelTest``: one abstract suite, one instance list): an :class:`Entry`
names an operator, says how to make it in a given dtype, and lists the dtypes it supports.
``tests/test_operator_suite.py`` runs the same checks on every entry (adjoint, a subtly wrong
adjoint that must fail, dense vs action, linearity, autograd's VJP vs the hand-written adjoint)
and compares the pairs in :data:`PAIRS` (two representations of the same operator).

**Adding an operator = adding one ``Entry`` to** :data:`REGISTRY` (and a pair to :data:`PAIRS`
when another module builds the same operator). ``make`` receives a dtype name ("float64",
"float32", "complex128", "complex64") and returns anything :func:`convlab.operators.aslinearmap`
accepts. Sizes are small: the whole suite runs in seconds. For example, the Wiener filter's
``b -> w`` map is ``Entry("wiener.WienerFactor b -> w (2D, cg)", lambda dt:
aslinearmap(WienerFactor(a, ...)))``: a factor converts through its ``as_linear_map()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from convlab import (
    conv,
    fourier,
    inverse,
    matlab,
    parametric,
    pooling,
    representations,
    structured,
)
from convlab import toeplitz as tp
from convlab import transposed as T
from convlab.conv_autograd import periodic_conv
from convlab.operators import LinearMap, aslinearmap, matrix_of
from convlab.wiener import WienerFactor

REAL = ("float64", "float32")
F64 = ("float64",)


@dataclass(frozen=True)
class Entry:
    """One operator instance: ``make(dtype_name)`` returns it (anything aslinearmap accepts)."""

    name: str
    make: Callable[[str], Any]
    dtypes: tuple[str, ...] = REAL

    def build(self, dtype: str) -> LinearMap:
        return aslinearmap(self.make(dtype))


def np_dt(name: str) -> np.dtype:
    return np.dtype(name)


def torch_dt(name: str) -> torch.dtype:
    return getattr(torch, name)


def rand_np(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def rand_t(shape: tuple[int, ...], dtype: str, seed: int) -> torch.Tensor:
    return torch.from_numpy(rand_np(shape, dtype, seed))


def matrix(M: Any, dtype: str, **kw: Any) -> LinearMap:
    """``aslinearmap`` of a numpy/scipy matrix cast to ``dtype``."""
    return aslinearmap(M.astype(np_dt(dtype)), **kw)


_TH3 = np.array([1.0, -2.0, 0.5])
_TH4 = np.array([0.3, 1.0, -2.0, 0.5])
_IMG = np.arange(1.0, 7.0).reshape(2, 3) - 3.5
_MASK = inverse.random_mask((8, 6), 2, 0.25, generator=torch.Generator().manual_seed(0))


def _stencil(dtype: str, L: np.ndarray = _TH3) -> np.ndarray:
    return L.astype(dtype) * (1 + 1j if np.dtype(dtype).kind == "c" else 1)


def _conv_weight(shape: tuple[int, ...], dtype: str) -> torch.Tensor:
    return rand_t(shape, dtype, seed=sum(shape))


def _periodic_conv_pair(theta: torch.Tensor) -> tuple[Callable, Callable]:
    """``y -> K(theta) y`` by the autograd Function; adjoint = the same with the flipped stencil
    (exact for odd stencil sizes), so autograd's VJP (the hand-derived backward) is compared with
    an independent adjoint."""
    flipped = theta.flip(tuple(range(theta.ndim)))
    return (lambda y: periodic_conv(y, theta)), (lambda g: periodic_conv(g, flipped))


def _stride_gram(dt: str) -> LinearMap:
    S = aslinearmap(pooling.stride2d_matrix((4, 4), 2, order="C").astype(dt), in_shape=(4, 4))
    return S.H @ S


REGISTRY: list[Entry] = [
    # -- structured / MATLAB / Toeplitz builders (sparse or dense matrices) -----------------
    *(
        Entry(
            f"structured.conv_matrix {b}",
            lambda dt, b=b: aslinearmap(structured.conv_matrix(_stencil(dt), 9, b)),
            (*REAL, "complex128", "complex64"),
        )
        for b in structured.BOUNDARIES
    ),
    Entry(
        "structured.conv_matrix periodic, even stencil",
        lambda dt: aslinearmap(structured.conv_matrix(_stencil(dt, _TH4), 8, "periodic")),
    ),
    Entry("matlab.convmtx", lambda dt: matrix(matlab.convmtx(_TH3, 6), dt)),
    Entry("matlab.convmtx2", lambda dt: matrix(matlab.convmtx2(_IMG, 3, 4), dt)),
    Entry(
        "toeplitz.full_conv_matrix",
        lambda dt: tp.full_conv_matrix(torch.tensor(_TH4, dtype=torch_dt(dt)), 5),
    ),
    Entry(
        "toeplitz.doubly_blocked_toeplitz",
        lambda dt: tp.doubly_blocked_toeplitz(torch.tensor(_IMG, dtype=torch_dt(dt)), (3, 2)),
    ),
    Entry(
        "scipy LinearOperator of conv_matrix",
        lambda dt: spla.aslinearoperator(structured.conv_matrix(_stencil(dt), 7, "zero")),
    ),
    # -- pooling and strides --------------------------------------------------------------------
    Entry("pooling.stride_matrix", lambda dt: matrix(pooling.stride_matrix(9, 2, offset=1), dt)),
    Entry("pooling.avg_pool_matrix", lambda dt: matrix(pooling.avg_pool_matrix(9, 2), dt)),
    Entry("pooling.stride2d_matrix (F)", lambda dt: matrix(pooling.stride2d_matrix((5, 6), 2), dt)),
    Entry(
        "pooling.avg_pool2d_matrix (C)",
        lambda dt: matrix(
            pooling.avg_pool2d_matrix((4, 6), 2, order="C"), dt, in_shape=(4, 6), out_shape=(2, 3)
        ),
    ),
    Entry(
        "inverse.AveragePool",
        lambda dt: inverse.AveragePool(2).as_linear_map((2, 4, 6), dtype=torch_dt(dt)),
    ),
    # -- periodic convolution operators (conv.py) and their Jacobians ----------------------------
    Entry("conv.Conv1D.K", lambda dt: conv.Conv1D(_TH4.astype(dt), 8).as_linear_map()),
    Entry(
        "conv.Conv1D.K (batch 3)",
        lambda dt: conv.Conv1D(_TH3.astype(dt), 7).as_linear_map(batch=3),
    ),
    Entry(
        "conv.Conv1D.J",
        lambda dt: conv.Conv1D(_TH3.astype(dt), 7, rand_np((3, 7), dt, 1)).jacobian_map(),
    ),
    Entry(
        "conv.Conv1D.J of KT",
        lambda dt: conv.Conv1D(_TH4.astype(dt), 7, rand_np((2, 7), dt, 2)).jacobian_map(of="KT"),
    ),
    Entry("conv.Conv2D.K", lambda dt: conv.Conv2D(rand_np((3, 2), dt, 3), (5, 4)).as_linear_map()),
    Entry(
        "conv.Conv2D.J",
        lambda dt: conv.Conv2D(
            rand_np((3, 3), dt, 4), (4, 5), rand_np((2, 4, 5), dt, 5)
        ).jacobian_map(),
    ),
    Entry(
        "conv.MultiChannelConv2D.K",
        lambda dt: conv.MultiChannelConv2D(rand_np((3, 2, 3, 3), dt, 6), (4, 4)).as_linear_map(),
    ),
    Entry(
        "conv.MultiChannelConv2D.J",
        lambda dt: conv.MultiChannelConv2D(
            rand_np((2, 2, 3, 1), dt, 7), (4, 3), rand_np((2, 2, 4, 3), dt, 8)
        ).jacobian_map(),
    ),
    Entry(
        "conv_autograd.periodic_conv 1D",
        lambda dt: aslinearmap(
            _periodic_conv_pair(torch.tensor(_TH3, dtype=torch_dt(dt))),
            in_shape=(2, 8),
            dtype=torch_dt(dt),
        ),
    ),
    Entry(
        "conv_autograd.periodic_conv 2D",
        lambda dt: aslinearmap(
            _periodic_conv_pair(rand_t((3, 3), dt, 9)), in_shape=(5, 6), dtype=torch_dt(dt)
        ),
    ),
    # -- parametric models: the Jacobians of theta -> K(theta) ------------------------------------
    *(
        Entry(f"parametric.{f.__name__} Jacobian", lambda dt, f=f: f(4).jacobian_map(), F64)
        for f in (parametric.diagonal, parametric.antisymmetric, parametric.m_matrix)
    ),
    Entry(
        "parametric.periodic_conv1d Jacobian",
        lambda dt: parametric.periodic_conv1d(3, 6).jacobian_map(),
        F64,
    ),
    Entry(
        "parametric.compose(periodic_conv2d, doubly_symmetric_Q) Jacobian",
        lambda dt: parametric.compose(
            parametric.periodic_conv2d((3, 3), (4, 5)), parametric.doubly_symmetric_Q((3, 3))
        ).jacobian_map(),
        F64,
    ),
    Entry(
        "parametric.SeparableStencil Jacobian",
        lambda dt: parametric.SeparableStencil(3, 2).jacobian_map([1.0, 2, -1, 0.5, 3]),
        F64,
    ),
    # -- convolution layers, their transposes, upsampling (transposed.py) ------------------------
    Entry(
        "transposed.conv_operator 1D stride 2",
        lambda dt: T.conv_operator(_conv_weight((2, 1, 3), dt), 8, stride=2),
    ),
    *(
        Entry(
            f"transposed.conv_operator 2D s2 p1 d2 ({m})",
            lambda dt, m=m: T.conv_operator(
                _conv_weight((2, 3, 3, 2), dt), (7, 6), stride=2, padding=1, dilation=2, method=m
            ),
        )
        for m in ("fold", "taps", "zero_insertion")
    ),
    Entry(
        "transposed.conv_operator(...).T (transposed convolution)",
        lambda dt: T.conv_operator(_conv_weight((3, 2, 2, 3), dt), (6, 7), stride=(2, 1)).T,
    ),
    Entry(
        "transposed.conv_layer_matrix",
        lambda dt: matrix(
            T.conv_layer_matrix(rand_np((2, 2, 3, 3), "float64", 10), (5, 5), stride=2, padding=1),
            dt,
        ),
    ),
    Entry(
        "transposed.conv_transpose_layer_matrix",
        lambda dt: matrix(
            T.conv_transpose_layer_matrix(
                rand_np((2, 1, 3), "float64", 11), 4, stride=2, output_padding=1
            ),
            dt,
        ),
    ),
    *(
        Entry(
            f"transposed.upsample_operator {mode}",
            lambda dt, mode=mode, shape=shape: T.upsample_operator(
                shape, scale_factor=2, mode=mode, dtype=torch_dt(dt)
            ),
        )
        for mode, shape in (("nearest", (2, 3, 4)), ("bilinear", (1, 3, 4)), ("linear", (2, 5)))
    ),
    Entry(
        "transposed.interpolation_matrix linear, align_corners",
        lambda dt: matrix(T.interpolation_matrix(4, size=7, mode="linear", align_corners=True), dt),
    ),
    # -- inverse problems -------------------------------------------------------------------------
    Entry(
        "inverse.FourierSampling (real images, inner='real')",
        lambda dt: inverse.FourierSampling(_MASK).as_linear_map(dtype=torch_dt(dt)),
    ),
    Entry(
        "inverse.FourierSampling (complex images)",
        lambda dt: inverse.FourierSampling(_MASK).as_linear_map(
            dtype=torch_dt(dt), complex_input=True
        ),
        ("complex128", "complex64"),
    ),
    Entry(
        "inverse.Radon",
        lambda dt: inverse.Radon([0.0, 30.0, 100.0], 7).as_linear_map(dtype=torch_dt(dt)),
    ),
    # -- the Wiener filter's b -> w map (notebook 06) ---------------------------------------------
    # "cg" stores no W at any size, so the suite tests the written-out adjoint P_win A R^{-1}
    # against autograd through the solve; tol=1e-14 makes CG exact to the suite's 1e-12. Seed 16:
    # the two largest singular values are 12% apart, so the suite's power-iteration norm is quick.
    Entry(
        "wiener.WienerFactor b -> w (2D, cg)",
        lambda dt: aslinearmap(
            WienerFactor(rand_t((2, 4, 5), dt, 16), (3, 2), dim=2, solver="cg", tol=1e-14)
        ),
    ),
    # "gs" in 2D: the block inverse; at this size the factor stores W (from block solves), so the
    # suite checks W and W^T (tests/test_wiener.py checks the unstored path's adjoint)
    Entry(
        "wiener.WienerFactor b -> w (2D, gs)",
        lambda dt: aslinearmap(WienerFactor(rand_t((2, 4, 5), dt, 16), (3, 2), dim=2, solver="gs")),
    ),
    # -- the filter bank of notebook 09 -----------------------------------------------------------
    Entry(
        "representations.filter_bank_operator",
        lambda dt: representations.filter_bank_operator(
            representations.filter_bank("oriented", size=5), (6, 7)
        ),
        F64,
    ),
    # -- algebra of LinearMaps ---------------------------------------------------------------------
    Entry(
        "composition: stride o Conv1D (a strided convolution)",
        lambda dt: (
            aslinearmap(pooling.stride_matrix(8, 2).astype(dt))
            @ conv.Conv1D(_TH3.astype(dt), 8).as_linear_map()
        ),
    ),
    Entry(
        "sum and scalar: 2 Conv2D - S^T S (S = stride 2)",
        lambda dt: (
            2 * conv.Conv2D(rand_np((3, 3), dt, 12), (4, 4)).as_linear_map() - _stride_gram(dt)
        ),
    ),
]


def _by_name() -> dict[str, Entry]:
    names = [e.name for e in REGISTRY]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate registry names {dup}"
    return {e.name: e for e in REGISTRY}


BY_NAME = _by_name()


def flip_all(a: np.ndarray) -> np.ndarray:
    return a[(slice(None, None, -1),) * a.ndim]


def perm_F_to_C(shape: tuple[int, ...]) -> sp.csr_array:
    """``P`` with ``P @ x.ravel(order="F") == x.ravel()`` for ``x`` of ``shape``."""
    idx = np.arange(int(np.prod(shape))).reshape(shape, order="F").ravel()
    n = idx.size
    return sp.csr_array((np.ones(n), (np.arange(n), idx)), shape=(n, n))


def circular_pad_matrix(shape: tuple[int, ...], before: tuple[int, ...], after: tuple[int, ...]):
    """The matrix of ``np.pad(x, mode="wrap")`` (row-major), by probing."""
    return matrix_of(lambda x: np.pad(x, list(zip(before, after)), mode="wrap"), shape)


@dataclass(frozen=True)
class Pair:
    """Two representations of one operator: ``a()`` and ``b()`` return matrices (dense) that
    must agree; ``convention`` states what had to be converted between them."""

    name: str
    a: Callable[[], Any]
    b: Callable[[], Any]
    convention: str


def _dense(obj: Any) -> np.ndarray:
    A = aslinearmap(obj)
    return np.asarray(A.to_dense())


_W2 = rand_np((2, 3, 3, 2), "float64", 13)
_TH2D = rand_np((3, 4), "float64", 14)


def _conv2d_via_layer(theta: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Periodic convolution = torch-style correlation with the flipped stencil on the
    circularly padded image: pad ``L - 1 - L//2`` before and ``L//2`` after."""
    L = theta.shape
    before = tuple(Lk - 1 - Lk // 2 for Lk in L)
    after = tuple(Lk // 2 for Lk in L)
    padded = tuple(n + b + a for n, b, a in zip(shape, before, after))
    C = T.conv_layer_matrix(flip_all(theta)[None, None], padded)
    return C @ circular_pad_matrix(shape, before, after)


PAIRS: list[Pair] = [
    Pair(
        "pooling.avg_pool2d_matrix (C) vs inverse.AveragePool",
        lambda: pooling.avg_pool2d_matrix((4, 6), 2, order="C"),
        lambda: inverse.AveragePool(2).as_linear_map((4, 6)),
        "same operator; avg_pool2d_matrix defaults to column-major (order='F'), AveragePool "
        "is row-major",
    ),
    Pair(
        "pooling.avg_pool2d_matrix (F) vs inverse.AveragePool, permuted",
        lambda: pooling.avg_pool2d_matrix((4, 6), 2),
        lambda: (
            perm_F_to_C((2, 3)).T
            @ _dense(inverse.AveragePool(2).as_linear_map((4, 6)))
            @ perm_F_to_C((4, 6))
        ),
        "default orders differ: the F-order matrix is P_out^T (C-order matrix) P_in, with "
        "P x.ravel(order='F') = x.ravel()",
    ),
    Pair(
        "inverse.AveragePool(2).T vs transposed.upsample_operator nearest / 4",
        lambda: inverse.AveragePool(2).as_linear_map((1, 4, 6)).T,
        lambda: 0.25 * T.upsample_operator((1, 2, 3), scale_factor=2, mode="nearest"),
        "the adjoint of r x r average pooling is nearest upsampling divided by r^2",
    ),
    Pair(
        "pooling.avg_pool_matrix vs torch avg_pool1d (probed)",
        lambda: pooling.avg_pool_matrix(9, 2),
        lambda: matrix_of(
            lambda x: torch.nn.functional.avg_pool1d(x[None], 2)[0, 0], (1, 9), backend="torch"
        ),
        "floor mode: the trailing incomplete patch is dropped in both",
    ),
    Pair(
        "pooling.stride2d_matrix vs transposed.conv_layer_matrix (delta kernel, stride)",
        lambda: pooling.stride2d_matrix((5, 6), 2, order="C"),
        lambda: T.conv_layer_matrix(np.ones((1, 1, 1, 1)), (5, 6), stride=2),
        "stride = a 1x1 convolution with stride s",
    ),
    Pair(
        "conv.Conv1D vs structured.conv_matrix periodic",
        lambda: conv.Conv1D(_TH4, 8).as_linear_map(),
        lambda: structured.conv_matrix(_TH4, 8, "periodic"),
        "both convolution, centre L//2, periodic",
    ),
    Pair(
        "conv.Conv1D vs parametric.periodic_conv1d",
        lambda: conv.Conv1D(_TH4, 8).as_linear_map(),
        lambda: parametric.periodic_conv1d(4, 8).K(_TH4),
        "K(theta) = mat(Q theta) (column-major vec, same matrix)",
    ),
    Pair(
        "conv.Conv1D vs fourier.circulant_matvec",
        lambda: conv.Conv1D(_TH3, 7).as_linear_map(),
        lambda: aslinearmap(
            (
                lambda y: fourier.circulant_matvec(_TH3, y),
                lambda z: fourier.circulant_matvec(_TH3, z, transpose=True),
            ),
            in_shape=7,
        ),
        "both by FFT of the circshifted stencil",
    ),
    Pair(
        "conv_autograd.periodic_conv 1D vs conv.Conv1D",
        lambda: aslinearmap(
            _periodic_conv_pair(torch.tensor(_TH3)), in_shape=(7,), dtype=torch.float64
        ),
        lambda: conv.Conv1D(_TH3, 7).as_linear_map(),
        "torch rfft and numpy fft of the same circshifted stencil",
    ),
    Pair(
        "conv_autograd.periodic_conv 2D vs conv.Conv2D.matrix (C)",
        lambda: aslinearmap(
            _periodic_conv_pair(torch.from_numpy(_TH2D)), in_shape=(5, 6), dtype=torch.float64
        ),
        lambda: conv.Conv2D(_TH2D, (5, 6)).matrix(order="C"),
        "row-major images; an even stencil dimension (4) included",
    ),
    Pair(
        "conv.Conv2D.matrix (C) vs layer matrix of the flipped stencil, circular padding",
        lambda: conv.Conv2D(_TH2D, (5, 6)).matrix(order="C"),
        lambda: _conv2d_via_layer(_TH2D, (5, 6)),
        "Conv2D is a convolution (periodic); conv_layer_matrix is torch's correlation with "
        "zero padding: flip the stencil, pad circularly L-1-L//2 before and L//2 after",
    ),
    Pair(
        "conv.Conv2D.matrix (F) vs parametric.periodic_conv2d",
        lambda: conv.Conv2D(_TH2D, (5, 6)).matrix(),
        lambda: parametric.periodic_conv2d((3, 4), (5, 6)).K(_TH2D.ravel(order="F")),
        "both column-major (MATLAB Y(:)); theta vectorised column-major",
    ),
    Pair(
        "conv.Conv2D.as_linear_map vs Conv2D.matrix(order='C')",
        lambda: conv.Conv2D(_TH2D, (5, 6)).as_linear_map(),
        lambda: conv.Conv2D(_TH2D, (5, 6)).matrix(order="C"),
        "FFT action vs index-arithmetic BCCB (row-major)",
    ),
    Pair(
        "conv.MultiChannelConv2D.matrix (C) vs its FFT action",
        lambda: conv.MultiChannelConv2D(_W2, (4, 5)).matrix(order="C"),
        lambda: conv.MultiChannelConv2D(_W2, (4, 5)).as_linear_map(),
        "channel blocks, row-major images",
    ),
    Pair(
        "representations.filter_bank_operator vs stacked Conv2D matrices",
        lambda: representations.filter_bank_operator(
            representations.filter_bank("derivatives", size=3), (5, 4)
        ),
        lambda: sp.vstack(
            [
                conv.Conv2D(f.numpy(), (5, 4)).matrix(order="C")
                for f in representations.filter_bank("derivatives", size=3)
            ]
        ),
        "both periodic convolution, centre tap; row-major",
    ),
    *(
        Pair(
            f"structured.conv_matrix {b}: method '{m}' vs 'index'",
            lambda b=b, m=m: structured.conv_matrix(_TH4, 7, b, method=m),
            lambda b=b: structured.conv_matrix(_TH4, 7, b),
            "the lecture's builders (MATLAB spdiags, a loop) and the vectorised one",
        )
        for b in structured.BOUNDARIES
        for m in ("spdiags", "loop")
    ),
    *(
        Pair(
            f"toeplitz.full_conv_matrix method '{m}' vs 'index'",
            lambda m=m: tp.full_conv_matrix(torch.tensor(_TH4), 3, method=m),
            lambda: tp.full_conv_matrix(torch.tensor(_TH4), 3),
            "the lecture's two methods and the vectorised one",
        )
        for m in ("loop", "roll")
    ),
    Pair(
        "matlab.convmtx vs toeplitz.full_conv_matrix",
        lambda: matlab.convmtx(_TH4, 5),
        lambda: tp.full_conv_matrix(torch.tensor(_TH4), 5),
        "identical: A @ x == conv(h, x, 'full')",
    ),
    Pair(
        "matlab.convmtx vs transposed.conv_layer_matrix (flipped, padding k-1)",
        lambda: matlab.convmtx(_TH4, 5),
        lambda: T.conv_layer_matrix(flip_all(_TH4)[None, None], 5, padding=3),
        "full convolution = correlation with the flipped kernel and padding k - 1",
    ),
    Pair(
        "matlab.convmtx2 vs toeplitz.doubly_blocked_toeplitz, permuted",
        lambda: matlab.convmtx2(_IMG, 3, 4),
        lambda: (
            perm_F_to_C((4, 6)).T
            @ tp.doubly_blocked_toeplitz(torch.tensor(_IMG), (3, 4)).numpy()
            @ perm_F_to_C((3, 4))
        ),
        "convmtx2(H, m, n) is column-major; doubly_blocked_toeplitz(H, (m, n)) row-major "
        "(conv2 is commutative)",
    ),
    Pair(
        "structured.conv_matrix zero vs transposed.conv_layer_matrix (flipped, padding L//2)",
        lambda: structured.conv_matrix(_TH3, 7, "zero"),
        lambda: T.conv_layer_matrix(flip_all(_TH3)[None, None], 7, padding=1),
        "odd L: correlation with the flipped stencil and padding L//2",
    ),
    Pair(
        "structured.conv_matrix zero vs rows L//2 .. L//2 + n - 1 of matlab.convmtx",
        lambda: structured.conv_matrix(_TH4, 7, "zero"),
        lambda: matlab.convmtx(_TH4, 7)[[2, 3, 4, 5, 6, 7, 8]],
        "'same' is the centred part of 'full' (start L//2 = 2)",
    ),
    Pair(
        "matlab.convmtx vs transposed.conv_transpose_layer_matrix (stride 1)",
        lambda: matlab.convmtx(_TH4, 5),
        lambda: T.conv_transpose_layer_matrix(_TH4[None, None], 5),
        "a stride-1, unpadded transposed convolution is a full convolution",
    ),
    Pair(
        "structured.conv_matrix zero vs matlab.conv 'same'",
        lambda: structured.conv_matrix(_TH4, 7, "zero"),
        lambda: aslinearmap(
            (
                lambda y: matlab.conv(y, _TH4, "same"),
                lambda z: z,  # adjoint unused: only the matrix is compared
            ),
            in_shape=7,
        ),
        "even stencil: MATLAB 'same' centring (start floor(L/2)) = centre L//2",
    ),
    Pair(
        "structured.conv_matrix valid vs matlab.conv 'valid'",
        lambda: structured.conv_matrix(_TH4, 7, "valid"),
        lambda: aslinearmap(((lambda y: matlab.conv(y, _TH4, "valid")), (lambda z: z)), in_shape=7),
        "identical",
    ),
    Pair(
        "transposed.conv_operator vs conv_layer_matrix",
        lambda: T.conv_operator(torch.from_numpy(_W2), (7, 6), stride=2, padding=1, dilation=2),
        lambda: T.conv_layer_matrix(_W2, (7, 6), stride=2, padding=1, dilation=2),
        "F.conv2d (correlation) and its index formula",
    ),
    Pair(
        "transposed.conv_operator(...).T vs conv_transpose_layer_matrix",
        lambda: T.conv_operator(torch.from_numpy(_W2), (8, 7), stride=2).T,
        lambda: T.conv_transpose_layer_matrix(
            _W2,
            (3, 3),
            stride=2,
            output_padding=(T.adjoint_output_padding(8, 3, 2), T.adjoint_output_padding(7, 2, 2)),
        ),
        "the adjoint is conv_transpose with output_padding (n + 2p - d(k-1) - 1) mod s = (1, 0)",
    ),
    *(
        Pair(
            f"transposed.conv_operator(method={m!r}).T vs F.conv_transpose2d",
            lambda m=m: T.conv_operator(torch.from_numpy(_W2), (6, 7), stride=2, method=m).T,
            lambda: T.conv_operator(torch.from_numpy(_W2), (6, 7), stride=2, method="torch").T,
            "the lecture's loop, the tap scatter, fold (col2im), zero insertion and the library",
        )
        for m in ("loop", "taps", "fold", "zero_insertion")
    ),
    Pair(
        "transposed.upsample_operator bilinear vs kron(interpolation matrices)",
        lambda: T.upsample_operator((1, 3, 4), scale_factor=2, mode="bilinear"),
        lambda: np.kron(
            T.interpolation_matrix(3, scale_factor=2, mode="linear"),
            T.interpolation_matrix(4, scale_factor=2, mode="linear"),
        ),
        "separable, row-major: kron(U_H, U_W)",
    ),
    Pair(
        "transposed.upsample_operator nearest vs torch.nn.Upsample (probed)",
        lambda: T.upsample_operator((2, 3, 4), scale_factor=2, mode="nearest"),
        lambda: matrix_of(
            torch.nn.Upsample(scale_factor=2, mode="nearest"), (2, 3, 4), batched=True
        ),
        "identical",
    ),
    *(
        Pair(
            f"inverse.upsample {mode} vs transposed.upsample_operator (probed)",
            lambda mode=mode: matrix_of(lambda y: inverse.upsample(y, 2, mode), (3, 4)),
            lambda mode=mode: T.upsample_operator((1, 3, 4), scale_factor=2, mode=mode),
            "both F.interpolate, align_corners=False (inverse.upsample has no adjoint of its own)",
        )
        for mode in ("nearest", "bilinear")
    ),
    Pair(
        "inverse.Radon vs aslinearmap(radon_matrix)",
        lambda: inverse.Radon([0.0, 30.0, 100.0], 7).as_linear_map(),
        lambda: inverse.radon_matrix([0.0, 30.0, 100.0], 7),
        "torch sparse action vs the scipy matrix (row-major sinogram d * n_angles + a)",
    ),
    Pair(
        "inverse.FourierSampling (complex) vs masked unitary DFT matrix",
        lambda: inverse.FourierSampling(_MASK).as_linear_map(
            dtype=torch.complex128, complex_input=True
        ),
        lambda: (
            np.diag(_MASK.numpy().ravel().astype(float))
            @ np.kron(
                np.fft.fft(np.eye(8), norm="ortho"),
                np.fft.fft(np.eye(6), norm="ortho"),
            )
        ),
        "A = diag(M) (F_H kron F_W), row-major, norm='ortho'",
    ),
]
