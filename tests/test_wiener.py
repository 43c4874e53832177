"""Wiener filters (dense / levinson / cholesky / cg / fft), penalties and WienerLoss, against
independent references: numpy lstsq on scipy's convolution matrix (1D) and on a matrix probed
from scipy.signal.convolve2d (2D), normal-equation optimality, autograd through the dense solve,
gradcheck and the Taylor test."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch

import convlab.wiener.factor as factor_module
import convlab.wiener.solvers as solvers_module
from convlab.wiener import (
    WienerFactor,
    WienerLoss,
    WienerOptions,
    apply_filter,
    dense_bytes,
    fft_filter_error,
    filter_penalty,
    lags,
    normal_matrix,
    penalty_gaussian,
    penalty_sharp,
    solve_cost,
    solve_normal_equations,
    wiener_filter,
    zero_lag_index,
)

torch.set_num_threads(1)  # small FFTs; two threads on a shared 2-core machine are far slower


def _reference_1d(a, b, m, eps=0.0):
    """lstsq / ridge on scipy's full convolution matrix with b placed at the zero-lag offset."""
    A = scipy.linalg.convolution_matrix(a, m, "full")
    c = (m - 1) // 2
    b_pad = np.zeros(A.shape[0])
    b_pad[c : c + len(b)] = b
    if eps:
        return np.linalg.solve(A.T @ A + eps * (a @ a) * np.eye(m), A.T @ b_pad)
    return np.linalg.lstsq(A, b_pad, rcond=None)[0]


def _reference_2d(a, b, m):
    """lstsq on a matrix probed column by column with scipy.signal.convolve2d (C order)."""
    cols = []
    for k in range(m[0] * m[1]):
        e = np.zeros(m[0] * m[1])
        e[k] = 1.0
        cols.append(scipy.signal.convolve2d(a, e.reshape(m), "full").ravel())
    A = np.stack(cols, axis=1)
    c = zero_lag_index(m)
    b_pad = np.zeros((a.shape[0] + m[0] - 1, a.shape[1] + m[1] - 1))
    b_pad[c[0] : c[0] + b.shape[0], c[1] : c[1] + b.shape[1]] = b
    return np.linalg.lstsq(A, b_pad.ravel(), rcond=None)[0].reshape(m)


def _rel(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.linalg.norm(x - y) / np.linalg.norm(y)


EXACT_1D = ["dense", "levinson", "gs", "cholesky", "cg"]


@pytest.mark.parametrize(("n", "m"), [(1, 1), (8, 8), (9, 4), (12, 23), (30, 30)])
@pytest.mark.parametrize("solver", EXACT_1D)
def test_exact_1d_solvers_match_lstsq(n, m, solver):
    rng = np.random.default_rng(n + 7 * m)
    a, b = rng.standard_normal((3, n)), rng.standard_normal((3, n))
    w = wiener_filter(torch.from_numpy(a), torch.from_numpy(b), m, solver=solver)
    assert w.shape == (3, m) and w.dtype == torch.float64
    for i in range(3):
        assert _rel(w[i], _reference_1d(a[i], b[i], m)) < 1e-8


@pytest.mark.parametrize(
    ("n", "m"), [((3, 3), (3, 3)), ((5, 4), (5, 4)), ((6, 3), (3, 5)), ((4, 4), (7, 7))]
)
@pytest.mark.parametrize("solver", ["dense", "gs", "cholesky", "cg"])
def test_exact_2d_solvers_match_lstsq(n, m, solver):
    rng = np.random.default_rng(sum(n) + 3 * sum(m))
    a, b = rng.standard_normal((2, 1, *n)), rng.standard_normal((2, 1, *n))
    w = wiener_filter(torch.from_numpy(a), torch.from_numpy(b), m, dim=2, solver=solver)
    assert w.shape == (2, 1, *m)
    for i in range(2):
        assert _rel(w[i, 0], _reference_2d(a[i, 0], b[i, 0], m)) < 1e-8


@pytest.mark.parametrize("solver", EXACT_1D)
def test_prewhitening_epsilon_is_a_ridge(solver):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    w = wiener_filter(a, b, 7, solver=solver, epsilon=0.05)
    assert _rel(w, _reference_1d(a, b, 7, eps=0.05)) < 1e-8
    assert _rel(w, _reference_1d(a, b, 7)) > 1e-3  # the ridge changes the answer


def test_normal_equations_hold_for_an_image_like_signal():
    # positive, smooth signals make A^T A ill-conditioned: check optimality A^T (A w - b) = 0
    t = np.linspace(0, 1, 64)
    a = 1.0 + 0.5 * np.sin(6 * t) + 0.05 * np.random.default_rng(0).standard_normal(64)
    b = np.roll(a, 3) * 0.8
    A = scipy.linalg.convolution_matrix(a, 64, "full")
    b_pad = np.zeros(127)
    b_pad[31:95] = b
    for solver in ("levinson", "gs", "cholesky", "cg"):
        w = wiener_filter(a, b, solver=solver).numpy()
        grad = A.T @ (A @ w - b_pad)
        assert np.linalg.norm(grad) < 1e-9 * np.linalg.norm(A.T @ b_pad)


@pytest.mark.parametrize(("dim", "shape"), [(1, (7,)), (1, (8,)), (2, (5, 6)), (2, (4, 4))])
def test_delta_test_same_input_and_output(dim, shape):
    x = torch.from_numpy(np.random.default_rng(2).standard_normal(shape))
    delta = torch.zeros(shape, dtype=torch.float64)
    delta[zero_lag_index(shape)] = 1.0
    solvers = ["dense", "gs", "cholesky", "cg"] + (["levinson"] if dim == 1 else [])
    for solver in solvers:
        w = wiener_filter(x, x, dim=dim, solver=solver)
        assert torch.allclose(w, delta, atol=1e-10), solver
        # convolving the filter with the signal returns the signal
        assert torch.allclose(apply_filter(x, w, dim=dim), x, atol=1e-10)
    w_fft = wiener_filter(x, x, dim=dim, solver="fft")
    assert (w_fft - delta).abs().max() < 1e-4


def test_filter_recovers_a_shift():
    # b = a delayed by 2 samples (zero-filled): the exact filter is a delta at lag +2
    rng = np.random.default_rng(4)
    a = rng.standard_normal(20)
    b = np.concatenate([[0.0, 0.0], a[:-2]])
    w = wiener_filter(a, b, 9)
    expected = np.zeros(9)
    expected[4 + 2] = 1.0
    # not exactly (the two last samples of a fall outside the window), but close
    assert np.argmax(np.abs(w.numpy())) == 6
    assert _rel(w, expected) < 0.2


def test_fft_solver_is_the_circulant_formula_and_measurably_approximate():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    m, eps = 16, 1e-3
    S = 32  # the smallest 2/3/5-smooth length >= n + m - 1 = 31
    b_pad = np.zeros(S)
    b_pad[7:23] = b
    fa, fb = np.fft.fft(a, S), np.fft.fft(b_pad)
    expected = np.fft.ifft(fa.conj() * fb / (np.abs(fa) ** 2 + eps * (a @ a))).real[:m]
    w = wiener_filter(a, b, solver="fft", epsilon=eps)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-10, atol=1e-12)
    err = fft_filter_error(a, b, epsilon=eps)
    assert err.shape == () and 0.05 < float(err) < 10  # genuinely different from the exact filter
    assert float(fft_filter_error(a, a, epsilon=1e-8)) < 1e-5  # but right for the delta test


