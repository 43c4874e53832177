"""The Wiener filter: the dense reference, the FFT approximation, every solver behind one
function, and the lecture's own method."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from convlab._validate import as_choice, as_real_tensor, as_shape, as_size, check_cost
from convlab.wiener.block import _block_grid
from convlab.wiener.convolution import _crop, _fft_grid, _irfft, _place, _rfft
from convlab.wiener.options import (
    SOLVERS,
    WienerOptions,
    _check_dim,
    _check_finite,
    _check_nonzero,
    _check_pair,
    _filter_shape,
    zero_lag_index,
)
from convlab.wiener.solvers import _NormalSolve

#: the iterations :func:`solve_cost` assumes for "cg" (its cost per iteration is known, the count
#: depends on the conditioning: 40-60 on white noise, 100-350 on images)
CG_NOMINAL_ITERATIONS = 100


def _dense_matrix(a: torch.Tensor, m: tuple[int, ...], window: bool = False) -> torch.Tensor:
    """Batched explicit A: (..., prod(n + m - 1), prod(m)), by one vectorised gather.

    ``window=True``: only the rows of b's window (offset = zero-lag index), (..., prod(n),
    prod(m)); row i is ``(A^T b_pad)`` for b = the i-th unit vector (C-order).
    """
    n = tuple(a.shape[-len(m) :])
    P = n if window else tuple(ni + mi - 1 for ni, mi in zip(n, m))
    start = zero_lag_index(m) if window else (0,) * len(m)
    grids_k = torch.meshgrid(*[torch.arange(s, s + p) for s, p in zip(start, P)], indexing="ij")
    grids_j = torch.meshgrid(*[torch.arange(q) for q in m], indexing="ij")
    flat = torch.zeros((math.prod(P), math.prod(m)), dtype=torch.long)
    inside = torch.ones_like(flat, dtype=torch.bool)
    for ax in range(len(m)):
        i = grids_k[ax].reshape(-1, 1) - grids_j[ax].reshape(1, -1)  # i = k - j per axis
        inside &= (i >= 0) & (i < n[ax])
        flat = flat * n[ax] + i
    flat = torch.where(inside, flat, math.prod(n)).to(a.device)
    a_pad = torch.cat(
        [a.reshape(*a.shape[: a.ndim - len(m)], -1), a.new_zeros((*a.shape[: -len(m)], 1))], -1
    )
    return a_pad[..., flat]


def dense_bytes(n: Sequence[int], m: Sequence[int] | None = None) -> int:
    """Bytes the "dense" solver needs per batch item (float64 A, A^T A and index array)."""
    n, m = _shapes(n, m)
    rows = math.prod(ni + mi - 1 for ni, mi in zip(n, m))
    cols = math.prod(m)
    return 8 * (2 * rows * cols + 2 * cols * cols)


def _shapes(n: Any, m: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Signal and filter shapes (``m`` None: the signal's), validated, with as many axes."""
    n = as_shape(n, "n")
    return n, n if m is None else as_shape(m, "m", ndim=len(n))


def solve_cost(n: Sequence[int], m: Sequence[int], solver: str) -> tuple[int, float]:
    """Estimated peak bytes and floating-point operations of one filter with a resolved
    ``solver`` (forward; the backward costs about as much again), per batch item.

    The one place where the package estimates what a Wiener solve costs before it starts
    (:func:`check_solve_cost` refuses what exceeds the limits). Orders of magnitude: dense
    ``2 (n+m-1) m^2 + m^3 / 3``, cholesky ``m^3 / 12`` and ``8 m^2`` bytes, levinson and the gs
    generator ``4 m^2`` (1D), the 2D gs set-up (block Levinson) ``2 m1^2 m2^3`` and its stored
    ``X̂`` ``16 (m1 + 1) m2^2`` bytes, cg ``CG_NOMINAL_ITERATIONS`` iterations of 4 FFTs, fft 3
    FFTs, an FFT on the grid S costing ``5 S log2 S``. Here ``m`` is the number of taps.
    """
    n, m = _shapes(n, m)
    solver = as_choice(solver, "solver", SOLVERS)
    taps, S = math.prod(m), math.prod(_fft_grid(n, m))
    fft = 5.0 * S * math.log2(max(S, 2))
    if solver == "dense":
        rows = math.prod(ni + mi - 1 for ni, mi in zip(n, m))
        return dense_bytes(n, m), 2.0 * rows * taps**2 + taps**3 / 3
    if solver == "cholesky":
        return 24 * taps**2, taps**3 / 12 + 4.0 * taps**2
    if solver == "gs" and len(m) == 2:  # block Levinson set-up, the stored X̂, its workspace
        m1, m2 = m
        F = _block_grid(m1) // 2 + 1
        return (16 * F + 32 * m1) * m2**2 + 16 * 8 * S, 2.0 * m1**2 * m2**3 + 12 * fft
    if solver in ("levinson", "gs"):
        return 16 * 8 * S, 4.0 * taps**2 + 12 * fft
    if solver == "cg":
        return 16 * 8 * S, 4 * CG_NOMINAL_ITERATIONS * fft
    return 8 * 8 * S, 3 * fft  # fft


