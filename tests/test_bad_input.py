"""Bad-input battery: every public callable of the validated modules, probed as a careful user.

Each probe replaces one argument of a valid call by a variant and requires either

* a clear error: ``TypeError`` or ``ValueError`` (``CostLimitError`` is both) whose message names
  the argument (as a word), raised in well under a second for huge sizes and without
  allocating; or
* for variants that mean the same thing (a numpy scalar for a Python number, a tensor that
  requires grad, a list for an array, numpy for torch), the same result as the valid call.

Anything else (an ``AssertionError``, ``IndexError``, numpy's or torch's own errors, a result for
input that means nothing) fails. ``python tests/test_bad_input.py --measure`` runs every probe in
a forked child limited to 4 GiB and 5 s and prints how many get each outcome (used to measure
the battery before and after the validation work).
"""

from __future__ import annotations

import math
import re
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
import pytest
import scipy.sparse as sp
import torch

matplotlib.use("Agg")

from convlab import (
    conv_autograd,
    data,
    fourier,
    inverse,
    matlab,
    parametric,
    plotting,
    structured,
    toeplitz,
    transposed,
)

HUGE = 10**12


def gen() -> torch.Generator:
    """A fresh seeded generator; passed as ``gen`` in a Spec, it is made anew for every call."""
    return torch.Generator().manual_seed(0)


# --------------------------------------------------------------------------------------------
# variants of an argument: ("bad", value) must be refused; ("same", value) must equal the base
# --------------------------------------------------------------------------------------------

BAD_SIZE = [0, -1, 2.5, True, "3", None]
BAD_SIZE_ALLOW0 = [-1, 2.5, True, "3", None]


def size(
    v: int, *, zero_ok: bool = False, huge: bool = False, none_ok: bool = False
) -> list[tuple[str, Any]]:
    out = [
        ("bad", b)
        for b in (BAD_SIZE_ALLOW0 if zero_ok else BAD_SIZE)
        if b is not None or not none_ok
    ]
    out.append(("same", np.int64(v)))
    if huge:
        out.append(("huge", HUGE))
    return out


def real(v: float, *, bad: tuple = (math.nan, math.inf, -1.0, True, "0.5")) -> list:
    return [("bad", b) for b in bad] + [("same", np.float32(v) if v == np.float32(v) else v)]


def choice() -> list:
    return [("bad", "no-such-option"), ("bad", 3)]


def shape(v: tuple[int, ...], *, huge: bool = False) -> list:
    out = [("bad", b) for b in ((0,) * len(v), tuple(-1 for _ in v), (2.5,) * len(v), "ab")]
    out += [("bad", b) for b in ((True,) * len(v),)]
    out.append(("same", tuple(np.int64(s) for s in v)))
    if huge:
        out.append(("huge", (HUGE,) * len(v)))
    return out


def array(
    v: Any,
    *,
    torch_ok: bool = True,
    numpy_ok: bool = True,
    finite: bool = True,
    empty_ok: bool = False,
) -> list:
    """Variants of a numeric array argument ``v`` (numpy array or tensor).

    ``finite=False``: data passed through an operator, where NaN and inf propagate as in IEEE
    arithmetic (MATLAB, numpy, torch); operator parameters (stencils, weights, images whose
    range is part of the contract) must be finite. ``empty_ok``: an empty input has a
    meaningful (empty) result.
    """
    t = torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v
    a = t.detach().numpy()
    out: list[tuple[str, Any]] = [
        ("bad", np.array(["a"] * max(a.size, 1))),
        ("bad", None),
    ]
    if not empty_ok:
        out.append(("bad", np.zeros((0,) * max(a.ndim, 1))))
    if a.dtype.kind == "f":
        nan = a.copy()
        nan.flat[0] = np.nan
        inf = a.copy()
        inf.flat[-1] = np.inf
        for x in (nan, inf):
            x = x if not isinstance(v, torch.Tensor) else torch.from_numpy(x)
            out.append(("bad" if finite else "any", x))
    if a.dtype.kind == "f":
        rg = t.detach().clone().requires_grad_(True)
        if isinstance(v, torch.Tensor) or torch_ok:
            out.append(("same", rg))
    if isinstance(v, torch.Tensor):
        if numpy_ok:
            out.append(("same", a.copy()))
    else:
        out.append(("same", a.tolist()))
        if torch_ok:
            out.append(("same", torch.from_numpy(a.copy())))
    return out


