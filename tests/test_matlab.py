"""Tests for convlab.matlab: MATLAB/Octave golden cases and independent references.

Every expected value below comes from MATLAB/Octave output (REFERENCE section 11), from NumPy /
SciPy, or from a deliberately naive reference written here (plain loops over the defining index
formula); never from the module under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import scipy.sparse
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.matlab import (
    circshift,
    conv,
    conv2,
    convmtx,
    convmtx2,
    spdiags,
    spdiags_build,
    spdiags_extract,
    spdiags_replace,
)

HYP = settings(max_examples=60, deadline=None, derandomize=True)

MAGIC3 = np.array([[8, 1, 6], [3, 5, 7], [4, 9, 2]])
M43 = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]])


# --------------------------------------------------------------------------------------------
# naive references (loops over the defining formulas; Octave spdiags.m transcribed)
# --------------------------------------------------------------------------------------------


def ref_spdiags_build(B: np.ndarray, d, m: int, n: int) -> np.ndarray:
    """Octave: offset = (m>=n) ? 0 : d; j = r + offset(k); i = j - d(k) (1-based there)."""
    B = np.atleast_2d(np.asarray(B).T).T if np.ndim(B) == 1 else np.asarray(B)
    d = np.atleast_1d(d)
    A = np.zeros((m, n), dtype=np.result_type(B.dtype, np.float64))
    for r in range(B.shape[0]):
        for k in range(B.shape[1]):
            offset = d[k] if m < n else 0
            j = r + offset
            i = j - d[k]
            if 0 <= i < m and 0 <= j < n:
                A[i, j] += B[r, k]
    return A


def ref_spdiags_extract(A: np.ndarray, d) -> np.ndarray:
    """Octave's loop: diag(A, d) placed top- or bottom-aligned in a min(m, n) column."""
    m, n = A.shape
    p = min(m, n)
    B = np.zeros((p, len(d)), dtype=A.dtype)
    for k, dk in enumerate(d):
        if dk <= -m or dk > n:
            continue
        dv = np.diag(A, dk)
        length = dv.size
        bottom = dk > 0 if m >= n else dk < 0
        if bottom:
            B[p - length :, k] = dv
        else:
            B[:length, k] = dv
    return B


def ref_conv_full(u, v) -> np.ndarray:
    u, v = np.asarray(u), np.asarray(v)
    w = np.zeros(u.size + v.size - 1, dtype=np.result_type(u, v))
    for j in range(u.size):
        for k in range(v.size):
            w[j + k] += u[j] * v[k]
    return w


def toeplitz_conv_matrix(v: np.ndarray, m: int) -> np.ndarray:
    """Dense (m + len(v) - 1) x m matrix T with T[i, j] = v[i - j] (scipy.linalg.toeplitz)."""
    col = np.concatenate([v, np.zeros(m - 1, dtype=v.dtype)])
    row = np.zeros(m, dtype=v.dtype)
    row[0] = v[0]
    return scipy.linalg.toeplitz(col, r=row)


