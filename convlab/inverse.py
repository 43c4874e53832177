"""Forward operators of imaging inverse problems with exact adjoints, and classical inverses.

The lecture ("CNNs for other supervised learning tasks") writes an inverse problem as
``A[X_true] + eps = Y``: recover the image ``X_true`` from measurements ``Y``. This module gives
the three operators ``A`` the lecture uses, each a small object with ``forward(x)`` (also
``op(x)``) and ``adjoint(y)`` written side by side, plus the classical reconstruction that a CNN
then post-processes (SRCNN/VDSR on the upsampled image, U-Net on the zero-filled MRI or on the
filtered back-projection of a sparse-view CT scan):

============================ ============================== ====================================
problem                      ``A``                          classical inverse
============================ ============================== ====================================
super-resolution             :class:`AveragePool` (r x r,   :func:`upsample` (bicubic, ...),
                             stride r)                      :func:`super_resolution_input`
MRI                          :class:`FourierSampling`       :meth:`FourierSampling.zero_filled`
                             (masked ``fft2``)              (the adjoint), :func:`random_mask`
CT                           :class:`Radon` (sparse matrix, :func:`fbp` (ramp filter),
                             parallel beam)                 :func:`sparse_view_fbp`
============================ ============================== ====================================

Each operator also offers ``as_linear_map(...)``: a :class:`~convlab.operators.LinearMap` on
one image (MRI with ``inner="real"``), for ``@``, ``.T``, ``to_dense()`` and ``adjoint_test()``.

Conventions (stated once, used everywhere)
-------------------------------------------
* **Shapes.** Operators act on the last two axes of a torch tensor ``(..., H, W)``: a single
  image ``(H, W)``, a batch ``(N, H, W)`` or ``(N, C, H, W)`` all work, the leading axes are
  batch axes. numpy arrays are accepted and converted (outputs are torch tensors). The dtype is
  kept (float64 in the tests); integer input is converted to float64.
* **Inner products.** Real images: ``<x, x'> = sum(x * x')``. Complex measurements (MRI):
  ``<y, y'> = Re sum(conj(y) * y')``, i.e. ``C^k`` is viewed as ``R^{2k}`` (real and imaginary
  parts). For a complex-valued operator of a *real* image, ``A: R^n -> C^k = R^{2k}``, the
  adjoint is defined by ``Re <A x, y> = <x, A^* y>`` for all real ``x``, so ``A^* y`` is the real
  part of the complex adjoint ``A^H y``. :meth:`FourierSampling.adjoint` returns that real part
  and :meth:`FourierSampling.adjoint_complex` the full ``A^H y`` of the complex-linear extension.
* **FFT** (MRI): ``norm="ortho"`` on the last two axes, so ``fft2`` is unitary
  (``ifft2 = fft2^H``), and masks are in **fft2 layout**: index ``[0, 0]`` is the zero
  frequency (DC), low frequencies sit at the corners/edges. A mask drawn in the "centred" layout
  (DC in the middle, as displayed with ``fftshift``) is moved to fft2 layout with
  ``ifftshift``; :func:`random_mask` does this for you.
* **Angles** (CT) are in **degrees**, as in MATLAB's ``radon`` and scikit-image.
* **Circle support** (CT): :class:`Radon` sees only the pixels of the inscribed circle
  (:func:`circle_mask`, scikit-image's ``circle=True``): pixels outside are ignored by the
  forward map and set to zero by the adjoint, :func:`fbp` returns zero there.
* **Vectorisation** is row-major: an image ``(H, W)`` is ``x.reshape(-1)`` (pixel ``(i, j)`` is
  entry ``i W + j``) and a sinogram ``(size, n_angles)`` has detector bin ``d`` and angle ``a``
  at entry ``d n_angles + a`` (MATLAB's ``X(:)`` is column-major: transpose first).

Examples
--------
>>> import torch
>>> from convlab.checks import adjoint_test
>>> A = AveragePool(2)
>>> A(torch.arange(16.0).reshape(4, 4))
tensor([[ 2.5000,  4.5000],
        [10.5000, 12.5000]])
>>> adjoint_test(A.forward, A.adjoint, in_shape=(4, 4), dtype=torch.float64).passed
True
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from convlab._validate import (
    as_bool_mask,
    as_choice,
    as_generator,
    as_real_number,
    as_real_tensor,
    as_shape,
    as_size,
    as_vector,
    check_cost,
    sparse_bytes,
)
from convlab.operators import LinearMap

__all__ = [
    "UPSAMPLE_MODES",
    "AveragePool",
    "FourierSampling",
    "Radon",
    "circle_mask",
    "fbp",
    "radon_matrix",
    "random_mask",
    "sparse_view_fbp",
    "super_resolution_input",
    "upsample",
]

UPSAMPLE_MODES = ("bicubic", "bilinear", "nearest")


def _image(x: Any, name: str = "x") -> torch.Tensor:
    """``x`` as a real floating tensor with at least two (spatial) axes."""
    t = as_real_tensor(x, name)
    if t.ndim < 2:
        raise ValueError(f"{name} must have shape (..., H, W), got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    return t


def _check_hw(t: torch.Tensor, shape: tuple[int, int], name: str) -> None:
    if tuple(t.shape[-2:]) != tuple(shape):
        raise ValueError(
            f"{name} must have shape (..., {shape[0]}, {shape[1]}), got shape {tuple(t.shape)}"
        )


# --------------------------------------------------------------------------------------------
# Super-resolution: r x r average pooling, stride r
# --------------------------------------------------------------------------------------------


class AveragePool:
    """``A x`` = ``r x r`` average pooling with stride ``r``; ``A^T y`` = nearest upsampling / r^2.

    The lecture's super-resolution model: "in the simplest setup, A is an average pool operator
    with r x r kernel and a stride r". With ``I, J`` the blocks of size ``r``::

        (A x)[i, j]   = (1 / r^2) sum_{u, v < r} x[r i + u, r j + v]
        (A^T y)[k, l] = (1 / r^2) y[k // r, l // r]

    (every input pixel lies in exactly one block, so the adjoint copies the block's value back to
    its ``r^2`` pixels with the same weight ``1 / r^2``). ``A A^T = I / r^2``; ``r^2 A^T`` is
    nearest-neighbour upsampling, a right inverse of ``A``.

    See Also: :func:`convlab.pooling.avg_pool2d_matrix` is the same operator as a sparse matrix,
    column-major by default (``order="C"`` gives this one's row-major matrix).

    MATLAB: ``y = blockproc(x, [r r], @(b) mean(b.data(:)))`` (or
    ``squeeze(mean(mean(reshape(x, r, H/r, r, W/r), 1), 3))``);
    ``xt = kron(y, ones(r)) / r^2``.

    Parameters
    ----------
    r : int
        Block size and stride, ``>= 1``. ``H`` and ``W`` of the input must be divisible by
        ``r`` (``ValueError`` otherwise: no silent cropping).

    Examples
    --------
    >>> A = AveragePool(2)
    >>> y = torch.tensor([[4.0]])
    >>> A.adjoint(y)
    tensor([[1., 1.],
            [1., 1.]])
    >>> A.output_shape((1, 6, 4))
    (1, 3, 2)
    """

    def __init__(self, r: int) -> None:
        self.r = as_size(r, "r")

    def __repr__(self) -> str:
        return f"AveragePool(r={self.r})"

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """Shape of ``A x`` for ``x`` of shape ``(..., H, W)``: ``(..., H / r, W / r)``."""
        shape = as_shape(shape, "shape")
        if len(shape) < 2:
            raise ValueError(f"shape must be (..., H, W), got {shape}")
        H, W = shape[-2:]
        r = self.r
        if H % r or W % r:
            raise ValueError(
                f"shape {shape}: H and W must be divisible by r={r} (average pooling with "
                "stride r tiles the "
                f"image exactly); got H={H}, W={W}. Crop the image first"
            )
        return (*shape[:-2], H // r, W // r)

    def forward(self, x: Any) -> torch.Tensor:
        """``(..., H, W) -> (..., H / r, W / r)``: the mean of each ``r x r`` block."""
        x = _image(x)
        *lead, h, w = self.output_shape(x.shape)
        r = self.r
        # (A x)[i, j] = mean_{u, v} x[r i + u, r j + v]: axis -3 is u, axis -1 is v
        return x.reshape(*lead, h, r, w, r).mean(dim=(-3, -1))

    __call__ = forward

    def adjoint(self, y: Any) -> torch.Tensor:
        """``(..., h, w) -> (..., r h, r w)``: ``(A^T y)[k, l] = y[k // r, l // r] / r^2``."""
        y = _image(y, "y")
        r = self.r
        return y.repeat_interleave(r, dim=-2).repeat_interleave(r, dim=-1) / (r * r)

    def as_linear_map(
        self, shape: Sequence[int], *, dtype: torch.dtype = torch.float64, device: Any = None
    ) -> LinearMap:
        """This operator on inputs of shape ``(..., H, W)`` as a :class:`LinearMap`.

        Row-major pixels: the matrix is ``pooling.avg_pool2d_matrix((H, W), r, order="C")``
        (whose default ``order="F"`` is column-major).
        """
        shape = tuple(as_size(s, "shape") for s in shape)
        return LinearMap(
            self.forward,
            self.adjoint,
            shape,
            self.output_shape(shape),
            backend="torch",
            dtype=dtype,
            device=device,
            name=repr(self),
        )


def upsample(y: Any, r: int, mode: str = "bicubic") -> torch.Tensor:
    """Upsample ``(..., h, w)`` by an integer factor ``r`` (SRCNN's input ``Y tilde``).

    ``torch.nn.functional.interpolate(y, scale_factor=r, mode=mode, align_corners=False)``
    (``align_corners`` is not passed for ``"nearest"``) on the last two axes. With
    ``align_corners=False`` output pixel ``k`` samples the input at ``(k + 0.5) / r - 0.5``
    (pixel centres line up, as in MATLAB's ``imresize``). Bicubic uses the cubic convolution
    kernel with ``a = -0.75`` (PyTorch; MATLAB's ``imresize`` uses ``a = -0.5`` and
    antialiasing, so the numbers differ slightly) and may overshoot the input range: no clipping.

    MATLAB: ``imresize(y, r, "bicubic")`` (close, not identical).

    Parameters
    ----------
    y : torch.Tensor or array, shape (..., h, w)
    r : int
        Factor, ``>= 1``.
    mode : {"bicubic", "bilinear", "nearest"}

    Returns
    -------
    torch.Tensor, shape (..., r h, r w), same dtype as ``y``.

    Examples
    --------
    >>> upsample(torch.tensor([[1.0, 2.0]]), 2, mode="nearest")
    tensor([[1., 1., 2., 2.],
            [1., 1., 2., 2.]])
    """
    y = _image(y, "y")
    r = as_size(r, "r")
    mode = as_choice(mode, "mode", UPSAMPLE_MODES)
    check_cost(
        f"upsample of shape {tuple(y.shape)} by r = {r}",
        nbytes=2 * y.element_size() * y.numel() * r * r,
        alternative="use a smaller r",
    )
    *lead, h, w = y.shape
    batch = y.reshape(-1, 1, h, w)
    kw = {} if mode == "nearest" else {"align_corners": False}
    out = F.interpolate(batch, scale_factor=r, mode=mode, **kw)
    return out.reshape(*lead, r * h, r * w)


def super_resolution_input(x: Any, r: int, mode: str = "bicubic") -> torch.Tensor:
    """The SRCNN/VDSR network input: ``upsample(AveragePool(r)(x), r, mode)``, same shape as ``x``.

    A corruption for :func:`convlab.train.train_denoiser`:
    ``corrupt=lambda x, g: super_resolution_input(x, 2)`` (deterministic: the generator is not
    used).

    Examples
    --------
    >>> x = torch.ones(1, 1, 4, 4)
    >>> super_resolution_input(x, 2).shape
    torch.Size([1, 1, 4, 4])
    """
    return upsample(AveragePool(r).forward(x), r, mode)


# --------------------------------------------------------------------------------------------
# MRI: partially sampled Fourier transform
# --------------------------------------------------------------------------------------------


class FourierSampling:
    """MRI forward model ``A x = M * fft2(x)`` (``norm="ortho"``) and its adjoint.

    The lecture: MRI "partially measures the Fourier transform of the patient"; ``A[X_true]`` is
    in ``C^k`` with ``k << n``. Here the ``k`` measured frequencies are the ``True`` entries of a
    boolean mask ``M`` in fft2 layout (DC at ``[0, 0]``); the unmeasured ones are stored as zeros,
    so ``A x`` has the full shape ``(..., H, W)``::

        A x       = M * F x              F = fft2(., norm="ortho"), unitary
        A^H y     = F^H (M * y)          = ifft2(M * y, norm="ortho")  (complex adjoint)
        A^* y     = Re(ifft2(M * y, norm="ortho"))                     (adjoint on real images)

    Why the real part: a real image ``x`` lives in ``R^n`` and ``A`` maps it into ``C^k``, a
    real vector space of dimension ``2k`` with inner product ``Re <y, y'>``. The adjoint must
    satisfy ``Re <A x, y> = <x, A^* y>`` for all *real* ``x``; since
    ``Re <A x, y> = Re <x, A^H y> = <x, Re(A^H y)>``, it is ``A^* y = Re(A^H y)``.
    ``A^* A x`` is the **zero-filled reconstruction**: unmeasured frequencies set to zero, then
    the inverse FFT (the classical baseline, :meth:`zero_filled`). With all frequencies measured
    ``A^* A = I``.

    MATLAB: ``y = M .* fft2(x) / sqrt(numel(x));  xz = real(ifft2(M .* y) * sqrt(numel(x)));``
    (MATLAB's ``fft2`` is unnormalised).

    Parameters
    ----------
    mask : bool tensor or array, shape (H, W)
        Measured frequencies, fft2 layout (see :func:`random_mask`).

    Examples
    --------
    >>> mask = torch.ones(4, 4, dtype=torch.bool)
    >>> A = FourierSampling(mask)
    >>> x = torch.rand(2, 4, 4, dtype=torch.float64)
    >>> torch.allclose(A.zero_filled(A(x)), x)   # full sampling: exact recovery
    True
    """

    def __init__(self, mask: Any) -> None:
        self.mask = as_bool_mask(mask)
        if self.mask.ndim != 2:
            raise ValueError(f"mask must be 2-D (H, W), got shape {tuple(self.mask.shape)}")
        self.in_shape: tuple[int, int] = tuple(self.mask.shape)  # type: ignore[assignment]
        self.out_shape: tuple[int, int] = self.in_shape

    def __repr__(self) -> str:
        H, W = self.in_shape
        return f"FourierSampling({H}x{W}, {self.sampling_fraction:.3f} of the frequencies)"

    @property
    def sampling_fraction(self) -> float:
        """``k / n``: fraction of the frequencies measured (``1 / acceleration``)."""
        return float(self.mask.double().mean())

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        shape = tuple(int(s) for s in shape)
        if shape[-2:] != self.in_shape:
            raise ValueError(f"shape must be (..., {self.in_shape}), got {shape}")
        return shape

    def _mask_for(self, t: torch.Tensor) -> torch.Tensor:
        return self.mask.to(t.device)

    def forward(self, x: Any) -> torch.Tensor:
        """Real (or complex) ``(..., H, W)`` -> complex ``(..., H, W)``: ``M * fft2(x)``."""
        if isinstance(x, torch.Tensor) and x.is_complex():
            t = x
        else:
            t = _image(x)
        _check_hw(t, self.in_shape, "x")
        # y[k, l] = M[k, l] sum_{i, j} x[i, j] exp(-2 pi i (k i / H + l j / W)) / sqrt(H W)
        return self._mask_for(t) * torch.fft.fft2(t, norm="ortho")

    __call__ = forward

    def adjoint_complex(self, y: Any) -> torch.Tensor:
        """``A^H y = ifft2(M * y, "ortho")``: complex, the adjoint of the complex extension."""
        y = torch.as_tensor(y)
        if y.ndim < 2:
            raise ValueError(f"y must have shape (..., H, W), got shape {tuple(y.shape)}")
        _check_hw(y, self.out_shape, "y")
        if not (y.is_complex() or y.is_floating_point()):
            y = y.to(torch.float64)
        # (A^H y)[i, j] = sum_{k, l} M[k, l] y[k, l] exp(+2 pi i (k i / H + l j / W)) / sqrt(H W)
        return torch.fft.ifft2(self._mask_for(y) * y, norm="ortho")

    def adjoint(self, y: Any) -> torch.Tensor:
        """``A^* y = Re(ifft2(M * y, "ortho"))``: real, the adjoint for real images."""
        return self.adjoint_complex(y).real

    def zero_filled(self, y: Any) -> torch.Tensor:
        """The zero-filled reconstruction ``Re(ifft2(M * y, "ortho"))`` (= :meth:`adjoint`)."""
        return self.adjoint(y)

    def as_linear_map(
        self, *, dtype: torch.dtype = torch.float64, complex_input: bool = False
    ) -> LinearMap:
        """``A`` on one ``(H, W)`` image as a :class:`LinearMap`.

        Default: real images (``dtype`` float32/float64) to complex k-space with
        ``inner="real"``, adjoint :meth:`adjoint` (``Re <A x, y> = <x, A^* y>``).
        ``complex_input=True``: the complex-linear extension on complex images (``dtype``
        complex64/complex128), Hermitian, adjoint :meth:`adjoint_complex`.
        """
        cdt = {torch.float32: torch.complex64, torch.float64: torch.complex128}
        if complex_input:  # C^n -> C^n, complex-linear: the Hermitian adjoint
            dtype, out_dtype = cdt.get(dtype, dtype), None
            adjoint, inner, name = self.adjoint_complex, "hermitian", "FourierSampling (complex)"
        elif dtype in cdt:  # R^n -> C^n, only R-linear: Re <A x, y> = <x, A^* y>
            out_dtype = cdt[dtype]
            adjoint, inner, name = self.adjoint, "real", "FourierSampling"
        else:
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        return LinearMap(
            self.forward,
            adjoint,
            self.in_shape,
            self.out_shape,
            backend="torch",
            dtype=dtype,
            out_dtype=out_dtype,
            device=self.mask.device,
            inner=inner,
            name=name,
        )


def random_mask(
    shape: Sequence[int],
    acceleration: float,
    center_fraction: float,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """fastMRI-style random column mask, in fft2 layout (DC at column 0).

    As fastMRI's ``RandomMaskFunc``: whole columns (phase-encoding lines: the last axis) are
    measured. In the centred layout (DC at column ``W // 2``, as ``fftshift`` displays it) the
    ``n_low = round(W * center_fraction)`` central columns are always kept, and every other
    column independently with probability ``(W / acceleration - n_low) / (W - n_low)``, so the
    *expected* number of columns is ``W / acceleration``. The mask is then moved to fft2 layout
    with ``ifftshift`` (so it can multiply ``fft2(x)`` directly): the kept low frequencies are
    columns ``0, 1, ...`` and ``W - 1, W - 2, ...``.

    MATLAB: ``m = rand(1, W) < p; m(c) = true; M = ifftshift(repmat(m, H, 1));``

    Parameters
    ----------
    shape : (H, W)
    acceleration : float
        ``>= 1``: about ``1 / acceleration`` of the columns are measured.
    center_fraction : float
        In ``(0, 1]``, at most ``1 / acceleration`` (all kept columns would be low frequencies).
    generator : torch.Generator
        The only source of randomness (drawn on its device, returned on the CPU).

    Returns
    -------
    torch.Tensor
        bool, shape ``(H, W)``, constant along each column.

    Examples
    --------
    >>> m = random_mask((8, 8), 2, 0.375, generator=torch.Generator().manual_seed(0))
    >>> m[0, [0, 1, -1]].tolist()  # round(8 * 0.375) = 3 low frequencies: DC and +-1
    [True, True, True]
    >>> bool((m == m[:1]).all())  # whole columns
    True
    """
    H, W = as_shape(shape, "shape", ndim=2)
    check_cost(f"a {H} x {W} sampling mask", nbytes=2 * H * W, alternative="use a smaller shape")
    acc = as_real_number(acceleration, "acceleration", minimum=1.0)
    cf = as_real_number(center_fraction, "center_fraction", strict=True)
    if cf > 1.0 / acc + 1e-12:
        raise ValueError(
            f"center_fraction must be <= 1 / acceleration = {1 / acc:.3g} (the centre alone "
            f"would exceed the sampling budget), got {cf}"
        )
    generator = as_generator(generator)
    n_low = min(max(round(W * cf), 1), W)
    prob = (W / acc - n_low) / (W - n_low) if W > n_low else 0.0
    prob = min(max(prob, 0.0), 1.0)
    draw = torch.rand(W, generator=generator, device=generator.device).cpu()
    centred = draw < prob
    pad = (W - n_low + 1) // 2  # fastMRI: the centre block starts here (DC is at W // 2)
    centred[pad : pad + n_low] = True
    cols = torch.fft.ifftshift(centred)  # centred -> fft2 layout: DC to index 0
    return cols.expand(H, W).clone()


# --------------------------------------------------------------------------------------------
# CT: the Radon transform as a sparse matrix
# --------------------------------------------------------------------------------------------


def circle_mask(size: int) -> torch.Tensor:
    """Pixels of the inscribed circle of a ``size x size`` image (scikit-image's ``circle=True``).

    ``(i - c)^2 + (j - c)^2 <= (size // 2)^2`` with ``c = size // 2``.

    Examples
    --------
    >>> circle_mask(5).int()
    tensor([[0, 0, 1, 0, 0],
            [0, 1, 1, 1, 0],
            [1, 1, 1, 1, 1],
            [0, 1, 1, 1, 0],
            [0, 0, 1, 0, 0]], dtype=torch.int32)
    """
    size = as_size(size, "size")
    check_cost(
        f"a {size} x {size} circle mask", nbytes=17 * size * size, alternative="use a smaller size"
    )
    c = size // 2
    i = torch.arange(size)
    return (i[:, None] - c) ** 2 + (i[None, :] - c) ** 2 <= c * c


def _as_theta(theta: Any) -> np.ndarray:
    th = as_vector(theta, "theta").astype(np.float64)
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite (angles in degrees)")
    return th


def _check_radon_cost(n_angles: int, size: int) -> None:
    """Refuse a Radon matrix beyond the cost limit: 4 bilinear corners for each of the
    ~0.8 size^2 samples (inscribed circle) per angle, twice for the chunks' temporaries."""
    check_cost(
        f"radon_matrix of {n_angles} angles at size {size}",
        nbytes=2 * sparse_bytes(size * n_angles, 4 * n_angles * size * size * 4 // 5),
        alternative="use a smaller size or fewer angles",
    )


# Samples per chunk when building the Radon matrix (memory: ~40 bytes per sample and corner).
_RADON_CHUNK = 1 << 20


def radon_matrix(theta: Any, size: int) -> sp.csr_array:
    """The parallel-beam Radon transform of ``size x size`` images as a ``csr_array``.

    Ray-driven with bilinear interpolation, the discretisation of
    ``skimage.transform.radon(image, theta, circle=True)``: with ``c = size // 2``, detector bin
    ``d`` and ray sample ``t`` (both ``0 .. size - 1``, unit spacing) of angle ``theta_a``
    (degrees) sample the image at::

        col = c + (d - c) cos(theta_a) + (t - c) sin(theta_a)
        row = c - (d - c) sin(theta_a) + (t - c) cos(theta_a)

    by bilinear interpolation (4 pixels, weights ``(1 - fy)(1 - fx)``, ``(1 - fy) fx``,
    ``fy (1 - fx)``, ``fy fx``), and the sinogram entry ``[d, a]`` is the sum over ``t`` (a unit
    step Riemann sum of the line integral). Pixels outside the inscribed circle
    (:func:`circle_mask`) and outside the image get no weight. Built by vectorised index
    arithmetic over (angle, bin, sample) in chunks; duplicates are summed.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(size * n_angles, size * size)``, float64; row ``d * n_angles + a``, column
        ``i * size + j`` (row-major ``sinogram.reshape(-1)`` and ``image.reshape(-1)``).
    """
    th = _as_theta(theta)
    n = as_size(size, "size")
    n_ang = th.size
    _check_radon_cost(n_ang, n)
    c = n // 2
    rad = np.deg2rad(th)
    cos_all, sin_all = np.cos(rad), np.sin(rad)
    # Ray samples (d, t). Rotation keeps the distance to the centre, and a sample touches only
    # pixels within sqrt(2) of it, so samples farther than c + 1.5 from the centre never reach
    # the inscribed circle (radius c): dropped once, for every angle.
    dd, tt = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    near = (dd - c) ** 2 + (tt - c) ** 2 <= (c + 1.5) ** 2
    d_k = dd[near]
    s_k = (d_k - c).astype(np.float64)[None, :]  # detector offset d - c
    t_k = (tt[near] - c).astype(np.float64)[None, :]  # sample offset t - c
    # circle pixels, padded by 3 so that every neighbour index (-2 .. 2c + 2) is a valid lookup
    support = np.zeros((n + 6, n + 6), dtype=bool)
    support[3:-3, 3:-3] = circle_mask(n).numpy()
    idx_dtype = np.int32 if n * n * max(n_ang, 1) * 4 < 2**31 else np.int64
    per_chunk = max(1, _RADON_CHUNK // max(d_k.size, 1))
    blocks = []
    for start in range(0, n_ang, per_chunk):  # a loop over chunks of angles, not pixels
        a = np.arange(start, min(start + per_chunk, n_ang))
        cs, sn = cos_all[a][:, None], sin_all[a][:, None]
        col = c + s_k * cs + t_k * sn  # (angles, samples)
        row = c - s_k * sn + t_k * cs
        j0, i0 = np.floor(col), np.floor(row)
        fx, fy = col - j0, row - i0
        j0, i0 = j0.astype(np.int64), i0.astype(np.int64)
        # the sinogram row of sample (a, d, t): d * n_angles + a
        out_row = d_k[None, :] * n_ang + a[:, None]
        rows, cols, vals = [], [], []
        for di, dj, w in (
            (0, 0, (1 - fy) * (1 - fx)),
            (0, 1, (1 - fy) * fx),
            (1, 0, fy * (1 - fx)),
            (1, 1, fy * fx),
        ):
            ii, jj = i0 + di, j0 + dj
            ok = support[ii + 3, jj + 3] & (w != 0)  # inside the circle (hence the image)
            rows.append(out_row[ok].astype(idx_dtype))
            cols.append((ii[ok] * n + jj[ok]).astype(idx_dtype))
            vals.append(w[ok])
        blocks.append((np.concatenate(vals), np.concatenate(rows), np.concatenate(cols)))
    vals, rows, cols = (
        np.concatenate([b[k] for b in blocks]) if blocks else np.zeros(0, dt)
        for k, dt in ((0, np.float64), (1, idx_dtype), (2, idx_dtype))
    )
    A = sp.coo_array((vals, (rows, cols)), shape=(n * n_ang, n * n)).tocsr()
    A.sum_duplicates()
    return sp.csr_array(A)


class Radon:
    """CT forward model: parallel-beam Radon transform as an explicit sparse matrix.

    The lecture: CT "partially measures the Radon transform of the patient". Projection at angle
    ``theta`` (degrees) and detector offset ``s``: the line integral of the image along the ray
    ``{s (cos theta, -sin theta) + t (sin theta, cos theta)}`` in (column, row) pixel coordinates
    about the centre ``(size // 2, size // 2)`` -- scikit-image's geometry. The matrix is
    :func:`radon_matrix` (ray-driven, bilinear, unit steps), so

    * ``forward(x)`` = ``A @ x.reshape(-1)`` reshaped to a sinogram ``(size, n_angles)``
      (detector x angle, the layout of ``skimage.transform.radon`` and MATLAB's ``radon``),
    * ``adjoint(y)`` = ``A.T @ y.reshape(-1)``: **back-projection**, exactly the transpose.

    It agrees with ``skimage.transform.radon(image, theta, circle=True)`` to rounding for images
    supported in the inscribed circle (same discretisation, independent code); MATLAB's
    ``radon`` uses another detector grid (``2 ceil(norm(size - floor((size - 1) / 2) - 1)) + 3``
    bins) and pixel splitting, so its numbers differ. Pixels outside the inscribed circle are
    ignored (``circle=True`` support, :func:`circle_mask`).

    Applying it to a batch is one sparse-dense product (torch sparse CSR, differentiable with
    respect to ``x``); the matrix is also available as ``self.matrix`` (scipy ``csr_array``).

    MATLAB: ``R = radon(x, theta);  xb = iradon(R, theta, "linear", "none");`` (unfiltered
    back-projection, up to scaling and grid).

    Parameters
    ----------
    theta : array-like of float, 1-D
        Projection angles in degrees (any order, repeats allowed).
    size : int
        Images are ``size x size``; the detector has ``size`` bins.

    Examples
    --------
    >>> R = Radon([0.0, 90.0], 3)
    >>> x = torch.ones(3, 3, dtype=torch.float64)
    >>> R(x).round(decimals=9)  # only the inscribed circle (a plus sign) is seen
    tensor([[1., 1.],
            [3., 3.],
            [1., 1.]], dtype=torch.float64)
    >>> R.matrix.shape
    (6, 9)
    """

    def __init__(self, theta: Any, size: int) -> None:
        self.theta = _as_theta(theta)
        self.size = as_size(size, "size")
        self.matrix: sp.csr_array = radon_matrix(self.theta, self.size)
        self.in_shape = (self.size, self.size)
        self.out_shape = (self.size, self.theta.size)
        self._torch: dict[tuple[torch.dtype, torch.device], tuple[Any, Any]] = {}

    def __repr__(self) -> str:
        return f"Radon({self.theta.size} angles, size={self.size}, nnz={self.matrix.nnz})"

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        shape = tuple(int(s) for s in shape)
        if shape[-2:] != self.in_shape:
            raise ValueError(f"shape must be (..., {self.size}, {self.size}), got {shape}")
        return (*shape[:-2], *self.out_shape)

    def _mats(self, dtype: torch.dtype, device: torch.device) -> tuple[Any, Any]:
        key = (dtype, device)
        if key not in self._torch:
            mats = []
            with warnings.catch_warnings():  # "sparse CSR support is in beta": used as documented
                warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support")
                for M in (self.matrix, sp.csr_array(self.matrix.T)):
                    mats.append(
                        torch.sparse_csr_tensor(
                            torch.from_numpy(M.indptr.astype(np.int64)),
                            torch.from_numpy(M.indices.astype(np.int64)),
                            torch.from_numpy(M.data).to(dtype),
                            size=M.shape,
                            check_invariants=True,  # once per dtype/device: cheap
                        ).to(device)
                    )
            self._torch[key] = (mats[0], mats[1])
        return self._torch[key]

    def _apply(self, M: Any, z: torch.Tensor, in_hw: tuple, out_hw: tuple) -> torch.Tensor:
        lead = z.shape[:-2]
        flat = z.reshape(-1, in_hw[0] * in_hw[1]).T  # (n, batch)
        out = (M @ flat).T
        return out.reshape(*lead, *out_hw)

    def forward(self, x: Any) -> torch.Tensor:
        """``(..., size, size) -> (..., size, n_angles)``: the sinogram ``A x``."""
        x = _image(x)
        _check_hw(x, self.in_shape, "x")
        A, _ = self._mats(x.dtype, x.device)
        return self._apply(A, x, self.in_shape, self.out_shape)

    __call__ = forward

    def adjoint(self, y: Any) -> torch.Tensor:
        """``(..., size, n_angles) -> (..., size, size)``: back-projection ``A^T y``."""
        y = _image(y, "y")
        _check_hw(y, self.out_shape, "y")
        _, AT = self._mats(y.dtype, y.device)
        return self._apply(AT, y, self.out_shape, self.in_shape)

    def as_linear_map(self, *, dtype: torch.dtype = torch.float64, device: Any = None) -> LinearMap:
        """This operator on one ``(size, size)`` image as a :class:`LinearMap` (torch sparse).

        ``aslinearmap(self.matrix, in_shape=..., out_shape=...)`` is the same operator held as
        the scipy matrix.
        """
        return LinearMap(
            self.forward,
            self.adjoint,
            self.in_shape,
            self.out_shape,
            backend="torch",
            dtype=dtype,
            device=device,
            name=repr(self),
        )


def fbp(sinogram: Any, theta: Any, size: int) -> torch.Tensor:
    """Filtered back-projection (ramp filter): the classical CT reconstruction.

    ``skimage.transform.iradon(sinogram, theta, output_size=size, filter_name="ramp",
    interpolation="linear", circle=True)`` applied to each item (not reimplemented). Output is
    zero outside the inscribed circle. It inverts the Radon transform when the angles cover
    ``[0, 180)`` densely; with few angles (sparse view) it shows streak artefacts -- the input a
    U-Net post-processes (FBPConvNet).

    MATLAB: ``x = iradon(R, theta, "linear", "Ram-Lak", 1, size);``

    Parameters
    ----------
    sinogram : torch.Tensor or array, shape (..., size, n_angles)
    theta : array-like of float, degrees, length ``n_angles``
    size : int

    Returns
    -------
    torch.Tensor, shape (..., size, size), dtype of ``sinogram``.

    Examples
    --------
    >>> theta = np.arange(0.0, 180.0, 1.0)
    >>> x = torch.zeros(32, 32, dtype=torch.float64); x[12:20, 12:20] = 1
    >>> bool((fbp(Radon(theta, 32)(x), theta, 32) - x).abs().mean() < 0.05)
    True
    """
    import skimage.transform

    y = _image(sinogram, "sinogram")
    th = _as_theta(theta)
    n = as_size(size, "size")
    check_cost(
        f"fbp of {y.numel() // max(1, y.shape[-1] * y.shape[-2])} image(s) at size {n}",
        nbytes=32 * n * n * max(1, y.numel() // max(1, y.shape[-1] * y.shape[-2])),
        ops=8.0 * n * n * th.size * max(1, y.numel() // max(1, y.shape[-1] * y.shape[-2])),
        alternative="use a smaller size",
    )
    _check_hw(y, (n, th.size), "sinogram")
    lead = y.shape[:-2]
    items = y.detach().cpu().to(torch.float64).reshape(-1, n, th.size).numpy()
    out = (
        np.stack(
            [
                skimage.transform.iradon(
                    s, th, output_size=n, filter_name="ramp", interpolation="linear", circle=True
                )
                for s in items
            ]
        )
        if len(items)
        else np.zeros((0, n, n))
    )
    return torch.from_numpy(out).to(dtype=y.dtype, device=y.device).reshape(*lead, n, n)


@functools.lru_cache(maxsize=16)
def _radon_cached(n_angles: int, size: int) -> Radon:
    return Radon(np.linspace(0.0, 180.0, n_angles, endpoint=False), size)


def sparse_view_fbp(x: Any, n_angles: int) -> torch.Tensor:
    """FBP of the sinogram of ``x`` measured at ``n_angles`` equispaced angles in ``[0, 180)``.

    ``fbp(Radon(theta, size)(x), theta, size)`` with ``theta = linspace(0, 180, n_angles,
    endpoint=False)`` (the Radon matrix is cached per ``(n_angles, size)``). A corruption for
    :func:`convlab.train.train_denoiser`: ``corrupt=lambda x, g: sparse_view_fbp(x, 18)``. The
    result is zero outside the inscribed circle (compare inside it, or mask the targets with
    :func:`circle_mask`); no noise is added.

    Parameters
    ----------
    x : torch.Tensor or array, shape (..., size, size)
    n_angles : int

    Examples
    --------
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> sparse_view_fbp(x, 8).shape
    torch.Size([1, 1, 16, 16])
    """
    x = _image(x)
    n_angles = as_size(n_angles, "n_angles")
    H, W = x.shape[-2:]
    if H != W:
        raise ValueError(f"x must hold square images (..., size, size), got shape {tuple(x.shape)}")
    _check_radon_cost(n_angles, H)
    R = _radon_cached(n_angles, H)
    return fbp(R.forward(x.detach()), R.theta, H)


# --------------------------------------------------------------------------------------------
# Self-demo
# --------------------------------------------------------------------------------------------


def _demo() -> None:
    import skimage.data
    import skimage.transform

    from convlab.checks import adjoint_test
    from convlab.data import load_image, psnr

    f64 = torch.float64
    g = torch.Generator().manual_seed(0)
    n = 64
    mask = random_mask((n, n), 4, 0.08, generator=g)
    theta = np.linspace(0.0, 180.0, 30, endpoint=False)
    ops = {
        "AveragePool(4)": (AveragePool(4), (2, n, n)),
        "FourierSampling (real view)": (FourierSampling(mask), (2, n, n)),
        "Radon (30 angles)": (Radon(theta, n), (2, n, n)),
    }
    for name, (op, shape) in ops.items():
        if isinstance(op, FourierSampling):
            fwd = lambda u, op=op: torch.view_as_real(op(u))  # noqa: E731  C^k as R^2k
            adj = lambda v, op=op: op.adjoint(torch.view_as_complex(v))  # noqa: E731
        else:
            fwd, adj = op.forward, op.adjoint
        r = adjoint_test(fwd, adj, in_shape=shape, dtype=f64)
        print(f"adjoint test {name}: {r.passed}")

    cam = torch.from_numpy(load_image("camera", n))[None, None]
    A = FourierSampling(mask)
    zf = A.zero_filled(A(cam))
    p_zf = float(psnr(zf.clamp(0, 1), cam)[0])
    print(f"MRI: {A.sampling_fraction:.2f} of k-space, zero-filled PSNR {p_zf:.1f} dB")
    full = FourierSampling(torch.ones(n, n, dtype=torch.bool))
    exact = torch.allclose(full.zero_filled(full(cam)), cam, atol=1e-12)
    print("MRI: full sampling recovers the image exactly:", exact)

    phantom = skimage.transform.resize(skimage.data.shepp_logan_phantom(), (n, n))
    phantom = torch.from_numpy(phantom * circle_mask(n).numpy())[None, None]
    circ = circle_mask(n)
    sk = skimage.transform.radon(phantom[0, 0].numpy(), theta, circle=True)
    ours = Radon(theta, n)(phantom)[0, 0].numpy()
    print(
        "Radon == skimage.transform.radon (rel. err < 1e-10):",
        bool(np.linalg.norm(ours - sk) / np.linalg.norm(sk) < 1e-10),
    )
    scores = {}
    for k in (180, 30, 10):
        rec = sparse_view_fbp(phantom, k) * circ
        scores[k] = float(psnr(rec.clamp(0, 1), phantom)[0])
        print(f"CT: FBP from {k:3d} angles: PSNR {scores[k]:.1f} dB")
    print("CT: more angles, better FBP:", scores[180] > scores[30] > scores[10])

    x = cam
    for r in (2, 4):
        p = {
            m: float(psnr(super_resolution_input(x, r, m).clamp(0, 1), x)[0])
            for m in UPSAMPLE_MODES
        }
        print(f"SR x{r}: " + ", ".join(f"{m} {v:.1f} dB" for m, v in p.items()))
        print(f"SR x{r}: bicubic beats nearest:", p["bicubic"] > p["nearest"])


if __name__ == "__main__":
    _demo()
