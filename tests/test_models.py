"""convlab.models against independent references: the lecture's numbers worked by hand, the
receptive-field recursion vs the support of autograd gradients (and vs the set of input pixels
reachable through the taps), shapes, and the cheating autoencoder on exact data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convlab import models as M
from convlab.transposed import conv_output_size

# ---------------------------------------------------------------------------------------------
# Receptive fields: the lecture's numbers, by hand
# ---------------------------------------------------------------------------------------------


def test_two_3x3_stride_1_layers_see_5x5():
    assert M.receptive_field([(3, 1), (3, 1)]) == M.ReceptiveField(size=5, jump=1, start=2.0)


def test_3x3_s1_then_3x3_s2_see_5x5_with_jump_2():
    # padded ("same") layers: output 0 is centred on input pixel 0, outputs 2 pixels apart
    assert M.receptive_field([(3, 1, 1), (3, 2, 1)]) == M.ReceptiveField(5, 2, 0.0)
    # stride 2 first: the second layer's taps are 2 input pixels apart -> 3 + 2*2 = 7
    assert M.receptive_field([(3, 2), (3, 1)]) == M.ReceptiveField(7, 2, 3.0)


@pytest.mark.parametrize(
    ("layers", "size", "jump"),
    [
        ([(3, 1)] * 3, 7, 1),  # three 3x3 = one 7x7 (VGG's argument)
        ([(3, 2, 1)] * 2, 7, 4),  # the default encoder: 3 + 2*2
        ([(3, 2, 1)] * 3, 15, 8),  # 7 + 2*4
        ([(2, 2), (2, 2), (2, 2)], 8, 8),  # non-overlapping 2x2 pools tile the input
        ([(3, 1, 0, 2)], 5, 1),  # dilation 2: taps at -2, 0, 2
        ([(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)], 15, 1),  # 1 + 2 + 4 + 8 (WaveNet-like)
        ([(1, 1)], 1, 1),
    ],
)
def test_hand_worked_fields(layers, size, jump):
    rf = M.receptive_field(layers)
    assert (rf.size, rf.jump) == (size, jump)


def test_default_encoder_field_and_bounds():
    rf = M.receptive_field(M.encoder((1, 16, 32)))
    assert rf == M.ReceptiveField(7, 4, 0.0)
    # output 2 is centred on input pixel 8 and sees 5..11
    assert rf.bounds(2) == (5, 11)


# ---------------------------------------------------------------------------------------------
# Receptive fields: formula vs autograd on many random stacks
# ---------------------------------------------------------------------------------------------


def _random_stack(rng: np.random.Generator):
    """Random (kernel, stride, padding, dilation) layers and the equivalent nn.Sequential."""
    specs, mods, c = [], [], 1
    for _ in range(rng.integers(1, 5)):
        kind = rng.choice(["conv", "conv", "max", "avg"])
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 3))
        d = int(rng.integers(1, 3)) if kind != "avg" else 1
        k_eff = d * (k - 1) + 1
        p_max = {"conv": 2, "max": k_eff // 2, "avg": k // 2}[kind]  # torch's pooling limits
        p = int(rng.integers(0, p_max + 1))
        specs.append((k, s, p, d))
        if kind == "conv":
            c_out = int(rng.integers(1, 3))
            mods.append(nn.Conv2d(c, c_out, k, s, p, d))
            c = c_out
        elif kind == "max":
            mods.append(nn.MaxPool2d(k, s, p, d))
        else:
            mods.append(nn.AvgPool2d(k, s, p))
        if rng.random() < 0.5:
            mods.append(nn.ReLU())
    if mods and not isinstance(mods[0], nn.Conv2d):
        mods.insert(0, nn.Conv2d(1, 1, 1))  # lets empirical_receptive_field infer 1 channel
    return specs, nn.Sequential(*mods)


def _reachable(specs, index, n):
    """Input pixels (1-D) reachable from output ``index`` along paths that stay inside every
    layer's input: walk the layers backwards, output q of a layer reads its input positions
    q s - p + d u (u = 0..k-1), keeping those inside [0, n_l). Independent of the
    (size, jump, start) recursion: it enumerates the paths."""
    sizes = [n]
    for k, s, p, d in specs:
        sizes.append(conv_output_size(sizes[-1], k, s, p, d))
    reach = {index}
    for (k, s, p, d), n_in in zip(specs[::-1], sizes[-2::-1], strict=True):
        reach = {q * s - p + d * u for q in reach for u in range(k)}
        reach = {r for r in reach if 0 <= r < n_in}
    return sorted(reach)


def _fitting_size(specs):
    """Smallest n whose centre output's field lies inside the input (found by stepping n)."""
    rf = M.receptive_field(specs)
    n = rf.size
    while True:
        try:
            o = n
            for k, s, p, d in specs:
                o = conv_output_size(o, k, s, p, d)
        except ValueError:
            n += 1
            continue
        first, last = rf.bounds(o // 2)
        if first >= 0 and last <= n - 1:
            return n, o
        n += 1


@pytest.mark.parametrize("seed", range(40))
def test_formula_equals_autograd_support_on_random_stacks(seed):
    rng = np.random.default_rng(seed)
    specs, net = _random_stack(rng)
    rf = M.receptive_field(specs)
    assert M.receptive_field(net) == rf  # the module walker reads the same numbers
    n, o = _fitting_size(specs)
    extent, gmap = M.empirical_receptive_field(net, n, return_map=True)
    assert extent == (rf.size, rf.size)
    # exact support: the outer product of the reachable 1-D sets (holes included)
    taps = _reachable(specs, o // 2, n)
    expected = torch.zeros(n, n, dtype=torch.bool)
    expected[np.ix_(taps, taps)] = True
    assert torch.equal(gmap > 0, expected)
    assert (min(taps), max(taps)) == rf.bounds(o // 2)


@pytest.mark.parametrize("seed", range(20))
def test_border_outputs_lose_the_parts_of_their_field_in_the_padding(seed):
    rng = np.random.default_rng(100 + seed)
    specs = [
        (int(rng.integers(1, 6)), int(rng.integers(1, 3)), int(rng.integers(0, 3)), 1)
        for _ in range(rng.integers(1, 4))
    ]
    net = nn.Sequential(*(nn.Conv2d(1, 1, k, s, p, d) for k, s, p, d in specs))
    rf = M.receptive_field(specs)
    n = rf.size + 4
    o = n
    for k, s, p, d in specs:
        o = conv_output_size(o, k, s, p, d)
    _, gmap = M.empirical_receptive_field(net, n, out_index=(0, o - 1), return_map=True)
    rows, cols = _reachable(specs, 0, n), _reachable(specs, o - 1, n)
    expected = torch.zeros(n, n, dtype=torch.bool)
    expected[np.ix_(rows, cols)] = True
    assert torch.equal(gmap > 0, expected)
    # the recursion's bounds, clipped to the image, contain the support (padding at an inner
    # layer can cut it further: a border field is not simply the clipped interior one)
    for idx, support in ((0, rows), (o - 1, cols)):
        first, last = rf.bounds(idx)
        assert all(max(first, 0) <= t <= min(last, n - 1) for t in support)


def test_empirical_field_is_structural_despite_dead_relus_and_leaves_net_untouched():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 1, 3))
    with torch.no_grad():
        net[0].bias.fill_(-100.0)  # every ReLU is dead: the real gradient is zero
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.rand(1, 1, 16, 16, requires_grad=True)
    net(x)[0, 0, 2, 2].backward()
    assert x.grad.abs().sum() == 0
    assert M.empirical_receptive_field(net, 16) == (M.receptive_field(net).size,) * 2 == (8, 8)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_anisotropic_kernels_need_a_dimension():
    net = nn.Sequential(nn.Conv2d(1, 1, (3, 5)), nn.Conv2d(1, 1, 3, stride=(1, 2)))
    with pytest.raises(ValueError, match="dim=0"):
        M.receptive_field(net)
    assert M.receptive_field(net, dim=0).size == 5
    assert M.receptive_field(net, dim=1).size == 7
    assert M.empirical_receptive_field(net, 21) == (5, 7)


def test_same_padding_module():
    net = nn.Sequential(nn.Conv2d(1, 1, 5, padding="same"), nn.Conv2d(1, 1, 3, padding="valid"))
    assert M.receptive_field(net) == M.receptive_field([(5, 1, 2), (3, 1, 0)])


def test_nested_sequentials_are_walked_in_order():
    inner = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.ReLU())
    net = nn.Sequential(inner, nn.Sequential(nn.Conv2d(1, 1, 3), nn.Identity()))
    assert M.receptive_field(net) == M.receptive_field([(3, 2), (3, 1)])