def ref_conv2_full(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    (ma, na), (mb, nb) = A.shape, B.shape
    C = np.zeros((ma + mb - 1, na + nb - 1), dtype=np.result_type(A, B))
    for p in range(ma):
        for q in range(na):
            C[p : p + mb, q : q + nb] += A[p, q] * B
    return C


def dense(A) -> np.ndarray:
    return A.toarray() if scipy.sparse.issparse(A) else np.asarray(A)


# --------------------------------------------------------------------------------------------
# spdiags: golden cases (REFERENCE section 11, Octave spdiags.m tests)
# --------------------------------------------------------------------------------------------


def test_spdiags_golden_build_reshape_1_12():
    B = np.arange(1, 13).reshape(4, 3, order="F")  # reshape(1:12, 4, 3)
    A = spdiags(B, [-1, 0, 1], 5, 4)
    assert isinstance(A, scipy.sparse.csr_array)
    expected = [[5, 10, 0, 0], [1, 6, 11, 0], [0, 2, 7, 12], [0, 0, 3, 8], [0, 0, 0, 4]]
    np.testing.assert_array_equal(A.toarray(), expected)


def test_spdiags_golden_extract_magic3():
    B, d = spdiags(MAGIC3)
    np.testing.assert_array_equal(d, [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(B, [[4, 3, 8, 0, 0], [0, 9, 5, 1, 0], [0, 0, 2, 7, 6]])
    np.testing.assert_array_equal(spdiags(MAGIC3, [-2, 1]), [[4, 0], [0, 1], [0, 7]])


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((3, 4), [[0, 13], [0, 0], [31, 0]]),
        ((4, 3), [[31, 0], [0, 0], [0, 13]]),
        ((3, 3), [[31, 0], [0, 0], [0, 13]]),
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_spdiags_golden_zero_filling(shape, expected, sparse):
    A = np.zeros(shape)
    A[0, 2] = 13
    A[2, 0] = 31
    Ain = scipy.sparse.csc_array(A) if sparse else A
    B, d = spdiags(Ain)
    np.testing.assert_array_equal(d, [-2, 2])
    np.testing.assert_array_equal(B, expected)
    np.testing.assert_array_equal(spdiags(B, d, *shape).toarray(), A)  # Octave's round trip


def test_spdiags_golden_m_less_than_n_build():
    expected = [
        [2, 0, 3, 0, 0, 0, 0],
        [0, 5, 0, 6, 0, 0, 0],
        [0, 0, 8, 0, 9, 0, 0],
        [10, 0, 0, 11, 0, 12, 0],
    ]
    np.testing.assert_array_equal(spdiags(M43, [-3, 0, 2], 4, 7).toarray(), expected)


def test_spdiags_golden_m_greater_than_n_build():
    expected = [
        [2, 0, 9, 0],
        [0, 5, 0, 12],
        [0, 0, 8, 0],
        [1, 0, 0, 11],
        [0, 4, 0, 0],
        [0, 0, 7, 0],
        [0, 0, 0, 10],
    ]
    np.testing.assert_array_equal(spdiags(M43, [-3, 0, 2], 7, 4).toarray(), expected)


def test_spdiags_golden_extract_5x6():
    A = np.array(
        [
            [0, 5, 0, 10, 0, 0],
            [0, 0, 6, 0, 11, 0],
            [3, 0, 0, 7, 0, 12],
            [1, 4, 0, 0, 8, 0],
            [0, 2, 5, 0, 0, 9],
        ]
    )
    B, d = spdiags(A)
    np.testing.assert_array_equal(d, [-3, -2, 1, 3])
    np.testing.assert_array_equal(
        B, [[0, 0, 5, 10], [0, 0, 6, 11], [0, 3, 7, 12], [1, 4, 8, 0], [2, 5, 9, 0]]
    )
    np.testing.assert_array_equal(spdiags(B, d, 5, 6).toarray(), A)


def test_spdiags_golden_1x1():
    A = spdiags([[0.5, -1, 0.5]], [0, 1, 2], 1, 1)
    np.testing.assert_array_equal(A.toarray(), [[0.5]])
    assert A.nnz == 1


def test_spdiags_golden_1x51_differs_from_scipy():
    B = np.array([[-8037.5, 50, -12.5]])  # MATLAB row vector: one row, three diagonals
    A = spdiags(B, np.arange(3), 1, 51).toarray()
    expected = np.zeros((1, 51))
    expected[0, :3] = [-8037.5, 50, -12.5]
    np.testing.assert_array_equal(A, expected)
    # SciPy's DIA rule A[j - d[k], j] = data[k, j] with data = B.T (= scipy.sparse.spdiags):
    scipy_row = scipy.sparse.dia_array((B.T, [0, 1, 2]), shape=(1, 51)).toarray()
    assert scipy_row[0, 0] == -8037.5
    assert np.count_nonzero(scipy_row) == 1
    assert not np.array_equal(A, scipy_row)


def test_spdiags_empty_and_zero_matrices():
    B, d = spdiags(np.zeros((3, 5)))
    assert B.shape == (3, 0)
    assert d.shape == (0,)
    A = spdiags(np.zeros((1, 0)), np.array([], dtype=int), 1, 1)
    assert A.shape == (1, 1)
    assert A.nnz == 0
    assert spdiags(np.ones((2, 1)), 5, 0, 4).shape == (0, 4)


# --------------------------------------------------------------------------------------------
# spdiags: properties against the naive references and SciPy
# --------------------------------------------------------------------------------------------


@st.composite
def build_case(draw, relation: str | None = None):
    m = draw(st.integers(1, 8))
    if relation == "lt":
        n = draw(st.integers(m + 1, m + 6))
    elif relation == "gt":
        n = draw(st.integers(1, m))
    elif relation == "eq":
        n = m
    else:
        n = draw(st.integers(1, 8))
    p = draw(st.integers(0, 5))
    d = draw(st.lists(st.integers(-m - 1, n + 1), min_size=p, max_size=p))
    rows = draw(st.integers(0, 10))
    seed = draw(st.integers(0, 2**31 - 1))
    B = np.random.default_rng(seed).integers(-3, 4, size=(rows, p))
    return B, np.array(d, dtype=int), m, n


@HYP
@given(build_case())
def test_spdiags_build_matches_octave_formula(case):
    B, d, m, n = case
    A = spdiags(B, d, m, n)
    assert A.shape == (m, n)
    np.testing.assert_array_equal(A.toarray(), ref_spdiags_build(B, d, m, n))
    assert np.all(A.data != 0)  # zeros of B are not stored, like MATLAB's sparse()


@HYP
@given(build_case(relation="gt"))
def test_spdiags_build_equals_scipy_dia_when_m_ge_n(case):
    B, d, m, n = case
    B = B[:n]  # DIA data has at most n columns (one per matrix column)
    if np.unique(d).size != d.size:  # DIA rejects repeated offsets
        return
    data = np.zeros((d.size, n), dtype=B.dtype)
    data[:, : B.shape[0]] = B.T
    dia = scipy.sparse.dia_array((data, d), shape=(m, n))
    np.testing.assert_array_equal(spdiags(B, d, m, n).toarray(), dia.toarray())


@HYP
@given(build_case(relation="lt"))
def test_spdiags_build_m_lt_n_is_row_indexed(case):
    B, d, m, n = case
    A = spdiags(B, d, m, n).toarray()
    expected = np.zeros((m, n), dtype=B.dtype)
    for r in range(B.shape[0]):
        for k, dk in enumerate(d):
            if r < m and 0 <= r + dk < n:
                expected[r, r + dk] += B[r, k]  # A(r, r + d(k)) = B(r, k)
    np.testing.assert_array_equal(A, expected)


@HYP
@given(
    relation=st.sampled_from(["lt", "gt", "eq"]),
    data=st.data(),
    sparse=st.booleans(),
)
def test_spdiags_extract_matches_octave_loop(relation, data, sparse):
    _, d, m, n = data.draw(build_case(relation=relation))
    rng = np.random.default_rng(m * 100 + n)
    A = rng.integers(-2, 3, size=(m, n)) * (rng.random((m, n)) < 0.5)
    Ain = scipy.sparse.coo_array(A) if sparse else A
    np.testing.assert_array_equal(spdiags(Ain, d), ref_spdiags_extract(A, d))
    B, dd = spdiags(Ain)
    np.testing.assert_array_equal(dd, np.unique(np.nonzero(A)[1] - np.nonzero(A)[0]))
    np.testing.assert_array_equal(B, ref_spdiags_extract(A, dd))
    # [B, d] = spdiags(A); spdiags(B, d, m, n) == A
    np.testing.assert_array_equal(spdiags(B, dd, m, n).toarray(), A)


@HYP
@given(relation=st.sampled_from(["lt", "gt", "eq"]), data=st.data())
def test_spdiags_round_trip_build_then_extract(relation, data):
    B, d, m, n = data.draw(build_case(relation=relation))
    d = np.unique(d)
    p = min(m, n)
    B = np.random.default_rng(B.size).integers(1, 9, size=(p, d.size))
    got = spdiags(spdiags(B, d, m, n), d)
    # entries of B that land outside the matrix come back as zeros: mask them independently
    inside = np.zeros_like(B, dtype=bool)
    for r in range(p):
        for k, dk in enumerate(d):
            i, j = (r - dk, r) if m >= n else (r, r + dk)
            inside[r, k] = 0 <= i < m and 0 <= j < n
    np.testing.assert_array_equal(got, np.where(inside, B, 0))


def test_spdiags_sparse_explicit_zeros_and_duplicates():
    A = scipy.sparse.coo_array(
        (np.array([1.0, 2.0, 0.0, 5.0]), (np.array([0, 0, 1, 2]), np.array([0, 0, 2, 1]))),
        shape=(3, 3),
    )  # (0,0) stored twice (sums to 3), (1,2) is an explicit zero
    B, d = spdiags(A)
    np.testing.assert_array_equal(d, [-1, 0])
    np.testing.assert_array_equal(B, [[0, 3], [5, 0], [0, 0]])


def test_spdiags_build_repeated_diagonals_sum_like_octave_sparse():
    A = spdiags(np.array([[1, 10], [2, 20]]), [0, 0], 2, 2)
    np.testing.assert_array_equal(A.toarray(), [[11, 0], [0, 22]])


def test_spdiags_dtypes():
    assert spdiags(M43, [-3, 0, 2], 4, 7).dtype == M43.dtype  # int stays int
    assert spdiags(M43.astype(np.float32), [-3, 0, 2], 4, 7).dtype == np.float32
    Bc = np.array([[1 + 2j], [3 - 1j], [0.5j]])
    A = spdiags(Bc, -1, 4, 3)
    np.testing.assert_array_equal(A.toarray(), np.diag([1 + 2j, 3 - 1j, 0.5j], -1)[:, :3])
    Bx, dx = spdiags(A)
    np.testing.assert_array_equal(dx, [-1])
    np.testing.assert_array_equal(Bx[:, 0], Bc[:, 0])
    assert spdiags(MAGIC3)[0].dtype == MAGIC3.dtype


def test_spdiags_1d_B_and_scalar_d():
    A = spdiags(np.array([1, 2, 3]), 1, 3, 3)  # m >= n: A[r - 1, r] = B[r], B[0] dropped
    np.testing.assert_array_equal(A.toarray(), [[0, 2, 0], [0, 0, 3], [0, 0, 0]])
    A = spdiags(np.array([1, 2, 3]), 1, 3, 4)  # m < n: A[r, r + 1] = B[r]
    np.testing.assert_array_equal(A.toarray(), [[0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 3]])
    np.testing.assert_array_equal(spdiags(MAGIC3, 0), [[8], [5], [2]])


@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 6)])
@pytest.mark.parametrize("sparse", [False, True])
def test_spdiags_replace_matches_octave_formula(shape, sparse):
    rng = np.random.default_rng(7)
    A0 = rng.integers(1, 9, size=shape).astype(float)
    d = np.array([-1, 2])
    B = rng.integers(10, 20, size=(min(shape), 2)).astype(float)
    m, n = shape
    # Octave: A - spdiags(spdiags(A, d), d, m, n) + spdiags(B, d, m, n), with the references
    expected = A0 - ref_spdiags_build(ref_spdiags_extract(A0, d), d, m, n)
    expected += ref_spdiags_build(B, d, m, n)
    got = spdiags(B, d, scipy.sparse.csr_array(A0) if sparse else A0)
    assert isinstance(got, scipy.sparse.csr_array)
    np.testing.assert_array_equal(got.toarray(), expected)
    # the other diagonals are untouched
    i, j = np.indices(shape)
    off = ~np.isin(j - i, d)
    np.testing.assert_array_equal(got.toarray()[off], A0[off])
    np.testing.assert_array_equal(spdiags_replace(B, d, A0).toarray(), expected)


