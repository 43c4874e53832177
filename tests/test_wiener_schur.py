"""The superfast Schur generator of a symmetric positive definite Toeplitz matrix
(convlab.wiener.schur) against independent references: numpy's dense solve of
scipy.linalg.toeplitz(r), scipy's Levinson (solve_toeplitz), and a one-step-at-a-time Schur
recursion written here from Levinson's formulas; with wrong variants each check must reject."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

import convlab.wiener.schur as schur
from convlab.wiener import wiener_filter


def _lags(x: np.ndarray, m: int) -> np.ndarray:
    """Autocorrelation lags r[0..m-1] of x (numpy.correlate: independent of convlab's FFTs)."""
    n = x.shape[-1]
    return np.correlate(x, x, "full")[n - 1 : n - 1 + m]


def _dense_generator(r: np.ndarray) -> np.ndarray:
    e0 = np.zeros(len(r))
    e0[0] = 1.0
    return np.linalg.solve(scipy.linalg.toeplitz(r), e0)


def _levinson_by_hand(r: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Levinson-Durbin written out: the monic predictor a_{m-1} and the reflection coefficients."""
    a, E, kappas = np.ones(1), r[0], []
    for k in range(len(r) - 1):
        kappa = -(a @ r[k + 1 : 0 : -1]) / E if k else -r[1] / r[0]
        kappas.append(kappa)
        a = np.concatenate([a, [0.0]]) + kappa * np.concatenate([[0.0], a[::-1]])
        E *= 1 - kappa**2
    return a, kappas


def _rel(x, y):
    return np.linalg.norm(np.asarray(x) - np.asarray(y)) / np.linalg.norm(np.asarray(y))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 5 steps: the divide-and-conquer and its odd splits run at test sizes."""
    monkeypatch.setattr(schur, "BASE_STEPS", 5)


@pytest.mark.parametrize("m", [1, 2, 3, 6, 7, 13, 64, 101])
def test_superfast_generator_matches_the_dense_solve(m, small_blocks):
    rng = np.random.default_rng(m)
    r = _lags(rng.standard_normal(m + 5), m)
    x = schur.superfast_generator(r)
    assert _rel(x, _dense_generator(r)) < 1e-12


def test_levinson_by_hand_is_a_valid_reference():
    # the reference's own check: its predictor solves R a = E e_0 (dense)
    rng = np.random.default_rng(0)
    r = _lags(rng.standard_normal(20), 9)
    a, _ = _levinson_by_hand(r)
    assert _rel(a / (a @ r), _dense_generator(r)) < 1e-12


def test_block_steps_are_the_reflection_coefficients(small_blocks):
    # Φ of h steps at the start: a_h = Φ_11 + z Φ_12 is Levinson's order-h predictor
    rng = np.random.default_rng(1)
    r = _lags(rng.standard_normal(40), 12)
    for h in (1, 4, 11):
        phi = schur._schur(r[None, 1:], r[None, :-1], h)[0]
        a = phi[0].copy()
        a[1:] += phi[1, :-1]
        ref, _ = _levinson_by_hand(r[: h + 1])
        np.testing.assert_allclose(a, ref, atol=1e-12)
        wrong = phi[0].copy()  # the sign convention of the other kind (ψ = Φ_11 - z Φ_12)
        wrong[1:] -= phi[1, :-1]
        assert np.abs(wrong - ref).max() > 1e-3


def test_batched_generators_equal_item_by_item(small_blocks):
    rng = np.random.default_rng(2)
    r = np.stack([[_lags(rng.standard_normal(30), 17) for _ in range(3)] for _ in range(2)])
    x = schur.superfast_generator(r)
    assert x.shape == (2, 3, 17)
    for idx in np.ndindex(2, 3):
        assert _rel(x[idx], _dense_generator(r[idx])) < 1e-12


@pytest.mark.parametrize(("width", "cond"), [(1.5, 1e4), (2.0, 1e8)])
def test_ill_conditioned_matrices_as_accurate_as_levinson(width, cond, small_blocks):
    # Gaussian-kernel lags r_k = exp(-k^2 / 2 w^2): cond(R) 3e4 and 2e8 at m = 150; the
    # superfast generator is within 20x of scipy's Levinson's distance from the dense solve
    # (measured 6-7x), and its residual passes the check that guards the fast path
    r = np.exp(-(np.arange(150) ** 2) / (2 * width**2))
    assert np.linalg.cond(scipy.linalg.toeplitz(r)) > cond
    ref = _dense_generator(r)
    levinson = scipy.linalg.solve_toeplitz(r, np.eye(150)[0])
    x = schur.superfast_generator(r)
    assert _rel(x, ref) <= 20 * _rel(levinson, ref)
    assert schur.toeplitz_residual(r, x) <= schur.RESIDUAL_TOL


def test_hopeless_conditioning_falls_back_to_levinson(monkeypatch, small_blocks):
    # cond 2e17: the superfast residual (1e-4) fails the check; Levinson's answer is returned
    monkeypatch.setattr(schur, "SUPERFAST_MIN_SIZE", 8)
    r = np.exp(-(np.arange(150) ** 2) / 18.0)
    assert schur.toeplitz_residual(r, schur.superfast_generator(r)) > schur.RESIDUAL_TOL
    levinson = scipy.linalg.solve_toeplitz(r, np.eye(150)[0])
    assert np.array_equal(schur.toeplitz_generator(r), levinson)


def test_residual_is_dense_r_times_x_minus_e0():
    rng = np.random.default_rng(4)
    r = _lags(rng.standard_normal(50), 23)
    x = rng.standard_normal(23)
    res = scipy.linalg.toeplitz(r) @ x - np.eye(23)[0]
    assert np.isclose(schur.toeplitz_residual(r, x), np.linalg.norm(res), rtol=1e-12)


def test_generator_rejects_a_bad_superfast_result(monkeypatch):
    # the residual check catches a generator off by one part in a million and falls back
    monkeypatch.setattr(schur, "SUPERFAST_MIN_SIZE", 8)
    rng = np.random.default_rng(5)
    r = np.stack([_lags(rng.standard_normal(60), 40) for _ in range(3)])
    good = schur.superfast_generator(r)
    assert (schur.toeplitz_residual(r, good) <= schur.RESIDUAL_TOL).all()
    assert (schur.toeplitz_residual(r, good * (1 + 1e-6)) > schur.RESIDUAL_TOL).all()
    broken = good.copy()
    broken[1] *= 1 + 1e-6  # only item 1 is wrong
    monkeypatch.setattr(schur, "superfast_generator", lambda r: broken.copy())
    x = schur.toeplitz_generator(r)
    assert np.array_equal(x[[0, 2]], broken[[0, 2]])  # accepted as they were
    assert _rel(x[1], _dense_generator(r[1])) < 1e-12  # Levinson's


def test_a_failing_superfast_solve_falls_back_to_levinson(monkeypatch):
    monkeypatch.setattr(schur, "SUPERFAST_MIN_SIZE", 8)

    def singular(r):
        raise np.linalg.LinAlgError("singular block")

    monkeypatch.setattr(schur, "superfast_generator", singular)
    rng = np.random.default_rng(8)
    r = _lags(rng.standard_normal(30), 12)
    assert _rel(schur.toeplitz_generator(r), _dense_generator(r)) < 1e-12
    with pytest.raises(np.linalg.LinAlgError):  # and Levinson's own verdict stands
        schur.toeplitz_generator(np.array([0.0, 1.0] + [0.0] * 10))


def test_generator_routes_by_size(monkeypatch):
    calls = []
    real = schur.superfast_generator
    monkeypatch.setattr(schur, "superfast_generator", lambda r: calls.append(1) or real(r))
    rng = np.random.default_rng(6)
    schur.toeplitz_generator(_lags(rng.standard_normal(40), schur.SUPERFAST_MIN_SIZE - 1))
    assert calls == []
    monkeypatch.setattr(schur, "SUPERFAST_MIN_SIZE", 30)
    x = schur.toeplitz_generator(r := _lags(rng.standard_normal(40), 30))
    assert calls == [1] and _rel(x, _dense_generator(r)) < 1e-12


def test_singular_leading_minor_is_reported():
    # r = (0, 1): the 1x1 leading minor is 0
    with pytest.raises(np.linalg.LinAlgError):
        schur.toeplitz_generator(np.array([0.0, 1.0]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_wiener_filter_through_the_superfast_path_is_exact(dtype, monkeypatch):
    # issue 16's exactness (1e-8 in float64) through wiener_filter(solver="gs"), batched, with
    # the superfast generator forced at a size dense least squares can check
    monkeypatch.setattr(schur, "SUPERFAST_MIN_SIZE", 16)
    monkeypatch.setattr(schur, "BASE_STEPS", 7)
    gen = torch.Generator().manual_seed(7)
    a, b = torch.randn(2, 3, 90, generator=gen), torch.randn(2, 3, 90, generator=gen)
    ref = wiener_filter(a.double(), b.double(), solver="dense")
    w = wiener_filter(a.to(dtype), b.to(dtype), solver="gs")
    assert w.dtype == dtype
    assert _rel(w.double(), ref) < (1e-8 if dtype == torch.float64 else 1e-6)


@pytest.mark.parametrize(
    ("r", "error", "match"),
    [
        (np.array([]), ValueError, "r must hold lags"),
        (np.float64(2.0), ValueError, "r must hold lags"),
        (np.array([2.0, np.nan]), ValueError, "r must be finite"),
        (np.array([2.0, 1j]), TypeError, "r must be real"),
        (np.array(["a"]), TypeError, "r must be numeric"),
    ],
)
def test_bad_lags_get_a_clear_error(r, error, match):
    for fn in (schur.superfast_generator, schur.toeplitz_generator):
        with pytest.raises(error, match=match):
            fn(r)
    with pytest.raises(ValueError, match="x must have the shape of r"):
        schur.toeplitz_residual(np.ones(3), np.ones(2))
