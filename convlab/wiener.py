"""Wiener filters and the Wiener-filter (adaptive) loss, 1D and 2D, with several solvers.

The idea (adaptive waveform inversion, Warner & Guasch 2014; as a deep-learning loss in Cruz et
al. 2023, "Convolve and Conquer: Data Comparison with Wiener Filters"; the lecture "Convolutional
Loss Functions in Deep Learning"): find the filter ``w`` that best maps a signal ``a`` onto a
signal ``b`` of the same shape,

    w = argmin 1/2 ||A w - b_pad||^2 = (A^T A)^{-1} A^T b_pad,

with ``A`` the full-convolution Toeplitz matrix of ``a`` (:mod:`convlab.toeplitz`), then measure
how far ``w`` is from a delta at zero lag with a penalty ``T`` that is zero at lag 0 and grows
with the lag::

    f = 1/2 ||T * w||^2 / ||w||^2.

Conventions (stated once, used everywhere)
-------------------------------------------
- **Convolution**, zero boundary: ``(A w)[k] = sum_j a[k - j] w[j]`` ('full', length n + m - 1).
- Filter of shape ``m`` (default: the signal's shape, the lecture's choice) with lags
  ``-c .. m - 1 - c``, ``c = (m - 1) // 2`` per axis: index ``c`` is **zero lag**.
  ``b_pad`` is ``b`` placed at offset ``c`` inside the full output, so ``a == b`` gives exactly
  ``w = delta at index c`` (A has full column rank whenever ``a != 0``).
- 2D: row-major (C-order) vectorisation, as in :func:`convlab.toeplitz.doubly_blocked_toeplitz`.
- Leading axes are batch axes: ``a`` of shape ``(..., n)`` (1D) or ``(..., n1, n2)`` (2D).
- The normal matrix ``R = A^T A`` is the symmetric (block-)Toeplitz autocorrelation matrix,
  ``R[j, l] = r[j - l]``, ``r[k] = sum_i a[i] a[i + k]``; ``A^T b_pad`` is a cross-correlation.
- FFTs: ``torch.fft.rfftn`` with the default ``norm="backward"`` on a grid ``S`` per axis with
  ``S >= n + m - 1`` (no wrap-around in A w, A^T b) and ``S >= 2m - 1`` (circulant embedding of
  R). The eigenvalues of that embedding are ``|rfftn(a, S)|^2``, so ``R v`` costs one FFT pair.
  S is rounded up to a 2/3/5-smooth length (same exact products, no slow prime-length FFTs).

Solvers (one interface, ``solver=``)
------------------------------------
=========== ======================================================= ==================
solver      method                                                  accuracy
=========== ======================================================= ==================
"dense"     the lecture's: explicit A, Cholesky on A^T A (autograd)   exact (reference)
"levinson"  ``scipy.linalg.solve_toeplitz`` on r[0..m-1] (1D only)    exact
"cholesky"  R from the lags (no A; one strided copy), split by its   exact
            centrosymmetry into two half-size Cholesky factors
"cg"        conjugate gradients, FFT matvecs, T. Chan circulant      to ``tol``
            preconditioner (1D and 2D)
"fft"       circular deconvolution conj(â) b̂ / (|â|² + ε r0)         approximate
=========== ======================================================= ==================

``epsilon`` (prewhitening, relative to the zero-lag autocorrelation ``r0 = ||a||^2``): exact
solvers solve ``(R + ε r0 I) w = A^T b_pad`` (default ε = 0); "fft" adds ``ε r0`` to every
eigenvalue of the *circulant* approximation of R (default ε = 1e-6). So "fft" is the periodic
approximation of the same problem: it ignores that the filter has only m taps and that the
signals do not wrap around; :func:`fft_filter_error` measures how far it lands from the exact
filter.

Gradients: "dense" and "fft" are differentiated by autograd; "levinson", "cholesky" and "cg" by an
implicit (adjoint) backward: with ``R x = g`` and ``λ = R^{-1} x̄``, ``ḡ = λ`` and
``ā = -corr(A x, λ) - corr(A λ, x) - 2 ε (λ·x) a`` (one extra solve with the same solver).

A fixed signal (training: the target): everything that depends on ``a`` alone - the normal
matrix, its factorisation, its spectrum, for small sizes the whole linear map ``w = W b`` - is
computed once by :class:`WienerFactor`; ``WienerLoss(..., cache_target=True)`` keeps one for the
target, checked against the target's values on every call (never stale). The loss's default
direction builds A from the target (the lecture's "Input * w = Output", Cruz et al.'s choice), so
training with it needs no factorisation per epoch, forward or backward.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft
import scipy.linalg
import torch

from convlab._validate import as_choice, as_real_tensor, as_size

SOLVERS = ("dense", "levinson", "cholesky", "cg", "fft")
#: "auto" uses cholesky in 2D up to this many filter taps, cg above
CHOLESKY_MAX_TAPS = 4096
PENALTIES = ("gaussian", "sharp")
DIRECTIONS = ("target_to_prediction", "prediction_to_target", "symmetric")
REDUCTIONS = ("mean", "sum", "none")
DEFAULT_FFT_EPSILON = 1e-6
#: the dense solver refuses to build A and A^T A when they would need more than this many bytes
DENSE_MEMORY_LIMIT = 8 * 2**30


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


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
    if isinstance(filter_shape, int | np.integer) and not isinstance(filter_shape, bool):
        filter_shape = (filter_shape,) * len(n)
    fs = tuple(filter_shape)
    if len(fs) != len(n):
        raise ValueError(f"filter_shape must have {len(n)} entries, got {filter_shape!r}")
    return tuple(as_size(s, "filter_shape") for s in fs)


def _check_nonzero(x: torch.Tensor, dim: int, name: str, why: str) -> None:
    energy = x.detach().reshape(*x.shape[: x.ndim - dim], -1).abs().amax(dim=-1)
    if bool(((energy > 0) & (energy < math.inf)).all()):  # amax propagates NaN: one check
        return
    bad = (energy == 0).nonzero()
    if bad.numel():
        item = tuple(bad[0].tolist())
        raise ValueError(f"{name} is all zero (batch item {item}): {why}")
    if not torch.isfinite(x.detach()).all():
        raise ValueError(f"{name} contains NaN or infinity")


def zero_lag_index(filter_shape: Sequence[int]) -> tuple[int, ...]:
    """Index of zero lag in a filter of shape ``filter_shape``: ``(m - 1) // 2`` per axis."""
    return tuple((int(m) - 1) // 2 for m in filter_shape)


def lags(m: int) -> np.ndarray:
    """The lags ``-c .. m - 1 - c`` (``c = (m - 1) // 2``) of the m filter taps."""
    m = as_size(m, "m")
    return np.arange(m) - (m - 1) // 2


# --------------------------------------------------------------------------------------------
# FFT building blocks (batched over leading axes, float64)
# --------------------------------------------------------------------------------------------


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


def full_convolution(a: Any, w: Any, *, dim: int = 1) -> torch.Tensor:
    """``conv(a, w, 'full')`` over the last ``dim`` axes, by FFT (batched; equals ``A @ w``)."""
    dim = _check_dim(dim)
    a, w = as_real_tensor(a, "a"), as_real_tensor(w, "w")
    n, m = tuple(a.shape[-dim:]), tuple(w.shape[-dim:])
    S = tuple(ni + mi - 1 for ni, mi in zip(n, m))
    return _irfft(_rfft(a, S) * _rfft(w, S), S)


def apply_filter(a: Any, w: Any, *, dim: int = 1) -> torch.Tensor:
    """``A w`` restricted to the window of ``b`` (offset = zero-lag index): what w makes of a.

    For the Wiener filter ``w`` of ``(a, b)``, ``apply_filter(a, w) ≈ b``; for ``a == b`` it
    returns ``a`` (the lecture's "convolving the filter with the image returns the image").
    """
    dim = _check_dim(dim)
    full = full_convolution(a, w, dim=dim)
    n, m = tuple(as_real_tensor(a, "a").shape[-dim:]), tuple(as_real_tensor(w, "w").shape[-dim:])
    return _crop(full, n, zero_lag_index(m))


# --------------------------------------------------------------------------------------------
# solvers for (R + ridge I) x = rhs, R = A(a)^T A(a); numeric (no autograd)
# --------------------------------------------------------------------------------------------


@dataclass
class SolveInfo:
    """What a solve did: solver, CG iterations (max over the batch) and final relative residual."""

    solver: str
    iterations: int = 0
    relative_residual: float = 0.0
    converged: bool = True
    factor: Any = field(default=None, repr=False)  # Cholesky factors, reused backward


def _normal_matvec(spec, ridge, v, S, m):
    # (R v)[j] = sum_l r[j - l] v[l]: circulant embedding of size S, eigenvalues |â|^2.
    return _crop(_irfft(spec * _rfft(v, S), S), m) + ridge * v


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
    res = rhs.clone()
    z = M(res)
    p = z.clone()
    rz = dot(res, z)
    rhs_norm = dot(rhs, rhs).sqrt()
    rhs_norm = torch.where(rhs_norm > 0, rhs_norm, torch.ones_like(rhs_norm))
    relres = (dot(res, res).sqrt() / rhs_norm).max().item()
    it = 0
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
    # the recursive residual can drift from the true one: report the true one
    true_res = rhs - _normal_matvec(spec, ridge, x, S, m)
    relres = (dot(true_res, true_res).sqrt() / rhs_norm).max().item()
    return x, SolveInfo("cg", it, relres, relres <= 10 * tol)


def _levinson(spec, ridge, rhs, S, m):
    if len(m) != 1:
        raise ValueError(
            "solver='levinson' is for 1D filters only (the 2D normal matrix is block Toeplitz); "
            "use solver='cg' or 'dense'"
        )
    r = _crop(_irfft(spec, S), m)  # autocorrelation lags 0..m-1
    r = r.detach().cpu().numpy().copy()
    r[..., 0] += ridge.detach().cpu().numpy().reshape(r.shape[:-1])
    g = rhs.detach().cpu().numpy()
    out = np.empty_like(g)
    for idx in np.ndindex(g.shape[:-1]):
        out[idx] = scipy.linalg.solve_toeplitz((r[idx], r[idx]), g[idx], check_finite=False)
    return torch.from_numpy(out).to(rhs.device), SolveInfo("levinson")


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
    return _reversed_normal_matrix(a, tuple(m), epsilon).flip(-2)


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
        self.L = L
        self.L_inv: torch.Tensor | None = None

    def invert_factors(self) -> _CentroCholesky:
        """Store ``L^{-1}`` (one triangular solve with N/2 right-hand sides per half, once), so
        that every later :meth:`solve` is two triangular matrix *products* instead of two
        substitutions (``torch.cholesky_solve`` copies L on every call; a product does not).
        For a factor reused by many solves (:class:`WienerFactor`)."""
        eye = torch.eye(self.L.shape[-1], dtype=self.L.dtype, device=self.L.device)
        self.L_inv = torch.linalg.solve_triangular(self.L, eye.expand_as(self.L), upper=False)
        return self

    def solve(self, y: torch.Tensor) -> torch.Tensor:
        """``R^{-1} y`` for y of shape (..., N) (batch axes as R's, then optionally more)."""
        N, h, odd = self.N, self.h, self.odd
        L, L_inv = _rhs_axes(self.L, y, 3), _rhs_axes(self.L_inv, y, 3)
        y1, y2r = y[..., :h], y[..., N - h :].flip(-1)
        u, v = y1 + y2r, y1 - y2r
        if odd:
            u = torch.cat([u, math.sqrt(2.0) * y[..., h : h + 1]], dim=-1)
            v = torch.nn.functional.pad(v, (0, 1))
        uv = torch.stack([u, v], dim=-2).unsqueeze(-1)
        if L_inv is not None:  # R_half^{-1} = L^{-T} L^{-1}
            st = (L_inv.transpose(-1, -2) @ (L_inv @ uv)).squeeze(-1)
        else:
            st = torch.cholesky_solve(uv, L).squeeze(-1)
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
    solver: str = "cg",
    epsilon: float = 0.0,
    tol: float = 1e-12,
    maxiter: int | None = None,
    preconditioner: bool = True,
) -> tuple[torch.Tensor, SolveInfo]:
    """Solve ``(A^T A + ε r0 I) x = rhs`` for each batch item, A = full-conv Toeplitz of ``a``.

    ``a``: (..., *n) float64; ``rhs``: (..., *m). ``solver``: "levinson" (1D), "cholesky"
    (explicit R from the autocorrelation lags, 1D and 2D) or "cg".
    Not differentiable (use :func:`wiener_filter`); returns ``(x, SolveInfo)``.
    """
    dim = _check_dim(dim)
    solver = as_choice(solver, "solver", ("levinson", "cholesky", "cg"))
    n, m = tuple(a.shape[-dim:]), tuple(rhs.shape[-dim:])
    if solver == "cholesky":
        return _cholesky(a, rhs, m, epsilon)
    S = _fft_grid(n, m)
    spec = _rfft(a, S).abs().square()
    r0 = a.reshape(*a.shape[: a.ndim - dim], -1).square().sum(-1)
    ridge = (epsilon * r0).reshape(r0.shape + (1,) * dim)
    if solver == "levinson":
        return _levinson(spec, ridge, rhs, S, m)
    maxiter = 10 * math.prod(m) + 100 if maxiter is None else as_size(maxiter, "maxiter")
    x, info = _pcg(spec, ridge, rhs, S, m, tol, maxiter, preconditioner)
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
    """x = (A(a)^T A(a) + ε r0 I)^{-1} g with an implicit (adjoint) backward."""

    @staticmethod
    def forward(ctx, a, g, dim, solver, epsilon, tol, maxiter, preconditioner, factor=None):
        kw = dict(
            dim=dim,
            solver=solver,
            epsilon=epsilon,
            tol=tol,
            maxiter=maxiter,
            preconditioner=preconditioner,
        )
        if factor is not None:  # a precomputed factorisation of R(a) (WienerFactor)
            x = factor.solve(g.detach().flatten(-dim)).reshape(g.shape)
        else:
            x, info = solve_normal_equations(a.detach(), g.detach(), **kw)
            factor = info.factor
        ctx.kw, ctx.factor = kw, factor
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, x_bar):
        a, x = ctx.saved_tensors
        kw = ctx.kw
        dim = kw["dim"]
        if ctx.factor is not None:  # R is symmetric: the adjoint solve reuses the factors
            lam = ctx.factor.solve(x_bar.flatten(-dim)).reshape(x_bar.shape)
        else:
            lam, _ = solve_normal_equations(a, x_bar.contiguous(), **kw)
        if not ctx.needs_input_grad[0]:  # a is a constant (e.g. the target): g_bar = λ only
            return None, lam, None, None, None, None, None, None, None
        n, m = tuple(a.shape[-dim:]), tuple(x.shape[-dim:])
        S = _fft_grid(n, m)
        A_hat, X, L = _rfft(a, S), _rfft(x, S), _rfft(lam, S)
        # a_bar[i] = -sum_j (A x)[i + j] λ[j] - sum_j (A λ)[i + j] x[j]   (correlations, i < n)
        a_bar = -_crop(_irfft(A_hat * (X * L.conj() + L * X.conj()), S), n)
        if kw["epsilon"]:
            lx = (lam * x).reshape(*x.shape[: x.ndim - dim], -1).sum(-1)
            a_bar = a_bar - 2 * kw["epsilon"] * lx.reshape(lx.shape + (1,) * dim) * a
        return a_bar, lam, None, None, None, None, None, None, None