def check_solve_cost(n: Sequence[int], m: Sequence[int], solver: str, batch: int = 1) -> None:
    """Refuse, before allocating anything, a solve estimated (:func:`solve_cost`) to exceed the
    package's cost limits (:func:`convlab._validate.check_cost`), saying what to do instead."""
    n, m = _shapes(n, m)
    batch = as_size(batch, "batch")
    need, flops = (batch * c for c in solve_cost(n, m, solver))
    instead = {
        "dense": "solver='gs' or 'cg' (matrix-free)",
        "cholesky": "solver='cg' (matrix-free)",
    }.get(solver, "a smaller filter_shape or solver='fft' (approximate)")
    what = f"solver={solver!r} for {batch} signal(s) of shape {tuple(n)} and filters of shape "
    what += f"{tuple(m)}"
    check_cost(what, nbytes=need, ops=flops, alternative=f"use {instead}")


def _dense_filter(a, b, m, epsilon):
    d = len(m)
    n = tuple(a.shape[-d:])
    A = _dense_matrix(a, m)
    P = tuple(ni + mi - 1 for ni, mi in zip(n, m))
    b_pad = _place(b, P, zero_lag_index(m)).reshape(*b.shape[:-d], -1)
    R = A.transpose(-1, -2) @ A
    g = (A.transpose(-1, -2) @ b_pad.unsqueeze(-1)).squeeze(-1)
    if epsilon:
        r0 = a.reshape(*a.shape[:-d], -1).square().sum(-1)
        R = R + (epsilon * r0)[..., None, None] * torch.eye(R.shape[-1], dtype=R.dtype)
    L, info = torch.linalg.cholesky_ex(R)
    if (info > 0).any():
        raise ValueError(
            "the normal matrix A^T A is not numerically positive definite (a is (nearly) zero "
            "or badly scaled); use epsilon > 0"
        )
    w = torch.cholesky_solve(g.unsqueeze(-1), L).squeeze(-1)
    return w.reshape(*a.shape[:-d], *m)


def _fft_filter(a, b, m, epsilon):
    d = len(m)
    n = tuple(a.shape[-d:])
    S = _fft_grid(n, m)
    A_hat = _rfft(a, S)
    B_hat = _rfft(_place(b, S, zero_lag_index(m)), S)
    r0 = a.reshape(*a.shape[:-d], -1).square().sum(-1).reshape(a.shape[:-d] + (1,) * d)
    W = A_hat.conj() * B_hat / (A_hat.abs().square() + epsilon * r0)
    return _crop(_irfft(W, S), m)


