"""Grader power for notebook 06: wrong implementations are rejected, other correct ones accepted."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal
import torch
from grader_power import grader_power_tests, rejected

from convlab.grading import check

# ---------------------------------------------------------------------------------------------
# 06.toeplitz
# ---------------------------------------------------------------------------------------------


def toeplitz_loop(x, m):
    """The lecture's first method."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    A = np.zeros((n + m - 1, m))
    for i in range(m):
        A[i : i + n, i] = x
    return A


def toeplitz_roll_float32(x, m):
    """The lecture's second method in torch float32: rows of A^T are rolls of the padded x."""
    x = torch.tensor(x, dtype=torch.float32)
    x_pad = torch.cat([x, torch.zeros(m - 1)])
    A_T = torch.zeros(m, len(x_pad))
    for j in range(m):
        A_T[j] = torch.roll(x_pad, j)
    return A_T.T


def toeplitz_scipy(x, m):
    """scipy.linalg.toeplitz from the first column and first row."""
    x = np.asarray(x, dtype=float)
    return scipy.linalg.toeplitz(np.r_[x, np.zeros(m - 1)], np.r_[x[0], np.zeros(m - 1)])


TOEPLITZ_WRONG = {
    # the lecture's literal `torch.roll(x, j)` without zero padding: the end of x wraps around
    "roll without padding": lambda x, m: np.stack([np.roll(x, j) for j in range(m)], axis=1),
    # zero padding in front of x instead of behind it: column 0 is x at the bottom
    "zeros on the wrong side": lambda x, m: np.stack(
        [np.roll(np.r_[np.zeros(m - 1), x], j) for j in range(m)], axis=1
    ),
    "off by one (shift j + 1)": lambda x, m: np.roll(toeplitz_loop(x, m), 1, axis=0),
    "correlation (x reversed)": lambda x, m: toeplitz_loop(np.asarray(x)[::-1], m),
    "transposed (A^T)": lambda x, m: toeplitz_loop(x, m).T,
    "'same' crop": lambda x, m: toeplitz_loop(x, m)[(m - 1) // 2 : (m - 1) // 2 + len(x)],
    "ignores m (m = n)": lambda x, m: toeplitz_loop(x, len(x)),
    "returns None": lambda x, m: None,
}


# ---------------------------------------------------------------------------------------------
# 06.doubly_blocked
# ---------------------------------------------------------------------------------------------


def blocked_loop(a, filter_shape, *, row_order=None, offset=0, flip_rows=False):
    """Block (i + j + offset, j) = toeplitz(a[row_order[i]], m2); the defaults are correct."""
    a = np.asarray(a, dtype=float)
    (p1, p2), (m1, m2) = a.shape, filter_shape
    P1, P2 = p1 + m1 - 1, p2 + m2 - 1
    A = np.zeros((P1 * P2, m1 * m2))
    for i in range(p1):
        row = a[p1 - 1 - i] if flip_rows else a[i]
        block = toeplitz_loop(row, m2)
        for j in range(m1):
            r = i + j + offset
            if 0 <= r < P1:
                A[r * P2 : (r + 1) * P2, j * m2 : (j + 1) * m2] = block
    return A


def blocked_index_float32(a, filter_shape):
    """Vectorised: A[(i1+j1)*P2 + (i2+j2), j1*m2 + j2] = a[i1, i2], torch float32."""
    a = torch.tensor(np.asarray(a), dtype=torch.float32)
    (p1, p2), (m1, m2) = a.shape, filter_shape
    P1, P2 = p1 + m1 - 1, p2 + m2 - 1
    i1, i2, j1, j2 = torch.meshgrid(
        torch.arange(p1), torch.arange(p2), torch.arange(m1), torch.arange(m2), indexing="ij"
    )
    A = torch.zeros(P1 * P2, m1 * m2)
    A[((i1 + j1) * P2 + i2 + j2).reshape(-1), (j1 * m2 + j2).reshape(-1)] = a[i1, i2].reshape(-1)
    return A


def blocked_probe(a, filter_shape):
    """Columns probed with unit filters, each full 2D convolution by zero-padded FFTs."""
    a = np.asarray(a, dtype=float)
    full = (a.shape[0] + filter_shape[0] - 1, a.shape[1] + filter_shape[1] - 1)
    cols = []
    for k in range(filter_shape[0] * filter_shape[1]):
        e = np.zeros(filter_shape[0] * filter_shape[1])
        e[k] = 1.0
        z = np.fft.ifft2(np.fft.fft2(a, full) * np.fft.fft2(e.reshape(filter_shape), full)).real
        cols.append(z.ravel())
    return np.stack(cols, axis=1)


def column_major(a, filter_shape):
    """MATLAB convmtx2's X(:) order: the same operator, columns and rows vectorised in F order."""
    m = filter_shape
    A = blocked_loop(np.asarray(a).T, (m[1], m[0]))
    return A


BLOCKED_WRONG = {
    "column-major (convmtx2) order": column_major,
    "off-by-one block placement": lambda a, f: blocked_loop(a, f, offset=1),
    "block row offset i - j": lambda a, f: blocked_loop(a, f, offset=-1),
    "correlation (a flipped)": lambda a, f: blocked_loop(np.asarray(a)[::-1, ::-1], f),
    "rows of a in reverse order": lambda a, f: blocked_loop(a, f, flip_rows=True),
    "blocks without padding (P2 = p2)": lambda a, f: blocked_loop(a, f)[
        : np.shape(a)[0] * np.shape(a)[1]
    ],
    "filter shape swapped": lambda a, f: blocked_loop(a, (f[1], f[0])),
    "transposed": lambda a, f: blocked_loop(a, f).T,
}


def test_lecture_matrix_is_a_visible_case(capsys):
    check("06.doubly_blocked", blocked_loop)
    assert "all 5 cases passed" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# 06.wiener
# ---------------------------------------------------------------------------------------------


def _b_pad(b, n, m, c):
    out = np.zeros(n + m - 1)
    out[c : c + n] = b
    return out


def wiener_solve(a, b, m, *, c=None, A_of=toeplitz_loop, rhs="AT"):
    """Normal equations; the keyword defaults are correct."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = len(a)
    A = A_of(a, m)
    c = (m - 1) // 2 if c is None else c
    bp = _b_pad(b, n, m, c)
    if rhs == "AT":
        g = A.T @ bp
    elif rhs == "conv":  # "A instead of A^T": apply A (a convolution) instead of A^T
        g = np.convolve(bp, a, "valid")
    else:
        raise AssertionError(rhs)
    return np.linalg.solve(A.T @ A, g)


def wiener_lstsq(a, b, m):
    A = toeplitz_scipy(a, m)
    return np.linalg.lstsq(A, _b_pad(b, len(a), m, (m - 1) // 2), rcond=None)[0]


def wiener_float32_torch(a, b, m):
    A = toeplitz_roll_float32(a, m)
    bp = torch.tensor(_b_pad(b, len(a), m, (m - 1) // 2), dtype=torch.float32)
    return torch.linalg.solve(A.T @ A, A.T @ bp)


def wiener_levinson(a, b, m):
    """The normal matrix is the autocorrelation Toeplitz matrix: Levinson on its first column."""
    a = np.asarray(a, dtype=float)
    r = np.array([a[: len(a) - k] @ a[k:] if k < len(a) else 0.0 for k in range(m)])
    g = toeplitz_loop(a, m).T @ _b_pad(b, len(a), m, (m - 1) // 2)
    return scipy.linalg.solve_toeplitz((r, r), g)


WIENER_WRONG = {
    "b not padded (offset 0)": lambda a, b, m: wiener_solve(a, b, m, c=0),
    "zero lag at m // 2": lambda a, b, m: wiener_solve(a, b, m, c=m // 2),
    "A instead of A^T (convolution rhs)": lambda a, b, m: wiener_solve(a, b, m, rhs="conv"),
    "correlation matrix (a reversed)": lambda a, b, m: wiener_solve(
        a, b, m, A_of=lambda x, k: toeplitz_loop(np.asarray(x)[::-1], k)
    ),
    "circular A (roll without padding)": lambda a, b, m: np.linalg.lstsq(
        np.stack([np.roll(np.r_[a, np.zeros(m - 1)][: len(a)], j) for j in range(m)], axis=1),
        np.asarray(b, dtype=float),
        rcond=None,
    )[0],
    "filter reversed": lambda a, b, m: wiener_solve(a, b, m)[::-1],
    "maps b onto a": lambda a, b, m: wiener_solve(b, a, m),
    "normalised to unit norm": lambda a, b, m: (w := wiener_solve(a, b, m)) / np.linalg.norm(w),
}


# ---------------------------------------------------------------------------------------------
# 06.delta_test
# ---------------------------------------------------------------------------------------------


def _centre(shape):
    return tuple((m - 1) // 2 for m in shape)


def delta_correct(wiener_fn, a):
    w = np.asarray(wiener_fn(a, a), dtype=float)
    d = np.zeros(w.shape)
    d[_centre(w.shape)] = 1.0
    return w.shape == np.shape(a) and bool(np.abs(w - d).max() <= 1e-8)


def delta_loops_torch(wiener_fn, a):
    """Loops over every entry, torch tensors, allclose with tight tolerances."""
    w = torch.as_tensor(np.asarray(wiener_fn(a, a)))
    c = _centre(w.shape)
    for idx in np.ndindex(*w.shape):
        target = 1.0 if idx == c else 0.0
        if abs(float(w[idx]) - target) > 1e-9:
            return False
    return True


def delta_allclose(wiener_fn, a):
    w = np.asarray(wiener_fn(a, a))
    d = np.zeros_like(w)
    d[_centre(w.shape)] = 1
    return np.allclose(w, d, rtol=0, atol=1e-7)


def _delta_wrong(kind):
    def impl(wiener_fn, a):
        w = np.asarray(wiener_fn(a, a), dtype=float)
        c = _centre(w.shape)
        d = np.zeros(w.shape)
        if kind == "argmax only":
            return np.unravel_index(np.argmax(np.abs(w)), w.shape) == c
        if kind == "centre at m // 2":
            d[tuple(m // 2 for m in w.shape)] = 1.0
        elif kind == "centre on the flattened filter":
            d.reshape(-1)[(w.size - 1) // 2] = 1.0
        elif kind == "centre at 0 (causal)":
            d[(0,) * w.ndim] = 1.0
        elif kind == "ignores amplitude (w / max)":
            d[c] = 1.0
            w = w / np.abs(w).max()
        elif kind == "only checks w[c] == 1":
            return abs(w[c] - 1.0) < 1e-8
        elif kind == "checks the sum":
            return abs(w.sum() - 1.0) < 1e-8 and np.argmax(w) == np.ravel_multi_index(c, w.shape)
        elif kind == "tolerance 1e-2":
            d[c] = 1.0
            return bool(np.abs(w - d).max() <= 1e-2)
        elif kind == "np.allclose, default tolerances":
            d[c] = 1.0
            return bool(np.allclose(w, d))
        elif kind == "tolerance 1e-5":
            d[c] = 1.0
            return bool(np.abs(w - d).max() <= 1e-5)
        elif kind == "exact equality":
            d[c] = 1.0
            return bool(np.array_equal(w, d))
        elif kind == "always True":
            return True
        else:
            raise AssertionError(kind)
        return bool(np.abs(w - d).max() <= 1e-8)

    return impl


DELTA_WRONG = [
    "argmax only",
    "centre at m // 2",
    "centre on the flattened filter",
    "centre at 0 (causal)",
    "ignores amplitude (w / max)",
    "only checks w[c] == 1",
    "checks the sum",
    "tolerance 1e-2",
    "np.allclose, default tolerances",
    "tolerance 1e-5",
    "exact equality",
    "always True",
]


# ---------------------------------------------------------------------------------------------
# stubs and reports
# ---------------------------------------------------------------------------------------------


def test_failure_report_names_case_and_hint():
    out = rejected("06.wiener", WIENER_WRONG["zero lag at m // 2"])
    assert "first failing case: a, b of length" in out and "(m - 1) // 2" in out


WRONG = {
    "06.toeplitz": TOEPLITZ_WRONG,
    "06.doubly_blocked": BLOCKED_WRONG,
    "06.wiener": WIENER_WRONG,
    "06.delta_test": {kind: _delta_wrong(kind) for kind in DELTA_WRONG},
}
CORRECT = {
    "06.toeplitz": [toeplitz_loop, toeplitz_roll_float32, toeplitz_scipy],
    "06.doubly_blocked": [blocked_loop, blocked_index_float32, blocked_probe],
    "06.wiener": [wiener_solve, wiener_lstsq, wiener_float32_torch, wiener_levinson],
    "06.delta_test": [delta_correct, delta_loops_torch, delta_allclose],
}

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("06", WRONG, CORRECT)
