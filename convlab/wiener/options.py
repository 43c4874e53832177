"""Validation and the solver settings (:class:`WienerOptions`) shared by the whole package."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from convlab._validate import as_choice, as_real_number, as_shape, as_size, check_cost

SOLVERS = ("dense", "levinson", "gs", "cholesky", "cg", "fft")
#: a cached 2D factorisation whose block inverse fails its check (a very ill-conditioned
#: normal matrix, :mod:`convlab.wiener.block`) falls back to cholesky (backward stable) up to this
#: many taps, cg above
CHOLESKY_MAX_TAPS = 4096
#: "auto" uses cholesky in 2D up to this many filter taps for a single solve (cg above: a 64x64
#: factorisation takes ~0.5 s, the block inverse ~0.1 s, cg ~0.02 s)
CHOLESKY_MAX_TAPS_UNCACHED = 1024
PENALTIES = ("gaussian", "sharp")
DIRECTIONS = ("target_to_prediction", "prediction_to_target", "symmetric")
REDUCTIONS = ("mean", "sum", "none")
DEFAULT_FFT_EPSILON = 1e-6


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be the integer 1 or 2, got {dim!r}")
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 (signals) or 2 (images); dim={dim} is not supported")
    return dim


def _check_pair(a: torch.Tensor, b: torch.Tensor, dim: int, names=("a", "b")) -> None:
    if a.ndim < dim:
        raise ValueError(
            f"{names[0]} must have at least {dim} dimension(s) for dim={dim}, got shape "
            f"{tuple(a.shape)}"
        )
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    if a.numel() == 0:
        raise ValueError(f"{names[0]} must not be empty, got shape {tuple(a.shape)}")


def _filter_shape(filter_shape: Any, n: tuple[int, ...]) -> tuple[int, ...]:
    if filter_shape is None:
        return tuple(n)
    return as_shape(filter_shape, "filter_shape", ndim=len(n))


def _check_nonzero(x: torch.Tensor, dim: int, name: str, why: str) -> None:
    """Refuse an all-zero signal (per batch item, also for a single unbatched one) and NaN/inf."""
    batch = tuple(x.shape[: x.ndim - dim])
    energy = x.detach().reshape(*batch, -1).abs().amax(dim=-1)
    if bool(((energy > 0) & (energy < math.inf)).all()):  # amax propagates NaN: one check
        return
    zero = energy == 0
    if bool(zero.any()):
        where = f" (batch item {tuple(zero.nonzero()[0].tolist())})" if batch else ""
        raise ValueError(f"{name} is all zero{where}: {why}")
    _check_finite(x, name)


def _check_finite(x: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name} contains NaN or infinity")


def zero_lag_index(filter_shape: Sequence[int]) -> tuple[int, ...]:
    """Index of zero lag in a filter of shape ``filter_shape``: ``(m - 1) // 2`` per axis."""
    return tuple((m - 1) // 2 for m in as_shape(filter_shape, "filter_shape"))


def lags(m: int) -> np.ndarray:
    """The lags ``-c .. m - 1 - c`` (``c = (m - 1) // 2``) of the m filter taps."""
    m = as_size(m, "m")
    check_cost(f"lags of a {m}-tap filter", nbytes=8 * m, alternative="use a smaller m")
    return np.arange(m) - (m - 1) // 2


@dataclasses.dataclass(frozen=True)
class WienerOptions:
    """How the normal equations ``(A^T A + ε r0 I) w = A^T b_pad`` are solved: one settings
    object for :func:`wiener_filter`, :func:`solve_normal_equations`, :class:`WienerFactor` and
    :class:`WienerLoss` (each also takes the fields as keyword arguments), and the key under
    which a loss caches its target's factorisation. Frozen and hashable; validated on creation.

    Parameters
    ----------
    solver : "dense", "levinson" (1D), "gs" (1D, and its block form in 2D), "cholesky", "cg",
        "fft" or "auto" (see :meth:`resolve`).
    epsilon : prewhitening relative to ``r0 = ||a||^2``; None: 0 for exact solvers, 1e-6 "fft".
    tol, maxiter, preconditioner : for "cg" (relative residual, iteration cap (None:
        ``10 prod(m) + 100``), T. Chan / BCCB circulant preconditioner).

    Examples
    --------
    >>> WienerOptions(solver="cg", tol=1e-10).resolve(dim=2, m=(8, 8))
    WienerOptions(solver='cg', epsilon=0.0, tol=1e-10, maxiter=None, preconditioner=True)
    """

    solver: str = "auto"
    epsilon: float | None = None
    tol: float = 1e-12
    maxiter: int | None = None
    preconditioner: bool = True

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen)
        set_("solver", as_choice(self.solver, "solver", (*SOLVERS, "auto")))
        if self.epsilon is not None:
            set_("epsilon", as_real_number(self.epsilon, "epsilon"))
        set_("tol", as_real_number(self.tol, "tol", strict=True))
        if self.maxiter is not None:
            set_("maxiter", as_size(self.maxiter, "maxiter"))
        if not isinstance(self.preconditioner, bool):
            raise TypeError(f"preconditioner must be True or False, got {self.preconditioner!r}")

    @classmethod
    def of(cls, options: WienerOptions | None = None, **settings: Any) -> WienerOptions:
        """``options`` (default: the defaults) with the keyword ``settings`` replaced."""
        if options is None:
            options = cls()
        elif not isinstance(options, cls):
            raise TypeError(f"options must be a WienerOptions, got {type(options).__name__}")
        unknown = set(settings) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(
                f"unknown Wiener solver setting(s) {sorted(unknown)}; expected some of "
                f"{[f.name for f in dataclasses.fields(cls)]}"
            )
        return dataclasses.replace(options, **settings) if settings else options

    def resolve(self, dim: int, m: Sequence[int], *, cached: bool = False) -> WienerOptions:
        """The concrete settings for filters of shape ``m``: epsilon's default, and for "auto"
        the fastest exact solver measured on this course's machine: "gs" in 1D; in 2D, for a
        factorisation reused across calls (``cached``), the block Gohberg-Semencul inverse "gs"
        (two passes over its FFT-domain blocks a call; set up 10x faster than "cholesky", and as
        fast or faster a call from 64x64 on; :class:`WienerFactor` uses "cg" instead when the
        one-off set-up, ``2 m1^2 m2^3`` flops, exceeds the cost limits); for one solve,
        "cholesky" up to ``CHOLESKY_MAX_TAPS_UNCACHED`` taps and "cg" above (whose cost grows
        like m log m, a factorisation's like m^3 or more)."""
        solver = self.solver
        if solver == "auto":
            if dim == 1 or cached:
                solver = "gs"
            else:
                solver = "cholesky" if math.prod(m) <= CHOLESKY_MAX_TAPS_UNCACHED else "cg"
        if solver == "levinson" and dim != 1:
            raise ValueError(
                "solver='levinson' is for dim=1 only; use 'gs', 'cholesky', 'cg' or 'dense' for "
                "images"
            )
        epsilon = self.epsilon
        if epsilon is None:
            epsilon = DEFAULT_FFT_EPSILON if solver == "fft" else 0.0
        if solver == "fft" and epsilon == 0:
            raise ValueError("solver='fft' needs epsilon > 0 (it divides by |fft(a)|^2)")
        return dataclasses.replace(self, solver=solver, epsilon=float(epsilon))
