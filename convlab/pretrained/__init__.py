"""Trained models of notebooks 09 and 10: recipes, committed weights, a manifest.

The lectures' deep-learning points are results (a denoising autoencoder beats simple filters, an
L1-trained network is sharper, DnCNN beats the Gaussian filter, VDSR beats bicubic upsampling, a
U-Net segments by shape, ...) that a one-minute training inside a notebook cannot show. Each model
here is trained by the course's own code from a recorded recipe (:data:`RECIPES`), and its
float32 ``state_dict`` ships with the package:

* :func:`train` reproduces an entry from scratch on the CPU (fixed seed, one thread);
* :func:`load` returns the model with the committed weights (``torch.load(weights_only=True)``,
  sha256 checked against the manifest);
* :func:`evaluate` measures a model on the task's held-out images (never used in training);
* :func:`manifest` reads ``weights/manifest.json``: per entry the sha256, the training command,
  steps, wall time on the course's 2-core machine and the held-out metrics.

Retrain everything with ``make weights`` (``python -m convlab.pretrained train``); one entry with
``python -m convlab.pretrained train NAME``.

Examples
--------
>>> "dncnn" in NAMES
True
>>> RECIPES["dncnn"].steps > 0
True
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convlab import cnns, models
from convlab import train as training
from convlab._validate import as_choice
from convlab.pretrained import tasks

__all__ = [
    "NAMES",
    "RECIPES",
    "TASKS",
    "Recipe",
    "Task",
    "build",
    "evaluate",
    "load",
    "manifest",
    "train",
]

WEIGHTS = Path(__file__).with_name("weights")
MANIFEST = WEIGHTS / "manifest.json"


@dataclass(frozen=True)
class Task:
    """What a model is trained on and measured on.

    Attributes
    ----------
    description : str
        The corruption / forward model in words.
    corrupt : callable or None
        ``corrupt(clean, generator) -> network input`` (None: segmentation of :func:`tasks.shapes`).
    test_size : int
        Side of the held-out test images (:func:`tasks.test_images`).
    circle : bool
        CT: train and test images are masked to the inscribed circle; training uses a fixed set
        of 2048 masked crops instead of fresh crops.
    """

    description: str
    corrupt: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None
    test_size: int
    circle: bool = False


TASKS: dict[str, Task] = {
    "gaussian-0.2": Task(
        "additive Gaussian noise, sigma 0.2, not clipped", tasks.gaussian(0.2), 128
    ),
    "blocks-0.2": Task(
        "8x8 blocks knocked out (set to 0) until 20% of pixels", tasks.blocks(0.2), 128
    ),
    "gaussian-0.1": Task(
        "additive Gaussian noise, sigma 0.1, not clipped", tasks.gaussian(0.1), 96
    ),
    "sr-2x": Task("2x2 average pooling, then bicubic upsampling x2", tasks.super_resolution(2), 96),
    "shapes": Task("segment discs and squares of one random grey level (tasks.shapes)", None, 32),
    "mri-4x": Task(
        "MRI: 4x random-column k-space mask (seed 0), zero-filled", tasks.mri_zero_filled, 64
    ),
    "ct-18": Task("CT: FBP from 18 equispaced angles", tasks.ct_fbp, 64, circle=True),
}

#: Seeds of the synthetic segmentation sets and their sizes: training and test never overlap.
SHAPES_TRAIN, SHAPES_TEST = (2048, 0), (256, 1)


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained model.

    Attributes
    ----------
    name, summary : str
        Registry key and one line on what the entry shows.
    architecture : str
        ``"module.Class"`` in :mod:`convlab` (``models.DenoisingAutoencoder``, ``cnns.DnCNN`` ...).
    kwargs : dict
        Constructor arguments.
    task : str
        Key of :data:`TASKS`.
    loss : str
        ``"l2"``, ``"l1"``, ``"l1+l2"`` (:func:`convlab.train.loss_function`) or
        ``"cross-entropy"`` (segmentation).
    l1_weight : float
        Weight of L1 in ``"l1+l2"``.
    lr, schedule, steps, batch_size, patch : ...
        Adam's learning rate, its schedule (``"cosine"``: to 0 over ``steps``), steps, images
        per batch, crop side (random crops of the training images, random flips).
    seed : int
        ``torch.manual_seed(seed)`` before building the model (initialisation) and
        ``torch.Generator().manual_seed(seed)`` for crops, flips and noise.
    """

    name: str
    summary: str
    architecture: str
    kwargs: dict[str, Any]
    task: str
    loss: str
    steps: int
    lr: float = 2e-3
    schedule: str | None = "cosine"
    batch_size: int = 16
    patch: int = 48
    seed: int = 0
    l1_weight: float = 0.5
    notebook: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (for the manifest)."""
        return dataclasses.asdict(self)


_DAE = {"channels": (1, 32, 64), "mode": "bilinear", "convs": 2}
_SEG = {"out_channels": 3, "widths": (16, 32, 64)}
_RECON = {"widths": (16, 32, 64), "residual": True}

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "dae_gaussian_l2",
            "denoising autoencoder, Gaussian noise, L2 loss",
            "models.DenoisingAutoencoder",
            _DAE,
            "gaussian-0.2",
            "l2",
            8000,
            patch=32,
            notebook="09",
        ),
        Recipe(
            "dae_gaussian_l1",
            "the same trained with the L1 loss",
            "models.DenoisingAutoencoder",
            _DAE,
            "gaussian-0.2",
            "l1",
            8000,
            patch=32,
            notebook="09",
        ),
        Recipe(
            "dae_gaussian_l1l2",
            "the same with 0.5 L1 + 0.5 L2",
            "models.DenoisingAutoencoder",
            _DAE,
            "gaussian-0.2",
            "l1+l2",
            8000,
            patch=32,
            notebook="09",
        ),
        Recipe(
            "dae_blocks",
            "denoising autoencoder, knocked-out 8x8 blocks, L1 loss",
            "models.DenoisingAutoencoder",
            _DAE,
            "blocks-0.2",
            "l1",
            8000,
            patch=32,
            notebook="09",
        ),
        Recipe(
            "dncnn",
            "DnCNN (residual: learns the noise), Gaussian noise sigma 0.1",
            "cnns.DnCNN",
            {"depth": 6, "width": 20},
            "gaussian-0.1",
            "l2",
            2500,
            patch=32,
            notebook="10",
        ),
        Recipe(
            "srcnn",
            "SRCNN 9-1-5 on the bicubic-upsampled image, 2x",
            "cnns.SRCNN",
            {"widths": (64, 32), "kernels": (9, 1, 5)},
            "sr-2x",
            "l2",
            5000,
            lr=1e-3,
            patch=32,
            notebook="10",
        ),
        Recipe(
            "vdsr",
            "VDSR (global residual), 2x",
            "cnns.VDSR",
            {"depth": 7, "width": 20},
            "sr-2x",
            "l2",
            1000,
            patch=32,
            notebook="10",
        ),
        Recipe(
            "unet_seg",
            "U-Net segmentation of discs vs squares, with skips",
            "cnns.UNet",
            _SEG,
            "shapes",
            "cross-entropy",
            1500,
            lr=3e-3,
            patch=32,
            notebook="10",
        ),
        Recipe(
            "unet_seg_noskip",
            "the same U-Net without skip connections",
            "cnns.UNet",
            {**_SEG, "skips": False},
            "shapes",
            "cross-entropy",
            1500,
            lr=3e-3,
            patch=32,
            notebook="10",
        ),
        Recipe(
            "unet_mri",
            "residual U-Net on zero-filled MRI reconstructions, 4x",
            "cnns.UNet",
            _RECON,
            "mri-4x",
            "l2",
            2000,
            batch_size=8,
            patch=64,
            notebook="10",
        ),
        Recipe(
            "unet_ct",
            "residual U-Net on 18-angle FBP reconstructions (FBPConvNet)",
            "cnns.UNet",
            {**_RECON, "widths": (16, 32, 64, 128)},  # 4 levels: streaks cross the image
            "ct-18",
            "l2",
            12000,
            batch_size=8,
            patch=64,
            notebook="10",
        ),
    )
}

#: Registry keys, in training order.
NAMES: tuple[str, ...] = tuple(RECIPES)


def _recipe(name: Any) -> Recipe:
    """The recipe of ``name``; a ValueError listing the known names otherwise."""
    return RECIPES[as_choice(name, "name (a pretrained model)", NAMES)]


@functools.cache
def _shapes(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return tasks.shapes(n, size, seed=seed)


def build(name: str) -> nn.Module:
    """A freshly initialised (untrained) model of entry ``name``, from the current torch seed."""
    r = _recipe(name)
    module, cls = r.architecture.split(".")
    return getattr({"models": models, "cnns": cnns}[module], cls)(**r.kwargs)


def _train_data(task: Task) -> list[torch.Tensor] | torch.Tensor:
    """Clean training data: the training images (cropped at random), or fixed masked crops."""
    if task.circle:
        crops = tasks.data.random_patches(
            tasks.train_images(), 2048, task.test_size, generator=torch.Generator().manual_seed(2)
        )
        return crops * tasks.inverse.circle_mask(task.test_size)
    return tasks.train_images()


def test_set(task_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out ``(inputs, targets)`` of a task: corrupted and clean images (seed 1).

    For ``"shapes"``: images and labels of :func:`tasks.shapes` (seed 1).
    """
    task = TASKS[task_name]
    if task.corrupt is None:
        return _shapes(SHAPES_TEST[0], task.test_size, SHAPES_TEST[1])
    clean = tasks.test_images(task.test_size)
    if task.circle:
        clean = clean * tasks.inverse.circle_mask(task.test_size)
    return task.corrupt(clean, torch.Generator().manual_seed(1)), clean


