"""Penalties and the Wiener-filter loss."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from convlab._validate import (
    as_choice,
    as_real_number,
    as_real_tensor,
    as_shape,
    check_cost,
)
from convlab.wiener.convolution import _signal
from convlab.wiener.factor import WienerFactor
from convlab.wiener.filters import wiener_filter
from convlab.wiener.options import (
    DIRECTIONS,
    PENALTIES,
    REDUCTIONS,
    WienerOptions,
    _check_dim,
    _check_nonzero,
    _check_pair,
    lags,
    zero_lag_index,
)


def _penalty_shape(filter_shape: Any) -> tuple[int, ...]:
    """``filter_shape`` (an int for 1D, or a tuple) validated, its penalty's size checked."""
    shape = as_shape(filter_shape, "filter_shape")
    taps = math.prod(shape)
    check_cost(
        f"a penalty of shape {shape} ({taps} taps)",
        nbytes=8 * taps * (len(shape) + 2),
        alternative="use a smaller filter_shape",
    )
    return shape


def _normalised_radius(filter_shape: Sequence[int]) -> np.ndarray:
    # per axis lag / max|lag| in [-1, 1] (a single tap has lag 0), then the Euclidean radius
    grids = []
    for m in filter_shape:
        lag = lags(m).astype(float)
        grids.append(lag / max(1.0, np.abs(lag).max()))
    mesh = np.meshgrid(*grids, indexing="ij")
    return np.sqrt(sum(g**2 for g in mesh))


def penalty_gaussian(filter_shape: int | Sequence[int], sigma: float = 0.5) -> torch.Tensor:
    """Smooth penalty ``T = 1 - exp(-u^2 / (2 sigma^2))``, normalised to max 1.

    ``u`` is the radius of the per-axis normalised lag (``lag / max|lag|``, in [-1, 1]), so T is
    0 at zero lag, quadratic near it and saturates far away; 1D or 2D from ``filter_shape``.

    Examples
    --------
    >>> penalty_gaussian(5).numpy().round(2)
    array([1.  , 0.46, 0.  , 0.46, 1.  ])
    """
    sigma = as_real_number(sigma, "sigma", strict=True)  # inf would make every loss 0
    u = _normalised_radius(_penalty_shape(filter_shape))
    T = -np.expm1(-0.5 * (u / sigma) ** 2)  # 1 - exp(-x), exact also for tiny x
    if T.max() == 0 and u.max() > 0:
        raise ValueError(
            f"sigma={sigma:g} is so large that the penalty underflows to 0 at every lag (every "
            "loss would be 0); use sigma <= 1e150 (the penalty's shape is quadratic from ~10 on)"
        )
    return torch.from_numpy(T / T.max() if T.max() > 0 else T)


def penalty_sharp(filter_shape: int | Sequence[int]) -> torch.Tensor:
    """Sharp penalty ``T = |lag|`` (AWI's T(t) = |t|): a V with a corner at 0, max 1.

    Examples
    --------
    >>> penalty_sharp(5).numpy()
    array([1. , 0.5, 0. , 0.5, 1. ])
    """
    u = _normalised_radius(_penalty_shape(filter_shape))
    return torch.from_numpy(u / u.max() if u.max() > 0 else u)


def _check_penalty(T: torch.Tensor, dim: int, name: str = "penalty") -> None:
    """A penalty must be dim-D, non-empty, finite, >= 0, zero at zero lag (so that
    loss(x, x) = 0) and positive somewhere (else every loss is 0)."""
    if T.ndim != dim or T.numel() == 0:
        raise ValueError(f"{name} must be a non-empty {dim}-D tensor, got shape {tuple(T.shape)}")
    if T.is_complex() or not T.is_floating_point():
        raise TypeError(f"{name} must be real floating point, got {T.dtype}")
    if not bool(torch.isfinite(T).all()) or bool((T < 0).any()):
        raise ValueError(f"{name} must be finite and >= 0 at every lag")
    c = zero_lag_index(T.shape)
    if float(T[c]) != 0.0:
        raise ValueError(
            f"{name} must be 0 at zero lag (index {c} for shape {tuple(T.shape)}), got "
            f"{float(T[c]):g}: otherwise loss(x, x) > 0"
        )
    if not bool((T > 0).any()):
        raise ValueError(f"{name} is 0 at every lag: every loss would be 0")


