"""Convolutional encoders, decoders, denoising autoencoders and their receptive fields.

The lecture "Image representations" builds a *representation* from filter banks + ReLU, composes
them ("patterns of patterns"), and reconstructs the image with a decoder
("filter + ReLU + upsample"). This module holds the pieces:

1. **Receptive fields** (:class:`ReceptiveField`, :func:`receptive_field`,
   :func:`empirical_receptive_field`): the support, in input pixels, of one value of a feature
   map. Per spatial dimension, with ``k`` kernel, ``s`` stride, ``p`` padding, ``d`` dilation
   of layer ``l`` (the classic recursion, e.g. Araujo et al., Distill 2019)::

       k_eff = d (k - 1) + 1                      the dilated kernel's extent
       r_l   = r_{l-1} + (k_eff - 1) j_{l-1}      size of the field        (r_0 = 1)
       j_l   = j_{l-1} s                          jump: input pixels between adjacent outputs
       c_l   = c_{l-1} + ((k_eff - 1)/2 - p) j_{l-1}   centre of output 0's field  (c_0 = 0)

   Coordinates are 0-based input pixel indices (pixel ``i`` is centred at ``i``); output ``n``
   of the stack sees input pixels ``c + n j - (r-1)/2 ... c + n j + (r-1)/2`` (which may lie in
   the padding). ``size`` is the *extent*: with dilation the field has holes.
   :func:`empirical_receptive_field` measures the same thing independently, as the support of
   the gradient of one output pixel w.r.t. the input (autograd).
2. **A very simple encoder / decoder** (:func:`encoder`, :func:`decoder`) and the
   :class:`DenoisingAutoencoder` ``decoder(encoder(x))`` trained in :mod:`convlab.train`.
3. **The lecture's cheat made explicit** (:func:`cheating_autoencoder`,
   :func:`pixel_pick_filters`): two encoder and two decoder layers that copy every
   non-negative image exactly, so they have zero loss on (clean, clean) pairs and do not
   denoise at all.

Conventions (PyTorch's)
-----------------------
* ``nn.Conv2d`` is a **cross-correlation**: ``y[b, o, h, w] = bias[o] + sum_{c, u, v}
  w[o, c, u, v] x[b, c, h s - p + u d, w s - p + v d]``, weight ``(C_out, C_in, kh, kw)``, zero
  padding. ``nn.ConvTranspose2d`` weight is ``(C_in, C_out, kh, kw)``.
* Images are batches ``(N, C, H, W)``; the course's gray images have ``C = 1``.

Examples
--------
>>> receptive_field([(3, 1), (3, 1)]).size              # two 3x3 stride-1 layers see 5x5
5
>>> receptive_field([(3, 1, 1), (3, 2, 1)])             # 3x3 s1, then 3x3 s2: 5x5, jump 2
ReceptiveField(size=5, jump=2, start=0.0)
>>> dae = DenoisingAutoencoder((1, 16, 32))
>>> dae(torch.zeros(2, 1, 32, 32)).shape, dae.representation(torch.zeros(2, 1, 32, 32)).shape
(torch.Size([2, 1, 32, 32]), torch.Size([2, 32, 8, 8]))
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convlab._validate import as_choice, as_size, check_cost
from convlab.cnns import _check_parameters
from convlab.transposed import conv_output_size

__all__ = [
    "DenoisingAutoencoder",
    "ReceptiveField",
    "cheating_autoencoder",
    "decoder",
    "empirical_receptive_field",
    "encoder",
    "pixel_pick_filters",
    "receptive_field",
]

#: Layer description accepted by :func:`receptive_field`: (kernel, stride[, padding[, dilation]]).
LayerSpec = tuple[int, ...]

# Modules that act pixel by pixel (or not at all) in space: they do not change the field.
_POINTWISE: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Hardtanh,
    nn.BatchNorm2d,
    nn.Dropout,
    nn.Dropout2d,
)
_UPSAMPLING: tuple[type[nn.Module], ...] = (
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.Upsample,
    nn.UpsamplingNearest2d,
    nn.UpsamplingBilinear2d,
    nn.PixelShuffle,
)


# ============================================================================================
# 1. Receptive fields
# ============================================================================================


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the outputs of a stack of layers, in one spatial dimension.

    Attributes
    ----------
    size : int
        Extent ``r`` in input pixels of the support of one output value (the dilated field
        may have holes inside this extent).
    jump : int
        Distance ``j`` in input pixels between the fields of two adjacent outputs (the
        product of the strides).
    start : float
        Centre ``c`` of output 0's field in input pixel coordinates (pixel ``i`` is centred at
        ``i``; negative values lie in the padding; half-integer when ``size`` is even).

    Examples
    --------
    >>> rf = ReceptiveField(size=5, jump=2, start=0.0)
    >>> rf.bounds(3)           # output 3 sees input pixels 4..8
    (4, 8)
    """

    size: int
    jump: int
    start: float

    def bounds(self, index: int) -> tuple[int, int]:
        """First and last input pixel (inclusive) of output ``index``'s field (may be < 0)."""
        index = as_size(index, "index", minimum=0)
        first = round(self.start - (self.size - 1) / 2) + index * self.jump
        return first, first + self.size - 1