def test_cg_preconditioner_cuts_iterations_and_warns_when_not_converged():
    t = torch.linspace(0, 1, 200, dtype=torch.float64)
    a = 1.0 + torch.sin(9 * t) ** 2 + 0.01 * torch.cos(50 * t)
    g = torch.randn(200, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _, plain = solve_normal_equations(a, g, dim=1, solver="cg", preconditioner=False)
    _, chan = solve_normal_equations(a, g, dim=1, solver="cg", preconditioner=True)
    assert plain.converged and chan.converged
    assert chan.iterations * 3 < plain.iterations
    with pytest.warns(RuntimeWarning, match="cg did not converge"):
        solve_normal_equations(a, g, dim=1, solver="cg", maxiter=2)


@pytest.mark.parametrize(
    ("solver", "eps"),
    [
        ("levinson", 0.0),
        ("gs", 0.0),
        ("gs", 0.1),
        ("cholesky", 0.0),
        ("cg", 0.0),
        ("dense", 0.0),
        ("fft", 1e-2),
        ("cg", 0.1),
    ],
)
def test_gradcheck_filter(solver, eps):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(2, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(2, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: wiener_filter(a, b, 5, solver=solver, epsilon=eps), (a, b)
    )


@pytest.mark.parametrize(
    ("dim", "shape", "solvers"),
    [
        (1, (2, 3, 11), ["levinson", "gs", "cholesky", "cg"]),
        (2, (2, 2, 5, 4), ["gs", "cholesky", "cg"]),
    ],
)
def test_implicit_backward_equals_autograd_through_dense(dim, shape, solvers):
    # an independent reference: autograd through the explicit-matrix Cholesky solve
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(shape, dtype=torch.float64, generator=gen)
    b = torch.randn(shape, dtype=torch.float64, generator=gen)
    cot = torch.randn(shape, dtype=torch.float64, generator=gen)  # m = n by default

    def grads(solver):
        x, y = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
        w = wiener_filter(x, y, dim=dim, solver=solver, epsilon=1e-3)
        (w * cot).sum().backward()
        return torch.cat([x.grad.reshape(-1), y.grad.reshape(-1)])

    ref = grads("dense")
    for solver in solvers:
        assert float((grads(solver) - ref).norm() / ref.norm()) < 1e-9, solver


@pytest.mark.parametrize(
    ("dim", "shape", "penalty", "direction"),
    [
        (1, (2, 3, 7), "gaussian", "target_to_prediction"),
        (1, (2, 3, 7), "sharp", "symmetric"),
        (2, (2, 1, 4, 3), "sharp", "target_to_prediction"),
        (2, (2, 1, 4, 3), "gaussian", "prediction_to_target"),
    ],
)
def test_gradcheck_loss(dim, shape, penalty, direction):
    gen = torch.Generator().manual_seed(2)
    p = torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    t = torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    loss = WienerLoss(dim=dim, penalty=penalty, direction=direction)
    assert torch.autograd.gradcheck(loss, (p, t))


def test_taylor_test_of_the_loss_gradient():
    from convlab.checks import taylor_test

    gen = torch.Generator().manual_seed(3)
    t = torch.randn(2, 12, 10, dtype=torch.float64, generator=gen)
    p0 = t + 0.3 * torch.randn(2, 12, 10, dtype=torch.float64, generator=gen)
    loss = WienerLoss(dim=2, penalty="gaussian")

    def grad(p):
        p = p.clone().requires_grad_(True)
        loss(p, t).backward()
        return p.grad

    def jvp(p, v):
        return (grad(p) * v).sum()

    res = taylor_test(lambda p: loss(p, t), p0, jvp=jvp)
    assert res.passed, res.table()
    wrong = taylor_test(lambda p: loss(p, t), p0, jvp=lambda p, v: 1.01 * jvp(p, v))
    assert not wrong.passed


def test_loss_properties():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 2, 9, 8, dtype=torch.float64, generator=gen)
    y = torch.randn(3, 2, 9, 8, dtype=torch.float64, generator=gen)
    for solver in ("dense", "cholesky", "cg"):
        loss = WienerLoss(dim=2, penalty="sharp", solver=solver)
        assert float(loss(x, x)) < 1e-20
        assert float(loss(x, y)) > 1e-3
    fft_loss = WienerLoss(dim=2, solver="fft", epsilon=1e-10)
    assert 0 <= float(fft_loss(x, x)) < 1e-12
    loss = WienerLoss(dim=2, reduction="none")
    values = loss(y, x)
    assert values.shape == (3, 2) and bool((values >= 0).all()) and bool((values <= 0.5).all())
    assert torch.allclose(WienerLoss(dim=2, reduction="sum")(y, x), values.sum())
    assert torch.allclose(WienerLoss(dim=2)(y, x), values.mean())
    # dividing by ||w||^2: invariant to the prediction's scale (target -> prediction direction)
    assert torch.allclose(loss(3.7 * y, x), values, rtol=1e-10)
    sym = WienerLoss(dim=2, reduction="none", direction="symmetric")(y, x)
    rev = WienerLoss(dim=2, reduction="none", direction="prediction_to_target")(y, x)
    assert torch.allclose(sym, (values + rev) / 2)
    # a closer prediction has a smaller loss
    closer = x + 0.05 * (y - x)
    assert bool((loss(closer, x) < values).all())


def test_loss_float32_and_custom_penalty():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(4, 16, generator=gen)
    y = (x + 0.2 * torch.randn(4, 16, generator=gen)).requires_grad_(True)
    T = penalty_sharp(16) ** 2
    loss = WienerLoss(dim=1, penalty=T)
    value = loss(y, x)
    assert value.dtype == torch.float32
    value.backward()
    assert y.grad is not None and y.grad.dtype == torch.float32 and torch.isfinite(y.grad).all()
    w = wiener_filter(x.double(), y.detach().double())
    assert torch.allclose(value.double(), filter_penalty(w, T).mean(), rtol=1e-5)


def test_penalties():
    for T in (penalty_gaussian(9), penalty_sharp(9)):
        assert T[4] == 0 and float(T.max()) == 1.0
        assert torch.equal(T, T.flip(0))
        assert bool((torch.diff(T[4:]) > 0).all())  # grows with the lag
    np.testing.assert_allclose(penalty_sharp(9).numpy(), np.abs(np.arange(-4, 5)) / 4)
    g = penalty_gaussian(101).numpy()
    assert g[51] < 0.01 < penalty_sharp(101).numpy()[51]  # smooth (quadratic) vs sharp at lag 0
    T2 = penalty_gaussian((7, 5))
    assert T2.shape == (7, 5) and T2[3, 2] == 0 and float(T2.max()) == 1.0
    assert torch.allclose(T2, T2.flip(0)) and torch.allclose(T2, T2.flip(1))
    S2 = penalty_sharp((6, 6))  # even size: zero lag at index 2, lags -2..3
    assert S2[2, 2] == 0 and float(S2.max()) == 1.0 and float(S2[5, 5]) == 1.0
    assert float(penalty_sharp(1).sum()) == 0.0
    with pytest.raises(ValueError, match="sigma"):
        penalty_gaussian(5, sigma=0)


def test_dense_memory_is_checked_before_allocating():
    assert dense_bytes((65536,)) > 24 * 2**30
    with pytest.raises(MemoryError, match=r"use solver='gs' or 'cg'"):
        wiener_filter(torch.ones(65536), torch.ones(65536), solver="dense")


def test_clear_errors():
    x = torch.randn(2, 8)
    with pytest.raises(ValueError, match="same shape"):
        wiener_filter(x, torch.randn(2, 7))
    with pytest.raises(ValueError, match="same shape"):
        WienerLoss(dim=1)(x, torch.randn(3, 8))
    with pytest.raises(ValueError, match=r"a is all zero .*singular"):
        wiener_filter(torch.zeros(2, 8).index_fill(0, torch.tensor([0]), 1.0), x)
    with pytest.raises(ValueError, match="target is all zero"):
        WienerLoss(dim=1)(x, torch.zeros(2, 8))
    with pytest.raises(ValueError, match="prediction is all zero"):
        WienerLoss(dim=1)(torch.zeros(2, 8), x)
    with pytest.raises(ValueError, match="NaN"):
        wiener_filter(torch.tensor([1.0, float("nan")]), torch.ones(2))
    with pytest.raises(ValueError, match="dim=3 is not supported"):
        WienerLoss(dim=3)
    with pytest.raises(ValueError, match="dim=3 is not supported"):
        wiener_filter(x, x, dim=3)
    with pytest.raises(ValueError, match="at least 2 dimension"):
        WienerLoss(dim=2)(torch.randn(5), torch.randn(5))
    with pytest.raises(ValueError, match=r"levinson.*dim=1 only"):
        wiener_filter(torch.randn(3, 3), torch.randn(3, 3), dim=2, solver="levinson")
    with pytest.raises(ValueError, match=r"levinson.*dim=1 only"):
        WienerLoss(dim=2, solver="levinson")
    with pytest.raises(ValueError, match="needs epsilon > 0"):
        wiener_filter(x, x, solver="fft", epsilon=0)
    with pytest.raises(ValueError, match="epsilon must be"):
        wiener_filter(x, x, epsilon=-1.0)
    with pytest.raises(ValueError, match="solver must be one of"):
        wiener_filter(x, x, solver="lstsq")
    with pytest.raises(ValueError, match="penalty must be one of"):
        WienerLoss(dim=1, penalty="box")
    with pytest.raises(ValueError, match="penalty shape"):
        WienerLoss(dim=1, penalty=penalty_sharp(5))(x, x + 1)
    with pytest.raises(ValueError, match="filter_shape must have 2"):
        wiener_filter(torch.randn(4, 4), torch.randn(4, 4), (3,), dim=2)
    with pytest.raises(TypeError, match="real"):
        wiener_filter(x.to(torch.complex128), x)
    with pytest.raises(ValueError, match="reduction"):
        WienerLoss(dim=1, reduction="max")


@pytest.mark.parametrize("m", [(1,), (2,), (7,), (8,), (1, 1), (3, 3), (3, 4), (4, 4), (2, 5)])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_normal_matrix_and_centrosymmetric_cholesky_match_the_explicit_matrix(m, eps):
    # independent reference: A^T A from scipy's convolution matrix / probed convolve2d (C order)
    gen = np.random.default_rng(sum(m) + int(10 * eps))
    a = gen.standard_normal((2, *m))
    if len(m) == 1:
        A = np.stack([scipy.linalg.convolution_matrix(x, m[0], "full") for x in a])
    else:
        A = np.stack(
            [
                np.stack(
                    [
                        scipy.signal.convolve2d(x, np.eye(m[0] * m[1])[k].reshape(m)).ravel()
                        for k in range(m[0] * m[1])
                    ],
                    axis=1,
                )
                for x in a
            ]
        )
    R = A.transpose(0, 2, 1) @ A + eps * (a.reshape(2, -1) ** 2).sum(1)[:, None, None] * np.eye(
        A.shape[-1]
    )
    at = torch.from_numpy(a)
    np.testing.assert_allclose(normal_matrix(at, m, epsilon=eps).numpy(), R, atol=1e-12)
    g = torch.from_numpy(gen.standard_normal((2, *m)))
    x, info = solve_normal_equations(at, g, dim=len(m), solver="cholesky", epsilon=eps)
    expected = np.linalg.solve(R, g.reshape(2, -1, 1).numpy())[..., 0]
    assert _rel(x.reshape(2, -1), expected) < 1e-10
    # the factors are reused for the adjoint solve: same answer again
    assert _rel(info.factor.solve(g.reshape(2, -1)), expected) < 1e-10


# --------------------------------------------------------------------------------------------
# the target's factorisation, computed once (WienerFactor, WienerLoss(cache_target=True))
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["operator", "factors"])
def factor_path(request, monkeypatch):
    """Run a test twice: with the materialised operator W and with the stored factors only."""
    if request.param == "factors":
        monkeypatch.setattr(factor_module, "OPERATOR_MAX_ENTRIES", 0)
    return request.param


