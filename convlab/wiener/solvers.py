"""Solvers for ``(R + ridge I) x = rhs``, ``R = A(a)^T A(a)`` (numeric, no autograd), and the
autograd function with the implicit backward that reuses them."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.linalg.blas
import torch

from convlab._validate import as_choice, as_real_number, as_shape, check_cost
from convlab.wiener.block import _BlockGohbergSemencul
from convlab.wiener.convolution import (
    _crop,
    _dims,
    _fft_grid,
    _irfft,
    _lag_block,
    _normal_matvec,
    _rfft,
    _signal,
)
from convlab.wiener.options import WienerOptions, _check_dim, _check_finite, _check_nonzero
from convlab.wiener.schur import toeplitz_generator


@dataclass
class SolveInfo:
    """What a solve did: solver, CG iterations (max over the batch) and final relative residual."""

    solver: str
    iterations: int = 0
    relative_residual: float = 0.0
    converged: bool = True
    factor: Any = field(default=None, repr=False)  # Cholesky factors, reused backward


def _chan_eigenvalues(spec, ridge, S, m):
    """Eigenvalues of T. Chan's optimal (level-2 in 2D) circulant approximation of R + ridge I.

    1D: ``c[k] = ((m - k) r[k] + k r[k - m]) / m``, k = 0..m-1, applied axis by axis in 2D.
    Its eigenvalues are Rayleigh quotients of R with Fourier vectors, hence positive.
    """
    r = _irfft(spec, S)  # circular autocorrelation; lag k at index k mod S (exact for |k| < m)
    for axis, (_s, mi) in enumerate(zip(S, m)):
        ax = r.ndim - len(S) + axis
        k = torch.arange(mi, device=r.device, dtype=r.dtype)
        shape = [1] * r.ndim
        shape[ax] = mi
        k = k.reshape(shape)
        pos = r.narrow(ax, 0, mi)  # r[k]
        neg = torch.roll(r, shifts=mi, dims=ax).narrow(ax, 0, mi)  # r[(k - m) mod S]
        r = ((mi - k) * pos + k * neg) / mi
    lam = torch.fft.fftn(r, dim=_dims(len(S))).real
    return lam + ridge


#: conjugate gradients restarts from the true residual at most this often when the recursive one
#: has converged but the true one has not (rounding: 2D images at 128 px stalled near 1e-10)
CG_RESTARTS = 3


def _pcg(spec, ridge, rhs, S, m, tol, maxiter, preconditioner):
    """Batched preconditioned conjugate gradients (float64, torch)."""
    d = len(m)
    dims = _dims(d)
    flat = lambda x: x.reshape(*x.shape[: x.ndim - d], -1)  # noqa: E731
    dot = lambda x, y: (flat(x) * flat(y)).sum(-1).reshape(x.shape[: x.ndim - d] + (1,) * d)  # noqa: E731
    if preconditioner:
        lam = _chan_eigenvalues(spec, ridge, S, m)

        def M(v):
            return torch.fft.ifftn(torch.fft.fftn(v, dim=dims) / lam, dim=dims).real
    else:

        def M(v):
            return v

    x = torch.zeros_like(rhs)
    rhs_norm = dot(rhs, rhs).sqrt()
    rhs_norm = torch.where(rhs_norm > 0, rhs_norm, torch.ones_like(rhs_norm))
    res, it = rhs.clone(), 0
    for _restart in range(CG_RESTARTS + 1):
        # (re)start from the true residual: the recursive one drifts below what x attains
        z = M(res)
        p = z.clone()
        rz = dot(res, z)
        relres = (dot(res, res).sqrt() / rhs_norm).max().item()
        while relres > tol and it < maxiter:
            q = _normal_matvec(spec, ridge, p, S, m)
            pq = dot(p, q)
            alpha = torch.where(pq > 0, rz / torch.where(pq > 0, pq, torch.ones_like(pq)), 0.0)
            x = x + alpha * p
            res = res - alpha * q
            z = M(res)
            rz_new = dot(res, z)
            beta = torch.where(rz > 0, rz_new / torch.where(rz > 0, rz, torch.ones_like(rz)), 0.0)
            p = z + beta * p
            rz = rz_new
            it += 1
            relres = (dot(res, res).sqrt() / rhs_norm).max().item()
        res = rhs - _normal_matvec(spec, ridge, x, S, m)
        relres = (dot(res, res).sqrt() / rhs_norm).max().item()
        if relres <= 10 * tol or it >= maxiter:
            break
    return x, SolveInfo("cg", it, relres, relres <= 10 * tol)


def _toeplitz_lags(spec, ridge, S, m):
    """The first column ``r[0..m-1] + ridge e_0`` of the 1D normal matrix (a fresh tensor)."""
    if len(m) != 1:
        raise ValueError(
            "solver 'levinson' is for 1D filters only (the 2D normal matrix is block Toeplitz); "
            "use solver='gs', 'cg', 'cholesky' or 'dense'"
        )
    r = _crop(_irfft(spec, S), m).clone()  # autocorrelation lags 0..m-1
    r[..., 0] += ridge.reshape(r.shape[:-1])
    return r


def _levinson(spec, ridge, rhs, S, m):
    r = _toeplitz_lags(spec, ridge, S, m).detach().cpu().numpy()
    g = rhs.detach().cpu().numpy()
    out = np.empty_like(g)
    for idx in np.ndindex(g.shape[:-1]):
        out[idx] = scipy.linalg.solve_toeplitz((r[idx], r[idx]), g[idx], check_finite=False)
    return torch.from_numpy(out).to(rhs.device), SolveInfo("levinson")


def _reversed_normal_matrix(a: torch.Tensor, m: tuple[int, ...], epsilon: float) -> torch.Tensor:
    """``J (A^T A + ε r0 I)``: the normal matrix with its rows in reverse order, (..., N, N).

    With ``rr`` the lag block (:func:`_lag_block`), ``H[j', l] = rr[j' + l]`` (multi-indices) is
    a multilevel Hankel *view* of rr, and since r is even,
    ``H[j', l] = r[j' + l - (m - 1)] = r[(m - 1 - j') - l] = R[m - 1 - j', l]``: H is R with the
    rows reversed (flat row j -> N - 1 - j). One strided copy, no index tables, no flip.
    """
    d = len(m)
    rr = _lag_block(a, m)
    nb = rr.ndim - d
    lag_strides = rr.stride()[nb:]
    H = rr.as_strided((*rr.shape[:nb], *m, *m), (*rr.stride()[:nb], *lag_strides, *lag_strides))
    N = math.prod(m)
    JR = H.clone(memory_format=torch.contiguous_format).reshape(*rr.shape[:nb], N, N)  # one copy
    if epsilon:
        r0 = a.flatten(-d).square().sum(-1)
        idx = torch.arange(N, device=JR.device)
        JR[..., N - 1 - idx, idx] += (epsilon * r0)[..., None]
    return JR


def normal_matrix(a: torch.Tensor, m: Sequence[int], *, epsilon: float = 0.0) -> torch.Tensor:
    """The explicit (batched) normal matrix ``A^T A + ε r0 I`` of ``a``, built from the
    autocorrelation lags (``R[j, l] = r[j - l]``, C-order in 2D), without forming A."""
    m = as_shape(m, "m")
    a = _signal(a, "a", len(m))
    _check_finite(a, "a")
    epsilon = as_real_number(epsilon, "epsilon")
    N, batch = math.prod(m), math.prod(a.shape[: a.ndim - len(m)])
    check_cost(
        f"the normal matrix of {batch} signal(s) for filters of shape {m} ({N} x {N})",
        nbytes=2 * 8 * batch * N * N,
        alternative="use a smaller m or a matrix-free solver (wiener_filter(solver='cg'))",
    )
    return _reversed_normal_matrix(a, m, epsilon).flip(-2)


def _rhs_axes(M: torch.Tensor | None, y: torch.Tensor, core: int) -> torch.Tensor | None:
    """M (batch..., *core axes) broadcast against y (batch..., extra..., N): unsqueeze extras."""
    if M is None:
        return None
    extra = (y.ndim - 1) - (M.ndim - core)
    return M.reshape(*M.shape[: M.ndim - core], *(1,) * extra, *M.shape[M.ndim - core :])


class _CentroCholesky:
    """Cholesky factors of a symmetric *centrosymmetric* SPD matrix R, split in two halves.

    R = A^T A is centrosymmetric: reversing every axis of the filter (flat index j -> N-1-j)
    maps ``R[j, l] = r[j - l]`` to ``r[l - j] = r[j - l]``. With ``J`` the reversal, h = N // 2,
    and R = [[A, B], [J B J, J A J]] (N even), the orthogonal change of variables
    ``s = x1 + J x2``, ``t = x1 - J x2`` splits ``R x = y`` into two SPD systems of half size::

        (A + B J) s = y1 + J y2,      (A - B J) t = y1 - J y2,      x1 = (s+t)/2, J x2 = (s-t)/2

    For odd N the middle unknown x_c joins the first system, symmetrised with sqrt(2):
    ``[[A + B J, sqrt2 b], [sqrt2 b^T, c]] [s; sqrt2 x_c] = [y1 + J y2; sqrt2 y_c]``.
    Two Cholesky factorisations of size N/2 cost a quarter of one of size N.

    Built from ``JR = J R`` (:func:`_reversed_normal_matrix`): ``R[i, :] = JR[N - 1 - i, :]``.
    """

    def __init__(self, JR: torch.Tensor) -> None:
        N = JR.shape[-1]
        h, odd = N // 2, N % 2
        low = JR[..., N - h :, :]  # rows h'..N-1 of J R = rows h-1..0 of R (reversed)
        A_rev, BJ_rev = low[..., :h], low[..., N - h :].flip(-1)  # A and B J, rows reversed
        P, M = (A_rev + BJ_rev).flip(-2), (A_rev - BJ_rev).flip(-2)
        if odd:  # P gets the middle unknown; M is padded with an identity row/column
            b = low[..., h : h + 1].flip(-2) * math.sqrt(2.0)  # sqrt2 R[:h, h]
            top = torch.cat([P, b], dim=-1)
            bottom = torch.cat([b.transpose(-1, -2), JR[..., h : h + 1, h : h + 1]], dim=-1)
            P = torch.cat([top, bottom], dim=-2)
            M = torch.nn.functional.pad(M, (0, 1, 0, 1))
            M[..., h, h] = 1.0
        self.N, self.h, self.odd = N, h, odd
        # both halves (same size) in one batched factorisation
        L, info = torch.linalg.cholesky_ex(torch.stack([P, M], dim=-3))
        if (info > 0).any():
            raise ValueError(
                "the normal matrix A^T A is not numerically positive definite (a is (nearly) "
                "zero or badly scaled); use epsilon > 0"
            )
        # the transposed factor stored contiguous: two triangular solves per call (10 ms at
        # N = 4096, where cholesky_solve or products with L^{-1} take 100-150 ms)
        self.L, self.U = L, L.mT.contiguous()
        self.inverse: torch.Tensor | None = None

    def invert(self) -> None:
        """Store the two half-size inverses, for a factor reused across many calls: a solve is
        then one symmetric matrix-vector product per half (BLAS ``dsymv`` on the CPU, which reads
        one triangle: 0.6 ms at half size 2048, where the two triangular solves take 2.3 ms),
        instead of two triangular solves. Costs one more ``O(N^3)`` pass; the inverses replace
        the factors (half the memory: L and its transpose were both stored). Accuracy: as the
        solves, ``cond(R) eps`` (``tests/test_wiener.py`` holds the cached factor to the dense
        least-squares filter)."""
        self.inverse = torch.cholesky_inverse(self.L).contiguous()  # C order (see _halves)
        self.L = self.U = None  # the inverse replaces the factors

    def _halves(self, uv: torch.Tensor) -> torch.Tensor:
        """``P^{-1} u`` and ``M^{-1} v`` for ``uv`` of shape (..., 2, h')."""
        one = uv[..., 0, :]  # (batch..., extra..., h'): how the factors broadcast
        if self.inverse is None:
            L, U = _rhs_axes(self.L, one, 3), _rhs_axes(self.U, one, 3)
            z = torch.linalg.solve_triangular(L, uv.unsqueeze(-1), upper=False)
            return torch.linalg.solve_triangular(U, z, upper=True).squeeze(-1)
        inv = _rhs_axes(self.inverse, one, 3)
        if uv.device.type != "cpu" or uv.dtype != torch.float64:
            return (inv @ uv.unsqueeze(-1)).squeeze(-1)
        inv, rhs = torch.broadcast_tensors(inv, uv.unsqueeze(-1))  # views, no copies
        out = torch.empty_like(uv)
        for idx in np.ndindex(uv.shape[:-1]):  # one dsymv per half and right-hand side
            # inv[idx] is symmetric and C-contiguous: its transpose is the same matrix in the
            # Fortran order BLAS reads without a copy
            out[idx] = torch.from_numpy(
                scipy.linalg.blas.dsymv(1.0, inv[idx].numpy().T, rhs[idx][:, 0].numpy())
            )
        return out

    def solve(self, y: torch.Tensor) -> torch.Tensor:
        """``R^{-1} y`` for y of shape (..., N) (batch axes as R's, then optionally more)."""
        N, h, odd = self.N, self.h, self.odd
        y1, y2r = y[..., :h], y[..., N - h :].flip(-1)
        u, v = y1 + y2r, y1 - y2r
        if odd:
            u = torch.cat([u, math.sqrt(2.0) * y[..., h : h + 1]], dim=-1)
            v = torch.nn.functional.pad(v, (0, 1))
        st = self._halves(torch.stack([u, v], dim=-2))
        s1, t = st[..., 0, :h], st[..., 1, :h]
        parts = [(s1 + t) / 2]
        if odd:
            parts.append(st[..., 0, h:] / math.sqrt(2.0))
        parts.append(((s1 - t) / 2).flip(-1))
        return torch.cat(parts, dim=-1)


def _cholesky(a, rhs, m, epsilon):
    d = len(m)
    factor = _CentroCholesky(_reversed_normal_matrix(a, tuple(m), epsilon))
    x = factor.solve(rhs.flatten(-d))
    return x.reshape(rhs.shape), SolveInfo("cholesky", factor=factor)


def solve_normal_equations(
    a: torch.Tensor,
    rhs: torch.Tensor,
    *,
    dim: int,
    options: WienerOptions | None = None,
    **settings: Any,
) -> tuple[torch.Tensor, SolveInfo]:
    """Solve ``(A^T A + ε r0 I) x = rhs`` for each batch item, A = full-conv Toeplitz of ``a``.

    ``a``: (..., *n) float64; ``rhs``: (..., *m). ``options`` / ``settings``: a
    :class:`WienerOptions` and/or its fields; the solver is "levinson" (1D), "gs" (Gohberg-Semencul;
    in 2D the block form, :mod:`convlab.wiener.block`), "cholesky" (explicit R from the
    autocorrelation lags, 1D and 2D) or "cg" ("auto" resolves as in
    :meth:`WienerOptions.resolve`). Not differentiable (use :func:`wiener_filter`); returns
    ``(x, SolveInfo)``.
    """
    from convlab.wiener.filters import check_solve_cost  # (filters imports this module)

    dim = _check_dim(dim)
    a, rhs = _signal(a, "a", dim), _signal(rhs, "rhs", dim)
    _check_nonzero(a, dim, "a", "the normal matrix A^T A is singular (no unique solution)")
    _check_finite(rhs, "rhs")
    m = tuple(rhs.shape[-dim:])
    solver = WienerOptions.of(options, **settings).resolve(dim, m).solver
    check_solve_cost(a.shape[-dim:], m, solver, math.prod(a.shape[: a.ndim - dim]))
    a, rhs = a.to(torch.float64), rhs.to(torch.float64)
    return _solve_normal_equations(a, rhs, dim=dim, options=options, **settings)


def _solve_normal_equations(
    a: torch.Tensor,
    rhs: torch.Tensor,
    *,
    dim: int,
    options: WienerOptions | None = None,
    **settings: Any,
) -> tuple[torch.Tensor, SolveInfo]:
    """:func:`solve_normal_equations` without validating its arguments (for the backward)."""
    n, m = tuple(a.shape[-dim:]), tuple(rhs.shape[-dim:])
    opts = WienerOptions.of(options, **settings).resolve(dim, m)
    solver = as_choice(opts.solver, "solver", ("levinson", "gs", "cholesky", "cg"))
    epsilon, tol, maxiter = opts.epsilon, opts.tol, opts.maxiter
    if solver == "cholesky":
        return _cholesky(a, rhs, m, epsilon)
    S = _fft_grid(n, m)
    spec = _rfft(a, S).abs().square()
    r0 = a.reshape(*a.shape[: a.ndim - dim], -1).square().sum(-1)
    ridge = (epsilon * r0).reshape(r0.shape + (1,) * dim)
    if solver == "levinson":
        return _levinson(spec, ridge, rhs, S, m)
    if solver == "gs" and dim == 2:
        factor = _BlockGohbergSemencul(a, m, ridge.reshape(ridge.shape[:-2]))
        return factor.solve(rhs.flatten(-2)).reshape(rhs.shape), SolveInfo("gs", factor=factor)
    if solver == "gs":
        factor = _GohbergSemencul(_toeplitz_lags(spec, ridge, S, m))
        return factor.solve(rhs), SolveInfo("gs", factor=factor)
    maxiter = 10 * math.prod(m) + 100 if maxiter is None else maxiter
    x, info = _pcg(spec, ridge, rhs, S, m, tol, maxiter, opts.preconditioner)
    if not info.converged:
        warnings.warn(
            f"cg did not converge: relative residual {info.relative_residual:.1e} after "
            f"{info.iterations} iterations (tol={tol:g}); the normal matrix is ill-conditioned - "
            "try epsilon > 0 or solver='dense'",
            RuntimeWarning,
            stacklevel=2,
        )
    return x, info


class _NormalSolve(torch.autograd.Function):
    """x = (A(a)^T A(a) + ε r0 I)^{-1} g with an implicit (adjoint) backward.

    ``options``: resolved :class:`WienerOptions`; ``factor``: a precomputed factorisation of
    R(a) with a ``solve`` method (:class:`WienerFactor`), else one is made (and reused backward).
    """

    @staticmethod
    def forward(ctx, a, g, dim, options, factor=None):
        if factor is not None:
            x = factor.solve(g.detach().flatten(-dim)).reshape(g.shape)
        else:
            x, info = _solve_normal_equations(a.detach(), g.detach(), dim=dim, options=options)
            factor = info.factor
        ctx.dim, ctx.options, ctx.factor = dim, options, factor
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable  # the implicit backward is not differentiated
    def backward(ctx, x_bar):
        a, x = ctx.saved_tensors
        dim, epsilon = ctx.dim, ctx.options.epsilon
        if ctx.factor is not None:  # R is symmetric: the adjoint solve reuses the factors
            lam = ctx.factor.solve(x_bar.flatten(-dim)).reshape(x_bar.shape)
        else:
            lam, _ = _solve_normal_equations(a, x_bar.contiguous(), dim=dim, options=ctx.options)
        if not ctx.needs_input_grad[0]:  # a is a constant (e.g. the target): g_bar = λ only
            return None, lam, None, None, None
        n, m = tuple(a.shape[-dim:]), tuple(x.shape[-dim:])
        S = _fft_grid(n, m)
        A_hat, X, L = _rfft(a, S), _rfft(x, S), _rfft(lam, S)
        # a_bar[i] = -sum_j (A x)[i + j] λ[j] - sum_j (A λ)[i + j] x[j]   (correlations, i < n)
        a_bar = -_crop(_irfft(A_hat * (X * L.conj() + L * X.conj()), S), n)
        if epsilon:
            lx = (lam * x).reshape(*x.shape[: x.ndim - dim], -1).sum(-1)
            a_bar = a_bar - 2 * epsilon * lx.reshape(lx.shape + (1,) * dim) * a
        return a_bar, lam, None, None, None


class _GohbergSemencul:
    """``R^{-1}`` of a symmetric positive definite Toeplitz ``R`` (1D) applied in O(m log m).

    With ``x = R^{-1} e_0`` (the Levinson-Durbin generator: the last forward prediction-error
    filter divided by its error power; O(m^2) by Levinson-Durbin up to 1200 taps, O(m log^2 m)
    by the superfast Schur algorithm above, :func:`convlab.wiener.schur.toeplitz_generator`) the
    Gohberg-Semencul formula writes the inverse as two products of triangular Toeplitz
    matrices::

        R^{-1} = (L(x) L(x)^T - L(x') L(x')^T) / x[0],      x' = (0, x[m-1], ..., x[1]),

    ``L(v)`` lower triangular Toeplitz with first column v. Each product is a convolution (L) or
    a correlation (L^T), exact on an FFT grid ``P >= 2m - 1``: the spectra of x and x' are stored
    (``O(m)`` per item) and a solve costs six real FFTs of length P, forward or backward.
    Accuracy: as a Levinson solve (weakly stable for SPD Toeplitz matrices, Cybenko 1980);
    measured as close to the dense solution as Cholesky on the explicit R, also at cond 1e7
    (``tests/test_wiener_schur.py`` holds the superfast generator to the same standard).
    """

    def __init__(self, r: torch.Tensor) -> None:
        rn = r.detach().cpu().numpy()
        m = rn.shape[-1]
        why = (
            "the normal matrix A^T A is not numerically positive definite (a is (nearly) zero "
            "or badly scaled); use epsilon > 0"
        )
        try:  # Levinson-Durbin (compiled, O(m^2)) or the superfast Schur algorithm above
            x = toeplitz_generator(rn)
        except np.linalg.LinAlgError:  # a singular leading minor
            raise ValueError(why) from None
        if not (np.isfinite(x).all() and (x[..., 0] > 0).all()):
            raise ValueError(why)
        xt = torch.from_numpy(x / np.sqrt(x[..., :1])).to(r.device)
        x2 = torch.nn.functional.pad(xt[..., 1:].flip(-1), (1, 0))
        self.m, self.P = m, (scipy.fft.next_fast_len(2 * m - 1, real=True),)
        self.X = _rfft(torch.stack([xt, x2], dim=-2), self.P)  # (..., 2, F)
        self.sign = torch.tensor([1.0, -1.0], dtype=torch.float64, device=r.device)[:, None]

    def solve(self, y: torch.Tensor) -> torch.Tensor:
        """``R^{-1} y`` for y of shape (..., m) (batch axes as R's, then optionally more)."""
        m, P = self.m, self.P
        X = _rhs_axes(self.X, y, 2)
        p = _irfft(X.conj() * _rfft(y, P).unsqueeze(-2), P)[..., :m]  # L^T y for both factors
        return _irfft((self.sign * X * _rfft(p, P)).sum(-2), P)[..., :m]
