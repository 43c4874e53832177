"""convlab.conv, conv_autograd and pooling against dense matrices, scipy, torch and the lecture."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from convlab import conv_autograd as CA
from convlab.checks import adjoint_test, eigenvalues_match, jacobian_transpose_test, taylor_test
from convlab.conv import Conv1D, Conv2D, MultiChannelConv2D
from convlab.pooling import avg_pool2d_matrix, avg_pool_matrix, stride2d_matrix, stride_matrix
from convlab.structured import conv_matrix

RNG = np.random.default_rng(3)


def dense_jacobian_1d(Y, L, n, of="K"):
    """J of vec(rows K(theta) y_b) (or K^T) w.r.t. theta, column p = K(e_p) applied: independent."""
    cols = []
    for p in range(L):
        Kp = conv_matrix(np.eye(L)[p], n, "periodic").toarray()
        cols.append((Y @ (Kp.T if of == "K" else Kp)).ravel())
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("L, n, b", [(3, 16, 10), (4, 9, 3), (1, 5, 2), (7, 7, 4)])
def test_conv1d_four_actions_against_dense(L, n, b):
    theta, Y = RNG.standard_normal(L), RNG.standard_normal((b, n))
    op = Conv1D(theta, n, Y)
    K = conv_matrix(theta, n, "periodic").toarray()
    np.testing.assert_allclose(op.matrix().toarray(), K)
    np.testing.assert_allclose(op.K(Y), Y @ K.T, atol=1e-13)  # K y_b for every row
    np.testing.assert_allclose(op.KT(Y), Y @ K, atol=1e-13)  # the lecture's Y K(theta)
    v, W = RNG.standard_normal(L), RNG.standard_normal((b, n))
    for of in ("K", "KT"):
        Jd = dense_jacobian_1d(Y, L, n, of)
        np.testing.assert_allclose(op.J(v, of=of).ravel(), Jd @ v, atol=1e-13)
        np.testing.assert_allclose(op.JT(W, of=of), Jd.T @ W.ravel(), atol=1e-12)
        res = jacobian_transpose_test(
            lambda v, of=of: op.J(v, of=of), lambda W, of=of: op.JT(W, of=of), in_shape=(L,),
            out_shape=(b, n),
        )  # fmt: skip
        assert res.passed and res.error < 1e-15, res


def test_conv1d_single_signal_and_eigenvalues():
    theta, y = RNG.standard_normal(5), RNG.standard_normal(12)
    op = Conv1D(theta, 12, y)
    K = op.matrix().toarray()
    assert op.K(y).shape == (12,)
    np.testing.assert_allclose(op.K(y), K @ y, atol=1e-13)
    np.testing.assert_allclose(op.J(theta), K @ y, atol=1e-13)  # linear: J theta = K(theta) y
    assert eigenvalues_match(op.eigenvalues(), np.linalg.eigvals(K)).passed


def test_conv1d_matches_scipy_and_torch():
    theta, Y = RNG.standard_normal(3), RNG.standard_normal((4, 10))
    ref = np.stack([scipy.signal.convolve(np.tile(y, 3), theta, mode="same")[10:20] for y in Y])
    np.testing.assert_allclose(Conv1D(theta, 10).K(Y), ref, atol=1e-13)
    t = torch.from_numpy(theta)
    np.testing.assert_allclose(
        Conv1D(theta, 10).K(Y), CA.circular_conv_reference(torch.from_numpy(Y), t), atol=1e-13
    )


def test_lecture_3x3_bccb_matrix_and_z21():
    # theta_ij encoded as the number 10 i + j (1-based), so entries name their theta
    th = np.array([[10 * i + j for j in (1, 2, 3)] for i in (1, 2, 3)], dtype=float)
    K = Conv2D(th, (3, 3)).matrix().toarray()
    lecture_rows = [
        "22 12 32 21 11 31 23 13 33",
        "32 22 12 31 21 11 33 23 13",
        "12 32 22 11 31 21 13 33 23",
        "23 13 33 22 12 32 21 11 31",
        "33 23 13 32 22 12 31 21 11",
        "13 33 23 12 32 22 11 31 21",
        "21 11 31 23 13 33 22 12 32",
        "31 21 11 33 23 13 32 22 12",
        "11 31 21 13 33 23 12 32 22",
    ]
    np.testing.assert_array_equal(K, [[float(x) for x in r.split()] for r in lecture_rows])
    # the row of z_21 (second entry of the column-major z) on the slide
    np.testing.assert_array_equal(K[1], [32, 22, 12, 31, 21, 11, 33, 23, 13])
    # row-major vectorisation gives a different (permuted) BCCB
    Kc = Conv2D(th, (3, 3)).matrix(order="C").toarray()
    perm = np.arange(9).reshape(3, 3).ravel(order="F")
    np.testing.assert_array_equal(Kc[np.ix_(perm, perm)], K)
    assert not np.array_equal(Kc, K)


@pytest.mark.parametrize("L, n", [((3, 3), (5, 6)), ((2, 4), (4, 5)), ((1, 3), (3, 3))])
def test_conv2d_against_scipy_bccb_and_fft2(L, n):
    theta, Y = RNG.standard_normal(L), RNG.standard_normal((3, *n))
    op = Conv2D(theta, n, Y)
    K = op.matrix().toarray()
    Z = op.K(Y)
    for b in range(3):
        np.testing.assert_allclose(Z[b].ravel(order="F"), K @ Y[b].ravel(order="F"), atol=1e-13)
        np.testing.assert_allclose(
            op.KT(Y)[b].ravel(order="F"), K.T @ Y[b].ravel(order="F"), atol=1e-13
        )
    if L[0] % 2 and L[1] % 2:  # scipy's 'same' centring agrees for odd sizes
        ref = scipy.signal.convolve2d(Y[0], theta, mode="same", boundary="wrap")
        np.testing.assert_allclose(Z[0], ref, atol=1e-13)
    assert eigenvalues_match(op.eigenvalues().ravel(), np.linalg.eigvals(K)).passed
    res = jacobian_transpose_test(op.J, op.JT, in_shape=L, out_shape=(3, *n))
    assert res.passed, res
    np.testing.assert_allclose(
        CA.circular_conv_reference(torch.from_numpy(Y), torch.from_numpy(theta)), Z, atol=1e-13
    )


def test_multichannel_4x3_block_operator():
    theta = RNG.standard_normal((4, 3, 3, 3))
    n = (5, 4)
    Y = RNG.standard_normal((2, 3, *n))
    op = MultiChannelConv2D(theta, n, Y)
    Kb = op.matrix().toarray()
    assert Kb.shape == (4 * 20, 3 * 20)
    Z = op.K(Y)
    assert Z.shape == (2, 4, *n)
    for b in range(2):
        yv = np.concatenate([Y[b, i].ravel(order="F") for i in range(3)])
        zv = np.concatenate([Z[b, o].ravel(order="F") for o in range(4)])
        np.testing.assert_allclose(zv, Kb @ yv, atol=1e-12)
    # torch: correlation with flipped stencils on circularly padded input, summed over c_in
    ref = F.conv2d(
        F.pad(torch.from_numpy(Y), (1, 1, 1, 1), mode="circular"),
        torch.from_numpy(theta).flip(-1, -2),
    )
    np.testing.assert_allclose(Z, ref.numpy(), atol=1e-12)
    assert adjoint_test(op.K, op.KT, in_shape=Y.shape).passed
    res = jacobian_transpose_test(op.J, op.JT, in_shape=theta.shape, out_shape=Z.shape)
    assert res.passed and res.error < 1e-15
    with pytest.raises(ValueError, match="of='K'"):
        op.J(theta, of="KT")


def test_wrong_transposes_are_caught():
    theta, Y = RNG.standard_normal(3), RNG.standard_normal((6, 16))
    op = Conv1D(theta, 16, Y)

    def jt_first_example_only(W):  # forgot the sum over examples
        return Conv1D(theta, 16, Y[:1]).JT(W[:1])

    def jt_no_conj(W):  # missing conjugate: a convolution instead of a correlation
        g = np.fft.ifft(np.fft.fft(Y) * np.fft.fft(W)).real.sum(0)
        return np.roll(g, 1)[:3]

    for wrong in (jt_first_example_only, jt_no_conj, lambda W: 1.0005 * op.JT(W)):
        res = jacobian_transpose_test(op.J, wrong, in_shape=(3,), out_shape=Y.shape)
        assert not res.passed
    assert not adjoint_test(op.K, op.K, in_shape=Y.shape).passed  # K is not symmetric


def test_taylor_test_of_a_conv_loss():
    theta, Y = RNG.standard_normal((3, 3)), RNG.standard_normal((4, 8, 8))
    C = RNG.standard_normal((4, 8, 8))

    def loss(t):
        return 0.5 * np.sum((Conv2D(t, (8, 8)).K(Y) - C) ** 2)

    def dloss(t, v):
        return np.sum((Conv2D(t, (8, 8)).K(Y) - C) * Conv2D(t, (8, 8), Y).J(v))

    assert taylor_test(loss, theta, jvp=dloss).passed
    assert not taylor_test(loss, theta, jvp=lambda t, v: dloss(t, v.T)).passed


# --- torch autograd Function ----------------------------------------------------------------
@pytest.mark.parametrize("yshape, tshape", [((2, 8), (3,)), ((2, 4, 3), (3, 2)), ((9,), (4,))])
def test_autograd_function_gradcheck_and_transpose(yshape, tshape):
    g = torch.Generator().manual_seed(0)
    y = torch.randn(*yshape, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(*tshape, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(CA.periodic_conv, (y, t), check_forward_ad=True)
    assert torch.autograd.gradgradcheck(CA.periodic_conv, (y, t))
    z = CA.periodic_conv(y, t)
    torch.testing.assert_close(z, CA.circular_conv_reference(y, t))
    # backward (ours) vs autograd of the F.conv reference and vs torch.func.vjp
    w = torch.randn(z.shape, generator=g, dtype=torch.float64)
    ours = torch.autograd.grad(z, (y, t), w)
    ref = torch.autograd.grad(CA.circular_conv_reference(y, t), (y, t), w)
    _, vjp = torch.func.vjp(CA.periodic_conv, y, t)
    for a, b, c in zip(ours, ref, vjp(w)):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    # tight transpose test: J from the numpy Conv operator (independent), J^T from backward
    yd = y.detach()
    Jnp = (Conv1D if len(tshape) == 1 else Conv2D)(
        t.detach().numpy(), yshape[-len(tshape) :] if len(tshape) == 2 else yshape[-1],
        yd.numpy(),
    )  # fmt: skip

    def vjp_theta(w):
        return torch.autograd.grad(CA.periodic_conv(yd, t), t, w)[0]

    res = jacobian_transpose_test(
        lambda v: torch.from_numpy(Jnp.J(v.numpy())), vjp_theta, in_shape=tshape,
        out_shape=yshape, dtype=torch.float64, tol=1e-13,
    )  # fmt: skip
    assert res.passed and res.error < 1e-14


def test_gradcheck_misses_a_0p05_percent_error_the_transpose_test_does_not():
    class Wrong(CA.PeriodicConv):
        @staticmethod
        def backward(ctx, g):
            gy, gt = CA.PeriodicConv.backward(ctx, g)
            return gy, 1.0005 * gt

    gen = torch.Generator().manual_seed(1)
    y = torch.randn(4, 32, generator=gen, dtype=torch.float64)
    t = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: Wrong.apply(y, t), (t,))
    assert torch.autograd.gradcheck(lambda t: Wrong.apply(y, t), (t,), fast_mode=True)
    op = Conv1D(t.detach().numpy(), 32, y.numpy())

    def vjp(w):
        return torch.autograd.grad(Wrong.apply(y, t), t, w)[0]

    res = jacobian_transpose_test(
        lambda v: torch.from_numpy(op.J(v.numpy())), vjp, in_shape=(3,), out_shape=(4, 32),
        dtype=torch.float64,
    )  # fmt: skip
    assert not res.passed and res.error > 1e-5


# --- stride and pooling ---------------------------------------------------------------------
def test_stride_and_pooling_matrices():
    n1, n2 = 8, 6
    Y = RNG.standard_normal((n1, n2))
    S = stride2d_matrix((n1, n2), 2)
    np.testing.assert_array_equal(S @ Y.ravel(order="F"), Y[::2, ::2].ravel(order="F"))
    Sc = stride2d_matrix((n1, n2), (2, 3), order="C")
    np.testing.assert_array_equal(Sc @ Y.ravel(), Y[::2, ::3].ravel())
    P = avg_pool2d_matrix((n1, n2), 2)
    ref = F.avg_pool2d(torch.from_numpy(Y)[None, None], 2)[0, 0].numpy()
    np.testing.assert_allclose(P @ Y.ravel(order="F"), ref.ravel(order="F"), atol=1e-15)
    P3 = avg_pool_matrix(7, 3)  # trailing incomplete patch dropped, as torch
    y = RNG.standard_normal(7)
    ref1 = F.avg_pool1d(torch.from_numpy(y)[None, None], 3)[0, 0].numpy()
    np.testing.assert_allclose(P3 @ y, ref1, atol=1e-15)
    for A in (S, Sc, P, P3, stride_matrix(9, 4, offset=1)):
        assert adjoint_test(A).passed
        assert adjoint_test(
            lambda x, A=A: A @ x, lambda z, A=A: A.T @ z, in_shape=A.shape[1]
        ).passed
    assert not adjoint_test(lambda x: P @ x, lambda z: 4 * (P.T @ z), in_shape=P.shape[1]).passed


def test_strided_conv_is_rows_of_K():
    theta, Y = RNG.standard_normal((3, 3)), RNG.standard_normal((8, 8))
    K = Conv2D(theta, (8, 8)).matrix(order="C")
    S = stride2d_matrix((8, 8), 2, order="C")
    ref = F.conv2d(
        F.pad(torch.from_numpy(Y)[None, None], (1, 1, 1, 1), mode="circular"),
        torch.from_numpy(theta).flip(-1, -2)[None, None],
        stride=2,
    )[0, 0].numpy()
    np.testing.assert_allclose((S @ K) @ Y.ravel(), ref.ravel(), atol=1e-13)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: Conv1D(np.ones(5), 3), ValueError, "exceeds"),
        (lambda: Conv1D(np.ones((2, 2)), 3), ValueError, "1-D stencil"),
        (lambda: Conv1D(np.ones(3), 8).K(np.ones((2, 7))), ValueError, r"\(n_examples, 8\)"),
        (lambda: Conv1D(np.ones(3), 8).J(np.ones(3)), ValueError, "pass Y"),
        (lambda: Conv1D(np.ones(3), 8, np.ones((2, 8))).JT(np.ones((3, 8))), ValueError, "one row"),
        (lambda: Conv1D(np.ones(3), 8, np.ones((2, 8))).J(np.ones(4)), ValueError, "stencil"),
        (lambda: Conv1D(np.ones(3), 8).K(np.ones(8) * 1j), TypeError, "real"),
        (lambda: Conv1D(np.ones(3), 8, np.ones(8)).J(np.ones(3), of="KY"), ValueError, "of must"),
        (lambda: Conv2D(np.ones((3, 3)), (4,)), ValueError, "pair"),
        (lambda: Conv2D(np.ones((3, 3)), (4, 4)).matrix(order="X"), ValueError, "order"),
        (lambda: MultiChannelConv2D(np.ones((2, 3, 3)), (4, 4)), ValueError, "c_out, c_in"),
        (
            lambda: MultiChannelConv2D(np.ones((2, 3, 3, 3)), (4, 4)).K(np.ones((1, 2, 4, 4))),
            ValueError,
            r"\(n_examples, 3, 4, 4\)",
        ),
        (lambda: CA.periodic_conv(torch.ones(4), torch.ones(5)), ValueError, "larger"),
        (
            lambda: CA.periodic_conv(torch.ones(4), torch.ones(3, dtype=torch.float64)),
            TypeError,
            "same dtype",
        ),
        (lambda: CA.periodic_conv(np.ones(4), torch.ones(3)), TypeError, "torch tensors"),
        (lambda: stride_matrix(5, 0), ValueError, "s must be >= 1"),
        (lambda: avg_pool_matrix(3, 4), ValueError, "pool size"),
        (lambda: avg_pool2d_matrix((4, 4), 2.0), TypeError, "size must be an integer"),
    ],
)
def test_bad_input_gives_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