@pytest.mark.parametrize(
    ("n", "m", "solver"),
    [
        ((12,), (12,), "levinson"),
        ((12,), (7,), "levinson"),
        ((12,), (12,), "gs"),
        ((15,), (6,), "gs"),
        ((13,), (13,), "cholesky"),
        ((9,), (4,), "cg"),
        ((6, 5), (6, 5), "cholesky"),
        ((7, 7), (3, 4), "cholesky"),
        ((6, 5), (6, 5), "cg"),
        ((6, 5), (6, 5), "gs"),
        ((7, 7), (3, 4), "gs"),
        ((5, 8), (1, 6), "gs"),
    ],
)
def test_wiener_factor_matches_lstsq(n, m, solver, factor_path):
    rng = np.random.default_rng(sum(n) + sum(m))
    a = rng.standard_normal((2, *n))
    b = rng.standard_normal((3, 2, *n))  # three right-hand sides for one factorisation
    fac = WienerFactor(torch.from_numpy(a), m, dim=len(n), solver=solver)
    assert (fac.operator is not None) == (factor_path == "operator" and solver != "cg")
    ref = _reference_1d if len(n) == 1 else _reference_2d
    for bk in b:
        w = fac.filter(torch.from_numpy(bk)).numpy()
        for i in range(2):
            m_arg = m[0] if len(n) == 1 else m
            assert _rel(w[i], ref(a[i], bk[i], m_arg)) < 1e-8


