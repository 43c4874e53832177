"""Tests for convlab.checks: correct operators pass, deliberately wrong ones fail."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from convlab.checks import (
    AdjointTestResult,
    EigenvalueMatchResult,
    TaylorTestResult,
    _eps,
    adjoint_test,
    eigenvalues_match,
    jacobian_transpose_test,
    taylor_test,
)

RNG = np.random.default_rng(20240601)
A_REAL = RNG.standard_normal((7, 5))  # non-square, so not symmetric
A_CPLX = RNG.standard_normal((6, 6)) + 1j * RNG.standard_normal((6, 6))
W_CONV = torch.from_numpy(RNG.standard_normal((3, 2, 5)))  # (out_ch, in_ch, width)


def conv(x: torch.Tensor) -> torch.Tensor:
    return F.conv1d(x, W_CONV.to(x.dtype), padding=2)


def conv_adjoint(y: torch.Tensor) -> torch.Tensor:
    return F.conv_transpose1d(y, W_CONV.to(y.dtype), padding=2)


# --------------------------------------------------------------------------------------------
# helpers / dtype eps
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "eps"),
    [
        (np.float32, 2.0**-23),
        (np.float64, 2.0**-52),
        (np.complex64, 2.0**-23),
        ("complex128", 2.0**-52),
        (np.int64, 2.0**-52),
        (torch.float32, 2.0**-23),
        (torch.float64, 2.0**-52),
        (torch.complex64, 2.0**-23),
        (torch.complex128, 2.0**-52),
        (torch.bfloat16, 2.0**-7),
    ],
)
def test_eps_numpy_and_torch(dtype, eps):
    assert _eps(dtype) == eps


# --------------------------------------------------------------------------------------------
# adjoint_test: correct operators pass
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_dense_matrix_passes_all_dtypes(dtype):
    A = (A_CPLX if np.dtype(dtype).kind == "c" else A_REAL).astype(dtype)
    r = adjoint_test(A)
    assert r.passed, r.table()
    assert r.dtype == np.dtype(dtype).name
    n = max(A.shape)
    assert r.tol == pytest.approx(100 * np.finfo(dtype).eps * math.log2(n + 1))


def test_complex_results_carry_imaginary_parts():
    r = adjoint_test(A_CPLX)
    assert r.passed
    rand = [i for i, p in enumerate(r.probes) if p == "random"]
    assert all(isinstance(r.lhs[i], complex) and r.lhs[i].imag != 0 for i in rand)
    assert all(isinstance(r.rhs[i], complex) and r.rhs[i].imag != 0 for i in rand)
    # v = A u: <A u, A u> = ||A u||^2 is real; <u, A^H A u> equals it in an exact pair
    assert all(r.lhs[i].imag == 0 for i in range(len(r.probes)) if i not in rand)


@pytest.mark.parametrize("make", [sp.csr_array, sp.csr_matrix, sp.coo_array])
def test_sparse_passes(make):
    S = sp.random_array((40, 30), density=0.2, rng=1, format="csr")
    r = adjoint_test(make(S))
    assert r.passed
    assert r.in_shape == (30,) and r.out_shape == (40,)


def test_linear_operator_uses_rmatvec():
    op = aslinearoperator(A_CPLX)
    assert adjoint_test(op).passed
    # an explicit, correct adjoint given as a matrix is accepted too
    assert adjoint_test(op, A_CPLX.conj().T).passed


def test_linear_operator_with_wrong_rmatvec_fails():
    op = LinearOperator(
        A_REAL.shape, matvec=lambda x: A_REAL @ x, rmatvec=lambda y: 1.0005 * A_REAL.T @ y
    )
    assert not adjoint_test(op).passed


def test_fft_ortho_is_unitary():
    n = 64
    r = adjoint_test(
        lambda x: np.fft.fft(x, norm="ortho"),
        lambda y: np.fft.ifft(y, norm="ortho"),
        in_shape=n,
        dtype=np.complex128,
    )
    assert r.passed, r.table()


def test_fft_backward_adjoint_is_n_ifft():
    n = 64
    fft = np.fft.fft
    assert adjoint_test(fft, lambda y: n * np.fft.ifft(y), in_shape=n, dtype=complex).passed
    # the classic mistake: ifft is the inverse, not the adjoint, of the unnormalised fft
    assert not adjoint_test(fft, np.fft.ifft, in_shape=n, dtype=complex).passed


def test_fft_of_real_input_uses_complex_v():
    n = 32
    r = adjoint_test(np.fft.fft, lambda y: n * np.fft.ifft(y), in_shape=n, dtype=np.float64)
    assert r.passed and r.dtype == "float64"


def test_fft2_on_2d_shapes():
    shape = (8, 6)
    r = adjoint_test(
        lambda x: np.fft.fft2(x, norm="ortho"),
        lambda y: np.fft.ifft2(y, norm="ortho"),
        in_shape=shape,
        dtype=np.complex128,
    )
    assert r.passed and r.in_shape == shape and r.out_shape == shape


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_conv1d_adjoint_is_conv_transpose1d(dtype):
    r = adjoint_test(conv, conv_adjoint, in_shape=(2, 2, 50), dtype=dtype, device="cpu")
    assert r.passed, r.table()
    assert r.out_shape == (2, 3, 50)
    assert r.dtype == str(dtype)


def test_float32_exact_pairs_pass_at_one_million():
    n = 10**6
    d = np.random.default_rng(3).standard_normal(n).astype(np.float32)
    r = adjoint_test(lambda x: d * x, lambda y: d * y, in_shape=n, dtype=np.float32)
    assert r.passed, r
    r = adjoint_test(
        lambda x: np.fft.fft(x, norm="ortho"),
        lambda y: np.fft.ifft(y, norm="ortho"),
        in_shape=n,
        dtype=np.complex64,
        n_trials=1,
    )
    assert r.passed, r


def test_seed_reproducible_and_same_vectors_for_torch_and_numpy():
    d = np.linspace(1, 2, 20)
    r_np = adjoint_test(lambda x: d * x, lambda y: d * y, in_shape=20, seed=7)
    dt = torch.from_numpy(d)
    r_t = adjoint_test(lambda x: dt * x, lambda y: dt * y, in_shape=20, seed=7, dtype=torch.float64)
    assert r_np.lhs == pytest.approx(r_t.lhs, rel=1e-14)
    assert adjoint_test(lambda x: d * x, lambda y: d * y, in_shape=20, seed=7).lhs == r_np.lhs
    assert adjoint_test(lambda x: d * x, lambda y: d * y, in_shape=20, seed=8).lhs != r_np.lhs


# --------------------------------------------------------------------------------------------
# adjoint_test: wrong adjoints fail
# --------------------------------------------------------------------------------------------


def test_scaled_by_1_0005_fails_in_float64():
    r = adjoint_test(lambda x: A_REAL @ x, lambda y: 1.0005 * (A_REAL.T @ y), in_shape=5)
    assert not r.passed
    assert r.error > 1e6 * r.tol
    r = adjoint_test(
        conv, lambda y: 1.0005 * conv_adjoint(y), in_shape=(1, 2, 40), dtype=torch.float64
    )
    assert not r.passed


def test_untransposed_matrix_fails_for_nonsymmetric():
    B = RNG.standard_normal((6, 6))
    assert not adjoint_test(B, B).passed  # forgot to transpose
    assert adjoint_test(B, B.T).passed


def test_missing_conjugate_fails_for_complex():
    assert not adjoint_test(A_CPLX, A_CPLX.T).passed  # transpose without conjugate
    assert not adjoint_test(A_CPLX.astype(np.complex64), A_CPLX.T.astype(np.complex64)).passed
    d = 1j * np.arange(1.0, 9.0)  # purely imaginary diagonal: adjoint is -d
    assert adjoint_test(lambda x: d * x, lambda y: np.conj(d) * y, in_shape=8, dtype=complex).passed
    assert not adjoint_test(lambda x: d * x, lambda y: d * y, in_shape=8, dtype=complex).passed


def test_wrong_sign_fails():
    # forward difference D x = x[i+1] - x[i] (periodic); its adjoint is x[i-1] - x[i]
    def D(x):
        return np.roll(x, -1) - x

    def DT(y):
        return np.roll(y, 1) - y

    assert adjoint_test(D, DT, in_shape=16).passed
    assert not adjoint_test(D, lambda y: -DT(y), in_shape=16).passed


def test_off_by_one_shift_fails():
    def shift(x):
        return np.roll(x, 1)

    assert adjoint_test(shift, lambda y: np.roll(y, -1), in_shape=16).passed
    assert not adjoint_test(shift, lambda y: np.roll(y, 1), in_shape=16).passed


def test_gradcheck_accepts_1_0005_backward_but_transpose_test_rejects_it():
    """REFERENCE section 5: gradcheck passes a backward that is 0.05 % wrong."""

    class BadConv(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return conv(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return 1.0005 * conv_adjoint(g)

    x = torch.from_numpy(np.random.default_rng(1).standard_normal((1, 2, 12))).requires_grad_()
    assert torch.autograd.gradcheck(BadConv.apply, (x,), fast_mode=False)
    assert torch.autograd.gradcheck(BadConv.apply, (x,), fast_mode=True)

    def vjp(w):
        (g,) = torch.autograd.grad(BadConv.apply(x), x, w)
        return g

    r = jacobian_transpose_test(conv, vjp, in_shape=tuple(x.shape), dtype=torch.float64)
    assert not r.passed
    assert r.error > 1e-6 > 1e3 * r.tol
    assert r.label == "Jacobian-transpose test"


def test_jacobian_transpose_of_autograd_passes():
    x0 = torch.from_numpy(np.random.default_rng(2).standard_normal((1, 2, 20)))

    def f(x):
        return torch.tanh(conv(x))

    def jvp(v):
        return torch.func.jvp(f, (x0,), (v,))[1]

    def vjp(w):
        return torch.func.vjp(f, x0)[1](w)[0]

    r = jacobian_transpose_test(jvp, vjp, in_shape=x0.shape, dtype=torch.float64)
    assert r.passed, r.table()
    assert not jacobian_transpose_test(
        jvp, lambda w: 1.0005 * vjp(w), in_shape=x0.shape, dtype=torch.float64
    ).passed


def test_jacobian_transpose_numpy():
    x0 = RNG.standard_normal(5)
    d = 1 - np.tanh(A_REAL @ x0) ** 2
    r = jacobian_transpose_test(
        lambda v: d * (A_REAL @ v), lambda w: A_REAL.T @ (d * w), in_shape=5
    )
    assert r.passed
    assert not jacobian_transpose_test(
        lambda v: d * (A_REAL @ v), lambda w: 1.0005 * A_REAL.T @ (d * w), in_shape=5
    ).passed


# --------------------------------------------------------------------------------------------
# adjoint_test: result record, raising, bad input
# --------------------------------------------------------------------------------------------


def test_result_record_fields_and_text():
    r = adjoint_test(A_REAL, n_trials=4)
    assert isinstance(r, AdjointTestResult)
    assert r.passed and bool(r)
    assert r.n_trials == 4 and len(r.errors) == 8 and r.error == max(r.errors)
    assert r.probes == ("random", "v = A u") * 4
    assert str(r).startswith("adjoint test passed: max relative error")
    assert "(4 trials, float64)" in str(r)
    assert len(r.table().splitlines()) == 9
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.passed = False  # type: ignore[misc]
    r.raise_if_failed()  # no exception


def test_raise_on_fail():
    with pytest.raises(AssertionError, match="adjoint test FAILED"):
        adjoint_test(A_REAL, 1.0005 * A_REAL.T, raise_on_fail=True)
    bad = adjoint_test(A_REAL, A_REAL.T * 2)
    with pytest.raises(AssertionError, match=r"rel\. error"):
        bad.raise_if_failed()
    with pytest.raises(AssertionError, match="Jacobian-transpose test FAILED"):
        jacobian_transpose_test(
            lambda v: A_REAL @ v, lambda w: -A_REAL.T @ w, in_shape=5, raise_on_fail=True
        )


def test_bad_shapes_raise_value_error():
    with pytest.raises(ValueError, match=r"adjoint output has shape \(5, 1\), expected in_shape"):
        adjoint_test(lambda x: A_REAL @ x, lambda y: (A_REAL.T @ y)[:, None], in_shape=5)
    with pytest.raises(ValueError, match="forward output has shape"):
        adjoint_test(lambda x: A_REAL @ x, lambda y: A_REAL.T @ y, in_shape=5, out_shape=6)
    with pytest.raises(ValueError, match="does not match the operator shape"):
        adjoint_test(A_REAL, in_shape=7)
    with pytest.raises(ValueError, match="must be 2-D"):
        adjoint_test(np.ones(3))
    with pytest.raises(ValueError, match="n_trials"):
        adjoint_test(A_REAL, n_trials=0)
    with pytest.raises(ValueError, match="in_shape must have entries >= 1"):
        adjoint_test(lambda x: x, lambda y: y, in_shape=(-1,))
    with pytest.raises(ValueError, match="device"):
        adjoint_test(A_REAL, device="cpu")


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="forward must be"):
        adjoint_test("A")
    with pytest.raises(TypeError, match="adjoint is required"):
        adjoint_test(lambda x: x, in_shape=3)
    with pytest.raises(TypeError, match="in_shape is required"):
        adjoint_test(lambda x: x, lambda y: y)
    with pytest.raises(TypeError, match="adjoint must be"):
        adjoint_test(A_REAL, adjoint="A.T")
    with pytest.raises(TypeError, match="floating or complex"):
        adjoint_test(A_REAL, dtype=np.int32)
    with pytest.raises(TypeError, match="torch dtype needs a callable"):
        adjoint_test(A_REAL, dtype=torch.float64)
    with pytest.raises(TypeError, match="rmatvec"):
        adjoint_test(LinearOperator((3, 3), matvec=lambda x: x, dtype=float))
    with pytest.raises(TypeError, match="forward output must be"):
        adjoint_test(lambda x: "y", lambda y: y, in_shape=3)
    with pytest.raises(TypeError, match="jvp must be"):
        jacobian_transpose_test(A_REAL, lambda w: w, in_shape=5)


# --------------------------------------------------------------------------------------------
# eigenvalues_match
# --------------------------------------------------------------------------------------------


def circulant(c: np.ndarray) -> np.ndarray:
    return np.stack([np.roll(c, k) for k in range(c.size)], axis=1)


def test_circulant_eigenvalues_match_fft_as_multisets():
    c = RNG.standard_normal(12)
    computed, expected = np.linalg.eigvals(circulant(c)), np.fft.fft(c)
    r = eigenvalues_match(computed, expected)
    assert isinstance(r, EigenvalueMatchResult)
    assert r.passed, r.table()
    assert r.n == 12
    np.testing.assert_allclose(expected[r.permutation], computed, atol=r.tol)


def test_permuted_set_passes_where_positionwise_comparison_fails():
    lam = np.fft.fft(RNG.standard_normal(20))
    perm = RNG.permutation(20)
    assert not np.allclose(lam[perm], lam)  # position-wise comparison would reject it
    r = eigenvalues_match(lam[perm], lam)
    assert r.passed and r.error == 0.0
    np.testing.assert_array_equal(r.permutation, perm)


def test_perturbed_set_fails():
    lam = np.fft.fft(RNG.standard_normal(20))
    bad = lam.copy()
    bad[4] += 1e-8
    r = eigenvalues_match(bad[::-1], lam)
    assert not r.passed
    assert r.error == pytest.approx(1e-8, rel=1e-3)
    assert "max matched distance" in r.reason
    with pytest.raises(AssertionError, match="do NOT match"):
        r.raise_if_failed()
    with pytest.raises(AssertionError):
        eigenvalues_match(bad, lam, raise_on_fail=True)


def test_multiplicities_matter():
    assert not eigenvalues_match([1.0, 1.0, 2.0], [1.0, 2.0, 2.0]).passed
    assert eigenvalues_match([2.0, 1.0, 1.0], [1.0, 2.0, 1.0]).passed


def test_conjugate_pairs_with_noise_use_assignment():
    lam = np.array([1 + 2j, 1 - 2j, 3.0, -1 + 0.5j, -1 - 0.5j])
    noisy = lam * (1 + 1e-16 * np.array([1, -1, 1, -1, 1]))
    noisy[[0, 1]] = noisy[[1, 0]]
    assert eigenvalues_match(noisy, lam).passed


def test_default_tolerance_formula():
    lam = np.array([4.0, -2.0, 1j])
    r = eigenvalues_match(lam, lam)
    eps = np.finfo(np.float64).eps
    assert r.tol == pytest.approx(4.0 * eps * max(3, 16 * math.sqrt(3)))
    r32 = eigenvalues_match(lam.astype(np.complex64), lam)  # lower precision decides
    assert r32.tol == pytest.approx(4.0 * np.finfo(np.float32).eps * 16 * math.sqrt(3))


def test_torch_inputs_accepted():
    lam = torch.fft.fft(torch.from_numpy(np.random.default_rng(4).standard_normal(16)))
    perm = torch.from_numpy(np.random.default_rng(5).permutation(16))
    assert eigenvalues_match(lam[perm], lam).passed
    assert eigenvalues_match(lam[perm].to(torch.complex64), lam.numpy()).passed


def test_different_lengths_and_bad_input():
    r = eigenvalues_match([1.0, 2.0], [1.0, 2.0, 3.0])
    assert not r.passed and "different numbers of eigenvalues" in r.reason
    assert "2 computed vs 3 expected" in str(r)
    assert not eigenvalues_match([np.nan, 1.0], [1.0, 2.0]).passed
    with pytest.raises(ValueError, match="1-D"):
        eigenvalues_match(np.eye(3), np.ones(3))
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        eigenvalues_match({1, 2}, [1, 2])


def test_large_sets_use_sparse_matching():
    n = 5000
    lam = np.fft.fft(RNG.standard_normal(n))
    perm = RNG.permutation(n)
    noisy = lam[perm] + 1e-14 * RNG.standard_normal(n)  # breaks the cheap sorted matching
    r = eigenvalues_match(noisy, lam)
    assert r.passed
    np.testing.assert_allclose(lam[r.permutation], noisy, atol=r.tol)
    bad = noisy.copy()
    bad[0] += 1e-6
    assert not eigenvalues_match(bad, lam).passed


# --------------------------------------------------------------------------------------------
# taylor_test
# --------------------------------------------------------------------------------------------

B_T = RNG.standard_normal((30, 40)) / math.sqrt(40)
X0_T = RNG.standard_normal(40)


def f_tanh(x):
    return np.tanh(B_T @ x)


def J_tanh(x, v):
    return (1 - np.tanh(B_T @ x) ** 2) * (B_T @ v)


def J_tanh_sign(x, v):
    out = J_tanh(x, v)
    out[3] = -out[3]
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_taylor_accepts_correct_nonlinear_jacobians(dtype):
    r = taylor_test(f_tanh, X0_T.astype(dtype), jvp=J_tanh)
    assert isinstance(r, TaylorTestResult)
    assert r.passed, r.table()
    r = taylor_test(lambda x: x**3, X0_T.astype(dtype), jvp=lambda x, v: 3 * x**2 * v)
    assert r.passed, r.table()


@pytest.mark.parametrize(
    "wrong",
    [lambda x, v: 1.01 * J_tanh(x, v), J_tanh_sign],
    ids=["scaled_1.01", "wrong_sign_one_component"],
)
def test_taylor_rejects_wrong_jacobians(wrong):
    r = taylor_test(f_tanh, X0_T, jvp=wrong)
    assert not r.passed
    assert "J v is wrong" in r.reason
    assert all(abs(r.order1[k] - 1) < 0.1 for k in r.asymptotic)  # order 1, not 2


def test_taylor_cube_scaled_jacobian_fails():
    assert not taylor_test(lambda x: x**3, X0_T, jvp=lambda x, v: 1.01 * 3 * x**2 * v).passed


def test_taylor_linear_map_is_exact():
    r = taylor_test(lambda x: B_T @ x, X0_T, jvp=lambda x, v: B_T @ v)
    assert r.passed and "rounding level" in r.reason
    assert not taylor_test(lambda x: B_T @ x, X0_T, jvp=lambda x, v: 1.01 * B_T @ v).passed


def test_taylor_scalar_quadratic_loss():
    y = RNG.standard_normal(30)

    def loss(x):
        r = B_T @ x - y
        return 0.5 * r @ r

    def dloss(x, v):
        return (B_T @ x - y) @ (B_T @ v)

    assert taylor_test(loss, X0_T, jvp=dloss).passed
    assert not taylor_test(loss, X0_T, jvp=lambda x, v: 1.01 * dloss(x, v)).passed


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_taylor_torch_default_jvp(dtype):
    x0 = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 2, 30))).to(dtype)

    def f(x):
        return torch.tanh(conv(x))

    r = taylor_test(f, x0)
    assert r.passed, r.table()
    assert r.dtype == str(dtype)

    def wrong(x, v):
        return 1.01 * torch.func.jvp(f, (x,), (v,))[1]

    assert not taylor_test(f, x0.double(), jvp=wrong).passed


def test_taylor_default_window_and_table():
    r = taylor_test(f_tanh, X0_T, jvp=J_tanh, early_stop=False)
    assert r.hs[0] == 0.5 and len(r.hs) == math.ceil(0.75 * 52) and r.skipped == ()
    r32 = taylor_test(f_tanh, X0_T.astype(np.float32), jvp=J_tanh, early_stop=False)
    assert len(r32.hs) == math.ceil(0.75 * 23)
    assert len(r.E0) == len(r.E1) == len(r.hs) and len(r.order1) == len(r.hs) - 1
    # default (early stop): the same window minus the skipped steps, the same numbers
    d = taylor_test(f_tanh, X0_T, jvp=J_tanh)
    assert d.skipped and sorted(d.hs + d.skipped, reverse=True) == list(r.hs)
    assert d.E1 == tuple(e for h, e in zip(r.hs, r.E1) if h in d.hs)
    assert d.asymptotic == r.asymptotic and d.reason == r.reason
    assert len(d.E0) == len(d.E1) == len(d.hs) and len(d.order1) == len(d.hs) - 1
    assert "skipped" in d.table() and "skipped" not in r.table()
    header = r.table().splitlines()[0].split()
    assert header == ["h", "E0", "E1", "order0", "order1"]
    assert str(r).startswith("Taylor test passed (float64)")


def test_taylor_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = taylor_test(f_tanh, X0_T, jvp=J_tanh, hs=2.0 ** -np.arange(1, 12))
    ax = r.plot()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.get_lines()) >= 4  # E0, E1, slope 1, slope 2 (+ rounding level)
    plt.close(ax.figure)
    d = taylor_test(f_tanh, X0_T, jvp=J_tanh)  # early stop: the curves break at the gap
    ax = d.plot()
    e1_line = ax.get_lines()[1]
    assert d.skipped and np.isnan(e1_line.get_xdata()).sum() == 1
    assert len(e1_line.get_xdata()) == len(d.hs) + 1
    plt.close(ax.figure)


def test_taylor_raise_and_bad_input():
    with pytest.raises(AssertionError, match="Taylor test FAILED"):
        taylor_test(f_tanh, X0_T, jvp=J_tanh_sign, raise_on_fail=True)
    with pytest.raises(TypeError, match="jvp is required"):
        taylor_test(f_tanh, X0_T)
    with pytest.raises(TypeError, match="f must be callable"):
        taylor_test(None, X0_T, jvp=J_tanh)
    with pytest.raises(ValueError, match="direction has shape"):
        taylor_test(f_tanh, X0_T, jvp=J_tanh, direction=np.ones(3))
    with pytest.raises(ValueError, match="strictly decreasing"):
        taylor_test(f_tanh, X0_T, jvp=J_tanh, hs=[0.1, 0.2, 0.05, 0.01])
    with pytest.raises(ValueError, match=r"J v has shape \(29,\)"):
        taylor_test(f_tanh, X0_T, jvp=lambda x, v: J_tanh(x, v)[:-1])


# early stop: a sweep of function types, seeds and (wrong) Jacobians; the verdict (and the
# steps it rests on) must be the full window's, and correct Jacobians must cost fewer f calls.


def _sweep_cases(seed):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((30, 40)) / math.sqrt(40)
    x0, y = rng.standard_normal(40), rng.standard_normal(30)

    def lse(x):
        z = B @ x
        return z.max() + np.log(np.exp(z - z.max()).sum())

    def dlse(x, v):
        z = B @ x
        p = np.exp(z - z.max())
        return (p / p.sum()) @ (B @ v)

    w = torch.from_numpy(rng.standard_normal((3, 2, 5)))

    def ft(x):
        return torch.tanh(F.conv1d(x, w, padding=2))

    def tanh_b(x):
        return np.tanh(B @ x)

    return {
        "tanh": (tanh_b, lambda x, v: (1 - tanh_b(x) ** 2) * (B @ v), x0),
        "cube": (lambda x: x**3, lambda x, v: 3 * x**2 * v, x0),
        "quad_loss": (
            lambda x: 0.5 * (B @ x - y) @ (B @ x - y),
            lambda x, v: (B @ x - y) @ (B @ v),
            x0,
        ),
        "linear": (lambda x: B @ x, lambda x, v: B @ v, x0),
        "logsumexp": (lse, dlse, x0),
        "torch_conv": (
            ft,
            lambda x, v: torch.func.jvp(ft, (x,), (v,))[1],
            torch.from_numpy(rng.standard_normal((1, 2, 30))),
        ),
    }


def _wrong_variants(jvp):
    def sign(x, v):
        out = jvp(x, v)
        out = out.clone() if isinstance(out, torch.Tensor) else np.array(out, copy=True)
        if out.ndim == 0:
            return -out
        out.reshape(-1)[3] = -out.reshape(-1)[3]
        return out

    return {
        "correct": jvp,
        "x1.01": lambda x, v: 1.01 * jvp(x, v),
        "sign": sign,
        "x(1+1e-6)": lambda x, v: (1 + 1e-6) * jvp(x, v),  # at the detection limit
    }


def test_taylor_early_stop_keeps_every_verdict_on_a_sweep():
    n_runs = n_pass = n_fail = 0
    for seed in range(20):
        for name, (f, jvp, x0) in _sweep_cases(seed).items():
            for kind, J in _wrong_variants(jvp).items():
                full = taylor_test(f, x0, jvp=J, seed=seed, early_stop=False)
                early = taylor_test(f, x0, jvp=J, seed=seed)
                label = (name, kind, seed)
                assert early.passed == full.passed, label
                assert early.asymptotic == full.asymptotic and early.reason == full.reason, label
                if not full.passed:  # failures always see the whole window
                    assert early.hs == full.hs and early.skipped == (), label
                n_runs, n_pass = n_runs + 1, n_pass + full.passed
                n_fail += not full.passed
    assert n_runs == 20 * 6 * 4 and n_pass >= 20 * 6 and n_fail >= 20 * 5 * 2  # both outcomes


def test_taylor_early_stop_saves_evaluations():
    calls = []

    def f(x):
        calls.append(1)
        return f_tanh(x)

    full = taylor_test(f, X0_T, jvp=J_tanh, early_stop=False)
    n_full = len(calls)
    calls.clear()
    early = taylor_test(f, X0_T, jvp=J_tanh)
    n_early = len(calls)
    assert n_full == len(full.hs) + 1 == 40  # f(x0) + one per h
    assert n_early == len(early.hs) + 1 == n_full - len(early.skipped) and n_early <= 34
    calls.clear()
    assert not taylor_test(f, X0_T, jvp=J_tanh_sign).passed
    assert len(calls) == n_full  # a failure is never decided early

    # torch with the default jvp: f(x0) comes with J v from forward mode (no extra call)
    x0 = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 2, 30)))
    calls.clear()

    def ft(x):
        calls.append(1)
        return torch.tanh(conv(x))

    r = taylor_test(ft, x0)
    assert r.passed and len(calls) == len(r.hs) + 1 < 40


# --------------------------------------------------------------------------------------------
# zero wrong verdicts: every accepted dtype, a right and a subtly wrong operator; refusals
# --------------------------------------------------------------------------------------------

ACCEPTED = [np.float32, np.float64, np.complex64, np.complex128]
ACCEPTED_TORCH = [torch.float32, torch.float64, torch.complex64, torch.complex128]
LOW_PRECISION = [np.float16, torch.float16, torch.bfloat16]


def fft_conv_pair(n: int, dt, scale: float = 1.0):
    """Periodic convolution by FFT in the precision of ``dt`` and its adjoint (times scale)."""
    lam = np.fft.fft(np.r_[RNG.standard_normal(5), np.zeros(n - 5)])
    lam = lam.astype(np.result_type(dt, np.complex64))
    real = np.dtype(dt).kind == "f"

    def fwd(x):
        y = np.fft.ifft(np.fft.fft(x) * lam)
        return y.real if real else y

    def adj(y):
        x = np.fft.ifft(np.fft.fft(y) * lam.conj())
        return scale * (x.real if real else x)

    return fwd, adj


@pytest.mark.parametrize("dt", ACCEPTED)
def test_every_numpy_dtype_right_passes_and_0_05_percent_fails(dt):
    fwd, adj = fft_conv_pair(4096, dt)
    r = adjoint_test(fwd, adj, in_shape=4096, dtype=dt)
    assert r.passed, r.table()
    _, wrong = fft_conv_pair(4096, dt, 1.0005)
    r = adjoint_test(fwd, wrong, in_shape=4096, dtype=dt)
    assert not r.passed, r.table()
    A = (A_CPLX if np.dtype(dt).kind == "c" else A_REAL).astype(dt)
    assert adjoint_test(A).passed and not adjoint_test(A, 1.0005 * A.conj().T).passed


@pytest.mark.parametrize("dt", ACCEPTED_TORCH)
def test_every_torch_dtype_right_passes_and_0_05_percent_fails(dt):
    W = W_CONV.to(dt)
    fwd = lambda x: F.conv1d(x, W, padding=2)  # noqa: E731
    for scale, expect in ((1.0, True), (1.0005, False)):
        adj = lambda y, s=scale: s * F.conv_transpose1d(y, W, padding=2)  # noqa: E731
        r = adjoint_test(fwd, adj, in_shape=(2, 2, 2000), dtype=dt)
        assert r.passed is expect, r.table()
        r = jacobian_transpose_test(fwd, adj, in_shape=(2, 2, 2000), dtype=dt)
        assert r.passed is expect, r.table()


def test_integer_matrix_checked_in_float64():
    A = np.arange(12).reshape(4, 3)
    r = adjoint_test(A)
    assert r.passed and r.dtype == "float64"
    assert not adjoint_test(A, 1.0005 * A.T).passed


def test_float32_scale_error_caught_at_one_million_by_the_v_equals_Au_probe():
    n = 1_000_000
    fwd, adj = fft_conv_pair(n, np.float32)
    _, wrong = fft_conv_pair(n, np.float32, 1.0005)
    right = adjoint_test(fwd, adj, in_shape=n, dtype=np.float32, n_trials=1)
    bad = adjoint_test(fwd, wrong, in_shape=n, dtype=np.float32, n_trials=1)
    assert right.passed, right.table()
    assert not bad.passed, bad.table()
    # the random probe alone shrinks the 5e-4 error by ~sqrt(n): it would have passed
    assert bad.errors[bad.probes.index("random")] <= bad.tol < bad.error


@pytest.mark.parametrize("dt", LOW_PRECISION, ids=str)
def test_low_precision_refused_by_every_check(dt):
    msg = "too coarse for a verdict"
    torch_dt = not isinstance(dt, type)
    if torch_dt:
        fwd = lambda x: 2 * x  # noqa: E731
        with pytest.raises(TypeError, match=msg):
            adjoint_test(fwd, fwd, in_shape=8, dtype=dt)
        with pytest.raises(TypeError, match=msg):
            jacobian_transpose_test(fwd, fwd, in_shape=8, dtype=dt)
        with pytest.raises(TypeError, match=msg):
            taylor_test(torch.sin, torch.ones(4, dtype=dt))
        with pytest.raises(TypeError, match=msg):
            eigenvalues_match(torch.ones(4, dtype=dt), torch.ones(4, dtype=dt))
        with pytest.raises(TypeError, match=msg):  # a low-precision output of a float32 check
            adjoint_test(lambda x: x.to(dt), lambda y: y, in_shape=8, dtype=torch.float32)
    else:
        A = A_REAL.astype(dt)
        with pytest.raises(TypeError, match=msg):
            adjoint_test(A)  # A as the adjoint of A passed here before
        with pytest.raises(TypeError, match=msg):
            adjoint_test(lambda x: (A @ x).astype(dt), lambda y: A.T @ y, in_shape=5)
        with pytest.raises(TypeError, match=msg):
            taylor_test(np.sin, np.ones(4, dt), jvp=lambda x, v: np.cos(x) * v)
        with pytest.raises(TypeError, match=msg):
            eigenvalues_match(np.ones(4, dt), np.ones(4))


def test_large_float32_eigenvalue_set_refused_instead_of_accepting_zeros():
    lam = (1j * np.arange(1 << 20)).astype(np.complex64)
    with pytest.raises(ValueError, match=r"above 0\.1"):
        eigenvalues_match(np.zeros_like(lam), lam)
    assert not eigenvalues_match(np.zeros(1024), np.fft.fft(RNG.standard_normal(1024))).passed


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"in_shape": (0,)}, ValueError, "in_shape must have entries >= 1"),
        ({"in_shape": (3.5,)}, TypeError, "in_shape must be an integer or a tuple of integers"),
        ({"in_shape": 3.0}, TypeError, "in_shape must be an integer or a tuple of integers"),
        ({"in_shape": (True,)}, TypeError, "in_shape must be an integer or a tuple of integers"),
        ({"in_shape": 5, "out_shape": (7, 0)}, ValueError, "out_shape must have entries >= 1"),
        ({"in_shape": 5, "tol": math.nan}, ValueError, "tol must be finite"),
        ({"in_shape": 5, "tol": -1.0}, ValueError, "tol must be finite and >= 0"),
        ({"in_shape": 5, "tol": math.inf}, ValueError, "tol must be finite"),
        ({"in_shape": 5, "tol": 2.0}, ValueError, "a wrong answer could pass"),
        ({"in_shape": 5, "tol": True}, TypeError, "tol must be a real number"),
    ],
)
def test_adjoint_refuses_nothing_to_test_and_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        adjoint_test(lambda x: A_REAL @ x, lambda y: A_REAL.T @ y, **kwargs)


def test_adjoint_refuses_empty_operators_and_outputs():
    with pytest.raises(ValueError, match="nothing to test"):
        adjoint_test(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="nothing to test"):
        adjoint_test(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="forward output is empty"):
        adjoint_test(lambda x: x[:0], lambda y: np.zeros(3), in_shape=3)
    assert adjoint_test(A_REAL, tol=np.float32(1e-6)).passed  # numpy scalars are tolerances


def test_taylor_refuses_nothing_to_test_and_bad_steps():
    f, jvp = np.sin, lambda x, v: np.cos(x) * v
    x0 = np.linspace(0, 1, 4)
    for bad, match in (
        ({"direction": np.zeros(4)}, "direction is zero"),
        ({"direction": np.r_[1.0, np.nan, 0, 0]}, "direction contains NaN"),
        ({"hs": [0.5, np.nan, 0.1, 0.01]}, "finite, positive"),
        ({"hs": [np.inf, 0.5, 0.1, 0.01]}, "finite, positive"),
        ({"hs": [0.5, 0.25, 0.1, -0.01]}, "finite, positive"),
    ):
        with pytest.raises(ValueError, match=match):
            taylor_test(f, x0, jvp=jvp, **bad)
    with pytest.raises(ValueError, match="x0 is empty"):
        taylor_test(f, np.zeros(0), jvp=jvp)
    with pytest.raises(ValueError, match="x0 contains NaN"):
        taylor_test(f, np.r_[0.0, np.inf], jvp=jvp)
    with pytest.raises(TypeError, match="hs must be a sequence"):
        taylor_test(f, x0, jvp=jvp, hs=["a", "b", "c", "d"])


def test_eigenvalues_refuse_empty_and_bad_tol():
    with pytest.raises(ValueError, match="nothing to compare"):
        eigenvalues_match(np.zeros(0), np.zeros(0))
    lam = np.fft.fft(RNG.standard_normal(8))
    for tol in (math.nan, -1.0, math.inf):
        with pytest.raises(ValueError, match="tol must be finite"):
            eigenvalues_match(lam, lam, tol=tol)
    with pytest.raises(ValueError, match="a wrong answer could pass"):
        eigenvalues_match(lam, lam, tol=np.abs(lam).max())  # would accept all zeros


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_taylor_every_dtype_right_and_subtly_wrong(dt):
    x0 = X0_T.astype(dt)
    assert taylor_test(f_tanh, x0, jvp=J_tanh).passed
    wrong = 1.01 if dt == np.float32 else 1.0005
    assert not taylor_test(f_tanh, x0, jvp=lambda x, v: wrong * J_tanh(x, v)).passed


@pytest.mark.parametrize("dt", [torch.float32, torch.float64, torch.complex64, torch.complex128])
def test_eigenvalues_every_dtype_right_and_subtly_wrong(dt):
    c = torch.from_numpy(RNG.standard_normal(64)).to(dt)
    lam = torch.fft.fft(c)
    K = torch.stack([torch.roll(c, k) for k in range(64)], dim=1)
    computed = torch.linalg.eigvals(K)
    r = eigenvalues_match(computed, lam)
    assert r.passed, r.table()
    off = lam.clone()
    off[3] += 100 * r.tol  # one eigenvalue off by a small multiple of the tolerance
    assert not eigenvalues_match(computed, off).passed


def test_linear_map_accepted_and_its_wrong_adjoint_fails():
    from convlab.operators import LinearMap

    rev_cumsum = lambda y: np.cumsum(y[::-1])[::-1]  # noqa: E731
    assert adjoint_test(LinearMap(np.cumsum, rev_cumsum, (6,), (6,))).passed
    assert not adjoint_test(LinearMap(np.cumsum, np.cumsum, (6,), (6,))).passed


def test_demo_runs(capsys):
    from convlab.checks.__main__ import _demo

    _demo()
    out = capsys.readouterr().out
    assert "adjoint test passed" in out and "adjoint test FAILED" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_value_error_not_an_assertion():
    with pytest.raises(ValueError, match="device='cuda' is not available"):
        adjoint_test(conv, conv_adjoint, in_shape=(1, 2, 8), dtype=torch.float64, device="cuda")


def test_package_operators_accepted_directly_including_r_linear_mri():
    from convlab.inverse import AveragePool, FourierSampling

    pool = AveragePool(2).as_linear_map((1, 8, 8))
    assert adjoint_test(pool).passed
    mri = FourierSampling(torch.rand(8, 8, generator=torch.Generator().manual_seed(0)) < 0.5)
    assert adjoint_test(mri.as_linear_map()).passed  # inner='real': tested via its real view


def test_course_operator_objects_and_pairs_accepted_as_made():
    """Objects with ``as_linear_map()``, ``(forward, adjoint)`` pairs and 2-D tensors go through
    ``aslinearmap``; the same objects with a wrong adjoint fail."""
    from convlab.conv import Conv1D
    from convlab.inverse import AveragePool, FourierSampling

    op = Conv1D(np.array([1.0, -2.0, 0.5]), 16)
    assert adjoint_test(op).passed
    assert not adjoint_test(op.K, op.K, in_shape=16).passed  # K is not symmetric
    mri = FourierSampling(torch.rand(8, 8, generator=torch.Generator().manual_seed(0)) < 0.5)
    assert adjoint_test(mri).passed
    A = np.random.default_rng(0).standard_normal((5, 3))
    assert adjoint_test((lambda x: A @ x, lambda y: A.T @ y), in_shape=3).passed
    assert not adjoint_test((lambda x: A @ x, lambda y: 1.0005 * A.T @ y), in_shape=3).passed
    assert adjoint_test(torch.from_numpy(A)).passed
    with pytest.raises(TypeError, match=r"AveragePool\(\.\.\.\)\.as_linear_map"):
        adjoint_test(AveragePool(2))  # shape-agnostic: needs the image shape


TAYLOR_DTYPES = [np.float32, np.float64, np.complex64, np.complex128, *ACCEPTED_TORCH]


@pytest.mark.parametrize("dt", TAYLOR_DTYPES, ids=str)
def test_taylor_every_accepted_dtype_right_passes_and_1_percent_fails(dt):
    x = np.linspace(-1, 1, 5) + (0.5j if "complex" in str(dt) else 0)
    x0 = torch.from_numpy(x).to(dt) if isinstance(dt, torch.dtype) else x.astype(dt)
    cube = lambda x: x**3  # noqa: E731
    assert taylor_test(cube, x0, jvp=lambda x, v: 3 * x**2 * v).passed
    assert not taylor_test(cube, x0, jvp=lambda x, v: 1.01 * 3 * x**2 * v).passed