def make_penalty(kind: str, filter_shape: int | Sequence[int], sigma: float = 0.5) -> torch.Tensor:
    """``penalty_gaussian`` or ``penalty_sharp`` by name."""
    kind = as_choice(kind, "kind", PENALTIES)
    return (
        penalty_gaussian(filter_shape, sigma) if kind == "gaussian" else penalty_sharp(filter_shape)
    )


def filter_penalty(w: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """``1/2 ||T * w||^2 / ||w||^2`` over the last ``T.ndim`` axes (scale-invariant in w).

    ``T`` must be a valid penalty (finite, >= 0, zero at zero lag, positive somewhere) and no
    filter in ``w`` all zero (the ratio would be 0/0)."""
    T = as_real_tensor(T, "T")
    d = T.ndim
    if d not in (1, 2):
        raise ValueError(f"T must be a 1-D or 2-D penalty, got shape {tuple(T.shape)}")
    _check_penalty(T, d, "T")
    w = _signal(w, "w", d)
    _check_nonzero(w, d, "w", "the penalty would be 0/0")
    return _filter_penalty(w, T)


def _filter_penalty(w: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    d = T.ndim
    if tuple(w.shape[-d:]) != tuple(T.shape):
        raise ValueError(
            f"penalty shape {tuple(T.shape)} (T) does not match the filter shape "
            f"{tuple(w.shape[-d:])} (w)"
        )
    T = T.to(dtype=w.dtype, device=w.device)
    num = (T * w).square().flatten(-d).sum(-1)
    den = w.square().flatten(-d).sum(-1)
    return 0.5 * num / den


class WienerLoss(torch.nn.Module):
    """Wiener-filter loss ``f = 1/2 ||T w||^2 / ||w||^2`` between a prediction and a target.

    ``w`` is the Wiener filter that maps the target onto the prediction (``direction=
    "target_to_prediction"``, the lecture's "Input * w = Output" and Cruz et al.'s default);
    ``"prediction_to_target"`` swaps the roles; ``"symmetric"`` averages both. ``f >= 0``, and
    ``f == 0`` exactly when w is a delta at zero lag, e.g. prediction == target. Dividing by
    ``||w||^2`` makes f invariant to the scale of the prediction, so a network cannot win by
    predicting (almost) zero.

    Parameters
    ----------
    dim : 1 (inputs ``(..., n)``) or 2 (inputs ``(..., n1, n2)``, e.g. ``(N, C, H, W)``);
        leading axes (batch, channels) each get their own filter.
    penalty : "gaussian", "sharp" or a tensor of the filter's shape (zero at zero lag).
    filter_shape : default the signal shape.
    options, **settings : the solver settings, as in :func:`wiener_filter`.
    sigma : width of the Gaussian penalty.
    reduction : "mean" (default), "sum" or "none" over the leading axes.
    cache_target : reuse the target's factorisation across calls (default False). With the
        default direction the normal matrix ``A^T A`` is built from the **target** (A is the
        Toeplitz matrix of the signal the filter is applied to), so in training - one fixed
        target, a new prediction every epoch - its factorisation never changes. With
        ``cache_target=True`` the loss keeps a :class:`WienerFactor` of the target (a copy of
        its values, the factors: e.g. 2 (m/2)^2 floats for "cholesky") and, on every call,
        compares the target with that copy **by value** (``torch.equal``, O(size)); a new or
        in-place modified target, or changed settings, trigger a new factorisation
        (``factorisations`` counts them). Same loss and gradient as without the cache (up to
        rounding: "levinson" then applies R^{-1} by the Gohberg-Semencul formula instead of a
        fresh Levinson recursion; "auto" picks the block inverse "gs" for a cached 2D target
        where it picks "cholesky" or "cg" for one call); gradients with respect to the target
        still flow. Used for the pairs whose filter is applied to the target
        ("target_to_prediction" and half of "symmetric"); "prediction_to_target" rebuilds its
        matrix from the prediction each call, and solver "dense" (the reference) never caches.

    Examples
    --------
    >>> loss = WienerLoss(dim=1, penalty="sharp")
    >>> x = torch.randn(2, 3, 16, dtype=torch.float64)
    >>> bool(loss(x, x) < 1e-20)
    True
    """

    def __init__(
        self,
        dim: int = 2,
        penalty: str | torch.Tensor = "gaussian",
        filter_shape: int | Sequence[int] | None = None,
        *,
        sigma: float = 0.5,
        reduction: str = "mean",
        direction: str = "target_to_prediction",
        cache_target: bool = False,
        options: WienerOptions | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        self.dim = _check_dim(dim)
        self.options = WienerOptions.of(options, **settings)
        self.options.resolve(self.dim, (1,) * self.dim)  # a 1D-only solver for images: refuse now
        self.reduction = as_choice(reduction, "reduction", REDUCTIONS)
        self.direction = as_choice(direction, "direction", DIRECTIONS)
        if isinstance(penalty, torch.Tensor):
            _check_penalty(penalty, self.dim)
            self.penalty_kind = None
        else:
            self.penalty_kind = as_choice(penalty, "penalty", PENALTIES)
        self._penalty = penalty if isinstance(penalty, torch.Tensor) else None
        self.filter_shape = filter_shape
        self.sigma = as_real_number(sigma, "sigma", strict=True)
        if not isinstance(cache_target, bool):
            raise TypeError(f"cache_target must be True or False, got {cache_target!r}")
        self.cache_target = cache_target
        self.factorisations = 0  # WienerFactor objects built by the target cache
        self._target_factor: WienerFactor | None = None
        self._target_key: tuple = ()
        self._penalties: dict[tuple, torch.Tensor] = {}

    def penalty(self, filter_shape: Sequence[int]) -> torch.Tensor:
        """The penalty T for filters of ``filter_shape``."""
        if self._penalty is not None:
            return self._penalty
        return make_penalty(self.penalty_kind, tuple(filter_shape), self.sigma)

    def _penalty_like(self, w: torch.Tensor) -> torch.Tensor:
        shape = tuple(w.shape[-self.dim :])
        if self._penalty is not None:
            return self._penalty.to(dtype=w.dtype, device=w.device)
        key = (self.penalty_kind, self.sigma, shape, w.dtype, w.device)
        if key not in self._penalties:  # a pure function of the key: safe to keep
            self._penalties[key] = self.penalty(shape).to(dtype=w.dtype, device=w.device)
        return self._penalties[key]

    def target_factor(self, target: torch.Tensor) -> WienerFactor:
        """The (cached) :class:`WienerFactor` of ``target``: reused while the target's values and
        the loss's settings are unchanged, recomputed otherwise."""
        key = (self.filter_shape, self.dim, self.options)
        fac = self._target_factor
        if fac is None or self._target_key != key or not fac.matches(target):
            fac = WienerFactor(target, self.filter_shape, dim=self.dim, options=self.options)
            self._target_factor, self._target_key = fac, key
            self.factorisations += 1
        return fac

    def filter(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The Wiener filter mapping ``a`` onto ``b`` with this loss's settings."""
        return wiener_filter(a, b, self.filter_shape, dim=self.dim, options=self.options)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        prediction = as_real_tensor(prediction, "prediction")
        target = as_real_tensor(target, "target")
        _check_pair(prediction, target, self.dim, names=("prediction", "target"))
        why = "the Wiener filter would be zero and the loss 0/0"
        _check_nonzero(prediction, self.dim, "prediction", why)
        fac = self._target_factor
        if not (self.cache_target and fac is not None and fac.matches(target)):
            _check_nonzero(target, self.dim, "target", why)  # (a cached one was checked)
        pairs = {
            "target_to_prediction": [(target, prediction)],
            "prediction_to_target": [(prediction, target)],
            "symmetric": [(target, prediction), (prediction, target)],
        }[self.direction]
        values = []
        for a, b in pairs:
            if self.cache_target and a is target and self.options.solver != "dense":
                w = self.target_factor(target).filter(b, a=target)
            else:
                w = self.filter(a, b)
            values.append(_filter_penalty(w, self._penalty_like(w)))
        f = sum(values) / len(values)
        if self.reduction == "mean":
            return f.mean()
        if self.reduction == "sum":
            return f.sum()
        return f

    def extra_repr(self) -> str:
        kind = self.penalty_kind or "custom"
        return (
            f"dim={self.dim}, penalty={kind}, solver={self.options.solver}, "
            f"direction={self.direction}, cache_target={self.cache_target}"
        )
