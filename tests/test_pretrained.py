"""convlab.pretrained: committed weights match the manifest, metrics reproduce, recipes run."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
import torch.nn.functional as F

from convlab import cnns, pretrained, train
from convlab.pretrained import tasks

ENTRIES = pretrained.manifest()["entries"]
COMMITTED = sorted(ENTRIES)


def test_manifest_lists_only_known_entries_with_their_recipe():
    assert set(ENTRIES) <= set(pretrained.NAMES)
    for name, entry in ENTRIES.items():
        # the weights were trained by the registry's current recipe (JSON turns tuples to lists)
        want = json.loads(json.dumps(pretrained.RECIPES[name].as_dict()))
        assert entry["recipe"] == want, f"{name}: recipe changed since training; retrain it"
        assert entry["recipe"]["steps"] == entry["steps"], f"{name}: trained for fewer steps"
        assert entry["command"] == f"python -m convlab.pretrained train {name}"


@pytest.mark.parametrize("name", COMMITTED)
def test_manifest_hash_matches_the_weight_file(name):
    path = pretrained.WEIGHTS / ENTRIES[name]["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ENTRIES[name]["sha256"]


def test_weights_are_small():
    # issue 10's budget: all weights together at most about 20 MB (5.6 MB with the 4-level CT U-Net)
    total = sum((pretrained.WEIGHTS / e["file"]).stat().st_size for e in ENTRIES.values())
    assert total < 20e6, f"committed weights take {total / 1e6:.1f} MB (budget 20 MB)"


@pytest.mark.parametrize("name", COMMITTED)
def test_loaded_weights_reproduce_the_manifest_metrics(name):
    got = pretrained.evaluate(name)
    for key, want in ENTRIES[name]["metrics"].items():
        tol = 0.05 if key.startswith("psnr") else 5e-3
        assert abs(got[key] - want) < tol, f"{name} {key}: {got[key]:.4f} vs manifest {want:.4f}"


@pytest.mark.parametrize("name", pretrained.NAMES)
def test_every_recipe_runs_a_few_steps(name):
    model, history = pretrained.train(name, steps=2)
    assert history.steps == 2 and all(torch.isfinite(torch.tensor(history.losses)))
    assert not model.training
    metrics = pretrained.evaluate(name, model)
    assert all(isinstance(v, float) for v in metrics.values())


def test_training_is_deterministic_given_the_seed():
    a, ha = pretrained.train("dae_gaussian_l2", steps=3)
    b, hb = pretrained.train("dae_gaussian_l2", steps=3)
    assert ha.losses == hb.losses
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


@pytest.mark.parametrize("call", [pretrained.load, pretrained.train, pretrained.evaluate])
def test_bad_names_list_the_known_ones(call):
    with pytest.raises(ValueError, match=r"dae_gaussian_l2.*unet_ct.*got 'dncn'"):
        call("dncn")


def test_load_without_committed_weights_says_how_to_train(monkeypatch):
    monkeypatch.setattr(pretrained, "manifest", lambda: {"entries": {}})
    with pytest.raises(FileNotFoundError, match=r"train\('vdsr'\)"):
        pretrained.load("vdsr")


def test_load_rejects_a_weight_file_whose_hash_differs(monkeypatch, tmp_path):
    model = pretrained.build("dncnn")
    torch.save(model.state_dict(), tmp_path / "dncnn.pt")
    monkeypatch.setattr(pretrained, "WEIGHTS", tmp_path)
    monkeypatch.setattr(
        pretrained, "manifest", lambda: {"entries": {"dncnn": {"sha256": "0" * 64}}}
    )
    with pytest.raises(ValueError, match="does not match the manifest"):
        pretrained.load("dncnn")


def test_weighted_l1_l2_loss_against_its_definition():
    g = torch.Generator().manual_seed(0)
    out, target = torch.rand(2, 1, 4, 4, generator=g), torch.rand(2, 1, 4, 4, generator=g)
    got = train.loss_function("l1+l2", 0.3)(out, target)
    want = 0.3 * (out - target).abs().mean() + 0.7 * (out - target).square().mean()
    assert torch.allclose(got, want)
    assert not torch.allclose(got, train.loss_function("l1+l2", 0.7)(out, target))
    with pytest.raises(ValueError, match="l1_weight"):
        train.train_denoiser(
            cnns.DnCNN(3, 2),
            out,
            corrupt=("gaussian", 0.1),
            steps=1,
            loss="l1+l2",
            l1_weight=1.5,
            generator=g,
            progress=False,
        )


def test_unet_without_skips_is_the_constructor_default():
    torch.manual_seed(0)
    a = cnns.UNet(widths=(2, 4))
    torch.manual_seed(0)
    b = cnns.UNet(widths=(2, 4), skips=False)
    x = torch.rand(1, 1, 8, 8)
    assert torch.equal(b(x), a(x, skips=False)) and not torch.equal(b(x), a(x))
    assert torch.equal(b(x, skips=True), a(x))


def test_shapes_only_shape_separates_the_classes():
    x, y = tasks.shapes(64, seed=3)
    assert set(y.unique().tolist()) == {0, 1, 2}
    # one foreground level per image, shared by discs and squares
    for img, lab in zip(x[:8, 0], y[:8]):
        d, s = img[lab == 1], img[lab == 2]
        if d.numel() > 20 and s.numel() > 20:
            assert abs(float(d.mean() - s.mean())) < 0.05
    # a per-pixel classifier cannot tell discs from squares
    per_pixel = tasks.lookup_classifier(lambda t: t, x, y)
    pred = per_pixel(x)
    assert tasks.segmentation_metrics(pred, y)["accuracy"] < 0.85


def test_boundary_mask_against_a_loop():
    y = tasks.shapes(2, seed=0)[1]
    mask = tasks.boundary_mask(y)
    pad = F.pad(y[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0]
    for i in range(2):
        for r in range(0, 32, 5):
            for c in range(0, 32, 3):
                window = pad[i, r : r + 3, c : c + 3]
                assert bool(mask[i, r, c]) == bool((window != window[1, 1]).any())


def test_filter_baselines_pick_the_best_width():
    clean = tasks.test_images(32)
    noisy = tasks.gaussian(0.2)(clean, torch.Generator().manual_seed(0))
    best = tasks.filter_baselines(noisy, clean)
    assert best["gaussian"]["sigma"] in tasks.GAUSSIAN_SIGMAS
    assert best["gaussian"]["psnr"] > float(train.data.psnr(noisy, clean).mean()) + 3