class _DurbinFactor:
    """``R^{-1} = U diag(1/e) U^T`` for a symmetric positive definite Toeplitz R (1D), in O(m^2).

    The Levinson-Durbin recursion on the lags ``r[0..m-1]`` produces, order by order, the
    forward prediction-error filters ``f_k`` (``T_{k+1} f_k = e_k e_0``); their reversals
    ``v_k = J f_k`` satisfy ``T_{k+1} v_k = e_k e_k`` and, as the columns of a unit upper
    triangular U, give ``U^T R U = diag(e)``: the Cholesky factorisation of the *inverse*.
    Computed once (``m`` steps of O(k)), it turns every later solve into two triangular
    matrix-vector products, O(m^2) with no recursion. Stability as Levinson's (weakly stable for
    SPD Toeplitz matrices, Cybenko 1980). Stores U: ``8 m^2`` bytes per batch item.
    """

    def __init__(self, r: torch.Tensor) -> None:
        rn = r.detach().cpu().numpy()
        batch, m = rn.shape[:-1], rn.shape[-1]
        f = np.zeros((*batch, m))
        f[..., 0] = 1.0
        U = np.zeros((*batch, m, m))
        U[..., 0, 0] = 1.0
        e = np.empty((*batch, m))
        e[..., 0] = rn[..., 0]
        rrev = rn[..., ::-1]  # rrev[j] = r[m - 1 - j]
        for k in range(1, m):
            delta = (rrev[..., m - 1 - k : m - 1] * f[..., :k]).sum(-1)  # sum_i r[k - i] f[i]
            gamma = -delta / e[..., k - 1]
            g = f[..., : k + 1]
            f[..., : k + 1] = g + gamma[..., None] * g[..., ::-1]
            e[..., k] = e[..., k - 1] * (1.0 - gamma * gamma)
            U[..., : k + 1, k] = f[..., k::-1]
        if not (e > 0).all():
            raise ValueError(
                "the normal matrix A^T A is not numerically positive definite (a is (nearly) "
                "zero or badly scaled); use epsilon > 0"
            )
        self.U = torch.from_numpy(U).to(r.device)
        self.e = torch.from_numpy(e).to(r.device)

    def solve(self, y: torch.Tensor) -> torch.Tensor:
        """``R^{-1} y`` for y of shape (..., m): ``U ((U^T y) / e)``."""
        U, e = _rhs_axes(self.U, y, 2), _rhs_axes(self.e, y, 1)
        z = (y.unsqueeze(-2) @ U).squeeze(-2) / e
        return (U @ z.unsqueeze(-1)).squeeze(-1)


