"""Stride and average pooling as sparse matrices (and their transposes).

The lecture's outlook: *stride* computes ``z`` only at every s-th pixel, i.e. keeps the rows
``0, s, 2s, ...`` of ``K``: ``K_strided = S K`` with ``S`` the selected rows of the identity;
*average pooling* replaces each non-overlapping ``size``-patch by its mean: ``z = P y`` with
``P`` holding ``1/size`` (1D) or ``1/size^2`` (2D) in each row. Both are linear, so their
transposes are what backpropagation applies: ``S^T`` scatters back into the full grid with zeros
in between (the "transposed convolution" of unit 4 starts here), ``P^T`` copies each value back
over its patch, divided by the patch size.

Conventions: outputs have ``floor((n - offset) / s)``-style sizes as in
``torch.nn.functional.avg_pool1d/2d`` (``ceil_mode=False``: a trailing incomplete patch is
dropped); 2D images are vectorised column-major by default (``order="F"``, MATLAB ``Y(:)``),
then the 2D matrices are ``kron(A2, A1)`` (``order="C"``: ``kron(A1, A2)``). As operators:
``convlab.operators.aslinearmap(avg_pool2d_matrix(...))``.

Examples
--------
>>> stride_matrix(5, 2).toarray()
array([[1., 0., 0., 0., 0.],
       [0., 0., 1., 0., 0.],
       [0., 0., 0., 0., 1.]])
>>> avg_pool_matrix(4, 2).toarray()
array([[0.5, 0.5, 0. , 0. ],
       [0. , 0. , 0.5, 0.5]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from convlab._validate import as_choice, as_shape, as_size

__all__ = ["avg_pool2d_matrix", "avg_pool_matrix", "stride2d_matrix", "stride_matrix"]


def stride_matrix(n: int, s: int, *, offset: int = 0) -> sp.csr_array:
    """Rows ``offset, offset + s, ...`` of the n x n identity: ``(S y)[k] = y[offset + k*s]``.

    ``S @ K`` is the strided convolution (rows of K selected); ``S.T`` puts values back on the
    fine grid with zeros in between. Size ``ceil((n - offset) / s) x n``.
    """
    n = as_size(n, "n")
    s = as_size(s, "s")
    offset = as_size(offset, "offset", minimum=0)
    if offset >= n:
        raise ValueError(f"offset must be < n = {n}, got {offset}")
    keep = np.arange(offset, n, s)
    return sp.csr_array((np.ones(keep.size), (np.arange(keep.size), keep)), shape=(keep.size, n))


def avg_pool_matrix(n: int, size: int) -> sp.csr_array:
    """Non-overlapping average pooling: ``(P y)[k] = mean(y[k*size : (k+1)*size])``.

    ``floor(n / size) x n`` with ``1/size`` entries (a trailing incomplete patch is dropped, as
    in ``torch.nn.functional.avg_pool1d``).
    """
    n = as_size(n, "n")
    size = as_size(size, "size")
    if size > n:
        raise ValueError(f"pool size must be <= n = {n}, got {size}")
    m = n // size
    rows = np.repeat(np.arange(m), size)
    cols = np.arange(m * size)
    return sp.csr_array((np.full(m * size, 1.0 / size), (rows, cols)), shape=(m, n))


def _kron2d(A1: sp.csr_array, A2: sp.csr_array, order: str) -> sp.csr_array:
    order = as_choice(order, "order", ("F", "C"))
    # column-major vec(A1 Y A2^T) = kron(A2, A1) vec(Y); row-major: kron(A1, A2)
    return sp.csr_array(sp.kron(A2, A1) if order == "F" else sp.kron(A1, A2))


def stride2d_matrix(
    shape: Sequence[int], s: int | Sequence[int], *, order: str = "F"
) -> sp.csr_array:
    """Keep every s-th pixel in each direction of an n1 x n2 image (``Y[::s1, ::s2]``)."""
    n1, n2 = as_shape(shape, "shape", ndim=2)
    s1, s2 = as_shape(s, "s", ndim=2)
    return _kron2d(stride_matrix(n1, s1), stride_matrix(n2, s2), order)


def avg_pool2d_matrix(
    shape: Sequence[int], size: int | Sequence[int], *, order: str = "F"
) -> sp.csr_array:
    """Non-overlapping ``size``-patch average pooling of an n1 x n2 image (``F.avg_pool2d``).

    See Also
    --------
    convlab.inverse.AveragePool
        the same operator (square ``r x r`` blocks) acting on torch images, **row-major**: equal
        to ``avg_pool2d_matrix(shape, r, order="C")``; this function defaults to ``order="F"``.
    """
    n1, n2 = as_shape(shape, "shape", ndim=2)
    p1, p2 = as_shape(size, "size", ndim=2)
    return _kron2d(avg_pool_matrix(n1, p1), avg_pool_matrix(n2, p2), order)
