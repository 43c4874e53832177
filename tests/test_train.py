"""convlab.train: one SGD step reproduced by hand (mean loss, weight decay, draw order), the
schedules against their closed forms, a tiny training run that must reduce the loss,
determinism, evaluation against scikit-image directly, and bad input."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn

from convlab import data
from convlab import train as T
from convlab.models import DenoisingAutoencoder, cheating_autoencoder


def _smooth_images(n=12, size=16, seed=0):
    """Random low-frequency images in [0, 1] (bilinear upsampling of 4x4 noise)."""
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(
        torch.rand(n, 1, 4, 4, generator=g), size=(size, size), mode="bilinear"
    ).clamp(0, 1)


def _gauss(x, g):
    return data.corrupt(x, "gaussian", 0.1, generator=g)


def _model(seed=0, channels=(1, 4, 8)):
    torch.manual_seed(seed)
    return DenoisingAutoencoder(channels)


def _train(model, clean=None, **kw):
    kw = {"corrupt": _gauss, "steps": 3, "batch_size": 4, "progress": False} | kw
    kw.setdefault("generator", torch.Generator().manual_seed(0))
    return T.train_denoiser(model, _smooth_images() if clean is None else clean, **kw)


# ---------------------------------------------------------------------------------------------
# One step, by hand
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "augment"), [("l2", True), ("l1", False), ("l2", False), ("l1+l2", False)]
)
def test_one_sgd_step_equals_the_update_by_hand(loss, augment):
    clean = _smooth_images()
    model = _model()
    before = copy.deepcopy(model)
    lr, wd = 0.5, 0.01
    h = _train(
        model,
        clean,
        steps=1,
        lr=lr,
        weight_decay=wd,
        loss=loss,
        optimizer="sgd",
        augment=augment,
        generator=torch.Generator().manual_seed(7),
    )
    # the documented draw order: indices, flips, noise
    g = torch.Generator().manual_seed(7)
    target = clean[torch.randint(len(clean), (4,), generator=g)]
    if augment:
        target = data.augment(target, generator=g)
    noisy = _gauss(target, g)
    resid = before(noisy) - target
    # the lecture's SSD (or sum of |.|) over the batch's pixels, then / (B H W): a mean
    l2, l1 = (resid**2).sum() / resid.numel(), resid.abs().sum() / resid.numel()
    cost = {"l2": l2, "l1": l1, "l1+l2": 0.5 * l1 + 0.5 * l2}[loss]  # l1_weight = 0.5
    assert h.losses[0] == pytest.approx(cost.item(), rel=1e-6)
    grads = torch.autograd.grad(cost, list(before.parameters()))
    for p, p0, gr in zip(model.parameters(), before.parameters(), grads, strict=True):
        # theta_1 = theta_0 - eta (grad + wd theta_0): the loss + wd/2 ||theta||^2 penalty
        torch.testing.assert_close(p.detach(), p0.detach() - lr * (gr + wd * p0.detach()))
    assert h.lrs == [lr]


# ---------------------------------------------------------------------------------------------
# Schedules, training, determinism
# ---------------------------------------------------------------------------------------------


def test_schedules_follow_their_closed_forms():
    steps, lr = 12, 0.01
    const = _train(_model(), steps=steps, lr=lr)
    assert const.lrs == [lr] * steps
    step = _train(_model(), steps=steps, lr=lr, schedule="step")
    expected = [lr * 0.1 ** ((t >= steps // 2) + (t >= 3 * steps // 4)) for t in range(steps)]
    np.testing.assert_allclose(step.lrs, expected, rtol=1e-12)
    cos = _train(_model(), steps=steps, lr=lr, schedule="cosine")
    expected = [lr * (1 + math.cos(math.pi * t / steps)) / 2 for t in range(steps)]
    np.testing.assert_allclose(cos.lrs, expected, rtol=1e-12, atol=1e-15)


def test_sixty_steps_reduce_the_loss_on_a_tiny_problem():
    h = _train(_model(), steps=60, batch_size=8, lr=1e-2)
    assert h.steps == 60 and not h.diverged
    first, last = np.mean(h.losses[:10]), np.mean(h.losses[-10:])
    assert last < 0.3 * first, (first, last)  # measured over 3 seeds: 0.11 to 0.17
    assert h.seconds > 0
    assert h.smoothed(10).shape == (51,)


@pytest.mark.parametrize(
    ("optimizer", "loss", "lr", "ratio"),
    [("sgd", "l2", 0.1, 0.75), ("adam", "l1", 1e-2, 0.5)],  # measured over 3 seeds: <= 0.58, 0.32
)
def test_plain_sgd_and_the_l1_loss_also_train(optimizer, loss, lr, ratio):
    h = _train(_model(), steps=60, batch_size=8, lr=lr, optimizer=optimizer, loss=loss)
    assert np.mean(h.losses[-10:]) < ratio * np.mean(h.losses[:10])


def test_patches_from_a_list_of_images_of_different_sizes():
    imgs = [np.random.default_rng(i).random((20 + 3 * i, 17 + i)) for i in range(3)]
    shapes = []

    def record(x, g):
        shapes.append(tuple(x.shape))
        return _gauss(x, g)

    h = _train(_model(), imgs, corrupt=record, patch=8, steps=4)
    assert shapes == [(4, 1, 8, 8)] * 4 and h.steps == 4
    h2 = _train(_model(), _smooth_images(), patch=8, steps=2, corrupt=("poisson", 30.0))
    assert h2.steps == 2


def test_same_seeds_same_run_other_seed_other_run():
    def run(seed):
        model = _model()
        h = _train(model, steps=5, generator=torch.Generator().manual_seed(seed))
        return h.losses, [p.detach().clone() for p in model.parameters()]

    (l1, p1), (l2, p2), (l3, _) = run(0), run(0), run(1)
    assert l1 == l2
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))
    assert l1 != l3


def test_divergence_stops_with_a_warning():
    with pytest.warns(RuntimeWarning, match="too big"):
        h = _train(_model(), steps=30, lr=1e8, optimizer="sgd")
    assert h.diverged and not math.isfinite(h.losses[-1]) and h.steps < 30


def test_train_and_denoise_restore_the_model_mode():
    model = _model().eval()
    _train(model, steps=1)
    assert not model.training
    model.train()
    T.denoise(model, torch.zeros(1, 1, 8, 8))
    assert model.training


# ---------------------------------------------------------------------------------------------
# denoise, evaluate
# ---------------------------------------------------------------------------------------------


def test_denoise_batches_and_single_images():
    model = _model()
    x = _smooth_images(2)
    out = T.denoise(model, x)
    assert not out.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(out, model.eval()(x))
        single = T.denoise(model, x[0, 0].numpy().astype(np.float64))
    assert single.shape == (16, 16) and single.dtype == torch.float32
    torch.testing.assert_close(single, out[0, 0])


def test_evaluate_against_scikit_image_directly():
    clean = _smooth_images(3, 16)
    model = _model()
    got = T.evaluate(model, clean, corrupt=_gauss, generator=torch.Generator().manual_seed(3))
    noisy = _gauss(clean, torch.Generator().manual_seed(3))
    with torch.no_grad():
        den = model.eval()(noisy).clamp(0, 1)
    for name, est in (("noisy", noisy), ("denoised", den)):
        p = [
            peak_signal_noise_ratio(c[0].double().numpy(), e[0].double().numpy(), data_range=1.0)
            for c, e in zip(clean, est, strict=True)
        ]
        s = [
            structural_similarity(c[0].double().numpy(), e[0].double().numpy(), data_range=1.0)
            for c, e in zip(clean, est, strict=True)
        ]
        assert got[f"psnr_{name}"] == pytest.approx(np.mean(p), rel=1e-9)
        assert got[f"ssim_{name}"] == pytest.approx(np.mean(s), rel=1e-9)


def test_the_cheat_scores_exactly_like_the_noisy_input():
    m = T.evaluate(
        cheating_autoencoder(),
        _smooth_images(4),
        corrupt=("gaussian", 0.1),
        generator=torch.Generator().manual_seed(0),
    )
    assert m["psnr_denoised"] == m["psnr_noisy"] < 30
    assert m["ssim_denoised"] == m["ssim_noisy"]


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        ({"loss": "l3"}, ValueError, "loss"),
        ({"loss": "L2"}, ValueError, "loss"),
        ({"loss": "l1+l2", "l1_weight": 1.5}, ValueError, "l1_weight"),
        ({"loss": "l1+l2", "l1_weight": -0.5}, ValueError, "l1_weight"),
        ({"optimizer": "adamw"}, ValueError, "optimizer"),
        ({"schedule": "linear"}, ValueError, "schedule"),
        ({"schedule": "None"}, ValueError, "schedule"),
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 2.0}, TypeError, "steps"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"lr": "1e-3"}, TypeError, "lr"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"generator": None}, TypeError, "generator"),
        ({"generator": 0}, TypeError, "generator"),
        ({"corrupt": "gaussian"}, TypeError, "corrupt"),
        ({"corrupt": ("speckle", 0.1)}, ValueError, "kind"),
        ({"corrupt": ("gaussian",)}, ValueError, "kind, level"),
        ({"corrupt": lambda x, g: x[:, :, :4]}, ValueError, "shape"),
        ({"patch": 0}, ValueError, "patch"),
        ({"patch": 32}, ValueError, "size=32"),
    ],
)
def test_train_bad_arguments(kw, err, match):
    with pytest.raises(err, match=match):
        _train(_model(), **kw)


@pytest.mark.parametrize(
    ("clean", "err", "match"),
    [
        ([np.zeros((16, 16))], TypeError, "patch"),
        (torch.zeros(16, 16), ValueError, "\\(N, C, H, W\\)"),
        (torch.zeros(0, 1, 16, 16), ValueError, "N >= 1"),
        (torch.zeros(2, 1, 16, 16, dtype=torch.int64), TypeError, "floating"),
    ],
)
def test_train_bad_clean(clean, err, match):
    with pytest.raises(err, match=match):
        _train(_model(), clean)


def test_model_and_input_type_errors():
    with pytest.raises(TypeError, match="model"):
        _train(lambda x: x)
    with pytest.raises(ValueError, match="trainable"):
        _train(nn.Identity())
    with pytest.raises(TypeError, match="x must be"):
        T.denoise(_model(), [[0.0]])
    with pytest.raises(ValueError, match="\\(N, C, H, W\\) or \\(H, W\\)"):
        T.denoise(_model(), torch.zeros(1, 16, 16))
    with pytest.raises(ValueError, match="clean"):
        T.evaluate(_model(), torch.zeros(16, 16), corrupt=_gauss, generator=torch.Generator())
