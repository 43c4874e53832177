"""The lecture's CNNs for inverse problems: DnCNN, SRCNN, VDSR and U-Net.

The lecture "CNNs for other supervised learning tasks" models an inverse problem as
``A[X_true] + eps = Y`` and trains a CNN ``f_theta ~ A^{-1}`` on pairs ``(Y_i, X_i)``. Every
network here maps a batch ``(N, C, H, W)`` to a batch of the **same** height and width, so
:func:`convlab.train.train_denoiser` trains all of them on ``corrupt(clean) -> clean`` pairs
(Gaussian noise for DnCNN, "average-pool then upsample" for SRCNN/VDSR, zero-filled MRI or
sparse-view FBP for a U-Net post-processor: :mod:`convlab.inverse`).

=========  =========================================================  ==================
network    layers                                                     ``forward`` returns
=========  =========================================================  ==================
DnCNN      Conv+ReLU, (depth-2) x [Conv+BN+ReLU], Conv (all 3x3)      ``y - f(y)``
SRCNN      Conv 9x9 + ReLU, Conv 1x1 + ReLU, Conv 5x5                 ``f(y~)``
VDSR       Conv+ReLU, (depth-2) x [Conv+ReLU], Conv (all 3x3)         ``y~ + f(y~)``
UNet       [2 x (Conv 3x3+ReLU), MaxPool 2] per level, bottleneck,    ``g(x)`` or
           [up x2, concat skip, 2 x (Conv 3x3+ReLU)] per level, 1x1   ``x + g(x)``
=========  =========================================================  ==================

Conventions
-----------
* Inputs are ``(N, C, H, W)`` float tensors (``C`` = ``channels`` / ``in_channels``); other
  shapes raise ``ValueError``, non-tensors ``TypeError``.
* Every convolution is PyTorch's ``nn.Conv2d`` (a cross-correlation) with **zero padding
  ``k // 2``** (odd ``k``): it keeps ``H`` and ``W``, so the outputs have the input's size
  (the U-Net's pooling and upsampling undo each other when ``H``, ``W`` are divisible by
  ``2 ** (len(widths) - 1)``, and otherwise raise ``ValueError``).
* **Residual learning.** DnCNN's body ``f`` learns the *noise* and ``forward(y) = y - f(y)``
  returns the clean estimate (the lecture's "residual connection from beginning to end");
  VDSR's body learns the missing detail and ``forward(y~) = y~ + f(y~)``; SRCNN has no
  residual; the U-Net adds its input when ``residual=True`` (FBPConvNet, Jin et al. 2017).
* **Skip connections concatenate** (U-Net): the decoder stacks the upsampled features and the
  encoder's features of the same size along the channel axis, upsampled first.
* Outputs are not clipped and pass no final activation: for segmentation the U-Net returns
  **logits** ``(N, K, H, W)``, to be fed to ``F.cross_entropy`` (the lecture's pixel-wise
  cross-entropy summed or averaged over the pixels).
* Weights keep PyTorch's default initialisation (the papers used Gaussian / He
  initialisation); seed with ``torch.manual_seed`` before constructing for reproducibility.

Receptive fields (per dimension, stride 1 everywhere): a stack of convolutions with kernels
``k_1, ..., k_L`` sees ``1 + sum_l (k_l - 1)`` pixels, so DnCNN and VDSR of depth ``d`` see
``2 d + 1`` and SRCNN(9, 1, 5) sees ``9 + 1 + 5 - 2 = 13`` (the ``receptive_field`` property;
:func:`convlab.models.empirical_receptive_field` measures the same by autograd).

Examples
--------
>>> y = torch.rand(2, 1, 32, 32)
>>> [tuple(net(y).shape) for net in (DnCNN(5, 16), SRCNN(), VDSR(6, 16), UNet(widths=(8, 16)))]
[(2, 1, 32, 32), (2, 1, 32, 32), (2, 1, 32, 32), (2, 1, 32, 32)]
>>> DnCNN(depth=5).receptive_field, SRCNN().receptive_field
(11, 13)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from convlab._validate import as_choice, as_flag, as_size, check_cost

__all__ = ["SRCNN", "VDSR", "DnCNN", "UNet", "n_parameters"]


# ============================================================================================
# Shared helpers
# ============================================================================================


def n_parameters(net: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``net``.

    BatchNorm's running mean and variance are buffers, not parameters: not counted.

    Examples
    --------
    >>> n_parameters(nn.Conv2d(1, 4, 3))     # 4 * 1 * 3 * 3 weights + 4 biases
    40
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    trainable_only = as_flag(trainable_only, "trainable_only")
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)


def _check_batch(x: Any, channels: int, name: str = "x") -> torch.Tensor:
    """``x`` if it is a floating ``(N, channels, H, W)`` tensor, else a clear error."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(
            f"{name} must be a batch (N, {channels}, H, W); got shape {tuple(x.shape)}"
            + (" (add batch and channel axes: x[None, None])" if x.ndim == 2 else "")
        )
    return x