#: a WienerFactor keeps the Levinson-Durbin inverse factor (8 m^2 bytes) up to this many taps
DURBIN_MAX_TAPS = 8192
#: a WienerFactor materialises the filter operator W (8 n m bytes per item) up to this size
OPERATOR_MAX_ENTRIES = 2**22


def _resolve_solver(solver: str, dim: int, m: tuple[int, ...]) -> str:
    solver = as_choice(solver, "solver", (*SOLVERS, "auto"))
    if solver == "auto":
        solver = (
            "levinson" if dim == 1 else "cholesky" if math.prod(m) <= CHOLESKY_MAX_TAPS else "cg"
        )
    if solver == "levinson" and dim != 1:
        raise ValueError("solver='levinson' is for dim=1 only; use 'cg' or 'dense' for images")
    return solver


def _resolve_epsilon(epsilon: Any, solver: str) -> float:
    if epsilon is None:
        epsilon = DEFAULT_FFT_EPSILON if solver == "fft" else 0.0
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    if solver == "fft" and epsilon == 0:
        raise ValueError("solver='fft' needs epsilon > 0 (it divides by |fft(a)|^2)")
    return float(epsilon)


class WienerFactor:
    """Everything in ``wiener_filter(a, b, ...)`` that depends on ``a`` only, computed once.

    ``w = (A^T A + ε r0 I)^{-1} A^T b_pad = W b`` is linear in ``b``; the matrix, its
    factorisation and the spectrum of ``a`` depend on ``a`` alone. In training, ``a`` is the
    fixed target (the loss's default direction): factorise once, then every epoch costs one FFT
    correlation ``A^T b_pad`` and one solve with the stored factors, forward and backward (the
    gradient with respect to b flows through ``A^T`` and ``R^{-1}`` only: no new factorisation).
    For small problems (``prod(n) prod(m) <= OPERATOR_MAX_ENTRIES``, e.g. images up to 45x45
    with a full-size filter) the factorisation goes one step further and materialises the operator
    ``W = R^{-1} A_win^T`` (the b-window columns of the pseudo-inverse ``A^+``: n right-hand
    sides with the stored factors, once): a call is then one matrix-vector product ``W b``
    (``2 n m`` flops, the same order as two triangular solves, without the FFTs and the dozen
    small operations around them that dominate at these sizes); its backward is ``W^T w̄``.
    ("fft" materialises its own, approximate, operator the same way: then a call of the exact
    and of the fft filter cost the same.)

    What is stored per solver (float64, per batch item):

    ========== ================================================================ =============
    solver     stored                                                           per call
    ========== ================================================================ =============
    cholesky   the two half-size Cholesky factors of the centrosymmetric R       W b, or
               and their inverses (and W when small)                             2 tri. matvecs
    levinson   Levinson-Durbin factor of R^{-1} = U diag(1/e) U^T (m <=          W b, or
               ``DURBIN_MAX_TAPS``; above: the lags, one Levinson solve a call)  2 tri. matvecs
    cg         nothing but conj(rfft(a)) (CG iterates each call)                 CG
    fft        the whole multiplier conj(â) / (|â|^2 + ε r0) (and W when small)  W b, or
                                                                                1 FFT pair
    ========== ================================================================ =============

    The factor is a snapshot of ``a``'s values (a copy is kept): :meth:`matches` compares a
    tensor with it by value, so a caller can never use a factorisation of a stale signal
    without noticing (:class:`WienerLoss` with ``cache_target=True`` checks every call).

    Parameters are those of :func:`wiener_filter` ("dense" has nothing to reuse: not allowed).

    Examples
    --------
    >>> a = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    >>> fac = WienerFactor(a, solver="cholesky")
    >>> b = torch.tensor([0.5, 1.0, -1.0, 2.0], dtype=torch.float64)
    >>> bool(torch.allclose(fac.filter(b), wiener_filter(a, b, solver="cholesky")))
    True
    """

    def __init__(
        self,
        a: Any,
        filter_shape: int | Sequence[int] | None = None,
        *,
        dim: int = 1,
        solver: str = "auto",
        epsilon: float | None = None,
        tol: float = 1e-12,
        maxiter: int | None = None,
        preconditioner: bool = True,
    ) -> None:
        dim = _check_dim(dim)
        a = as_real_tensor(a, "a")
        _check_pair(a, a, dim)
        n = tuple(a.shape[-dim:])
        m = _filter_shape(filter_shape, n)
        solver = _resolve_solver(solver, dim, m)
        if solver == "dense":
            raise ValueError(
                "solver='dense' (the reference) has no reusable factorisation; use 'cholesky', "
                "'levinson', 'cg' or 'fft'"
            )
        epsilon = _resolve_epsilon(epsilon, solver)
        _check_nonzero(a, dim, "a", "the normal matrix A^T A is singular (no unique filter)")
        self.dim, self.n, self.m, self.solver, self.epsilon = dim, n, m, solver, epsilon
        self.tol, self.maxiter, self.preconditioner = tol, maxiter, preconditioner
        self.values = a.detach().clone()  # the snapshot the factors belong to
        self.dtype = a.dtype
        a64 = self.values.to(torch.float64)
        self.a64 = a64
        self.offset = zero_lag_index(m)
        self.factor: Any = None
        self.operator: torch.Tensor | None = None
        if solver == "fft":
            self.S = _fft_grid(n, m)
            A_hat = _rfft(a64, self.S)
            r0 = a64.flatten(-dim).square().sum(-1).reshape(a.shape[:-dim] + (1,) * dim)
            self.multiplier = A_hat.conj() / (A_hat.abs().square() + epsilon * r0)
            if math.prod(n) * math.prod(m) <= OPERATOR_MAX_ENTRIES:
                # row i of W^T = the fft filter of the i-th unit vector (all of them at once)
                N, nb = math.prod(n), a.ndim - dim
                units = torch.eye(N, dtype=torch.float64, device=a.device)
                units = units.reshape(N, *(1,) * nb, *n)
                B_hat = _rfft(_place(units, self.S, self.offset), self.S)
                rows = _crop(_irfft(self.multiplier * B_hat, self.S), m).flatten(-dim)
                self.operator = rows.movedim(0, -2).contiguous()  # (..., N, M)
            return
        self.S = _fft_grid(n, m)
        A_hat = _rfft(a64, self.S)
        self.multiplier = A_hat.conj()  # A^T b_pad = corr(a, b_pad)
        if solver == "cholesky":
            JR = _reversed_normal_matrix(a64, m, epsilon)
            self.factor = _CentroCholesky(JR).invert_factors()
        elif solver == "levinson" and m[0] <= DURBIN_MAX_TAPS:
            r = _crop(_irfft(A_hat.abs().square(), self.S), m).clone()
            r[..., 0] += epsilon * a64.square().sum(-1)
            self.factor = _DurbinFactor(r)
        if self.factor is not None and math.prod(n) * math.prod(m) <= OPERATOR_MAX_ENTRIES:
            # W^T = A_win R^{-1}: row i = (R^{-1} A^T e_i)^T, so w = W b = (b^T W^T)^T
            self.operator = self.factor.solve(_dense_matrix(a64, m, window=True))

    def matches(self, a: torch.Tensor) -> bool:
        """True when ``a`` has the factorised signal's shape, dtype, device and exact values."""
        v = self.values
        return (
            isinstance(a, torch.Tensor)
            and a.shape == v.shape
            and a.dtype == v.dtype
            and a.device == v.device
            and torch.equal(a.detach(), v)
        )

    def filter(self, b: Any, a: torch.Tensor | None = None) -> torch.Tensor:
        """The Wiener filter of ``(a, b)``, differentiable with respect to ``b``.

        ``a``: optionally the live tensor the factor was computed from (same values, the
        caller's responsibility, see :meth:`matches`); pass it when it requires a gradient so
        that ``dw/da`` flows too (the stored factors are still reused). Returns ``(..., *m)``
        in the dtype of the factorised signal.
        """
        b = as_real_tensor(b, "b")
        if b.shape != self.values.shape:
            raise ValueError(
                f"b must have the factorised signal's shape {tuple(self.values.shape)}, got "
                f"{tuple(b.shape)}"
            )
        b64 = b.to(torch.float64)
        live = a is not None and a.requires_grad and torch.is_grad_enabled()
        if self.operator is not None and not live:  # w = W b: one product (autograd: W^T w̄)
            w = (b64.flatten(-self.dim).unsqueeze(-2) @ self.operator).squeeze(-2)
            return w.reshape(*b.shape[: b.ndim - self.dim], *self.m).to(self.dtype)
        if self.solver == "fft":
            if live:  # autograd through the division needs the live spectrum
                w = _fft_filter(a.to(torch.float64), b64, self.m, self.epsilon)
            else:
                B_hat = _rfft(_place(b64, self.S, self.offset), self.S)
                w = _crop(_irfft(self.multiplier * B_hat, self.S), self.m)
            return w.to(self.dtype)
        a64 = a.to(torch.float64) if live else self.a64
        conj_a = _rfft(a64, self.S).conj() if live else self.multiplier
        g = _crop(_irfft(conj_a * _rfft(_place(b64, self.S, self.offset), self.S), self.S), self.m)
        w = _NormalSolve.apply(
            a64,
            g,
            self.dim,
            self.solver,
            self.epsilon,
            self.tol,
            self.maxiter,
            self.preconditioner,
            self.factor,
        )
        return w.to(self.dtype)