def test_spdiags_replace_dtype_promotion_and_nan():
    A0 = np.ones((3, 3), dtype=int)
    A0[1, 1] = 7
    got = spdiags(np.array([0.5, 0.5, 0.5]), 0, A0)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.toarray(), [[0.5, 1, 1], [1, 0.5, 1], [1, 1, 0.5]])
    A1 = np.diag([np.nan, np.nan])  # Octave's A - A_diag + B would keep NaN on the diagonal
    np.testing.assert_array_equal(spdiags(np.array([1.0, 2.0]), 0, A1).toarray(), np.diag([1, 2]))


def test_spdiags_explicit_functions_agree_with_overload():
    B = np.arange(1, 13).reshape(4, 3, order="F")
    np.testing.assert_array_equal(
        spdiags_build(B, [-1, 0, 1], 5, 4).toarray(), spdiags(B, [-1, 0, 1], 5, 4).toarray()
    )
    np.testing.assert_array_equal(spdiags_extract(MAGIC3, [1]), [[0], [1], [7]])
    _, dx = spdiags_extract(MAGIC3)
    np.testing.assert_array_equal(dx, [-2, -1, 0, 1, 2])


# --------------------------------------------------------------------------------------------
# spdiags: errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((np.ones((3, 2)), [0, 1, 2], 3, 3), ValueError, "B has 2 columns but d has 3"),
        ((np.ones(3), [0, 1], 3, 3), ValueError, "B is 1-D .* d has 2 entries"),
        ((np.ones((2, 2, 2)), [0, 1], 3, 3), ValueError, "B must be 1-D or 2-D"),
        ((np.ones((3, 1)), [0.5], 3, 3), TypeError, "d must contain integers"),
        ((np.ones((3, 1)), [[0]], 3, 3), ValueError, "d must be a scalar or a 1-D"),
        ((np.ones((3, 1)), [0], 3.0, 3), TypeError, "m must be an integer"),
        ((np.ones((3, 1)), [0], 3, -1), ValueError, "n must be >= 0"),
        ((np.ones((3, 1)), [0], True, 3), TypeError, "m must be an integer, got bool"),
        ((np.array([["a"], ["b"]]), [0], 2, 2), TypeError, "B must have a numeric"),
        ((np.ones((3, 1)), [0], 3), TypeError, "pass both m and n"),
        ((np.ones(3), [0, 0], np.ones((3, 3))), ValueError, "must not repeat"),
        ((np.ones(3),), ValueError, "A must be a 2-D array"),
        ((np.ones((2, 2, 2)), [0]), ValueError, "A must be a 2-D array"),
    ],
)
def test_spdiags_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        spdiags(*args)


