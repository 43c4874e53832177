"""The inverse of the 2D (block-Toeplitz-Toeplitz-block) normal matrix in closed form, from its
first block column: the block Gohberg-Semencul formula, applied by FFT along the block axis.

The 2D normal matrix ``R = A^T A + ε r0 I`` of a filter of shape ``(m1, m2)`` (C order) is block
Toeplitz: ``m1 x m1`` blocks ``R[j, l] = R_{j-l}``, each an ``m2 x m2`` Toeplitz matrix, with
``R_{-k} = R_k^T``. Its inverse is known from one block column (Gohberg and Heinig 1974, the block
form of the Gohberg-Semencul formula): with ``X = R^{-1} [I; 0; ...; 0]`` (blocks ``X_0 ..
X_{m1-1}``) and ``Y`` the last block column of ``R^{-1}``,

    R^{-1} = L(X) X_0^{-1} L(X)^T - L(Z Y) Y_{m1-1}^{-1} L(Z Y)^T,

``L(V)`` the block lower-triangular Toeplitz matrix with first block column ``V`` and ``Z`` the
shift down by one block. ``R`` is centrosymmetric (reversing both axes of the filter maps it to
itself), so is ``R^{-1}``, and ``Y_k = J X_{m1-1-k} J`` (``J`` reverses the inner axis): ``X``
alone is stored, as ``X L^{-T}`` with ``X_0 = L L^T`` (Cholesky), which absorbs both middle
factors: ``R^{-1} = L(X̃) L(X̃)^T - L(Z Ỹ) L(Z Ỹ)^T``.

Applied by FFT along the block axis (a grid ``P >= 2 m1``, ``F = P // 2 + 1`` frequencies), each
of the four products is one ``m2 x m2`` complex matrix-vector product per frequency with
``X̂(ω) = sum_k X̃_k e^{-iωk}``; the ``Y`` products are the same matrices, conjugated, reversed
and phase-shifted, so one solve reads the stored ``X̂`` (``F m2^2`` complex numbers: 34 MB at
128 x 128, 270 MB at 256 x 256) twice: the two ``L^T`` products, then the two ``L`` products.
For ``m1 = m2 = m`` that is ``32 m^3`` bytes, against ``8 m^4`` for a stored dense inverse
(``4 / m`` of it), in about ``16 m^3`` real multiply-adds. Measured (one thread, float64):
10 ms a solve at 128 x 128 (CG with the BCCB preconditioner: 45 iterations on white noise, 300
and more on the camera image; 60-330 ms), about 60 ms at 256 x 256.

``X`` is computed once by the block Levinson recursion (:func:`first_block_column`, ``2 m1^2
m2^3`` flops: 3 s at 128 x 128, 75 s at 256 x 256), for a factorisation reused across many
solves (:class:`convlab.wiener.WienerFactor`). The recursion is weakly stable: the set-up
checks one solve of a random probe (relative residual <= ``PROBE_TOL``; measured 1e-15 on white
noise, 4e-10 on the camera image at 128 x 128) and refuses the factor otherwise.

Accuracy against a dense solve: 1e-15 (white noise), 1e-10 (camera image at 64 x 64, cond 2e7).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
import torch

from convlab.wiener.convolution import _fft_grid, _lag_block, _normal_matvec, _rfft

#: a block inverse is accepted when it solves a random probe to this relative residual (1e-15
#: on white noise, 4e-10 on the camera image at 128 x 128; smooth blobs whose normal matrix has
#: a condition number above about 1e8 fail it, where Cholesky still gets 1e-8)
PROBE_TOL = 1e-8


def _block_grid(m1: int) -> int:
    """The FFT length along the block axis: ``>= 2 m1``, since ``Z Y`` reaches lag ``m1`` (at
    ``2 m1 - 1`` its last block would wrap around onto the first)."""
    return scipy.fft.next_fast_len(2 * m1, real=True)


def _matmul(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Batched complex ``A @ B``; on the CPU by numpy, whose batched zgemm reads the stored
    ``X̂`` at 1.3-2x the speed of torch's for these shapes (``m2 x m2`` by ``m2 x 2``); by torch
    on other devices and where autograd records (a double backward differentiates the solve)."""
    if A.device.type != "cpu" or (torch.is_grad_enabled() and (A.requires_grad or B.requires_grad)):
        return A @ B
    return torch.from_numpy(np.matmul(A.resolve_conj().numpy(), B.resolve_conj().numpy()))