# --------------------------------------------------------------------------------------------
# the Wiener filter
# --------------------------------------------------------------------------------------------


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
    m = tuple(n) if m is None else tuple(m)
    rows = math.prod(ni + mi - 1 for ni, mi in zip(n, m))
    cols = math.prod(m)
    return 8 * (2 * rows * cols + 2 * cols * cols)


def _dense_filter(a, b, m, epsilon):
    d = len(m)
    n = tuple(a.shape[-d:])
    need = dense_bytes(n, m) * max(1, math.prod(a.shape[:-d]))
    if need > DENSE_MEMORY_LIMIT:
        raise MemoryError(
            f"solver='dense' would need {need / 2**30:.1f} GiB for signals of shape {n} and "
            f"filters of shape {m} (limit {DENSE_MEMORY_LIMIT / 2**30:.0f} GiB); "
            "use solver='cg' (matrix-free) or 'levinson'"
        )
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
    solver: str = "auto",
    epsilon: float | None = None,
    tol: float = 1e-12,
    maxiter: int | None = None,
    preconditioner: bool = True,
) -> torch.Tensor:
    """The Wiener filter ``w`` with ``a * w ≈ b``: ``w = (A^T A)^{-1} A^T b_pad`` (see module doc).

    Parameters
    ----------
    a, b : signals of the same shape ``(..., n)`` (dim=1) or ``(..., n1, n2)`` (dim=2); leading
        axes are batch axes. Tensors (differentiable), arrays or lists.
    filter_shape : filter length / shape m, default the signal shape (the lecture's choice).
        Zero lag sits at index ``(m - 1) // 2``.
    dim : 1 (signals) or 2 (images).
    solver : "dense", "levinson" (1D), "cholesky", "cg", "fft" or "auto" (levinson in 1D;
        cholesky in 2D up to ``CHOLESKY_MAX_TAPS`` filter taps, cg above).
    epsilon : prewhitening relative to ``||a||^2`` (default 0 for exact solvers, 1e-6 for fft).
    tol, maxiter, preconditioner : for "cg" (relative residual, iteration cap, T. Chan circulant).

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
    solver = _resolve_solver(solver, dim, m)
    epsilon = _resolve_epsilon(epsilon, solver)
    _check_nonzero(a, dim, "a", "the normal matrix A^T A is singular (no unique filter)")
    out_dtype = a.dtype
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    if solver == "dense":
        w = _dense_filter(a64, b64, m, epsilon)
    elif solver == "fft":
        w = _fft_filter(a64, b64, m, epsilon)
    else:
        S = _fft_grid(tuple(a.shape[-dim:]), m)
        g = _crop(_irfft(_rfft(a64, S).conj() * _rfft(_place(b64, S, zero_lag_index(m)), S), S), m)
        w = _NormalSolve.apply(a64, g, dim, solver, float(epsilon), tol, maxiter, preconditioner)
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
    exact = wiener_filter(a, b, filter_shape, dim=dim, solver="dense" if dim == 2 else "levinson")
    approx = wiener_filter(a, b, filter_shape, dim=dim, solver="fft", epsilon=epsilon)
    flat = lambda x: x.reshape(*x.shape[: x.ndim - dim], -1).double()  # noqa: E731
    return (flat(approx) - flat(exact)).norm(dim=-1) / flat(exact).norm(dim=-1)


# --------------------------------------------------------------------------------------------
# penalties and the loss
# --------------------------------------------------------------------------------------------


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
    if not (isinstance(sigma, int | float) and sigma > 0):
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    shape = (filter_shape,) if isinstance(filter_shape, int | np.integer) else tuple(filter_shape)
    u = _normalised_radius([as_size(s, "filter_shape") for s in shape])
    T = 1.0 - np.exp(-(u**2) / (2.0 * sigma**2))
    return torch.from_numpy(T / T.max() if T.max() > 0 else T)


def penalty_sharp(filter_shape: int | Sequence[int]) -> torch.Tensor:
    """Sharp penalty ``T = |lag|`` (AWI's T(t) = |t|): a V with a corner at 0, max 1.

    Examples
    --------
    >>> penalty_sharp(5).numpy()
    array([1. , 0.5, 0. , 0.5, 1. ])
    """
    shape = (filter_shape,) if isinstance(filter_shape, int | np.integer) else tuple(filter_shape)
    u = _normalised_radius([as_size(s, "filter_shape") for s in shape])
    return torch.from_numpy(u / u.max() if u.max() > 0 else u)


def make_penalty(kind: str, filter_shape: int | Sequence[int], sigma: float = 0.5) -> torch.Tensor:
    """``penalty_gaussian`` or ``penalty_sharp`` by name."""
    kind = as_choice(kind, "penalty", PENALTIES)
    return (
        penalty_gaussian(filter_shape, sigma) if kind == "gaussian" else penalty_sharp(filter_shape)
    )


def filter_penalty(w: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """``1/2 ||T * w||^2 / ||w||^2`` over the last ``T.ndim`` axes (scale-invariant in w)."""
    d = T.ndim
    if tuple(w.shape[-d:]) != tuple(T.shape):
        raise ValueError(
            f"penalty shape {tuple(T.shape)} does not match filter shape {tuple(w.shape[-d:])}"
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
    solver, epsilon, tol : as in :func:`wiener_filter`.
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
        rounding: "levinson" then solves with the Levinson-Durbin factor of R^{-1} instead of
        a fresh Levinson recursion); gradients with respect to the target still flow. Used for
        the pairs whose filter is applied to the target ("target_to_prediction" and half of
        "symmetric"); "prediction_to_target" rebuilds its matrix from the prediction each call,
        and solver "dense" (the reference) never caches.

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
        solver: str = "auto",
        epsilon: float | None = None,
        tol: float = 1e-12,
        sigma: float = 0.5,
        reduction: str = "mean",
        direction: str = "target_to_prediction",
        cache_target: bool = False,
    ) -> None:
        super().__init__()
        self.dim = _check_dim(dim)
        self.solver = as_choice(solver, "solver", (*SOLVERS, "auto"))
        if self.solver == "levinson" and self.dim != 1:
            raise ValueError("solver='levinson' is for dim=1 only; use 'cg' or 'dense' for images")
        self.reduction = as_choice(reduction, "reduction", REDUCTIONS)
        self.direction = as_choice(direction, "direction", DIRECTIONS)
        if isinstance(penalty, torch.Tensor):
            if penalty.ndim != self.dim:
                raise ValueError(
                    f"a penalty tensor must be {self.dim}-D, got shape {tuple(penalty.shape)}"
                )
            self.penalty_kind = None
        else:
            self.penalty_kind = as_choice(penalty, "penalty", PENALTIES)
        self._penalty = penalty if isinstance(penalty, torch.Tensor) else None
        self.filter_shape = filter_shape
        self.epsilon, self.tol, self.sigma = epsilon, tol, sigma
        if not isinstance(cache_target, bool):
            raise TypeError(f"cache_target must be True or False, got {cache_target!r}")
        self.cache_target = cache_target
        self.factorisations = 0  # WienerFactor objects built by the target cache
        self._target_factor: WienerFactor | None = None
        self._target_settings: tuple = ()
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
        settings = (self.filter_shape, self.dim, self.solver, self.epsilon, self.tol)
        fac = self._target_factor
        if fac is None or self._target_settings != settings or not fac.matches(target):
            fac = WienerFactor(
                target,
                self.filter_shape,
                dim=self.dim,
                solver=self.solver,
                epsilon=self.epsilon,
                tol=self.tol,
            )
            self._target_factor, self._target_settings = fac, settings
            self.factorisations += 1
        return fac

    def filter(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The Wiener filter mapping ``a`` onto ``b`` with this loss's settings."""
        return wiener_filter(
            a,
            b,
            self.filter_shape,
            dim=self.dim,
            solver=self.solver,
            epsilon=self.epsilon,
            tol=self.tol,
        )

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
            if self.cache_target and a is target and self.solver != "dense":
                w = self.target_factor(target).filter(b, a=target)
            else:
                w = self.filter(a, b)
            values.append(filter_penalty(w, self._penalty_like(w)))
        f = sum(values) / len(values)
        if self.reduction == "mean":
            return f.mean()
        if self.reduction == "sum":
            return f.sum()
        return f

    def extra_repr(self) -> str:
        kind = self.penalty_kind or "custom"
        return (
            f"dim={self.dim}, penalty={kind}, solver={self.solver}, direction={self.direction}, "
            f"cache_target={self.cache_target}"
        )


if __name__ == "__main__":  # pragma: no cover - self-demo
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal(64))
    b = torch.from_numpy(rng.standard_normal(64))
    ref = wiener_filter(a, b, solver="dense")
    for s in ("levinson", "cg", "fft"):
        w = wiener_filter(a, b, solver=s)
        print(f"{s:9s} relative distance from dense: {float((w - ref).norm() / ref.norm()):.1e}")
    print(
        "delta test:", bool(torch.allclose(wiener_filter(a, a), torch.eye(64, dtype=a.dtype)[31]))
    )
    print("WienerLoss(x, x):", float(WienerLoss(dim=1)(a, a)))
