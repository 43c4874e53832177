"""Training a denoising autoencoder by stochastic gradient descent on (noisy, clean) pairs.

The lecture's procedure: find many training pairs (noisy image, clean image), adjust the filters
so that ``Decode(Encode(noisy))`` is close to the clean image on average over pairs, and hope
that this generalises to new images. Each step of :func:`train_denoiser`:

1. draws a batch ``B`` of clean images uniformly at random (whole items of a tensor, or random
   ``patch x patch`` crops of a list of images: :func:`convlab.data.random_patches`);
2. augments it (random left/right and up/down flips, :func:`convlab.data.augment`);
3. corrupts it (``corrupt(x, generator)``: Gaussian, Poisson, knocked-out blocks ...);
4. takes one optimiser step on the batch loss
   ``L_B(theta) = mean_{j in B, pixels} cost(D(E(noisy_j)) - clean_j)``.

Loss scaling (mean vs the lecture's SSD)
----------------------------------------
The lecture's cost of one image is the SSD ``C_L2 = sum_ij Delta_ij^2`` (or ``C_L1 = sum_ij
|Delta_ij|``) and the batch loss averages it over the ``B`` images. Here the loss is the **mean
over pixels** as well (``F.mse_loss`` / ``F.l1_loss``), i.e. the lecture's loss divided by the
number of pixels ``C H W``: values do not grow with the image size, and the gradient is divided
by ``C H W`` too. Adam is (up to its ``eps``) invariant to that constant factor; plain SGD is
not: SGD on the mean with learning rate ``eta * C H W`` takes the same steps as SGD on the SSD
with ``eta``.

Randomness comes only from the explicit ``generator`` (sampling, flips, noise) and from the
model's initialisation, which the caller seeds (``torch.manual_seed``): two runs with the same
seeds give identical losses.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from convlab import data
from convlab._validate import (
    as_choice,
    as_flag,
    as_generator,
    as_numpy,
    as_real_number,
    as_size,
    check_cost,
    require_finite,
)

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "History",
    "denoise",
    "evaluate",
    "loss_function",
    "train_denoiser",
]

LOSSES = ("l2", "l1", "l1+l2")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = (None, "step", "cosine")

Corruption = Callable[[torch.Tensor, torch.Generator], torch.Tensor] | tuple[str, float]


@dataclass
class History:
    """What :func:`train_denoiser` did, step by step.

    Attributes
    ----------
    losses : list of float
        Batch loss at each step (before that step's update).
    lrs : list of float
        Learning rate used at each step.
    seconds : float
        Wall-clock time of the whole loop (sampling, corruption and the optimiser steps).
    diverged : bool
        True when the loss became inf/NaN and training stopped early (learning rate too big:
        "doesn't settle down"); ``losses`` then ends with the non-finite value.

    Examples
    --------
    >>> h = History(losses=[0.5, 0.25], lrs=[1e-3, 1e-3])
    >>> h.steps, h.losses[-1]
    (2, 0.25)
    """

    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    seconds: float = 0.0
    diverged: bool = False

    @property
    def steps(self) -> int:
        """Number of steps taken."""
        return len(self.losses)

    def smoothed(self, window: int = 10) -> np.ndarray:
        """Running mean of the losses over ``window`` steps (``steps - window + 1`` values)."""
        window = as_size(window, "window")
        losses = np.asarray(self.losses, dtype=float)
        if losses.size < window:
            raise ValueError(f"window={window} is longer than the {losses.size} recorded steps")
        return np.convolve(losses, np.ones(window) / window, mode="valid")


def _corruption(corrupt: Any) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    if isinstance(corrupt, tuple):
        if len(corrupt) != 2:
            raise ValueError(f"corrupt as a tuple must be (kind, level); got {corrupt!r}")
        kind = as_choice(corrupt[0], "corrupt kind", tuple(data.CORRUPTIONS))
        level = corrupt[1]
        return lambda x, g: data.corrupt(x, kind, level, generator=g)
    if not callable(corrupt):
        raise TypeError(
            "corrupt must be a callable corrupt(x, generator) -> noisy x or a (kind, level) "
            f"tuple; got {type(corrupt).__name__}"
        )
    return corrupt


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _param_like(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters(), None)
    return (p.device, p.dtype) if p is not None else (torch.device("cpu"), torch.float32)


def _sampler(
    clean: Any, batch_size: int, patch: int | None
) -> Callable[[torch.Generator], torch.Tensor]:
    """A function generator -> clean batch (N, C, h, w) on the CPU."""
    if patch is not None:
        patch = as_size(patch, "patch")
        # converted (and validated) once: float32 CPU tensors pass through random_patches as is
        imgs = data._images_list(clean)
        try:  # does the patch fit?
            data.random_patches(imgs, 1, patch, generator=torch.Generator())
        except ValueError as err:
            raise ValueError(f"patch={patch}: {err}") from None
        _check_batch_cost(batch_size, patch * patch)
        return lambda g: data.random_patches(imgs, batch_size, patch, generator=g)
    if not isinstance(clean, torch.Tensor):
        if isinstance(clean, np.ndarray):
            clean = torch.from_numpy(clean)
        else:
            raise TypeError(
                "clean must be an (N, C, H, W) tensor, or a list of images together with patch="
                f"<size>; got {type(clean).__name__} without patch"
            )
    if clean.ndim != 4 or clean.shape[0] == 0:
        raise ValueError(
            f"clean must be (N, C, H, W) with N >= 1 (or pass patch= to crop); "
            f"got shape {tuple(clean.shape)}"
        )
    if not clean.is_floating_point():
        raise TypeError(f"clean must be floating point, got {clean.dtype}")
    require_finite(clean, "clean")
    _check_batch_cost(batch_size, clean[0].numel())
    items = clean.detach().cpu()
    n = items.shape[0]
    return lambda g: items[torch.randint(n, (batch_size,), generator=g)]


def _check_batch_cost(batch_size: int, item_numel: int) -> None:
    """A batch, its corruption, output and gradients: about 8 float32 copies."""
    check_cost(
        f"batches of {batch_size} items of {item_numel} values",
        nbytes=8 * 4 * batch_size * item_numel,
        alternative="use a smaller batch_size or patch",
    )


def loss_function(
    loss: str, l1_weight: float = 0.5
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The cost ``cost(output, target)`` of :func:`train_denoiser`'s ``loss`` (means over pixels).

    Examples
    --------
    >>> out, target = torch.tensor([0.0, 1.0]), torch.tensor([1.0, 1.0])   # L1 0.5, L2 0.5
    >>> float(loss_function("l1+l2", 0.2)(out, target))
    0.5
    """
    loss = as_choice(loss, "loss", LOSSES)
    l1_weight = as_real_number(l1_weight, "l1_weight", maximum=1.0)
    if loss == "l2":
        return F.mse_loss
    if loss == "l1":
        return F.l1_loss
    return lambda out, target: (
        l1_weight * F.l1_loss(out, target) + (1 - l1_weight) * F.mse_loss(out, target)
    )


def train_denoiser(
    model: nn.Module,
    clean: torch.Tensor | Sequence[Any],
    *,
    corrupt: Corruption,
    steps: int,
    batch_size: int = 16,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    loss: str = "l2",
    l1_weight: float = 0.5,
    optimizer: str = "adam",
    schedule: str | None = None,
    augment: bool = True,
    patch: int | None = None,
    generator: torch.Generator,
    progress: bool = True,
) -> History:
    """Train ``model`` to map ``corrupt(clean)`` back to ``clean`` by minibatch SGD / Adam.

    Each step draws a batch (uniform with replacement), flips it when ``augment``, corrupts it,
    and takes one step on ``loss(model(noisy), clean)``: **mean over the batch and the pixels**
    (the lecture's SSD / sum of absolute values divided by ``C H W``; see the module docstring
    for what that does to learning rates).

    Parameters
    ----------
    model : torch.nn.Module
        ``(N, C, h, w) -> (N, C, h, w)``, e.g. :class:`convlab.models.DenoisingAutoencoder`;
        trained in place on its own device and dtype (its train/eval mode is restored after).
    clean : torch.Tensor or sequence of images
        ``(N, C, H, W)`` floating tensor: batches of whole items. Or, with ``patch``, anything
        :func:`convlab.data.random_patches` takes (a list of ``(H_i, W_i)`` arrays of any sizes,
        an ``(N, H, W)`` or ``(N, 1, H, W)`` array): fresh random crops every step.
    corrupt : callable or (kind, level)
        ``corrupt(x, generator) -> noisy x`` (same shape), e.g.
        ``lambda x, g: data.corrupt(x, "gaussian", 0.1, generator=g)``; a tuple
        ``("gaussian", 0.1)`` is shorthand for exactly that. Training on identity "corruption"
        gives (clean, clean) pairs, which invite the lecture's cheat.
    steps, batch_size : int
        Number of optimiser steps, images per batch.
    lr : float
        Learning rate ``eta`` (initial one with a schedule), ``> 0``.
    weight_decay : float
        ``>= 0``; passed to the optimiser, which adds ``weight_decay * theta`` to the gradient
        (the gradient of the penalty ``weight_decay / 2 * ||theta||^2`` added to the loss:
        "the API will do this for you if you ask"; for Adam this is L2 regularisation, not
        AdamW's decoupled decay).
    loss : {"l2", "l1", "l1+l2"}
        Mean squared error (blurs), mean absolute error (discourages blur), or the lecture's
        "weighted combination of the L2 norm and the L1 norm":
        ``l1_weight * L1 + (1 - l1_weight) * L2`` (both means over pixels).
    l1_weight : float
        Weight of the L1 term for ``loss="l1+l2"``, in ``[0, 1]``; ignored otherwise.
    optimizer : {"adam", "sgd"}
        ``torch.optim.Adam`` or plain ``torch.optim.SGD`` (no momentum: the lecture's
        ``theta_{n+1} = theta_n - eta_n grad``).
    schedule : {None, "step", "cosine"}
        Constant ``lr``; ``"step"``: ``MultiStepLR`` times 0.1 after 1/2 and 3/4 of the steps
        ("start biggish, take steps, make smaller"); ``"cosine"``: ``CosineAnnealingLR`` from
        ``lr`` to 0 over ``steps``.
    augment : bool
        Random flips per item (:func:`convlab.data.augment`).
    patch : int, optional
        Crop size; see ``clean``.
    generator : torch.Generator
        The only source of randomness here. Draw order per step: batch indices (or patches),
        flips, then whatever ``corrupt`` draws.
    progress : bool
        Show a ``tqdm.auto`` progress bar with the running loss.

    Returns
    -------
    History
        Per-step losses and learning rates, wall time, divergence flag. If the loss becomes
        non-finite, training stops with a ``RuntimeWarning`` and ``History.diverged = True``.

    Examples
    --------
    >>> from convlab.models import DenoisingAutoencoder
    >>> _ = torch.manual_seed(0)
    >>> g = torch.Generator().manual_seed(0)
    >>> clean = torch.rand(8, 1, 16, 16, generator=g)
    >>> h = train_denoiser(DenoisingAutoencoder((1, 4, 8)), clean, corrupt=("gaussian", 0.1),
    ...                    steps=5, batch_size=4, generator=g, progress=False)
    >>> h.steps, len(h.lrs)
    (5, 5)
    """
    model = _check_model(model)
    corrupt_fn = _corruption(corrupt)
    steps = as_size(steps, "steps")
    batch_size = as_size(batch_size, "batch_size")
    lr = as_real_number(lr, "lr", strict=True)
    weight_decay = as_real_number(weight_decay, "weight_decay")
    loss = as_choice(loss, "loss", LOSSES)
    l1_weight = as_real_number(l1_weight, "l1_weight", maximum=1.0)
    optimizer = as_choice(optimizer, "optimizer", OPTIMIZERS)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of None, 'step', 'cosine'; got {schedule!r}")
    generator = as_generator(generator)
    augment, progress = as_flag(augment, "augment"), as_flag(progress, "progress")
    sample = _sampler(clean, batch_size, patch)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters")

    cost = loss_function(loss, l1_weight)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    sched: torch.optim.lr_scheduler.LRScheduler | None = None
    if schedule == "step":
        milestones = sorted({max(1, steps // 2), max(1, 3 * steps // 4)})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    elif schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)

    device, dtype = _param_like(model)
    history = History()
    was_training = model.training
    model.train()
    every = max(1, steps // 100)
    t0 = time.perf_counter()
    try:
        with tqdm(total=steps, desc="training", disable=not progress, leave=False) as bar:
            for step in range(steps):
                target = sample(generator)
                if augment:
                    target = data.augment(target, generator=generator)
                noisy = corrupt_fn(target, generator)
                if not isinstance(noisy, torch.Tensor) or noisy.shape != target.shape:
                    raise ValueError(
                        "corrupt(x, generator) must return a tensor of x's shape "
                        f"{tuple(target.shape)}; got {getattr(noisy, 'shape', type(noisy))}"
                    )
                target = target.to(device=device, dtype=dtype)
                noisy = noisy.to(device=device, dtype=dtype)
                history.lrs.append(opt.param_groups[0]["lr"])
                opt.zero_grad(set_to_none=True)
                value = cost(model(noisy), target)
                history.losses.append(value.item())
                if not math.isfinite(history.losses[-1]):
                    history.diverged = True
                    warnings.warn(
                        f"loss became {history.losses[-1]} at step {step}: stopping "
                        f"(learning rate {history.lrs[-1]:g} too big?)",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    break
                value.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                if progress and (step % every == 0 or step == steps - 1):
                    bar.set_postfix(loss=f"{history.losses[-1]:.4g}", refresh=False)
                bar.update(1)
    finally:
        history.seconds = time.perf_counter() - t0
        model.train(was_training)
    return history


def denoise(model: nn.Module, x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``model(x)`` without gradients, in eval mode (the model's mode is restored after).

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor or numpy.ndarray
        A batch ``(N, C, H, W)`` or one gray image ``(H, W)``; moved to the model's device and
        dtype.

    Returns
    -------
    torch.Tensor
        Same shape as ``x`` (for an image-to-image model), on the CPU, not clipped.

    Examples
    --------
    >>> from convlab.models import cheating_autoencoder
    >>> x = torch.rand(4, 6)
    >>> bool(torch.equal(denoise(cheating_autoencoder(), x), x))
    True
    """
    model = _check_model(model)
    if not isinstance(x, torch.Tensor | np.ndarray):
        raise TypeError(f"x must be a tensor or ndarray, got {type(x).__name__}")
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(as_numpy(x, "x"))
    if x.ndim not in (2, 4) or x.numel() == 0:
        raise ValueError(
            f"x must be a non-empty (N, C, H, W) or (H, W); got shape {tuple(x.shape)}"
        )
    device, dtype = _param_like(model)
    batch = x[None, None] if x.ndim == 2 else x
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(batch.to(device=device, dtype=dtype)).cpu()
    finally:
        model.train(was_training)
    return out[0, 0] if x.ndim == 2 else out


def evaluate(
    model: nn.Module,
    clean: torch.Tensor,
    *,
    corrupt: Corruption,
    generator: torch.Generator,
    clip: bool = True,
) -> dict[str, float]:
    """Mean PSNR and SSIM of the noisy inputs and of the denoised outputs against ``clean``.

    Evaluate on **held-out** images (:data:`convlab.data.TEST_IMAGES`): denoising the training
    images well says nothing about new ones (generalisation).

    Parameters
    ----------
    model : torch.nn.Module
    clean : torch.Tensor
        ``(N, C, H, W)`` in ``[0, 1]``.
    corrupt : callable or (kind, level)
        As in :func:`train_denoiser`.
    generator : torch.Generator
        Draws the corruption (same seed -> same noisy images, comparable across models).
    clip : bool
        Clip the denoised output to ``[0, 1]`` (where images live) before measuring.

    Returns
    -------
    dict
        ``psnr_noisy``, ``psnr_denoised`` (dB, :func:`convlab.data.psnr`), ``ssim_noisy``,
        ``ssim_denoised`` (:func:`convlab.data.ssim`): means over the ``N`` items.

    Examples
    --------
    >>> from convlab.models import cheating_autoencoder
    >>> g = torch.Generator().manual_seed(0)
    >>> m = evaluate(cheating_autoencoder(), torch.rand(2, 1, 16, 16, generator=g),
    ...              corrupt=("gaussian", 0.1), generator=g)
    >>> m["psnr_denoised"] == m["psnr_noisy"]     # the cheat does not denoise
    True
    """
    model = _check_model(model)
    corrupt_fn = _corruption(corrupt)
    generator = as_generator(generator)
    clip = as_flag(clip, "clip")
    if not isinstance(clean, torch.Tensor) or clean.ndim != 4 or clean.numel() == 0:
        raise ValueError(
            "clean must be a non-empty (N, C, H, W) tensor; got "
            f"{getattr(clean, 'shape', type(clean))}"
        )
    clean = clean.detach().cpu()
    noisy = corrupt_fn(clean, generator)
    out = denoise(model, noisy).to(clean.dtype)
    if clip:
        out = out.clamp(0.0, 1.0)
    return {
        "psnr_noisy": data.psnr(noisy, clean).mean().item(),
        "psnr_denoised": data.psnr(out, clean).mean().item(),
        "ssim_noisy": data.ssim(noisy, clean).mean().item(),
        "ssim_denoised": data.ssim(out, clean).mean().item(),
    }


# ============================================================================================
# Self-demo
# ============================================================================================


def _demo() -> None:
    """``python -m convlab.train``: a tiny denoiser learns; the cheat does not denoise."""
    from convlab.models import DenoisingAutoencoder, cheating_autoencoder

    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    clean = F.interpolate(torch.rand(32, 1, 4, 4, generator=g), size=(16, 16), mode="bilinear")
    dae = DenoisingAutoencoder((1, 8, 16))
    h = train_denoiser(
        dae, clean, corrupt=("gaussian", 0.1), steps=80, lr=1e-2, generator=g, progress=False
    )
    first, last = float(np.mean(h.losses[:10])), float(np.mean(h.losses[-10:]))
    print(f"80 Adam steps, mean L2 loss {first:.3f} -> {last:.4f}")
    print(f"{1000 * h.seconds / h.steps:.1f} ms per step (16 images of 16x16)")
    print("the loss dropped at least 3x:", last < first / 3)
    m = evaluate(cheating_autoencoder(), clean, corrupt=("gaussian", 0.1), generator=g)
    print(
        "the cheat's output scores exactly like its noisy input:",
        m["psnr_denoised"] == m["psnr_noisy"],
    )


if __name__ == "__main__":
    _demo()
