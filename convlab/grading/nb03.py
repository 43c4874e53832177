"""Checks for exercises/03_parametric_models.ipynb (K(theta) = mat(Q theta), Jacobian products).

References: the M-matrix written entry by entry (independent of ``convlab.parametric``), dense
``Q`` products with column-major ``reshape`` (MATLAB ``reshape(Q*v, m, n)``, ``W(:)``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from convlab.grading._core import Cases, register


def _m_matrix_Q_reference(n: int) -> np.ndarray:
    """Q of the n x n M-matrix by its definition: K_ij = -theta_(i,j), K_ii = sum_j theta_(i,j)."""
    Q = np.zeros((n * n, n * (n - 1)))
    t = 0
    for i in range(n):  # parameters: off-diagonal entries row by row (the lecture's numbering)
        for j in range(n):
            if i == j:
                continue
            Q[i + j * n, t] = -1.0  # entry (i, j), column-major row of Q
            Q[i + i * n, t] += 1.0  # the diagonal entry (i, i) collects theta_(i,j)
            t += 1
    return Q


@register(
    "03.m_matrix_Q",
    task="the M-matrix's Q",
    hint="vec is column-major (MATLAB K(:)): entry (i, j) of K is row i + j*n of Q; the "
    "parameters are the off-diagonal entries numbered row by row, and each one appears twice "
    "in K (off the diagonal with a minus sign, and in its row's diagonal entry).",
)
def _m_matrix_Q(student, cases: Cases) -> None:
    for n in cases.grid((3, 4, 2), (5, 7, 6)):
        label = f"n = {n}"
        got = cases.call(label, student, n)
        if got is None:
            continue
        ref = _m_matrix_Q_reference(n)
        if cases.compare(label, got, ref, rtol=1e-12):
            G = got.toarray() if sp.issparse(got) else np.asarray(got, dtype=float)
            theta = cases.rng.uniform(0, 1, ref.shape[1])
            K = (G @ theta).reshape((n, n), order="F")
            cases.record(f"{label}: rows of mat(Q theta) sum to 0", np.allclose(K.sum(1), 0))


def _random_models(cases: Cases):
    """(Q, shape) pairs: the lecture's M-matrix, an antisymmetric model, random sparse Qs."""
    out = [(_m_matrix_Q_reference(3), (3, 3))]
    Q = np.zeros((16, 6))
    for t, (i, j) in enumerate(zip(*np.triu_indices(4, 1))):
        Q[i + 4 * j, t], Q[j + 4 * i, t] = 1.0, -1.0
    out.append((Q, (4, 4)))
    shapes = cases.grid([(3, 5), (6, 2), (1, 4)], [(5, 5), (7, 3), (4, 1)])
    for m, n in shapes:
        p = int(cases.rng.integers(1, 8))
        out.append((sp.random_array((m * n, p), density=0.5, rng=cases.rng).toarray(), (m, n)))
    return out


@register(
    "03.model_jvp",
    task="the Jacobian-vector product",
    hint="J v = mat(Q v), and mat is MATLAB's column-major reshape (NumPy's default order is "
    "row-major).",
)
def _model_jvp(student, cases: Cases) -> None:
    for Q, shape in _random_models(cases):
        v = cases.rng.standard_normal(Q.shape[1])
        label = f"Q {Q.shape[0]}x{Q.shape[1]}, K of shape {shape}"
        got = cases.call(label, student, sp.csr_array(Q), shape, v)
        if got is not None:
            cases.compare(label, got, (Q @ v).reshape(shape, order="F"))


@register(
    "03.model_vjp",
    task="the transposed Jacobian product",
    hint="J^T W = Q^T vec(W), with vec column-major as MATLAB's W(:) (NumPy's default order is "
    "row-major). The result has one entry per parameter.",
)
def _model_vjp(student, cases: Cases) -> None:
    for Q, shape in _random_models(cases):
        W = cases.rng.standard_normal(shape)
        label = f"Q {Q.shape[0]}x{Q.shape[1]}, W of shape {shape}"
        got = cases.call(label, student, sp.csr_array(Q), W)
        if got is not None:
            cases.compare(label, got, Q.T @ W.ravel(order="F"))
