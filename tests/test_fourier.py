"""convlab.fourier against dense matrices and numpy.linalg."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.fourier import circulant_eigenvalues, circulant_first_column, circulant_matvec
from convlab.structured import conv_matrix


def match_multisets(a, b, tol):
    from scipy.optimize import linear_sum_assignment

    cost = np.abs(np.asarray(a)[:, None] - np.asarray(b)[None, :])
    r, c = linear_sum_assignment(cost)
    return cost[r, c].max() <= tol


@settings(max_examples=50, deadline=None)
@given(L=st.integers(1, 8), extra=st.integers(0, 12), seed=st.integers(0, 2**31))
def test_first_column_and_eigenvalues(L, extra, seed):
    rng = np.random.default_rng(seed)
    theta, n = rng.standard_normal(L), L + extra
    K = conv_matrix(theta, n, "periodic").toarray()
    np.testing.assert_allclose(circulant_first_column(theta, n), K[:, 0])
    lam = circulant_eigenvalues(theta, n)
    tol = 100 * n * np.finfo(float).eps * max(1.0, np.abs(lam).max())
    assert match_multisets(lam, np.linalg.eigvals(K), tol)
    # and the eigen-decomposition itself: K = F^-1 diag(lam) F
    Fm = np.fft.fft(np.eye(n), axis=0)
    np.testing.assert_allclose(np.linalg.inv(Fm) @ np.diag(lam) @ Fm, K, atol=1e-10)


def test_first_column_is_scipy_circulant_column():
    theta = np.array([1.0, 2.0, 3.0])
    col = circulant_first_column(theta, 5)
    np.testing.assert_allclose(sla.circulant(col), conv_matrix(theta, 5, "periodic").toarray())


@pytest.mark.parametrize("L", [1, 2, 3, 4, 7])
def test_matvec_batched_and_transposed(L):
    rng = np.random.default_rng(L)
    n = 16
    theta = rng.standard_normal(L)
    K = conv_matrix(theta, n, "periodic").toarray()
    Y = rng.standard_normal((5, n))  # one example per row, as in the lecture's Y K
    np.testing.assert_allclose(circulant_matvec(theta, Y), Y @ K.T, atol=1e-12)
    np.testing.assert_allclose(circulant_matvec(theta, Y, transpose=True), Y @ K, atol=1e-12)
    Z = rng.standard_normal((n, 3, 2))  # signals along axis 0, a 3x2 batch
    np.testing.assert_allclose(
        circulant_matvec(theta, Z, axis=0), np.einsum("ij,jab->iab", K, Z), atol=1e-12
    )
    assert np.isrealobj(circulant_matvec(theta, Y))


def test_complex_transpose_is_conjugate_transpose():
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    K = conv_matrix(theta, 8, "periodic").toarray()
    y = rng.standard_normal(8) + 1j * rng.standard_normal(8)
    np.testing.assert_allclose(circulant_matvec(theta, y), K @ y, atol=1e-12)
    np.testing.assert_allclose(circulant_matvec(theta, y, transpose=True), K.conj().T @ y)


def test_bad_input():
    with pytest.raises(ValueError, match="len\\(theta\\) must be <= n"):
        circulant_eigenvalues([1, 2, 3], 2)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        circulant_matvec([1, 2, 3], np.ones((4, 5)), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        circulant_matvec([1, 2, 3], np.ones(5), axis=0.0)
    with pytest.raises(ValueError, match="at least one dimension"):
        circulant_matvec([1, 2, 3], 5.0)
    with pytest.raises(ValueError, match="len\\(theta\\) must be <= n"):
        circulant_matvec([1, 2, 3, 4], np.ones((3, 3)))
    with pytest.raises(TypeError, match="n must be an integer"):
        circulant_first_column([1, 2], 3.5)
