"""Grader power for notebook 03: wrong implementations are rejected, other correct ones accepted."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from grader_power import grader_power_tests


def m_matrix_Q(n, *, order="F", numbering="row", diag_sign=1.0, off_sign=-1.0):
    """The M-matrix Q written with loops; keyword arguments inject the typical mistakes."""
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    if numbering == "col":
        pairs = sorted(pairs, key=lambda ij: (ij[1], ij[0]))
    Q = np.zeros((n * n, len(pairs)))

    def row(i, j):
        return i + j * n if order == "F" else i * n + j

    for t, (i, j) in enumerate(pairs):
        Q[row(i, j), t] += off_sign
        Q[row(i, i), t] += diag_sign
    return Q


def m_matrix_Q_vectorised(n):
    """Correct alternative: from the matrices K(e_t), sparse, float32."""
    I, J = np.nonzero(~np.eye(n, dtype=bool))
    cols = []
    for i, j in zip(I, J):
        K = np.zeros((n, n), dtype=np.float32)
        K[i, j], K[i, i] = -1, 1
        cols.append(K.ravel(order="F"))
    return sp.csr_array(np.stack(cols, axis=1))


WRONG = {
    "03.m_matrix_Q": {
        "row-major vec": lambda n: m_matrix_Q(n, order="C"),
        "parameters numbered column by column": lambda n: m_matrix_Q(n, numbering="col"),
        "diagonal missing": lambda n: m_matrix_Q(n, diag_sign=0.0),
        "signs flipped": lambda n: -m_matrix_Q(n),
        "transposed Q": lambda n: m_matrix_Q(n).T,
        "diagonal with minus": lambda n: m_matrix_Q(n, diag_sign=-1.0),
    },
    "03.model_jvp": {
        "row-major reshape": lambda Q, s, v: (Q @ v).reshape(s),
        "not reshaped": lambda Q, s, v: Q @ v,
        "transposed": lambda Q, s, v: (Q @ v).reshape(s[::-1], order="F").T,
        "reshape to the wrong shape": lambda Q, s, v: (Q @ v).reshape(s[::-1], order="F"),
        "negated": lambda Q, s, v: -(Q @ v).reshape(s, order="F"),
        "v squared": lambda Q, s, v: (Q @ v**2).reshape(s, order="F"),
    },
    "03.model_vjp": {
        "row-major vec": lambda Q, W: Q.T @ W.ravel(),
        "Q instead of Q^T on W^T": lambda Q, W: Q.T @ W.T.ravel(order="F"),
        "sum of W times Q": lambda Q, W: np.full(Q.shape[1], W.sum()),
        "missing transpose (abs)": lambda Q, W: np.abs(Q.T) @ W.ravel(order="F"),
        "scaled by the size": lambda Q, W: W.size * (Q.T @ W.ravel(order="F")),
        "one entry per row instead": lambda Q, W: Q @ np.ones(Q.shape[1]),
    },
}

CORRECT = {
    "03.m_matrix_Q": [m_matrix_Q, m_matrix_Q_vectorised],
    "03.model_jvp": [
        lambda Q, s, v: (Q @ v).reshape(s, order="F"),
        lambda Q, s, v: (Q.toarray().astype(np.float32) @ v.astype(np.float32)).reshape(s[::-1]).T,
        lambda Q, s, v: np.array(
            [[sum(Q.toarray()[i + j * s[0]] * v) for j in range(s[1])] for i in range(s[0])]
        ),
    ],
    "03.model_vjp": [
        lambda Q, W: Q.T @ W.ravel(order="F"),
        lambda Q, W: (W.T.ravel() @ Q.toarray()).astype(np.float32),
    ],
}


(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("03", WRONG, CORRECT)