def _sizes(values: Any, name: str) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values).__name__}")
    return tuple(as_size(v, f"{name}[{i}]") for i, v in enumerate(values))


def _check_parameters(what: str, weights: int, layers: int) -> None:
    """Refuse, before building any layer, a network whose float32 weights (and per-layer
    Python objects, ~1 KB each) exceed the cost limits."""
    check_cost(
        f"{what} with {weights:.3g} weights in {layers} layers",
        nbytes=4 * weights + 1024 * layers,
        alternative="use fewer or narrower layers",
    )


def _odd(k: int, name: str) -> int:
    if k % 2 == 0:
        raise ValueError(f"{name} must be odd (zero padding k // 2 keeps the image size); got {k}")
    return k


def _conv(c_in: int, c_out: int, k: int = 3, *, bias: bool = True) -> nn.Conv2d:
    """``k x k`` convolution with zero padding ``k // 2``: keeps ``H`` and ``W`` (odd ``k``)."""
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)


# ============================================================================================
# DnCNN (Zhang et al., 2017): residual learning of the noise
# ============================================================================================


class DnCNN(nn.Module):
    """Denoising CNN: a body ``f`` that learns the **noise**; ``forward(y) = y - f(y)``.

    The body is ``Conv(channels -> width) + ReLU``, ``(depth - 2) x [Conv(width -> width) +
    BatchNorm2d + ReLU]``, ``Conv(width -> channels)``, all 3x3 with zero padding 1 (the size
    is kept). The middle convolutions have no bias (BatchNorm's shift makes it redundant), the
    first and last do.

    Residual learning: the lecture trains ``f`` with ``sum_i ||f(Y_i) - (Y_i - X_i)||^2`` (the
    noise as target) and recovers ``X = Y - f(Y)``. Since ``f(Y) - (Y - X) = -((Y - f(Y)) -
    X)``, that is **exactly** the loss ``sum_i ||forward(Y_i) - X_i||^2`` on (noisy, clean)
    pairs, so :func:`convlab.train.train_denoiser` trains a DnCNN as is.

    BatchNorm normalises with the batch's statistics in ``train()`` mode and with running
    averages in ``eval()`` mode (:func:`convlab.train.denoise` switches to it): evaluate in
    ``eval()`` mode, where each image's output does not depend on the rest of the batch.

    Parameters
    ----------
    depth : int
        Number of convolution layers, ``>= 2`` (the paper: 17 for Gaussian denoising).
    width : int
        Feature channels of the hidden layers (the paper: 64).
    channels : int
        Image channels (1 for gray).

    Attributes
    ----------
    body : nn.Sequential
        ``f``; :func:`convlab.models.receptive_field` walks it.
    receptive_field : int
        ``2 depth + 1`` pixels per dimension.

    Examples
    --------
    >>> net = DnCNN(depth=5, width=16)
    >>> y = torch.rand(4, 1, 32, 32)
    >>> bool(torch.allclose(net(y), y - net.noise(y)))
    True
    >>> n_parameters(DnCNN(depth=3, width=2))   # (9*2 + 2) + (2*9*2 + 2*2) + (2*9 + 1)
    79
    """

    def __init__(self, depth: int = 17, width: int = 64, channels: int = 1) -> None:
        super().__init__()
        self.depth = as_size(depth, "depth", minimum=2)
        self.width = as_size(width, "width")
        self.channels = as_size(channels, "channels")
        d, w, c = self.depth, self.width, self.channels
        _check_parameters("DnCNN", 9 * (2 * c * w + (d - 2) * w * w), 3 * d)
        layers: list[nn.Module] = [_conv(self.channels, self.width), nn.ReLU()]
        for _ in range(self.depth - 2):
            layers += [
                _conv(self.width, self.width, bias=False),
                nn.BatchNorm2d(self.width),
                nn.ReLU(),
            ]
        layers.append(_conv(self.width, self.channels))
        self.body = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Pixels per dimension that one output depends on: ``2 depth + 1`` (3x3 layers)."""
        return 2 * self.depth + 1

    def noise(self, y: torch.Tensor) -> torch.Tensor:
        """``f(y)``: the estimated noise, same shape as ``y``."""
        return self.body(_check_batch(y, self.channels, "y"))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """The clean estimate ``y - f(y)``, same shape as ``y`` ``(N, channels, H, W)``."""
        return y - self.noise(y)


# ============================================================================================
# SRCNN (Dong et al., 2015) and VDSR (Kim et al., 2016): super-resolution of the upsampled y~
# ============================================================================================


class SRCNN(nn.Module):
    """Super-resolution CNN: three convolutions on the **upsampled** low-resolution image.

    ``Conv(channels -> widths[0], k_0) + ReLU``, ``Conv(widths[0] -> widths[1], k_1) + ReLU``,
    ``Conv(widths[1] -> channels, k_2)``, zero padding ``k // 2`` (size kept; the paper used
    no padding and lost a border). The input is ``y~``, the low-resolution ``y = A x``
    brought back to the high-resolution grid (bicubic in the paper:
    :func:`convlab.inverse.upsample`), and ``forward`` returns the estimate ``f(y~)`` of
    ``x`` directly (no residual), trained with ``sum_i ||f(y~_i) - x_i||^2``.

    Parameters
    ----------
    channels : int
        Image channels.
    widths : sequence of int
        Hidden feature channels, ``(64, 32)`` in the paper ("patch extraction" and
        "non-linear mapping"). More entries give more layers: ``len(kernels)`` must be
        ``len(widths) + 1``.
    kernels : sequence of odd int
        Kernel sizes, ``(9, 1, 5)`` in the paper (9-5-5 is a later variant).

    Attributes
    ----------
    body : nn.Sequential
    receptive_field : int
        ``1 + sum(k - 1)``: 13 for ``(9, 1, 5)``.

    Examples
    --------
    >>> net = SRCNN(widths=(32, 16))
    >>> net(torch.rand(2, 1, 32, 32)).shape
    torch.Size([2, 1, 32, 32])
    >>> SRCNN().receptive_field
    13
    """

    def __init__(
        self,
        channels: int = 1,
        widths: Sequence[int] = (64, 32),
        kernels: Sequence[int] = (9, 1, 5),
    ) -> None:
        super().__init__()
        self.channels = as_size(channels, "channels")
        self.widths = _sizes(widths, "widths")
        self.kernels = tuple(
            _odd(k, f"kernels[{i}]") for i, k in enumerate(_sizes(kernels, "kernels"))
        )
        if not self.widths:
            raise ValueError("widths needs at least one hidden layer width; got ()")
        if len(self.kernels) != len(self.widths) + 1:
            raise ValueError(
                f"kernels needs len(widths) + 1 = {len(self.widths) + 1} entries (one per "
                f"layer); got {len(self.kernels)}: {self.kernels}"
            )
        feats = (self.channels, *self.widths, self.channels)
        pairs = zip(itertools.pairwise(feats), self.kernels)
        _check_parameters("SRCNN", sum(k * k * a * b for (a, b), k in pairs), 2 * len(feats))
        layers: list[nn.Module] = []
        for i, ((c_in, c_out), k) in enumerate(zip(itertools.pairwise(feats), self.kernels)):
            layers.append(_conv(c_in, c_out, k))
            if i < len(self.kernels) - 1:
                layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Pixels per dimension that one output depends on: ``1 + sum(k - 1)``."""
        return 1 + sum(k - 1 for k in self.kernels)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``f(y~)``, the high-resolution estimate, same shape as ``y~`` ``(N, C, H, W)``."""
        return self.body(_check_batch(y, self.channels, "y"))


class VDSR(nn.Module):
    """Very deep super-resolution: ``depth`` 3x3 convolutions and a **global residual**.

    Body ``f``: ``Conv(channels -> width) + ReLU``, ``(depth - 2) x [Conv(width -> width) +
    ReLU]``, ``Conv(width -> channels)``, zero padding 1, no BatchNorm. ``forward(y~) = y~ +
    f(y~)``: the body only learns the detail missing from the upsampled image ``y~`` (mostly
    high frequencies, close to 0), the key to training deep networks in the lecture. With the
    last convolution zeroed the network is the identity.

    Parameters
    ----------
    depth : int
        Number of convolution layers, ``>= 2`` (the paper: 20).
    width : int
        Hidden feature channels (the paper: 64).
    channels : int
        Image channels.

    Attributes
    ----------
    body : nn.Sequential
        ``f``.
    receptive_field : int
        ``2 depth + 1`` (41 for the paper's 20 layers).

    Examples
    --------
    >>> net = VDSR(depth=6, width=16)
    >>> y = torch.rand(2, 1, 32, 32)
    >>> bool(torch.allclose(net(y), y + net.residual(y)))
    True
    """

    def __init__(self, depth: int = 20, width: int = 64, channels: int = 1) -> None:
        super().__init__()
        self.depth = as_size(depth, "depth", minimum=2)
        self.width = as_size(width, "width")
        self.channels = as_size(channels, "channels")
        d, w, c = self.depth, self.width, self.channels
        _check_parameters("VDSR", 9 * (2 * c * w + (d - 2) * w * w), 2 * d)
        layers: list[nn.Module] = [_conv(self.channels, self.width), nn.ReLU()]
        for _ in range(self.depth - 2):
            layers += [_conv(self.width, self.width), nn.ReLU()]
        layers.append(_conv(self.width, self.channels))
        self.body = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Pixels per dimension that one output depends on: ``2 depth + 1``."""
        return 2 * self.depth + 1

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        """``f(y~)``: the detail added to the upsampled image, same shape as ``y``."""
        return self.body(_check_batch(y, self.channels, "y"))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``y~ + f(y~)``, same shape as ``y`` ``(N, channels, H, W)``."""
        return y + self.residual(y)


# ============================================================================================
# U-Net (Ronneberger et al., 2015): down, bottleneck, up with concatenated skip connections
# ============================================================================================


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """U-Net block: ``2 x [Conv 3x3 (padding 1) + ReLU]``, ``c_in -> c_out -> c_out``."""
    return nn.Sequential(_conv(c_in, c_out), nn.ReLU(), _conv(c_out, c_out), nn.ReLU())


class UNet(nn.Module):
    """U-Net: an encoder-decoder with skip connections that **concatenate** same-size features.

    With ``widths = (w_0, ..., w_L)`` (``L = len(widths) - 1`` levels):

    * encoder level ``l < L``: ``2 x [Conv 3x3 + ReLU]`` (``-> w_l``), kept as the skip
      ``s_l``, then ``MaxPool2d(2)`` (halves ``H`` and ``W``);
    * bottleneck: ``2 x [Conv 3x3 + ReLU]`` (``w_{L-1} -> w_L``) at ``H / 2**L``;
    * decoder level ``l = L-1, ..., 0``: upsample x2 (``"transpose"``:
      ``ConvTranspose2d(w_{l+1}, w_l, 2, stride=2)``, the original's "up-conv 2x2";
      ``"bilinear"``: ``nn.Upsample(scale_factor=2, mode="bilinear")``, channels kept),
      ``cat([up, s_l], dim=1)`` (upsampled first), ``2 x [Conv 3x3 + ReLU]`` (``-> w_l``);
    * head: ``Conv 1x1`` (``w_0 -> out_channels``), no activation.

    Padding 1 keeps sizes (the original used unpadded convolutions and cropped the skips), so
    ``H`` and ``W`` must be divisible by ``2 ** L``. ``forward`` returns ``g(x)`` (logits for
    segmentation), or ``x + g(x)`` with ``residual=True`` (post-processing a classical
    reconstruction: the net learns its artefacts, as FBPConvNet, Jin et al. 2017).

    Parameters
    ----------
    in_channels, out_channels : int
        Input channels and output channels (classes for segmentation).
    widths : sequence of int
        Feature channels per level, finest first, at least 2 entries (the original:
        ``(64, 128, 256, 512, 1024)``).
    up : {"transpose", "bilinear"}
        Decoder upsampling.
    residual : bool
        Add the input to the output; needs ``in_channels == out_channels``.
    skips : bool
        Default of ``forward``'s ``skips``: ``False`` builds the ablation "U-Net without skip
        connections" (same layers, the skip tensors replaced by zeros), trained and used so.

    Attributes
    ----------
    encoders, decoders : nn.ModuleList
        The double convolutions, finest level first (``decoders[l]`` produces level ``l``).
    bottleneck : nn.Sequential
    ups : nn.ModuleList
        ``ups[l]`` upsamples level ``l + 1`` to level ``l``.
    head : nn.Conv2d
    levels : int
        ``L``; inputs need ``H``, ``W`` divisible by ``2 ** levels``.

    Examples
    --------
    >>> net = UNet(widths=(8, 16, 32))
    >>> net(torch.rand(2, 1, 32, 48)).shape
    torch.Size([2, 1, 32, 48])
    >>> seg = UNet(in_channels=3, out_channels=21, widths=(4, 8), up="bilinear")
    >>> seg(torch.rand(1, 3, 16, 16)).shape            # per-pixel logits of 21 classes
    torch.Size([1, 21, 16, 16])
    >>> n_parameters(UNet(widths=(2, 4)))              # hand count in tests/test_cnns.py
    431
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (16, 32, 64),
        up: str = "transpose",
        residual: bool = False,
        skips: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = as_size(in_channels, "in_channels")
        self.out_channels = as_size(out_channels, "out_channels")
        self.widths = _sizes(widths, "widths")
        if len(self.widths) < 2:
            raise ValueError(
                f"widths needs at least 2 entries (one level and the bottleneck); got {self.widths}"
            )
        self.up = as_choice(up, "up", ("transpose", "bilinear"))
        self.residual = as_flag(residual, "residual")
        self.skips = as_flag(skips, "skips")
        if self.residual and self.in_channels != self.out_channels:
            raise ValueError(
                "residual=True adds the input to the output: in_channels must equal "
                f"out_channels; got {self.in_channels} and {self.out_channels}"
            )
        w = self.widths
        chain = (self.in_channels, *w)
        weights = sum(9 * (a * b + b * b) for a, b in itertools.pairwise(chain))
        _check_parameters("UNet", 2 * weights + w[0] * self.out_channels, 8 * len(w))
        self.levels = len(w) - 1
        self.encoders = nn.ModuleList(
            _double_conv(c_in, c_out)
            for c_in, c_out in itertools.pairwise((self.in_channels, *w[:-1]))
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(w[-2], w[-1])
        ups: list[nn.Module] = []
        decoders: list[nn.Module] = []
        for l_ in range(self.levels):
            if self.up == "transpose":
                ups.append(nn.ConvTranspose2d(w[l_ + 1], w[l_], 2, stride=2))
                up_channels = w[l_]
            else:
                ups.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
                up_channels = w[l_ + 1]
            decoders.append(_double_conv(up_channels + w[l_], w[l_]))
        self.ups = nn.ModuleList(ups)
        self.decoders = nn.ModuleList(decoders)
        self.head = nn.Conv2d(w[0], self.out_channels, 1)

    def _check(self, x: Any) -> torch.Tensor:
        x = _check_batch(x, self.in_channels)
        m = 2**self.levels
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(
                f"x's H and W must be divisible by 2**(len(widths) - 1) = {m} ({self.levels} "
                f"2x2 max pools, then as many x2 upsamplings); got H, W = {tuple(x.shape[-2:])}"
            )
        return x

    def forward(self, x: torch.Tensor, *, skips: bool | None = None) -> torch.Tensor:
        """``g(x)`` (or ``x + g(x)`` when ``residual``), shape ``(N, out_channels, H, W)``.

        ``skips=False`` replaces every skip tensor by zeros (the decoder's weights unchanged):
        what the network computes from the bottleneck alone, to see what the skips carry.
        ``None``: the constructor's ``skips``.
        """
        x = self._check(x)
        skips = self.skips if skips is None else as_flag(skips, "skips")
        saved = []
        h = x
        for enc in self.encoders:
            h = enc(h)
            saved.append(h if skips else torch.zeros_like(h))
            h = self.pool(h)
        h = self.bottleneck(h)
        for l_ in reversed(range(self.levels)):
            h = self.decoders[l_](torch.cat([self.ups[l_](h), saved[l_]], dim=1))
        out = self.head(h)
        return x + out if self.residual else out


# ============================================================================================
# Self-demo
# ============================================================================================


def _demo() -> None:
    """``python -m convlab.cnns``: shapes, conventions, receptive fields, one step's time."""
    from convlab.device import time_fn
    from convlab.models import empirical_receptive_field
    from convlab.train import train_denoiser

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    y = torch.rand(16, 1, 32, 32, generator=g)
    nets = {
        "DnCNN(depth=5, width=16)": DnCNN(depth=5, width=16),
        "SRCNN(widths=(32, 16))": SRCNN(widths=(32, 16)),
        "VDSR(depth=6, width=16)": VDSR(depth=6, width=16),
        "UNet(widths=(8, 16, 32))": UNet(widths=(8, 16, 32)),
    }
    for name, net in nets.items():
        print(
            f"{name}: {n_parameters(net)} parameters, output keeps the size:",
            net(y).shape == y.shape,
        )
    dn, sr, vd, un = nets.values()
    with torch.no_grad():
        print("DnCNN forward(y) == y - noise(y):", torch.equal(dn(y), y - dn.noise(y)))
        vd0 = VDSR(depth=6, width=16)
        vd0.body[-1].weight.zero_()
        vd0.body[-1].bias.zero_()
        print("VDSR with its last conv zeroed is the identity:", torch.equal(vd0(y), y))
        print(
            "U-Net output changes without its skip connections:",
            not torch.allclose(un(y), un(y, skips=False)),
        )
    for name, net in (("DnCNN", dn), ("SRCNN", sr), ("VDSR", vd)):
        emp = empirical_receptive_field(net, 2 * net.receptive_field + 1)
        print(
            f"{name} receptive field {net.receptive_field} == autograd support {emp}:",
            emp == (net.receptive_field,) * 2,
        )

    print("one Adam step, batch 16 of 32x32 (median of 7):")
    for name, net in nets.items():
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step(net: nn.Module = net, opt: torch.optim.Optimizer = opt) -> None:
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(net(y), y).backward()
            opt.step()

        print(f"  {name:26s} {1e3 * time_fn(step, device='cpu').median:6.1f} ms")

    clean = torch.nn.functional.interpolate(
        torch.rand(32, 1, 8, 8, generator=g), size=(32, 32), mode="bilinear"
    )
    h = train_denoiser(
        DnCNN(depth=4, width=8),
        clean,
        corrupt=("gaussian", 0.1),
        steps=60,
        lr=1e-2,
        generator=g,
        progress=False,
    )
    first, last = sum(h.losses[:10]) / 10, sum(h.losses[-10:]) / 10
    print(f"DnCNN(4, 8), 60 Adam steps on Gaussian noise 0.1: loss {first:.4f} -> {last:.4f}")
    print("the loss at least halved:", last < first / 2)


if __name__ == "__main__":
    _demo()