def device_variant() -> list:
    return [] if torch.cuda.is_available() else [("bad", "cuda")]


@dataclass
class Spec:
    """A valid call ``fn(*pos, **kw)`` and the variants of each argument."""

    name: str
    fn: Any
    kw: dict[str, Any]
    variants: dict[str, list[tuple[str, Any]]]
    pos: tuple[str, ...] = ()  # names passed positionally (positional-only parameters)
    result: Any = field(default=None, repr=False)

    def call(self, **over: Any) -> Any:
        kw = {k: (v() if v is gen else v) for k, v in {**self.kw, **over}.items()}
        args = [kw.pop(k) for k in self.pos]
        return self.fn(*args, **kw)


def _img(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=gen(), dtype=torch.float64)


THETA = np.array([1.0, -2.0, 0.5])
W1 = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 1, 3)))
W2 = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 1, 3, 3)))
MASK = torch.rand(8, 8, generator=gen()) < 0.5
SPARSE = sp.random_array((6, 5), density=0.5, rng=0, format="csr")

SPECS = [
    # ---- matlab
    Spec(
        "matlab.conv",
        matlab.conv,
        {"u": np.arange(5.0), "v": THETA, "shape": "same"},
        {
            "u": array(np.arange(5.0), finite=False),
            "v": array(THETA, finite=False),
            "shape": choice(),
        },
    ),
    Spec(
        "matlab.conv2",
        matlab.conv2,
        {"A": np.ones((4, 5)), "B": np.ones((2, 3)), "shape": "same"},
        {
            "A": array(np.ones((4, 5)), finite=False),
            "B": array(np.ones((2, 3)), finite=False),
            "shape": choice(),
        },
    ),
    Spec(
        "matlab.convmtx",
        matlab.convmtx,
        {"h": THETA, "n": 4},
        {"h": array(THETA, finite=False), "n": size(4, huge=True)},
    ),
    Spec(
        "matlab.convmtx2",
        matlab.convmtx2,
        {"H": np.ones((2, 3)), "m": 4, "n": 5},
        {
            "H": array(np.ones((2, 3)), finite=False),
            "m": size(4, huge=True),
            "n": size(5, huge=True),
        },
    ),
    Spec(
        "matlab.spdiags_build",
        matlab.spdiags_build,
        {"B": np.ones((4, 2)), "d": np.array([0, 1]), "m": 4, "n": 4},
        {
            "B": array(np.ones((4, 2)), finite=False),
            "m": size(4, zero_ok=True, huge=True),
            "n": size(4, zero_ok=True, huge=True),
        },
    ),
    Spec(
        "matlab.spdiags_extract",
        matlab.spdiags_extract,
        {"A": np.eye(4), "d": np.array([0])},
        {"A": array(np.eye(4), finite=False, empty_ok=True)},
    ),
    Spec(
        "matlab.circshift",
        matlab.circshift,
        {"x": np.arange(5.0), "n": 2},
        {
            "x": array(np.arange(5.0), finite=False, empty_ok=True),
            "n": [("bad", 2.5), ("bad", "1"), ("same", np.int64(2))],
        },
    ),
    # ---- structured
    Spec(
        "structured.conv_matrix",
        structured.conv_matrix,
        {"theta": THETA, "n": 6, "boundary": "periodic"},
        {"theta": array(THETA), "n": size(6, huge=True), "boundary": choice()},
    ),
    Spec(
        "structured.output_length",
        structured.output_length,
        {"n": 6, "L": 3, "boundary": "valid"},
        {"n": size(6), "L": size(3), "boundary": choice()},
    ),
    # ---- fourier
    Spec(
        "fourier.circulant_eigenvalues",
        fourier.circulant_eigenvalues,
        {"theta": THETA, "n": 8},
        {"theta": array(THETA), "n": size(8, huge=True)},
    ),
    Spec(
        "fourier.circulant_first_column",
        fourier.circulant_first_column,
        {"theta": THETA, "n": 8},
        {"theta": array(THETA), "n": size(8, huge=True)},
    ),
    Spec(
        "fourier.circulant_matvec",
        fourier.circulant_matvec,
        {"theta": THETA, "y": np.arange(8.0)},
        {
            "theta": array(THETA),
            "y": array(np.arange(8.0), finite=False),
            "axis": [("bad", 2.5), ("bad", 5)],
        },
    ),
    # ---- toeplitz
    Spec(
        "toeplitz.full_conv_matrix",
        toeplitz.full_conv_matrix,
        {"x": torch.tensor([1.0, 2.0, 3.0]), "m": 2},
        {
            "x": [*array(torch.tensor([1.0, 2.0, 3.0])), ("huge", torch.zeros(100000))],
            "m": size(2, huge=True, none_ok=True),
            "method": choice(),
        },
    ),
    Spec(
        "toeplitz.doubly_blocked_toeplitz",
        toeplitz.doubly_blocked_toeplitz,
        {"a": torch.ones(3, 4), "filter_shape": (2, 2)},
        {
            "a": [*array(torch.ones(3, 4)), ("huge", torch.zeros(200, 200))],
            "filter_shape": shape((2, 2), huge=True),
            "method": choice(),
        },
    ),
    # ---- parametric
    Spec("parametric.diagonal", parametric.diagonal, {"n": 4}, {"n": size(4, huge=True)}),
    Spec("parametric.antisymmetric", parametric.antisymmetric, {"n": 4}, {"n": size(4, huge=True)}),
    Spec("parametric.m_matrix", parametric.m_matrix, {"n": 4}, {"n": size(4, huge=True)}),
    Spec(
        "parametric.periodic_conv1d",
        parametric.periodic_conv1d,
        {"L": 3, "n": 6},
        {"L": size(3), "n": size(6, huge=True)},
    ),
    Spec(
        "parametric.periodic_conv2d",
        parametric.periodic_conv2d,
        {"kernel_shape": (3, 3), "image_shape": (5, 6)},
        {"kernel_shape": shape((3, 3)), "image_shape": shape((5, 6), huge=True)},
    ),
    Spec(
        "parametric.conv1d_first_column_Q",
        parametric.conv1d_first_column_Q,
        {"L": 3, "n": 6},
        {"L": size(3), "n": size(6, huge=True)},
    ),
    Spec(
        "parametric.conv2d_first_column_Q",
        parametric.conv2d_first_column_Q,
        {"kernel_shape": (3, 3), "image_shape": (5, 6)},
        {"kernel_shape": shape((3, 3)), "image_shape": shape((5, 6), huge=True)},
    ),
    Spec(
        "parametric.doubly_symmetric_Q",
        parametric.doubly_symmetric_Q,
        {"kernel_shape": (3, 3)},
        {"kernel_shape": shape((3, 3), huge=True)},
    ),
    Spec(
        "parametric.stencil_parameter_counts",
        parametric.stencil_parameter_counts,
        {"kernel_shape": (3, 3)},
        {"kernel_shape": shape((3, 3))},
    ),
    Spec(
        "parametric.SeparableStencil",
        parametric.SeparableStencil,
        {"L1": 3, "L2": 2},
        {"L1": size(3), "L2": size(2)},
    ),
    Spec(
        "parametric.vec",
        parametric.vec,
        {"A": np.arange(6.0).reshape(2, 3)},
        {"A": array(np.arange(6.0).reshape(2, 3), finite=False, empty_ok=True)},
    ),
    Spec(
        "parametric.mat",
        parametric.mat,
        {"x": np.arange(6.0), "shape": (2, 3)},
        {"x": array(np.arange(6.0), finite=False), "shape": shape((2, 3))},
    ),
    Spec(
        "parametric.ParametricModel.K",
        lambda theta: parametric.m_matrix(3).K(theta),
        {"theta": np.arange(6.0)},
        {"theta": array(np.arange(6.0))},
    ),
    Spec(
        "parametric.ParametricModel.jvp",
        lambda v: parametric.m_matrix(3).jvp(v),
        {"v": np.arange(6.0)},
        {"v": array(np.arange(6.0), finite=False)},
    ),
    Spec(
        "parametric.ParametricModel.vjp",
        lambda W: parametric.m_matrix(3).vjp(W),
        {"W": np.ones((3, 3))},
        {"W": array(np.ones((3, 3)), finite=False)},
    ),
    # ---- data
    Spec(
        "data.load_image",
        data.load_image,
        {"name": "camera", "size": 16},
        {"name": [("bad", "no-such-image"), ("bad", 3)], "size": size(16, huge=True, none_ok=True)},
    ),
    Spec(
        "data.random_patches",
        data.random_patches,
        {"images": [np.ones((16, 16))], "n": 3, "size": 8, "generator": gen},
        {"n": size(3, huge=True), "size": size(8), "generator": [("bad", 0)]},
    ),
    Spec(
        "data.gaussian_noise",
        data.gaussian_noise,
        {"x": _img(1, 1, 4, 4), "sigma": 0.1, "generator": gen},
        {"x": array(_img(1, 1, 4, 4), numpy_ok=False), "sigma": real(0.1)},
    ),
    Spec(
        "data.poisson_noise",
        data.poisson_noise,
        {"x": _img(1, 1, 4, 4), "peak": 10.0, "generator": gen},
        {"x": array(_img(1, 1, 4, 4), numpy_ok=False), "peak": [*real(10.0), ("bad", 1e20)]},
    ),
    Spec(
        "data.block_dropout",
        data.block_dropout,
        {"x": _img(1, 1, 8, 8), "block": 2, "fraction": 0.25, "generator": gen},
        {
            "x": array(_img(1, 1, 8, 8), numpy_ok=False),
            "block": size(2),
            "fraction": [*real(0.25), ("bad", 2.0)],
        },
    ),
    Spec(
        "data.corrupt",
        data.corrupt,
        {"x": _img(1, 1, 8, 8), "kind": "gaussian", "level": 0.1, "generator": gen},
        {"x": array(_img(1, 1, 8, 8), numpy_ok=False), "kind": choice(), "level": real(0.1)},
    ),
    Spec(
        "data.psnr",
        data.psnr,
        {"x": _img(1, 1, 8, 8), "ref": _img(1, 1, 8, 8) * 0.5},
        {
            "x": array(_img(1, 1, 8, 8), numpy_ok=False),
            "ref": array(_img(1, 1, 8, 8) * 0.5, numpy_ok=False),
            "data_range": real(1.0, bad=(math.nan, math.inf, 0.0, -1.0, True)),
        },
    ),
    Spec(
        "data.ssim",
        data.ssim,
        {"x": _img(1, 1, 16, 16), "ref": _img(1, 1, 16, 16) * 0.5},
        {
            "x": array(_img(1, 1, 16, 16), numpy_ok=False),
            "data_range": real(1.0, bad=(math.nan, math.inf, 0.0, -1.0, True)),
        },
    ),
    Spec(
        "data.augment",
        data.augment,
        {"batch": _img(2, 1, 4, 4), "generator": gen},
        {"batch": array(_img(2, 1, 4, 4), numpy_ok=False, finite=False, empty_ok=True)},
    ),
    # ---- inverse
    Spec("inverse.AveragePool", inverse.AveragePool, {"r": 2}, {"r": size(2)}),
    Spec(
        "inverse.AveragePool.output_shape",
        lambda shape: inverse.AveragePool(2).output_shape(shape),
        {"shape": (1, 6, 4)},
        {"shape": shape((1, 6, 4))},
    ),
    Spec(
        "inverse.AveragePool.forward",
        lambda x: inverse.AveragePool(2).forward(x),
        {"x": _img(1, 4, 4)},
        {"x": array(_img(1, 4, 4), finite=False)},
    ),
    Spec(
        "inverse.upsample",
        inverse.upsample,
        {"y": _img(1, 1, 4, 4), "r": 2},
        {"y": array(_img(1, 1, 4, 4), finite=False), "r": size(2, huge=True), "mode": choice()},
    ),
    Spec(
        "inverse.super_resolution_input",
        inverse.super_resolution_input,
        {"x": _img(1, 1, 4, 4), "r": 2},
        {"x": array(_img(1, 1, 4, 4), finite=False), "r": size(2), "mode": choice()},
    ),
    Spec(
        "inverse.FourierSampling",
        lambda mask: inverse.FourierSampling(mask).forward(_img(8, 8)),
        {"mask": MASK},
        {"mask": [("bad", MASK.double()), ("bad", None), ("same", MASK.numpy())]},
    ),
    Spec(
        "inverse.random_mask",
        inverse.random_mask,
        {"shape": (8, 8), "acceleration": 2, "center_fraction": 0.25, "generator": gen},
        {
            "shape": shape((8, 8), huge=True),
            "acceleration": [*real(2.0), ("bad", 0.5)],
            "center_fraction": [*real(0.25), ("bad", 2.0)],
            "generator": [("bad", 0)],
        },
    ),
    Spec("inverse.circle_mask", inverse.circle_mask, {"size": 5}, {"size": size(5, huge=True)}),
    Spec(
        "inverse.radon_matrix",
        inverse.radon_matrix,
        {"theta": np.array([0.0, 45.0, 90.0]), "size": 6},
        {
            "theta": array(np.array([0.0, 45.0, 90.0])),
            "size": [*size(6), ("huge", 2**15), ("huge", HUGE)],
        },
    ),
    Spec(
        "inverse.Radon",
        lambda theta, size: inverse.Radon(theta, size).forward(_img(size, size)),
        {"theta": np.array([0.0, 90.0]), "size": 4},
        {"theta": array(np.array([0.0, 90.0])), "size": size(4)},
    ),
    Spec(
        "inverse.fbp",
        inverse.fbp,
        {"sinogram": _img(6, 2), "theta": np.array([0.0, 90.0]), "size": 6},
        {
            "sinogram": array(_img(6, 2), finite=False),
            "theta": array(np.array([0.0, 90.0])),
            "size": size(6),
        },
    ),
    Spec(
        "inverse.sparse_view_fbp",
        inverse.sparse_view_fbp,
        {"x": _img(1, 1, 8, 8), "n_angles": 4},
        {"x": array(_img(1, 1, 8, 8), finite=False), "n_angles": size(4, huge=True)},
    ),
    # ---- plotting
    Spec(
        "plotting.spy",
        lambda A, values=None: plotting.spy(A, values=values) and None,
        {"A": SPARSE},
        {
            "A": [
                ("bad", None),
                ("bad", "A"),
                ("bad", np.zeros((0, 3))),
                ("bad", np.ones(3)),
                ("same", SPARSE.toarray()),
                ("same", torch.from_numpy(SPARSE.toarray())),
                ("same", sp.eye_array(10**6, format="csr")),
            ],
            "values": [("bad", "yes")],
        },
    ),
    Spec(
        "plotting.plot_eigenvalues",
        lambda sets, labels=None: plotting.plot_eigenvalues(sets, labels=labels) and None,
        {"sets": np.fft.fft(THETA)},
        {
            "sets": [("bad", np.zeros(0)), ("bad", None), ("bad", np.array(["a"]))],
            "labels": [("bad", ["a", "b"]), ("bad", 3)],
        },
    ),
    # ---- conv_autograd
    Spec(
        "conv_autograd.periodic_conv",
        conv_autograd.periodic_conv,
        {"y": _img(2, 8), "theta": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)},
        {
            "y": array(_img(2, 8), numpy_ok=False, finite=False),
            "theta": [
                *array(
                    torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64),
                    numpy_ok=False,
                    finite=False,
                ),
                ("bad", torch.ones(9, dtype=torch.float64)),
            ],
        },
    ),
    Spec(
        "conv_autograd.PeriodicConv.apply",
        lambda y, theta: conv_autograd.PeriodicConv.apply(y, theta),
        {"y": _img(2, 8), "theta": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)},
        {"theta": [("bad", torch.ones(9, dtype=torch.float64))]},
    ),
    Spec(
        "conv_autograd.circular_conv_reference",
        conv_autograd.circular_conv_reference,
        {"y": _img(2, 8), "theta": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)},
        {"theta": [("bad", torch.ones(9, dtype=torch.float64))]},
    ),
    # ---- transposed
    Spec(
        "transposed.conv_output_size",
        transposed.conv_output_size,
        {"i": 7, "kernel_size": 3, "stride": 2},
        {"i": size(7), "kernel_size": size(3), "stride": size(2), "padding": [("bad", -1)]},
    ),
    Spec(
        "transposed.pool_output_size",
        transposed.pool_output_size,
        {"i": 7, "kernel_size": 2},
        {"i": size(7), "kernel_size": size(2), "stride": [("bad", 0), ("bad", 1.5)]},
    ),
    Spec(
        "transposed.conv_transpose_output_size",
        transposed.conv_transpose_output_size,
        {"i": 3, "kernel_size": 3, "stride": 2},
        {"i": size(3), "kernel_size": size(3), "stride": size(2), "output_padding": [("bad", 5)]},
    ),
    Spec(
        "transposed.adjoint_output_padding",
        transposed.adjoint_output_padding,
        {"n": 7, "kernel_size": 3, "stride": 2},
        {"n": size(7), "kernel_size": size(3), "stride": size(2)},
    ),
    Spec(
        "transposed.zero_insertion_plan",
        transposed.zero_insertion_plan,
        {"i": 3, "kernel_size": 3, "stride": 2},
        {"i": size(3), "kernel_size": size(3), "stride": size(2)},
    ),
    Spec(
        "transposed.conv_layer_matrix",
        transposed.conv_layer_matrix,
        {"weight": W1, "in_size": 7, "stride": 2},
        {
            "weight": array(W1),
            "in_size": size(7, huge=True),
            "stride": size(2),
            "padding": [("bad", -1), ("bad", 1.5)],
        },
    ),
    Spec(
        "transposed.conv_transpose_layer_matrix",
        transposed.conv_transpose_layer_matrix,
        {"weight": W1, "in_size": 3, "stride": 2},
        {"weight": array(W1), "in_size": size(3, huge=True), "stride": size(2)},
    ),
    Spec(
        "transposed.conv_transpose",
        transposed.conv_transpose,
        {"Y": _img(1, 2, 3, 3), "weight": W2, "stride": 2},
        {
            "Y": array(_img(1, 2, 3, 3), finite=False),
            "weight": array(W2, finite=False),
            "bias": [("bad", torch.ones(5, dtype=torch.float64))],
            "stride": size(2),
            "method": choice(),
        },
    ),
    Spec(
        "transposed.trans_conv",
        transposed.trans_conv,
        {"Y": _img(1, 2, 3, 3), "w": W2, "b": torch.zeros(1, dtype=torch.float64)},
        {
            "Y": array(_img(1, 2, 3, 3), finite=False),
            "w": [*array(W2, finite=False), ("bad", torch.ones(3, 1, 3, 3, dtype=torch.float64))],
            "b": [("bad", torch.ones(5, dtype=torch.float64))],
        },
    ),
    Spec(
        "transposed.conv_operator",
        lambda weight, in_size, stride=1: transposed.conv_operator(
            weight, in_size, stride=stride
        ).to_dense(),
        {"weight": W1, "in_size": 8, "stride": 2},
        {"weight": array(W1), "in_size": size(8), "stride": size(2)},
    ),
    Spec(
        "transposed.interpolation_matrix",
        transposed.interpolation_matrix,
        {"n_in": 3, "scale_factor": 2, "mode": "linear"},
        {
            "n_in": size(3, huge=True),
            "scale_factor": real(2.0, bad=(math.nan, math.inf, 0.0, -1.0, True)),
            "mode": choice(),
        },
    ),
    Spec(
        "transposed.upsample_operator",
        lambda in_shape, scale_factor=2, device=None: transposed.upsample_operator(
            in_shape, scale_factor=scale_factor, device=device
        ).to_dense(),
        {"in_shape": (1, 2, 2), "scale_factor": 2},
        {
            "in_shape": shape((1, 2, 2)),
            "scale_factor": real(2.0, bad=(math.nan, math.inf, 0.0, -1.0, True)),
            "device": device_variant(),
        },
    ),
]

