"""Checks for exercises/06_wiener_filter_losses.ipynb (Toeplitz matrices and Wiener filters).

References never come from the student:

- 1D Toeplitz matrix: ``scipy.linalg.convolution_matrix(x, m, "full")``;
- 2D doubly-blocked matrix: probed column by column from ``scipy.signal.convolve2d(a, E, "full")``
  with unit filters E (row-major / C-order vectorisation);
- Wiener filter: :func:`convlab.wiener.wiener_filter` with ``solver="dense"`` (itself tested
  against ``numpy.linalg.lstsq`` on scipy's convolution matrix);
- delta test: the grader hands the student's test Wiener "solvers" whose filters are either
  exactly a delta at zero lag (to rounding) or clearly not (off by >= 1e-4), and knows which.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal
import torch

from convlab.grading._core import Cases, register
from convlab.wiener import wiener_filter, zero_lag_index

# ---------------------------------------------------------------------------------------------
# 06.toeplitz: A @ w == np.convolve(x, w), A of shape (n + m - 1, m)
# ---------------------------------------------------------------------------------------------

_SIZES_1D = [(4, 4), (5, 3), (3, 5), (6, 6), (7, 2), (4, 1), (1, 3)]
_SIZES_1D_HIDDEN = [(1, 1), (10, 10), (2, 7), (9, 4)]


@register(
    "06.toeplitz",
    task="the Toeplitz matrix",
    forbid=("scipy.linalg.convolution_matrix", "scipy.signal"),
    hint="A @ w is the FULL convolution np.convolve(x, w): n + m - 1 rows, m columns, and "
    "column j holds x shifted down by j with zeros around it (a shift, never a wrap-around), "
    "x in its own order (reversed would be a correlation).",
)
def _toeplitz(student, cases: Cases) -> None:
    for n, m in cases.grid(_SIZES_1D, _SIZES_1D_HIDDEN):
        x = np.round(cases.rng.standard_normal(n), 2)
        label = f"x = {x.tolist()}, m = {m}"
        got = cases.call(label, student, x, m)
        if got is not None:
            cases.compare(label, got, scipy.linalg.convolution_matrix(x, m, "full"), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# 06.doubly_blocked: A @ w.ravel() == convolve2d(a, w, 'full').ravel()   (C order)
# ---------------------------------------------------------------------------------------------

_SIZES_2D = [((3, 3), (3, 3)), ((2, 4), (3, 2)), ((4, 3), (2, 3)), ((1, 4), (2, 1))]
_SIZES_2D += [((3, 1), (1, 3))]
_SIZES_2D_HIDDEN = [((1, 1), (1, 1)), ((5, 4), (4, 5)), ((2, 2), (5, 1))]


def _probe_convolve2d(a: np.ndarray, m: tuple[int, int]) -> np.ndarray:
    """Column k of A = convolve2d(a, E_k, 'full').ravel(), E_k the k-th unit filter (C order)."""
    cols = []
    for k in range(m[0] * m[1]):
        e = np.zeros(m[0] * m[1])
        e[k] = 1.0
        cols.append(scipy.signal.convolve2d(a, e.reshape(m), "full").ravel())
    return np.stack(cols, axis=1)


@register(
    "06.doubly_blocked",
    task="the doubly-blocked Toeplitz matrix",
    forbid=("scipy.linalg.convolution_matrix", "scipy.signal"),
    hint="Vectorisation is row-major (C order, w.ravel()), unlike MATLAB's convmtx2: the block "
    "grid has p1 + m1 - 1 block rows of height p2 + m2 - 1 and m1 block columns, and block "
    "(i + j, j) is the 1D Toeplitz matrix of image ROW i.",
)
def _doubly_blocked(student, cases: Cases) -> None:
    for p, m in cases.grid(_SIZES_2D, _SIZES_2D_HIDDEN):
        a = np.round(cases.rng.standard_normal(p), 1)
        if p == (3, 3) and m == (3, 3):
            a = np.arange(1.0, 10.0).reshape(3, 3)  # the lecture's 25 x 9 example
        label = f"a of shape {p} = {a.tolist()}, filter_shape = {m}"
        got = cases.call(label, student, a, m)
        if got is not None:
            cases.compare(label, got, _probe_convolve2d(a, m), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# 06.wiener: w = (A^T A)^{-1} A^T b_pad, b at the zero-lag offset (m - 1) // 2
# ---------------------------------------------------------------------------------------------

_SIZES_W = [(8, 8), (10, 7), (9, 4), (6, 6), (12, 12), (5, 8), (7, 1)]
_SIZES_W_HIDDEN = [(1, 1), (16, 16), (11, 6), (7, 7), (20, 9)]


@register(
    "06.wiener",
    task="the Wiener filter",
    hint="The least-squares filter solves the normal equations (A^T A) w = A^T b_pad with A the "
    "(n+m-1) x m full-convolution matrix of a and b_pad = b at the zero-lag offset "
    "c = (m - 1) // 2 inside zeros of length n + m - 1.",
)
def _wiener(student, cases: Cases) -> None:
    for n, m in cases.grid(_SIZES_W, _SIZES_W_HIDDEN):
        a = cases.rng.standard_normal(n)
        b = cases.rng.standard_normal(n)
        label = f"a, b of length {n} (a[:3] = {np.round(a[:3], 2).tolist()}), m = {m}"
        got = cases.call(label, student, a, b, m)
        arr = None if got is None else cases.array(label, got, real=True)
        if arr is None:
            continue
        ref = wiener_filter(torch.from_numpy(a), torch.from_numpy(b), m, solver="dense").numpy()
        # the normal equations square the condition number: judge float32 answers at 2e-3
        single = np.issubdtype(arr.dtype, np.floating) and arr.dtype.itemsize <= 4
        cases.compare(label, arr, ref, rtol=2e-3 if single else 1e-8)


# ---------------------------------------------------------------------------------------------
# 06.delta_test: does wiener(a, a) return a delta at zero lag?
# ---------------------------------------------------------------------------------------------


def _delta(shape: tuple[int, ...]) -> np.ndarray:
    d = np.zeros(shape)
    d[zero_lag_index(shape)] = 1.0
    return d


def _solvers():
    """(description, filter(a, b) -> np.ndarray): honest solvers and broken ones."""

    def exact(a, b):
        return wiener_filter(torch.from_numpy(a), torch.from_numpy(b), dim=a.ndim).numpy()

    def lstsq(a, b):  # the same filter by another route: A probed from convolve2d, lstsq
        a2, b2 = np.atleast_2d(a), np.atleast_2d(b)  # 1D signals as 1 x n images
        m = a2.shape
        c = zero_lag_index(m)
        b_pad = np.zeros((2 * m[0] - 1, 2 * m[1] - 1))
        b_pad[c[0] : c[0] + m[0], c[1] : c[1] + m[1]] = b2
        w = np.linalg.lstsq(_probe_convolve2d(a2, m), b_pad.ravel(), rcond=None)[0]
        return w.reshape(a.shape)

    def shifted(a, b):  # one lag late along the last axis
        return np.roll(exact(a, b), 1, axis=-1)

    def scaled(a, b):  # the right shape, the wrong amplitude
        return 1.5 * exact(a, b)

    def leaky(a, b):  # right at zero lag, but a little energy at the other lags
        w = exact(a, b)
        leak = 1e-3 * np.cos(np.arange(w.size)).reshape(w.shape)
        leak[zero_lag_index(w.shape)] = 0.0
        return w + leak

    def centred_half(a, b):  # delta at m // 2 per axis: wrong for even sizes only
        w = exact(a, b)
        c = zero_lag_index(w.shape)
        return np.roll(
            w, tuple(mi // 2 - ci for mi, ci in zip(w.shape, c)), axis=tuple(range(w.ndim))
        )

    def causal(a, b):  # delta at index 0 (the causal convention)
        w = np.zeros(a.shape)
        w[(0,) * a.ndim] = 1.0
        return w

    def slightly_leaky(a, b):  # off by 1e-6: between the task's 1e-8 and a loose 1e-5
        w = exact(a, b)
        leak = 1e-6 * np.cos(np.arange(w.size)).reshape(w.shape)
        leak[zero_lag_index(w.shape)] = 0.0
        return w + leak

    def slightly_scaled(a, b):  # amplitude 1 + 1e-6: a relative tolerance lets it through
        return (1 + 1e-6) * exact(a, b)

    def split(a, b):  # sums to one, peaks at zero lag, but is not a delta
        w = 0.6 * exact(a, b)
        w[(*zero_lag_index(a.shape)[:-1], (zero_lag_index(a.shape)[-1] + 1) % a.shape[-1])] += 0.4
        return w

    return [
        ("the exact filter (Cholesky)", exact),
        ("the exact filter (lstsq)", lstsq),
        ("a filter one lag late", shifted),
        ("1.5 x the exact filter", scaled),
        ("the exact filter + 1e-3 cos(k) off zero lag", leaky),
        ("the exact filter + 1e-6 cos(k) off zero lag", slightly_leaky),
        ("(1 + 1e-6) x the exact filter", slightly_scaled),
        ("the filter centred at m // 2", centred_half),
        ("a delta at index 0", causal),
        ("0.6 delta at lag 0 + 0.4 at lag 1", split),
    ]


_SHAPES_DELTA = [(8,), (9,), (6, 5), (4, 4), (1, 6)]
_SHAPES_DELTA_HIDDEN = [(2,), (15,), (3, 3), (5, 8)]


@register(
    "06.delta_test",
    task="the delta test",
    hint="A delta at zero lag has a single 1 at index (m - 1) // 2 along EVERY axis of the "
    "filter and zeros everywhere else: compare all entries with it (amplitude, position, no "
    "energy elsewhere) to within 1e-8, and answer with a bool.",
)
def _delta_test(student, cases: Cases) -> None:
    for shape in cases.grid(_SHAPES_DELTA, _SHAPES_DELTA_HIDDEN):
        a = cases.rng.standard_normal(shape)
        for desc, solver in _solvers():
            w = solver(a, a)
            dev = float(np.abs(w - _delta(shape)).max())
            if 1e-10 < dev < 1e-7:  # pragma: no cover - guards the grader's own cases
                raise RuntimeError(f"grader case {desc!r} is ambiguous (deviation {dev:.1e})")
            expected = dev <= 1e-10
            label = f"a of shape {shape}, wiener = {desc}"
            # the student gets the filter computed in advance (no convlab call under the guard)
            got = cases.call(label, student, _returns(w), a)
            if got is None:
                continue
            if not isinstance(got, (bool, np.bool_)):
                cases.fail(label, f"return True or False, got {got!r}")
                continue
            cases.record(
                label,
                bool(got) == expected,
                f"your test said {bool(got)}, but this filter is "
                + ("a delta at zero lag" if expected else "NOT a delta at zero lag"),
            )


def _returns(w: np.ndarray):
    """A Wiener 'solver' that returns a copy of the filter ``w`` computed in advance."""

    def wiener_fn(a, b):
        return w.copy()

    return wiener_fn