@pytest.mark.parametrize("extra", [(), (3,)])
def test_gohberg_semencul_is_the_inverse(extra):
    # R^{-1} y by two triangular Toeplitz pairs (FFT) against numpy's solve with scipy's Toeplitz
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 40))
    r = np.stack([np.correlate(x, x, "full")[39:] for x in a])  # lags 0..39 of A^T A
    y = rng.standard_normal((2, *extra, 40))
    x = solvers_module._GohbergSemencul(torch.from_numpy(r)).solve(torch.from_numpy(y)).numpy()
    for i in range(2):
        R = scipy.linalg.toeplitz(r[i])
        expected = np.linalg.solve(R, y[i].reshape(-1, 40).T).T.reshape(y[i].shape)
        assert _rel(x[i], expected) < 1e-12
    wrong = r.copy()
    wrong[:, 1] *= 1.001  # a subtly different matrix is not inverted
    x_wrong = solvers_module._GohbergSemencul(torch.from_numpy(wrong)).solve(torch.from_numpy(y))
    assert _rel(x_wrong.numpy(), x) > 1e-4
    for singular in ([1.0, 1.0, 1.0], [0.0, 1.0, 0.0]):  # Levinson breaks down: refused
        with pytest.raises(ValueError, match="positive definite"):
            solvers_module._GohbergSemencul(torch.tensor(singular, dtype=torch.float64))


