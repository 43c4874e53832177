"""Images, patches, corruption and image-quality metrics for training denoisers.

The lecture ("Image representations") trains a denoising autoencoder on (noisy, clean) pairs:
"find many training pairs", "what noise should you use?" (Gaussian, Poisson, knocked-out blocks
of pixels), "when forming a batch, randomly crop, flip, etc. images" and "hope that this
generalizes to new images". This module supplies each of those pieces.

Conventions (stated once, used everywhere)
-------------------------------------------
- **Images** from :func:`load_image` are numpy ``(H, W)`` float64 grey levels in ``[0, 1]``.
- **Batches** are torch tensors ``(N, C, H, W)`` (``C = 1`` for grey training data), float32
  from :func:`random_patches`; the corruptions keep the dtype and device of their input.
  A batch that is not 4-D is a ``ValueError``; an integer or bool batch is a ``TypeError``
  (convert ``uint8`` with ``x / 255`` first: the value range must be ``[0, 1]``).
- **Clipping**: the noisy images are clipped to ``[0, 1]`` (``clip=True``, the default),
  because they are images; the input must then lie in ``[0, 1]`` (else ``ValueError``), so the
  clipping never hides a wrong value range. ``clip=False`` returns the raw noise model (used to
  check the noise statistics: clipping biases the mean near 0 and 1).
- **Randomness** only through an explicit ``generator: torch.Generator`` argument, never the
  global RNG: the same seed gives the same result, on any device of ``x`` (the numbers are drawn
  on ``generator.device`` and moved to ``x.device``).
- **Sample images** are scikit-image's *bundled* files (``skimage/data/*.png|jpg``): nothing is
  downloaded (no pooch). :data:`TEST_IMAGES` are held out from :data:`TRAIN_IMAGES`.

Noise models (``x`` the clean image, values per pixel and independent across pixels)
-------------------------------------------------------------------------------------
========== ============================== =============================== =========
kind       model                          mean, variance (``clip=False``) ``level``
========== ============================== =============================== =========
"gaussian" ``x + sigma * n``, n ~ N(0, 1) ``x``, ``sigma**2``             sigma
"poisson"  ``Poisson(peak * x) / peak``   ``x``, ``x / peak``             peak
"blocks"   ``block x block`` squares -> 0 removed: [f, f + b**2 / (H W))  fraction
========== ============================== =============================== =========

"poisson" counts photons: ``peak`` is the expected count of a white pixel, so a *larger* peak
means *less* noise (relative noise ``1 / sqrt(peak * x)``).

Metrics
-------
:func:`psnr` and :func:`ssim` wrap :func:`skimage.metrics.peak_signal_noise_ratio` and
:func:`skimage.metrics.structural_similarity` per item (they are not reimplemented), with an
explicit ``data_range`` (1.0 for images in ``[0, 1]``; never guessed from the data).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import skimage.color
import skimage.data
import skimage.metrics
import skimage.transform
import skimage.util
import torch

from convlab._validate import (
    as_choice,
    as_generator,
    as_real_number,
    as_real_tensor,
    as_shape,
    as_size,
    check_cost,
    require_finite,
)

__all__ = [
    "CORRUPTIONS",
    "SAMPLE_IMAGES",
    "TEST_IMAGES",
    "TRAIN_IMAGES",
    "augment",
    "block_dropout",
    "corrupt",
    "gaussian_noise",
    "load_image",
    "poisson_noise",
    "psnr",
    "random_patches",
    "ssim",
]

# --------------------------------------------------------------------------------------------
# Sample images
# --------------------------------------------------------------------------------------------

#: name -> zero-argument loader returning scikit-image's raw array (uint8 / bool, grey or RGB).
#: Only images whose file ships inside the scikit-image wheel (``skimage/data``) are listed, so
#: loading never downloads (scikit-image fetches only the files it does not bundle). Left out on
#: purpose: ``cat`` (the same photo as ``chelsea``), ``microaneurysms`` (102 x 102, too small for
#: 128-pixel patches), ``logo``/``checkerboard``/``colorwheel``/``shepp_logan_phantom``
#: (synthetic), ``retina`` (1411 x 1411, mostly black background).
SAMPLE_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": skimage.data.astronaut,  # 512 x 512 RGB photo: face, flag, suit
    "brick": skimage.data.brick,  # 512 x 512 grey texture
    "camera": skimage.data.camera,  # 512 x 512 grey, the classic "cameraman"
    "cell": skimage.data.cell,  # 660 x 550 grey microscopy
    "chelsea": skimage.data.chelsea,  # 300 x 451 RGB photo of a cat
    "clock": skimage.data.clock,  # 300 x 400 grey, motion blurred
    "coffee": skimage.data.coffee,  # 400 x 600 RGB photo
    "coins": skimage.data.coins,  # 303 x 384 grey, coins on a plain background
    "grass": skimage.data.grass,  # 512 x 512 grey texture
    "gravel": skimage.data.gravel,  # 512 x 512 grey texture
    "horse": skimage.data.horse,  # 328 x 400 binary silhouette
    "hubble_deep_field": skimage.data.hubble_deep_field,  # 872 x 1000 RGB astronomy
    "immunohistochemistry": skimage.data.immunohistochemistry,  # 512 x 512 RGB microscopy
    "moon": skimage.data.moon,  # 512 x 512 grey, low contrast
    "page": skimage.data.page,  # 191 x 384 grey scanned text
    "rocket": skimage.data.rocket,  # 427 x 640 RGB photo
    "text": skimage.data.text,  # 172 x 448 grey text on a textured background
}

#: Held-out images, never used for training. The lecture: "we have no particular interest in
#: denoising training images; we want to denoise new images". A denoiser can memorise its
#: training images (in the extreme, the lecture's "cheating" autoencoder), so its training loss
#: says little about new images: generalisation is measured only on images it never saw, and
#: hyper-parameters (weight decay scale, ...) are chosen on held-out data too. ``camera`` is the
#: classic denoising benchmark, ``coins`` (metal on a flat background) and ``astronaut`` (a
#: colour photo with faces and fine texture) are content unlike any single training image.
TEST_IMAGES: tuple[str, ...] = ("camera", "coins", "astronaut")

#: Training images: every other sample image (photos, textures, microscopy, text, astronomy).
TRAIN_IMAGES: tuple[str, ...] = tuple(n for n in SAMPLE_IMAGES if n not in TEST_IMAGES)


@functools.cache
def _grey(name: str) -> np.ndarray:
    """The full-size grey image as float64 in [0, 1] (cached; callers get copies)."""
    raw = np.asarray(SAMPLE_IMAGES[name]())
    if raw.ndim == 3:  # RGB(A): ITU-R 709 luminance 0.2125 R + 0.7154 G + 0.0721 B
        grey = skimage.color.rgb2gray(raw[..., :3])
    else:  # uint8 -> /255, bool -> {0, 1}
        grey = skimage.util.img_as_float64(raw)
    grey = np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0)
    grey.setflags(write=False)
    return grey


def load_image(name: str, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """A bundled scikit-image sample as a grey ``(H, W)`` float64 image in ``[0, 1]``.

    Parameters
    ----------
    name : str
        A key of :data:`SAMPLE_IMAGES`. Colour images become grey by ITU-R 709 luminance
        (:func:`skimage.color.rgb2gray`); ``uint8`` is divided by 255, binary images give 0/1.
    size : int or (int, int), optional
        Output shape: an int ``s`` gives ``(s, s)`` (the aspect ratio is *not* kept), a pair
        gives ``(H, W)``. Resized by :func:`skimage.transform.resize` (bilinear, with a Gaussian
        anti-aliasing prefilter when shrinking) and clipped to ``[0, 1]``. ``None``: full size.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` float64 in ``[0, 1]``, a fresh writable array.

    Examples
    --------
    >>> img = load_image("camera", 64)
    >>> img.shape, img.dtype, bool(0.0 <= img.min() <= img.max() <= 1.0)
    ((64, 64), dtype('float64'), True)
    """
    as_choice(name, "name", tuple(SAMPLE_IMAGES))
    if size is None:
        return _grey(name).copy()
    shape = as_shape(size, "size", ndim=2)
    check_cost(
        f"load_image at size {shape}",
        nbytes=32 * shape[0] * shape[1],  # float64 output and the resize's temporaries
        alternative="use a smaller size",
    )
    grey = _grey(name)
    out = skimage.transform.resize(grey, shape, order=1, anti_aliasing=True, mode="reflect")
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _as_batch(x: Any, name: str = "x") -> torch.Tensor:
    """``x`` as a floating (N, C, H, W) tensor (no copy when it already is one)."""
    if isinstance(x, torch.Tensor) and (x.dtype == torch.bool or not x.is_floating_point()):
        raise TypeError(
            f"{name} must be a floating tensor with values in [0, 1], got dtype {x.dtype} "
            "(convert uint8 images with x / 255)"
        )
    t = as_real_tensor(x, name)
    if not isinstance(x, torch.Tensor) and not np.issubdtype(np.asarray(x).dtype, np.floating):
        raise TypeError(f"{name} must be floating with values in [0, 1], got integer values")
    if t.ndim != 4:
        raise ValueError(f"{name} must be a 4-D batch (N, C, H, W), got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    require_finite(t, name)  # NaN would pass the [0, 1] range checks and poison the metrics
    return t


def _check_range(x: torch.Tensor, name: str = "x") -> None:
    if x.numel() and (bool(x.min() < 0) or bool(x.max() > 1)):
        raise ValueError(
            f"{name} must lie in [0, 1] when clip=True (got values in "
            f"[{float(x.min()):.3g}, {float(x.max()):.3g}]); rescale it or pass clip=False"
        )


def _images_list(images: Any) -> list[torch.Tensor]:
    """A list of 2-D float32 tensors from a sequence of (H, W) images or an array batch."""
    if isinstance(images, (np.ndarray, torch.Tensor)):
        arr = images
        if arr.ndim == 2:
            items = [arr]
        elif arr.ndim == 3:
            items = list(arr)
        elif arr.ndim == 4 and arr.shape[1] == 1:
            items = [a[0] for a in arr]
        else:
            raise ValueError(
                "images must be (H, W), (N, H, W), (N, 1, H, W) or a sequence of (H, W) "
                f"images, got shape {tuple(arr.shape)}"
            )
    elif isinstance(images, Sequence) and not isinstance(images, str):
        items = list(images)
    else:
        raise TypeError(f"images must be a sequence of 2-D images, got {type(images).__name__}")
    if not items:
        raise ValueError("images must not be empty")
    out = []
    for i, item in enumerate(items):
        t = as_real_tensor(item, f"images[{i}]")
        if t.ndim != 2:
            raise ValueError(f"images[{i}] must be 2-D (H, W), got shape {tuple(t.shape)}")
        out.append(t.detach().to(device="cpu", dtype=torch.float32))
    return out


# --------------------------------------------------------------------------------------------
# Patches and augmentation
# --------------------------------------------------------------------------------------------


def random_patches(images: Any, n: int, size: int, *, generator: torch.Generator) -> torch.Tensor:
    """``n`` random ``size x size`` crops: a batch ``(n, 1, size, size)`` float32.

    For each patch: an image chosen uniformly among ``images`` (each image equally likely,
    whatever its size), then a top-left corner uniform over all ``(H - size + 1) (W - size + 1)``
    positions that keep the crop inside that image. Random crops are also the lecture's
    augmentation ("an image crop is still an image").

    Parameters
    ----------
    images : sequence of (H_i, W_i) arrays or tensors, or an array (N, H, W) / (N, 1, H, W)
        The images (sizes may differ), values used as given (float32 copies).
    n, size : int
        Number of patches and their side length; ``size`` must fit in every image.
    generator : torch.Generator
        The only source of randomness; draws, in order, the n image indices then the n corners.

    Returns
    -------
    torch.Tensor
        ``(n, 1, size, size)`` float32 on the CPU.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> imgs = [load_image(name, 96) for name in TRAIN_IMAGES]
    >>> random_patches(imgs, 16, 32, generator=g).shape
    torch.Size([16, 1, 32, 32])
    """
    generator = as_generator(generator)
    imgs = _images_list(images)
    n = as_size(n, "n")
    size = as_size(size, "size")
    check_cost(
        f"{n} patches of {size}x{size}",
        nbytes=12 * n * size * size,  # float32 patches and their int64 gather indices
        alternative="draw fewer patches at a time",
    )
    for i, img in enumerate(imgs):
        if size > min(img.shape):
            raise ValueError(f"size={size} does not fit in images[{i}] of shape {tuple(img.shape)}")
    dev = generator.device
    which = torch.randint(len(imgs), (n,), generator=generator, device=dev).cpu()
    u = torch.rand(n, 2, generator=generator, device=dev, dtype=torch.float64).cpu()
    out = torch.empty(n, 1, size, size, dtype=torch.float32)
    offsets = torch.arange(size)
    for k, img in enumerate(imgs):  # a loop over images; every crop of one image at once
        sel = (which == k).nonzero().squeeze(1)
        if sel.numel() == 0:
            continue
        h, w = img.shape
        # top-left corner (r, c) uniform on {0..h-size} x {0..w-size}: floor(u * count)
        r = (u[sel, 0] * (h - size + 1)).long().clamp_(max=h - size)
        c = (u[sel, 1] * (w - size + 1)).long().clamp_(max=w - size)
        rows = (r[:, None] + offsets)[:, :, None]  # patch[p, i, j] = img[r_p + i, c_p + j]
        cols = (c[:, None] + offsets)[:, None, :]
        out[sel, 0] = img[rows, cols]
    return out


def augment(batch: torch.Tensor, *, generator: torch.Generator, flips: bool = True) -> torch.Tensor:
    """Random left/right and up/down flips, independently per item, each with probability 1/2.

    "A left/right flipped image is still an image; an up/down flipped image is still an image":
    the four outcomes (none, left/right, up/down, both = rotation by 180 degrees) are equally
    likely. Channels of one item are flipped together.

    Parameters
    ----------
    batch : torch.Tensor
        ``(N, C, H, W)``, any dtype (not modified).
    generator : torch.Generator
        Draws ``(N, 2)`` uniforms: column 0 decides left/right, column 1 up/down.
    flips : bool
        ``False`` returns an unchanged copy and draws nothing.

    Returns
    -------
    torch.Tensor
        A new tensor of the same shape, dtype and device.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.arange(4.0).reshape(1, 1, 2, 2)
    >>> y = augment(x.expand(32, 1, 2, 2), generator=g)  # top-left pixel tells the flips
    >>> y.shape, sorted(set(y[:, 0, 0, 0].tolist()))
    (torch.Size([32, 1, 2, 2]), [0.0, 1.0, 2.0, 3.0])
    """
    generator = as_generator(generator)
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"batch must be a torch.Tensor, got {type(batch).__name__}")
    if batch.ndim != 4:
        raise ValueError(f"batch must be 4-D (N, C, H, W), got shape {tuple(batch.shape)}")
    if not flips:
        return batch.clone()
    coins = torch.rand(batch.shape[0], 2, generator=generator, device=generator.device) < 0.5
    coins = coins.to(batch.device)[:, :, None, None, None]
    out = torch.where(coins[:, 0], batch.flip(-1), batch)  # left/right: W axis
    return torch.where(coins[:, 1], out.flip(-2), out)  # up/down: H axis


# --------------------------------------------------------------------------------------------
# Corruptions
# --------------------------------------------------------------------------------------------


def gaussian_noise(
    x: torch.Tensor, sigma: float, *, generator: torch.Generator, clip: bool = True
) -> torch.Tensor:
    """Additive white Gaussian noise: ``x + sigma * n``, ``n ~ N(0, 1)`` iid per pixel.

    Parameters
    ----------
    x : torch.Tensor
        Clean batch ``(N, C, H, W)``, floating, in ``[0, 1]`` when ``clip``.
    sigma : float
        Noise standard deviation (>= 0), in the units of ``x`` (``0.1`` = 10% of white).
    generator : torch.Generator
        Draws the ``x.numel()`` normals (in ``x``'s row-major order).
    clip : bool
        Clip the result to ``[0, 1]`` (default). ``False``: mean ``x``, variance ``sigma**2``.

    Returns
    -------
    torch.Tensor
        Noisy batch, same shape, dtype and device as ``x``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.full((2, 1, 64, 64), 0.5)
    >>> y = gaussian_noise(x, 0.1, generator=g)
    >>> round(float((y - x).std()), 1)
    0.1
    """
    generator = as_generator(generator)
    x = _as_batch(x)
    sigma = as_real_number(sigma, "sigma")
    if clip:
        _check_range(x)
    noise = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    y = x + sigma * noise.to(x.device)
    return y.clamp(0.0, 1.0) if clip else y


def poisson_noise(
    x: torch.Tensor, peak: float, *, generator: torch.Generator, clip: bool = True
) -> torch.Tensor:
    """Photon-count (shot) noise: ``Poisson(peak * x) / peak`` per pixel.

    ``peak`` is the expected number of photons of a white pixel (``x = 1``). Unclipped, the
    result has mean ``x`` and variance ``x / peak``: the noise grows with the brightness and a
    *larger* peak means a *cleaner* image (signal-to-noise ratio ``sqrt(peak * x)``). Black
    pixels stay exactly black. Computed in float64 then cast back to ``x.dtype``.

    Parameters
    ----------
    x : torch.Tensor
        Clean batch ``(N, C, H, W)``, floating, ``>= 0`` (and ``<= 1`` when ``clip``).
    peak : float
        Photon count of white, > 0.
    generator : torch.Generator
        Draws the Poisson counts (``torch.poisson``).
    clip : bool
        Clip to ``[0, 1]`` (default; counts above ``peak`` saturate, which lowers the mean of
        bright pixels slightly). ``False``: the raw ``count / peak``.

    Returns
    -------
    torch.Tensor
        Noisy batch, same shape, dtype and device as ``x``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> y = poisson_noise(torch.full((1, 1, 4, 4), 0.5), 10.0, generator=g)
    >>> bool(((y * 10).round() == y * 10).all())  # whole photon counts
    True
    """
    generator = as_generator(generator)
    x = _as_batch(x)
    # torch's Poisson sampler overflows int64 for rates near 2^63 (then returns 0): stay far below
    peak = as_real_number(peak, "peak", strict=True, maximum=2.0**50)
    if clip:
        _check_range(x)
    elif x.numel() and bool(x.min() < 0):
        raise ValueError(f"x must be >= 0 for Poisson noise (rates), got min {float(x.min())}")
    rate = (peak * x.detach().to(device=generator.device, dtype=torch.float64)).clamp_(min=0)
    counts = torch.poisson(rate, generator=generator)
    y = (counts / peak).to(device=x.device, dtype=x.dtype)
    return y.clamp(0.0, 1.0) if clip else y


def block_dropout(
    x: torch.Tensor,
    block: int,
    fraction: float,
    *,
    generator: torch.Generator,
    return_mask: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Knock out random ``block x block`` squares of pixels (set to 0) until ``fraction`` is gone.

    Per item, squares are dropped one after another at uniformly random positions (they may
    overlap each other and hang over the image border) until at least ``fraction`` of the
    ``H * W`` pixels are removed, so the removed fraction lies in
    ``[fraction, fraction + block**2 / (H W))``. Top-left corners range over
    ``{-(block-1) .. H-1} x {-(block-1) .. W-1}``, which gives *every* pixel (corners included)
    the same chance to be hit by a square. All channels of an item share its mask; items have
    independent masks. The lecture: "knock out blocks of pixels (more challenging, and helpful)".

    Vectorised over the batch and over squares: each round drops, for every unfinished item,
    as many squares as cannot overshoot its target (``floor(missing / block**2)``, at least one),
    which is the same random process as one square at a time.

    Parameters
    ----------
    x : torch.Tensor
        Clean batch ``(N, C, H, W)``, floating.
    block : int
        Side of the squares, ``1 <= block <= min(H, W)``.
    fraction : float
        Target fraction of removed pixels, in ``[0, 1]``.
    generator : torch.Generator
        Draws the square positions.
    return_mask : bool
        Also return the boolean mask ``(N, 1, H, W)``, True where a pixel was knocked out.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        ``x`` with the knocked-out pixels set to 0 (same shape, dtype, device), and the mask.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> y, mask = block_dropout(torch.ones(4, 1, 32, 32), 4, 0.3, generator=g, return_mask=True)
    >>> bool((mask.float().mean(dim=(1, 2, 3)) >= 0.3).all()), bool((y[mask] == 0).all())
    (True, True)
    """
    generator = as_generator(generator)
    x = _as_batch(x)
    n_items, _, h, w = x.shape
    block = as_size(block, "block")
    if block > min(h, w):
        raise ValueError(f"block={block} is larger than the image ({h} x {w})")
    fraction = as_real_number(fraction, "fraction")
    if fraction > 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    dev = generator.device
    target = math.ceil(fraction * h * w - 1e-9)  # pixels to remove per item
    b2 = block * block
    pad = block - 1
    # mask on a padded grid: a square with corner (r, c), r in [-pad, h-1], lands at r + pad
    padded = torch.zeros(n_items, h + 2 * pad, w + 2 * pad, dtype=torch.bool, device=dev)
    removed = torch.zeros(n_items, dtype=torch.long, device=dev)
    offsets = torch.arange(block, device=dev)
    while True:
        missing = target - removed
        active = missing > 0
        if not bool(active.any()):
            break
        k = torch.where(active, (missing // b2).clamp(min=1), 0)  # squares this round
        k_max = int(k.max())
        r = torch.randint(0, h + pad, (n_items, k_max), generator=generator, device=dev)
        c = torch.randint(0, w + pad, (n_items, k_max), generator=generator, device=dev)
        item, j = (torch.arange(k_max, device=dev) < k[:, None]).nonzero(as_tuple=True)
        rows = (r[item, j][:, None] + offsets)[:, :, None]  # padded[i, r + a, c + b] = True
        cols = (c[item, j][:, None] + offsets)[:, None, :]
        padded[item[:, None, None], rows, cols] = True
        removed = padded[:, pad : pad + h, pad : pad + w].sum(dim=(1, 2))
    mask = padded[:, None, pad : pad + h, pad : pad + w].to(x.device)
    y = x.masked_fill(mask, 0.0)
    return (y, mask) if return_mask else y


#: The corruption kinds of :func:`corrupt` and the meaning of their ``level``.
CORRUPTIONS: dict[str, str] = {
    "gaussian": "sigma, the noise standard deviation",
    "poisson": "peak, the photon count of white (larger = less noise)",
    "blocks": "fraction of pixels knocked out in block x block squares",
}


def corrupt(
    x: torch.Tensor,
    kind: str,
    level: float,
    *,
    generator: torch.Generator,
    block: int = 8,
    clip: bool = True,
) -> torch.Tensor:
    """Corrupt a clean batch: dispatch on ``kind`` (see :data:`CORRUPTIONS`).

    ``corrupt(x, "gaussian", s, generator=g)`` is ``gaussian_noise(x, s, generator=g)``,
    ``"poisson"`` calls :func:`poisson_noise` with ``peak=level`` and ``"blocks"`` calls
    :func:`block_dropout` with ``fraction=level`` and squares of side ``block`` (``clip`` does
    not apply: zeroing keeps ``[0, 1]``). Results clipped to ``[0, 1]`` unless ``clip=False``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.rand(2, 1, 32, 32, generator=g)
    >>> [tuple(corrupt(x, k, v, generator=g).shape) for k, v in
    ...  [("gaussian", 0.1), ("poisson", 30.0), ("blocks", 0.25)]]
    [(2, 1, 32, 32), (2, 1, 32, 32), (2, 1, 32, 32)]
    """
    kind = as_choice(kind, "kind", tuple(CORRUPTIONS))
    level = as_real_number(level, "level", strict=kind == "poisson")
    if kind == "gaussian":
        return gaussian_noise(x, level, generator=generator, clip=clip)
    if kind == "poisson":
        return poisson_noise(x, level, generator=generator, clip=clip)
    return block_dropout(x, block, level, generator=generator)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def _metric_pair(x: Any, ref: Any) -> tuple[np.ndarray, np.ndarray]:
    xt, rt = _as_batch(x, "x"), _as_batch(ref, "ref")
    if xt.shape != rt.shape:
        raise ValueError(
            f"x and ref must have the same shape, got {tuple(xt.shape)} and {tuple(rt.shape)}"
        )
    to_np = lambda t: t.detach().cpu().to(torch.float64).numpy()  # noqa: E731
    return to_np(xt), to_np(rt)


def psnr(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per item, in dB: ``10 log10(data_range**2 / MSE)``.

    A wrapper of :func:`skimage.metrics.peak_signal_noise_ratio` applied to each item (the MSE
    averages over the item's channels and pixels). ``data_range`` is the width of the value
    range (1.0 for images in ``[0, 1]``), never estimated from the data. Identical items give
    ``inf``. Higher is better; +6 dB is half the RMS error.

    Parameters
    ----------
    x, ref : torch.Tensor or numpy.ndarray
        ``(N, C, H, W)`` floating batches of the same shape (the estimate and the clean truth).
    data_range : float
        ``> 0``.

    Returns
    -------
    torch.Tensor
        ``(N,)`` float64, on the CPU.

    Examples
    --------
    >>> ref = torch.zeros(1, 1, 8, 8)
    >>> psnr(ref + 0.1, ref).round(decimals=6)  # MSE = 0.01 -> 20 dB
    tensor([20.], dtype=torch.float64)
    """
    data_range = as_real_number(data_range, "data_range", strict=True)
    xs, rs = _metric_pair(x, ref)
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # MSE = 0 -> inf, on purpose
        values = [
            skimage.metrics.peak_signal_noise_ratio(r, xi, data_range=data_range)
            for xi, r in zip(xs, rs, strict=True)
        ]
    return torch.tensor(values, dtype=torch.float64)


def ssim(
    x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0, **kwargs: Any
) -> torch.Tensor:
    """Structural similarity per item (1 = identical): skimage's ``structural_similarity``.

    scikit-image's defaults (Wang et al. 2004 constants ``K1 = 0.01``, ``K2 = 0.03``, a uniform
    7 x 7 window, sample covariances, the mean over the window positions that fit inside the
    image); multi-channel items are averaged over channels. ``kwargs`` are passed on (e.g.
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False`` for the paper's settings).

    Parameters
    ----------
    x, ref : torch.Tensor or numpy.ndarray
        ``(N, C, H, W)`` floating batches of the same shape, ``H, W >= 7``.
    data_range : float
        ``> 0``; 1.0 for images in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        ``(N,)`` float64, on the CPU.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> ref = torch.rand(2, 1, 32, 32, generator=g)
    >>> ssim(ref, ref)
    tensor([1., 1.], dtype=torch.float64)
    """
    data_range = as_real_number(data_range, "data_range", strict=True)
    xs, rs = _metric_pair(x, ref)
    win = kwargs.get("win_size") or 7
    if min(xs.shape[-2:]) < win:
        raise ValueError(f"ssim needs H, W >= win_size={win}, got {xs.shape[-2:]}")
    values = []
    for xi, r in zip(xs, rs, strict=True):
        if xi.shape[0] == 1:
            s = skimage.metrics.structural_similarity(r[0], xi[0], data_range=data_range, **kwargs)
        else:
            s = skimage.metrics.structural_similarity(
                r, xi, data_range=data_range, channel_axis=0, **kwargs
            )
        values.append(s)
    return torch.tensor(values, dtype=torch.float64)


def _demo() -> None:
    g = torch.Generator().manual_seed(0)
    train = [load_image(name, 128) for name in TRAIN_IMAGES]
    print(f"{len(SAMPLE_IMAGES)} bundled images, train {len(TRAIN_IMAGES)}, test {TEST_IMAGES}")
    print("train and test disjoint:", not set(TRAIN_IMAGES) & set(TEST_IMAGES))
    x = augment(random_patches(train, 64, 32, generator=g), generator=g)
    print(
        "patches (64, 1, 32, 32) float32:",
        tuple(x.shape) == (64, 1, 32, 32) and x.dtype == torch.float32,
    )
    flat = torch.full((16, 1, 64, 64), 0.5)
    y = gaussian_noise(flat, 0.1, generator=g)
    print("gaussian noise std 0.1 +- 2%:", abs(float((y - flat).std()) / 0.1 - 1) < 0.02)
    y = poisson_noise(flat, 20.0, generator=g, clip=False)
    print("poisson variance x/peak +- 5%:", abs(float(y.var()) / (0.5 / 20) - 1) < 0.05)
    _, mask = block_dropout(flat, 8, 0.25, generator=g, return_mask=True)
    f = mask.double().mean(dim=(1, 2, 3))
    print("blocks remove [0.25, 0.25 + 64/4096):", bool(((f >= 0.25) & (f < 0.25 + 1 / 64)).all()))
    cam = torch.from_numpy(load_image("camera", 128))[None, None]
    noisy = gaussian_noise(cam, 0.1, generator=g, clip=False)
    mse = float(((noisy - cam) ** 2).mean())
    print(
        "psnr = 10 log10(1/MSE):", abs(float(psnr(noisy, cam)[0]) - 10 * math.log10(1 / mse)) < 1e-9
    )
    print(
        f"camera + noise 0.1: PSNR {float(psnr(noisy, cam)[0]):.1f} dB, "
        f"SSIM {float(ssim(noisy, cam)[0]):.2f}"
    )


if __name__ == "__main__":
    _demo()
