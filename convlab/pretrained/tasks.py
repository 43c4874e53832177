"""The data, corruptions, baselines and metrics behind the trained models of notebooks 09 and 10.

Every task trains on the bundled training images (:data:`convlab.data.TRAIN_IMAGES`, random
crops) and is measured on the held-out images (:data:`convlab.data.TEST_IMAGES`), never used in
training; the segmentation task uses synthetic images (:func:`shapes`) with separate seeds for
training and test sets. Everything here is deterministic given its seeds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from convlab import data, inverse, train
from convlab._validate import as_size

__all__ = [
    "boundary_mask",
    "filter_baselines",
    "lookup_classifier",
    "segmentation_metrics",
    "shapes",
    "test_images",
    "train_images",
]

Corrupt = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@functools.cache
def _train_images() -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(data.load_image(n)).float() for n in data.TRAIN_IMAGES)


def train_images() -> list[torch.Tensor]:
    """The training images, full size, float32 ``(H_i, W_i)`` in ``[0, 1]`` (cached)."""
    return list(_train_images())


def test_images(size: int) -> torch.Tensor:
    """The held-out images resized to ``size x size``: float32 ``(3, 1, size, size)``."""
    size = as_size(size, "size")
    return torch.stack(
        [torch.from_numpy(data.load_image(n, size=size)).float() for n in data.TEST_IMAGES]
    )[:, None]


# --------------------------------------------------------------------------------------------
# Corruptions (callables corrupt(x, generator) for convlab.train.train_denoiser)
# --------------------------------------------------------------------------------------------


def gaussian(sigma: float) -> Corrupt:
    """``x + sigma n``, ``n ~ N(0, 1)``, **not clipped** (the lecture's ``N(0, sigma^2)``)."""
    return lambda x, g: data.gaussian_noise(x, sigma, generator=g, clip=False)


def blocks(fraction: float, block: int = 8) -> Corrupt:
    """Knock out ``block x block`` squares until ``fraction`` of the pixels are 0."""
    return lambda x, g: data.block_dropout(x, block, fraction, generator=g)


def super_resolution(r: int) -> Corrupt:
    """Average-pool by ``r``, upsample back bicubically (the SRCNN/VDSR input; no noise)."""
    return lambda x, g: inverse.super_resolution_input(x, r, mode="bicubic")


@functools.cache
def _mri_operator(size: int) -> inverse.FourierSampling:
    mask = inverse.random_mask(
        (size, size), 4, 0.08, generator=torch.Generator().manual_seed(0)
    )  # one fixed 4x mask per size, as a scanner protocol would use
    return inverse.FourierSampling(mask)


def mri_zero_filled(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Zero-filled reconstruction from 4x random-column k-space samples (fixed mask, seed 0)."""
    op = _mri_operator(x.shape[-1])
    return op.zero_filled(op(x)).to(x.dtype)


def ct_fbp(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Filtered back-projection from 18 equispaced angles, inside the inscribed circle."""
    return inverse.sparse_view_fbp(x, 18).to(x.dtype)


# --------------------------------------------------------------------------------------------
# Classical baselines
# --------------------------------------------------------------------------------------------

GAUSSIAN_SIGMAS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
MEDIAN_SIZES = (3, 5, 7, 9)


def filter_baselines(noisy: torch.Tensor, clean: torch.Tensor) -> dict[str, dict[str, float]]:
    """Best Gaussian and best median filter, each **tuned on the images themselves**.

    The width is chosen to maximise the mean PSNR on ``(noisy, clean)``: an oracle choice that
    favours the filters (a fair comparison needs the strongest simple competitor).

    Returns
    -------
    dict
        ``{"gaussian": {"psnr", "ssim", "sigma"}, "median": {"psnr", "ssim", "size"}}``.
    """
    imgs = [im[0].double().numpy() for im in noisy]

    def score(outs: list[np.ndarray]) -> tuple[float, float]:
        t = torch.from_numpy(np.stack(outs))[:, None].to(clean.dtype)
        return float(data.psnr(t, clean).mean()), float(data.ssim(t, clean).mean())

    out: dict[str, dict[str, float]] = {}
    for kind, params, apply in (
        ("gaussian", GAUSSIAN_SIGMAS, scipy.ndimage.gaussian_filter),
        ("median", MEDIAN_SIZES, scipy.ndimage.median_filter),
    ):
        best = max((score([apply(im, p) for im in imgs]), p) for p in params)
        (p_db, s), param = best
        out[kind] = {"psnr": p_db, "ssim": s, "sigma" if kind == "gaussian" else "size": param}
    return out


# --------------------------------------------------------------------------------------------
# Segmentation: discs and squares that only their shape tells apart
# --------------------------------------------------------------------------------------------


def shapes(
    n: int, size: int = 32, *, seed: int, noise: float = 0.08, count: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images of discs (class 1) and squares (class 2) that only their *shape* tells apart.

    Per image: a background grey level ``b ~ U(0.25, 0.75)``; one foreground level ``f = b +-
    U(0.25, 0.4)`` (random sign, so shapes are brighter or darker than the background), the
    **same for every shape of the image**; ``count`` shapes of random kind and radius ``r in
    {4, ..., 7}`` (a disc of radius ``r``, or a square of side ``2 r - 1`` with the same centre)
    placed without touching each other (bounding boxes 1 pixel apart); then Gaussian noise of
    std ``noise``. No pixel value and no grey level says "disc" or "square": only the outline
    does.

    Parameters
    ----------
    n, size : int
        Number of images and their side.
    seed : int
        ``numpy.random.default_rng(seed)`` draws everything.
    noise : float
        Standard deviation of the additive noise.
    count : int
        Shapes per image (fewer when 50 random candidates do not fit).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Images ``(n, 1, size, size)`` float32 and labels ``(n, size, size)`` int64 in ``{0, 1,
        2}`` (background, disc, square).

    Examples
    --------
    >>> x, y = shapes(2, seed=2)
    >>> x.shape, y.shape, sorted(set(y.unique().tolist()))
    (torch.Size([2, 1, 32, 32]), torch.Size([2, 32, 32]), [0, 1, 2])
    """
    n, size, count = as_size(n, "n"), as_size(size, "size", minimum=16), as_size(count, "count")
    rng = np.random.default_rng(seed)
    img = np.empty((n, 1, size, size))
    lab = np.zeros((n, size, size), dtype=np.int64)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        b = rng.uniform(0.25, 0.75)
        f = b + rng.choice((-1.0, 1.0)) * rng.uniform(0.25, 0.4)
        f = f if 0.0 <= f <= 1.0 else 2 * b - f  # flip to the side that stays in [0, 1]
        img[i, 0] = b
        boxes: list[tuple[int, int, int]] = []  # (cy, cx, r) of the shapes placed so far
        kinds, radii = rng.integers(1, 3, 50), rng.integers(4, 8, 50)  # 50 candidates
        centres = rng.integers(radii[:, None], size - radii[:, None], (50, 2))
        for kind, r, (cy, cx) in zip(kinds.tolist(), radii.tolist(), centres.tolist()):
            # bounding boxes [c - r, c + r] 1 pixel apart: shapes never touch
            if len(boxes) == count or any(
                max(abs(cy - y), abs(cx - x)) < r + q + 2 for y, x, q in boxes
            ):
                continue
            boxes.append((cy, cx, r))
            if kind == 1:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
            else:
                inside = (abs(yy - cy) <= r - 1) & (abs(xx - cx) <= r - 1)
            img[i, 0][inside] = f
            lab[i][inside] = kind
    img += noise * rng.standard_normal(img.shape)
    return torch.tensor(img, dtype=torch.float32), torch.from_numpy(lab)


def boundary_mask(labels: torch.Tensor) -> torch.Tensor:
    """Pixels whose 3x3 neighbourhood holds another label: ``(n, H, W)`` bool.

    Examples
    --------
    >>> lab = torch.zeros(1, 5, 5, dtype=torch.long); lab[0, 2, 2] = 1
    >>> int(boundary_mask(lab).sum())
    9
    """
    lab = labels[:, None].double()
    hi = F.max_pool2d(lab, 3, stride=1, padding=1)
    lo = -F.max_pool2d(-lab, 3, stride=1, padding=1)
    return (hi != lo)[:, 0]


def lookup_classifier(
    features: Callable[[torch.Tensor], torch.Tensor],
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    bins: int = 24,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The best classifier that sees only ``features(x)`` per pixel: a majority-vote table.

    ``features(x)`` maps images ``(n, 1, H, W)`` to ``(n, d, H, W)`` values in about ``[0, 1]``;
    each is cut into ``bins`` bins and every cell of the ``bins**d`` table predicts the most
    frequent training label in it (background in empty cells).
    """
    classes = int(train_y.max()) + 1

    def cells(x: torch.Tensor) -> torch.Tensor:
        f = (features(x) * bins).long().clamp(0, bins - 1)
        index = torch.zeros_like(f[:, 0])
        for d in range(f.shape[1]):
            index = index * bins + f[:, d]
        return index

    idx = cells(train_x)
    n_cells = bins ** features(train_x[:1]).shape[1]
    counts = torch.zeros(n_cells, classes, dtype=torch.long)
    counts.index_put_(
        (idx.flatten(), train_y.flatten()),
        torch.ones(idx.numel(), dtype=torch.long),
        accumulate=True,
    )
    table = counts.argmax(1)
    return lambda x: table[cells(x)]


def segmentation_metrics(pred: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Pixel accuracy, per-class accuracies and accuracy on :func:`boundary_mask` pixels."""
    right = pred == labels
    edge = boundary_mask(labels)
    out = {"accuracy": float(right.double().mean()), "boundary": float(right[edge].double().mean())}
    for k, name in enumerate(("background", "disc", "square")):
        out[name] = float(right[labels == k].double().mean())
    return out


def train_segmenter(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    progress: bool = False,
) -> train.History:
    """Adam on the pixel-wise cross-entropy, cosine schedule, random batches with random flips.

    The loss is ``F.cross_entropy`` (mean over pixels and images), the same flips applied to
    image and labels.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    history = train.History()
    model.train()
    t0 = time.perf_counter()
    for _ in tqdm(range(steps), desc="training", disable=not progress, leave=False):
        idx = torch.randint(len(x), (batch_size,), generator=generator)
        both = data.augment(torch.cat([x[idx], y[idx, None].float()], 1), generator=generator)
        xb, yb = both[:, :1], both[:, 1].long()
        history.lrs.append(opt.param_groups[0]["lr"])
        loss = F.cross_entropy(model(xb), yb)
        history.losses.append(loss.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    history.seconds = time.perf_counter() - t0
    model.eval()
    return history