def train(
    name: str, *, steps: int | None = None, progress: bool = False
) -> tuple[nn.Module, training.History]:
    """Train entry ``name`` from scratch, deterministically (one CPU thread, fixed seeds).

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`.
    steps : int, optional
        Override the recipe's steps (a quick run; the schedule follows the shorter run).
    progress : bool
        Show a progress bar.

    Returns
    -------
    (torch.nn.Module, convlab.training.History)
        The trained model in eval mode, float32 on the CPU, and its training history.
    """
    r = _recipe(name)
    task = TASKS[r.task]
    steps = r.steps if steps is None else steps
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(r.seed)
        model = build(name)
        gen = torch.Generator().manual_seed(r.seed)
        if task.corrupt is None:
            x, y = _shapes(SHAPES_TRAIN[0], task.test_size, SHAPES_TRAIN[1])
            hist = tasks.train_segmenter(
                model,
                x,
                y,
                steps=steps,
                batch_size=r.batch_size,
                lr=r.lr,
                generator=gen,
                progress=progress,
            )
        else:
            clean = _train_data(task)
            hist = training.train_denoiser(
                model,
                clean,
                corrupt=task.corrupt,
                steps=steps,
                batch_size=r.batch_size,
                patch=None if task.circle else r.patch,
                lr=r.lr,
                loss=r.loss,
                l1_weight=r.l1_weight,
                schedule=r.schedule,
                generator=gen,
                progress=progress,
            )
    finally:
        torch.set_num_threads(threads)
    return model.eval(), hist


