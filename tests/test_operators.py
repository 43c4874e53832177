"""convlab.operators: probing matrices, linearity, LinearMap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import lsqr

from convlab.operators import LinearMap, is_linear, matrix_of


def test_probing_recovers_a_known_matrix_numpy_dense_and_sparse():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((4, 6))
    M[M < 0] = 0
    A = matrix_of(lambda x: M @ x.reshape(-1), (2, 3))
    np.testing.assert_array_equal(A, M)
    S = matrix_of(lambda x: M @ x.reshape(-1), (2, 3), sparse=True)
    assert isinstance(S, sp.csr_array) and S.nnz == np.count_nonzero(M)
    np.testing.assert_array_equal(S.toarray(), M)


def test_probing_entry_formula_e_i_f_e_j():
    M = np.arange(12.0).reshape(3, 4)
    A = matrix_of(lambda x: M @ x, 4)
    for i in range(3):
        for j in range(4):
            e_i, e_j = np.eye(3)[i], np.eye(4)[j]
            assert e_i @ (M @ e_j) == A[i, j]


def test_probing_torch_conv_is_correlation_and_batched_equals_unbatched():
    w = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64)
    f = lambda x: F.conv1d(x[None], w)[0]  # noqa: E731
    A = matrix_of(f, (1, 5), backend="torch")
    np.testing.assert_array_equal(A[0, :3], [1, 2, 3])  # correlation: kernel not flipped
    layer = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False).double()
    Ab = matrix_of(layer, (2, 4, 5), batched=True, chunk=7)
    Au = matrix_of(lambda x: layer(x[None])[0], (2, 4, 5), backend="torch")
    np.testing.assert_allclose(Ab, Au, rtol=0, atol=1e-15)
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    np.testing.assert_allclose(Ab @ x.reshape(-1).numpy(), layer(x[None]).detach().reshape(-1))


def test_matrix_of_a_layer_with_bias_is_wrong_and_is_linear_says_so():
    layer = torch.nn.Conv1d(1, 1, 3).double()
    assert not is_linear(layer, (1, 6))
    layer.bias = None
    assert is_linear(layer, (1, 6))
    assert not is_linear(lambda x: x**2, 3)
    assert is_linear(np.cumsum, 5)


def test_linear_map_matmul_transpose_flat_and_dtype_round_trip():
    M = np.random.default_rng(1).standard_normal((3, 4))
    A = LinearMap(lambda x: M @ x, lambda y: M.T @ y, 4, 3, name="M")
    x, y = np.ones(4), np.ones(3)
    np.testing.assert_allclose(A @ x, M @ x)
    np.testing.assert_allclose(A.T @ y, M.T @ y)
    np.testing.assert_allclose(A.rmatvec(y), M.T @ y)
    assert A.shape == (3, 4) and A.T.shape == (4, 3)
    np.testing.assert_allclose(A.T.to_dense(), M.T)
    t = A @ torch.ones(4, dtype=torch.float64)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert "M" in repr(A)


def test_linear_map_torch_backend_with_numpy_input_and_flat_vectors():
    w = torch.randn(2, 1, 3, dtype=torch.float64)
    A = LinearMap(
        lambda x: F.conv1d(x[None], w)[0],
        lambda y: F.conv_transpose1d(y[None], w)[0],
        (1, 6),
        (2, 4),
        backend="torch",
    )
    out = A @ np.ones(6)
    assert isinstance(out, np.ndarray) and out.shape == (8,)
    D = A.to_dense()
    np.testing.assert_allclose(A.T.to_dense(), D.T, atol=1e-15)
    assert A.adjoint_test().passed
    # scipy interop: least squares through the operator
    x_true = np.random.default_rng(2).standard_normal(6)
    sol = lsqr(A.to_scipy(), D @ x_true, atol=1e-14, btol=1e-14)[0]
    np.testing.assert_allclose(D @ sol, D @ x_true, atol=1e-8)


def test_linear_map_wrong_adjoint_fails_the_dot_test():
    M = np.random.default_rng(3).standard_normal((5, 5))
    assert not LinearMap(lambda x: M @ x, lambda y: M @ y, 5, 5).adjoint_test().passed
    assert LinearMap(lambda x: M @ x, lambda y: M.T @ y, 5, 5).adjoint_test().passed


def test_bad_input():
    with pytest.raises(TypeError, match="callable"):
        matrix_of(3, 4)
    with pytest.raises(ValueError, match="in_shape"):
        matrix_of(np.cumsum, (0,))
    with pytest.raises(ValueError, match="backend"):
        matrix_of(np.cumsum, 3, backend="jax")
    A = LinearMap(np.cumsum, np.cumsum, 3, 3)
    with pytest.raises(ValueError, match="shape"):
        A @ np.ones(4)
    with pytest.raises(ValueError, match="returned shape"):
        LinearMap(lambda x: x[:2], np.cumsum, 3, 3) @ np.ones(3)
