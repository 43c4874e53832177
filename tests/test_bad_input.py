"""Bad-input battery: every public callable of the validated modules, probed as a careful user.

Each probe replaces one argument of a valid call by a variant and requires either

* a clear error: ``TypeError`` or ``ValueError`` (``CostLimitError`` is both) whose message names
  the argument (as a word), raised in well under a second for huge sizes and without
  allocating; or
* for variants that mean the same thing (a numpy scalar for a Python number, a tensor that
  requires grad, a list for an array, numpy for torch), the same result as the valid call.

Anything else (an ``AssertionError``, ``IndexError``, numpy's or torch's own errors, a result for
input that means nothing) fails. ``python tests/test_bad_input.py --measure`` runs every probe in
a forked child limited to 4 GiB and 5 s and prints how many get each outcome, per module
(``--measure wiener conv``: those modules only; used to measure
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
    cnns,
    conv,
    conv_autograd,
    data,
    device,
    fourier,
    gpubench,
    inverse,
    matlab,
    models,
    operators,
    parametric,
    plotting,
    pooling,
    representations,
    structured,
    toeplitz,
    train,
    transposed,
    widgets,
    wiener,
)

HUGE = 10**12


@dataclass(frozen=True)
class Fresh:
    """An argument made anew for every call (a generator, a model that training changes)."""

    make: Any


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


gen = Fresh(_gen)  # a fresh seeded generator for every call


def _seeded(make: Any) -> Any:
    """``make()`` with torch's global seed fixed (layers initialise their weights from it)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return make()


def _param_shapes(net: torch.nn.Module) -> list[tuple[int, ...]]:
    """What a constructor's result is compared by: the shapes of its parameters (the values are
    random)."""
    return [tuple(p.shape) for p in net.parameters()]


def _closed(fig: Any) -> None:
    """Close a matplotlib figure (or an explorer's preview) so that probes do not pile them up."""
    import matplotlib.pyplot as plt

    plt.close("all")


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
    same = np.float32(v) if float(np.float32(v)) == v else np.float64(v)
    return [("bad", b) for b in bad] + [("same", same)]


def positive(v: float) -> list:
    """Variants of a real argument that must be > 0 (``v``: the value in the valid call)."""
    return real(v, bad=(math.nan, math.inf, 0.0, -1.0, True, "0.5"))


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
        kw = {k: (v.make() if isinstance(v, Fresh) else v) for k, v in {**self.kw, **over}.items()}
        args = [kw.pop(k) for k in self.pos]
        return self.fn(*args, **kw)


def _img(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=_gen(), dtype=torch.float64)


THETA = np.array([1.0, -2.0, 0.5])
W1 = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 1, 3)))
W2 = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 1, 3, 3)))
MASK = torch.rand(8, 8, generator=_gen()) < 0.5
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


# ============================================================================================
# wiener, conv, pooling, operators, representations, models, cnns, train, device, widgets,
# gpubench
# ============================================================================================

SIG = torch.from_numpy(np.random.default_rng(2).standard_normal(8))
SIG_B = torch.from_numpy(np.random.default_rng(3).standard_normal(8))
IMG = torch.from_numpy(np.random.default_rng(4).standard_normal((6, 6)))
IMG_B = torch.from_numpy(np.random.default_rng(5).standard_normal((6, 6)))
BOOL = [("bad", 1), ("bad", "yes"), ("bad", None)]
STENCIL3 = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
ARANGE8, ONES3, ONES56, ONES1356 = (
    np.arange(8.0),
    np.ones(3),
    np.ones((5, 6)),
    np.ones((1, 3, 5, 6)),
)
THETA4 = np.random.default_rng(6).standard_normal((2, 3, 3, 3))


def _wiener_loss(
    prediction=SIG_B,
    target=SIG,
    dim=1,
    penalty="gaussian",
    filter_shape=None,
    sigma=0.5,
    reduction="mean",
    direction="target_to_prediction",
    cache_target=False,
    **settings,
):
    loss = wiener.WienerLoss(
        dim,
        penalty,
        filter_shape,
        sigma=sigma,
        reduction=reduction,
        direction=direction,
        cache_target=cache_target,
        **settings,
    )
    return loss(prediction, target)