def test_decoder_field_measured_by_autograd_matches_hand_count():
    # nearest x2 then a 3x3 conv: output row i reads upsampled rows i-1..i+1, i.e. input rows
    # floor((i-1)/2)..floor((i+1)/2): always 2 rows of the input
    dec = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3, padding=1))
    for i in (4, 5):
        _, gmap = M.empirical_receptive_field(dec, 8, (i, i), return_map=True)
        rows = torch.nonzero(gmap.sum(1)).flatten().tolist()
        assert rows == [(i - 1) // 2, (i + 1) // 2]


def test_empirical_field_of_the_dae():
    dae = M.DenoisingAutoencoder((1, 4, 8))
    h, w = M.empirical_receptive_field(dae, 32)
    assert h == w and 7 <= h <= 7 + 2 * 4  # at least the encoder's field, widened by decoding


# ---------------------------------------------------------------------------------------------
# Receptive fields: bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "err", "match"),
    [
        ([(3,)], ValueError, "2 to 4"),
        ([(3, 1, 0, 1, 1)], ValueError, "2 to 4"),
        ([(0, 1)], ValueError, "kernel"),
        ([(3, 0)], ValueError, "stride"),
        ([(3, 1, -1)], ValueError, "padding"),
        ([(3, 1, 0, 0)], ValueError, "dilation"),
        ([(3.0, 1)], TypeError, "kernel"),
        ([3], TypeError, "layers\\[0\\]"),
        ("33", TypeError, "layers"),
        (3, TypeError, "layers"),
        (nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten()), TypeError, "Flatten"),
        (nn.Linear(3, 3), TypeError, "Linear"),
    ],
)
def test_receptive_field_bad_input(layers, err, match):
    with pytest.raises(err, match=match):
        M.receptive_field(layers)


