"""The 2D block Gohberg-Semencul inverse (convlab.wiener.block) against independent references:
the normal matrix built here from scipy's 2D autocorrelation, numpy's dense inverse and solve,
and the package's other exact solvers; with wrong variants that each check must reject."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

import convlab.wiener.block as block
import convlab.wiener.factor as factor_module
from convlab._validate import CostLimitError, set_cost_limits
from convlab.wiener import WienerFactor, WienerLoss, solve_cost, wiener_filter


def _normal_matrix(a: np.ndarray, m: tuple[int, int], ridge: float = 0.0) -> np.ndarray:
    """R[j, l] = r[j - l] (C order), r from scipy.signal.correlate2d: independent of convlab."""
    n1, n2 = a.shape
    r = scipy.signal.correlate2d(a, a, "full")  # r[k1, k2] at [k1 + n1 - 1, k2 + n2 - 1]
    idx = [(j1, j2) for j1 in range(m[0]) for j2 in range(m[1])]
    R = np.array([[r[j1 - l1 + n1 - 1, j2 - l2 + n2 - 1] for (l1, l2) in idx] for (j1, j2) in idx])
    return R + ridge * np.eye(len(idx))


def _rel(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return np.linalg.norm(x - y) / np.linalg.norm(y)


SHAPES = [((6, 6), (6, 6)), ((7, 5), (7, 5)), ((9, 8), (5, 4)), ((5, 9), (3, 6)), ((4, 6), (1, 5))]
SHAPES += [((6, 4), (6, 1)), ((10, 10), (10, 10)), ((8, 8), (2, 2))]


@pytest.mark.parametrize(("n", "m"), SHAPES)
@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_first_block_column_is_that_of_the_dense_inverse(n, m, ridge):
    rng = np.random.default_rng(sum(n) + 7 * sum(m))
    a = rng.standard_normal((2, *n))
    r0 = (a**2).sum(axis=(1, 2))
    X = block.first_block_column(torch.from_numpy(a), m, torch.from_numpy(ridge * r0)).numpy()
    assert X.shape == (2, m[0], m[1], m[1])
    for i in range(2):
        inv = np.linalg.inv(_normal_matrix(a[i], m, ridge * r0[i]))
        ref = inv[:, : m[1]].reshape(m[0], m[1], m[1])  # rows of block k, columns q
        assert _rel(X[i], ref) < 1e-12
        assert _rel(X[i] * (1 + 1e-9 * rng.standard_normal(X[i].shape)), ref) > 1e-11  # power


@pytest.mark.parametrize(("n", "m"), SHAPES)
def test_block_inverse_solves_like_the_dense_solve(n, m):
    rng = np.random.default_rng(3 * sum(n) + sum(m))
    a = rng.standard_normal((2, *n))
    factor = block._BlockGohbergSemencul(
        torch.from_numpy(a), m, torch.zeros(2, dtype=torch.float64)
    )
    y = rng.standard_normal((2, 3, m[0] * m[1]))  # batch axes as R's, then one more
    x = factor.solve(torch.from_numpy(y)).numpy()
    for i in range(2):
        R = _normal_matrix(a[i], m)
        for k in range(3):
            ref = np.linalg.solve(R, y[i, k])
            assert _rel(x[i, k], ref) < 1e-11
    assert factor.probe_residual < 1e-13


def test_a_slightly_wrong_block_inverse_fails_the_comparison():
    # the tolerance of the test above has power: X̂ off by 1e-9 (relative) is caught
    rng = np.random.default_rng(5)
    a = rng.standard_normal((1, 7, 6))
    factor = block._BlockGohbergSemencul(
        torch.from_numpy(a), (7, 6), torch.zeros(1, dtype=torch.float64)
    )
    y = rng.standard_normal((1, 42))
    ref = np.linalg.solve(_normal_matrix(a[0], (7, 6)), y[0])
    factor.X_hat = factor.X_hat * (1 + 1e-9)
    assert _rel(factor.solve(torch.from_numpy(y)).numpy()[0], ref) > 1e-11


def test_a_wrapping_fft_grid_is_caught_by_the_probe(monkeypatch):
    # a grid of 2 m1 - 1 wraps the shifted block column around: wrong inverse, refused
    monkeypatch.setattr(block, "_block_grid", lambda m1: 2 * m1 - 1)
    a = torch.randn(1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="probe residual"):
        block._BlockGohbergSemencul(a, (8, 8), torch.zeros(1, dtype=torch.float64))


def _gaussian_blob(n: int, sigma: float) -> torch.Tensor:
    x = np.arange(n) - n / 2
    return torch.tensor(np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2)))[None]


def test_ill_conditioned_signals_are_refused_or_fall_back_to_a_stable_solver():
    # a smooth blob: cond(R) ~ 1e13; the block recursion (weakly stable) misses the probe
    gen = torch.Generator().manual_seed(3)
    a, b = _gaussian_blob(12, 1.5), torch.randn(1, 12, 12, dtype=torch.float64, generator=gen)
    with pytest.raises(ValueError, match=r"not numerically positive definite.*probe residual"):
        WienerFactor(a, dim=2, solver="gs")
    with pytest.raises(ValueError, match="probe residual"):
        wiener_filter(a, b, dim=2, solver="gs")
    with pytest.warns(UserWarning, match=r"uses cholesky instead of the block inverse"):
        fac = WienerFactor(a, dim=2)  # auto: the backward-stable Cholesky instead
    assert fac.solver == "cholesky"
    # a milder one (cond ~ 5e6) stays on the block inverse, and is exact
    a = _gaussian_blob(12, 1.0)
    fac = WienerFactor(a, dim=2)
    assert fac.solver == "gs"
    ref = wiener_filter(a, b, dim=2, solver="dense")
    assert _rel(fac.filter(b).numpy(), ref.numpy()) < 1e-8


def test_auto_uses_the_block_inverse_for_a_cached_target_within_the_cost_limits():
    a = torch.randn(2, 1, 12, 10, generator=torch.Generator().manual_seed(1))
    assert WienerFactor(a, dim=2).solver == "gs"
    loss = WienerLoss(dim=2, cache_target=True)
    loss(a + 0.1, a)
    assert loss.target_factor(a).solver == "gs"
    # at 48 x 48 the set-up (2 m^5 flops) costs more than cg's nominal 100 iterations
    big = torch.randn(2, 48, 48, generator=torch.Generator().manual_seed(2))
    flops = solve_cost((48, 48), (48, 48), "gs")[1]
    assert flops >= 2 * 48**5 > 2 * solve_cost((48, 48), (48, 48), "cg")[1]
    previous = set_cost_limits(max_ops=flops)  # one item fits, two do not
    try:
        with pytest.warns(UserWarning, match=r"uses cg.*set-up is over the cost limit.*raise"):
            assert WienerFactor(big, dim=2).solver == "cg"  # auto: per-call cg, said
        with pytest.raises(CostLimitError, match="solver='gs'"):
            WienerFactor(big, dim=2, solver="gs")
        assert WienerFactor(big[:1], dim=2).solver == "gs"
    finally:
        set_cost_limits(max_bytes=previous[0], max_ops=previous[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_at_48x48_in_both_precisions_batched(dtype):
    # issue 16's exactness (1e-8 relative in float64) against numpy's dense solve of the
    # independent normal matrix; float32 inputs are solved in float64 and rounded once
    rng = np.random.default_rng(48)
    a, b = rng.standard_normal((2, 48, 48)), rng.standard_normal((2, 48, 48))
    fac = WienerFactor(torch.from_numpy(a).to(dtype), dim=2, solver="gs")
    w = fac.filter(torch.from_numpy(b).to(dtype)).double().numpy()
    a32 = torch.from_numpy(a).to(dtype).double().numpy()  # the values the factor saw
    b32 = torch.from_numpy(b).to(dtype).double().numpy()
    for i in range(2):
        full = scipy.signal.correlate2d(b32[i], a32[i], "full")  # A^T b_pad, c = (23, 23)
        g = full[47 - 23 : 47 - 23 + 48, 47 - 23 : 47 - 23 + 48].ravel()
        ref = np.linalg.solve(_normal_matrix(a32[i], (48, 48)), g).reshape(48, 48)
        assert _rel(w[i], ref) < (1e-8 if dtype == torch.float64 else 1e-6)


def test_a_mixed_batch_names_the_failing_item_and_falls_back_as_a_whole(monkeypatch):
    gen = torch.Generator().manual_seed(4)
    a = torch.cat(
        [torch.randn(1, 12, 12, dtype=torch.float64, generator=gen), _gaussian_blob(12, 1.5)]
    )
    b = torch.randn(2, 12, 12, dtype=torch.float64, generator=gen)
    with pytest.raises(ValueError, match=r"for batch item \(1,\)"):
        WienerFactor(a, dim=2, solver="gs")
    ref = wiener_filter(a, b, dim=2, solver="dense")
    with pytest.warns(UserWarning, match="for every item of the batch"):
        fac = WienerFactor(a, dim=2)
    assert fac.solver == "cholesky"
    assert _rel(fac.filter(b)[0].numpy(), ref[0].numpy()) < 1e-8  # the good item stays exact
    # above CHOLESKY_MAX_TAPS the fallback is cg
    monkeypatch.setattr(factor_module, "CHOLESKY_MAX_TAPS", 100)
    with pytest.warns(UserWarning, match="uses cg instead of the block inverse"):
        assert WienerFactor(a, dim=2).solver == "cg"


def test_the_fallback_is_cost_checked_too():
    # a byte limit that fits the block inverse but not Cholesky's matrices: cg, never a silent
    # allocation above the limit
    a = torch.cat([_gaussian_blob(12, 1.5)] * 4)
    need_gs, need_chol = (solve_cost((12, 12), (12, 12), s)[0] for s in ("gs", "cholesky"))
    assert need_gs < need_chol
    previous = set_cost_limits(max_bytes=4 * (need_gs + need_chol) / 2)
    try:
        with pytest.warns(UserWarning, match="uses cg instead"):
            assert WienerFactor(a, dim=2).solver == "cg"
        with pytest.raises(CostLimitError):
            WienerFactor(a, dim=2, solver="cholesky")
    finally:
        set_cost_limits(max_bytes=previous[0], max_ops=previous[1])


def test_the_torch_products_equal_numpys(monkeypatch):
    # other devices (and autograd) use torch's matmul: the same inverse, run here on the CPU
    gen = torch.Generator().manual_seed(6)
    a = torch.randn(2, 9, 7, dtype=torch.float64, generator=gen)
    y = torch.randn(2, 3, 9 * 7, dtype=torch.float64, generator=gen)
    zero = torch.zeros(2, dtype=torch.float64)
    numpy_x = block._BlockGohbergSemencul(a, (9, 7), zero).solve(y)
    monkeypatch.setattr(block, "_matmul", lambda A, B: A @ B)
    torch_x = block._BlockGohbergSemencul(a, (9, 7), zero).solve(y)
    assert _rel(torch_x.numpy(), numpy_x.numpy()) < 1e-13


def test_any_scale_of_the_signal():
    # w(c a, b) = w(a, b) / c: the recursion runs on a normalised copy (no underflow at 1e-160)
    gen = torch.Generator().manual_seed(7)
    a = torch.randn(1, 8, 8, dtype=torch.float64, generator=gen)
    b = torch.randn(1, 8, 8, dtype=torch.float64, generator=gen)
    w = WienerFactor(a, dim=2, solver="gs").filter(b)
    for c in (1e-160, 1e150):
        wc = WienerFactor(c * a, dim=2, solver="gs").filter(b)
        assert _rel((c * wc).numpy(), w.numpy()) < 1e-12, c


@pytest.mark.parametrize(("dim", "shape"), [(1, (1, 9)), (2, (1, 5, 4))])
def test_a_second_derivative_is_refused_not_wrong(dim, shape):
    gen = torch.Generator().manual_seed(8)
    a = torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    w = wiener_filter(a, b, dim=dim, solver="gs")
    grads = torch.autograd.grad(w.square().sum(), (a, b), create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        sum(g.sum() for g in grads).backward()
