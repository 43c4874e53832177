"""convlab.cnns against independent references: parameter counts worked by hand (and the
papers' published totals), receptive fields measured by autograd
(convlab.models.empirical_receptive_field) against the hand formulas, the residual
conventions as identities, SRCNN against a torch.nn.functional chain, the U-Net's skip
connections (they concatenate, and they matter), bad input, and a few training steps."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convlab.cnns import SRCNN, VDSR, DnCNN, UNet, n_parameters
from convlab.models import empirical_receptive_field, receptive_field
from convlab.train import train_denoiser


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _batch(n=2, c=1, h=16, w=16, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------
# Shapes: every network keeps (N, C, H, W)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda c: DnCNN(depth=3, width=4, channels=c),
        lambda c: SRCNN(channels=c, widths=(4, 3)),
        lambda c: SRCNN(channels=c, widths=(4, 3, 2), kernels=(5, 3, 1, 3)),
        lambda c: VDSR(depth=3, width=4, channels=c),
        lambda c: UNet(c, c, widths=(2, 4, 8)),
        lambda c: UNet(c, c, widths=(2, 4, 8), up="bilinear", residual=True),
    ],
)
@pytest.mark.parametrize(("n", "c", "h", "w"), [(1, 1, 16, 16), (3, 1, 24, 40), (2, 3, 8, 12)])
def test_output_keeps_the_input_shape(make, n, c, h, w):
    x = _batch(n, c, h, w)
    assert make(c)(x).shape == (n, c, h, w)


def test_unet_segmentation_logits_have_one_channel_per_class():
    assert UNet(3, 5, widths=(2, 4))(_batch(2, 3, 8, 8)).shape == (2, 5, 8, 8)


# ---------------------------------------------------------------------------------------------
# Parameter counts by hand, and the papers' totals
# ---------------------------------------------------------------------------------------------


def test_dncnn_parameters_by_hand():
    # DnCNN(3, 2): conv 1->2 (18 + 2 bias), conv 2->2 without bias (36) + BN (2 gamma + 2 beta),
    # conv 2->1 (18 + 1 bias)
    assert n_parameters(DnCNN(depth=3, width=2)) == 20 + 40 + 19
    d, w, c = 17, 64, 1  # the paper's configuration
    by_hand = (9 * c * w + w) + (d - 2) * (9 * w * w + 2 * w) + (9 * w * c + c)
    assert n_parameters(DnCNN(d, w, c)) == by_hand == 556_097
    # BN running statistics are buffers, not parameters
    assert n_parameters(DnCNN(3, 2), trainable_only=False) == 79


def test_srcnn_has_the_papers_8032_weights():
    # Dong et al. (2015), 9-1-5 with n1 = 64, n2 = 32: 9*9*64 + 64*32 + 5*5*32 = 8032 weights,
    # plus 64 + 32 + 1 biases
    assert n_parameters(SRCNN()) == 8032 + 64 + 32 + 1
    # 3 channels, 9-5-5: (3*81*64 + 64) + (64*25*32 + 32) + (32*25*3 + 3)
    net = SRCNN(channels=3, kernels=(9, 5, 5))
    assert n_parameters(net) == 15616 + 51232 + 2403


def test_vdsr_has_about_the_papers_665k_parameters():
    # 20 layers of 3x3, 64 wide: (9*64 + 64) + 18*(9*64*64 + 64) + (9*64 + 1)
    assert n_parameters(VDSR()) == 640 + 18 * 36_928 + 577 == 665_921


def test_unet_parameters_by_hand():
    # UNet(widths=(2, 4)), 1 -> 1 channel:
    #   encoder 0:  conv 1->2 (18 + 2), conv 2->2 (36 + 2)            = 58
    #   bottleneck: conv 2->4 (72 + 4), conv 4->4 (144 + 4)           = 224
    #   up:         ConvTranspose2d(4, 2, 2): 4*2*2*2 + 2             = 34
    #   decoder 0:  conv (2 up + 2 skip)->2 (72 + 2), conv 2->2 (38)  = 112
    #   head:       1x1 conv 2->1 (2 + 1)                             = 3
    assert n_parameters(UNet(widths=(2, 4))) == 58 + 224 + 34 + 112 + 3 == 431
    # bilinear: no up weights, the decoder's first conv takes (4 up + 2 skip) -> 2: 108 + 2
    assert n_parameters(UNet(widths=(2, 4), up="bilinear")) == 58 + 224 + 110 + 38 + 3


def test_dncnn_layer_structure():
    net = DnCNN(depth=6, width=8)
    convs = [m for m in net.body if isinstance(m, nn.Conv2d)]
    assert len(convs) == 6
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.body) == 4
    assert sum(isinstance(m, nn.ReLU) for m in net.body) == 5
    assert [m.bias is None for m in convs] == [False, True, True, True, True, False]
    assert all(m.kernel_size == (3, 3) and m.padding == (1, 1) for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in VDSR(6, 8).modules())


# ---------------------------------------------------------------------------------------------
# Receptive fields: autograd support vs the hand formulas
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [2, 3, 5, 8])
def test_dncnn_and_vdsr_see_2d_plus_1_pixels(depth):
    for net in (DnCNN(depth, 4), VDSR(depth, 4)):
        assert net.receptive_field == 2 * depth + 1
        # the whole net (residual included) and the body, measured on a large enough image
        assert empirical_receptive_field(net, 2 * depth + 9) == (2 * depth + 1,) * 2
        assert empirical_receptive_field(net.body, 2 * depth + 9) == (2 * depth + 1,) * 2
        assert receptive_field(net.body).size == 2 * depth + 1  # the recursion agrees


@pytest.mark.parametrize(
    ("kernels", "size"), [((9, 1, 5), 9 + 1 + 5 - 2), ((9, 5, 5), 17), ((3, 3, 3), 7)]
)
def test_srcnn_receptive_field(kernels, size):
    net = SRCNN(widths=(4, 2), kernels=kernels)
    assert net.receptive_field == size
    assert empirical_receptive_field(net, 31) == (size, size)


@pytest.mark.parametrize(("up", "size"), [("transpose", 18), ("bilinear", 20)])
def test_unet_receptive_field_by_hand(up, size):
    # UNet(widths=(2, 4)), output pixel p = 2t (even), 1D. Skip path: two decoder convs see
    # p-2..p+2, the encoder's two convs widen that to p-4..p+4 (9). Up path: up[q] reads
    # bottleneck pixel b = floor(q/2) (transpose), or b and a neighbour (bilinear, half-pixel
    # centres: q = 2t -> t-1, t; q = 2t+1 -> t, t+1). Bottleneck b sees pooled b-2..b+2,
    # pooled m sees encoder 2m, 2m+1, i.e. input 2m-2..2m+3: b sees input 2b-6..2b+7.
    # transpose: q in p-2..p+2 -> b in t-1..t+1 -> input p-8..p+9: 18 pixels.
    # bilinear:  q = p-2 = 2(t-1) -> b = t-2, t-1; q = p+2 = 2(t+1) -> b = t, t+1: so b in
    #            t-2..t+1 -> input p-10..p+9: 20 pixels.
    net = UNet(widths=(2, 4), up=up)
    assert empirical_receptive_field(net, 64) == (size, size)
    assert empirical_receptive_field(net, 64, (31, 33)) == (size, size)  # odd p too


# ---------------------------------------------------------------------------------------------
# Residual conventions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("train", [True, False])
def test_dncnn_returns_y_minus_its_noise_estimate(train):
    net = DnCNN(depth=4, width=6).train(train)
    y = _batch(4, 1, 12, 12)
    with torch.no_grad():
        f = net.body(y)  # the body directly, not through .noise
        assert torch.equal(net.noise(y), f)
        assert torch.equal(net(y), y - f)
        assert not torch.allclose(net(y), y)  # a fresh body is not zero


def test_dncnn_losses_on_noise_and_on_clean_are_the_same():
    # the lecture's ||f(Y) - (Y - X)||^2 == ||(Y - f(Y)) - X||^2, gradients included
    net = DnCNN(depth=3, width=4)
    x = _batch(3, 1, 10, 10, seed=1)
    y = x + 0.1 * _batch(3, 1, 10, 10, seed=2)
    on_noise = F.mse_loss(net.noise(y), y - x, reduction="sum")
    g_noise = torch.autograd.grad(on_noise, list(net.parameters()))
    on_clean = F.mse_loss(net(y), x, reduction="sum")
    g_clean = torch.autograd.grad(on_clean, list(net.parameters()))
    torch.testing.assert_close(on_noise, on_clean)
    for a, b in zip(g_noise, g_clean, strict=True):
        torch.testing.assert_close(a, b)


def test_vdsr_with_the_last_conv_zeroed_is_the_identity():
    net = VDSR(depth=5, width=6)
    y = _batch(2, 1, 12, 12)
    with torch.no_grad():
        assert not torch.allclose(net(y), y)
        torch.testing.assert_close(net(y), y + net.body(y), rtol=0, atol=0)
        net.body[-1].weight.zero_()
        net.body[-1].bias.zero_()
        assert torch.equal(net(y), y)


def test_unet_residual_adds_the_input():
    plain = UNet(widths=(2, 4, 8))
    res = UNet(widths=(2, 4, 8), residual=True)
    res.load_state_dict(plain.state_dict())
    x = _batch(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(res(x), x + plain(x))


# ---------------------------------------------------------------------------------------------
# SRCNN vs an independent functional chain (correlation, zero padding k // 2)
# ---------------------------------------------------------------------------------------------


def test_srcnn_equals_a_functional_conv_chain():
    net = SRCNN(channels=2, widths=(5, 3), kernels=(9, 1, 5))
    x = _batch(2, 2, 20, 20)
    c1, c2, c3 = (m for m in net.body if isinstance(m, nn.Conv2d))
    h = F.relu(F.conv2d(x, c1.weight, c1.bias, padding=4))
    h = F.relu(F.conv2d(h, c2.weight, c2.bias, padding=0))
    ref = F.conv2d(h, c3.weight, c3.bias, padding=2)
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref)


# ---------------------------------------------------------------------------------------------
# U-Net skip connections: they concatenate, and they matter
# ---------------------------------------------------------------------------------------------


def test_unet_skips_are_concatenated_after_the_upsampled_features():
    net = UNet(widths=(2, 4, 8))
    seen = {}
    net.decoders[0].register_forward_pre_hook(lambda m, args: seen.update(dec0=args[0]))
    net.encoders[0].register_forward_hook(lambda m, args, out: seen.update(enc0=out))
    net.ups[0].register_forward_hook(lambda m, args, out: seen.update(up0=out))
    with torch.no_grad():
        net(_batch(1, 1, 16, 16))
    assert seen["dec0"].shape == (1, 2 + 2, 16, 16)
    assert torch.equal(seen["dec0"][:, :2], seen["up0"])
    assert torch.equal(seen["dec0"][:, 2:], seen["enc0"])


@pytest.mark.parametrize("up", ["transpose", "bilinear"])
def test_unet_skip_connections_matter(up):
    net = UNet(widths=(2, 4, 8), up=up)
    x = _batch(2, 1, 16, 16)
    with torch.no_grad():
        full, no_skips = net(x), net(x, skips=False)
        assert not torch.allclose(full, no_skips)
        # skips=False is "zero the encoder outputs the decoder concatenates" and nothing else:
        # do it independently with hooks that zero the skip half of each decoder input
        hooks = []
        for dec in net.decoders:
            n_skip = dec[0].out_channels  # skip l has w_l channels, as the block's output

            def zero_skip(m, args, n_skip=n_skip):
                z = args[0].clone()
                z[:, -n_skip:] = 0
                return (z,)

            hooks.append(dec.register_forward_pre_hook(zero_skip))
        torch.testing.assert_close(net(x), no_skips, rtol=0, atol=0)
        for h in hooks:
            h.remove()
        torch.testing.assert_close(net(x), full, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: DnCNN(depth=1), ValueError, "depth"),
        (lambda: DnCNN(depth=4.0), TypeError, "depth"),
        (lambda: DnCNN(width=0), ValueError, "width"),
        (lambda: VDSR(channels=True), TypeError, "channels"),
        (lambda: VDSR(depth=1), ValueError, "depth"),
        (lambda: SRCNN(kernels=(9, 2, 5)), ValueError, "odd"),
        (lambda: SRCNN(kernels=(9, 5)), ValueError, "kernels"),
        (lambda: SRCNN(widths=()), ValueError, "widths"),
        (lambda: SRCNN(widths=64), TypeError, "widths"),
        (lambda: UNet(widths=(8,)), ValueError, "widths"),
        (lambda: UNet(widths="abc"), TypeError, "widths"),
        (lambda: UNet(up="nearest"), ValueError, "up"),
        (lambda: UNet(1, 2, residual=True), ValueError, "in_channels"),
        (lambda: UNet(residual=1), TypeError, "residual"),
    ],
)
def test_bad_construction_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize(
    "net", [DnCNN(3, 2), SRCNN(widths=(2, 2)), VDSR(3, 2), UNet(widths=(2, 4, 8))]
)
def test_bad_inputs(net):
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        net(_batch().numpy())
    with pytest.raises(TypeError, match="floating"):
        net(torch.ones(1, 1, 16, 16, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"x\[None, None\]"):
        net(torch.rand(16, 16))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        net(torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize(("widths", "hw"), [((2, 4), (15, 16)), ((2, 4, 8), (16, 18))])
def test_unet_rejects_sizes_it_cannot_halve(widths, hw):
    net = UNet(widths=widths)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*\\(len\\(widths\\) - 1\\) = "):
        net(torch.rand(1, 1, *hw))
    with pytest.raises(TypeError, match="skips"):
        net(torch.rand(1, 1, 16, 16), skips="no")
    with pytest.raises(TypeError, match="skips"):
        UNet(widths=widths, skips=0)


# ---------------------------------------------------------------------------------------------
# A few training steps with convlab.train.train_denoiser reduce the loss
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: DnCNN(depth=3, width=8),
        lambda: SRCNN(widths=(8, 4), kernels=(5, 1, 3)),
        lambda: VDSR(depth=3, width=8),
        lambda: UNet(widths=(4, 8), residual=True),
    ],
)
def test_a_few_training_steps_reduce_the_loss(make):
    g = torch.Generator().manual_seed(0)
    clean = F.interpolate(torch.rand(16, 1, 4, 4, generator=g), size=(16, 16), mode="bilinear")
    net = make()
    h = train_denoiser(
        net,
        clean,
        corrupt=("gaussian", 0.1),
        steps=40,
        batch_size=8,
        lr=1e-2,
        generator=g,
        progress=False,
    )
    first, last = sum(h.losses[:5]) / 5, sum(h.losses[-5:]) / 5
    assert last < 0.7 * first, (first, last)