@pytest.mark.parametrize(
    "net",
    [
        nn.Sequential(nn.Conv2d(1, 1, 3), nn.ConvTranspose2d(1, 1, 2, stride=2)),
        nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3)),
        M.DenoisingAutoencoder().decoder,
    ],
)
def test_upsampling_is_not_described_by_the_recursion(net):
    with pytest.raises(NotImplementedError, match="empirical_receptive_field"):
        M.receptive_field(net)


def test_receptive_field_bad_dim_and_empirical_bad_input():
    with pytest.raises(ValueError, match="dim"):
        M.receptive_field([(3, 1)], dim=2)
    net = nn.Sequential(nn.Conv2d(1, 1, 3))
    with pytest.raises(TypeError, match="net"):
        M.empirical_receptive_field([(3, 1)], 8)
    with pytest.raises(ValueError, match="out_index"):
        M.empirical_receptive_field(net, 8, out_index=(6, 0))
    with pytest.raises(ValueError, match="input_size"):
        M.empirical_receptive_field(net, (8, 8, 8))
    with pytest.raises(ValueError, match="in_channels"):
        M.empirical_receptive_field(nn.Sequential(nn.AvgPool2d(2)), 8)
    assert M.empirical_receptive_field(nn.Sequential(nn.AvgPool2d(2)), 8, in_channels=1) == (2, 2)
    with pytest.raises(ValueError, match="index"):
        M.ReceptiveField(3, 1, 1.0).bounds(-1)


