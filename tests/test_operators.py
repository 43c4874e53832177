"""convlab.operators: probing matrices, linearity, LinearMap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import aslinearoperator, lsqr

from convlab import conv
from convlab.inverse import FourierSampling
from convlab.operators import LinearMap, aslinearmap, is_linear, matrix_of
from convlab.transposed import conv_operator


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


# --------------------------------------------------------------------------------------------
# the base class, aslinearmap and the inner product (the property suite covers every operator)
# --------------------------------------------------------------------------------------------


class Diff(LinearMap):
    """Forward differences on a periodic grid: a subclass overriding the two hooks."""

    def __init__(self, n: int) -> None:
        super().__init__(in_shape=n, out_shape=n, name="diff")

    def _matvec(self, x):
        return np.roll(x, -1) - x  # (D x)[i] = x[i+1] - x[i]

    def _rmatvec(self, y):
        return np.roll(y, 1) - y  # (D^T y)[i] = y[i-1] - y[i]


def test_a_subclass_overrides_only_the_hooks():
    D = Diff(5)
    M = D.to_dense()
    np.testing.assert_array_equal(M, np.roll(np.eye(5), 1, axis=1) - np.eye(5))
    np.testing.assert_array_equal(D.T.to_dense(), M.T)
    assert D.adjoint_test().passed
    assert D(torch.ones(5)).abs().sum() == 0  # torch in, torch out (numpy hooks)
    assert repr(D) == "<Diff 'diff' 5x5: (5,) -> (5,), numpy float64>"
    with pytest.raises(TypeError, match="override"):
        LinearMap(in_shape=3, out_shape=3)


@pytest.mark.parametrize(
    "make",
    [
        lambda M: M,
        lambda M: sp.csr_array(M),
        lambda M: sp.csr_matrix(M),
        lambda M: torch.from_numpy(M),
        lambda M: aslinearoperator(M),
        lambda M: (lambda x: M @ x, lambda y: M.T @ y),
    ],
    ids=["ndarray", "sparse array", "sparse matrix", "tensor", "LinearOperator", "pair"],
)
def test_aslinearmap_accepts_every_kind_of_operator(make):
    M = np.random.default_rng(4).standard_normal((3, 5))
    A = aslinearmap(make(M), in_shape=5)
    assert isinstance(A, LinearMap) and A.shape == (3, 5)
    np.testing.assert_allclose(A.to_dense(), M, atol=1e-15)
    np.testing.assert_allclose(A.H.to_dense(), M.T, atol=1e-15)
    assert A.adjoint_test().passed
    assert aslinearmap(A) is A


def test_aslinearmap_natural_shapes_objects_and_bad_input():
    M = np.arange(12.0).reshape(6, 2)
    A = aslinearmap(M, in_shape=2, out_shape=(2, 3))
    assert (A @ np.ones(2)).shape == (2, 3)
    with pytest.raises(ValueError, match="do not match"):
        aslinearmap(M, out_shape=(4, 2))
    op = conv.Conv1D([1.0, 2.0, 3.0], 6)
    assert aslinearmap(op).shape == (6, 6)  # objects with as_linear_map()
    A = aslinearmap(np.cumsum, lambda y: np.cumsum(y[::-1])[::-1], in_shape=(4,))
    assert A.out_shape == (4,)  # found by one forward call
    with pytest.raises(TypeError, match="adjoint"):
        aslinearmap(np.cumsum, in_shape=3)
    with pytest.raises(TypeError, match="in_shape"):
        aslinearmap(np.cumsum, np.cumsum)
    with pytest.raises(TypeError, match="got str"):
        aslinearmap("A")
    with pytest.raises(ValueError, match="inner"):
        LinearMap(np.cumsum, np.cumsum, 3, 3, inner="complex")
    with pytest.raises(TypeError, match="torch dtype"):
        LinearMap(np.cumsum, np.cumsum, 3, 3, backend="torch", dtype=np.float64)


def test_complex_operator_transpose_is_not_the_adjoint():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    A = aslinearmap(M)
    np.testing.assert_allclose(A.H.to_dense(), M.conj().T)
    np.testing.assert_allclose(A.T.to_dense(), M.T)
    assert A.adjoint_test().passed
    assert (
        not aslinearmap((lambda x: M @ x, lambda y: M.T @ y), in_shape=4, dtype=complex)
        .adjoint_test()
        .passed
    )


def test_inner_real_expresses_the_mri_convention_and_hermitian_would_reject_it():
    mask = torch.zeros(6, 4, dtype=torch.bool)
    mask[:, :2] = True
    fs = FourierSampling(mask)
    A = fs.as_linear_map()
    assert A.inner == "real" and "inner='real'" in repr(A)
    assert A.adjoint_test().passed  # Re <A x, y> = <x, A^* y>
    # the same callables under the Hermitian inner product: <A x, y> has an imaginary part
    # that the real adjoint cannot reproduce
    herm = LinearMap(
        fs.forward, fs.adjoint, (6, 4), (6, 4), backend="torch", out_dtype=torch.complex128
    )
    assert not herm.adjoint_test().passed
    R = A.real_view()
    assert R.in_shape == (6, 4) and R.out_shape == (6, 4, 2) and not R.is_complex
    with pytest.raises(ValueError, match="real_view"):
        A.H.to_dense()  # C^k -> R^n is only R-linear: no complex matrix
    with pytest.raises(ValueError, match="real number"):
        1j * A
    # full sampling: A^* A = I, so ||A|| = 1
    full = FourierSampling(torch.ones(6, 4, dtype=torch.bool)).as_linear_map()
    assert abs(full.norm() - 1.0) < 1e-8


def test_composition_sum_scale_and_mixed_backends():
    K = conv.Conv1D([1.0, -2.0, 0.5], 8).as_linear_map()  # numpy
    w = torch.randn(1, 1, 3, dtype=torch.float64)
    C = conv_operator(w, 8, padding=1)  # torch, (1, 8) -> (1, 8)
    DK, DC = K.to_dense(), C.to_dense()
    np.testing.assert_allclose((C @ K).to_dense(), DC @ DK, atol=1e-14)
    np.testing.assert_allclose((K @ C).to_dense(), DK @ DC, atol=1e-14)
    np.testing.assert_allclose((2 * K - K.T).to_dense(), 2 * DK - DK.T, atol=1e-14)
    np.testing.assert_allclose((-K).to_dense(), -DK)
    assert (C @ K).adjoint_test().passed and (C @ K).backend == "numpy"
    with pytest.raises(ValueError, match="cannot compose"):
        K @ conv.Conv1D([1.0], 5).as_linear_map()
    with pytest.raises(ValueError, match="cannot add"):
        K + conv.Conv1D([1.0], 5).as_linear_map()
    assert abs(K.norm() - np.linalg.norm(DK, 2)) < 1e-8 * np.linalg.norm(DK, 2)


def test_conv_views_show_the_lecture_operators():
    rng = np.random.default_rng(6)
    theta, Y = rng.standard_normal(3), rng.standard_normal((4, 10))
    op = conv.Conv1D(theta, 10, Y)
    K = op.as_linear_map()
    assert repr(K) == "<LinearMap 'Conv1D.K' 10x10: (10,) -> (10,), numpy float64>"
    np.testing.assert_allclose(K.to_dense(), op.matrix().toarray(), atol=1e-14)
    J = op.jacobian_map()
    assert J.in_shape == (3,) and J.out_shape == (4, 10)
    np.testing.assert_allclose(J @ theta, op.K(Y), atol=1e-13)  # K(theta) Y is linear in theta
    with pytest.raises(ValueError, match="pass Y"):
        conv.Conv1D(theta, 10).jacobian_map()


def test_bad_operands_get_clear_errors():
    A = aslinearmap(np.eye(3), name="I")
    with pytest.raises(TypeError, match="x must be a numpy array or a torch tensor"):
        A @ [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match=r"y must have shape \(3,\), got \(4,\)"):
        A.adjoint(np.ones(4))
    with pytest.raises(TypeError, match="unsupported operand"):
        np.ones(3) @ A  # numpy defers instead of broadcasting over an object
    with pytest.raises(TypeError, match="complex"):
        conv_operator(torch.ones(1, 1, 3, dtype=torch.float64), 5) @ np.ones((1, 5), complex)