def first_block_column(a: torch.Tensor, m: tuple[int, int], ridge: torch.Tensor) -> torch.Tensor:
    """``X = R^{-1} [I; 0; ...; 0]``, the first block column of the inverse of the 2D normal
    matrix ``R = A(a)^T A(a) + ridge I`` (filters of shape ``m = (m1, m2)``), by the block
    Levinson-Durbin recursion (Whittle 1963; Akaike 1973) in float64: (..., m1, m2, m2), block
    ``k`` = ``X_k``.

    Order k -> k + 1 with the forward predictor ``a = [I; A_1; ...; A_k]`` (``T_k a = [P_k; 0]``)
    and, by centrosymmetry, the backward one ``J_full a J`` (``Q_k = J P_k J``)::

        D_k = sum_j R_{k+1-j} A_j,   Γ = Q_k^{-1} D_k,
        A_i <- A_i - J A_{k+1-i} J Γ   (i = 1 .. k+1),   P_{k+1} = P_k - D_k^T Γ,

    and finally ``X = a P^{-1}``. Each step is two matrix products with ``(k + 1) m2`` rows, in
    all about ``2 m1^2 m2^3`` flops (6.9e10 at 128 x 128: seconds) whatever the conditioning.
    Weakly stable, as Levinson's recursion (the caller checks the result).
    """
    m1, m2 = m
    rr = _lag_block(a, m)  # rr[..., k1 + m1 - 1, k2 + m2 - 1] = r[k1, k2]
    p = torch.arange(m2, device=a.device)
    blocks = rr[..., m1 - 1 :, :][..., p[:, None] - p[None, :] + m2 - 1]  # R_k, k = 0..m1-1
    batch = blocks.shape[:-3]
    # [R_1, R_2, ..., R_{m1-1}] side by side, (..., m2, (m1 - 1) m2)
    H = blocks[..., 1:, :, :].movedim(-3, -2).reshape(*batch, m2, (m1 - 1) * m2)
    P = blocks[..., 0, :, :].clone()
    P[..., p, p] += ridge.reshape(*batch, 1)
    # the predictor's blocks in reverse order, stacked: rows of A_j at block m1 - 1 - j, so
    # that [A_k; ...; A_0] is one contiguous slice
    A = torch.zeros(*batch, m1 * m2, m2, dtype=a.dtype, device=a.device)
    A[..., (m1 - 1) * m2 + p, p] = 1.0
    for k in range(m1 - 1):
        V = A[..., (m1 - 1 - k) * m2 :, :]  # [A_k; ...; A_0]
        D = H[..., : (k + 1) * m2] @ V
        gamma = torch.linalg.solve(P.flip(-1, -2), D)
        # A_i -= J A_{k+1-i} (J Γ): the rows of V (J Γ) reversed are the blocks i = 1..k+1
        A[..., (m1 - 2 - k) * m2 : (m1 - 1) * m2, :] -= (V @ gamma.flip(-2)).flip(-2)
        P = P - D.mT @ gamma
    P = (P + P.mT) / 2
    return A.reshape(*batch, m1, m2, m2).flip(-3) @ torch.linalg.inv(P).unsqueeze(-3)