def test_spdiags_error_n_without_m():
    with pytest.raises(TypeError, match="d must be given"):
        spdiags(np.ones((2, 2)), None, 2, 2)


# --------------------------------------------------------------------------------------------
# conv
# --------------------------------------------------------------------------------------------


def test_conv_golden_cases():
    got = conv([-1, 2, 3, -2, 0, 1, 2], [2, 4, -1, 1], "same")
    np.testing.assert_array_equal(got, [15, 5, -9, 7, 6, 7, -1])
    # SciPy's 'same' is one off for this even kernel
    sp = scipy.signal.convolve([-1, 2, 3, -2, 0, 1, 2], [2, 4, -1, 1], "same")
    np.testing.assert_array_equal(sp, [0, 15, 5, -9, 7, 6, 7])
    np.testing.assert_array_equal(
        conv(np.arange(1, 11), np.arange(1, 4), "same"), [4, 10, 16, 22, 28, 34, 40, 46, 52, 47]
    )
    np.testing.assert_array_equal(conv(np.arange(1, 4), np.arange(1, 11), "same"), [28, 34, 40])
    np.testing.assert_array_equal(
        scipy.signal.convolve(np.arange(1, 4), np.arange(1, 11), "same"), [22, 28, 34]
    )
    valid = conv(np.arange(1, 4), np.arange(1, 11), "valid")
    assert valid.shape == (0,)  # MATLAB zeros(1,0); numpy swaps the inputs instead
    assert np.convolve(np.arange(1, 4), np.arange(1, 11), "valid").size == 8


