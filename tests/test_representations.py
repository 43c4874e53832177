"""Filter banks, responses, ReLU pair and least-squares reconstruction against independent
references: scipy.ndimage.convolve(mode="wrap"), torch conv2d on circularly padded input, the
explicit stacked matrix probed with scipy (eigvalsh, np.linalg.lstsq), ramps and quadratics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch
import torch.nn.functional as tnf

from convlab.checks import eigenvalues_match
from convlab.representations import (
    FILTER_LABELS,
    filter_bank,
    normal_eigenvalues,
    reconstruct,
    relu_pair,
    responses,
    unrelu_pair,
)

torch.set_num_threads(1)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _stacked_matrix(filters, shape):
    """The explicit (K H W) x (H W) matrix [K_1; ...; K_K], probed with scipy on unit images
    (row-major vectorisation): no FFT involved."""
    h, w = shape
    n = h * w
    eye = np.eye(n).reshape(n, h, w)
    blocks = [
        scipy.ndimage.convolve(eye, np.asarray(f)[None], mode="wrap").reshape(n, n).T
        for f in filters
    ]
    return np.concatenate(blocks)


def _lstsq(filters, r, mask=None, epsilon=0.0):
    """argmin sum ||M (A x - r)||^2 + eps ||x||^2 by dense lstsq (minimum norm if singular)."""
    h, w = r.shape[-2:]
    A = _stacked_matrix(filters, (h, w))
    b = np.asarray(r).reshape(-1)
    if mask is not None:
        keep = np.asarray(mask).reshape(-1)
        A, b = A[keep], b[keep]
    if epsilon:
        A = np.concatenate([A, np.sqrt(epsilon) * np.eye(h * w)])
        b = np.concatenate([b, np.zeros(h * w)])
    return np.linalg.lstsq(A, b, rcond=None)[0].reshape(h, w)


def _random_filters(rng, k=3, size=(3, 5)):
    return rng.standard_normal((k, *size))


# ------------------------------------------------------------------------------------------
# responses: the convention
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "size"), [((9, 12), (3, 5)), ((7, 7), (7, 7)), ((5, 8), (1, 3))])
def test_responses_match_scipy_wrap_convolution(shape, size):
    rng = _rng(1)
    x, f = rng.standard_normal(shape), _random_filters(rng, 4, size)
    got = responses(x, f)
    ref = np.stack([scipy.ndimage.convolve(x, fk, mode="wrap") for fk in f])
    assert got.dtype == torch.float64 and tuple(got.shape) == (4, *shape)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12, atol=1e-12)


def test_responses_are_convolution_not_correlation_torch_reference():
    """torch conv2d is a correlation: it agrees with the *flipped* filter on circular padding."""
    rng = _rng(2)
    x = torch.from_numpy(rng.standard_normal((2, 3, 8, 10)))  # a (2, 3) batch of images
    f = torch.from_numpy(_random_filters(rng, 5, (3, 5)))
    got = responses(x, f)
    assert tuple(got.shape) == (2, 3, 5, 8, 10)
    padded = tnf.pad(x.reshape(6, 1, 8, 10), (2, 2, 1, 1), mode="circular")
    ref = tnf.conv2d(padded, f.flip(-2, -1)[:, None]).reshape(2, 3, 5, 8, 10)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    wrong = tnf.conv2d(padded, f[:, None]).reshape(2, 3, 5, 8, 10)  # correlation
    assert not torch.allclose(got, wrong)


def test_delta_at_the_centre_is_the_identity_and_an_offset_delta_shifts():
    x = torch.from_numpy(_rng(3).standard_normal((6, 7)))
    delta = torch.zeros(2, 5, 3, dtype=torch.float64)
    delta[0, 2, 1] = 1.0
    delta[1, 3, 1] = 1.0  # one row below the centre: y[i] = x[i - 1]
    r = responses(x, delta)
    torch.testing.assert_close(r[0], x, rtol=0, atol=1e-14)
    torch.testing.assert_close(r[1], torch.roll(x, 1, dims=0), rtol=0, atol=1e-14)


def test_responses_accept_lists_float32_and_ints_and_compute_in_float64():
    f = filter_bank("oriented", size=3, sigma=0.8)
    x = np.arange(30).reshape(5, 6)
    ref = responses(x.astype(np.float64), f)
    for variant in (x, x.tolist(), torch.tensor(x, dtype=torch.float32)):
        got = responses(variant, f.float())
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-5)


# ------------------------------------------------------------------------------------------
# filter banks
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["oriented", "derivatives"])
def test_filter_bank_shapes_sums_and_labels(kind):
    f = filter_bank(kind, size=9, sigma=2.0)
    k = len(FILTER_LABELS[kind])
    assert f.dtype == torch.float64 and tuple(f.shape) == (k, 9, 9)
    sums = f.sum(dim=(1, 2))
    expected = torch.zeros(k, dtype=torch.float64)
    if kind == "oriented":
        expected[0] = 1.0  # the Gaussian passes the mean
    torch.testing.assert_close(sums, expected, rtol=0, atol=1e-14)


def test_oriented_derivatives_give_one_on_a_unit_ramp_and_log_gives_four_on_a_paraboloid():
    """Normalisation and sign (a correlation would give -1): checked away from the seam."""
    f = filter_bank("oriented", size=7, sigma=1.5)
    i, j = np.meshgrid(np.arange(24.0), np.arange(24.0), indexing="ij")
    inner = (slice(4, -4), slice(4, -4))
    for k, t in enumerate((0, 45, 90, 135), start=1):
        c, s = np.cos(np.deg2rad(t)), np.sin(np.deg2rad(t))
        r = responses(c * j + s * i, f)
        np.testing.assert_allclose(r[k][inner].numpy(), 1.0, atol=1e-10)
        ortho = responses(-s * j + c * i, f)[k][inner]  # a ramp across the direction: 0
        np.testing.assert_allclose(ortho.numpy(), 0.0, atol=1e-10)
    lap = responses(i**2 + j**2, f)[5][inner]
    np.testing.assert_allclose(lap.numpy(), 4.0, atol=1e-9)
    const = responses(np.full((12, 12), 3.0), f)
    np.testing.assert_allclose(const[0].numpy(), 3.0, atol=1e-12)
    np.testing.assert_allclose(const[1:].numpy(), 0.0, atol=1e-12)


def test_derivatives_bank_is_the_oriented_bank_without_the_gaussian():
    torch.testing.assert_close(
        filter_bank("derivatives", 5, 1.0), filter_bank("oriented", 5, 1.0)[1:], rtol=0, atol=0
    )


# ------------------------------------------------------------------------------------------
# ReLU pair
# ------------------------------------------------------------------------------------------


def test_relu_pair_round_trip_is_exact():
    r = torch.from_numpy(_rng(4).standard_normal((2, 3, 5, 6)))
    p = relu_pair(r)
    assert tuple(p.shape) == (2, 6, 5, 6)
    assert bool((p >= 0).all())
    assert bool((p[:, :3] * p[:, 3:] == 0).all())  # at most one of each pair is on
    torch.testing.assert_close(p[:, :3], r.clamp(min=0), rtol=0, atol=0)
    assert torch.equal(unrelu_pair(p), r)


def test_image_back_from_relu_outputs():
    rng = _rng(5)
    x = rng.random((16, 16))
    f = filter_bank("oriented", size=5, sigma=1.0)
    got = reconstruct(unrelu_pair(relu_pair(responses(x, f))), f)
    np.testing.assert_allclose(got.numpy(), x, atol=1e-10)


# ------------------------------------------------------------------------------------------
# eigenvalues of the normal operator
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "shape"),
    [
        (filter_bank("oriented", size=5, sigma=1.0), (6, 6)),
        (filter_bank("derivatives", size=3, sigma=0.8), (6, 6)),
        (_random_filters(_rng(6), 3, (3, 5)), (6, 8)),
    ],
    ids=["oriented-6x6", "derivatives-6x6", "random-6x8"],
)
def test_normal_eigenvalues_match_the_dense_stacked_matrix(filters, shape):
    A = _stacked_matrix(filters, shape)
    lam = normal_eigenvalues(filters, shape)
    assert tuple(lam.shape) == shape and lam.dtype == torch.float64
    match = eigenvalues_match(np.linalg.eigvalsh(A.T @ A), lam.reshape(-1))
    assert match.passed, match.table()
    half = normal_eigenvalues(filters, shape, onesided=True)
    torch.testing.assert_close(half, lam[:, : shape[1] // 2 + 1], rtol=1e-12, atol=1e-12)


def test_derivatives_bank_is_blind_to_the_mean_only():
    lam = normal_eigenvalues(filter_bank("derivatives"), (32, 32))
    top = lam.max()
    assert lam[0, 0] < 1e-20 * top
    lam[0, 0] = top
    assert lam.min() > 1e-10 * top  # measured 3e-8: small at high frequencies, not zero


# ------------------------------------------------------------------------------------------
# reconstruction == dense least squares
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.0, 0.3])
@pytest.mark.parametrize("masked", [False, True])
def test_reconstruct_equals_dense_lstsq(masked, epsilon):
    """Noisy (inconsistent) responses, so the least-squares solution is not just the image."""
    rng = _rng(7)
    f = _random_filters(rng, 3, (3, 5))
    r = rng.standard_normal((3, 6, 8))
    mask = rng.random(r.shape) > 0.3 if masked else None
    got = reconstruct(r, f, mask=mask, epsilon=epsilon, tol=1e-13)
    ref = _lstsq(f, r, mask, epsilon)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-9, atol=1e-9)


def test_reconstruct_with_the_filter_bank_equals_dense_lstsq():
    rng = _rng(8)
    f = filter_bank("oriented", size=5, sigma=1.0)
    r = rng.standard_normal((6, 7, 6))
    mask = torch.from_numpy(rng.random(r.shape) > 0.4)
    np.testing.assert_allclose(reconstruct(r, f).numpy(), _lstsq(f, r), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(
        reconstruct(r, f, mask=mask, tol=1e-13).numpy(), _lstsq(f, r, mask), atol=1e-7
    )


def test_masked_singular_problem_gives_the_minimum_norm_solution():
    """derivatives bank + mask: no error, CG from 0 without preconditioner = lstsq's answer."""
    rng = _rng(9)
    f = filter_bank("derivatives", size=3, sigma=0.8)
    r = rng.standard_normal((5, 6, 6))
    mask = rng.random(r.shape) > 0.3
    got = reconstruct(r, f, mask=mask, tol=1e-13)
    np.testing.assert_allclose(got.numpy(), _lstsq(f, r, mask), atol=1e-8)