class _BlockGohbergSemencul:
    """``R^{-1}`` of the 2D normal matrix of ``a`` (float64, filters of shape ``m``) by the block
    Gohberg-Semencul formula (module docstring); ``ridge``: ``ε r0`` per item."""

    def __init__(self, a: torch.Tensor, m: tuple[int, int], ridge: torch.Tensor) -> None:
        m1 = m[0]
        why = (
            "the normal matrix A^T A is not numerically positive definite for the block "
            "Levinson recursion (a is (nearly) zero, badly scaled or very ill-conditioned); use "
            "epsilon > 0 or solver='cg' / 'cholesky'"
        )
        # R(a) = s^2 R(a / s): everything below is for a / s (no under- or overflow at any
        # scale); a solve divides by s twice
        s = a.detach().flatten(-2).abs().amax(-1)
        self.s = torch.where(s > 0, s, torch.ones_like(s))
        a, ridge = a / self.s[..., None, None], ridge / self.s.square()
        try:
            X = first_block_column(a, m, ridge)
            # X_0 = L L^T (SPD: a diagonal block of R^{-1}); X L^{-T} absorbs X_0^{-1}, and
            # J X L^{-T} J the middle factor Y_{m1-1}^{-1} = J X_0^{-1} J of the second term
            L = torch.linalg.cholesky((X[..., 0, :, :] + X[..., 0, :, :].mT) / 2)
        except torch.linalg.LinAlgError:  # a singular leading block minor
            raise ValueError(why) from None
        X = torch.linalg.solve_triangular(L.mT.unsqueeze(-3), X, upper=True, left=False)
        self.m = m
        self.P = _block_grid(m1)
        F = self.P // 2 + 1
        self.X_hat = torch.fft.rfft(X, n=self.P, dim=-3).contiguous()  # (..., F, m2, m2)
        w = 2 * math.pi * torch.arange(F, dtype=torch.float64, device=a.device) / self.P
        self.phase = torch.exp(1j * w * m1).reshape(F, 1)  # e^{iω m1}
        # the recursion is weakly stable (as Levinson's): check one solve of a fixed probe
        S = _fft_grid(tuple(a.shape[-2:]), m)
        spec, ridge2 = _rfft(a, S).abs().square(), ridge.reshape(*ridge.shape, 1, 1)
        gen = torch.Generator().manual_seed(0)
        probe = torch.randn((*a.shape[:-2], *m), generator=gen, dtype=torch.float64)
        probe = probe.to(a.device)
        x = self._solve(probe.flatten(-2)).reshape(probe.shape)
        residual = _normal_matvec(spec, ridge2, x, S, m) - probe
        rel = residual.flatten(-2).norm(dim=-1) / probe.flatten(-2).norm(dim=-1)
        self.probe_residual = float(rel.max()) if rel.numel() else 0.0
        if not self.probe_residual <= PROBE_TOL:  # also NaN
            worst = torch.nan_to_num(rel, nan=math.inf).flatten().argmax()
            item = tuple(int(i) for i in np.unravel_index(int(worst), rel.shape))
            where = f" for batch item {item}"
            raise ValueError(
                f"{why} (probe residual {self.probe_residual:.1e} > {PROBE_TOL:g}"
                f"{where if rel.ndim else ''})"
            )

    def solve(self, y: torch.Tensor) -> torch.Tensor:
        """``R^{-1} y`` for y of shape (..., m1 * m2) (batch axes as R's, then optionally more)."""
        s = self.s.reshape(*self.s.shape, *(1,) * (y.ndim - self.s.ndim))
        return self._solve(y) / s / s  # R(a)^{-1} = R(a / s)^{-1} / s^2 (no s^2: no overflow)

    def _solve(self, y: torch.Tensor) -> torch.Tensor:
        """``R(a / s)^{-1} y``, the normalised signal's inverse."""
        m1, m2 = self.m
        P = self.P
        g = y.reshape(*y.shape[:-1], m1, m2)
        X_hat = self.X_hat
        extra = g.ndim - 2 - (X_hat.ndim - 3)
        X_hat = X_hat.reshape(*X_hat.shape[:-3], *(1,) * extra, *X_hat.shape[-3:])
        G = torch.fft.rfft(g, n=P, dim=-2)  # (..., F, m2)
        # u = L(X̃)^T g and v = L(ZỸ)^T g: û = X̂^H Ĝ and v̂ = e^{iωm1} J X̂^T J Ĝ, as the rows
        # conj(Ĝ)^T X̂ = conj(û)^T and (J Ĝ)^T X̂ = (X̂^T J Ĝ)^T: one pass over X̂
        rows = _matmul(torch.stack([G.conj(), G.flip(-1)], dim=-2), X_hat)  # (..., F, 2, m2)
        U = torch.stack([rows[..., 0, :].conj(), self.phase * rows[..., 1, :].flip(-1)], dim=-2)
        uv = torch.fft.irfft(U, n=P, dim=-3)[..., :m1, :, :]  # (..., m1, 2, m2): u and v
        # L(X̃) u - L(ZỸ) v:  X̂ û  -  e^{-iωm1} J conj(X̂ conj(J v̂)): the second pass
        UV = torch.fft.rfft(uv, n=P, dim=-3)
        C2 = torch.stack([UV[..., 0, :], UV[..., 1, :].flip(-1).conj()], dim=-2)  # (..., F, 2, m2)
        Q2 = _matmul(C2, X_hat.mT)  # rows (X̂ c)^T = c^T X̂^T (a view: BLAS reads X̂ transposed)
        out = Q2[..., 0, :] - self.phase.conj() * Q2[..., 1, :].conj().flip(-1)
        x = torch.fft.irfft(out, n=P, dim=-2)[..., :m1, :]
        return x.reshape(y.shape)