def test_conv_default_is_full_and_case_insensitive():
    np.testing.assert_array_equal(conv([1, 2, 3], [1, 1]), [1, 3, 5, 3])
    np.testing.assert_array_equal(conv([1, 2, 3], [1, 1], "SAME"), conv([1, 2, 3], [1, 1], "same"))


vectors = st.integers(1, 12).flatmap(
    lambda k: st.lists(st.integers(-5, 5), min_size=k, max_size=k).map(np.array)
)


@HYP
@given(u=vectors, v=vectors)
def test_conv_full_matches_numpy_and_loop(u, v):
    np.testing.assert_array_equal(conv(u, v), np.convolve(u, v))
    np.testing.assert_array_equal(conv(u, v, "full"), ref_conv_full(u, v))


@HYP
@given(u=vectors, v=vectors)
def test_conv_same_valid_against_dense_toeplitz(u, v):
    m, n = u.size, v.size
    T = toeplitz_conv_matrix(v, m)  # T @ u = full convolution
    full = T @ u
    np.testing.assert_array_equal(conv(u, v, "full"), full)
    np.testing.assert_array_equal(conv(u, v, "same"), full[n // 2 : n // 2 + m])
    np.testing.assert_array_equal(conv(u, v, "valid"), full[n - 1 : n - 1 + max(m - n + 1, 0)])
    assert conv(u, v, "same").shape == (m,)


@HYP
@given(u=vectors, v=vectors)
def test_conv_same_vs_numpy_odd_and_even_kernels(u, v):
    if u.size < v.size:  # np.convolve 'same' returns the longer length
        return
    npsame = np.convolve(u, v, "same")
    ours = conv(u, v, "same")
    if v.size % 2 == 1:
        np.testing.assert_array_equal(ours, npsame)
    else:  # documented one-off: MATLAB starts one later for even kernels
        np.testing.assert_array_equal(ours[:-1], npsame[1:])


@HYP
@given(u=vectors, v=vectors)
def test_conv_valid_vs_numpy(u, v):
    if u.size >= v.size:
        np.testing.assert_array_equal(conv(u, v, "valid"), np.convolve(u, v, "valid"))
    else:
        assert conv(u, v, "valid").size == 0


def test_conv_complex_and_dtype():
    u = np.array([1 + 1j, 2, -1j])
    v = np.array([1j, 3])
    np.testing.assert_allclose(conv(u, v), ref_conv_full(u, v))  # no conjugation
    assert conv([1, 2], [3, 4]).dtype.kind == "i"
    assert conv(np.ones(3, np.float32), np.ones(2, np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((np.ones((2, 2)), [1, 2]), ValueError, "u must be a 1-D array"),
        (([1, 2], np.ones((1, 2))), ValueError, "v must be a 1-D array"),
        (([], [1, 2]), ValueError, "u must be non-empty"),
        (([1, 2], [1], "middle"), ValueError, "shape must be one of 'full', 'same', 'valid'"),
        (([1, 2], [1], 3), TypeError, "shape must be a string"),
        ((["a", "b"], [1]), TypeError, "u must have a numeric"),
        ((5, [1]), ValueError, "u must be a 1-D array"),
    ],
)
def test_conv_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        conv(*args)


# --------------------------------------------------------------------------------------------
# conv2
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kshape", [(3, 3), (2, 2), (2, 3), (4, 1), (5, 4)])
def test_conv2_against_loop_reference(kshape):
    rng = np.random.default_rng(sum(kshape))
    A = rng.integers(-4, 5, size=(5, 6))
    B = rng.integers(-4, 5, size=kshape)
    full = ref_conv2_full(A, B)
    mb, nb = kshape
    np.testing.assert_array_equal(conv2(A, B), full)
    same = full[mb // 2 : mb // 2 + 5, nb // 2 : nb // 2 + 6]
    np.testing.assert_array_equal(conv2(A, B, "same"), same)
    np.testing.assert_array_equal(
        conv2(A, B, "valid"), full[mb - 1 : mb - 1 + max(5 - mb + 1, 0), nb - 1 : 6]
    )
    sp_same = scipy.signal.convolve2d(A, B, "same")
    if mb % 2 and nb % 2:
        np.testing.assert_array_equal(conv2(A, B, "same"), sp_same)
    else:
        assert not np.array_equal(conv2(A, B, "same"), sp_same)


def test_conv2_same_is_conv_for_rows():
    u = np.array([-1, 2, 3, -2, 0, 1, 2])
    v = np.array([2, 4, -1, 1])
    np.testing.assert_array_equal(conv2(u[None, :], v[None, :], "same")[0], conv(u, v, "same"))
    col = conv2(u[:, None], v[:, None], "same")[:, 0]
    np.testing.assert_array_equal(col, [15, 5, -9, 7, 6, 7, -1])


def test_conv2_valid_empty_not_swapped():
    assert conv2(np.ones((2, 3)), np.ones((4, 2)), "valid").shape == (0, 2)
    assert conv2(np.ones((2, 2)), np.ones((3, 3)), "valid").shape == (0, 0)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((np.ones(3), np.ones((2, 2))), ValueError, "A must be a 2-D array"),
        ((np.ones((3, 3)), np.ones((2, 2, 1))), ValueError, "B must be a 2-D array"),
        ((np.ones((0, 3)), np.ones((2, 2))), ValueError, "A must be non-empty"),
        ((np.ones((3, 3)), np.ones((2, 2)), "circular"), ValueError, "shape must be one of"),
    ],
)
def test_conv2_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        conv2(*args)


# --------------------------------------------------------------------------------------------
# convmtx, convmtx2
# --------------------------------------------------------------------------------------------


@HYP
@given(h=vectors, n=st.integers(1, 10), seed=st.integers(0, 1000))
def test_convmtx_matches_conv(h, n, seed):
    x = np.random.default_rng(seed).standard_normal(n)
    A = convmtx(h, n)
    assert isinstance(A, scipy.sparse.csr_array)
    assert A.shape == (h.size + n - 1, n)
    np.testing.assert_allclose(A @ x, np.convolve(h, x), atol=1e-12)
    np.testing.assert_allclose(A @ x, conv(h, x), atol=1e-12)
    Ar = convmtx(h, n, row=True)
    assert Ar.shape == (n, h.size + n - 1)
    np.testing.assert_allclose(x @ Ar, np.convolve(h, x), atol=1e-12)
    np.testing.assert_array_equal(A.toarray(), toeplitz_conv_matrix(h, n))


def test_convmtx_golden_and_dtype():
    A = convmtx([1, 2, 3], 2)
    np.testing.assert_array_equal(A.toarray(), [[1, 0], [2, 1], [3, 2], [0, 3]])
    assert A.dtype.kind == "i"
    h = np.array([1j, 0, 2])
    Ac = convmtx(h, 3)
    assert Ac.nnz == 6  # the zero tap is not stored
    x = np.array([1.0, -2.0, 0.5j])
    np.testing.assert_allclose(Ac @ x, np.convolve(h, x))


@pytest.mark.parametrize("hshape", [(3, 3), (2, 2), (2, 3), (1, 4), (4, 1)])
@pytest.mark.parametrize("xshape", [(4, 5), (1, 3), (3, 1)])
def test_convmtx2_matches_convolve2d_column_major(hshape, xshape):
    rng = np.random.default_rng(hshape[0] * 10 + hshape[1] + xshape[0])
    H = rng.standard_normal(hshape)
    X = rng.standard_normal(xshape)
    T = convmtx2(H, *xshape)
    out_shape = (hshape[0] + xshape[0] - 1, hshape[1] + xshape[1] - 1)
    assert isinstance(T, scipy.sparse.csr_array)
    assert T.shape == (out_shape[0] * out_shape[1], xshape[0] * xshape[1])
    y = (T @ X.ravel(order="F")).reshape(out_shape, order="F")
    np.testing.assert_allclose(y, scipy.signal.convolve2d(X, H), atol=1e-12)
    np.testing.assert_allclose(y, conv2(X, H), atol=1e-12)


def test_convmtx2_row_major_ravel_is_wrong():
    rng = np.random.default_rng(3)
    H, X = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    T = convmtx2(H, 4, 5)
    y = (T @ X.ravel(order="C")).reshape((5, 7), order="C")
    assert not np.allclose(y, scipy.signal.convolve2d(X, H))


def test_convmtx2_int_dtype_and_sparsity():
    H = np.array([[1, 0], [3, 4]])
    T = convmtx2(H, 3, 2)
    assert T.dtype.kind == "i"
    assert T.nnz == 3 * 3 * 2
    X = np.arange(6).reshape(3, 2)
    y = (T @ X.ravel(order="F")).reshape((4, 3), order="F")
    np.testing.assert_array_equal(y, ref_conv2_full(X, H))


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "exc", "match"),
    [
        (convmtx, (np.ones((3, 1)), 4), {}, ValueError, "h must be a 1-D array"),
        (convmtx, ([1, 2], 0), {}, ValueError, "n must be >= 1"),
        (convmtx, ([1, 2], 2.0), {}, TypeError, "n must be an integer"),
        (convmtx, ([1, 2], 2), {"row": "yes"}, TypeError, "row must be a bool"),
        (convmtx2, (np.ones(3), 2, 2), {}, ValueError, "H must be a 2-D array"),
        (convmtx2, (np.ones((2, 2)), 2, -1), {}, ValueError, "n must be >= 1"),
        (convmtx2, (np.ones((2, 2)), 2.5, 2), {}, TypeError, "m must be an integer"),
    ],
)
def test_convmtx_errors(func, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# circshift
# --------------------------------------------------------------------------------------------


def test_circshift_golden_cases():
    row = np.arange(1, 5)[None, :]  # MATLAB 1:4 is 1 x 4
    np.testing.assert_array_equal(circshift(row, 1), [[4, 1, 2, 3]])
    np.testing.assert_array_equal(circshift(row, 1, 0), [[1, 2, 3, 4]])  # MATLAB dim=1
    np.testing.assert_array_equal(circshift(np.arange(1, 5), 1), [4, 1, 2, 3])
    np.testing.assert_array_equal(circshift(np.arange(1, 5)[:, None], 1)[:, 0], [4, 1, 2, 3])
    M = np.array([[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(circshift(M, 1), [[5, 6], [1, 2], [3, 4]])  # last row to top


@HYP
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    k=st.integers(-7, 7),
)
def test_circshift_scalar_matches_np_roll_on_first_non_singleton(shape, k):
    x = np.arange(int(np.prod(shape))).reshape(shape)
    axis = next((a for a, s in enumerate(shape) if s != 1), 0)
    np.testing.assert_array_equal(circshift(x, k), np.roll(x, k, axis=axis))
    for dim in range(len(shape)):
        np.testing.assert_array_equal(circshift(x, k, dim), np.roll(x, k, axis=dim))
    shifts = list(range(1, len(shape) + 1))
    np.testing.assert_array_equal(
        circshift(x, shifts), np.roll(x, shifts, axis=tuple(range(len(shape))))
    )


def test_circshift_vector_n_and_negative_dim():
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(circshift(x, [1, -1]), np.roll(np.roll(x, 1, 0), -1, 1))
    np.testing.assert_array_equal(circshift(x, [2]), np.roll(x, 2, axis=0))
    np.testing.assert_array_equal(circshift(x, 1, -1), np.roll(x, 1, axis=1))
    np.testing.assert_array_equal(circshift(x, np.int64(5), 1), np.roll(x, 1, axis=1))
    assert circshift([1, 2, 3], 1).tolist() == [3, 1, 2]


def test_circshift_torch():
    t = torch.arange(12).reshape(1, 3, 4)
    out = circshift(t, 1)
    assert isinstance(out, torch.Tensor)
    assert torch.equal(out, torch.roll(t, 1, dims=1))  # dim 0 is singleton
    assert torch.equal(circshift(t, [0, 1, 2]), torch.roll(t, (1, 2), dims=(1, 2)))
    assert torch.equal(circshift(t, 3, 2), torch.roll(t, 3, dims=2))
    assert torch.equal(circshift(t, torch.tensor(1)), torch.roll(t, 1, dims=1))
    assert torch.equal(circshift(torch.arange(1, 5), 1), torch.tensor([4, 1, 2, 3]))


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((np.arange(4), 1.5), TypeError, "n must contain integers"),
        ((np.arange(4), 1.0), TypeError, "n must contain integers"),
        ((np.arange(4), True), TypeError, "n must contain integers, got a bool"),
        ((np.arange(4), [1, 2]), ValueError, "n has 2 entries but x has only 1"),
        ((np.arange(4), []), ValueError, "n must be a non-empty"),
        ((np.ones((2, 2)), [1, 1], 0), ValueError, "n must be a scalar integer when dim"),
        ((np.ones((2, 2)), 1, 2), ValueError, "dim must be in"),
        ((np.ones((2, 2)), 1, 0.0), TypeError, "dim must be an integer"),
        ((torch.ones(3), 0.5), TypeError, "n must contain integers"),
    ],
)
def test_circshift_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        circshift(*args)