def evaluate(name: str, model: nn.Module | None = None) -> dict[str, float]:
    """Held-out metrics of ``model`` (default: the committed weights of ``name``).

    Image tasks: :func:`convlab.train.evaluate` on the task's test images (corruption seed 1;
    the output clipped to [0, 1] before measuring): ``psnr_noisy`` / ``ssim_noisy`` of the
    network's input, ``psnr_denoised`` / ``ssim_denoised`` of its output, and
    ``outside_range``, the fraction of *unclipped* output pixels outside [0, 1]. Segmentation:
    :func:`tasks.segmentation_metrics` on :func:`tasks.shapes` (seed 1).
    """
    r = _recipe(name)
    model = load(name) if model is None else model
    x, target = test_set(r.task)
    if TASKS[r.task].corrupt is None:
        with torch.no_grad():
            return tasks.segmentation_metrics(model.eval()(x).argmax(1), target)
    scores = training.evaluate(
        model, target, corrupt=lambda c, g: x, generator=torch.Generator(), clip=True
    )
    raw = training.denoise(model, x)
    scores["outside_range"] = float(((raw < 0) | (raw > 1)).double().mean())
    return scores


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest() -> dict[str, Any]:
    """The committed manifest: ``{"entries": {name: {...}}, ...}`` (empty entries if none)."""
    if not MANIFEST.exists():
        return {"entries": {}}
    return json.loads(MANIFEST.read_text())


def load(name: str) -> nn.Module:
    """Entry ``name`` with its committed float32 weights, in eval mode on the CPU.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones), or the weight file's sha256 differs
        from the manifest's.
    FileNotFoundError
        The entry has a recipe but no committed weights (train it with :func:`train`).
    """
    _recipe(name)
    entry = manifest()["entries"].get(name)
    path = WEIGHTS / f"{name}.pt"
    if entry is None or not path.exists():
        raise FileNotFoundError(
            f"no committed weights for {name!r}: train them with "
            f"convlab.pretrained.train({name!r}) or `python -m convlab.pretrained train {name}`"
        )
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise ValueError(
            f"{path.name}: sha256 {digest} does not match the manifest's {entry['sha256']}"
        )
    torch.manual_seed(0)
    model = build(name)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def save(name: str, model: nn.Module, history: training.History) -> dict[str, Any]:
    """Write ``weights/<name>.pt`` (float32 state_dict) and its manifest entry; return the entry."""
    r = _recipe(name)
    WEIGHTS.mkdir(exist_ok=True)
    path = WEIGHTS / f"{name}.pt"
    state = {
        k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype)
        for k, v in model.state_dict().items()
    }
    torch.save(state, path)
    entry = {
        "file": path.name,
        "sha256": _sha256(path),
        "bytes": path.stat().st_size,
        "command": f"python -m convlab.pretrained train {name}",
        "steps": history.steps,
        "seconds": round(history.seconds, 1),
        "final_loss": sum(history.losses[-50:]) / len(history.losses[-50:]),
        "recipe": r.as_dict(),
        "task": TASKS[r.task].description,
        "metrics": evaluate(name, model),
    }
    import fcntl  # POSIX only; needed only when retraining

    lock_path = Path(tempfile.gettempdir()) / "convlab-pretrained.lock"
    with open(lock_path, "w") as lock:  # parallel trainings update one manifest
        fcntl.flock(lock, fcntl.LOCK_EX)
        m = manifest()
        m["torch"] = torch.__version__
        m["entries"][name] = entry
        m["entries"] = {k: m["entries"][k] for k in NAMES if k in m["entries"]}
        MANIFEST.write_text(json.dumps(m, indent=1) + "\n")
    return entry