SPECS += [
    # ---- wiener
    Spec(
        "wiener.wiener_filter",
        wiener.wiener_filter,
        {"a": SIG, "b": SIG_B, "filter_shape": 5, "dim": 1, "solver": "cg", "epsilon": 0.25},
        {
            "a": [*array(SIG), ("bad", torch.zeros(8, dtype=torch.float64))],
            "b": array(SIG_B),
            "filter_shape": size(5, huge=True, none_ok=True),
            "dim": [("bad", 3), ("bad", 1.5), ("bad", True), ("bad", "1")],
            "solver": choice(),
            "epsilon": real(0.25),
            "tol": positive(1e-12),
            "maxiter": size(150, none_ok=True),
        },
    ),
    Spec(
        "wiener.wiener_filter(2d)",
        wiener.wiener_filter,
        {"a": IMG, "b": IMG_B, "filter_shape": (3, 3), "dim": 2, "solver": "cg"},
        {
            "a": [*array(IMG), ("bad", torch.zeros(6, 6, dtype=torch.float64))],
            "filter_shape": shape((3, 3), huge=True),
            "solver": [*choice(), ("bad", "levinson")],
        },
    ),
    Spec(
        "wiener.WienerLoss",
        _wiener_loss,
        {"prediction": SIG_B, "target": SIG},
        {
            "prediction": array(SIG_B),
            "target": [*array(SIG), ("bad", torch.zeros(8, dtype=torch.float64))],
            "dim": [("bad", 3), ("bad", 1.5), ("bad", True)],
            "penalty": [
                *choice(),
                ("bad", torch.ones(8, dtype=torch.float64)),
                ("bad", torch.zeros(8, dtype=torch.float64)),
                ("bad", torch.ones(3, 3, dtype=torch.float64)),
            ],
            "filter_shape": size(8, huge=True, none_ok=True),
            "sigma": [*positive(0.5), ("bad", 1e300)],
            "reduction": choice(),
            "direction": choice(),
            "cache_target": BOOL,
            "solver": choice(),
        },
    ),
    Spec(
        "wiener.WienerFactor",
        lambda a, b=SIG_B, **kw: wiener.WienerFactor(a, **kw).filter(b),
        {"a": SIG, "filter_shape": 5, "solver": "cholesky"},
        {
            "a": [*array(SIG), ("bad", torch.zeros(8, dtype=torch.float64))],
            "b": array(SIG_B),
            "filter_shape": size(5, huge=True, none_ok=True),
            "dim": [("bad", 3), ("bad", True)],
            "solver": [*choice(), ("bad", "dense")],
        },
    ),
    Spec(
        "wiener.WienerFactor.adjoint",
        lambda w_bar: wiener.WienerFactor(SIG, 5, solver="cholesky").adjoint(w_bar),
        {"w_bar": SIG_B[:5]},
        {"w_bar": [*array(SIG_B[:5]), ("bad", SIG_B)]},
    ),
    Spec(
        "wiener.WienerOptions",
        wiener.WienerOptions,
        {"solver": "cg", "epsilon": 0.0, "tol": 0.5, "maxiter": 10},
        {
            "solver": choice(),
            "epsilon": real(0.0),
            "tol": positive(0.5),
            "maxiter": size(10, none_ok=True),
            "preconditioner": BOOL,
        },
    ),
    Spec(
        "wiener.penalty_gaussian",
        wiener.penalty_gaussian,
        {"filter_shape": 5, "sigma": 0.5},
        {"filter_shape": size(5, huge=True), "sigma": [*positive(0.5), ("bad", 1e300)]},
    ),
    Spec(
        "wiener.penalty_gaussian(2d)",
        wiener.penalty_gaussian,
        {"filter_shape": (3, 5)},
        {"filter_shape": shape((3, 5), huge=True)},
    ),
    Spec(
        "wiener.penalty_sharp",
        wiener.penalty_sharp,
        {"filter_shape": 5},
        {"filter_shape": size(5, huge=True)},
    ),
    Spec(
        "wiener.make_penalty",
        wiener.make_penalty,
        {"kind": "gaussian", "filter_shape": 5, "sigma": 0.5},
        {"kind": choice(), "filter_shape": size(5, huge=True), "sigma": positive(0.5)},
    ),
    Spec(
        "wiener.filter_penalty",
        wiener.filter_penalty,
        {"w": SIG[:5], "T": wiener.penalty_sharp(5)},
        {
            "w": [*array(SIG[:5]), ("bad", torch.zeros(5, dtype=torch.float64))],
            "T": [*array(wiener.penalty_sharp(5)), ("bad", torch.ones(5, dtype=torch.float64))],
        },
    ),
    Spec(
        "wiener.full_convolution",
        wiener.full_convolution,
        {"a": SIG, "w": SIG_B[:3]},
        {
            "a": array(SIG, finite=False),
            "w": array(SIG_B[:3], finite=False),
            "dim": [("bad", 3), ("bad", True)],
        },
    ),
    Spec(
        "wiener.apply_filter",
        wiener.apply_filter,
        {"a": SIG, "w": SIG_B[:3]},
        {
            "a": array(SIG, finite=False),
            "w": array(SIG_B[:3], finite=False),
            "dim": [("bad", 3), ("bad", True)],
        },
    ),
    Spec(
        "wiener.zero_lag_index",
        wiener.zero_lag_index,
        {"filter_shape": (5, 4)},
        {"filter_shape": shape((5, 4))},
    ),
    Spec("wiener.lags", wiener.lags, {"m": 5}, {"m": size(5, huge=True)}),
    Spec(
        "wiener.dense_bytes",
        wiener.dense_bytes,
        {"n": (8,), "m": (5,)},
        {"n": shape((8,)), "m": shape((5,))},
    ),
    Spec(
        "wiener.solve_cost",
        wiener.solve_cost,
        {"n": (8,), "m": (5,), "solver": "gs"},
        {"n": shape((8,)), "m": shape((5,)), "solver": choice()},
    ),
    Spec(
        "wiener.check_solve_cost",
        wiener.check_solve_cost,
        {"n": (8,), "m": (5,), "solver": "gs", "batch": 2},
        {
            "n": shape((8,), huge=True),
            "m": shape((5,), huge=True),
            "solver": choice(),
            "batch": size(2, huge=True),
        },
    ),
    Spec(
        "wiener.normal_matrix",
        wiener.normal_matrix,
        {"a": SIG, "m": (5,), "epsilon": 0.5},
        {"a": array(SIG), "m": shape((5,), huge=True), "epsilon": real(0.5)},
    ),
    Spec(
        "wiener.solve_normal_equations",
        lambda a, rhs, **kw: wiener.solve_normal_equations(a, rhs, **kw)[0],
        {"a": SIG, "rhs": SIG_B[:5], "dim": 1, "solver": "levinson"},
        {
            "a": [*array(SIG), ("bad", torch.zeros(8, dtype=torch.float64))],
            "rhs": array(SIG_B[:5]),
            "dim": [("bad", 3), ("bad", True)],
            "solver": [*choice(), ("bad", "fft")],
        },
    ),
    Spec(
        "wiener.fft_filter_error",
        wiener.fft_filter_error,
        {"a": SIG, "b": SIG_B, "filter_shape": 5, "epsilon": 0.5},
        {
            "a": array(SIG),
            "b": array(SIG_B),
            "filter_shape": size(5, huge=True, none_ok=True),
            "epsilon": positive(0.5),
        },
    ),
    Spec(
        "wiener.lecture_wiener_filter",
        wiener.lecture_wiener_filter,
        {"a": SIG, "b": SIG_B, "method": "roll"},
        {
            "a": [*array(SIG), ("bad", torch.zeros(8, dtype=torch.float64))],
            "b": array(SIG_B),
            "method": choice(),
        },
    ),
    # ---- conv
    Spec(
        "conv.Conv1D",
        lambda theta, n, Y=None: conv.Conv1D(theta, n, Y).K(ARANGE8),
        {"theta": THETA, "n": 8},
        {
            "theta": [*array(THETA), ("bad", np.ones(9))],
            "n": size(8, huge=True),
            "Y": [
                *(v for v in array(np.ones((2, 8)), finite=False) if v[1] is not None),
                ("bad", np.ones((2, 5))),
            ],
        },
    ),
    Spec(
        "conv.Conv1D.K",
        lambda Y: conv.Conv1D(THETA, 8).K(Y),
        {"Y": ARANGE8},
        {"Y": [*array(ARANGE8, finite=False), ("bad", np.ones(5))]},
    ),
    Spec(
        "conv.Conv1D.J",
        lambda v, of="K": conv.Conv1D(THETA, 8, np.ones((2, 8))).J(v, of=of),
        {"v": THETA},
        {"v": [*array(THETA, finite=False), ("bad", np.ones(5))], "of": choice()},
    ),
    Spec(
        "conv.Conv1D.JT",
        lambda W, of="K": conv.Conv1D(THETA, 8, np.ones((2, 8))).JT(W, of=of),
        {"W": np.ones((2, 8))},
        {"W": [*array(np.ones((2, 8)), finite=False), ("bad", np.ones((3, 8)))], "of": choice()},
    ),
    Spec(
        "conv.Conv1D.as_linear_map",
        lambda batch=None: conv.Conv1D(THETA, 8).as_linear_map(batch).to_dense(),
        {"batch": 2},
        {"batch": size(2, none_ok=True)},
    ),
    Spec(
        "conv.Conv2D",
        lambda theta, shape: conv.Conv2D(theta, shape).K(ONES56),
        {"theta": STENCIL3, "shape": (5, 6)},
        {
            "theta": [*array(STENCIL3), ("bad", np.ones((7, 7))), ("bad", np.ones(3))],
            "shape": [*shape((5, 6), huge=True), ("bad", 5), ("bad", (5, 6, 7))],
        },
    ),
    Spec(
        "conv.Conv2D.KT",
        lambda Y: conv.Conv2D(STENCIL3, (5, 6)).KT(Y),
        {"Y": ONES56},
        {"Y": [*array(ONES56, finite=False), ("bad", np.ones((6, 5)))]},
    ),
    Spec(
        "conv.Conv2D.matrix",
        lambda order="F", shape=(5, 6): conv.Conv2D(STENCIL3, shape).matrix(order),
        {"order": "C"},
        {"order": choice(), "shape": [("huge", (10**5, 10**5))]},
    ),
    Spec(
        "conv.MultiChannelConv2D",
        lambda theta, shape: conv.MultiChannelConv2D(theta, shape).K(ONES1356),
        {"theta": THETA4, "shape": (5, 6)},
        {
            "theta": [*array(THETA4), ("bad", np.ones((2, 3, 3)))],
            "shape": shape((5, 6), huge=True),
        },
    ),
    Spec(
        "conv.MultiChannelConv2D.K",
        lambda Y: conv.MultiChannelConv2D(THETA4, (5, 6)).K(Y),
        {"Y": ONES1356},
        {"Y": [*array(ONES1356, finite=False), ("bad", np.ones((1, 2, 5, 6)))]},
    ),
    Spec(
        "conv.MultiChannelConv2D.matrix",
        lambda order="F", shape=(5, 6): conv.MultiChannelConv2D(THETA4, shape).matrix(order),
        {"order": "C"},
        {"order": choice(), "shape": [("huge", (10**5, 10**5))]},
    ),
    # ---- pooling
    Spec(
        "pooling.stride_matrix",
        pooling.stride_matrix,
        {"n": 8, "s": 2, "offset": 1},
        {"n": size(8, huge=True), "s": size(2), "offset": [("bad", -1), ("bad", 1.5), ("bad", 8)]},
    ),
    Spec(
        "pooling.avg_pool_matrix",
        pooling.avg_pool_matrix,
        {"n": 8, "size": 2},
        {"n": size(8, huge=True), "size": [*size(2), ("bad", 9)]},
    ),
    Spec(
        "pooling.stride2d_matrix",
        pooling.stride2d_matrix,
        {"shape": (6, 4), "s": 2},
        {"shape": shape((6, 4), huge=True), "s": shape((2, 2)), "order": choice()},
    ),
    Spec(
        "pooling.avg_pool2d_matrix",
        pooling.avg_pool2d_matrix,
        {"shape": (6, 4), "size": 2},
        {"shape": shape((6, 4), huge=True), "size": shape((2, 2)), "order": choice()},
    ),
    # ---- operators
    Spec(
        "operators.matrix_of",
        operators.matrix_of,
        {"f": np.cumsum, "in_shape": (4,)},
        {
            "f": [("bad", None), ("bad", 3)],
            "in_shape": shape((4,), huge=True),
            "backend": choice(),
            "dtype": [("bad", "no-such-dtype"), ("bad", 3.5)],
            "device": device_variant(),
            "chunk": size(4),
            "sparse": BOOL,
            "batched": BOOL,
        },
    ),
    Spec(
        "operators.is_linear",
        operators.is_linear,
        {"f": np.cumsum, "in_shape": (4,)},
        {
            "f": [("bad", None), ("bad", 3)],
            "in_shape": shape((4,), huge=True),
            "backend": choice(),
            "rtol": positive(1e-10),
            "seed": [("bad", 1.5), ("bad", "0")],
        },
    ),
    Spec(
        "operators.aslinearmap",
        lambda obj, x=ONES3, **kw: operators.aslinearmap(obj, **kw).forward(x),
        {"obj": np.arange(6.0).reshape(2, 3)},
        {
            "obj": [
                *array(np.arange(6.0).reshape(2, 3), finite=False),
                ("bad", np.ones(3)),
                ("bad", "A"),
            ],
            "x": [*array(np.ones(3), finite=False), ("bad", np.ones(4))],
            "inner": choice(),
            "in_shape": [("bad", (4,)), ("bad", (2.5,)), ("bad", "ab")],
            "device": device_variant(),
        },
    ),
    Spec(
        "operators.LinearMap",
        lambda in_shape=(3,), out_shape=(3,), x=ONES3, **kw: operators.LinearMap(
            np.cumsum, lambda y: np.cumsum(y[::-1])[::-1], in_shape, out_shape, **kw
        ).forward(x),
        {"in_shape": (3,), "out_shape": (3,)},
        {
            "in_shape": shape((3,)),
            "out_shape": shape((3,)),
            "x": [*array(np.ones(3), finite=False), ("bad", np.ones(4))],
            "backend": choice(),
            "inner": choice(),
            "dtype": [("bad", "no-such-dtype")],
            "device": device_variant(),
        },
    ),
    Spec(
        "operators.LinearMap.norm",
        lambda **kw: operators.aslinearmap(np.diag([1.0, 3.0, 2.0])).norm(**kw),
        {"n_iter": 50},
        {
            "n_iter": size(50, huge=True),
            "rtol": positive(1e-10),
            "seed": [("bad", 1.5), ("bad", "0")],
        },
    ),
    Spec(
        "operators.LinearMap.to_dense",
        lambda n=4, **kw: operators.LinearMap(
            lambda x: x, lambda y: y, (n,), (n,), name="identity"
        ).to_dense(**kw),
        {"n": 4},
        {"n": [("huge", 10**6)], "sparse": BOOL},
    ),
    Spec(
        "operators.MatrixMap",
        lambda M, x=ONES3, **kw: operators.MatrixMap(M, **kw).adjoint(x[:2]),
        {"M": np.arange(6.0).reshape(2, 3)},
        {
            "M": [*array(np.arange(6.0).reshape(2, 3), finite=False), ("bad", np.ones(3))],
            "inner": choice(),
        },
    ),
    # ---- representations
    Spec(
        "representations.filter_bank",
        representations.filter_bank,
        {"kind": "oriented", "size": 5, "sigma": 1.0},
        {
            "kind": choice(),
            "size": [*size(5), ("huge", HUGE + 1), ("bad", 4), ("bad", 1)],
            "sigma": [*positive(1.0), ("bad", 1e300)],
        },
    ),
    Spec(
        "representations.responses",
        representations.responses,
        {"image": IMG, "filters": representations.filter_bank("oriented", 3, 1.0)},
        {
            "image": [*array(IMG, finite=False), ("bad", torch.ones(2, dtype=torch.float64))],
            "filters": [
                *array(representations.filter_bank("oriented", 3, 1.0)),
                ("bad", torch.ones(2, 4, 4, dtype=torch.float64)),
                ("bad", torch.ones(1, 9, 9, dtype=torch.float64)),
            ],
        },
    ),
    Spec(
        "representations.filter_bank_operator",
        lambda filters, shape: representations.filter_bank_operator(filters, shape).to_dense(),
        {"filters": representations.filter_bank("oriented", 3, 1.0), "shape": (4, 5)},
        {
            "filters": array(representations.filter_bank("oriented", 3, 1.0)),
            "shape": [*shape((4, 5)), ("bad", (4, 5, 6))],
        },
    ),
    Spec(
        "representations.relu_pair",
        representations.relu_pair,
        {"r": torch.ones(2, 3, 4, dtype=torch.float64)},
        {"r": [*array(torch.ones(2, 3, 4, dtype=torch.float64), finite=False)]},
    ),
    Spec(
        "representations.unrelu_pair",
        representations.unrelu_pair,
        {"p": torch.ones(2, 3, 4, dtype=torch.float64)},
        {
            "p": [
                *array(torch.ones(2, 3, 4, dtype=torch.float64), finite=False),
                ("bad", torch.ones(3, 3, 4, dtype=torch.float64)),
            ]
        },
    ),
    Spec(
        "representations.normal_eigenvalues",
        representations.normal_eigenvalues,
        {"filters": representations.filter_bank("oriented", 3, 1.0), "shape": (6, 6)},
        {
            "filters": array(representations.filter_bank("oriented", 3, 1.0)),
            "shape": shape((6, 6), huge=True),
            "onesided": BOOL,
        },
    ),
    Spec(
        "representations.reconstruct",
        representations.reconstruct,
        {
            "r": representations.responses(IMG, representations.filter_bank("oriented", 3, 1.0)),
            "filters": representations.filter_bank("oriented", 3, 1.0),
        },
        {
            "r": array(
                representations.responses(IMG, representations.filter_bank("oriented", 3, 1.0)),
                finite=False,
            ),
            "mask": [("bad", torch.ones(6, 6)), ("bad", torch.ones(3, 3, dtype=torch.bool))],
            "epsilon": real(0.0),
            "tol": positive(1e-10),
            "maxiter": size(10, none_ok=True, huge=True),
            "return_info": BOOL,
        },
    ),
    # ---- models, cnns (results compared by parameter shapes: the weights are random)
    Spec(
        "models.encoder",
        lambda **kw: _param_shapes(models.encoder(**kw)),
        {"channels": (1, 4, 8), "kernel": 3, "stride": 2},
        {
            "channels": [*shape((1, 4, 8)), ("bad", (1,)), ("huge", (1, HUGE))],
            "kernel": [*size(3), ("bad", 4)],
            "stride": size(2),
            "convs": [*size(1), ("huge", HUGE)],
        },
    ),
    Spec(
        "models.decoder",
        lambda **kw: _param_shapes(models.decoder(**kw)),
        {"channels": (8, 4, 1), "kernel": 3, "scale": 2},
        {
            "channels": [*shape((8, 4, 1)), ("huge", (HUGE, 1))],
            "kernel": [*size(3), ("bad", 4)],
            "scale": size(2),
            "mode": choice(),
            "convs": [*size(1), ("huge", HUGE)],
        },
    ),
    Spec(
        "models.DenoisingAutoencoder",
        lambda **kw: _param_shapes(models.DenoisingAutoencoder(**kw)),
        {"channels": (1, 4, 8), "kernel": 3},
        {
            "channels": [*shape((1, 4, 8)), ("huge", (1, HUGE))],
            "kernel": [*size(3), ("bad", 4)],
            "mode": choice(),
        },
    ),
    Spec(
        "models.DenoisingAutoencoder.forward",
        lambda x: _seeded(lambda: models.DenoisingAutoencoder((1, 2, 2)))(x),
        {"x": torch.rand(1, 1, 8, 8, generator=_gen())},
        {
            "x": [
                *array(torch.rand(1, 1, 8, 8, generator=_gen()), finite=False, numpy_ok=False),
                ("bad", torch.rand(1, 3, 8, 8)),
                ("bad", torch.rand(8, 8)),
            ]
        },
    ),
    Spec(
        "models.receptive_field",
        models.receptive_field,
        {"layers": [(3, 1), (3, 2, 1)]},
        {
            "layers": [
                ("bad", [(3,)]),
                ("bad", [(0, 1)]),
                ("bad", [(3, 0)]),
                ("bad", [(2.5, 1)]),
                ("bad", [(3, 1, -1)]),
                ("bad", "ab"),
                ("bad", None),
            ],
            "dim": [("bad", 2), ("bad", "0")],
        },
    ),
    Spec(
        "models.empirical_receptive_field",
        models.empirical_receptive_field,
        {"net": torch.nn.Conv2d(1, 1, 3), "input_size": 9},
        {
            "net": [("bad", None), ("bad", 3)],
            "input_size": [*size(9), ("huge", HUGE)],
            "out_index": [("bad", (99, 99)), ("bad", (1.5, 1)), ("bad", "ab")],
            "in_channels": [("bad", 0), ("bad", 1.5)],
        },
    ),
    Spec(
        "cnns.DnCNN",
        lambda **kw: _param_shapes(cnns.DnCNN(**kw)),
        {"depth": 3, "width": 4, "channels": 1},
        {
            "depth": [*size(3, huge=True), ("bad", 1)],
            "width": size(4, huge=True),
            "channels": size(1, huge=True),
        },
    ),
    Spec(
        "cnns.SRCNN",
        lambda **kw: _param_shapes(cnns.SRCNN(**kw)),
        {"channels": 1, "widths": (4, 2), "kernels": (3, 1, 3)},
        {
            "channels": size(1, huge=True),
            "widths": [*shape((4, 2)), ("huge", (HUGE, 2))],
            "kernels": [*shape((3, 1, 3)), ("bad", (4, 1, 3)), ("bad", (3, 3))],
        },
    ),
    Spec(
        "cnns.VDSR",
        lambda **kw: _param_shapes(cnns.VDSR(**kw)),
        {"depth": 3, "width": 4, "channels": 1},
        {"depth": size(3, huge=True), "width": size(4, huge=True), "channels": size(1, huge=True)},
    ),
    Spec(
        "cnns.UNet",
        lambda **kw: _param_shapes(cnns.UNet(**kw)),
        {"in_channels": 1, "out_channels": 1, "widths": (4, 8)},
        {
            "in_channels": size(1, huge=True),
            "out_channels": size(1, huge=True),
            "widths": [*shape((4, 8)), ("huge", (4, HUGE))],
            "up": choice(),
            "residual": BOOL,
        },
    ),
    Spec(
        "cnns.DnCNN.forward",
        lambda y: _seeded(lambda: cnns.DnCNN(3, 2))(y),
        {"y": torch.rand(1, 1, 8, 8, generator=_gen())},
        {
            "y": [
                *array(torch.rand(1, 1, 8, 8, generator=_gen()), finite=False, numpy_ok=False),
                ("bad", torch.rand(1, 3, 8, 8)),
            ]
        },
    ),
    Spec(
        "cnns.UNet.forward",
        lambda x: _seeded(lambda: cnns.UNet(widths=(2, 4)))(x),
        {"x": torch.rand(1, 1, 8, 8, generator=_gen())},
        {
            "x": [
                *array(torch.rand(1, 1, 8, 8, generator=_gen()), finite=False, numpy_ok=False),
                ("bad", torch.rand(1, 1, 7, 7)),
                ("bad", torch.rand(1, 2, 8, 8)),
            ]
        },
    ),
    Spec(
        "cnns.n_parameters",
        cnns.n_parameters,
        {"net": torch.nn.Conv2d(1, 2, 3)},
        {"net": [("bad", None), ("bad", 3)], "trainable_only": BOOL},
    ),
    # ---- train (one step at most)
    Spec(
        "train.train_denoiser",
        lambda model=Fresh(lambda: _seeded(lambda: torch.nn.Conv2d(1, 1, 3, padding=1))), **kw: (
            train.train_denoiser(model, **kw).losses
        ),
        {
            "model": Fresh(lambda: _seeded(lambda: torch.nn.Conv2d(1, 1, 3, padding=1))),
            "clean": torch.rand(4, 1, 8, 8, generator=_gen()),
            "corrupt": ("gaussian", 0.1),
            "steps": 1,
            "batch_size": 2,
            "generator": gen,
            "progress": False,
        },
        {
            "model": [("bad", None), ("bad", "net"), ("bad", torch.nn.ReLU())],
            "clean": [
                ("bad", None),
                ("bad", torch.zeros(0, 1, 8, 8)),
                ("bad", torch.ones(8, 8)),
                ("bad", torch.ones(4, 1, 8, 8, dtype=torch.int64)),
                ("bad", torch.full((4, 1, 8, 8), math.nan)),
            ],
            "corrupt": [("bad", ("gaussian",)), ("bad", ("no-such", 0.1)), ("bad", 3)],
            "steps": size(1),  # (a long training is what was asked for)
            "batch_size": size(2, huge=True),
            "lr": positive(1e-3),
            "weight_decay": real(0.0),
            "loss": choice(),
            "optimizer": choice(),
            "schedule": choice(),
            "augment": BOOL,
            "patch": [("bad", 0), ("bad", 2.5), ("bad", 99)],
            "generator": [("bad", 0), ("bad", None)],
            "progress": [("bad", "yes"), ("bad", None)],
        },
    ),
    Spec(
        "train.loss_function",
        lambda **kw: train.loss_function(**kw)(torch.zeros(3), torch.ones(3)),
        {"loss": "l1+l2", "l1_weight": 0.25},
        {"loss": choice(), "l1_weight": [*real(0.25), ("bad", 2.0)]},
    ),
    Spec(
        "train.denoise",
        train.denoise,
        {"model": torch.nn.Conv2d(1, 1, 3, padding=1).double(), "x": _img(1, 1, 8, 8)},
        {
            "model": [("bad", None), ("bad", "net")],
            "x": [*array(_img(1, 1, 8, 8), finite=False), ("bad", torch.ones(3))],
        },
    ),
    Spec(
        "train.evaluate",
        lambda **kw: train.evaluate(torch.nn.Identity(), **kw),
        {"clean": _img(2, 1, 16, 16), "corrupt": ("gaussian", 0.1), "generator": gen},
        {
            "clean": [("bad", None), ("bad", torch.ones(3)), ("bad", torch.zeros(0, 1, 16, 16))],
            "corrupt": [("bad", ("no-such", 0.1)), ("bad", 3)],
            "generator": [("bad", 0)],
            "clip": BOOL,
        },
    ),
    # ---- device
    Spec(
        "device.pick_device",
        device.pick_device,
        {"prefer": "cpu"},
        {"prefer": [*choice(), *device_variant()]},
    ),
    Spec(
        "device.supports_dtype",
        device.supports_dtype,
        {"device": "cpu", "dtype": torch.float64},
        {
            "device": [("bad", "no-such-device"), ("bad", 3.5)],
            "dtype": [("bad", "float64"), ("bad", None)],
        },
    ),
    Spec(
        "device.tf32_capable",
        device.tf32_capable,
        {"device": "cpu"},
        {"device": [("bad", "no-such-device"), ("bad", None), ("bad", 3.5), *device_variant()]},
    ),
    Spec(
        "device.tf32",
        lambda enabled: device.tf32(enabled).__enter__(),
        {"enabled": False},
        {"enabled": BOOL},
    ),
    Spec(
        "device.round_to_tf32",
        device.round_to_tf32,
        {"x": torch.tensor([1.0, 1.0 + 2.0**-15], dtype=torch.float32)},
        {
            "x": [
                ("bad", None),
                ("bad", "x"),
                ("bad", torch.ones(2, dtype=torch.float64)),
                ("bad", torch.ones(2, dtype=torch.int32)),
                ("same", np.array([1.0, 1.0 + 2.0**-15], dtype=np.float32)),
            ]
        },
    ),
    Spec(
        "device.dot_error_bound",
        device.dot_error_bound,
        {"n_terms": 27, "arithmetic": device.FP32},
        {"n_terms": size(27), "arithmetic": [("bad", "FP32"), ("bad", None)]},
    ),
    Spec(
        "device.tolerance",
        device.tolerance,
        {"n_terms": 27, "arithmetic": device.FP32},
        {"n_terms": size(27), "arithmetic": [("bad", "FP32"), ("bad", None)]},
    ),
    Spec(
        "device.relative_error",
        device.relative_error,
        {"got": torch.ones(3), "ref": torch.ones(3) * 1.1, "magnitude": torch.ones(3)},
        {
            "got": [("bad", None), ("bad", torch.ones(4)), ("same", np.ones(3, dtype=np.float32))],
            "ref": [("bad", None), ("bad", torch.ones(4))],
            "magnitude": [("bad", torch.full((3,), math.nan)), ("bad", None)],
        },
    ),
    Spec(
        "device.deterministic",
        lambda **kw: device.deterministic(**kw).__enter__() and None,
        {"seed": 0},
        {"seed": [("bad", 1.5), ("bad", "0"), ("bad", None)], "warn_only": BOOL},
    ),
    Spec(
        "device.synchronize",
        device.synchronize,
        {"device": "cpu"},
        {"device": [("bad", "no-such-device"), ("bad", 3.5), *device_variant()]},
    ),
    Spec(
        "device.time_fn",
        lambda fn=lambda: None, **kw: len(device.time_fn(fn, **kw).times),
        {"device": "cpu", "repeats": 2, "warmup": 0},
        {
            "fn": [("bad", None), ("bad", 3)],
            "device": [("bad", "no-such-device"), *device_variant()],
            "repeats": size(2),
            "warmup": size(0, zero_ok=True),
            "number": size(1),
        },
    ),
    Spec(
        "device.time_many",
        lambda fns={"a": lambda: None}, **kw: len(device.time_many(fns, **kw)),
        {"device": "cpu", "repeats": 2, "warmup": 0},
        {
            "fns": [("bad", None), ("bad", {"a": 3}), ("bad", [lambda: None])],
            "repeats": size(2),
            "warmup": size(0, zero_ok=True),
        },
    ),
    # ---- widgets (figures only; the explorers need a kernel to be live, not to be built)
    Spec(
        "widgets.stencil_figure",
        lambda **kw: _closed(widgets.stencil_figure(**kw)),
        {"theta": THETA, "n": 6, "boundary": "periodic"},
        {"theta": array(THETA), "n": size(6, huge=True), "boundary": choice()},
    ),
    Spec(
        "widgets.dependencies",
        widgets.dependencies,
        {"n": 8, "kernel_size": 3, "stride": 2},
        {
            "n": size(8, huge=True),
            "kernel_size": size(3),
            "stride": size(2),
            "padding": [("bad", -1), ("bad", 1.5)],
            "dilation": size(1),
        },
    ),
    Spec(
        "widgets.dependency_figure",
        lambda **kw: _closed(widgets.dependency_figure(**kw)),
        {"n": 8, "kernel_size": 3, "stride": 2, "highlight": 1},
        {
            "n": size(8, huge=True),
            "kernel_size": size(3),
            "stride": size(2),
            "padding": [("bad", -1), ("bad", 1.5)],
            "dilation": size(1),
            "highlight": [("bad", 99), ("bad", -1), ("bad", 1.5), ("bad", "1")],
        },
    ),
    Spec(
        "widgets.stencil_explorer",
        lambda **kw: _closed(widgets.stencil_explorer(**kw)),
        {"n": 8, "stencil": (1.0, -2.0, 1.0)},
        {
            "n": [*size(8, huge=True), ("bad", 2), ("bad", 99)],
            "stencil": [("bad", (1.0, 2.0)), ("bad", (1.0, math.nan, 1.0)), ("bad", "abc")],
        },
    ),
    Spec(
        "widgets.conv_arithmetic_explorer",
        lambda **kw: _closed(widgets.conv_arithmetic_explorer(**kw)),
        {"n": 8},
        {"n": [*size(8, huge=True), ("bad", 99)]},
    ),
    # ---- gpubench (argument validation; nothing timed for long)
    Spec(
        "gpubench.cost_model",
        gpubench.cost_model,
        {"size": (1, 2, 2, 3, 4, 4)},
        {
            "size": [*shape((1, 2, 2, 3, 4, 4)), ("bad", (1, 2, 3))],
            "itemsize": [("bad", 0), ("bad", 2.5), ("bad", "4")],
        },
    ),
    Spec(
        "gpubench.cost_flops",
        gpubench.cost_flops,
        {"size": (1, 2, 2, 3, 4, 4)},
        {"size": [*shape((1, 2, 2, 3, 4, 4)), ("bad", (1, 2, 3))]},
    ),
    Spec(
        "gpubench.correctness_matrix",
        lambda **kw: len(gpubench.correctness_matrix(**kw)),
        {"device": "cpu", "methods": ("fold",), "configs": ((1, 0, 1, 0, (3, 3)),)},
        {
            "device": [("bad", "no-such-device"), *device_variant()],
            "methods": [("bad", ("no-such",)), ("bad", "fold")],
            "configs": [("bad", ((0, 0, 1, 0, (3, 3)),)), ("bad", ((1, 0),))],
            "batch": size(2, huge=True),
            "c_in": size(3, huge=True),
            "size": [*shape((6, 5), huge=True)],
        },
    ),
    Spec(
        "gpubench.timing_table",
        lambda **kw: len(gpubench.timing_table(**kw)),
        {"device": "cpu", "sizes": [(1, 1, 1, 3, 4, 4)], "repeats": 1, "warmup": 0},
        {
            "device": [("bad", "no-such-device"), *device_variant()],
            "sizes": [("bad", [(1, 2, 3)]), ("bad", [(0, 1, 1, 3, 4, 4)]), ("huge", [(HUGE,) * 6])],
            "repeats": size(1),
            "warmup": size(0, zero_ok=True),
        },
    ),
    Spec(
        "gpubench.peak_memory",
        lambda **kw: sorted(gpubench.peak_memory(**kw)),
        {"device": "cpu", "size": (1, 1, 1, 3, 4, 4)},
        {
            "device": [("bad", "no-such-device"), *device_variant()],
            "size": [("bad", (1, 2, 3)), ("huge", (HUGE,) * 6)],
        },
    ),
    Spec(
        "gpubench.determinism",
        lambda **kw: len(gpubench.determinism(**kw)),
        {"device": "cpu", "size": (1, 1, 1, 3, 4, 4), "runs": 2},
        {
            "device": [("bad", "no-such-device"), *device_variant()],
            "size": [("bad", (1, 2, 3)), ("huge", (HUGE,) * 6)],
            "runs": size(2),
        },
    ),
    Spec(
        "gpubench.device_info",
        lambda device: sorted(gpubench.device_info(device)),
        {"device": "cpu"},
        {"device": [("bad", "no-such-device"), ("bad", None), *device_variant()]},
    ),
    Spec(
        "gpubench.magnitude",
        gpubench.magnitude,
        {"Y": _img(1, 2, 3, 3), "w": W2.reshape(2, 1, 3, 3)},
        {
            "Y": array(_img(1, 2, 3, 3), numpy_ok=False),
            "w": array(W2.reshape(2, 1, 3, 3), numpy_ok=False),
        },
    ),
]


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


