"""MATLAB/Octave semantics, exactly, in 0-based Python.

Each function here follows the rules of the MATLAB/Octave function of the same name (the Octave
sources ``scripts/sparse/spdiags.m``, ``scripts/polynomial/conv.m``, ``scripts/general/circshift.m``
and MathWorks' documentation of ``convmtx``/``convmtx2``), translated to 0-based indices:

================================  ==========================================================
MATLAB / Octave                   convlab.matlab
================================  ==========================================================
``A = spdiags(B, d, m, n)``       ``A = spdiags(B, d, m, n)``   (``scipy.sparse.csr_array``)
``A = spdiags(B, d, A0)``         ``A = spdiags(B, d, A0)``
``[B, d] = spdiags(A)``           ``B, d = spdiags(A)``
``B = spdiags(A, d)``             ``B = spdiags(A, d)``
``circshift(x, n)``               ``circshift(x, n)``            (first non-singleton dim)
``circshift(x, n, dim)``          ``circshift(x, n, dim - 1)``   (``dim`` is 0-based here)
``conv(u, v, 'same')``            ``conv(u, v, "same")``
``conv2(A, B, 'valid')``          ``conv2(A, B, "valid")``
``convmtx(h(:), n)``              ``convmtx(h, n)``              (``A @ x == conv(h, x)``)
``convmtx(h(:).', n)``            ``convmtx(h, n, row=True)``    (``x @ A == conv(h, x)``)
``convmtx2(H, m, n)``             ``convmtx2(H, m, n)``          (column-major ``X(:)``)
================================  ==========================================================

Where SciPy/NumPy differ (and why this module exists):

- ``scipy.sparse.spdiags``/``dia_array`` always use ``A[j - d[k], j] = data[k, j]``; MATLAB uses
  that rule only for ``m >= n`` and the row-indexed ``A(r, r + d(k)) = B(r, k)`` for ``m < n``
  (scipy #5312). SciPy has no extraction form ``[B, d] = spdiags(A)``.
- ``np.convolve``/``scipy.signal.convolve`` ``'same'`` starts ``(len(v) - 1) // 2`` into the full
  result, MATLAB ``len(v) // 2``: they differ by one for even-length kernels (scipy #9941).
  NumPy's ``'same'`` has the length of the longer input, MATLAB's that of ``u``.
- NumPy/SciPy ``'valid'`` swap the inputs when the first is shorter; MATLAB returns an empty result.

Run ``python -m convlab.matlab`` for a demo that prints the golden cases.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import numpy.typing as npt
import scipy.signal
import scipy.sparse

from convlab._validate import as_numpy, as_size, check_cost, is_tensor, sparse_bytes

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "circshift",
    "conv",
    "conv2",
    "convmtx",
    "convmtx2",
    "spdiags",
    "spdiags_build",
    "spdiags_extract",
    "spdiags_replace",
]

Shape = Literal["full", "same", "valid"]
_SHAPES = ("full", "same", "valid")
_NUMERIC_KINDS = "iufc"  # signed/unsigned int, float, complex (bool, object, str rejected)


# --------------------------------------------------------------------------------------------
# input validation helpers
# --------------------------------------------------------------------------------------------


def _as_int_array(value: Any, name: str, *, max_ndim: int = 1) -> np.ndarray:
    """Return ``value`` as an int64 array with ``ndim <= max_ndim`` (integer dtypes only)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must contain integers, got a bool ({value!r})")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        if arr.size == 0 and arr.dtype.kind == "f":  # e.g. d=[] -> float64 empty array
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must contain integers, got dtype {arr.dtype}")
    if arr.ndim > max_ndim:
        raise ValueError(f"{name} must be a scalar or a 1-D sequence, got ndim={arr.ndim}")
    return arr.astype(np.int64, copy=False)


def _check_numeric_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must have a numeric (int, float or complex) dtype, got {dtype}")