def test_batched_reconstruction_equals_one_image_at_a_time():
    rng = _rng(10)
    f = filter_bank("oriented", size=3, sigma=0.8)
    r = rng.standard_normal((2, 3, 6, 8, 8))
    mask = rng.random(r.shape) > 0.3
    for kwargs in ({}, {"mask": mask, "tol": 1e-13}):
        got = reconstruct(r, f, **kwargs)
        assert tuple(got.shape) == (2, 3, 8, 8)
        for a in range(2):
            for b in range(3):
                single = {"mask": mask[a, b], "tol": 1e-13} if kwargs else {}
                torch.testing.assert_close(
                    got[a, b], reconstruct(r[a, b], f, **single), rtol=1e-9, atol=1e-9
                )


def test_exact_recovery_with_the_oriented_bank():
    """Condition number of sum_k K_k^T K_k is ~6e7 at 32x32 with the defaults: exact
    responses give the image back to ~cond * eps (measured ~1e-10)."""
    x = _rng(11).random((3, 32, 32))
    f = filter_bank("oriented")
    got = reconstruct(responses(x, f), f)
    np.testing.assert_allclose(got.numpy(), x, atol=1e-8)


def test_derivatives_bank_raises_without_epsilon_and_loses_only_the_mean():
    x = _rng(12).random((16, 16))
    f = filter_bank("derivatives")
    r = responses(x, f)
    with pytest.raises(ValueError, match=r"frequency \(u, v\) = \(0, 0\).*epsilon > 0"):
        reconstruct(r, f)
    # relative bias epsilon / sum_k |F_k|^2 <= 1e-12 / 1.7e-8 at the worst frequency; the mean
    # gets (FFT rounding ~1e-16) / epsilon: measured max error 3e-6
    got = reconstruct(r, f, epsilon=1e-12)
    np.testing.assert_allclose(got.numpy(), x - x.mean(), atol=2e-5)


