"""Periodic FFT convolution as a ``torch.autograd.Function`` with a hand-derived backward.

``periodic_conv(y, theta)`` computes ``z = K(theta) y`` for a 1D stencil (``theta`` of shape
``(L,)``, signals along the last axis of ``y``) or a 2D stencil (``(L1, L2)``, images in the last
two axes); leading axes of ``y`` are examples (a batch). Same conventions as
:mod:`convlab.conv`: **convolution** centred at ``L // 2``, periodic boundary, ``torch.fft`` with
``norm="backward"``.

The backward is the lecture's derivation, not autograd's::

    grad_y     = K(theta)^T g           = real(ifft(conj(lam) * fft(g)))
    grad_theta = J_theta(K(theta) y)^T g = Q^T real(ifft(sum_b conj(fft(y_b)) * fft(g_b)))

(computed with ``rfftn``/``irfftn``: for real signals the half spectrum gives the same result
at half the cost).

with ``lam = fft(Q theta)`` and ``Q^T`` = "roll back by L//2 and crop". It is written with
differentiable torch operations, so double backward (``gradgradcheck``) works, and the Function
has a ``jvp`` (forward mode: ``K(theta) y_t + K(theta_t) y``) and the new-style
``setup_context``, so ``torch.func.vjp``/``jvp`` work on it.

Examples
--------
>>> import torch
>>> y = torch.randn(4, 16, dtype=torch.float64, requires_grad=True)
>>> theta = torch.randn(3, dtype=torch.float64, requires_grad=True)
>>> torch.autograd.gradcheck(periodic_conv, (y, theta))
True
>>> z = periodic_conv(y, theta)
>>> bool(torch.allclose(z, circular_conv_reference(y, theta)))
True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["PeriodicConv", "circular_conv_reference", "periodic_conv"]


def _dims(theta: torch.Tensor) -> tuple[int, ...]:
    return tuple(range(-theta.ndim, 0))


def _first_column(theta: torch.Tensor, n: tuple[int, ...]) -> torch.Tensor:
    """``K(theta) u_1 = Q theta`` as an image: zero-pad to ``n``, circshift the centre to 0."""
    pad: list[int] = []
    for Lk, nk in zip(reversed(theta.shape), reversed(n)):
        pad += [0, nk - Lk]
    col = F.pad(theta, pad)
    return torch.roll(col, shifts=tuple(-(Lk // 2) for Lk in theta.shape), dims=_dims(theta))


def _first_column_T(g: torch.Tensor, L: tuple[int, ...]) -> torch.Tensor:
    """``Q^T g``: the adjoint of :func:`_first_column` (roll back, crop)."""
    d = len(L)
    g = torch.roll(g, shifts=tuple(Lk // 2 for Lk in L), dims=tuple(range(-d, 0)))
    return g[(..., *(slice(0, Lk) for Lk in L))]


def _apply(theta: torch.Tensor, y: torch.Tensor, *, transpose: bool = False) -> torch.Tensor:
    # Real signals: the half spectrum (rfftn) holds all the information and costs half as much;
    # irfftn(..., s=n) returns real(ifftn(lam * fftn(y))) exactly.
    dims = _dims(theta)
    n = tuple(y.shape[-theta.ndim :])
    lam = torch.fft.rfftn(_first_column(theta, n), dim=dims)
    if transpose:
        lam = lam.conj()
    return torch.fft.irfftn(lam * torch.fft.rfftn(y, dim=dims), s=n, dim=dims)


class PeriodicConv(torch.autograd.Function):
    """``z = K(theta) y`` by FFT; backward = ``(K^T g, J^T g)`` derived by hand (see module)."""

    @staticmethod
    def forward(y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        _validate(y, theta)  # shapes and dtypes only: a longer stencil was silently cropped
        return _apply(theta, y)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, torch.Tensor], output: Any) -> None:
        y, theta = inputs
        ctx.save_for_backward(y, theta)
        ctx.save_for_forward(y, theta)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        y, theta = ctx.saved_tensors
        grad_y = grad_theta = None
        if ctx.needs_input_grad[0]:
            grad_y = _apply(theta, g, transpose=True)  # K^T g: conj(lam)
        if ctx.needs_input_grad[1]:
            dims = _dims(theta)
            batch = tuple(range(y.ndim - theta.ndim))
            # sum over the examples in Fourier space, then one inverse FFT
            G = torch.fft.rfftn(y, dim=dims).conj() * torch.fft.rfftn(g, dim=dims)
            if batch:  # (careful: torch's sum(dim=()) would sum over everything)
                G = G.sum(dim=batch)
            n = tuple(y.shape[-theta.ndim :])
            grad_theta = _first_column_T(torch.fft.irfftn(G, s=n, dim=dims), tuple(theta.shape))
        return grad_y, grad_theta

    @staticmethod
    def jvp(ctx: Any, y_t: torch.Tensor | None, theta_t: torch.Tensor | None) -> torch.Tensor:
        y, theta = ctx.saved_tensors
        out = torch.zeros_like(y)
        if y_t is not None:
            out = out + _apply(theta, y_t)
        if theta_t is not None:
            out = out + _apply(theta_t, y)  # K is linear in theta: d/dtheta K(theta) y = K(t) y
        return out


def _validate(y: Any, theta: Any) -> None:
    if not isinstance(y, torch.Tensor) or not isinstance(theta, torch.Tensor):
        raise TypeError(
            f"y and theta must be torch tensors, got {type(y).__name__}, {type(theta).__name__}"
        )
    if theta.ndim not in (1, 2) or theta.numel() == 0:
        raise ValueError(
            f"theta must be a non-empty 1-D or 2-D stencil, got shape {tuple(theta.shape)}"
        )
    if y.ndim < theta.ndim:
        raise ValueError(
            f"y must have at least {theta.ndim} axes for a {theta.ndim}-D stencil, "
            f"got shape {tuple(y.shape)}"
        )
    if y.is_complex() or theta.is_complex() or not y.is_floating_point():
        raise TypeError(f"y and theta must be real floating tensors, got {y.dtype}, {theta.dtype}")
    if y.dtype != theta.dtype:
        raise TypeError(f"y and theta must have the same dtype, got {y.dtype} and {theta.dtype}")
    n = tuple(y.shape[-theta.ndim :])
    if any(Lk > nk for Lk, nk in zip(theta.shape, n)):
        raise ValueError(
            f"theta {tuple(theta.shape)} is larger than the periodic signal: y has {n} "
            "samples along the stencil's axes"
        )


def periodic_conv(y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """``K(theta) y``: periodic convolution of the last ``theta.ndim`` axes of ``y`` (FFT)."""
    return PeriodicConv.apply(y, theta)


def circular_conv_reference(y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """The same convolution with ``torch.nn.functional.conv1d``/``conv2d`` (independent path).

    ``F.conv*`` is a **correlation**, so the stencil is flipped; circular padding of
    ``L - 1 - L//2`` before and ``L//2`` after each axis reproduces the centre ``L // 2``.
    """
    _validate(y, theta)
    d = theta.ndim
    batch = y.shape[:-d]
    x = y.reshape(-1, 1, *y.shape[-d:])
    pad: list[int] = []
    for Lk in reversed(theta.shape):
        pad += [Lk - 1 - Lk // 2, Lk // 2]
    x = F.pad(x, pad, mode="circular")
    w = theta.flip(_dims(theta))[None, None]
    out = F.conv1d(x, w) if d == 1 else F.conv2d(x, w)
    return out.reshape(*batch, *y.shape[-d:])