def _as_numeric(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a numeric ndarray (no copy when possible)."""
    if scipy.sparse.issparse(value):
        raise TypeError(f"{name} must be a dense array here, got a scipy sparse {value.format}")
    arr = as_numpy(value, name, numeric=False)  # tensors (requires_grad too) detached
    _check_numeric_dtype(arr.dtype, name)
    return arr


def _as_vector(value: Any, name: str) -> np.ndarray:
    """Return a non-empty 1-D numeric ndarray, refusing anything else (no silent ravel)."""
    arr = _as_numeric(value, name)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array (a MATLAB vector), got shape {arr.shape}; "
            "use .ravel() explicitly if that is what you mean"
        )
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got length 0")
    return arr


def _as_matrix(value: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    arr = _as_numeric(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")
    return arr


def _as_matrix_or_sparse(value: Any, name: str) -> np.ndarray | scipy.sparse.sparray:
    """Return a 2-D dense ndarray, or a scipy sparse array/matrix as given."""
    if scipy.sparse.issparse(value):
        if value.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a sparse array with ndim={value.ndim}")
        _check_numeric_dtype(value.dtype, name)
        return value
    return _as_matrix(value, name, allow_empty=True)


def _check_shape(shape: Any) -> str:
    if not isinstance(shape, str):
        raise TypeError(f"shape must be a string, one of {_SHAPES}, got {type(shape).__name__}")
    key = shape.lower()  # MATLAB/Octave accept 'Same', 'VALID', ...
    if key not in _SHAPES:
        raise ValueError(f"shape must be one of 'full', 'same', 'valid', got {shape!r}")
    return key


def _nonzeros(A: np.ndarray | scipy.sparse.sparray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and values of the nonzero entries (explicit sparse zeros skipped)."""
    if scipy.sparse.issparse(A):
        coo = scipy.sparse.coo_array(A, copy=True)
        coo.sum_duplicates()
        keep = coo.data != 0
        return (
            np.asarray(coo.row[keep], dtype=np.int64),
            np.asarray(coo.col[keep], dtype=np.int64),
            coo.data[keep],
        )
    i, j = np.nonzero(A)
    return i.astype(np.int64), j.astype(np.int64), A[i, j]


def _diagonal_positions(
    nrows_b: int, d: np.ndarray, m: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MATLAB's map from ``B[r, k]`` to ``A[i, j]`` for an m x n matrix, plus an in-range mask.

    m >= n (column-indexed):  A[r - d[k], r] = B[r, k]
    m <  n (row-indexed):     A[r, r + d[k]] = B[r, k]
    """
    r = np.arange(nrows_b, dtype=np.int64)[:, None]  # (nrows_b, 1)
    dk = d[None, :]  # (1, p)
    if m >= n:
        i = r - dk
        j = np.broadcast_to(r, i.shape)
    else:
        j = r + dk
        i = np.broadcast_to(r, j.shape)
    inside = (i >= 0) & (i < m) & (j >= 0) & (j < n)
    return i, j, inside


# --------------------------------------------------------------------------------------------
# spdiags
# --------------------------------------------------------------------------------------------


def spdiags_build(B: npt.ArrayLike, d: npt.ArrayLike, m: int, n: int) -> scipy.sparse.csr_array:
    """``A = spdiags(B, d, m, n)``: an m x n sparse matrix with the columns of B on diagonals d.

    Convention (MATLAB/Octave, not SciPy): with 0-based ``r`` a row of ``B`` and ``k`` a column,

    - ``m >= n`` (column-indexed): ``A[r - d[k], r] = B[r, k]``,
    - ``m <  n`` (row-indexed):    ``A[r, r + d[k]] = B[r, k]``.

    Entries that fall outside the m x n matrix are dropped. Diagonal ``d > 0`` is above the main
    diagonal. ``scipy.sparse.spdiags``/``dia_array`` use the column-indexed rule for every shape,
    so they disagree with MATLAB when ``m < n`` (scipy #5312).

    Parameters
    ----------
    B : array_like, shape (p, len(d)) or (p,)
        Diagonals in columns. A 1-D ``B`` is one column and needs exactly one diagonal; for
        MATLAB's row vector ``[a b c]`` with three diagonals pass ``[[a, b, c]]`` (shape (1, 3)).
    d : int or 1-D sequence of int
        Diagonal numbers, one per column of ``B``. Repeated diagonals are summed (Octave's
        ``sparse`` sums repeated indices).
    m, n : int
        Shape of the result (>= 0).

    Returns
    -------
    scipy.sparse.csr_array
        Shape (m, n), dtype of ``B`` (integer ``B`` stays integer). Zeros of ``B`` are not
        stored, as in MATLAB's ``sparse``.

    Examples
    --------
    >>> B = np.arange(1, 13).reshape(4, 3, order="F")   # MATLAB reshape(1:12, 4, 3)
    >>> spdiags(B, [-1, 0, 1], 5, 4).toarray()
    array([[ 5, 10,  0,  0],
           [ 1,  6, 11,  0],
           [ 0,  2,  7, 12],
           [ 0,  0,  3,  8],
           [ 0,  0,  0,  4]])
    >>> spdiags([[-8037.5, 50, -12.5]], [0, 1, 2], 1, 5).toarray()   # m < n: row-indexed
    array([[-8037.5,    50. ,   -12.5,     0. ,     0. ]])
    """
    m = as_size(m, "m", minimum=0)
    n = as_size(n, "n", minimum=0)
    darr = _as_int_array(d, "d")
    scalar_d = darr.ndim == 0
    darr = darr.reshape(-1)
    Barr = _as_numeric(B, "B")
    if Barr.ndim == 1:
        if darr.size != 1:
            raise ValueError(
                f"B is 1-D (one diagonal) but d has {darr.size} entries; pass a 2-D B of shape "
                f"(rows, {darr.size}) with one diagonal per column (MATLAB's row vector [a b c] "
                "is [[a, b, c]])"
            )
        Barr = Barr[:, None]
    elif Barr.ndim != 2:
        raise ValueError(f"B must be 1-D or 2-D, got shape {Barr.shape}")
    if Barr.shape[1] != darr.size:
        what = "a scalar" if scalar_d else f"{darr.size} entries"
        raise ValueError(
            f"B has {Barr.shape[1]} columns but d has {what}; need one column of B per diagonal"
        )
    check_cost(
        f"spdiags_build of a {m} x {n} matrix",
        nbytes=sparse_bytes(m, Barr.shape[0] * darr.size) + 24 * Barr.size,
        alternative="use smaller m, n",
    )
    i, j, inside = _diagonal_positions(Barr.shape[0], darr, m, n)
    keep = inside & (Barr != 0)
    coo = scipy.sparse.coo_array((Barr[keep], (i[keep], j[keep])), shape=(m, n))
    A = coo.tocsr()  # tocsr sums repeated (i, j) like MATLAB's sparse() ...
    A.eliminate_zeros()  # ... which also drops sums that cancel to zero
    return A


def spdiags_extract(
    A: npt.ArrayLike | scipy.sparse.sparray | scipy.sparse.spmatrix,
    d: npt.ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """``[B, d] = spdiags(A)`` (``d=None``) or ``B = spdiags(A, d)``: diagonals of A as columns.

    Convention (MATLAB/Octave): ``B`` has ``min(m, n)`` rows and one column per diagonal, filled
    by the inverse of the build rule of :func:`spdiags_build` (0-based ``r``):

    - ``m >= n``: ``B[r, k] = A[r - d[k], r]`` (d > 0 bottom-aligned, d <= 0 top-aligned),
    - ``m <  n``: ``B[r, k] = A[r, r + d[k]]`` (d < 0 bottom-aligned, d >= 0 top-aligned).

    Positions outside A are zero, so a diagonal lying outside A gives a zero column. With
    ``d=None``, ``d`` is the sorted unique ``j - i`` over the nonzero entries (explicit stored
    zeros of a sparse A do not count).

    Parameters
    ----------
    A : array_like or scipy sparse, 2-D
    d : int or 1-D sequence of int, optional

    Returns
    -------
    (B, d) : (ndarray, ndarray of int64)
        When ``d`` is None; ``B`` has A's dtype.
    B : ndarray
        When ``d`` is given.

    Examples
    --------
    >>> M = np.array([[8, 1, 6], [3, 5, 7], [4, 9, 2]])   # magic(3)
    >>> B, d = spdiags(M)
    >>> d
    array([-2, -1,  0,  1,  2])
    >>> B
    array([[4, 3, 8, 0, 0],
           [0, 9, 5, 1, 0],
           [0, 0, 2, 7, 6]])
    """
    Aarr = _as_matrix_or_sparse(A, "A")
    m, n = Aarr.shape
    p = min(m, n)
    if d is None:
        i, j, v = _nonzeros(Aarr)
        diag = j - i
        dout = np.unique(diag)
        B = np.zeros((p, dout.size), dtype=Aarr.dtype)
        r = j if m >= n else i  # the row of B that holds entry (i, j)
        B[r, np.searchsorted(dout, diag)] = v
        return B, dout

    darr = _as_int_array(d, "d").reshape(-1)
    i, j, inside = _diagonal_positions(p, darr, m, n)
    B = np.zeros((p, darr.size), dtype=Aarr.dtype)
    ii, jj = i[inside], j[inside]
    if scipy.sparse.issparse(Aarr):
        # look the wanted (i, j) up among the sorted nonzeros: key = i * n + j
        ai, aj, av = _nonzeros(Aarr)
        keys = ai * n + aj
        order = np.argsort(keys, kind="stable")
        keys, av = keys[order], av[order]
        want = ii * n + jj
        pos = np.searchsorted(keys, want)
        found = pos < keys.size
        found[found] = keys[pos[found]] == want[found]
        vals = np.zeros(want.shape, dtype=Aarr.dtype)
        vals[found] = av[pos[found]]
        B[inside] = vals
    else:
        B[inside] = Aarr[ii, jj]
    return B


def spdiags_replace(
    B: npt.ArrayLike,
    d: npt.ArrayLike,
    A: npt.ArrayLike | scipy.sparse.sparray | scipy.sparse.spmatrix,
) -> scipy.sparse.csr_array:
    """``A = spdiags(B, d, A)``: A with the diagonals ``d`` replaced by the columns of B.

    Convention (Octave): ``A - spdiags(spdiags(A, d), d, m, n) + spdiags(B, d, m, n)``, i.e. every
    entry of A on a diagonal in ``d`` is removed and the build rule of :func:`spdiags_build`
    (column-indexed for ``m >= n``, row-indexed for ``m < n``) places B. Implemented by removal,
    so NaN/Inf on a replaced diagonal do not leak through the subtraction.

    Parameters
    ----------
    B : array_like, shape (p, len(d)) or (p,)
    d : int or 1-D sequence of distinct ints
    A : array_like or scipy sparse, 2-D

    Returns
    -------
    scipy.sparse.csr_array
        Same shape as A, dtype ``np.result_type(A, B)`` (MATLAB returns sparse too).

    Examples
    --------
    >>> spdiags([[9], [9], [9]], 0, np.ones((3, 3), dtype=int)).toarray()
    array([[9, 1, 1],
           [1, 9, 1],
           [1, 1, 9]])
    """
    Aarr = _as_matrix_or_sparse(A, "A")
    m, n = Aarr.shape
    darr = _as_int_array(d, "d").reshape(-1)
    if np.unique(darr).size != darr.size:
        raise ValueError(f"d must not repeat a diagonal when replacing, got {darr.tolist()}")
    new = spdiags_build(B, d, m, n)
    dtype = np.result_type(Aarr.dtype, new.dtype)
    i, j, v = _nonzeros(Aarr)
    keep = ~np.isin(j - i, darr)
    old = scipy.sparse.coo_array((v[keep].astype(dtype), (i[keep], j[keep])), shape=(m, n))
    out = (old.tocsr() + new.astype(dtype)).tocsr()
    out.eliminate_zeros()
    return out


@overload
def spdiags(A: Any, /) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def spdiags(A: Any, d: npt.ArrayLike, /) -> np.ndarray: ...
@overload
def spdiags(B: npt.ArrayLike, d: npt.ArrayLike, A: Any, /) -> scipy.sparse.csr_array: ...
@overload
def spdiags(B: npt.ArrayLike, d: npt.ArrayLike, m: int, n: int, /) -> scipy.sparse.csr_array: ...


def spdiags(arg: Any, d: Any = None, m: Any = None, n: Any = None, /) -> Any:
    """MATLAB's overloaded ``spdiags``; dispatches on the number of arguments.

    ==============================  ===================================  =========================
    call                            meaning                              see
    ==============================  ===================================  =========================
    ``spdiags(B, d, m, n)``         build an m x n ``csr_array``         :func:`spdiags_build`
    ``spdiags(B, d, A)``            replace diagonals ``d`` of A         :func:`spdiags_replace`
    ``B, d = spdiags(A)``           extract all nonzero diagonals        :func:`spdiags_extract`
    ``B = spdiags(A, d)``           extract diagonals ``d``              :func:`spdiags_extract`
    ==============================  ===================================  =========================

    Convention (MATLAB/Octave, 0-based): ``m >= n`` uses ``A[r - d[k], r] = B[r, k]``,
    ``m < n`` uses ``A[r, r + d[k]] = B[r, k]``; out-of-range entries are dropped. This is *not*
    ``scipy.sparse.spdiags``, which uses the first rule for every shape.

    Examples
    --------
    >>> spdiags([[-8037.5, 50, -12.5]], [0, 1, 2], 1, 4).toarray()
    array([[-8037.5,    50. ,   -12.5,     0. ]])
    >>> spdiags(np.array([[8, 1, 6], [3, 5, 7], [4, 9, 2]]), [-2, 1])
    array([[4, 0],
           [0, 1],
           [0, 7]])
    """
    if d is None:
        if m is not None or n is not None:
            raise TypeError("spdiags: d must be given when m/n are given")
        return spdiags_extract(arg)
    if m is None:
        if n is not None:
            raise TypeError("spdiags: n given without m; call spdiags(B, d, m, n)")
        return spdiags_extract(arg, d)
    if n is None:
        if isinstance(m, (int, np.integer)):
            raise TypeError(
                "spdiags(B, d, m) with an integer m: pass both m and n to build a matrix "
                "(spdiags(B, d, m, n)), or a 2-D matrix A to replace its diagonals"
            )
        return spdiags_replace(arg, d, m)
    return spdiags_build(arg, d, m, n)


# --------------------------------------------------------------------------------------------
# circshift
# --------------------------------------------------------------------------------------------


@overload
def circshift(x: torch.Tensor, n: Any, dim: int | None = None) -> torch.Tensor: ...
@overload
def circshift(x: npt.ArrayLike, n: Any, dim: int | None = None) -> np.ndarray: ...


def circshift(x: Any, n: Any, dim: int | None = None) -> Any:
    """MATLAB ``circshift``: circular shift; ``n > 0`` moves entries toward higher indices.

    Convention (MATLAB/Octave):

    - scalar ``n``, no ``dim``: shift along the **first non-singleton dimension** (size != 1),
      not the last axis and not the flattened array (``np.roll`` without ``axis`` flattens).
      A 1-D array is a vector, so ``circshift(np.arange(1, 5), 1) -> [4, 1, 2, 3]``; a 1 x 4 row
      ``np.arange(1, 5)[None, :]`` also shifts along its columns. For a matrix, the last row
      moves to the top.
    - sequence ``n = [n0, n1, ...]``: shift axis 0 by ``n0``, axis 1 by ``n1``, ...
      (``len(n) <= x.ndim``).
    - ``dim`` given: shift that axis by the scalar ``n``. ``dim`` is **0-based**: MATLAB's
      ``circshift(x, n, 1)`` (rows) is ``circshift(x, n, 0)`` here; negative ``dim`` counts from
      the end. Shifting a size-1 axis is a no-op, as in MATLAB.

    Parameters
    ----------
    x : array_like or torch.Tensor
    n : int or 1-D sequence of int
        Integers only (``1.5`` or ``1.0`` raise ``TypeError``).
    dim : int, optional

    Returns
    -------
    ndarray or torch.Tensor
        Same type as ``x`` (array_like input gives an ndarray); always a new array.

    Examples
    --------
    >>> circshift(np.arange(1, 5), 1)
    array([4, 1, 2, 3])
    >>> circshift(np.arange(1, 5)[None, :], 1, 0)    # MATLAB circshift(1:4, 1, 1): no-op
    array([[1, 2, 3, 4]])
    >>> circshift(np.array([[1, 2], [3, 4], [5, 6]]), 1)   # last row to the top
    array([[5, 6],
           [1, 2],
           [3, 4]])
    """
    is_torch = is_tensor(x)
    if not is_torch:
        if scipy.sparse.issparse(x):
            raise TypeError("x must be a dense ndarray or torch.Tensor, got a scipy sparse array")
        x = as_numpy(x, "x")
    shape = tuple(x.shape)
    ndim = len(shape)
    if is_torch and isinstance(n, sys.modules["torch"].Tensor):
        n = n.detach().cpu().numpy()
    shifts = _as_int_array(n, "n")

    if dim is not None:
        if shifts.ndim != 0:
            raise ValueError(
                f"n must be a scalar integer when dim is given, got shape {shifts.shape}"
            )
        dim = as_size(dim, "dim", minimum=-max(ndim, 1))
        if not -ndim <= dim < ndim:
            raise ValueError(f"dim must be in [{-ndim}, {ndim - 1}] for a {ndim}-D x, got {dim}")
        axes: tuple[int, ...] = (dim % ndim,)
        amounts: tuple[int, ...] = (int(shifts),)
    elif shifts.ndim == 0:
        non_singleton = [k for k, s in enumerate(shape) if s != 1]
        axes = (non_singleton[0] if non_singleton else 0,)
        amounts = (int(shifts),)
    else:
        if shifts.size == 0:
            raise ValueError("n must be a non-empty sequence of integers")
        if shifts.size > ndim:
            raise ValueError(
                f"n has {shifts.size} entries but x has only {ndim} dimension(s) (shape {shape})"
            )
        axes = tuple(range(shifts.size))
        amounts = tuple(int(s) for s in shifts)

    if ndim == 0:
        return x.clone() if is_torch else x.copy()
    if is_torch:
        torch_mod = sys.modules["torch"]
        return torch_mod.roll(x, shifts=amounts, dims=axes)
    return np.roll(x, amounts, axis=axes)


# --------------------------------------------------------------------------------------------
# conv, conv2
# --------------------------------------------------------------------------------------------


def conv(u: npt.ArrayLike, v: npt.ArrayLike, shape: Shape = "full") -> np.ndarray:
    """MATLAB ``conv(u, v, shape)``: 1-D convolution ``w[k] = sum_j u[j] v[k - j]`` (no flip of
    the result, no conjugation).

    Convention (MATLAB/Octave), with ``m = len(u)``, ``n = len(v)`` and ``full`` the length
    ``m + n - 1`` result:

    - ``"full"``: ``full``.
    - ``"same"``: ``full[n // 2 : n // 2 + m]`` (length of ``u``). NumPy/SciPy start at
      ``(n - 1) // 2``, one earlier for even ``n``, and ``np.convolve`` returns the longer length.
    - ``"valid"``: ``full[n - 1 : n - 1 + max(m - n + 1, 0)]``: **empty when u is shorter than
      v** (NumPy/SciPy swap the inputs instead).

    MATLAB orients the result like its inputs (row/column); here inputs and result are 1-D.

    Parameters
    ----------
    u, v : array_like, 1-D, non-empty
    shape : {"full", "same", "valid"}, case-insensitive

    Returns
    -------
    ndarray, 1-D, dtype ``np.result_type(u, v)``

    Examples
    --------
    >>> conv([-1, 2, 3, -2, 0, 1, 2], [2, 4, -1, 1], "same")
    array([15,  5, -9,  7,  6,  7, -1])
    >>> conv([1, 2, 3], np.arange(1, 11), "same")
    array([28, 34, 40])
    >>> conv([1, 2, 3], np.arange(1, 11), "valid")
    array([], dtype=int64)
    """
    ua = _as_vector(u, "u")
    va = _as_vector(v, "v")
    key = _check_shape(shape)
    m, n = ua.size, va.size
    full = np.convolve(ua, va)  # length m + n - 1 whichever input is longer
    if key == "full":
        return full
    if key == "same":
        start = n // 2
        return full[start : start + m].copy()
    length = max(m - n + 1, 0)
    return full[n - 1 : n - 1 + length].copy()


def conv2(A: npt.ArrayLike, B: npt.ArrayLike, shape: Shape = "full") -> np.ndarray:
    """MATLAB ``conv2(A, B, shape)``: 2-D convolution ``C[i, j] = sum A[p, q] B[i - p, j - q]``.

    Convention (MATLAB/Octave), per dimension, with ``A`` of shape (ma, na) and ``B`` (mb, nb):

    - ``"full"``: shape (ma + mb - 1, na + nb - 1).
    - ``"same"``: shape of A, rows from ``mb // 2`` and columns from ``nb // 2`` of the full
      result (``scipy.signal.convolve2d(..., "same")`` starts at ``(mb - 1) // 2``: it agrees only
      when both kernel sizes are odd).
    - ``"valid"``: shape (max(ma - mb + 1, 0), max(na - nb + 1, 0)); empty rather than swapped.

    Parameters
    ----------
    A, B : array_like, 2-D, non-empty
    shape : {"full", "same", "valid"}, case-insensitive

    Returns
    -------
    ndarray, 2-D

    Examples
    --------
    >>> conv2(np.arange(1, 10).reshape(3, 3), np.ones((2, 2), dtype=int), "same")
    array([[12, 16,  9],
           [24, 28, 15],
           [15, 17,  9]])
    """
    Aa = _as_matrix(A, "A")
    Ba = _as_matrix(B, "B")
    key = _check_shape(shape)
    full = scipy.signal.convolve2d(Aa, Ba, mode="full")
    if key == "full":
        return full
    (ma, na), (mb, nb) = Aa.shape, Ba.shape
    if key == "same":
        r0, c0 = mb // 2, nb // 2
        return full[r0 : r0 + ma, c0 : c0 + na].copy()
    rows, cols = max(ma - mb + 1, 0), max(na - nb + 1, 0)
    return full[mb - 1 : mb - 1 + rows, nb - 1 : nb - 1 + cols].copy()


# --------------------------------------------------------------------------------------------
# convmtx, convmtx2
# --------------------------------------------------------------------------------------------


def convmtx(h: npt.ArrayLike, n: int, *, row: bool = False) -> scipy.sparse.csr_array:
    """MATLAB ``convmtx(h, n)``: the sparse Toeplitz matrix of full convolution with ``h``.

    Convention: with ``m = len(h)``, ``A`` is (m + n - 1) x n with ``A[i, j] = h[i - j]`` for
    ``0 <= i - j < m``, so ``A @ x == conv(h, x)`` for ``len(x) == n`` (MATLAB's column ``h``).
    ``row=True`` returns the n x (m + n - 1) transpose, used as ``x @ A == conv(h, x)``
    (MATLAB's row ``h``). Note the number of rows is m + n - 1, not n (cf. PyLops #517).
    Zeros of ``h`` are not stored.

    Parameters
    ----------
    h : array_like, 1-D, non-empty
    n : int >= 1
        Length of the signal ``x``.
    row : bool, keyword-only

    Returns
    -------
    scipy.sparse.csr_array, dtype of ``h``

    See Also
    --------
    convlab.toeplitz.full_conv_matrix
        the same matrix as a dense torch tensor.
    convlab.structured.conv_matrix
        'same' size (centred at L//2) with zero/periodic/valid boundaries.
    convlab.transposed.conv_layer_matrix
        correlation: the same matrix from the flipped ``h[::-1][None, None]`` and
        ``padding=m - 1``.
    convlab.transposed.conv_transpose_layer_matrix
        stride 1, no padding: the same matrix from ``h[None, None]``.
    convlab.matlab.convmtx2
        the 2D version, column-major.

    Examples
    --------
    >>> convmtx([1, 2, 3], 2).toarray()
    array([[1, 0],
           [2, 1],
           [3, 2],
           [0, 3]])
    """
    ha = _as_vector(h, "h")
    n = as_size(n, "n", minimum=1)
    if not isinstance(row, (bool, np.bool_)):
        raise TypeError(f"row must be a bool, got {type(row).__name__}")
    m = ha.size
    check_cost(
        f"convmtx of a length-{m} h for n = {n}",
        nbytes=sparse_bytes(m + n - 1, m * n),
        alternative="apply the convolution without its matrix (conv(h, x))",
    )
    # A[j + k, j] = h[k]  for k in 0..m-1, j in 0..n-1
    k = np.arange(m, dtype=np.int64)[:, None]
    j = np.arange(n, dtype=np.int64)[None, :]
    rows = np.broadcast_to(k + j, (m, n))
    cols = np.broadcast_to(j, (m, n))
    data = np.broadcast_to(ha[:, None], (m, n))
    keep = data != 0
    shape = (m + n - 1, n)
    if row:
        rows, cols, shape = cols, rows, (n, m + n - 1)
    return scipy.sparse.coo_array((data[keep], (rows[keep], cols[keep])), shape=shape).tocsr()


def convmtx2(H: npt.ArrayLike, m: int, n: int) -> scipy.sparse.csr_array:
    """MATLAB ``convmtx2(H, m, n)``: sparse matrix of 2-D full convolution with ``H``.

    Convention (column-major, MATLAB's ``X(:)``): for X of shape (m, n) and H of shape (mh, nh),

    ``(T @ X.ravel(order="F")).reshape((mh + m - 1, nh + n - 1), order="F") == conv2(X, H)``.

    T has shape ((mh + m - 1) * (nh + n - 1), m * n) and
    ``T[(p + a) + (q + b) * (mh + m - 1), p + q * m] = H[a, b]``. Its blocks follow the image
    columns; with a C-order (row-major) ravel the block pattern is transposed, so use
    ``order="F"`` on both sides. Zeros of ``H`` are not stored.

    Parameters
    ----------
    H : array_like, 2-D, non-empty
    m, n : int >= 1
        Shape of the image ``X``.

    Returns
    -------
    scipy.sparse.csr_array, dtype of ``H``

    See Also
    --------
    convlab.toeplitz.doubly_blocked_toeplitz
        row-major: ``doubly_blocked_toeplitz(H, (m, n))`` is this matrix with rows and
        columns permuted from F to C order (conv2 is commutative).
    convlab.conv.Conv2D.matrix
        periodic and 'same' size (centred at L//2), column-major by default too.
    convlab.transposed.conv_layer_matrix
        correlation, zero padding, row-major (flipped kernel and padding k - 1 give the full
        convolution).
    convlab.matlab.convmtx
        the 1D version.

    Examples
    --------
    >>> H = np.array([[1, 2], [3, 4]])
    >>> X = np.arange(6).reshape(2, 3)
    >>> T = convmtx2(H, 2, 3)
    >>> T.shape
    (12, 6)
    >>> bool(np.array_equal((T @ X.ravel(order="F")).reshape(3, 4, order="F"), conv2(X, H)))
    True
    """
    Ha = _as_matrix(H, "H")
    m = as_size(m, "m", minimum=1)
    n = as_size(n, "n", minimum=1)
    mh, nh = Ha.shape
    check_cost(
        f"convmtx2 of a {mh}x{nh} H for {m}x{n} images",
        nbytes=sparse_bytes((mh + m - 1) * (nh + n - 1), mh * nh * m * n),
        alternative="apply the convolution without its matrix (conv2(X, H))",
    )
    M = mh + m - 1  # rows of the full output
    a = np.arange(mh, dtype=np.int64)[:, None, None, None]
    b = np.arange(nh, dtype=np.int64)[None, :, None, None]
    p = np.arange(m, dtype=np.int64)[None, None, :, None]
    q = np.arange(n, dtype=np.int64)[None, None, None, :]
    full_shape = (mh, nh, m, n)
    # Y[p + a, q + b] += H[a, b] X[p, q];  F-order: Y[i, j] -> i + j * M, X[p, q] -> p + q * m
    rows = np.broadcast_to((p + a) + (q + b) * M, full_shape)
    cols = np.broadcast_to(p + q * m, full_shape)
    data = np.broadcast_to(Ha[:, :, None, None], full_shape)
    keep = data != 0
    shape = (M * (nh + n - 1), m * n)
    return scipy.sparse.coo_array((data[keep], (rows[keep], cols[keep])), shape=shape).tocsr()


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------


def _demo() -> None:  # pragma: no cover - exercised by hand / python -m convlab.matlab
    np.set_printoptions(linewidth=100)
    print("spdiags(reshape(1:12,4,3),[-1 0 1],5,4) =")
    print(spdiags(np.arange(1, 13).reshape(4, 3, order="F"), [-1, 0, 1], 5, 4).toarray())
    magic3 = np.array([[8, 1, 6], [3, 5, 7], [4, 9, 2]])
    B, d = spdiags(magic3)
    print("[B,d] = spdiags(magic(3)):  d =", d)
    print(B)
    print("spdiags(magic(3),[-2 1]) =")
    print(spdiags(magic3, [-2, 1]))
    M = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]])
    print("spdiags(M,[-3 0 2],4,7) =  (m < n: row-indexed)")
    print(spdiags(M, [-3, 0, 2], 4, 7).toarray())
    print("spdiags(M,[-3 0 2],7,4) =  (m >= n: column-indexed)")
    print(spdiags(M, [-3, 0, 2], 7, 4).toarray())
    row = spdiags([[-8037.5, 50, -12.5]], [0, 1, 2], 1, 51).toarray()[0, :5]
    # SciPy's DIA rule A[j - d[k], j] = data[k, j] with data = B.T (what scipy.sparse.spdiags does)
    data = np.array([[-8037.5], [50.0], [-12.5]])
    dia = scipy.sparse.dia_array((data, [0, 1, 2]), shape=(1, 51)).toarray()[0, :5]
    print("spdiags([-8037.5 50 -12.5],0:2,1,51)(1:5) =", row, " scipy dia_array:", dia)
    u, v = [-1, 2, 3, -2, 0, 1, 2], [2, 4, -1, 1]
    print("conv([-1 2 3 -2 0 1 2],[2 4 -1 1],'same') =", conv(u, v, "same"))
    print("conv(1:10,1:3,'same') =", conv(np.arange(1, 11), np.arange(1, 4), "same"))
    print("conv(1:3,1:10,'same') =", conv(np.arange(1, 4), np.arange(1, 11), "same"))
    print("conv(1:3,1:10,'valid') =", conv(np.arange(1, 4), np.arange(1, 11), "valid"))
    print("circshift(1:4,1) =", circshift(np.arange(1, 5)[None, :], 1))
    print("circshift(1:4,1,1) =", circshift(np.arange(1, 5)[None, :], 1, 0))
    print("convmtx([1 2 3]',2) =")
    print(convmtx([1, 2, 3], 2).toarray())


if __name__ == "__main__":  # pragma: no cover
    _demo()