def _measure(modules: list[str]) -> None:
    """Each probe in a forked child limited to 4 GiB and 5 s; counts of the outcomes, in total
    and per module (only the probes of ``modules`` when given)."""
    import os
    import resource
    import signal
    from collections import Counter

    counts: Counter[str] = Counter()
    per_module: dict[str, Counter[str]] = {}
    rows = []
    for (spec, arg, kind, value), probe_id in zip(PROBES, _ids()):
        module = spec.name.split(".")[0]
        if modules and module not in modules:
            continue
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
        per_module.setdefault(module, Counter())[verdict] += 1
        rows.append((verdict, probe_id, f"{value!r:.40}", detail[:100]))
    for row in rows:
        if row[0] not in ("clear", "right"):
            print(*row, sep=" | ")
    for module, c in per_module.items():
        print(f"{module}: " + ", ".join(f"{k} {c[k]}" for k in OUTCOMES))
    total = sum(counts.values())
    n_specs = sum(1 for s in SPECS if not modules or s.name.split(".")[0] in modules)
    print(
        f"{total} probes over {n_specs} callables: "
        + ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in counts.most_common())
    )


OUTCOMES = ("clear", "right", "obscure", "silent", "slow")

if __name__ == "__main__" and "--measure" in sys.argv:
    _measure(sys.argv[sys.argv.index("--measure") + 1 :])