def _loss_and_grads(loss, p, t):
    p, t = (
        p.detach().clone().requires_grad_(True),
        t.detach().clone().requires_grad_(t.requires_grad),
    )
    value = loss(p, t)
    value.backward()
    return value.detach(), p.grad, t.grad


@pytest.mark.parametrize(
    ("dim", "shape", "solver", "direction", "target_grad"),
    [
        (1, (2, 3, 11), "levinson", "target_to_prediction", False),
        (1, (2, 3, 11), "gs", "target_to_prediction", True),
        (1, (2, 11), "cholesky", "symmetric", True),
        (1, (2, 10), "fft", "target_to_prediction", True),
        (2, (2, 1, 6, 5), "cholesky", "target_to_prediction", False),
        (2, (2, 1, 6, 5), "cholesky", "target_to_prediction", True),
        (2, (2, 1, 6, 5), "gs", "target_to_prediction", True),
        (2, (1, 2, 5, 5), "gs", "symmetric", False),
        (2, (1, 2, 5, 5), "cg", "symmetric", False),
        (2, (1, 1, 6, 6), "fft", "target_to_prediction", False),
    ],
)
def test_cached_loss_and_gradient_equal_the_uncached(
    dim, shape, solver, direction, target_grad, factor_path
):
    gen = torch.Generator().manual_seed(11)
    t = torch.randn(shape, dtype=torch.float64, generator=gen).requires_grad_(target_grad)
    kw = dict(dim=dim, penalty="gaussian", solver=solver, direction=direction, tol=1e-13)
    plain, cached = WienerLoss(**kw), WienerLoss(**kw, cache_target=True)
    for _ in range(3):  # three epochs: one factorisation, reused twice
        p = t.detach() + 0.5 * torch.randn(shape, dtype=torch.float64, generator=gen)
        f0, gp0, gt0 = _loss_and_grads(plain, p, t)
        f1, gp1, gt1 = _loss_and_grads(cached, p, t)
        assert abs(float(f1 - f0)) <= 1e-10 * abs(float(f0))
        assert _rel(gp1, gp0) < 1e-10
        if target_grad:
            assert _rel(gt1, gt0) < 1e-10
    assert cached.factorisations == 1