# ---------------------------------------------------------------------------------------------
# Encoder, decoder, denoising autoencoder
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "kernel", "size"),
    [((1, 16, 32), 3, (32, 32)), ((1, 8), 5, (6, 10)), ((3, 4, 8, 16), 3, (24, 40))],
)
def test_dae_shapes(channels, kernel, size):
    torch.manual_seed(0)
    dae = M.DenoisingAutoencoder(channels, kernel)
    x = torch.rand(2, channels[0], *size)
    m = 2 ** (len(channels) - 1)
    code = dae.representation(x)
    assert code.shape == (2, channels[-1], size[0] // m, size[1] // m)
    assert tuple(code.shape[1:]) == dae.code_shape(*size)
    assert dae(x).shape == x.shape
    assert bool((code >= 0).all())  # the encoder ends with a ReLU
    assert torch.equal(dae(x), dae.decoder(dae.encoder(x)))


@pytest.mark.parametrize(("h", "stride"), [(7, 2), (28, 2), (9, 3), (5, 1)])
def test_encoder_stage_sizes_and_structure(h, stride):
    enc = M.encoder((1, 4, 8), kernel=3, stride=stride)
    assert [type(m) for m in enc] == [nn.Conv2d, nn.ReLU, nn.Conv2d, nn.ReLU]
    assert all(c.padding == (1, 1) and c.stride == (stride, stride) for c in enc[::2])
    out = enc(torch.rand(1, 1, h, h))
    expected = math.ceil(math.ceil(h / stride) / stride)
    assert out.shape == (1, 8, expected, expected)


def test_decoder_structure_and_nearest_upsampling_by_hand():
    torch.manual_seed(1)
    dec = M.decoder((4, 2, 1), kernel=3)
    assert [type(m) for m in dec] == [nn.Upsample, nn.Conv2d, nn.ReLU, nn.Upsample, nn.Conv2d]
    z = torch.randn(2, 4, 3, 5)
    y = z
    for conv in (dec[1], dec[4]):
        y = y.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
        y = F.conv2d(y, conv.weight, conv.bias, padding=1)
        if conv is dec[1]:
            y = y.relu()
    torch.testing.assert_close(dec(z), y)
    assert M.decoder((4, 1), mode="bilinear")(z).shape == (2, 1, 6, 10)


def test_dae_size_and_input_errors():
    dae = M.DenoisingAutoencoder((1, 4, 8))
    for shape in [(1, 1, 30, 32), (1, 1, 32, 30), (1, 1, 6, 8)]:
        with pytest.raises(ValueError, match="divisible by 2\\*\\*stages = 4"):
            dae(torch.zeros(shape))
    with pytest.raises(ValueError, match="\\(N, 1, H, W\\)"):
        dae(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="\\(N, 1, H, W\\)"):
        dae.representation(torch.zeros(32, 32))
    with pytest.raises(TypeError, match="x must be"):
        dae(np.zeros((1, 1, 32, 32)))


@pytest.mark.parametrize(
    ("make", "err", "match"),
    [
        (lambda: M.encoder((1,)), ValueError, "at least 2"),
        (lambda: M.encoder((1, 0)), ValueError, "channels\\[1\\]"),
        (lambda: M.encoder(16), TypeError, "channels"),
        (lambda: M.encoder(kernel=4), ValueError, "odd"),
        (lambda: M.encoder(stride=0), ValueError, "stride"),
        (lambda: M.decoder(mode="cubic"), ValueError, "mode"),
        (lambda: M.decoder(scale=1.5), TypeError, "scale"),
        (lambda: M.DenoisingAutoencoder((1, 8), kernel=2), ValueError, "odd"),
    ],
)
def test_builder_bad_input(make, err, match):
    with pytest.raises(err, match=match):
        make()


# ---------------------------------------------------------------------------------------------
# The cheat
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("h", "w"), [(2, 2), (4, 6), (16, 16), (10, 32)])
def test_pixel_pick_filters_pick_every_pixel_exactly_once(h, w):
    wgt = M.pixel_pick_filters()
    assert wgt.shape == (4, 1, 3, 3)
    assert torch.equal(wgt.sum(dim=(1, 2, 3)), torch.ones(4))  # one tap each
    x = torch.arange(1.0, h * w + 1).reshape(1, 1, h, w)  # distinct, and none equal to padding
    z = F.conv2d(x, wgt, stride=2, padding=1)
    assert z.numel() == h * w
    assert torch.equal(z.flatten().sort().values, x.flatten())
    for c, (du, dv) in enumerate(itertools.product((0, 1), (0, 1))):  # channel c = block offset
        assert torch.equal(z[0, c], x[0, 0, du::2, dv::2])


@pytest.mark.parametrize(("h", "w"), [(2, 4), (8, 8), (12, 20)])
def test_cheat_copies_non_negative_images_and_does_not_denoise(h, w):
    g = torch.Generator().manual_seed(h * w)
    cheat = M.cheating_autoencoder()
    assert sum(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in cheat) == 4
    clean = torch.rand(5, 1, h, w, generator=g)
    noisy = (clean + 0.2 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    with torch.no_grad():
        assert torch.equal(cheat(clean), clean)  # zero loss on (clean, clean) pairs
        assert F.mse_loss(cheat(clean), clean) == 0
        out = cheat(noisy)
    assert torch.equal(out, noisy)  # ... so the noise goes straight through
    assert F.mse_loss(out, clean) == F.mse_loss(noisy, clean) > 0


def test_cheat_needs_non_negative_input_and_even_size():
    cheat = M.cheating_autoencoder()
    x = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(cheat(x), x.relu())  # negative pixels are cut by the ReLUs
        assert cheat(torch.rand(1, 1, 5, 5)).shape == (1, 1, 6, 6)
