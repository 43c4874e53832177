"""convlab.structured against independent references: dense loops, scipy.linalg, numpy, torch."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.structured import BOUNDARIES, METHODS, conv_matrix


def dense_reference(theta, n, boundary):
    """Straight from the lecture's formula z_i = sum_j theta_j y_{i-j}, centre index L//2."""
    L, c = len(theta), len(theta) // 2
    if boundary == "valid":
        K = np.zeros((n - L + 1, n))
        for i in range(n - L + 1):
            for p in range(L):
                K[i, i + L - 1 - p] = theta[p]
        return K
    K = np.zeros((n, n))
    for i in range(n):
        for p in range(L):
            j = i - (p - c)
            if boundary == "periodic":
                K[i, j % n] += theta[p]
            elif 0 <= j < n:
                K[i, j] = theta[p]
    return K


def test_lecture_4x4_and_4x6_examples():
    t1, t2, t3 = 1.0, 2.0, 3.0
    zero = np.array([[t2, t1, 0, 0], [t3, t2, t1, 0], [0, t3, t2, t1], [0, 0, t3, t2]])
    periodic = np.array([[t2, t1, 0, t3], [t3, t2, t1, 0], [0, t3, t2, t1], [t1, 0, t3, t2]])
    valid = np.array(
        [
            [t3, t2, t1, 0, 0, 0],
            [0, t3, t2, t1, 0, 0],
            [0, 0, t3, t2, t1, 0],
            [0, 0, 0, t3, t2, t1],
        ]
    )
    theta = [t1, t2, t3]
    np.testing.assert_array_equal(conv_matrix(theta, 4, "zero").toarray(), zero)
    np.testing.assert_array_equal(conv_matrix(theta, 4, "periodic").toarray(), periodic)
    np.testing.assert_array_equal(conv_matrix(theta, 6, "valid").toarray(), valid)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 8])
def test_all_methods_match_the_formula(boundary, method, L):
    rng = np.random.default_rng(L)
    theta, n = rng.standard_normal(L), 9
    K = conv_matrix(theta, n, boundary, method=method)
    assert sp.issparse(K) and K.format == "csr"
    np.testing.assert_allclose(K.toarray(), dense_reference(theta, n, boundary), atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(L=st.integers(1, 7), extra=st.integers(0, 9), seed=st.integers(0, 2**31))
def test_zero_and_valid_equal_numpy_convolve(L, extra, seed):
    rng = np.random.default_rng(seed)
    theta, n = rng.standard_normal(L), L + extra
    y = rng.standard_normal(n)
    full = np.convolve(y, theta, "full")  # independent: numpy's convolution
    c = L // 2
    np.testing.assert_allclose(conv_matrix(theta, n, "zero") @ y, full[c : c + n], atol=1e-12)
    np.testing.assert_allclose(
        conv_matrix(theta, n, "valid") @ y, np.convolve(y, theta, "valid"), atol=1e-12
    )


def test_zero_boundary_matches_numpy_same_only_for_odd_stencils():
    # numpy's 'same' starts at (L-1)//2, MATLAB (and the lecture) at L//2: equal for odd L only.
    y = np.arange(1.0, 11.0)
    odd, even = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(conv_matrix(odd, 10) @ y, np.convolve(y, odd, "same"))
    assert not np.allclose(conv_matrix(even, 10) @ y, np.convolve(y, even, "same"))
    # MATLAB conv(1:10, 1:3, 'same') from REFERENCE.md golden cases
    np.testing.assert_array_equal(
        conv_matrix([1, 2, 3], 10) @ np.arange(1, 11), [4, 10, 16, 22, 28, 34, 40, 46, 52, 47]
    )


def test_matlab_even_kernel_golden_case():
    # conv([-1 2 3 -2 0 1 2], [2 4 -1 1], 'same') = [15 5 -9 7 6 7 -1] (Octave)
    y = np.array([-1, 2, 3, -2, 0, 1, 2])
    np.testing.assert_array_equal(conv_matrix([2, 4, -1, 1], 7) @ y, [15, 5, -9, 7, 6, 7, -1])


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5])
def test_periodic_is_scipy_circulant(L):
    rng = np.random.default_rng(10 + L)
    theta, n = rng.standard_normal(L), 8
    col = np.zeros(n)
    for p in range(L):
        col[(p - L // 2) % n] += theta[p]
    np.testing.assert_allclose(conv_matrix(theta, n, "periodic").toarray(), sla.circulant(col))


def test_zero_is_scipy_toeplitz():
    theta, n = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 7
    col = np.r_[theta[2:], np.zeros(n - 3)]
    row = np.r_[theta[2::-1], np.zeros(n - 3)]
    np.testing.assert_allclose(conv_matrix(theta, n).toarray(), sla.toeplitz(col, row))


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 6])
def test_torch_conv1d_is_correlation_with_flipped_stencil(L):
    rng = np.random.default_rng(L)
    theta, y = rng.standard_normal(L), rng.standard_normal(11)
    yt = torch.tensor(y)[None, None]
    wt = torch.tensor(theta)[None, None]
    same = F.conv1d(yt, wt.flip(-1), padding="same")[0, 0].numpy()
    np.testing.assert_allclose(conv_matrix(theta, 11, "zero") @ y, same, atol=1e-12)
    valid = F.conv1d(yt, wt.flip(-1))[0, 0].numpy()
    np.testing.assert_allclose(conv_matrix(theta, 11, "valid") @ y, valid, atol=1e-12)
    c = L // 2  # circular padding: left c, right L-1-c
    padded = F.pad(yt, (L - 1 - c, c), mode="circular")
    circ = F.conv1d(padded, wt.flip(-1))[0, 0].numpy()
    np.testing.assert_allclose(conv_matrix(theta, 11, "periodic") @ y, circ, atol=1e-12)
    if L > 1 and not np.allclose(theta, theta[::-1]):
        unflipped = F.conv1d(yt, wt, padding="same")[0, 0].numpy()
        assert not np.allclose(conv_matrix(theta, 11, "zero") @ y, unflipped)


