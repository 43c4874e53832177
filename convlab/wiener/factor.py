"""The target's factorisation, computed once and reused by every call (:class:`WienerFactor`)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from convlab._validate import CostLimitError, as_real_tensor
from convlab.wiener.block import _BlockGohbergSemencul
from convlab.wiener.convolution import _crop, _fft_grid, _irfft, _place, _rfft, apply_filter
from convlab.wiener.filters import _dense_matrix, _fft_filter, check_solve_cost
from convlab.wiener.options import (
    CHOLESKY_MAX_TAPS,
    WienerOptions,
    _check_dim,
    _check_finite,
    _check_nonzero,
    _check_pair,
    _filter_shape,
    zero_lag_index,
)
from convlab.wiener.solvers import (
    _CentroCholesky,
    _GohbergSemencul,
    _NormalSolve,
    _reversed_normal_matrix,
    _solve_normal_equations,
    _toeplitz_lags,
)

#: a WienerFactor materialises the filter operator W (8 n m bytes per item) up to this size: 8 MiB,
#: about what a cache holds; at 2**22 (1D n = m = 2048) one product W b took 9 ms, the six FFTs of
#: a Gohberg-Semencul solve 1 ms
OPERATOR_MAX_ENTRIES = 2**20


def _cost_refusal(n, m, solver: str, batch: int) -> CostLimitError | None:
    """What :func:`check_solve_cost` would raise for this solve, or None if it fits."""
    try:
        check_solve_cost(n, m, solver, batch)
    except CostLimitError as refused:
        return refused
    return None


class WienerFactor:
    """Everything in ``wiener_filter(a, b, ...)`` that depends on ``a`` only, computed once.

    ``w = (A^T A + ε r0 I)^{-1} A^T b_pad = W b`` is linear in ``b``; the matrix, its
    factorisation and the spectrum of ``a`` depend on ``a`` alone. In training, ``a`` is the
    fixed target (the loss's default direction): factorise once, then every epoch costs one FFT
    correlation ``A^T b_pad`` and one solve with the stored factors, forward and backward (the
    gradient with respect to b flows through ``A^T`` and ``R^{-1}`` only: no new factorisation).
    For small problems (``prod(n) prod(m) <= OPERATOR_MAX_ENTRIES``, e.g. images up to 32x32
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
    cholesky   the inverses of the two half-size SPD blocks of the centrosymmetric  W b, or
               R (from their Cholesky factors), or W when small                  2 dsymv
    levinson,  Gohberg-Semencul generator of R^{-1} (Levinson-Durbin once,       W b, or
    gs         O(m^2)): the spectra of two triangular Toeplitz factors, O(m)     6 FFTs
    gs (2D)    the first block column of R^{-1} (block Levinson once), its       W b, or 2
               FFT along the block axis: (m1 + 1) m2^2 complex numbers           block passes
    cg         nothing but conj(rfft(a)) (CG iterates each call)                 CG
    fft        the whole multiplier conj(â) / (|â|^2 + ε r0) (and W when small)  W b, or
                                                                                1 FFT pair
    ========== ================================================================ =============

    The factor is a snapshot of ``a``'s values (a copy is kept): :meth:`matches` compares a
    tensor with it by value, so a caller can never use a factorisation of a stale signal
    without noticing (:class:`WienerLoss` with ``cache_target=True`` checks every call).

    ``solver="auto"`` in 2D: "gs", the block inverse, when its one-off set-up (``2 m1^2 m2^3``
    flops per item, about 3 s at 128 x 128 and 75 s at 256 x 256) fits the cost limits
    (:func:`convlab._validate.set_cost_limits`), else "cg"; if the block inverse fails its check
    (a normal matrix too ill-conditioned for the block Levinson recursion, e.g. a smooth blob
    with cond above about 1e8), "cholesky" up to ``CHOLESKY_MAX_TAPS`` taps if it fits the cost
    limits, else "cg"; either fallback warns. The attribute ``solver`` says which one was used.

    Parameters are those of :func:`wiener_filter` (solver "dense" has nothing to reuse: refused).

    Examples
    --------
    >>> from convlab.wiener import wiener_filter
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
        options: WienerOptions | None = None,
        **settings: Any,
    ) -> None:
        dim = _check_dim(dim)
        a = as_real_tensor(a, "a")
        _check_pair(a, a, dim)
        n = tuple(a.shape[-dim:])
        m = _filter_shape(filter_shape, n)
        asked = WienerOptions.of(options, **settings)
        opts = asked.resolve(dim, m, cached=True)
        if opts.solver == "dense":
            raise ValueError(
                "solver='dense' (the reference) has no reusable factorisation; use 'cholesky', "
                "'gs', 'levinson', 'cg' or 'fft'"
            )
        batch = math.prod(a.shape[:-dim])
        block = asked.solver == "auto" and opts.solver == "gs" and dim == 2
        refused = _cost_refusal(n, m, "gs", batch) if block else None
        if refused is not None:  # the block inverse's one-off set-up is over the cost limits
            block, opts = False, dataclasses.replace(opts, solver="cg")
            warnings.warn(
                f"WienerFactor uses cg, which iterates on every call, instead of the exact "
                f"block inverse (solver='gs'), whose one-off set-up is over the cost limit: "
                f"{refused}",
                UserWarning,
                stacklevel=2,
            )
        solver, epsilon = opts.solver, opts.epsilon
        check_solve_cost(n, m, solver, batch)
        _check_nonzero(a, dim, "a", "the normal matrix A^T A is singular (no unique filter)")
        self.dim, self.n, self.m, self.options = dim, n, m, opts
        self.solver, self.epsilon = solver, epsilon
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
        if solver == "gs" and dim == 2:
            ridge = epsilon * a64.flatten(-2).square().sum(-1)
            try:
                self.factor = _BlockGohbergSemencul(a64, m, ridge)
            except ValueError as failed:  # its check failed (very ill-conditioned): if
                if not block:  # auto-chosen, the backward-stable cholesky if affordable, else cg
                    raise
                small = math.prod(m) <= CHOLESKY_MAX_TAPS
                if small and _cost_refusal(n, m, "cholesky", batch) is None:
                    solver = "cholesky"
                else:
                    solver = "cg"
                    check_solve_cost(n, m, solver, batch)
                warnings.warn(
                    f"WienerFactor uses {solver} instead of the block inverse (solver='gs'), for "
                    f"every item of the batch: {failed}",
                    UserWarning,
                    stacklevel=2,
                )
                self.options = dataclasses.replace(opts, solver=solver)
                self.solver = solver
        if solver == "cholesky":
            JR = _reversed_normal_matrix(a64, m, epsilon)
            self.factor = _CentroCholesky(JR)
        elif solver in ("levinson", "gs") and dim == 1:
            ridge = epsilon * a64.square().sum(-1, keepdim=True)
            self.factor = _GohbergSemencul(_toeplitz_lags(A_hat.abs().square(), ridge, self.S, m))
        if self.factor is not None and math.prod(n) * math.prod(m) <= OPERATOR_MAX_ENTRIES:
            # W^T = A_win R^{-1}: row i = (R^{-1} A^T e_i)^T, so w = W b = (b^T W^T)^T
            self.operator = self.factor.solve(_dense_matrix(a64, m, window=True)).contiguous()
        elif solver == "cholesky":  # every call: one symmetric product per half, no solves
            self.factor.invert()

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

    def adjoint(self, w_bar: Any) -> torch.Tensor:
        """The adjoint ``W^T w̄`` of the linear map ``b -> w = W b`` (:meth:`filter`): written
        out, not by autograd. Exact solvers: ``W^T = P_win A R^{-1}`` (one solve with the stored
        factors, one convolution, b's window); "fft": the correlation with the conjugate
        multiplier; a materialised ``W``: one product."""
        w_bar = as_real_tensor(w_bar, "w_bar").to(torch.float64)
        shape = (*self.values.shape[: self.values.ndim - self.dim], *self.m)
        if tuple(w_bar.shape) != shape:
            raise ValueError(
                f"w_bar must have the filter's shape {shape}, got {tuple(w_bar.shape)}"
            )
        _check_finite(w_bar, "w_bar")
        d = self.dim
        if self.operator is not None:
            b = (self.operator @ w_bar.flatten(-d).unsqueeze(-1)).squeeze(-1)
        elif self.solver == "fft":
            full = _irfft(self.multiplier.conj() * _rfft(w_bar, self.S), self.S)
            b = _crop(full, self.n, self.offset)
        else:
            if self.factor is not None:
                lam = self.factor.solve(w_bar.flatten(-d)).reshape(w_bar.shape)
            else:
                lam, _ = _solve_normal_equations(self.a64, w_bar, dim=d, options=self.options)
            b = apply_filter(self.a64, lam, dim=d)
        return b.reshape(self.values.shape).to(self.dtype)

    def as_linear_map(self) -> Any:
        """The map ``b -> w`` as a :class:`convlab.operators.LinearMap` (torch backend), with
        :meth:`filter` (differentiable: autograd's VJP is the adjoint) and :meth:`adjoint`; so
        every check of the package accepts a factor."""
        from convlab.operators import aslinearmap

        return aslinearmap(
            (self.filter, self.adjoint),
            in_shape=tuple(self.values.shape),
            out_shape=(*self.values.shape[: self.values.ndim - self.dim], *self.m),
            dtype=self.dtype,
            device=self.values.device,
            name=f"Wiener b -> w ({self.solver})",
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
        _check_finite(b, "b")
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
        w = _NormalSolve.apply(a64, g, self.dim, self.options, self.factor)
        return w.to(self.dtype)