def test_cache_is_keyed_on_the_target_values(factor_path):
    gen = torch.Generator().manual_seed(12)
    t = torch.randn(1, 1, 6, 6, dtype=torch.float64, generator=gen)
    p = torch.randn(1, 1, 6, 6, dtype=torch.float64, generator=gen)
    loss = WienerLoss(dim=2, penalty="sharp", cache_target=True)
    plain = WienerLoss(dim=2, penalty="sharp")
    loss(p, t)
    loss(p, t.clone())  # another tensor, same values: reused
    assert loss.factorisations == 1
    t.mul_(-1.5).add_(0.25)  # in place: the values change, the cache must notice
    assert torch.allclose(loss(p, t), plain(p, t), rtol=1e-12)
    assert loss.factorisations == 2
    with torch.no_grad():
        t.data[0, 0, 2, 3] += 1.0  # even a change that bypasses autograd's version counter
    assert torch.allclose(loss(p, t), plain(p, t), rtol=1e-12)
    assert loss.factorisations == 3
    t2 = torch.randn(1, 1, 6, 6, dtype=torch.float64, generator=gen)
    assert torch.allclose(loss(p, t2), plain(p, t2), rtol=1e-12)
    assert loss.factorisations == 4
    loss.options = plain.options = WienerOptions(epsilon=0.1)  # changed settings: recomputed
    assert torch.allclose(loss(p, t2), plain(p, t2), rtol=1e-12)
    assert loss.factorisations == 5
    assert torch.allclose(loss(p, t2.float()), plain(p, t2.float()), rtol=1e-5)  # new dtype
    assert loss.factorisations == 6


@pytest.mark.parametrize(
    ("dim", "shape", "solver"),
    [
        (1, (2, 7), "levinson"),
        (1, (2, 7), "gs"),
        (2, (2, 1, 4, 3), "cholesky"),
        (2, (2, 1, 4, 3), "gs"),
        (2, (1, 1, 4, 4), "fft"),
    ],
)
def test_gradcheck_through_the_cached_path(dim, shape, solver, factor_path):
    gen = torch.Generator().manual_seed(13)
    t = torch.randn(shape, dtype=torch.float64, generator=gen)
    p = torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    loss = WienerLoss(dim=dim, penalty="sharp", solver=solver, cache_target=True)
    assert torch.autograd.gradcheck(lambda p: loss(p, t), (p,))
    assert loss.factorisations == 1  # every evaluation reused the one factorisation
    t.requires_grad_(True)  # through the stored factors with a live target (recomputed per t)
    assert torch.autograd.gradcheck(loss, (p, t))


def test_wiener_factor_errors():
    a = torch.randn(2, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="dense"):
        WienerFactor(a, solver="dense")
    with pytest.raises(ValueError, match="all zero"):
        WienerFactor(torch.zeros(2, 8))
    with pytest.raises(ValueError, match="shape"):
        WienerFactor(a).filter(torch.randn(3, 8))
    with pytest.raises(TypeError, match="cache_target"):
        WienerLoss(dim=1, cache_target=1)
    assert not WienerFactor(a).matches(a.float()) and WienerFactor(a).matches(a.clone())


