"""Filter banks + ReLU as pattern detectors, and the image back from their responses.

The lecture "Image representations": filtering an image with a bank of filters and applying a
ReLU gives a score per pattern and pixel; the representation is *roughly invertible*:

1. ReLU outputs -> responses: keep both halves, ``p = [relu(r), relu(-r)]``, then
   ``r = relu(r) - relu(-r)`` exactly (:func:`relu_pair`, :func:`unrelu_pair`);
2. responses -> image: least squares by the convolution theorem (:func:`reconstruct`); its last
   step is a filtering (multiply by ``conj(F_k)`` and divide by ``sum_k |F_k|^2``);
3. the bank is **overcomplete** (K responses per pixel), so the image survives a fraction of
   the responses being lost (``mask=``: least squares on the observed ones, matrix-free CG).

Conventions (stated once, used everywhere)
------------------------------------------
* Images are real ``(H, W)`` or batched ``(..., H, W)`` tensors; filters are ``(K, k1, k2)`` with
  odd ``k1 <= H`` and ``k2 <= W``; responses are ``(..., K, H, W)``. Arrays, lists and tensors
  are accepted; everything is computed and returned as ``torch.float64``.
* **Periodic convolution** (not correlation), filter centre at the middle tap ``c = k // 2``::

      r_k[i, j] = sum_{p, q} f_k[p, q] x[(i - p + c1) mod H, (j - q + c2) mod W]

  i.e. ``scipy.ndimage.convolve(x, f_k, mode="wrap")``, MATLAB
  ``imfilter(x, rot90(f_k, 2), 'circular')`` (imfilter correlates, so the filter is rotated by
  180 degrees), and ``torch.nn.functional.conv2d`` on circularly padded input with the
  *flipped* filter. A delta at the centre tap gives ``responses(x, delta) == x``. As a matrix
  each ``K_k`` is BCCB (block circulant with circulant blocks).
* FFTs: ``torch.fft.rfft2`` / ``irfft2`` with ``norm="backward"`` (torch's default; MATLAB's
  ``fft2``/``ifft2``): forward unscaled, inverse divides by ``H W``. The eigenvalues of ``K_k``
  are ``F_k = fft2(f_k placed on the H x W grid, centre tap circshifted to (0, 0))``.
* Rows are image rows (``y``, downwards), columns image columns (``x``, to the right).

Examples
--------
>>> import torch
>>> x = torch.rand(16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
>>> f = filter_bank("oriented")                       # (6, 7, 7)
>>> r = responses(x, f)                               # (6, 16, 16)
>>> p = relu_pair(r)                                  # (12, 16, 16), all >= 0
>>> bool(torch.allclose(reconstruct(unrelu_pair(p), f), x))
True
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as tnf

from convlab._validate import (
    as_bool_mask,
    as_choice,
    as_flag,
    as_real_number,
    as_real_tensor,
    as_shape,
    as_size,
    check_cost,
    require_finite,
)
from convlab.operators import LinearMap

__all__ = [
    "FILTER_KINDS",
    "FILTER_LABELS",
    "filter_bank",
    "filter_bank_operator",
    "normal_eigenvalues",
    "reconstruct",
    "relu_pair",
    "responses",
    "unrelu_pair",
]

FFT_NORM = "backward"
FILTER_KINDS = ("oriented", "derivatives")
#: One label per filter of each bank, in order (for plots).
FILTER_LABELS = {
    "oriented": ("gaussian", "d/d0", "d/d45", "d/d90", "d/d135", "LoG"),
    "derivatives": ("d/d0", "d/d45", "d/d90", "d/d135", "LoG"),
}
#: ``sum_k |F_k|^2`` at or below this multiple of its maximum counts as a zero eigenvalue.
ZERO_EIGENVALUE_RTOL = 1e3 * float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------------------------
# filter banks
# --------------------------------------------------------------------------------------------


def filter_bank(kind: str = "oriented", size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """A small bank of Gaussian-derivative filters, ``(K, size, size)`` float64.

    Parameters
    ----------
    kind : {"oriented", "derivatives"}
        ``"oriented"`` (K = 6): a Gaussian, its first derivatives at 0, 45, 90 and 135 degrees
        and a Laplacian of Gaussian (LoG). The Gaussian passes the mean (frequency 0), so
        ``sum_k |F_k|^2 > 0`` at every frequency: the bank is invertible.
        ``"derivatives"`` (K = 5): the same without the Gaussian. Every filter sums to exactly
        0, so the bank is blind to the mean (``sum_k |F_k|^2 = 0`` at frequency (0, 0)): NOT
        invertible there (:func:`reconstruct` raises unless ``epsilon > 0``, and then returns
        the image minus its mean).
    size : int
        Odd filter size >= 3 (taps at offsets ``-size//2 .. size//2``).
    sigma : float
        Standard deviation of the Gaussian in pixels (> 0).

    Returns
    -------
    torch.Tensor, shape (K, size, size), float64; labels in ``FILTER_LABELS[kind]``.

    Notes
    -----
    With offsets ``X`` (column, to the right) and ``Y`` (row, downwards) and
    ``g = exp(-(X^2 + Y^2) / (2 sigma^2))``, normalised so that under :func:`responses`
    (periodic *convolution*):

    * Gaussian ``g / sum(g)``: a constant image gives the same constant (unit DC gain);
    * derivative at angle ``t`` (from the column axis towards the row axis):
      ``-(cos t X + sin t Y) g``, scaled so that the ramp ``x[i, j] = cos t j + sin t i``
      gives exactly 1 away from the periodic seam (a positive response = intensity increasing
      along direction ``t``; a correlation would give -1);
    * LoG ``(X^2 + Y^2 - 2 sigma^2) g``, its mean removed (sum exactly 0) and scaled so that
      ``x[i, j] = i^2 + j^2`` gives exactly its Laplacian, 4.

    The derivative filters are odd (``f(-X, -Y) = -f(X, Y)``), so they also sum to 0.

    Conditioning: every filter is smooth (low-pass), so ``sum_k |F_k|^2`` is small at high
    frequencies. "oriented" with the defaults has condition number ``max / min`` about 6e7 on a
    64 x 64 grid (about 2e6 with ``size=5, sigma=1.0``; see :func:`normal_eigenvalues`):
    exact responses give the image back to ~1e-9, but noisy ones need ``epsilon > 0`` in
    :func:`reconstruct` (plain least squares amplifies their high-frequency noise).

    Examples
    --------
    >>> f = filter_bank()
    >>> tuple(f.shape), f.sum(dim=(1, 2)).abs().round(decimals=12).tolist()
    ((6, 7, 7), [1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    >>> filter_bank("derivatives", size=5, sigma=1.0).shape
    torch.Size([5, 5, 5])
    """
    kind = as_choice(kind, "kind", FILTER_KINDS)
    size = as_size(size, "size", minimum=3)
    if size % 2 == 0:
        raise ValueError(f"size must be odd (a centre tap), got {size}")
    check_cost(
        f"a bank of {size} x {size} filters", nbytes=8 * 12 * size * size, alternative="size <= 101"
    )
    # sigma**2 must not overflow (every Gaussian weight would be 1 beyond ~1e150 anyway)
    sigma = as_real_number(sigma, "sigma", strict=True, maximum=1e150)
    t = torch.arange(size, dtype=torch.float64) - size // 2
    Y, X = torch.meshgrid(t, t, indexing="ij")  # Y: row offset, X: column offset
    g = torch.exp(-(X**2 + Y**2) / (2 * sigma**2))
    gauss = g / g.sum()
    angles = torch.deg2rad(torch.tensor([0.0, 45.0, 90.0, 135.0], dtype=torch.float64))
    u = torch.cos(angles)[:, None, None] * X + torch.sin(angles)[:, None, None] * Y
    deriv = -u * g  # (4, size, size)
    # response to the ramp u: sum_pq f[p, q] (u_ij - u_pq) = -sum(f u) (f sums to 0)
    deriv = deriv / -(deriv * u).sum(dim=(1, 2), keepdim=True)
    r2 = X**2 + Y**2
    log = (r2 - 2 * sigma**2) * g
    log = log - log.mean()
    log = log * (4.0 / (log * r2).sum())  # response to i^2 + j^2: sum(f r2) (f sums to 0)
    bank = [deriv, log[None]]
    if kind == "oriented":
        bank.insert(0, gauss[None])
    return torch.cat(bank)


# --------------------------------------------------------------------------------------------
# responses and the ReLU pair
# --------------------------------------------------------------------------------------------


def responses(image: Any, filters: Any) -> torch.Tensor:
    """Periodic convolution of ``image`` with every filter of the bank, by FFT.

    Parameters
    ----------
    image : (H, W) or (..., H, W) real array/tensor.
    filters : (K, k1, k2) real, odd ``k1 <= H``, ``k2 <= W``, centre at the middle tap.

    Returns
    -------
    torch.Tensor, shape (..., K, H, W), float64:
    ``r_k = real(ifft2(F_k * fft2(x)))`` (computed with ``rfft2``/``irfft2``), the same as
    ``scipy.ndimage.convolve(x, f_k, mode="wrap")``.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(12.0).reshape(3, 4)
    >>> delta = torch.zeros(1, 3, 3); delta[0, 1, 1] = 1
    >>> bool(torch.allclose(responses(x, delta)[0], x.double()))
    True
    """
    filters = _as_filters(filters)
    x = _as_images(image, filters)
    F = _spectra(filters, tuple(x.shape[-2:]))
    return _forward(F, x)


def filter_bank_operator(filters: Any, shape: Any) -> LinearMap:
    """The filter bank on ``(H, W)`` images as a :class:`~convlab.operators.LinearMap`.

    Forward :func:`responses` (``x -> (r_1, ..., r_K)``, shape ``(K, H, W)``), adjoint
    ``sum_k K_k^T r_k`` (multiply by ``conj(F_k)``), both by FFT in float64. The normal
    operator ``A^T A`` has the eigenvalues :func:`normal_eigenvalues`; each block ``K_k`` is
    ``conv.Conv2D(f_k, (H, W)).matrix(order="C")``.

    Examples
    --------
    >>> A = filter_bank_operator(filter_bank("oriented"), (16, 16))
    >>> A.shape, A.adjoint_test().passed
    ((1536, 256), True)
    """
    filters = _as_filters(filters)
    hw = _as_shape(shape, filters)
    F = _spectra(filters, hw)
    return LinearMap(
        lambda x: _forward(F, x),
        lambda r: _adjoint(F, r, hw),
        hw,
        (filters.shape[0], *hw),
        backend="torch",
        dtype=torch.float64,
        name=f"filter bank ({filters.shape[0]} filters)",
    )


def relu_pair(r: Any) -> torch.Tensor:
    """``cat(relu(r), relu(-r))`` along the filter axis: (..., K, H, W) -> (..., 2K, H, W).

    Each filter becomes two pattern detectors (the pattern and its negative); both outputs
    are >= 0 and at most one of the pair is non-zero per pixel. :func:`unrelu_pair` undoes it.

    Examples
    --------
    >>> import torch
    >>> relu_pair(torch.tensor([[[1.0, -2.0]]])).tolist()
    [[[1.0, 0.0]], [[0.0, 2.0]]]
    """
    r = _as_stack(r, "r")
    return torch.cat((torch.relu(r), torch.relu(-r)), dim=-3)


def unrelu_pair(p: Any) -> torch.Tensor:
    """Responses back from :func:`relu_pair`: ``p[..., :K, :, :] - p[..., K:, :, :]``.

    Exact, because ``relu(r) - relu(-r) = r`` for every real ``r``: the ReLU pair loses
    nothing.

    Examples
    --------
    >>> import torch
    >>> r = torch.randn(3, 4, 5, dtype=torch.float64)
    >>> bool(torch.equal(unrelu_pair(relu_pair(r)), r))
    True
    """
    p = _as_stack(p, "p")
    two_k = p.shape[-3]
    if two_k % 2:
        raise ValueError(
            f"p must have an even number of channels (relu(r) then relu(-r)) along axis -3, "
            f"got {two_k}"
        )
    k = two_k // 2
    return p[..., :k, :, :] - p[..., k:, :, :]


# --------------------------------------------------------------------------------------------
# the normal operator and reconstruction
# --------------------------------------------------------------------------------------------


def normal_eigenvalues(filters: Any, shape: Any, *, onesided: bool = False) -> torch.Tensor:
    """Eigenvalues of ``sum_k K_k^T K_k`` on an ``H x W`` periodic grid, without forming it.

    Each ``K_k`` is BCCB with eigenvalues ``F_k`` (``fft2`` of the filter placed on the grid,
    centre tap at (0, 0)), and ``K_k^T`` has ``conj(F_k)``, so the normal operator is BCCB with
    eigenvalues ``sum_k |F_k|^2`` (real, >= 0). MATLAB::

        lam = zeros(H, W); for k = 1:K, lam = lam + abs(fft2(circshift(fpad_k, -[c1 c2]))).^2; end

    Parameters
    ----------
    filters : (K, k1, k2) filter bank (odd sizes).
    shape : (H, W) grid size.
    onesided : return the ``(H, W//2 + 1)`` half spectrum of ``rfft2`` (the rest follows from
        the symmetry ``lam[-u, -v] = lam[u, v]``) instead of the full ``(H, W)`` array.

    Returns
    -------
    torch.Tensor, float64, shape (H, W) in ``fft2`` layout (frequency (0, 0) first, unsorted:
    compare with ``eig`` as multisets, :func:`convlab.checks.eigenvalues_match`), or
    (H, W//2 + 1) when ``onesided``.

    Examples
    --------
    >>> lam = normal_eigenvalues(filter_bank("derivatives"), (16, 16))
    >>> tuple(lam.shape), bool(lam[0, 0] < 1e-20), bool(lam[1:, :].min() > 0)
    ((16, 16), True, True)
    """
    filters = _as_filters(filters)
    hw = _as_shape(shape, filters)
    if as_flag(onesided, "onesided"):
        return _normal_spectrum(_spectra(filters, hw))
    return torch.fft.fft2(_place(filters, hw), norm=FFT_NORM).abs().square().sum(dim=0)


def reconstruct(
    r: Any,
    filters: Any,
    *,
    mask: Any = None,
    epsilon: float = 0.0,
    tol: float = 1e-10,
    maxiter: int | None = None,
    return_info: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, int]:
    """Least-squares image from (some of) its filter responses.

    Solves ``argmin_x sum_k ||M_k (K_k x - r_k)||^2 + epsilon ||x||^2`` with ``K_k`` the
    periodic convolution of :func:`responses` and ``M_k`` the 0/1 mask of observed responses.

    * ``mask=None`` (every response observed): closed form by the convolution theorem::

          x_hat = sum_k conj(F_k) R_k / (sum_k |F_k|^2 + epsilon),   R_k = fft2(r_k)

      MATLAB: ``x = real(ifft2(sum(conj(F) .* fft2(r), 3) ./ (sum(abs(F).^2, 3) + epsilon)))``.
      Its last step is a filtering of each response with the adjoint filter (the lecture's
      "last step of reconstruction is filtering"). Raises ``ValueError`` when
      ``sum_k |F_k|^2`` is (numerically) zero at some frequency and ``epsilon == 0``.
    * ``mask`` given: conjugate gradients (``scipy.sparse.linalg.cg``) on the normal equations
      ``(sum_k K_k^T M_k K_k + epsilon I) x = sum_k K_k^T M_k r_k``, every matvec by FFT (the
      same forward/adjoint code as the closed form; nothing of size ``(K H W) x (H W)`` is
      formed). When the unmasked normal operator is invertible its inverse, the closed form
      above, preconditions CG. One CG per image of a batch.

    Parameters
    ----------
    r : (K, H, W) or (..., K, H, W) real responses (entries where ``mask`` is False are
        ignored, NaN allowed there).
    filters : (K, k1, k2) the bank that produced them.
    mask : None or a bool array/tensor of exactly ``r``'s shape, True = observed.
    epsilon : ridge (Tikhonov) weight >= 0.
    tol : CG relative residual of the normal equations (> 0); ignored without a mask.
    maxiter : CG iteration cap (default ``10 H W``); a ``RuntimeWarning`` if reached.
    return_info : also return the number of CG iterations (the largest over a batch; 0 for
        the closed form).

    Returns
    -------
    torch.Tensor (..., H, W) float64, or ``(image, iterations)`` with ``return_info=True``.

    Notes
    -----
    If the masked problem is singular (e.g. the "derivatives" bank with a mask) CG still
    converges from ``x0 = 0`` to a least-squares solution; it is the minimum-norm one when
    no preconditioner is used (the unmasked operator itself singular).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.rand(12, 12, dtype=torch.float64, generator=g)
    >>> f = filter_bank("oriented", size=5, sigma=1.0)
    >>> r = responses(x, f)
    >>> keep = torch.rand(r.shape, generator=g) > 0.3          # lose 30% of the responses
    >>> bool(torch.allclose(reconstruct(r, f, mask=keep), x))
    True
    """
    filters = _as_filters(filters)
    r = _as_stack(r, "r")
    if r.shape[-3] != filters.shape[0]:
        raise ValueError(
            f"r has {r.shape[-3]} responses along axis -3 but filters has {filters.shape[0]}"
        )
    _check_fits(tuple(r.shape[-2:]), filters, "r")
    epsilon = as_real_number(epsilon, "epsilon")
    tol = as_real_number(tol, "tol", strict=True)
    maxiter = None if maxiter is None else as_size(maxiter, "maxiter")
    return_info = as_flag(return_info, "return_info")
    hw = (int(r.shape[-2]), int(r.shape[-1]))
    F = _spectra(filters, hw)
    lam = _normal_spectrum(F)
    if mask is None:
        _raise_if_singular(lam, epsilon)
        # x_hat = sum_k conj(F_k) R_k / (sum_k |F_k|^2 + epsilon)
        x = torch.fft.irfft2(_divide(_adjoint_spectrum(F, r), lam, epsilon), s=hw, norm=FFT_NORM)
        return (x, 0) if return_info else x

    mask = as_bool_mask(mask, shape=tuple(r.shape))
    maxiter = 10 * hw[0] * hw[1] if maxiter is None else maxiter
    x, iterations = _masked_cg(F, lam, r, mask, epsilon, tol, maxiter, hw)
    return (x, iterations) if return_info else x


# --------------------------------------------------------------------------------------------
# FFT building blocks (one forward, one adjoint, one normal solve: shared by all paths)
# --------------------------------------------------------------------------------------------


def _spectra(filters: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """``F_k`` on the half spectrum: ``rfft2`` of each filter placed with its centre at (0, 0)."""
    return torch.fft.rfft2(_place(filters, hw), norm=FFT_NORM)  # (K, H, W//2+1)


def _place(filters: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Every filter zero-padded to H x W, centre tap circshifted to (0, 0): ``K_k e_(0,0)``.

    :func:`convlab.conv_autograd._first_column` for a whole bank at once (it rolls every axis
    of its stencil, so it takes one filter; ``torch.vmap`` over it costs 5x this at 16 x 16).
    MATLAB: ``circshift(padarray(f, [H W] - size(f), 'post'), -floor(size(f) / 2))``.
    """
    k1, k2 = filters.shape[-2:]
    padded = tnf.pad(filters, (0, hw[1] - k2, 0, hw[0] - k1))
    return torch.roll(padded, shifts=(-(k1 // 2), -(k2 // 2)), dims=(-2, -1))


def _normal_spectrum(F: torch.Tensor) -> torch.Tensor:
    """``sum_k |F_k|^2``: eigenvalues of ``sum_k K_k^T K_k`` (half spectrum)."""
    return F.abs().square().sum(dim=0)


def _forward(F: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    # r_k = K_k x = real(ifft2(F_k * fft2(x))); x (..., H, W) -> (..., K, H, W)
    hw = tuple(x.shape[-2:])
    X = torch.fft.rfft2(x, norm=FFT_NORM).unsqueeze(-3)
    return torch.fft.irfft2(F * X, s=hw, norm=FFT_NORM)


def _adjoint_spectrum(F: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    # fft2(sum_k K_k^T r_k) = sum_k conj(F_k) * fft2(r_k); (..., K, H, W) -> (..., H, W//2+1)
    return (F.conj() * torch.fft.rfft2(r, norm=FFT_NORM)).sum(dim=-3)


def _adjoint(F: torch.Tensor, r: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    # sum_k K_k^T r_k = real(ifft2(sum_k conj(F_k) * fft2(r_k))); (..., K, H, W) -> (..., H, W)
    return torch.fft.irfft2(_adjoint_spectrum(F, r), s=hw, norm=FFT_NORM)


def _divide(B: torch.Tensor, lam: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``B / (lam + epsilon)`` in Fourier space: ``(sum_k K_k^T K_k + epsilon I)^{-1}``.

    Used by the closed form (which raises first if ``lam`` has a zero and ``epsilon == 0``)
    and by CG's preconditioner (only used when ``lam + epsilon > 0`` everywhere); the guard
    (0 where ``lam + epsilon == 0``) is never reached through them."""
    denom = lam + epsilon
    return torch.where(denom > 0, B / torch.where(denom > 0, denom, 1.0), 0.0)


def _raise_if_singular(lam: torch.Tensor, epsilon: float) -> None:
    if epsilon > 0:
        return
    bad = lam <= ZERO_EIGENVALUE_RTOL * lam.max()
    if bool(bad.any()):
        u, v = (int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(
            f"the filter bank does not pass frequency (u, v) = ({u}, {v})"
            f"{' (the mean)' if (u, v) == (0, 0) else ''}: sum_k |F_k|^2 = "
            f"{float(lam[u, v]):.1e} there ({int(bad.sum())} such frequencies in the half "
            "spectrum), so that part of the image is lost; use epsilon > 0 (or a mask with CG, "
            "or a bank that passes it, e.g. filter_bank('oriented'))"
        )


def _masked_cg(
    F: torch.Tensor,
    lam: torch.Tensor,
    r: torch.Tensor,
    mask: torch.Tensor,
    epsilon: float,
    tol: float,
    maxiter: int,
    hw: tuple[int, int],
) -> tuple[torch.Tensor, int]:
    from scipy.sparse.linalg import LinearOperator, cg

    n = hw[0] * hw[1]
    m = mask.to(torch.float64)
    rhs = _adjoint(F, torch.where(mask, r, 0.0), hw)  # sum_k K_k^T M_k r_k
    batch = rhs.shape[:-2]
    rhs_flat = rhs.reshape(-1, n)
    m_flat = m.reshape(-1, *m.shape[-3:])
    precondition = bool((lam + epsilon > ZERO_EIGENVALUE_RTOL * lam.max()).all())
    out = torch.empty_like(rhs_flat)
    most = 0
    for b in range(rhs_flat.shape[0]):  # one CG per image (not per entry)
        mb = m_flat[b]

        def normal(v, mb=mb):  # (sum_k K_k^T M_k K_k + epsilon I) v
            x = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)).reshape(hw)
            y = _adjoint(F, mb * _forward(F, x), hw) + epsilon * x
            return y.reshape(-1).numpy()

        def precond(v):  # closed-form inverse of the unmasked operator
            x = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)).reshape(hw)
            X = _divide(torch.fft.rfft2(x, norm=FFT_NORM), lam, epsilon)
            return torch.fft.irfft2(X, s=hw, norm=FFT_NORM).reshape(-1).numpy()

        A = LinearOperator((n, n), matvec=normal, dtype=np.float64)
        M = LinearOperator((n, n), matvec=precond, dtype=np.float64) if precondition else None
        count = [0]

        def step(_xk, count=count):
            count[0] += 1

        rhs_b = rhs_flat[b].numpy()
        if not np.any(rhs_b):
            out[b] = 0.0
            continue
        sol, info = cg(A, rhs_b, rtol=tol, atol=0.0, maxiter=maxiter, M=M, callback=step)
        if info != 0:
            res = np.linalg.norm(normal(sol) - rhs_b) / np.linalg.norm(rhs_b)
            warnings.warn(
                f"cg did not converge: relative residual {res:.1e} after {count[0]} iterations "
                f"(tol={tol:g}); the masked problem is ill-conditioned - try epsilon > 0",
                RuntimeWarning,
                stacklevel=3,
            )
        out[b] = torch.from_numpy(sol)
        most = max(most, count[0])
    return out.reshape(*batch, *hw), most


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _as_filters(filters: Any) -> torch.Tensor:
    f = as_real_tensor(filters, "filters")
    if f.ndim != 3:
        raise ValueError(
            f"filters must be (K, k1, k2), got shape {tuple(f.shape)}"
            + (" (one filter: use filters[None])" if f.ndim == 2 else "")
        )
    if f.shape[0] == 0:
        raise ValueError("filters must hold at least one filter (K >= 1)")
    require_finite(f, "filters")
    k1, k2 = f.shape[-2:]
    if k1 % 2 == 0 or k2 % 2 == 0:
        raise ValueError(
            f"filters' sizes must be odd (a centre tap), got {k1} x {k2}; pad with a row/column "
            "of zeros to place the centre explicitly"
        )
    return f.to(torch.float64)


def _check_fits(hw: tuple[int, ...], filters: torch.Tensor, name: str) -> None:
    k1, k2 = filters.shape[-2:]
    if hw[0] < k1 or hw[1] < k2:
        raise ValueError(
            f"{name} is {hw[0]} x {hw[1]} but the filters are {k1} x {k2}: a periodic "
            "convolution needs filters no larger than the image"
        )


def _as_images(image: Any, filters: torch.Tensor) -> torch.Tensor:
    x = as_real_tensor(image, "image")
    if x.ndim < 2:
        raise ValueError(f"image must be (H, W) or (..., H, W), got shape {tuple(x.shape)}")
    _check_fits(tuple(x.shape[-2:]), filters, "image")
    return x.to(torch.float64)


def _as_stack(value: Any, name: str) -> torch.Tensor:
    t = as_real_tensor(value, name)
    if t.ndim < 3 or t.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty (K, H, W) or (..., K, H, W), got shape {tuple(t.shape)}"
        )
    return t.to(torch.float64)


def _as_shape(shape: Any, filters: torch.Tensor) -> tuple[int, int]:
    hw = as_shape(shape, "shape", ndim=2)
    _check_fits(hw, filters, "shape")
    check_cost(
        f"{filters.shape[0]} filter spectra on a {hw[0]} x {hw[1]} grid",
        nbytes=2 * 16 * filters.shape[0] * hw[0] * hw[1],
        alternative="use a smaller shape",
    )
    return hw


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------


def _demo() -> None:  # pragma: no cover - run by `python -m convlab.representations`
    """``python -m convlab.representations``: the lecture's claims on a real image, checked."""
    import scipy.ndimage
    from skimage import data, transform

    from convlab.checks import eigenvalues_match

    img = transform.resize(data.camera() / 255.0, (64, 64), anti_aliasing=True)
    x = torch.from_numpy(img)
    f = filter_bank("oriented")
    r = responses(x, f)
    print(f"camera 64x64, oriented bank {tuple(f.shape)} -> responses {tuple(r.shape)}")
    ref = np.stack([scipy.ndimage.convolve(img, fk.numpy(), mode="wrap") for fk in f])
    print("responses == scipy.ndimage.convolve(mode='wrap'):", np.allclose(r.numpy(), ref))
    p = relu_pair(r)
    print("ReLU pair >= 0:", bool((p >= 0).all()))
    print("relu(r) - relu(-r) == r exactly:", bool(torch.equal(unrelu_pair(p), r)))
    lam = normal_eigenvalues(f, (64, 64))
    cond = (lam.max() / lam.min()).item()
    print(
        f"sum_k |F_k|^2 > 0 at every frequency (invertible), condition number {cond:.0e}:",
        bool(lam.min() > 0),
    )
    err = (reconstruct(unrelu_pair(p), f) - x).abs().max().item()
    print("image from the ReLU outputs (convolution theorem) to 1e-8:", err < 1e-8)
    d = filter_bank("derivatives")
    try:
        reconstruct(responses(x, d), d)
        refused = False
    except ValueError:
        refused = True
    print("derivatives bank (no Gaussian, blind to the mean) refused without epsilon:", refused)
    xd = reconstruct(responses(x, d), d, epsilon=1e-12)
    print(
        "... with epsilon > 0 it returns the image minus its mean:",
        bool(torch.allclose(xd, x - x.mean(), atol=1e-6)),
    )
    gen = torch.Generator().manual_seed(0)
    keep = torch.rand(r.shape, generator=gen) > 0.3
    xm, its = reconstruct(r, f, mask=keep, tol=1e-13, return_info=True)
    print(
        f"30% of the {r.numel()} responses lost: image recovered to 1e-7 ({its} CG iterations):",
        bool((xm - x).abs().max() < 1e-7),
    )
    small = filter_bank("oriented", size=5, sigma=1.0)
    n = 6
    eye = np.eye(n * n).reshape(n * n, n, n)
    A = np.concatenate(
        [
            scipy.ndimage.convolve(eye, fk.numpy()[None], mode="wrap").reshape(n * n, -1).T
            for fk in small
        ]
    )
    match = eigenvalues_match(
        np.linalg.eigvalsh(A.T @ A), normal_eigenvalues(small, (n, n)).ravel()
    )
    print("eig(sum_k K_k' K_k) == sum_k |fft2(f_k)|^2 at 6x6 (multisets):", match.passed)
    noise = 0.05 * torch.randn(r.shape, generator=gen, dtype=torch.float64)
    rms = {
        eps: (reconstruct(r + noise, f, epsilon=eps) - x).square().mean().sqrt().item()
        for eps in (0.0, 1e-2)
    }
    print(
        f"noisy responses (rms 0.05): plain least squares error rms {rms[0.0]:.2g} (the smooth"
        f" bank barely sees high frequencies), epsilon=1e-2: {rms[1e-2]:.2g};"
        f" 100x better: {rms[0.0] > 100 * rms[1e-2]}"
    )


if __name__ == "__main__":
    _demo()