def test_overcomplete_bank_survives_thirty_percent_lost_responses():
    """The lecture's robustness claim: 30% of the responses knocked out (NaN, even), the image
    still comes back. The masked system is consistent, so the error is CG's residual (tol)
    times the condition number (~6e7 here): measured ~1e-9 with tol=1e-13; bound 1e-6."""
    from skimage import data, transform

    gen = torch.Generator().manual_seed(0)
    camera = transform.resize(data.camera() / 255.0, (48, 48), anti_aliasing=True)
    rough = torch.rand(48, 48, generator=gen, dtype=torch.float64)
    f = filter_bank("oriented")
    for x in (torch.from_numpy(camera), rough):
        r = responses(x, f)
        lost = torch.rand(r.shape, generator=gen) < 0.3
        r_seen = torch.where(lost, float("nan"), r)
        got, its = reconstruct(r_seen, f, mask=~lost, tol=1e-13, return_info=True)
        assert 0 < its < 200
        assert (got - x).abs().max() < 1e-6
        assert not torch.allclose(reconstruct(torch.where(lost, 0.0, r), f), x, atol=1e-2)


def test_return_info_and_the_iteration_cap():
    rng = _rng(13)
    f = filter_bank("oriented", size=3, sigma=0.8)
    r = rng.standard_normal((6, 10, 10))
    x, its = reconstruct(r, f, return_info=True)
    assert its == 0 and tuple(x.shape) == (10, 10)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        _, its = reconstruct(r, f, mask=rng.random(r.shape) > 0.3, maxiter=1, return_info=True)
    assert its == 1


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------