def wiener_filter(
    a: Any,
    b: Any,
    filter_shape: int | Sequence[int] | None = None,
    *,
    dim: int = 1,
    options: WienerOptions | None = None,
    **settings: Any,
) -> torch.Tensor:
    """The Wiener filter ``w`` with ``a * w ≈ b``: ``w = (A^T A)^{-1} A^T b_pad`` (see module doc).

    Parameters
    ----------
    a, b : signals of the same shape ``(..., n)`` (dim=1) or ``(..., n1, n2)`` (dim=2); leading
        axes are batch axes. Tensors (differentiable), arrays or lists.
    filter_shape : filter length / shape m, default the signal shape (the lecture's choice).
        Zero lag sits at index ``(m - 1) // 2``.
    dim : 1 (signals) or 2 (images).
    options, **settings : a :class:`WienerOptions` and/or its fields as keywords (``solver``,
        ``epsilon``, ``tol``, ``maxiter``, ``preconditioner``; keywords win).

    Returns
    -------
    torch.Tensor ``(..., *m)`` in the dtype of ``a`` (computed in float64).

    Examples
    --------
    >>> x = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    >>> w = wiener_filter(x, x)            # same input and output: a delta at zero lag
    >>> bool(torch.allclose(w, torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)))
    True
    """
    dim = _check_dim(dim)
    a, b = as_real_tensor(a, "a"), as_real_tensor(b, "b")
    _check_pair(a, b, dim)
    m = _filter_shape(filter_shape, tuple(a.shape[-dim:]))
    opts = WienerOptions.of(options, **settings).resolve(dim, m)
    solver, epsilon = opts.solver, opts.epsilon
    check_solve_cost(a.shape[-dim:], m, solver, math.prod(a.shape[:-dim]))
    _check_nonzero(a, dim, "a", "the normal matrix A^T A is singular (no unique filter)")
    _check_finite(b, "b")
    out_dtype = a.dtype
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    if solver == "dense":
        w = _dense_filter(a64, b64, m, epsilon)
    elif solver == "fft":
        w = _fft_filter(a64, b64, m, epsilon)
    else:
        S = _fft_grid(tuple(a.shape[-dim:]), m)
        g = _crop(_irfft(_rfft(a64, S).conj() * _rfft(_place(b64, S, zero_lag_index(m)), S), S), m)
        w = _NormalSolve.apply(a64, g, dim, opts)
    return w.to(out_dtype)


def lecture_wiener_filter(a: torch.Tensor, b: torch.Tensor, method: str = "loop") -> torch.Tensor:
    """The lecture's Wiener filter, kept for the performance lesson: one item at a time, explicit
    Toeplitz matrix, ``w = inverse(A^T A) @ A^T b_pad`` (differentiable by autograd).

    ``method``: "loop" or "roll" (1D: ``a``, ``b`` of shape (..., n), filter length n) or "2d"
    (doubly-blocked loop; ``a``, ``b`` of shape (..., n1, n2), filter shape (n1, n2)). Leading
    axes are looped over in Python, as in the lecture. Same answer as
    ``wiener_filter(a, b, solver="dense")``, much slower.
    """
    from convlab.toeplitz import doubly_blocked_toeplitz, full_conv_matrix

    method = as_choice(method, "method", ("loop", "roll", "2d"))
    d = 2 if method == "2d" else 1
    a, b = as_real_tensor(a, "a"), as_real_tensor(b, "b")
    _check_pair(a, b, d)
    _check_nonzero(a, d, "a", "the normal matrix A^T A is singular (no unique filter)")
    _check_finite(b, "b")
    n = tuple(a.shape[-d:])
    c = zero_lag_index(n)
    P = tuple(2 * k - 1 for k in n)
    flat_a, flat_b = a.reshape(-1, *n), b.reshape(-1, *n)
    out = []
    for x, y in zip(flat_a, flat_b):
        A = (
            doubly_blocked_toeplitz(x, method="loop")
            if d == 2
            else full_conv_matrix(x, method=method)
        )
        b_pad = _place(y, P, c).reshape(-1)
        R = A.T @ A
        out.append((torch.inverse(R) @ (A.T @ b_pad)).reshape(n))
    return torch.stack(out).reshape(a.shape)


def fft_filter_error(a: Any, b: Any, filter_shape=None, *, dim: int = 1, epsilon: float = 1e-6):
    """Relative distance ``||w_fft - w_exact|| / ||w_exact||`` per batch item (float64 tensor)."""
    exact = wiener_filter(a, b, filter_shape, dim=dim, solver="cholesky" if dim == 2 else "gs")
    approx = wiener_filter(a, b, filter_shape, dim=dim, solver="fft", epsilon=epsilon)
    flat = lambda x: x.reshape(*x.shape[: x.ndim - dim], -1).double()  # noqa: E731
    return (flat(approx) - flat(exact)).norm(dim=-1) / flat(exact).norm(dim=-1)