for _op in ("conv_transpose_loop", "conv_transpose_taps", "conv_transpose_fold"):
    SPECS.append(
        Spec(
            f"transposed.{_op}",
            getattr(transposed, _op),
            {"Y": _img(1, 2, 3, 3), "weight": W2, "stride": 2},
            {
                "Y": array(_img(1, 2, 3, 3), finite=False),
                "weight": array(W2, finite=False),
                "stride": size(2),
            },
        )
    )


def _probes() -> list[tuple[Spec, str, str, Any]]:
    return [(s, arg, kind, v) for s in SPECS for arg, vs in s.variants.items() for kind, v in vs]


PROBES = _probes()


def _ids() -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for s, arg, kind, v in PROBES:
        base = f"{s.name}-{arg}-{kind}-{type(v).__name__}"
        seen[base] = seen.get(base, 0) + 1
        out.append(f"{base}{seen[base]}")
    return out


def _as_comparable(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if sp.issparse(x):
        return x.toarray()
    if isinstance(x, tuple | list):
        return [_as_comparable(e) for e in x]
    if isinstance(x, dict):
        return {k: _as_comparable(e) for k, e in x.items()}
    if hasattr(x, "__dict__") and not isinstance(x, type):
        return {k: _as_comparable(e) for k, e in vars(x).items() if not callable(e)}
    return x


def same(a: Any, b: Any) -> bool:
    a, b = _as_comparable(a), _as_comparable(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    try:
        return np.shape(a) == np.shape(b) and np.allclose(
            a, b, rtol=1e-6, atol=1e-12, equal_nan=True
        )
    except TypeError:
        return a == b


def _clear(exc: BaseException, arg: str) -> bool:
    if not isinstance(exc, TypeError | ValueError):
        return False
    from convlab._validate import __dict__ as v

    cost = v.get("CostLimitError")
    return bool(re.search(rf"\b{re.escape(arg)}\b", str(exc))) or (
        cost is not None and isinstance(exc, cost)
    )


def outcome(spec: Spec, arg: str, kind: str, value: Any) -> tuple[str, str]:
    """("clear" | "right" | "obscure" | "silent" | "slow", detail) of one probe.

    Huge sizes run under ``tracemalloc`` (numpy reports its allocations to it): a refusal or a
    cheap result must come within 1 s and without tracing more than 128 MiB.
    """
    if spec.result is None and kind == "same":
        spec.result = spec.call()
    if kind == "huge":
        tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out, exc = spec.call(**{arg: value}), None
    except Exception as e:
        out, exc = None, e
    dt = time.perf_counter() - t0
    if kind == "huge":
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if dt > 1.0 or peak > 2**27:
            return "slow", f"{dt:.1f} s, {peak / 2**20:.0f} MiB traced"
    if exc is not None:
        if _clear(exc, arg):
            return "clear", str(exc)  # also fine for "same", "any" and "huge" variants
        return "obscure", f"{type(exc).__name__}: {exc}"
    if kind in ("any", "huge"):  # NaN propagated (IEEE); a cheap result (a sparse 4 x 1e12)
        return "right", ""
    if kind == "same":
        if (
            spec.result is not None
            and not same(out, spec.result)
            and not spec.name.startswith("plotting")
        ):
            return "silent", "a different result for an equivalent input"
        return "right", ""
    return "silent", f"returned {type(out).__name__} for {value!r:.60}"


@pytest.mark.parametrize(("spec", "arg", "kind", "value"), PROBES, ids=_ids())
def test_bad_input_gets_a_clear_error_or_a_right_result(spec, arg, kind, value):
    verdict, detail = outcome(spec, arg, kind, value)
    assert verdict in ("clear", "right"), f"{spec.name}({arg}={value!r:.80}): {verdict}: {detail}"


def _measure() -> None:
    """Each probe in a forked child limited to 4 GiB and 5 s; counts of the outcomes."""
    import os
    import resource
    import signal
    from collections import Counter

    counts: Counter[str] = Counter()
    rows = []
    for spec, arg, kind, value in PROBES:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(r)
            resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
            signal.alarm(5)
            try:
                verdict, detail = outcome(spec, arg, kind, value)
            except BaseException as exc:
                verdict, detail = "obscure", repr(exc)
            os.write(w, f"{verdict}\t{detail[:150]}".encode())
            os._exit(0)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        msg = os.read(r, 4096).decode()
        os.close(r)
        verdict, _, detail = msg.partition("\t")
        if not msg:
            verdict, detail = "slow", f"killed (status {status})"
        if kind == "huge" and verdict == "obscure" and "MemoryError" in detail:
            verdict = "slow"  # tried to allocate
        counts[verdict] += 1
        rows.append((verdict, spec.name, arg, kind, f"{value!r:.40}", detail[:100]))
    for row in rows:
        if row[0] not in ("clear", "right"):
            print(*row, sep=" | ")
    total = sum(counts.values())
    print(
        f"{total} probes over {len(SPECS)} callables: "
        + ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in counts.most_common())
    )


if __name__ == "__main__" and "--measure" in sys.argv:
    _measure()