def test_bad_filter_bank_arguments():
    with pytest.raises(ValueError, match="kind"):
        filter_bank("gabor")
    with pytest.raises(ValueError, match="odd"):
        filter_bank(size=6)
    with pytest.raises(TypeError, match="size"):
        filter_bank(size=7.0)
    with pytest.raises(ValueError, match="sigma"):
        filter_bank(sigma=0.0)
    with pytest.raises(TypeError, match="sigma"):
        filter_bank(sigma="1")


def test_bad_responses_input():
    x = np.zeros((8, 8))
    f = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match="odd"):
        responses(x, np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"filters\[None\]"):
        responses(x, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no larger than the image"):
        responses(np.zeros((8, 4)), np.zeros((1, 5, 5)))
    with pytest.raises(ValueError, match="image"):
        responses(np.zeros(8), f)
    with pytest.raises(TypeError, match="real"):
        responses(x.astype(complex), f)
    with pytest.raises(TypeError, match="numeric"):
        responses(x, [["a"]])
    with pytest.raises(ValueError, match="even number"):
        unrelu_pair(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="r must be"):
        relu_pair(np.zeros((4, 4)))


def test_bad_reconstruct_and_eigenvalue_input():
    f = filter_bank("oriented", size=3, sigma=0.8)
    r = np.zeros((6, 8, 8))
    with pytest.raises(ValueError, match="6"):
        reconstruct(np.zeros((5, 8, 8)), f)
    with pytest.raises(ValueError, match="mask must have shape"):
        reconstruct(r, f, mask=np.ones((8, 8), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        reconstruct(r, f, mask=np.ones(r.shape))
    with pytest.raises(TypeError, match="boolean"):
        reconstruct(r, f, mask=torch.ones(r.shape))
    with pytest.raises(ValueError, match="epsilon"):
        reconstruct(r, f, epsilon=-1.0)
    with pytest.raises(TypeError, match="epsilon"):
        reconstruct(r, f, epsilon=None)
    with pytest.raises(ValueError, match="tol"):
        reconstruct(r, f, tol=0.0)
    with pytest.raises(ValueError, match="maxiter"):
        reconstruct(r, f, mask=np.ones(r.shape, dtype=bool), maxiter=0)
    with pytest.raises(ValueError, match="shape"):
        normal_eigenvalues(f, (8, 8, 8))
    with pytest.raises(ValueError, match="no larger"):
        normal_eigenvalues(f, (2, 8))
    with pytest.raises(TypeError, match=r"shape must be an integer or a tuple of integers"):
        normal_eigenvalues(f, (8.0, 8))