def test_dtypes_are_kept():
    assert conv_matrix(np.array([1, 2, 3]), 5).dtype == np.int64
    assert conv_matrix(np.array([1, 2], dtype=np.float32), 5).dtype == np.float32
    K = conv_matrix(np.array([1j, 2.0]), 4, "periodic")
    assert K.dtype == np.complex128 and K[0, 0] == 2.0


def test_the_default_builder_has_no_python_loop_per_entry():
    """Order of magnitude, side by side (an absolute time flakes on a loaded machine): the
    row loop is over 100x slower than the vectorised default at n = 2000 here; 5x is asserted."""
    import time

    theta = np.array([1.0, -2.0, 1.0])

    def best(method: str) -> float:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            conv_matrix(theta, 2000, "periodic", method=method)
            times.append(time.perf_counter() - t)
        return min(times)

    assert best("loop") > 5 * best("index"), "the default builder should be vectorised"
    assert conv_matrix(theta, 10**6, "periodic").nnz == 3 * 10**6


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1, 2, 3], 4.0), {}, TypeError, "n must be an integer"),
        (([1, 2, 3], True), {}, TypeError, "n must be an integer"),
        (([1, 2, 3], 0), {}, ValueError, "n must be >= 1"),
        (([], 4), {}, ValueError, "theta must not be empty"),
        (([[1, 2], [3, 4]], 4), {}, ValueError, "theta must be 1-D"),
        ((["a", "b"], 4), {}, TypeError, "theta must be numeric"),
        (([1, 2, 3], 4, "circular"), {}, ValueError, "boundary must be one of"),
        (([1, 2, 3], 4), {"method": "fast"}, ValueError, "method must be one of"),
        (([1, 2, 3, 4, 5], 4, "periodic"), {}, ValueError, "len\\(theta\\) <= n"),
        (([1, 2, 3, 4, 5], 4, "valid"), {}, ValueError, "len\\(theta\\) <= n"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_matrix(*args, **kwargs)


def test_zero_boundary_allows_stencil_longer_than_signal():
    theta, n = np.arange(1.0, 8.0), 4  # MATLAB conv(y, theta, 'same') still makes sense
    y = np.array([1.0, -1.0, 2.0, 0.5])
    c = len(theta) // 2
    np.testing.assert_allclose(conv_matrix(theta, n) @ y, np.convolve(y, theta)[c : c + n])
