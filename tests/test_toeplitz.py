"""Full-convolution Toeplitz builders (lecture loop / roll / vectorised) and the doubly-blocked 2D
matrix, against independent references: numpy.convolve, scipy.linalg.convolution_matrix,
scipy.signal.convolve2d, MATLAB convmtx2 (column-major) and the lecture's printed 25 x 9 matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch

from convlab.toeplitz import doubly_blocked_toeplitz, full_conv_matrix, lecture_example

# the lecture's slide, verbatim
LECTURE_25x9 = np.array(
    [
        [1, 0, 0, 0, 0, 0, 0, 0, 0],
        [2, 1, 0, 0, 0, 0, 0, 0, 0],
        [3, 2, 1, 0, 0, 0, 0, 0, 0],
        [0, 3, 2, 0, 0, 0, 0, 0, 0],
        [0, 0, 3, 0, 0, 0, 0, 0, 0],
        [4, 0, 0, 1, 0, 0, 0, 0, 0],
        [5, 4, 0, 2, 1, 0, 0, 0, 0],
        [6, 5, 4, 3, 2, 1, 0, 0, 0],
        [0, 6, 5, 0, 3, 2, 0, 0, 0],
        [0, 0, 6, 0, 0, 3, 0, 0, 0],
        [7, 0, 0, 4, 0, 0, 1, 0, 0],
        [8, 7, 0, 5, 4, 0, 2, 1, 0],
        [9, 8, 7, 6, 5, 4, 3, 2, 1],
        [0, 9, 8, 0, 6, 5, 0, 3, 2],
        [0, 0, 9, 0, 0, 6, 0, 0, 3],
        [0, 0, 0, 7, 0, 0, 4, 0, 0],
        [0, 0, 0, 8, 7, 0, 5, 4, 0],
        [0, 0, 0, 9, 8, 7, 6, 5, 4],
        [0, 0, 0, 0, 9, 8, 0, 6, 5],
        [0, 0, 0, 0, 0, 9, 0, 0, 6],
        [0, 0, 0, 0, 0, 0, 7, 0, 0],
        [0, 0, 0, 0, 0, 0, 8, 7, 0],
        [0, 0, 0, 0, 0, 0, 9, 8, 7],
        [0, 0, 0, 0, 0, 0, 0, 9, 8],
        [0, 0, 0, 0, 0, 0, 0, 0, 9],
    ],
    dtype=float,
)

SIZES = [(1, 1), (1, 4), (4, 1), (5, 5), (7, 3), (3, 8), (16, 31)]


@pytest.mark.parametrize(("n", "m"), SIZES)
@pytest.mark.parametrize("method", ["index", "loop", "roll"])
def test_1d_matches_numpy_and_scipy(n, m, method):
    rng = np.random.default_rng(n * 100 + m)
    x, w = rng.standard_normal(n), rng.standard_normal(m)
    A = full_conv_matrix(torch.from_numpy(x), m, method=method)
    assert A.shape == (n + m - 1, m)
    assert A.dtype == torch.float64
    np.testing.assert_array_equal(A.numpy(), scipy.linalg.convolution_matrix(x, m, "full"))
    np.testing.assert_allclose(A.numpy() @ w, np.convolve(x, w), rtol=1e-12, atol=1e-12)


def test_1d_default_is_the_lecture_square_filter_and_methods_agree():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    A = full_conv_matrix(x)
    assert A.shape == (7, 4)  # "for i in range(h): A[i:i+h, i] = x" with h = n
    for method in ("loop", "roll"):
        assert torch.equal(full_conv_matrix(x, method=method), A)
    # the lecture's picture: a_1 on the diagonal, a_m at the bottom of the last column
    assert torch.equal(torch.diagonal(A), torch.ones(4))
    assert torch.equal(A[:, -1], torch.tensor([0.0, 0, 0, 1, 2, 3, 4]))


def test_1d_matches_matlab_convmtx():
    from convlab.matlab import convmtx

    rng = np.random.default_rng(3)
    x = rng.standard_normal(6)
    np.testing.assert_array_equal(full_conv_matrix(x, 4).numpy(), convmtx(x, 4).toarray())


def test_dtypes():
    assert full_conv_matrix(torch.ones(3, dtype=torch.float32)).dtype == torch.float32
    assert full_conv_matrix([1, 2, 3]).dtype == torch.float64
    assert doubly_blocked_toeplitz(np.ones((2, 2), dtype=np.float32)).dtype == torch.float32


def test_lecture_25x9_matrix_exactly():
    a = torch.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(lecture_example().numpy(), LECTURE_25x9)
    np.testing.assert_array_equal(doubly_blocked_toeplitz(a).numpy(), LECTURE_25x9)
    np.testing.assert_array_equal(doubly_blocked_toeplitz(a, method="loop").numpy(), LECTURE_25x9)


@pytest.mark.parametrize(
    ("p", "m"),
    [((3, 3), (3, 3)), ((4, 6), (4, 6)), ((5, 2), (3, 4)), ((1, 5), (2, 1)), ((6, 5), (1, 1))],
)
@pytest.mark.parametrize("method", ["index", "loop"])
def test_2d_multiplies_like_convolve2d_full(p, m, method):
    rng = np.random.default_rng(sum(p) * 10 + sum(m))
    a, w = rng.standard_normal(p), rng.standard_normal(m)
    A = doubly_blocked_toeplitz(torch.from_numpy(a), m, method=method).numpy()
    P = (p[0] + m[0] - 1, p[1] + m[1] - 1)
    assert A.shape == (P[0] * P[1], m[0] * m[1])
    np.testing.assert_allclose(
        A @ w.ravel(), scipy.signal.convolve2d(a, w, "full").ravel(), rtol=1e-12, atol=1e-12
    )
    # block (r, c) is the 1D Toeplitz matrix of image row r - c (zero block outside)
    for r in range(P[0]):
        for c in range(m[0]):
            block = A[r * P[1] : (r + 1) * P[1], c * m[1] : (c + 1) * m[1]]
            row = r - c
            expected = (
                scipy.linalg.convolution_matrix(a[row], m[1], "full")
                if 0 <= row < p[0]
                else np.zeros((P[1], m[1]))
            )
            np.testing.assert_array_equal(block, expected)


def test_2d_is_a_permutation_of_matlab_convmtx2():
    # MATLAB: reshape(convmtx2(a, m1, m2) * W(:), ...) == conv2(W, a) with column-major W(:).
    from convlab.matlab import convmtx2

    rng = np.random.default_rng(5)
    a, m = rng.standard_normal((3, 4)), (2, 3)
    T = convmtx2(a, *m).toarray()
    P = (a.shape[0] + m[0] - 1, a.shape[1] + m[1] - 1)
    rows = np.arange(P[0] * P[1]).reshape(P).ravel(order="F")  # C index of the F-order rows
    cols = np.arange(m[0] * m[1]).reshape(m).ravel(order="F")
    A = doubly_blocked_toeplitz(a, m).numpy()
    np.testing.assert_allclose(A[np.ix_(rows, cols)], T, rtol=0, atol=1e-14)


def test_builders_reject_bad_input():
    with pytest.raises(ValueError, match="x must be 1-D"):
        full_conv_matrix(np.ones((2, 2)))
    with pytest.raises(ValueError, match="must not be empty"):
        full_conv_matrix([])
    with pytest.raises(TypeError, match="real"):
        full_conv_matrix(torch.ones(3, dtype=torch.complex128))
    with pytest.raises(TypeError, match="numeric"):
        full_conv_matrix(["a", "b"])
    with pytest.raises(ValueError, match="method"):
        full_conv_matrix([1.0, 2.0], method="spdiags")
    with pytest.raises(ValueError, match="m must be >= 1"):
        full_conv_matrix([1.0, 2.0], 0)
    with pytest.raises(TypeError, match="m must be an integer"):
        full_conv_matrix([1.0, 2.0], 2.5)
    with pytest.raises(ValueError, match="a must be 2-D"):
        doubly_blocked_toeplitz([1.0, 2.0])
    with pytest.raises(ValueError, match="filter_shape"):
        doubly_blocked_toeplitz(np.ones((2, 2)), (2, 2, 2))
    with pytest.raises(ValueError, match="method"):
        doubly_blocked_toeplitz(np.ones((2, 2)), method="roll")
