"""convlab.parametric against the lecture's numbers, dense matrices, scipy and the checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from convlab import parametric as P
from convlab.checks import jacobian_transpose_test, taylor_test
from convlab.structured import conv_matrix

RNG = np.random.default_rng(7)

MODELS = [
    P.diagonal(5),
    P.antisymmetric(4),
    P.m_matrix(4),
    P.periodic_conv1d(3, 7),
    P.periodic_conv1d(4, 6),
    P.periodic_conv2d((3, 2), (4, 5)),
    P.compose(P.periodic_conv2d((3, 5), (5, 6)), P.doubly_symmetric_Q((3, 5))),
]


# --- one generic suite, every model: add a model by adding one line to MODELS -------------------
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_model_is_mat_Q_theta_and_jacobian_products(model):
    p = model.n_params
    theta = np.abs(RNG.standard_normal(p))  # >= 0 so the M-matrix accepts it
    Q = model.Q().toarray()
    assert Q.shape == (model.shape[0] * model.shape[1], p)
    K = model.K(theta)
    np.testing.assert_allclose(K, (Q @ theta).reshape(model.shape, order="F"), atol=1e-14)
    np.testing.assert_allclose(model.K(theta, sparse=True).toarray(), K, atol=1e-14)
    v = RNG.standard_normal(p)
    W = RNG.standard_normal(model.shape)
    np.testing.assert_allclose(model.jvp(v), (Q @ v).reshape(model.shape, order="F"), atol=1e-13)
    np.testing.assert_allclose(model.vjp(W), Q.T @ W.ravel(order="F"), atol=1e-13)
    res = jacobian_transpose_test(model.jvp, model.vjp, in_shape=(p,), out_shape=model.shape)
    assert res.passed, res
    # linear model: the Taylor test sees E1 at rounding level (J v exact)
    tt = taylor_test(
        lambda t: model.K(t) if not model.nonnegative else model.Q() @ t,
        theta,
        jvp=lambda t, d: model.jvp(d) if not model.nonnegative else model.Q() @ d,
    )
    assert tt.passed, tt.table()


def test_lecture_m_matrix_Q_reproduced_exactly():
    M = P.m_matrix(3)
    np.testing.assert_array_equal(M.Q().toarray(), P.lecture_m_matrix_Q())
    t = RNG.uniform(0, 1, 6)
    t1, t2, t3, t4, t5, t6 = t
    lecture = np.array(
        [[t1 + t2, -t1, -t2], [-t3, t3 + t4, -t4], [-t5, -t6, t5 + t6]]
    )  # the slide's K(theta)
    np.testing.assert_allclose(M.K(t), lecture, atol=1e-15)
    np.testing.assert_allclose(P.mat(P.lecture_m_matrix_Q() @ t, (3, 3)), lecture, atol=1e-15)


def test_m_matrix_is_like_a_differential_operator():
    M = P.m_matrix(6)
    K = M.K(RNG.uniform(0, 1, M.n_params))
    np.testing.assert_allclose(K @ np.ones(6), 0, atol=1e-14)  # constants in the null space
    assert np.all(np.diag(K) >= 0) and np.all(K - np.diag(np.diag(K)) <= 0)
    assert np.all(np.linalg.eigvals(K).real >= -1e-12)  # Gershgorin: right half-plane
    # the 1D -Laplacian (periodic) is an M-matrix with theta = 1 on the neighbours
    n = 6
    t = np.zeros((n, n))
    for i in range(n):
        t[i, (i + 1) % n] = t[i, (i - 1) % n] = 1
    theta = t[~np.eye(n, dtype=bool)]
    np.testing.assert_array_equal(M.K(theta), conv_matrix([-1.0, 2, -1], n, "periodic").toarray())


def test_m_matrix_rejects_and_projects_negative_theta():
    M = P.m_matrix(3)
    with pytest.raises(ValueError, match=r"theta >= 0.*theta\[\[2\]\]"):
        M.K([1, 1, -0.5, 1, 1, 1])
    np.testing.assert_array_equal(M.project([1, -2, 0, 3, -1e-9, 2]), [1, 0, 0, 3, 0, 2])
    M.jvp([1, -1, 1, -1, 1, -1])  # directions may be negative


def test_antisymmetric_lecture_form_and_eigenvalues():
    A = P.antisymmetric(3)
    t1, t2, t3 = 1.5, -2.0, 0.25
    np.testing.assert_array_equal(A.K([t1, t2, t3]), [[0, t1, t2], [-t1, 0, t3], [-t2, -t3, 0]])
    K = P.antisymmetric(7).K(RNG.standard_normal(21))
    np.testing.assert_array_equal(K, -K.T)
    lam = np.linalg.eigvals(K)
    assert np.max(np.abs(lam.real)) < 1e-12 * np.max(np.abs(lam))
    assert np.max(np.abs(lam.imag)) > 0.1  # not all zero: the check can fail


def test_diagonal_and_vec_mat_are_matlab_column_major():
    np.testing.assert_array_equal(P.diagonal(3).K([1, 2, 3]), np.diag([1.0, 2, 3]))
    np.testing.assert_array_equal(P.mat(np.arange(1, 7), (2, 3)), [[1, 3, 5], [2, 4, 6]])
    A = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(P.mat(P.vec(A), A.shape), A)
    np.testing.assert_array_equal(P.vec(A)[:3], A[:, 0])


def test_conv1d_models_against_structured_and_first_column():
    for L, n in ((3, 6), (4, 7), (5, 5), (1, 3)):
        theta = RNG.standard_normal(L)
        K = conv_matrix(theta, n, "periodic").toarray()
        np.testing.assert_allclose(P.periodic_conv1d(L, n).K(theta), K, atol=1e-15)
        Q1 = P.conv1d_first_column_Q(L, n).toarray()
        np.testing.assert_allclose(Q1 @ theta, K[:, 0], atol=1e-15)
        assert set(np.unique(Q1)) <= {0.0, 1.0} and Q1.sum() == L
    # MATLAB conv1D.m getK1: circshift([theta; zeros], 1 - center), center = (L+1)/2
    theta = np.array([1.0, 2, 3])
    np.testing.assert_array_equal(P.conv1d_first_column_Q(3, 6) @ theta, [2, 3, 0, 0, 0, 1])


def test_conv2d_model_against_scipy_wrap_and_the_lecture_3x3():
    theta = RNG.standard_normal((3, 3))
    Y = RNG.standard_normal((5, 4))
    K = P.periodic_conv2d((3, 3), (5, 4)).K(theta.ravel(order="F"))
    z = scipy.signal.convolve2d(Y, theta, mode="same", boundary="wrap")
    np.testing.assert_allclose(K @ Y.ravel(order="F"), z.ravel(order="F"), atol=1e-13)
    # lecture: z_21 = th33 y13 + th32 y11 + th31 y12 + th23 y23 + th22 y21 + th21 y22
    #               + th13 y33 + th12 y31 + th11 y32 (1-based)
    th = RNG.standard_normal((3, 3))
    y = RNG.standard_normal((3, 3))
    K3 = P.periodic_conv2d((3, 3), (3, 3)).K(th.ravel(order="F"))
    z21 = (K3 @ y.ravel(order="F"))[1]

    def T(i, j):
        return th[i - 1, j - 1]

    def Yv(i, j):
        return y[i - 1, j - 1]

    lecture = (
        T(3, 3) * Yv(1, 3) + T(3, 2) * Yv(1, 1) + T(3, 1) * Yv(1, 2)
        + T(2, 3) * Yv(2, 3) + T(2, 2) * Yv(2, 1) + T(2, 1) * Yv(2, 2)
        + T(1, 3) * Yv(3, 3) + T(1, 2) * Yv(3, 1) + T(1, 1) * Yv(3, 2)
    )  # fmt: skip
    assert abs(z21 - lecture) < 1e-13


def test_conv2d_first_column_gives_fft2_eigenvalues():
    theta = RNG.standard_normal((3, 5))
    n = (6, 7)
    K = P.periodic_conv2d(theta.shape, n).K(theta.ravel(order="F"))
    Q = P.conv2d_first_column_Q(theta.shape, n)
    col = Q @ theta.ravel(order="F")
    np.testing.assert_allclose(col, K[:, 0], atol=1e-15)
    lam = np.fft.fft2(P.mat(col, n))
    from convlab.checks import eigenvalues_match

    assert eigenvalues_match(lam.ravel(), np.linalg.eigvals(K)).passed
    assert not eigenvalues_match(np.conj(lam.ravel()) + 0.01, np.linalg.eigvals(K)).passed


def test_doubly_symmetric_and_separable_kernels():
    S = P.doubly_symmetric_Q((5, 3))
    assert S.shape == (15, 6)
    theta = P.mat(S @ RNG.standard_normal(6), (5, 3))
    np.testing.assert_array_equal(theta, theta[::-1, :])
    np.testing.assert_array_equal(theta, theta[:, ::-1])
    model = P.compose(P.periodic_conv2d((5, 3), (6, 6)), S)
    K = model.K(RNG.standard_normal(6))
    np.testing.assert_allclose(K, K.T, atol=1e-14)  # symmetric operator, real eigenvalues
    assert P.stencil_parameter_counts((5, 3)) == {
        "full": 15,
        "separable": 8,
        "separable (effective)": 7,
        "doubly symmetric": 6,
    }
    sep = P.SeparableStencil(3, 5)
    params = RNG.standard_normal(8)
    u, v = sep.split(params)
    np.testing.assert_array_equal(sep.stencil(params), np.outer(u, v))
    # BCCB of a separable stencil = kron(K_v, K_u) for column-major images
    K2 = P.periodic_conv2d((3, 5), (6, 7)).K(sep.stencil(params).ravel(order="F"))
    Ku = conv_matrix(u, 6, "periodic").toarray()
    Kv = conv_matrix(v, 7, "periodic").toarray()
    np.testing.assert_allclose(K2, np.kron(Kv, Ku), atol=1e-14)
    res = jacobian_transpose_test(
        lambda d: sep.jvp(params, d), lambda G: sep.vjp(params, G), in_shape=(8,), out_shape=(3, 5)
    )
    assert res.passed
    assert taylor_test(sep.stencil, params, jvp=sep.jvp).passed
    assert not taylor_test(sep.stencil, params, jvp=lambda x, d: np.outer(d[:3], x[3:])).passed


def test_wrong_vjp_is_caught():
    M = P.m_matrix(3)
    wrong_Q = P.lecture_m_matrix_Q().astype(float)
    wrong_Q[4, 2] = 0  # drop one entry of the diagonal
    res = jacobian_transpose_test(
        M.jvp, lambda W: wrong_Q.T @ W.ravel(order="F"), in_shape=(6,), out_shape=(3, 3)
    )
    assert not res.passed
    res = jacobian_transpose_test(M.jvp, lambda W: M.vjp(W.T), in_shape=(6,), out_shape=(3, 3))
    assert not res.passed  # row-major vec instead of column-major


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: P.m_matrix(3).K(np.ones(5)), ValueError, "length p = 6"),
        (lambda: P.diagonal(3).vjp(np.ones((3, 2))), ValueError, "K's shape"),
        (lambda: P.periodic_conv1d(5, 3), ValueError, "L must be <= n"),
        (lambda: P.conv2d_first_column_Q((3, 3), (2, 5)), ValueError, "larger than"),
        (lambda: P.doubly_symmetric_Q((4, 3)), ValueError, "odd sizes"),
        (lambda: P.antisymmetric(2.0), TypeError, "n must be an integer"),
        (lambda: P.mat(np.ones(5), (2, 3)), ValueError, "cannot reshape"),
        (lambda: P.diagonal(2).K(["a", "b"]), TypeError, "numeric"),
        (lambda: P.SeparableStencil(2, 2).stencil(np.ones(3)), ValueError, "L1 \\+ L2"),
    ],
)
def test_bad_input_gives_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