def test_options_are_one_validated_settings_object():
    a = torch.randn(2, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    b = torch.randn(2, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    opts = WienerOptions(solver="cg", tol=1e-13)
    by_object = wiener_filter(a, b, options=opts)
    by_keywords = wiener_filter(a, b, solver="cg", tol=1e-13)
    assert torch.equal(by_object, by_keywords)
    assert WienerLoss(dim=1, options=opts, tol=1e-10).options == WienerOptions("cg", tol=1e-10)
    assert hash(opts) == hash(WienerOptions(solver="cg", tol=1e-13))  # usable as a cache key
    assert opts.resolve(1, (9,)).epsilon == 0.0
    assert WienerOptions(solver="fft").resolve(1, (9,)).epsilon == 1e-6
    assert WienerOptions().resolve(2, (100, 100)).solver == "cg"
    assert WienerOptions().resolve(1, (100,)).solver == "gs"
    assert WienerOptions().resolve(2, (64, 64)).solver == "cg"  # one solve: cg is faster
    assert WienerOptions().resolve(2, (64, 64), cached=True).solver == "gs"  # block inverse
    assert WienerOptions().resolve(2, (4, 4)).solver == "cholesky"
    for bad, err in [
        (dict(solver="qr"), ValueError),
        (dict(tol=0.0), ValueError),
        (dict(tol=float("nan")), ValueError),
        (dict(epsilon=-1.0), ValueError),
        (dict(maxiter=0), ValueError),
        (dict(preconditioner=1), TypeError),
    ]:
        with pytest.raises(err, match=next(iter(bad))):
            WienerOptions(**bad)
    with pytest.raises(TypeError, match="unknown Wiener solver setting"):
        wiener_filter(a, b, tolerance=1e-3)
    with pytest.raises(TypeError, match="options must be a WienerOptions"):
        wiener_filter(a, b, options={"solver": "cg"})


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_exact_filter_agrees_with_dense_and_the_other_exact_solvers(dtype):
    # issue 16's accuracy: gs (1D) and the cached factors (1D and 2D) against dense least
    # squares in float64, batched; float32 inputs are solved in float64 and rounded once
    gen = torch.Generator().manual_seed(21)
    a, b = torch.randn(2, 3, 120, generator=gen), torch.randn(2, 3, 120, generator=gen)
    a, b = a.to(dtype), b.to(dtype)
    ref = wiener_filter(a.double(), b.double(), solver="dense")
    tol = 1e-8 if dtype == torch.float64 else 1e-6
    for solver in ("gs", "levinson", "cholesky", "cg"):
        w = wiener_filter(a, b, solver=solver)
        assert w.dtype == dtype and _rel(w, ref) < tol, solver
        w_cached = WienerFactor(a, solver=solver).filter(b)
        assert w_cached.dtype == dtype and _rel(w_cached, ref) < tol, solver
    assert _rel(wiener_filter(a, b, solver="fft"), ref) > 0.1  # the approximation is not exact
    img_a, img_b = a.reshape(2, 3, 10, 12), b.reshape(2, 3, 10, 12)
    ref2 = wiener_filter(img_a.double(), img_b.double(), dim=2, solver="dense")
    for solver in ("gs", "cholesky", "cg"):
        w = WienerFactor(img_a, dim=2, solver=solver).filter(img_b)
        assert w.dtype == dtype and _rel(w, ref2) < tol, solver


def test_gs_at_a_size_where_dense_does_not_fit_agrees_with_a_converged_cg():
    # m = 6000: dense A would be 1.7 GB; the reference is float64 CG to 1e-13
    gen = torch.Generator().manual_seed(22)
    a = torch.randn(1, 6000, dtype=torch.float64, generator=gen)
    b = torch.randn(1, 6000, dtype=torch.float64, generator=gen)
    ref = wiener_filter(a, b, solver="cg", tol=1e-13)
    assert _rel(wiener_filter(a, b, solver="gs"), ref) < 1e-10
    assert _rel(WienerFactor(a, solver="gs").filter(b), ref) < 1e-10


# --------------------------------------------------------------------------------------------
# bad input: a clear error, never a silent NaN / zero / 0.5, never a huge solve (issue 13)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [1, 2])
def test_an_unbatched_all_zero_signal_is_refused(dim):
    shape = (8,) if dim == 1 else (5, 6)
    x, zero = torch.randn(shape, dtype=torch.float64), torch.zeros(shape, dtype=torch.float64)
    for solver in ("cg", "fft", "dense", "cholesky"):
        with pytest.raises(ValueError, match="a is all zero: "):
            wiener_filter(zero, x, dim=dim, solver=solver)
    with pytest.raises(ValueError, match="target is all zero"):
        WienerLoss(dim=dim)(x, zero)
    with pytest.raises(ValueError, match="prediction is all zero"):
        WienerLoss(dim=dim)(zero, x)
    with pytest.raises(ValueError, match=r"batch item \(1,\)"):  # batched: names the item
        wiener_filter(torch.stack([x, zero]), torch.stack([x, x]), dim=dim)
    assert torch.isfinite(WienerLoss(dim=dim)(x, x))  # the right input still works


def test_nan_in_b_is_refused():
    a, b = torch.randn(2, 8, dtype=torch.float64), torch.randn(2, 8, dtype=torch.float64)
    b[1, 3] = float("nan")
    for solver in ("gs", "cg", "fft", "dense"):
        with pytest.raises(ValueError, match="b contains NaN"):
            wiener_filter(a, b, solver=solver)
    with pytest.raises(ValueError, match="b contains NaN"):
        WienerFactor(a).filter(b)
    b[1, 3] = float("inf")
    with pytest.raises(ValueError, match="prediction contains NaN"):
        WienerLoss(dim=1)(b, a)


def test_penalties_that_would_make_a_silent_loss_are_refused():
    T = penalty_sharp(9)
    x = torch.randn(3, 9, dtype=torch.float64)
    assert float(WienerLoss(dim=1, penalty=T)(x, x)) < 1e-20  # a right penalty
    for bad, match in [
        (T + 1.0, "0 at zero lag"),  # loss(x, x) would be 0.5
        (torch.zeros(9, dtype=torch.float64), "0 at every lag"),
        (-T, ">= 0"),
        (T.clone().fill_(float("nan")), "finite"),
        (T[None], "1-D"),
    ]:
        with pytest.raises(ValueError, match=match):
            WienerLoss(dim=1, penalty=bad)
    for sigma in (float("inf"), float("nan"), 0.0, -1.0):
        with pytest.raises(ValueError, match="sigma"):
            penalty_gaussian(9, sigma=sigma)
        with pytest.raises(ValueError, match="sigma"):
            WienerLoss(dim=1, sigma=sigma)
    with pytest.raises(ValueError, match="underflows"):
        penalty_gaussian(9, sigma=1e200)
    wide = penalty_gaussian(9, sigma=1e6)  # very wide but finite: quadratic, not all zero
    np.testing.assert_allclose(wide.numpy(), (lags(9) / 4.0) ** 2, rtol=1e-6)


def test_a_huge_solve_is_refused_up_front_without_allocating():
    import time

    a, b = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    t0 = time.perf_counter()
    for solver in ("auto", "gs", "levinson", "dense", "cholesky"):
        with pytest.raises((ValueError, MemoryError), match="limit"):
            wiener_filter(a, b, 10**6, solver=solver)
    with pytest.raises((ValueError, MemoryError), match="limit"):
        WienerFactor(a, 10**6)
    with pytest.raises(MemoryError, match=r"GiB.*use solver='cg'"):
        wiener_filter(torch.randn(256, 256), torch.randn(256, 256), dim=2, solver="cholesky")
    assert time.perf_counter() - t0 < 1.0
    assert wiener_filter(a, b, 1000).shape == (1000,)  # a large but affordable filter is solved
    bytes_, flops = solve_cost((16,), (10**6,), "gs")
    assert flops > 1e12 and bytes_ < 2**30  # O(m^2) work, O(m) memory


def test_the_solve_limit_is_the_package_cost_limit(monkeypatch):
    from convlab._validate import CostLimitError

    a, b = torch.randn(64, dtype=torch.float64), torch.randn(64, dtype=torch.float64)
    assert wiener_filter(a, b, 64, solver="dense").shape == (64,)
    monkeypatch.setenv("CONVLAB_MAX_BYTES", "4096")  # the user's own limit, not wiener's
    with pytest.raises(CostLimitError, match=r"solver='dense'.*CONVLAB_MAX_BYTES"):
        wiener_filter(a, b, 64, solver="dense")


@pytest.mark.parametrize(
    ("dim", "shape", "solver"),
    [
        (1, (2, 9), "gs"),
        (1, (2, 9), "levinson"),
        (1, (9,), "cholesky"),
        (1, (2, 9), "cg"),
        (1, (2, 9), "fft"),
        (2, (2, 5, 4), "cholesky"),
        (2, (2, 5, 4), "gs"),
        (2, (5, 4), "cg"),
        (2, (2, 5, 4), "fft"),
    ],
)
def test_the_b_to_w_map_is_a_linear_map_with_its_adjoint(dim, shape, solver, factor_path):
    from convlab.operators import LinearMap, aslinearmap

    a = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(31))
    fac = WienerFactor(a, dim=dim, solver=solver)
    W = aslinearmap(fac)  # a factor converts through as_linear_map()
    tol = 1e-9 if solver == "cg" else None  # cg solves to its tol (1e-12 relative residual)
    assert W.adjoint_test(tol=tol).passed
    # the dense matrix: column j is the filter of the j-th unit vector b (dense solver)
    units = torch.eye(a.numel(), dtype=torch.float64).reshape(-1, *shape)
    exact = solver if solver == "fft" else "dense"
    cols = [wiener_filter(a, e, dim=dim, solver=exact).reshape(-1) for e in units]
    assert _rel(W.to_dense(), torch.stack(cols, dim=1)) < 1e-8
    # a subtly wrong adjoint (the R^{-1} or the multiplier's conjugate left out) must fail
    wrong = LinearMap(
        W.forward,
        lambda y: apply_filter(a, y, dim=dim),
        W.in_shape,
        W.out_shape,
        backend="torch",
        dtype=torch.float64,
    )
    assert not wrong.adjoint_test(tol=tol).passed
    with pytest.raises(ValueError, match="w_bar must have the filter's shape"):
        fac.adjoint(torch.zeros(3, 3))


@pytest.mark.parametrize("m", [(5, 4), (3, 3), (7,)])
def test_centrosymmetric_inverse_path_equals_the_solves(m):
    # a reused Cholesky factor applies its stored half-size inverses (dsymv) instead of
    # triangular solves: the same R^{-1} y as a dense solve, batched, with extra rhs axes
    gen = torch.Generator().manual_seed(31)
    a = torch.randn(2, *(k + 3 for k in m), dtype=torch.float64, generator=gen)
    R = normal_matrix(a, m)  # (2, N, N)
    N = R.shape[-1]
    y = torch.randn(2, 3, N, dtype=torch.float64, generator=gen)  # one extra rhs axis
    ref = torch.linalg.solve(R[:, None], y[..., None])[..., 0]
    fac = solvers_module._CentroCholesky(solvers_module._reversed_normal_matrix(a, m, 0.0))
    by_solves = fac.solve(y)
    fac.invert()
    assert fac.L is None and fac.inverse is not None
    by_inverse = fac.solve(y)
    assert _rel(by_inverse, ref) < 1e-12 and _rel(by_solves, ref) < 1e-12
    assert _rel(fac.solve(y[:, 0] * 2), 2 * ref[:, 0]) < 1e-12  # no extra axis