def receptive_field(
    layers: Sequence[Sequence[int]] | nn.Module, *, dim: int | None = None
) -> ReceptiveField:
    """Receptive field of a stack of convolution / pooling layers by the classic recursion.

    ``r_l = r_{l-1} + (k_eff - 1) j_{l-1}``, ``j_l = j_{l-1} s``, ``k_eff = d (k - 1) + 1``,
    ``c_l = c_{l-1} + ((k_eff - 1)/2 - p) j_{l-1}``, starting from ``r = j = 1``, ``c = 0``.

    Parameters
    ----------
    layers : sequence of tuples, or torch.nn.Module
        Either tuples ``(kernel, stride[, padding[, dilation]])`` (padding 0 and dilation 1 by
        default), first layer first, or a module: an ``nn.Sequential`` (nested ones are walked
        in order) or a single layer. ``Conv1d/2d``, ``MaxPool1d/2d`` and ``AvgPool1d/2d``
        contribute (``padding="same"``/``"valid"`` understood; ``ceil_mode`` and
        ``padding_mode`` only change the border outputs, not the field); ReLU-like
        activations, ``BatchNorm2d``, ``Dropout`` and ``Identity`` act pixel by pixel and do
        not. Upsampling layers (``ConvTranspose2d``, ``Upsample``, ``PixelShuffle``) raise
        ``NotImplementedError``: their outputs do not all see the same window relative to
        their position, so no ``(size, jump, start)`` describes them; use
        :func:`empirical_receptive_field` for decoders. Any other module raises ``TypeError``.
    dim : {None, 0, 1}
        For modules with non-square kernels/strides: the spatial dimension (0 = height,
        1 = width). ``None`` requires every layer to be square.

    Returns
    -------
    ReceptiveField
        ``size``, ``jump`` and ``start`` of the stack's outputs.

    Examples
    --------
    >>> receptive_field([(3, 1), (3, 1)])            # the lecture: two 3x3 layers see 5x5
    ReceptiveField(size=5, jump=1, start=2.0)
    >>> receptive_field(encoder((1, 16, 32), kernel=3, stride=2))   # the default encoder
    ReceptiveField(size=7, jump=4, start=0.0)
    >>> receptive_field([(3, 1, 0, 2)]).size       # a dilated 3x3 spans 5 pixels
    5
    """
    if dim is not None and dim not in (0, 1):
        raise ValueError(f"dim must be None, 0 (height) or 1 (width); got {dim!r}")
    if isinstance(layers, nn.Module):
        specs = [spec for _, spec in _module_specs(layers, dim)]
    elif isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(
            "layers must be a sequence of (kernel, stride[, padding[, dilation]]) tuples or a "
            f"torch.nn.Module; got {type(layers).__name__}"
        )
    else:
        specs = [_layer_spec(layer, i) for i, layer in enumerate(layers)]
    size, jump, start = 1, 1, 0.0
    for k, s, p, d in specs:
        k_eff = d * (k - 1) + 1
        start += ((k_eff - 1) / 2 - p) * jump  # uses j_{l-1}: before the jump is updated
        size += (k_eff - 1) * jump
        jump *= s
    return ReceptiveField(size=size, jump=jump, start=start)


