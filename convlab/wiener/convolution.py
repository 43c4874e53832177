"""FFT building blocks, batched over leading axes: the grid, padding, full convolution."""

from __future__ import annotations

import functools
from typing import Any

import scipy.fft
import torch

from convlab._validate import as_real_tensor
from convlab.wiener.options import _check_dim, zero_lag_index


def _dims(d: int) -> tuple[int, ...]:
    return tuple(range(-d, 0))


@functools.lru_cache(maxsize=256)
def _fft_grid(n: tuple[int, ...], m: tuple[int, ...]) -> tuple[int, ...]:
    """The FFT grid S per axis: the smallest 2/3/5-smooth length >= max(n + m - 1, 2m - 1).

    S >= n + m - 1: A w and A^T b without wrap-around; S >= 2m - 1: circulant embedding of R. Any
    such S gives the *same* exact products, and a prime S (e.g. 47 = 24 + 24 - 1) would make
    every FFT several times slower (Bluestein). The "fft" solver's answer is the circulant
    approximation on this grid (it depends on S, weakly)."""
    return tuple(
        scipy.fft.next_fast_len(max(ni + mi - 1, 2 * mi - 1), real=True) for ni, mi in zip(n, m)
    )


def _crop(x: torch.Tensor, shape: tuple[int, ...], start: tuple[int, ...] | None = None):
    start = start or (0,) * len(shape)
    index = (Ellipsis, *tuple(slice(s, s + k) for s, k in zip(start, shape)))
    return x[index]


def _place(b: torch.Tensor, S: tuple[int, ...], offset: tuple[int, ...]) -> torch.Tensor:
    """b (..., *n) placed at ``offset`` inside zeros of shape (..., *S)."""
    pad: list[int] = []
    for s, o, k in zip(reversed(S), reversed(offset), reversed(b.shape[-len(S) :])):
        pad += [o, s - o - k]
    return torch.nn.functional.pad(b, pad)


def _rfft(x: torch.Tensor, S: tuple[int, ...]) -> torch.Tensor:
    return torch.fft.rfftn(x, s=S, dim=_dims(len(S)))


def _irfft(X: torch.Tensor, S: tuple[int, ...]) -> torch.Tensor:
    return torch.fft.irfftn(X, s=S, dim=_dims(len(S)))


def _normal_matvec(spec, ridge, v, S, m):
    # (R v)[j] = sum_l r[j - l] v[l]: circulant embedding of size S, eigenvalues |â|^2.
    return _crop(_irfft(spec * _rfft(v, S), S), m) + ridge * v


def _lag_block(a: torch.Tensor, m: tuple[int, ...]) -> torch.Tensor:
    """Autocorrelation lags ``rr[..., k + m - 1] = r[k]`` for ``|k| < m`` per axis, contiguous.

    ``r[k] = sum_i a[i] a[i + k]`` (over all axes) from one FFT pair on a fast grid; the lags
    sit at ``k mod S`` of the circular autocorrelation, exact because ``S >= n + m - 1``.
    """
    d = len(m)
    S = _fft_grid(tuple(a.shape[-d:]), m)
    r = _irfft(_rfft(a, S).abs().square(), S)
    rr = torch.roll(r, shifts=tuple(mi - 1 for mi in m), dims=_dims(d))
    return _crop(rr, tuple(2 * mi - 1 for mi in m)).contiguous()


def full_convolution(a: Any, w: Any, *, dim: int = 1) -> torch.Tensor:
    """``conv(a, w, 'full')`` over the last ``dim`` axes, by FFT (batched; equals ``A @ w``)."""
    dim = _check_dim(dim)
    a, w = _signal(a, "a", dim), _signal(w, "w", dim)
    n, m = tuple(a.shape[-dim:]), tuple(w.shape[-dim:])
    S = tuple(ni + mi - 1 for ni, mi in zip(n, m))
    return _irfft(_rfft(a, S) * _rfft(w, S), S)


def _signal(x: Any, name: str, dim: int) -> torch.Tensor:
    """``x`` as a real tensor with at least ``dim`` axes and no empty one."""
    x = as_real_tensor(x, name)
    if x.ndim < dim or x.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty signal with at least {dim} axes, got shape "
            f"{tuple(x.shape)}"
        )
    return x


def apply_filter(a: Any, w: Any, *, dim: int = 1) -> torch.Tensor:
    """``A w`` restricted to the window of ``b`` (offset = zero-lag index): what w makes of a.

    For the Wiener filter ``w`` of ``(a, b)``, ``apply_filter(a, w) ≈ b``; for ``a == b`` it
    returns ``a`` (the lecture's "convolving the filter with the image returns the image").
    """
    dim = _check_dim(dim)
    full = full_convolution(a, w, dim=dim)
    n, m = tuple(_signal(a, "a", dim).shape[-dim:]), tuple(_signal(w, "w", dim).shape[-dim:])
    return _crop(full, n, zero_lag_index(m))
