"""convlab.transposed against torch.nn.functional, dense matrices and the lectures' numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab import transposed as T

DT = torch.float64


def _rand(*shape, seed=0, dtype=DT):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Lecture numbers
# ---------------------------------------------------------------------------------------------


def test_lecture_strided_valid_convolution_and_its_3x7_matrix():
    f = np.array([1, 0, -2, 3, 1, 2, -1.0])
    k = np.array([0.5, 1, 0.5])
    A = T.conv_layer_matrix(k[None, None], 7, stride=2).toarray()
    expected = np.array(
        [[0.5, 1, 0.5, 0, 0, 0, 0], [0, 0, 0.5, 1, 0.5, 0, 0], [0, 0, 0, 0, 0.5, 1, 0.5]]
    )
    np.testing.assert_array_equal(A, expected)
    np.testing.assert_array_equal(A @ f, [-0.5, 2.5, 2.0])
    y = torch.tensor([[[-0.5, 2.5, 2.0]]], dtype=DT)
    back = F.conv_transpose1d(y, torch.tensor(k)[None, None], stride=2)
    assert back.shape[-1] == 7
    np.testing.assert_allclose(back.flatten().numpy(), A.T @ y.flatten().numpy())


@pytest.mark.parametrize("method", T.METHODS)
def test_lecture_transposed_convolution_example(method):
    Y = torch.tensor([[[[0.0, 1], [2, 3]]]])
    out = T.conv_transpose(Y, Y.clone(), stride=2, method=method)
    expected = [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]
    assert out[0, 0].tolist() == expected


def test_lecture_trans_conv_verbatim_equals_library():
    Y, w, b = _rand(2, 3, 4, 5), _rand(3, 2, 2, 3, seed=1), _rand(2, seed=2)
    torch.testing.assert_close(T.trans_conv(Y, w, b), F.conv_transpose2d(Y, w, b))


def test_lecture_1d_transpose_formula():
    # (A^T y)_k = sum_{j=1}^{min(n-f+1, k)} w_{k-j+1} y_j   (1-based), the lecture's derivation
    rng = np.random.default_rng(0)
    n, f = 9, 4
    w, y = rng.standard_normal(f), rng.standard_normal(n - f + 1)
    A = T.conv_layer_matrix(w[None, None], n).toarray()
    formula = np.zeros(n)
    for k in range(1, n + 1):
        for j in range(max(1, k - f + 1), min(n - f + 1, k) + 1):
            formula[k - 1] += w[k - j] * y[j - 1]
    np.testing.assert_allclose(A.T @ y, formula, rtol=1e-14)


def test_lecture_bilinear_example():
    x = torch.tensor([[[[6.0, 8], [3, 4]]]], dtype=DT)
    up = torch.nn.Upsample(scale_factor=2, mode="bilinear")(x)[0, 0]
    expected = [
        [6.0, 6.5, 7.5, 8.0],
        [5.25, 5.6875, 6.5625, 7.0],
        [3.75, 4.0625, 4.6875, 5.0],
        [3.0, 3.25, 3.75, 4.0],
    ]
    assert up.tolist() == expected
    A = T.upsample_operator((1, 2, 2), scale_factor=2, mode="bilinear")
    assert (A @ x[0])[0].tolist() == expected


# ---------------------------------------------------------------------------------------------
# Convolution arithmetic over a grid, against torch
# ---------------------------------------------------------------------------------------------

GRID = list(itertools.product(range(1, 8), range(1, 4), range(1, 4), range(3), range(1, 3)))


def test_conv_output_size_matches_torch():
    for i, k, s, p, d in GRID:
        x, w = torch.zeros(1, 1, i), torch.zeros(1, 1, k)
        try:
            o = F.conv1d(x, w, stride=s, padding=p, dilation=d).shape[-1]
        except RuntimeError:
            with pytest.raises(ValueError):
                T.conv_output_size(i, k, s, p, d)
            continue
        assert T.conv_output_size(i, k, s, p, d) == o, (i, k, s, p, d)


def test_conv_transpose_output_size_matches_torch_and_rejects_what_torch_rejects():
    for (i, k, s, p, d), a in itertools.product(GRID[::2], range(3)):
        x, w = torch.zeros(1, 1, i), torch.zeros(1, 1, k)
        try:
            o = F.conv_transpose1d(x, w, stride=s, padding=p, dilation=d, output_padding=a)
        except RuntimeError:
            with pytest.raises(ValueError):
                T.conv_transpose_output_size(i, k, s, p, d, a)
            continue
        assert T.conv_transpose_output_size(i, k, s, p, d, a) == o.shape[-1], (i, k, s, p, d, a)


def test_output_padding_rule_stride_or_dilation():
    assert T.conv_transpose_output_size(3, 2, stride=1, dilation=2, output_padding=1) == 6
    with pytest.raises(ValueError, match="output_padding"):
        T.conv_transpose_output_size(3, 2, stride=2, dilation=1, output_padding=2)


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_size_matches_torch(ceil_mode):
    for i, k, s, p, d in itertools.product(range(1, 9), range(1, 4), range(1, 4), range(2), (1, 2)):
        x = torch.zeros(1, 1, i)
        try:
            o = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil_mode).shape[-1]
        except RuntimeError:
            with pytest.raises(ValueError):
                T.pool_output_size(i, k, s, p, d, ceil_mode)
            continue
        assert T.pool_output_size(i, k, s, p, d, ceil_mode) == o, (i, k, s, p, d, ceil_mode)
    assert T.pool_output_size(6, 2) == F.avg_pool1d(torch.zeros(1, 1, 6), 2).shape[-1]


def test_adjoint_output_padding_gives_back_the_input_length_and_dilation_matters():
    for n, k, s, p, d in GRID:
        try:
            m = T.conv_output_size(n, k, s, p, d)
        except ValueError:
            continue
        a = T.adjoint_output_padding(n, k, s, p, d)
        assert 0 <= a < s
        out = F.conv_transpose1d(
            torch.zeros(1, 1, m),
            torch.zeros(1, 1, k),
            stride=s,
            padding=p,
            dilation=d,
            output_padding=a,
        )
        assert out.shape[-1] == n, (n, k, s, p, d)
    # the dilation-free shortcut n - ((m-1)s + k - 2p) is wrong with dilation
    n, k, s, p, d = 9, 3, 2, 0, 2
    m = T.conv_output_size(n, k, s, p, d)
    assert n - ((m - 1) * s + k - 2 * p) != T.adjoint_output_padding(n, k, s, p, d)


def test_zero_insertion_plan_matches_dumoulin_visin_at_unit_dilation():
    for i, k, s, p in itertools.product(range(1, 6), range(1, 5), range(1, 4), range(3)):
        try:
            plan = T.zero_insertion_plan(i, k, s, p)
        except ValueError:
            continue
        assert plan.pad_before == k - p - 1  # D&V: p' = k - p - 1
        assert plan.stretched == i + (i - 1) * (s - 1)


# ---------------------------------------------------------------------------------------------
# Layer matrices vs F.conv2d / F.conv_transpose2d, and adjointness
# ---------------------------------------------------------------------------------------------

LAYER_CASES = [
    # (in_size, kernel, stride, padding, dilation, c_in, c_out)
    ((5, 5), (3, 3), 1, 0, 1, 1, 1),
    ((6, 5), (3, 2), 2, 1, 1, 2, 3),
    ((7, 6), (2, 3), (2, 1), (0, 1), (1, 2), 3, 2),
    ((8, 8), (3, 3), 3, 2, 2, 2, 2),
    ((5, 6), (1, 1), 2, 0, 1, 2, 1),
    ((9,), (3,), 2, 1, 2, 2, 3),
    ((7,), (3,), 2, 0, 1, 1, 1),
]


@pytest.mark.parametrize(("ins", "ks", "s", "p", "d", "ci", "co"), LAYER_CASES)
def test_layer_matrix_equals_conv_and_its_transpose_equals_conv_transpose(ins, ks, s, p, d, ci, co):
    B = 2
    w = _rand(co, ci, *ks, seed=1)
    x = _rand(B, ci, *ins, seed=2)
    conv = F.conv1d if len(ins) == 1 else F.conv2d
    tconv = F.conv_transpose1d if len(ins) == 1 else F.conv_transpose2d
    y = conv(x, w, stride=s, padding=p, dilation=d)
    A = T.conv_layer_matrix(w, ins, stride=s, padding=p, dilation=d, batch=B)
    np.testing.assert_allclose(A @ x.reshape(-1).numpy(), y.reshape(-1).numpy(), atol=1e-12)
    nd = len(ins)

    def tup(v):
        return (v,) * nd if isinstance(v, int) else v

    a = tuple(
        T.adjoint_output_padding(ins[j], ks[j], tup(s)[j], tup(p)[j], tup(d)[j]) for j in range(nd)
    )
    v = _rand(*y.shape, seed=3)
    back = tconv(v, w, stride=s, padding=p, dilation=d, output_padding=a)
    assert back.shape == x.shape
    np.testing.assert_allclose(A.T @ v.reshape(-1).numpy(), back.reshape(-1).numpy(), atol=1e-12)
    At = T.conv_transpose_layer_matrix(
        w, y.shape[2:], stride=s, padding=p, dilation=d, output_padding=a, batch=B
    )
    assert (At != A.T).nnz == 0
    # dot test of the torch pair, normalised, float64
    op = T.conv_operator(w, ins, stride=s, padding=p, dilation=d, method="fold")
    res = op.adjoint_test(seed=4)
    assert res.passed, res.error


def test_conv_transpose_matrix_when_output_padding_reaches_the_stride():
    # s=1, d=2, a=1 is legal in torch; the transposed conv is then the adjoint of a *cropped* conv
    w = _rand(2, 3, 3, seed=5)
    At = T.conv_transpose_layer_matrix(w, 4, stride=1, dilation=2, output_padding=1)
    Y = _rand(1, 2, 4, seed=6)
    out = F.conv_transpose1d(Y, w, stride=1, dilation=2, output_padding=1)
    np.testing.assert_allclose(At @ Y.reshape(-1).numpy(), out.reshape(-1).numpy(), atol=1e-12)


def test_layer_matrix_catches_a_wrong_adjoint():
    # every check can fail: a conv_transpose with the wrong output_padding is not the adjoint
    w = _rand(1, 1, 3, seed=0)
    op = T.conv_operator(w, 8, stride=2)
    wrong = T.conv_operator(w, 8, stride=2)
    wrong.adjoint = lambda y: F.conv_transpose1d(y[None], w.flip(-1), stride=2, output_padding=1)[0]
    assert op.adjoint_test().passed
    assert not wrong.adjoint_test().passed


# ---------------------------------------------------------------------------------------------
# Implementations: all equal to F.conv_transpose{1,2}d
# ---------------------------------------------------------------------------------------------

IMPL_CASES = [
    # (in_size, kernel, stride, padding, dilation, output_padding, c_in, c_out)
    ((3, 4), (2, 2), 2, 0, 1, 0, 1, 1),
    ((4, 3), (3, 3), 2, 1, 1, 1, 2, 3),
    ((3, 5), (3, 2), (3, 2), (2, 0), (1, 2), (2, 1), 3, 2),
    ((4, 4), (3, 3), 1, 3, 2, 1, 2, 2),  # p > d(k-1)/... crop, a >= s allowed by d
    ((2, 3), (1, 4), 2, 0, 1, 1, 2, 1),
    ((5,), (3,), 2, 1, 1, 1, 2, 3),
    ((4,), (4,), 3, 2, 2, 2, 1, 2),
]


@pytest.mark.parametrize("method", T.METHODS)
@pytest.mark.parametrize(("ins", "ks", "s", "p", "d", "a", "ci", "co"), IMPL_CASES)
def test_implementations_equal_library(method, ins, ks, s, p, d, a, ci, co):
    Y, w, b = _rand(2, ci, *ins, seed=1), _rand(ci, co, *ks, seed=2), _rand(co, seed=3)
    fn = F.conv_transpose1d if len(ins) == 1 else F.conv_transpose2d
    ref = fn(Y, w, b, stride=s, padding=p, output_padding=a, dilation=d)
    got = T.conv_transpose(
        Y, w, b, stride=s, padding=p, dilation=d, output_padding=a, method=method
    )
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["fold", "taps", "zero_insertion"])
def test_implementations_float32_and_random_grid(method):
    rng = np.random.default_rng(0)
    for trial in range(12):
        nd = 1 + trial % 2
        ins = tuple(int(v) for v in rng.integers(2, 7, nd))
        ks = tuple(int(v) for v in rng.integers(1, 4, nd))
        s, d = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        p = int(rng.integers(0, 3))
        a = int(rng.integers(0, max(s, d)))
        try:
            [T.conv_transpose_output_size(i, k, s, p, d, a) for i, k in zip(ins, ks)]
        except ValueError:
            continue
        Y = _rand(3, 2, *ins, seed=trial, dtype=torch.float32)
        w = _rand(2, 3, *ks, seed=trial + 100, dtype=torch.float32)
        fn = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
        ref = fn(Y, w, stride=s, padding=p, output_padding=a, dilation=d)
        got = T.conv_transpose(
            Y, w, stride=s, padding=p, dilation=d, output_padding=a, method=method
        )
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_autograd_vjp_of_conv_is_conv_transpose():
    x = _rand(2, 3, 9, 8, seed=0).requires_grad_(True)
    w = _rand(4, 3, 3, 3, seed=1)
    y = F.conv2d(x, w, stride=2, padding=1)
    v = _rand(*y.shape, seed=2)
    (g,) = torch.autograd.grad(y, x, v)
    a = tuple(T.adjoint_output_padding(n, 3, 2, 1) for n in (9, 8))
    torch.testing.assert_close(
        g, T.conv_transpose(v, w, stride=2, padding=1, output_padding=a), rtol=1e-12, atol=1e-12
    )


# ---------------------------------------------------------------------------------------------
# Upsampling
# ---------------------------------------------------------------------------------------------

UP_CASES = [
    ((2, 3, 4), dict(scale_factor=2, mode="nearest")),
    ((1, 3, 5), dict(scale_factor=3, mode="nearest")),
    ((2, 3, 4), dict(size=(7, 5), mode="nearest")),
    ((2, 3, 4), dict(scale_factor=2, mode="bilinear")),
    ((1, 4, 3), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 3, 4), dict(size=(5, 9), mode="bilinear")),
    ((2, 5), dict(scale_factor=2, mode="linear")),
    ((2, 5), dict(scale_factor=1.5, mode="nearest")),
    ((1, 4), dict(size=11, mode="linear", align_corners=True)),
]


@pytest.mark.parametrize(("shape", "kw"), UP_CASES)
def test_upsample_operator_equals_nn_upsample_and_adjoint_equals_autograd(shape, kw):
    A = T.upsample_operator(shape, **kw)
    x = _rand(*shape, seed=0).requires_grad_(True)
    ref = torch.nn.Upsample(**kw)(x[None])[0]
    torch.testing.assert_close(A @ x.detach(), ref.detach(), rtol=1e-13, atol=1e-13)
    v = _rand(*ref.shape, seed=1)
    (g,) = torch.autograd.grad(ref, x, v)
    torch.testing.assert_close(A.rmatvec(v), g, rtol=1e-13, atol=1e-13)
    assert A.adjoint_test().passed


def test_nearest_upsampling_adjoint_is_sum_pooling():
    A = T.upsample_operator((1, 4, 6), scale_factor=2, mode="nearest")
    v = _rand(1, 8, 12, seed=0)
    torch.testing.assert_close(A.rmatvec(v), 4 * F.avg_pool2d(v[None], 2)[0])


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_input_gives_clear_errors():
    Y, w = torch.zeros(1, 2, 3, 3), torch.zeros(2, 1, 2, 2)
    with pytest.raises(ValueError, match=r"weight\.shape\[0\]"):
        T.conv_transpose(Y, torch.zeros(3, 1, 2, 2))
    with pytest.raises(TypeError, match="input must be a torch"):
        T.conv_transpose(Y.numpy(), w)
    with pytest.raises(TypeError, match="dtype"):
        T.conv_transpose(Y, w.double())
    with pytest.raises(ValueError, match="method"):
        T.conv_transpose(Y, w, method="fft")
    with pytest.raises(TypeError, match="stride"):
        T.conv_transpose(Y, w, stride=1.5)
    with pytest.raises(ValueError, match="stride"):
        T.conv_transpose(Y, w, stride=(1, 2, 3))
    with pytest.raises(ValueError, match="output_padding"):
        T.conv_transpose(Y, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="spatial dims"):
        T.conv_transpose(Y, torch.zeros(2, 1, 2))
    with pytest.raises(ValueError, match="does not fit"):
        T.conv_output_size(2, 3)
    with pytest.raises(ValueError, match="in_size"):
        T.conv_layer_matrix(np.ones((1, 1, 2, 2)), 5)
    with pytest.raises(ValueError, match="exactly one"):
        T.interpolation_matrix(3, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="mode"):
        T.upsample_operator((1, 3), scale_factor=2, mode="bilinear")