def _layer_spec(layer: Any, i: int) -> tuple[int, int, int, int]:
    name = f"layers[{i}]"
    if isinstance(layer, (str, bytes)) or not isinstance(layer, Sequence):
        raise TypeError(
            f"{name} must be a tuple (kernel, stride[, padding[, dilation]]); "
            f"got {type(layer).__name__} {layer!r}"
        )
    if not 2 <= len(layer) <= 4:
        raise ValueError(
            f"{name} must have 2 to 4 entries (kernel, stride[, padding[, dilation]]); "
            f"got {len(layer)}: {tuple(layer)!r}"
        )
    k, s, p, d = (*layer, 0, 1)[:4] if len(layer) == 2 else (*layer, 1)[:4]
    return (
        as_size(k, f"{name} kernel"),
        as_size(s, f"{name} stride"),
        as_size(p, f"{name} padding", minimum=0),
        as_size(d, f"{name} dilation"),
    )


def _leaves(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Leaf layers of (nested) ``nn.Sequential`` containers, in forward order."""
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            for sub, leaf in _leaves(child):
                yield (f"{name}.{sub}" if sub else name), leaf
    else:
        yield "", module


def _pick(value: Any, dim: int | None, what: str, where: str) -> int:
    """One spatial dimension's integer from an int or a per-dimension tuple."""
    if isinstance(value, int):
        return value
    values = tuple(value)
    if len(values) == 1:
        return int(values[0])
    if dim is None:
        if len(set(values)) != 1:
            raise ValueError(
                f"{where} has a non-square {what} {values}: pass dim=0 (height) or dim=1 (width)"
            )
        return int(values[0])
    return int(values[dim])


def _module_specs(net: nn.Module, dim: int | None) -> list[tuple[str, tuple[int, int, int, int]]]:
    specs = []
    for name, layer in _leaves(net):
        where = f"layer {name or type(layer).__name__!r} ({type(layer).__name__})"
        if isinstance(layer, _UPSAMPLING):
            raise NotImplementedError(
                f"{where} upsamples: its outputs do not all see the same window relative to "
                "their position, so no (size, jump, start) describes the stack; measure it with "
                "empirical_receptive_field(net, input_size) instead"
            )
        if isinstance(layer, _POINTWISE):
            continue
        if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
            k = _pick(layer.kernel_size, dim, "kernel_size", where)
            s = _pick(layer.stride, dim, "stride", where)
            d = _pick(layer.dilation, dim, "dilation", where)
            if isinstance(layer.padding, str):  # "valid" or "same" (stride 1; extra on the right)
                p = 0 if layer.padding == "valid" else d * (k - 1) // 2
            else:
                p = _pick(layer.padding, dim, "padding", where)
        elif isinstance(layer, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            k = _pick(layer.kernel_size, dim, "kernel_size", where)
            s = _pick(layer.stride if layer.stride is not None else k, dim, "stride", where)
            p = _pick(layer.padding, dim, "padding", where)
            d = _pick(getattr(layer, "dilation", 1), dim, "dilation", where)
        else:
            raise TypeError(
                f"{where}: receptive_field walks nn.Sequential stacks of Conv, MaxPool/AvgPool "
                "and pixel-wise layers (ReLU, BatchNorm2d, Identity, Dropout); "
                "use empirical_receptive_field for other modules"
            )
        specs.append((name, (k, s, p, d)))
    return specs


class _BoxPool(nn.Module):
    """Depthwise box filter with positive weights: a max pool's window, made linear."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.kernel_size = nn.modules.utils._pair(pool.kernel_size)
        self.stride = nn.modules.utils._pair(
            pool.stride if pool.stride is not None else pool.kernel_size
        )
        self.padding = nn.modules.utils._pair(pool.padding)
        self.dilation = nn.modules.utils._pair(pool.dilation)
        if pool.ceil_mode:
            raise NotImplementedError(
                "empirical_receptive_field: MaxPool2d with ceil_mode=True is not supported"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        w = x.new_ones(c, 1, *self.kernel_size) / (self.kernel_size[0] * self.kernel_size[1])
        return F.conv2d(x, w, None, self.stride, self.padding, self.dilation, groups=c)


def _linearised(net: nn.Module) -> nn.Module:
    """A float64 copy of ``net`` whose every output depends on its whole structural field.

    Conv / ConvTranspose / Linear weights = 1 / fan_in (positive), biases = 0; pixel-wise
    layers (ReLU, BatchNorm, Dropout ...) -> Identity; MaxPool2d -> a positive box filter over
    the same window (a max passes the gradient to one pixel only). With a positive input every
    path from an input pixel to the output then adds a positive term: no cancellation, no dead
    ReLU, so the gradient is non-zero exactly on the field.
    """
    lin = copy.deepcopy(net).to(torch.float64).eval()

    def rewrite(parent: nn.Module) -> None:
        for name, child in list(parent.named_children()):
            if isinstance(child, _POINTWISE):
                parent._modules[name] = nn.Identity()
            elif isinstance(child, nn.MaxPool2d):
                parent._modules[name] = _BoxPool(child)
            else:
                if isinstance(child, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                    with torch.no_grad():
                        child.weight.fill_(1.0 / child.weight[0].numel())
                        if child.bias is not None:
                            child.bias.zero_()
                rewrite(child)

    rewrite(lin)
    return lin


def _first_in_channels(net: nn.Module) -> int:
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            return int(m.in_channels)
    raise ValueError("cannot infer the input channels (no Conv2d in net): pass in_channels")


def empirical_receptive_field(
    net: nn.Module,
    input_size: int | Sequence[int],
    out_index: Sequence[int] | None = None,
    *,
    in_channels: int | None = None,
    return_map: bool = False,
) -> tuple[int, int] | tuple[tuple[int, int], torch.Tensor]:
    """Receptive field measured by autograd: the support of d output[pixel] / d input.

    An independent check of :func:`receptive_field`, and the only one of the two that handles
    decoders (upsampling) and arbitrary modules. The network is **linearised** first: a float64
    copy with all Conv/ConvTranspose/Linear weights ``1/fan_in``, zero biases, pixel-wise layers
    (ReLU, BatchNorm2d, Dropout, ...) replaced by ``Identity`` and ``MaxPool2d`` by a box filter
    over the same window; the input is all ones. Every path from an input pixel to the chosen
    output then contributes a positive amount, so the gradient is non-zero exactly on the
    *structural* field (a trained net can have a smaller effective support: dead ReLUs, small
    weights). The gradient is summed over output channels and taken in absolute value.

    Parameters
    ----------
    net : torch.nn.Module
        Takes ``(1, C, H, W)``; not modified.
    input_size : int or (H, W)
        Input height and width. The support is clipped by the image border: make the input
        large enough for the chosen output's field to fit if you want the full extent.
    out_index : (i, j), optional
        Output pixel; default the centre ``(H_out // 2, W_out // 2)``.
    in_channels : int, optional
        Input channels; default those of the first Conv2d/ConvTranspose2d in ``net``.
    return_map : bool
        Also return the ``(H, W)`` float64 map of ``|gradient|`` (summed over input channels).

    Returns
    -------
    (height, width) : tuple of int
        Extent of the bounding box of the support (dilated fields have holes inside it), and
        the map when ``return_map`` is true.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 1, 3))
    >>> empirical_receptive_field(net, 11)
    (5, 5)
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    if isinstance(input_size, Sequence) and not isinstance(input_size, str):
        if len(input_size) != 2:
            raise ValueError(f"input_size must be an int or (H, W); got {input_size!r}")
        h, w = (as_size(v, "input_size") for v in input_size)
    else:
        h = w = as_size(input_size, "input_size")
    c = _first_in_channels(net) if in_channels is None else as_size(in_channels, "in_channels")
    check_cost(
        f"a float64 input of shape (1, {c}, {h}, {w}) and its gradient",
        nbytes=2 * 8 * c * h * w,
        alternative="use a smaller input_size",
    )
    lin = _linearised(net)
    x = torch.ones(1, c, h, w, dtype=torch.float64, requires_grad=True)
    y = lin(x)
    if y.ndim != 4:
        raise ValueError(f"net must return (N, C, H, W); got shape {tuple(y.shape)}")
    h_out, w_out = y.shape[-2:]
    if out_index is None:
        i, j = h_out // 2, w_out // 2
    else:
        if isinstance(out_index, (str, bytes)) or len(out_index) != 2:
            raise ValueError(f"out_index must be a pair (i, j); got {out_index!r}")
        i = as_size(out_index[0], "out_index[0]", minimum=0)
        j = as_size(out_index[1], "out_index[1]", minimum=0)
        if i >= h_out or j >= w_out:
            raise ValueError(f"out_index {(i, j)} is outside the output of size {(h_out, w_out)}")
    (grad,) = torch.autograd.grad(y[0, :, i, j].sum(), x)
    gmap = grad[0].abs().sum(dim=0)
    rows = torch.nonzero(gmap.sum(dim=1) > 0).flatten()
    cols = torch.nonzero(gmap.sum(dim=0) > 0).flatten()
    if rows.numel() == 0:
        extent = (0, 0)
    else:
        extent = (int(rows[-1] - rows[0]) + 1, int(cols[-1] - cols[0]) + 1)
    return (extent, gmap) if return_map else extent


# ============================================================================================
# 2. Encoder, decoder, denoising autoencoder
# ============================================================================================


def _channels(channels: Any, name: str = "channels") -> tuple[int, ...]:
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(channels).__name__}")
    out = tuple(as_size(c, f"{name}[{i}]") for i, c in enumerate(channels))
    if len(out) < 2:
        raise ValueError(f"{name} needs at least 2 entries (in, out); got {out}")
    return out


