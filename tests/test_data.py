"""convlab.data against independent references: hand-written luminance and block means for the
images, crops located by their unique pixel values, noise statistics within seeded CLT bounds,
masks checked by a morphological opening (scipy.ndimage), PSNR by its formula and SSIM by the
textbook windowed formula (scipy.ndimage.uniform_filter)."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
import scipy.ndimage
import skimage.data
import torch

from convlab import data
from convlab.data import (
    SAMPLE_IMAGES,
    TEST_IMAGES,
    TRAIN_IMAGES,
    augment,
    block_dropout,
    corrupt,
    gaussian_noise,
    load_image,
    poisson_noise,
    psnr,
    random_patches,
    ssim,
)

torch.set_num_threads(1)  # small tensors; two threads on a shared 2-core machine are slower


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def within(value: float, expected: float, sd: float, k: float = 6.0) -> bool:
    """|value - expected| <= k standard deviations (k = 6: a false alarm ~ 2e-9 per check)."""
    return abs(value - expected) <= k * sd


# --------------------------------------------------------------------------------- images


def test_every_sample_image_loads_offline(monkeypatch):
    """No sample may need the network: any socket connection fails the test."""

    def no_network(*args, **kwargs):
        raise AssertionError("a sample image tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    data._grey.cache_clear()
    bundled = set(__import__("os").listdir(skimage.data.data_dir))
    for name in SAMPLE_IMAGES:
        img = load_image(name)
        assert img.ndim == 2 and img.dtype == np.float64, name
        assert 0.0 <= img.min() and img.max() <= 1.0, name
        assert img.max() - img.min() > 0.2, name  # a real picture, not a blank
        assert min(img.shape) >= 128, name  # room for 128-pixel patches
    # the loaders' files ship in the wheel (names as scikit-image stores them)
    files = {"clock": "clock_motion.png", "immunohistochemistry": "ihc.png"}
    for name in SAMPLE_IMAGES:
        stem = files.get(name, name)
        assert any(f == stem or f.startswith(stem + ".") for f in bundled), name


def test_train_and_test_are_fixed_disjoint_and_cover_the_samples():
    assert TEST_IMAGES == ("camera", "coins", "astronaut")
    assert not set(TRAIN_IMAGES) & set(TEST_IMAGES)
    assert set(TRAIN_IMAGES) | set(TEST_IMAGES) == set(SAMPLE_IMAGES)
    assert len(TRAIN_IMAGES) == len(set(TRAIN_IMAGES)) >= 10


def test_grey_conversion_is_luminance_and_uint8_is_divided_by_255():
    rgb = skimage.data.astronaut().astype(np.float64) / 255
    lum = 0.2125 * rgb[..., 0] + 0.7154 * rgb[..., 1] + 0.0721 * rgb[..., 2]  # ITU-R 709
    np.testing.assert_allclose(load_image("astronaut"), lum, atol=1e-12)
    np.testing.assert_allclose(load_image("camera"), skimage.data.camera() / 255.0, atol=1e-15)
    horse = load_image("horse")
    assert set(np.unique(horse)) == {0.0, 1.0}


def test_resize_shapes_and_anti_aliasing():
    full = load_image("camera")
    assert load_image("camera", 64).shape == (64, 64)
    assert load_image("coins", (48, 80)).shape == (48, 80)
    half = load_image("camera", 256)
    block_mean = full.reshape(256, 2, 256, 2).mean(axis=(1, 3))
    assert np.abs(half - block_mean).mean() < 0.02  # close to a 2x2 box average
    # shrinking 8x: the anti-aliased image is far closer to 8x8 box means than subsampling is
    small = load_image("gravel", 64)
    boxes = load_image("gravel").reshape(64, 8, 64, 8).mean(axis=(1, 3))
    subsampled = load_image("gravel")[3::8, 3::8]
    assert np.abs(small - boxes).mean() < 0.5 * np.abs(subsampled - boxes).mean()
    assert 0.0 <= small.min() and small.max() <= 1.0
    # a fresh, writable copy each time (the cache is not exposed)
    img = load_image("moon")
    img[0, 0] = -1.0
    assert load_image("moon")[0, 0] >= 0.0


def test_load_image_bad_input():
    with pytest.raises(ValueError, match="name"):
        load_image("lena")
    with pytest.raises(ValueError, match="size"):
        load_image("camera", 0)
    with pytest.raises(TypeError, match="size"):
        load_image("camera", 32.0)
    with pytest.raises(ValueError, match="size"):
        load_image("camera", (32, 32, 1))


# -------------------------------------------------------------------- patches and flips


def _labelled_images():
    """Images whose pixel values identify (image, row, col) uniquely (exact in float32)."""
    shapes = [(10, 12), (9, 9), (14, 10)]
    return [
        (1000.0 * (k + 1) + np.arange(h * w, dtype=np.float64).reshape(h, w))
        for k, (h, w) in enumerate(shapes)
    ]


def test_random_patches_are_crops_with_uniform_images_and_corners():
    imgs = _labelled_images()
    n, size = 3000, 8
    p = random_patches(imgs, n, size, generator=gen(1))
    assert p.shape == (n, 1, size, size) and p.dtype == torch.float32
    first = p[:, 0, 0, 0].double().numpy()
    which = (first // 1000).astype(int) - 1
    counts = {}
    for i in range(n):
        w = imgs[which[i]].shape[1]
        r, c = divmod(int(first[i] % 1000), w)
        crop = imgs[which[i]][r : r + size, c : c + size]
        assert crop.shape == (size, size)  # inside the image
        np.testing.assert_array_equal(p[i, 0].double().numpy(), crop)
        counts[which[i], r, c] = counts.get((which[i], r, c), 0) + 1
    # each image with probability 1/3 (binomial sd), whatever its size
    for k in range(3):
        assert within(np.mean(which == k), 1 / 3, math.sqrt(2 / 9 / n))
    # every corner of image 0 (3 x 5 positions) appears, each with prob. 1/3 * 1/15
    n0 = int(np.sum(which == 0))
    corners = [(r, c) for r in range(3) for c in range(5)]
    for rc in corners:
        q = 1 / 15
        assert within(counts.get((0, *rc), 0), n0 * q, math.sqrt(n0 * q * (1 - q))), rc


def test_random_patches_accepts_batches_and_is_reproducible():
    imgs = [load_image(name, 64) for name in TRAIN_IMAGES[:3]]
    a = random_patches(imgs, 10, 16, generator=gen(5))
    b = random_patches(imgs, 10, 16, generator=gen(5))
    c = random_patches(imgs, 10, 16, generator=gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    stacked = torch.from_numpy(np.stack(imgs))
    assert torch.equal(random_patches(stacked, 10, 16, generator=gen(5)), a)
    assert torch.equal(random_patches(stacked[:, None], 10, 16, generator=gen(5)), a)
    one = random_patches(imgs[0], 4, 64, generator=gen(0))  # the only crop: the image itself
    assert torch.equal(one, torch.from_numpy(imgs[0]).float().expand(4, 1, 64, 64))


def test_random_patches_bad_input():
    imgs = [np.zeros((10, 12)), np.zeros((9, 9))]
    with pytest.raises(ValueError, match="does not fit"):
        random_patches(imgs, 4, 10, generator=gen())
    with pytest.raises(TypeError, match="generator"):
        random_patches(imgs, 4, 8, generator=0)
    with pytest.raises(ValueError, match="n must be"):
        random_patches(imgs, 0, 8, generator=gen())
    with pytest.raises(ValueError, match="2-D"):
        random_patches([np.zeros((3, 10, 10))], 4, 8, generator=gen())
    with pytest.raises(ValueError, match="empty"):
        random_patches([], 4, 8, generator=gen())


def test_augment_gives_the_four_flips_equally_often_per_item():
    n = 4000
    x = torch.arange(6.0).reshape(1, 1, 2, 3).expand(n, 2, 2, 3).contiguous()
    y = augment(x, generator=gen(2))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.equal(y[:, 0], y[:, 1])  # channels flipped together
    variants = [x[0], x[0].flip(-1), x[0].flip(-2), x[0].flip(-1, -2)]
    seen = torch.stack([(y == v).flatten(1).all(1) for v in variants])  # (4, n)
    assert torch.equal(seen.sum(0), torch.ones(n, dtype=torch.long))  # exactly one each
    for row in seen:
        assert within(float(row.double().mean()), 0.25, math.sqrt(0.25 * 0.75 / n))
    assert torch.equal(augment(x, generator=gen(2)), y)
    assert not torch.equal(augment(x, generator=gen(3)), y)
    assert torch.equal(augment(x, generator=gen(2), flips=False), x)
    with pytest.raises(ValueError, match="4-D"):
        augment(x[0], generator=gen())
    with pytest.raises(TypeError, match="generator"):
        augment(x, generator=None)


# ------------------------------------------------------------------------------- noise

M = 16 * 64 * 64  # pixels per statistics sample


def test_gaussian_noise_mean_variance_and_independence():
    x = torch.full((16, 1, 64, 64), 0.5, dtype=torch.float64)
    sigma = 0.1
    e = (gaussian_noise(x, sigma, generator=gen(0), clip=False) - x).flatten()
    assert within(float(e.mean()), 0.0, sigma / math.sqrt(M))
    # Var(sample variance) = 2 sigma^4 / (M - 1) for Gaussian data
    assert within(float(e.var()), sigma**2, sigma**2 * math.sqrt(2 / (M - 1)))
    # neighbouring pixels uncorrelated: sample correlation has sd ~ 1 / sqrt(M)
    e4 = e.reshape(16, 1, 64, 64)
    corr = torch.corrcoef(torch.stack([e4[..., :-1].flatten(), e4[..., 1:].flatten()]))[0, 1]
    assert within(float(corr), 0.0, 1 / math.sqrt(M))
    # excess kurtosis of a Gaussian is 0 (sd sqrt(24 / M)): not uniform noise in disguise
    kurt = float((e**4).mean() / e.var() ** 2 - 3)
    assert within(kurt, 0.0, math.sqrt(24 / M))


def test_gaussian_noise_clips_keeps_dtype_and_sigma_zero_is_identity():
    x = torch.zeros(4, 1, 32, 32)
    y = gaussian_noise(x, 0.1, generator=gen(0))
    assert y.dtype == torch.float32 and y.min() >= 0 and y.max() <= 1
    n = y.numel()
    assert within(float((y == 0).double().mean()), 0.5, math.sqrt(0.25 / n))  # half clipped
    r = torch.rand(2, 3, 8, 8, generator=gen(1))
    assert torch.equal(gaussian_noise(r, 0.0, generator=gen(0)), r)


@pytest.mark.parametrize("peak", [5.0, 50.0])
def test_poisson_noise_mean_and_variance_x_over_peak(peak):
    levels = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    x = levels[:, None, None, None].expand(3, 1, 128, 128).contiguous()
    m = 128 * 128
    y = poisson_noise(x, peak, generator=gen(4), clip=False)
    counts = y * peak
    assert float((counts - counts.round()).abs().max()) < 1e-9  # whole photon counts
    for k, lv in enumerate(levels.tolist()):
        lam = peak * lv
        s = y[k].flatten()
        assert within(float(s.mean()), lv, math.sqrt(lv / peak / m))
        # Var(sample variance) ~ (mu4 - sigma^4) / m, mu4 = lam (1 + 3 lam) for Poisson(lam)
        var_sd = math.sqrt((lam * (1 + 3 * lam) - lam**2) / m) / peak**2
        assert within(float(s.var()), lv / peak, var_sd)
    zero = poisson_noise(torch.zeros(1, 1, 8, 8), peak, generator=gen(0))
    assert torch.equal(zero, torch.zeros(1, 1, 8, 8))  # black stays black
    clipped = poisson_noise(x.float(), peak, generator=gen(4))
    assert clipped.dtype == torch.float32 and clipped.max() <= 1.0


def test_poisson_larger_peak_is_less_noise():
    x = torch.full((4, 1, 64, 64), 0.5)
    err = [float((poisson_noise(x, p, generator=gen(0)) - x).pow(2).mean()) for p in (5, 50, 500)]
    assert err[0] > 5 * err[1] > 25 * err[2]  # variance x / peak: factor 10 per step


def _opened(mask: np.ndarray, b: int) -> np.ndarray:
    """Union of all b x b squares inside ``mask`` (the border padded as knocked out)."""
    padded = np.pad(mask, b - 1, constant_values=True)
    opened = scipy.ndimage.binary_opening(padded, structure=np.ones((b, b), bool))
    return opened[b - 1 : b - 1 + mask.shape[0], b - 1 : b - 1 + mask.shape[1]]


@pytest.mark.parametrize(("block", "fraction"), [(4, 0.3), (8, 0.5), (1, 0.1), (5, 0.77)])
def test_block_dropout_fraction_squares_and_zeros(block, fraction):
    x = torch.rand(6, 2, 40, 48, generator=gen(9), dtype=torch.float64) * 0.9 + 0.1
    y, mask = block_dropout(x, block, fraction, generator=gen(3), return_mask=True)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert mask.shape == (6, 1, 40, 48) and mask.dtype == torch.bool
    removed = mask.double().mean(dim=(1, 2, 3))
    assert bool((removed >= fraction).all())
    assert bool((removed < fraction + block**2 / (40 * 48)).all())
    # knocked-out pixels are 0 in every channel, the others untouched
    assert torch.equal(y == 0, mask.expand_as(x))
    assert torch.equal(y[~mask.expand_as(x)], x[~mask.expand_as(x)])
    # the holes are unions of block x block squares
    for m in mask[:, 0].numpy():
        np.testing.assert_array_equal(_opened(m, block), m)
    assert len({m.numpy().tobytes() for m in mask}) == 6  # independent masks per item


def test_block_dropout_hits_corners_as_often_as_the_centre():
    """Squares may hang over the border, so every pixel has the same chance to be removed."""
    n, f = 600, 0.4
    _, mask = block_dropout(torch.ones(n, 1, 24, 24), 6, f, generator=gen(7), return_mask=True)
    p = mask[:, 0].double().mean(0)  # per-pixel removal frequency
    # per-pixel sd <= sqrt(f (1-f) / n) = 0.02 (items independent); corners 4 x 4 = 16 pixels
    corner = float(torch.stack([p[:4, :4], p[:4, -4:], p[-4:, :4], p[-4:, -4:]]).mean())
    centre = float(p[10:14, 10:14].mean())
    assert abs(corner - centre) < 0.08  # corner-only squares would give corner ~ f / 6
    assert within(float(p.mean()), f, 0.01)


def test_block_dropout_edges_and_bad_input():
    x = torch.rand(3, 1, 16, 16, generator=gen(0))
    assert torch.equal(block_dropout(x, 4, 0.0, generator=gen(0)), x)
    assert torch.equal(block_dropout(x, 4, 1.0, generator=gen(0)), torch.zeros_like(x))
    a = block_dropout(x, 4, 0.3, generator=gen(1))
    assert torch.equal(a, block_dropout(x, 4, 0.3, generator=gen(1)))
    assert not torch.equal(a, block_dropout(x, 4, 0.3, generator=gen(2)))
    with pytest.raises(ValueError, match="block"):
        block_dropout(x, 17, 0.3, generator=gen())
    with pytest.raises(TypeError, match="block"):
        block_dropout(x, 2.0, 0.3, generator=gen())
    with pytest.raises(ValueError, match="fraction"):
        block_dropout(x, 4, 1.5, generator=gen())
    with pytest.raises(ValueError, match="fraction"):
        block_dropout(x, 4, -0.1, generator=gen())


def test_corrupt_dispatches_and_everything_is_reproducible():
    x = torch.rand(2, 1, 32, 32, generator=gen(0))
    for kind, level, direct in [
        ("gaussian", 0.2, lambda g: gaussian_noise(x, 0.2, generator=g)),
        ("poisson", 30.0, lambda g: poisson_noise(x, 30.0, generator=g)),
        ("blocks", 0.25, lambda g: block_dropout(x, 8, 0.25, generator=g)),
    ]:
        a = corrupt(x, kind, level, generator=gen(11))
        assert torch.equal(a, direct(gen(11))), kind
        assert torch.equal(a, corrupt(x, kind, level, generator=gen(11))), kind
        assert not torch.equal(a, corrupt(x, kind, level, generator=gen(12))), kind
        assert 0 <= float(a.min()) and float(a.max()) <= 1, kind
    small = corrupt(x, "blocks", 0.25, generator=gen(11), block=2)
    assert not torch.equal(small, corrupt(x, "blocks", 0.25, generator=gen(11)))
    assert torch.equal(
        corrupt(x, "gaussian", 0.3, generator=gen(1), clip=False),
        gaussian_noise(x, 0.3, generator=gen(1), clip=False),
    )
    # the global RNG is neither used nor advanced
    torch.manual_seed(0)
    before = torch.get_rng_state()
    corrupt(x, "gaussian", 0.1, generator=gen(0))
    random_patches([x[0, 0].numpy()], 3, 8, generator=gen(0))
    augment(x, generator=gen(0))
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: gaussian_noise(x, -0.1, generator=gen()), ValueError, "sigma"),
        (lambda x: gaussian_noise(x, float("nan"), generator=gen()), ValueError, "sigma"),
        (lambda x: gaussian_noise(x, "0.1", generator=gen()), TypeError, "sigma"),
        (lambda x: gaussian_noise(x, True, generator=gen()), TypeError, "sigma"),
        (lambda x: gaussian_noise(x[0], 0.1, generator=gen()), ValueError, "4-D"),
        (lambda x: gaussian_noise(x[None], 0.1, generator=gen()), ValueError, "4-D"),
        (lambda x: gaussian_noise(x, 0.1, generator=None), TypeError, "generator"),
        (lambda x: gaussian_noise(x * 2, 0.1, generator=gen()), ValueError, r"\[0, 1\]"),
        (lambda x: gaussian_noise((x * 255).byte(), 0.1, generator=gen()), TypeError, "float"),
        (lambda x: poisson_noise(x, 0.0, generator=gen()), ValueError, "peak"),
        (lambda x: poisson_noise(x - 0.5, 10.0, generator=gen(), clip=False), ValueError, ">= 0"),
        (lambda x: corrupt(x, "salt", 0.1, generator=gen()), ValueError, "kind"),
        (lambda x: corrupt(x, "gaussian", -1.0, generator=gen()), ValueError, "level"),
        (lambda x: psnr(x, x[:, :, :4]), ValueError, "same shape"),
        (lambda x: psnr(x, x, data_range=0), ValueError, "data_range"),
        (lambda x: psnr(x[0], x[0]), ValueError, "4-D"),
        (lambda x: ssim(x[:, :, :5, :5], x[:, :, :5, :5]), ValueError, "win_size"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    x = torch.rand(2, 1, 16, 16, generator=gen(0))
    with pytest.raises(error, match=match):
        call(x)


# ------------------------------------------------------------------------------ metrics


@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_psnr_is_the_textbook_formula_per_item(data_range):
    ref = torch.rand(5, 1, 24, 20, generator=gen(0), dtype=torch.float64)
    sig = torch.tensor([0.01, 0.05, 0.1, 0.2, 0.3], dtype=torch.float64)[:, None, None, None]
    x = ref + sig * torch.randn(ref.shape, generator=gen(1), dtype=torch.float64)
    mse = ((x - ref) ** 2).mean(dim=(1, 2, 3))
    expected = 10 * torch.log10(data_range**2 / mse)
    got = psnr(x, ref, data_range=data_range)
    assert got.shape == (5,) and got.dtype == torch.float64
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-10)
    assert bool((got[:-1] > got[1:]).all())  # more noise, lower PSNR
    # numpy input, float32 input and multi-channel items (MSE over channels and pixels)
    torch.testing.assert_close(psnr(x.numpy(), ref.numpy(), data_range), expected)
    x3, r3 = x.expand(5, 3, 24, 20), ref.expand(5, 3, 24, 20)
    torch.testing.assert_close(psnr(x3, r3, data_range), expected)
    assert torch.isinf(psnr(ref, ref)).all()


def test_psnr_of_gaussian_noise_is_20_log10_of_one_over_sigma():
    cam = torch.from_numpy(load_image("camera", 128))[None, None]
    noisy = gaussian_noise(cam, 0.05, generator=gen(0), clip=False)
    # MSE ~ sigma^2 within a relative 6 sqrt(2 / 16384) = 6.6%  ->  +-0.3 dB
    assert abs(float(psnr(noisy, cam)[0]) - 20 * math.log10(1 / 0.05)) < 0.3


def _ssim_textbook(x: np.ndarray, y: np.ndarray, data_range: float, win: int = 7) -> float:
    """Wang et al. (2004) SSIM with a uniform win x win window and sample (co)variances,
    averaged over the windows that fit inside the image."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    f = lambda a: scipy.ndimage.uniform_filter(a, size=win)  # noqa: E731
    unbias = win * win / (win * win - 1)
    mx, my = f(x), f(y)
    vx, vy = (f(x * x) - mx * mx) * unbias, (f(y * y) - my * my) * unbias
    cxy = (f(x * y) - mx * my) * unbias
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    h = win // 2
    return float(s[h:-h, h:-h].mean())


def test_ssim_is_the_textbook_formula_per_item():
    ref = torch.from_numpy(np.stack([load_image(n, 48) for n in TEST_IMAGES]))[:, None]
    x = gaussian_noise(ref, 0.1, generator=gen(0))
    got = ssim(x, ref)
    assert got.shape == (3,) and got.dtype == torch.float64
    for i in range(3):
        expected = _ssim_textbook(x[i, 0].numpy(), ref[i, 0].numpy(), 1.0)
        assert abs(float(got[i]) - expected) < 1e-9
    torch.testing.assert_close(ssim(ref, ref), torch.ones(3, dtype=torch.float64))
    assert bool((ssim(gaussian_noise(ref, 0.3, generator=gen(0)), ref) < got).all())
    # data_range matters (it sets the constants); multi-channel = mean over channels
    assert abs(float(ssim(x, ref, data_range=2.0)[0]) - float(got[0])) > 1e-3
    x2 = torch.cat([x, ref], dim=1)
    r2 = torch.cat([ref, ref], dim=1)
    torch.testing.assert_close(ssim(x2, r2), (got + 1) / 2)