def _weights(channels: tuple[int, ...], k: int) -> int:
    """Weights of a chain of ``k x k`` convolutions through ``channels``."""
    return sum(k * k * a * b for a, b in itertools.pairwise(channels))


def _odd_kernel(kernel: Any) -> int:
    k = as_size(kernel, "kernel")
    if k % 2 == 0:
        raise ValueError(
            f"kernel must be odd (padding kernel//2 keeps sizes 'same'-like); got {kernel}"
        )
    return k


def encoder(
    channels: Sequence[int] = (1, 16, 32), kernel: int = 3, stride: int = 2, *, convs: int = 1
) -> nn.Sequential:
    """The lecture's "very simple encoder": per stage ``Conv2d`` + ``ReLU``.

    Stage ``l`` is ``Conv2d(channels[l], channels[l+1], kernel, stride=stride,
    padding=kernel // 2)`` then ``ReLU`` (in features, out features, kernel size, padding,
    stride), followed by ``convs - 1`` stride-1 ``Conv2d(channels[l+1], channels[l+1])`` +
    ``ReLU``. Each stage maps ``H`` to ``ceil(H / stride)`` (``H / stride`` when divisible).

    Parameters
    ----------
    channels : sequence of int
        Feature counts, input first; ``len(channels) - 1`` stages.
    kernel : int
        Odd kernel size.
    stride : int
        Stride of every stage.
    convs : int
        Convolutions per stage (the first strided), ``>= 1``.

    Examples
    --------
    >>> enc = encoder((1, 16, 32))
    >>> enc(torch.zeros(1, 1, 28, 28)).shape
    torch.Size([1, 32, 7, 7])
    """
    channels = _channels(channels)
    k = _odd_kernel(kernel)
    s = as_size(stride, "stride")
    convs = as_size(convs, "convs")
    extra = (convs - 1) * sum(k * k * c * c for c in channels[1:])
    _check_parameters("encoder", _weights(channels, k) + extra, 2 * convs * len(channels))
    layers: list[nn.Module] = []
    for c_in, c_out in itertools.pairwise(channels):
        layers += [nn.Conv2d(c_in, c_out, k, stride=s, padding=k // 2), nn.ReLU()]
        for _ in range(convs - 1):
            layers += [nn.Conv2d(c_out, c_out, k, padding=k // 2), nn.ReLU()]
    return nn.Sequential(*layers)


def decoder(
    channels: Sequence[int] = (32, 16, 1),
    kernel: int = 3,
    scale: int = 2,
    mode: str = "nearest",
    *,
    convs: int = 1,
) -> nn.Sequential:
    """The lecture's decoder, "filter + ReLU + upsample": per stage Upsample, Conv2d, ReLU.

    Stage ``l`` is ``Upsample(scale_factor=scale, mode=mode)``, ``convs - 1`` times
    ``Conv2d(channels[l], channels[l])`` + ``ReLU``, then ``Conv2d(channels[l],
    channels[l+1], kernel, padding=kernel // 2)`` and a ``ReLU`` except after the last stage
    (the output image is left unconstrained: neither L1 nor L2 loss forces it into [0, 1]).
    Each stage multiplies ``H`` and ``W`` by ``scale``.

    Parameters
    ----------
    channels : sequence of int
        Feature counts, representation first, image last.
    kernel : int
        Odd kernel size.
    scale : int
        Upsampling factor per stage.
    mode : {"nearest", "bilinear"}
        ``torch.nn.Upsample`` mode (bilinear with ``align_corners=False``).
    convs : int
        Convolutions per stage, ``>= 1``.

    Examples
    --------
    >>> dec = decoder((32, 16, 1))
    >>> dec(torch.zeros(1, 32, 7, 7)).shape
    torch.Size([1, 1, 28, 28])
    """
    channels = _channels(channels)
    k = _odd_kernel(kernel)
    scale = as_size(scale, "scale")
    mode = as_choice(mode, "mode", ("nearest", "bilinear"))
    convs = as_size(convs, "convs")
    extra = (convs - 1) * sum(k * k * c * c for c in channels[:-1])
    _check_parameters("decoder", _weights(channels, k) + extra, 3 * convs * len(channels))
    extra = {} if mode == "nearest" else {"align_corners": False}
    layers: list[nn.Module] = []
    stages = len(channels) - 1
    for l_, (c_in, c_out) in enumerate(itertools.pairwise(channels)):
        layers.append(nn.Upsample(scale_factor=scale, mode=mode, **extra))
        for _ in range(convs - 1):
            layers += [nn.Conv2d(c_in, c_in, k, padding=k // 2), nn.ReLU()]
        layers.append(nn.Conv2d(c_in, c_out, k, padding=k // 2))
        if l_ < stages - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DenoisingAutoencoder(nn.Module):
    """``decoder(encoder(x))`` with stride-2 encoder stages and x2 upsampling decoder stages.

    Trained on (noisy, clean) pairs (:func:`convlab.train.train_denoiser`) it learns to denoise;
    trained on (clean, clean) pairs it may learn to copy (see :func:`cheating_autoencoder`).

    Parameters
    ----------
    channels : sequence of int
        Encoder feature counts, image first: ``(1, 16, 32)`` gives ``1 -> 16 -> 32`` channels
        at ``H/2`` then ``H/4``; the decoder mirrors them (``32 -> 16 -> 1``).
    kernel : int
        Odd kernel size of every convolution.
    mode : {"nearest", "bilinear"}
        Decoder upsampling mode.
    convs : int
        Convolutions per encoder and per decoder stage (:func:`encoder`, :func:`decoder`).

    Attributes
    ----------
    encoder, decoder : nn.Sequential
        See :func:`encoder` and :func:`decoder`.
    stages : int
        ``len(channels) - 1``; inputs need ``H`` and ``W`` divisible by ``2 ** stages``.

    Examples
    --------
    >>> dae = DenoisingAutoencoder((1, 8, 16, 32))
    >>> dae(torch.zeros(4, 1, 24, 40)).shape
    torch.Size([4, 1, 24, 40])
    >>> dae.code_shape(24, 40)
    (32, 3, 5)
    """

    def __init__(
        self,
        channels: Sequence[int] = (1, 16, 32),
        kernel: int = 3,
        *,
        mode: str = "nearest",
        convs: int = 1,
    ) -> None:
        super().__init__()
        channels = _channels(channels)
        self.channels = channels
        self.kernel = _odd_kernel(kernel)
        self.stages = len(channels) - 1
        self.encoder = encoder(channels, self.kernel, stride=2, convs=convs)
        self.decoder = decoder(channels[::-1], self.kernel, scale=2, mode=mode, convs=convs)

    def _check(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.channels[0]:
            raise ValueError(f"x must be (N, {self.channels[0]}, H, W); got shape {tuple(x.shape)}")
        m = 2**self.stages
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(
                f"H and W must be divisible by 2**stages = {m} (each encoder stage halves them, "
                f"each decoder stage doubles them); got H, W = {tuple(x.shape[-2:])}"
            )
        return x

    def code_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """Shape ``(C, H', W')`` of the representation of one ``height x width`` image."""
        h, w = as_size(height, "height"), as_size(width, "width")
        k = self.kernel
        for _ in range(self.stages):
            h = conv_output_size(h, k, stride=2, padding=k // 2)
            w = conv_output_size(w, k, stride=2, padding=k // 2)
        return self.channels[-1], h, w

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """The encoding ``encoder(x)``: ``(N, channels[-1], H / 2**stages, W / 2**stages)``."""
        return self.encoder(self._check(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``decoder(encoder(x))``, same shape as ``x``."""
        return self.decoder(self.encoder(self._check(x)))


# ============================================================================================
# 3. The lecture's cheat
# ============================================================================================


def pixel_pick_filters() -> torch.Tensor:
    """Four 3x3 filters that, at stride 2 with padding 1, pick the 4 pixels of each 2x2 block.

    ``F.conv2d(x, w, stride=2, padding=1)[:, c, a, b] = x[:, 0, 2a + du, 2b + dv]`` with
    ``(du, dv) = (0, 0), (0, 1), (1, 0), (1, 1)`` for ``c = 0, 1, 2, 3``: output ``(a, b)`` is
    centred on input ``(2a, 2b)`` (tap ``(1, 1)`` of the correlation), so filter ``c`` is a
    single 1 at tap ``(1 + du, 1 + dv)``. For even ``H``, ``W`` every pixel appears exactly once
    (the taps in row/column 0 would read the padding or the previous block: unused).

    Returns
    -------
    torch.Tensor
        ``(4, 1, 3, 3)`` float32, the weight of the cheat's second layer.

    Examples
    --------
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.conv2d(x, pixel_pick_filters(), stride=2, padding=1)[0, :, 0, 0].tolist()
    [0.0, 1.0, 4.0, 5.0]
    """
    w = torch.zeros(4, 1, 3, 3)
    for c, (du, dv) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        w[c, 0, 1 + du, 1 + dv] = 1.0
    return w


def cheating_autoencoder() -> nn.Sequential:
    """The lecture's cheat: two encoder and two decoder layers that copy the input exactly.

    * L1 ``Conv2d(1, 1, 3, padding=1)``: a 3x3 filter reporting the centre pixel, then ReLU
      (a non-negative pixel passes unchanged);
    * L2 ``Conv2d(1, 4, 3, stride=2, padding=1)`` with :func:`pixel_pick_filters` ("mild
      ingenuity with multiple filters"), then ReLU: the 4 pixels of each 2x2 block become the
      4 channels of a half-size representation;
    * L3 ``ConvTranspose2d(4, 1, 2, stride=2)``: channel ``(du, dv)`` goes back to offset
      ``(du, dv)`` of its block;
    * L4 ``Conv2d(1, 1, 1)`` with weight 1 (the identity).

    All biases are 0. For every non-negative image with even ``H`` and ``W`` the output equals
    the input, so the loss on (clean, clean) pairs is zero, the representation is useless, and
    a noisy (non-negative) input comes out exactly as noisy: it does not denoise. This is why a
    denoising autoencoder is trained on (noisy, clean) pairs.

    Examples
    --------
    >>> x = torch.rand(2, 1, 6, 8)
    >>> bool(torch.equal(cheating_autoencoder()(x), x))
    True
    """
    l1 = nn.Conv2d(1, 1, 3, padding=1)
    l2 = nn.Conv2d(1, 4, 3, stride=2, padding=1)
    l3 = nn.ConvTranspose2d(4, 1, 2, stride=2)
    l4 = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        l1.weight.zero_()
        l1.weight[0, 0, 1, 1] = 1.0
        l2.weight.copy_(pixel_pick_filters())
        # ConvTranspose2d weight (C_in=4, C_out=1, 2, 2):
        # out[2a + du, 2b + dv] += w[c, 0, du, dv] z[c, a, b]
        l3.weight.copy_(pixel_pick_filters()[:, :, 1:, 1:])
        l4.weight.fill_(1.0)
        for layer in (l1, l2, l3, l4):
            layer.bias.zero_()
    return nn.Sequential(l1, nn.ReLU(), l2, nn.ReLU(), l3, l4)


# ============================================================================================
# Self-demo
# ============================================================================================


def _demo() -> None:
    """``python -m convlab.models``: the lecture's receptive fields and the cheat, checked."""
    print("two 3x3 stride-1 layers:", receptive_field([(3, 1), (3, 1)]))
    print("3x3 s1 then 3x3 s2:     ", receptive_field([(3, 1, 1), (3, 2, 1)]))
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, 2, 1))
    print("formula == autograd for that stack:", empirical_receptive_field(net, 15) == (5, 5))
    dae = DenoisingAutoencoder((1, 16, 32))
    print("encoder of DenoisingAutoencoder((1, 16, 32)):", receptive_field(dae.encoder))
    print(
        "formula == autograd for the encoder:",
        empirical_receptive_field(dae.encoder, 32) == (receptive_field(dae.encoder).size,) * 2,
    )
    print("one output pixel of the whole DAE depends on", empirical_receptive_field(dae, 32))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 8, 10, generator=g)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    cheat = cheating_autoencoder()
    with torch.no_grad():
        print("cheat reproduces clean images exactly:", torch.equal(cheat(x), x))
        print("cheat returns the noisy input unchanged:", torch.equal(cheat(noisy), noisy))


if __name__ == "__main__":
    _demo()
