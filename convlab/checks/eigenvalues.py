"""Eigenvalues compared as multisets: an optimal one-to-one matching, never by position."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from convlab._validate import as_real_number
from convlab.checks._common import (
    MAX_TOL,
    _as_tol,
    _CheckResult,
    _fmt_num,
    _is_tensor,
    _to_numpy,
    _working_eps,
)

# Eigenvalue sets up to this size are matched with a dense assignment (O(n^2) memory).
_DENSE_ASSIGNMENT_MAX = 4096


@dataclass(frozen=True, eq=False)
class EigenvalueMatchResult(_CheckResult):
    """Outcome of :func:`eigenvalues_match`.

    Attributes
    ----------
    passed : bool
        Same length and ``error <= tol``.
    error : float
        Largest distance ``|computed[i] - expected[permutation[i]]|`` of the matching
        (``inf`` if the lengths differ or an input is not finite).
    tol : float
        Tolerance used.
    n : int
        Number of computed eigenvalues.
    permutation : ndarray of int
        ``computed[i]`` is matched with ``expected[permutation[i]]`` (empty if lengths differ).
    reason : str
        Why it failed ("" when passed).
    distances : ndarray of float
        Matched distance for each computed eigenvalue.
    """

    passed: bool
    error: float
    tol: float
    n: int
    permutation: np.ndarray
    reason: str = ""
    distances: np.ndarray = field(default_factory=lambda: np.zeros(0))
    computed: np.ndarray = field(default_factory=lambda: np.zeros(0, complex), repr=False)
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0, complex), repr=False)

    def summary(self) -> str:
        """One line: passed/failed, largest matched distance, tolerance, n."""
        if self.passed:
            return (
                f"eigenvalues match (as multisets): max matched distance {self.error:.2g} <= "
                f"tol {self.tol:.2g} (n={self.n})"
            )
        return f"eigenvalues do NOT match: {self.reason}"

    def table(self, k: int = 5) -> str:
        """The ``k`` worst matched pairs."""
        if self.distances.size == 0:
            return f"(no matching: {self.reason})"
        worst = np.argsort(self.distances)[::-1][:k]
        lines = [f"{'i':>5}  {'computed':>24}  {'expected':>24}  {'distance':>9}"]
        for i in worst:
            j = int(self.permutation[i])
            lines.append(
                f"{int(i):>5}  {_fmt_num(self.computed[i]):>24}  "
                f"{_fmt_num(self.expected[j]):>24}  {self.distances[i]:>9.2e}"
            )
        return "\n".join(lines)


def _as_1d_eigs(x: Any, name: str) -> tuple[np.ndarray, float]:
    arr = _to_numpy(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of eigenvalues, got shape {arr.shape}")
    eps = _working_eps(x.dtype if _is_tensor(x) else arr.dtype)
    return arr.astype(np.complex128), eps


def _match_sorted(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ia = np.lexsort((a.imag, a.real))
    ib = np.lexsort((b.imag, b.real))
    perm = np.empty(a.size, dtype=np.intp)
    perm[ia] = ib
    return perm, np.abs(a - b[perm])


def _match_dense(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cost = np.hypot(a.real[:, None] - b.real[None, :], a.imag[:, None] - b.imag[None, :])
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(a.size, dtype=np.intp)
    perm[rows] = cols
    return perm, cost[rows, cols][np.argsort(rows)]


def _match_sparse(a: np.ndarray, b: np.ndarray, radius: float):
    """Matching within ``radius`` for large sets (KD-tree + sparse bipartite matching).

    Returns ``(perm, distances, lower_bound)``; perm is None if no full matching exists, and
    then ``lower_bound`` (largest nearest-neighbour distance) bounds every matching's error.
    """
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching
    from scipy.spatial import cKDTree

    pa, pb = np.column_stack([a.real, a.imag]), np.column_stack([b.real, b.imag])
    ta, tb = cKDTree(pa), cKDTree(pb)
    lower = max(float(tb.query(pa)[0].max()), float(ta.query(pb)[0].max()))
    if lower > radius:
        return None, None, lower
    dist = ta.sparse_distance_matrix(tb, radius, output_type="coo_matrix").tocsr()
    dist.data += np.finfo(float).tiny + radius * 1e-12  # keep exact matches as stored entries
    try:
        rows, cols = min_weight_full_bipartite_matching(dist)
    except ValueError:
        return None, None, max(lower, radius)
    perm = np.empty(a.size, dtype=np.intp)
    perm[rows] = cols
    return perm, np.abs(a - b[perm]), lower


def _default_eig_tol(scale: float, n: int, eps: float) -> float:
    """``max|lambda| * eps * max(N, 16 sqrt(N))``: N eps, floored for small N (see Notes)."""
    return float(scale * eps * max(n, 16.0 * math.sqrt(n)))


def eigenvalues_match(
    computed: Any,
    expected: Any,
    *,
    tol: float | None = None,
    raise_on_fail: bool = False,
) -> EigenvalueMatchResult:
    """Compare two sets of eigenvalues as multisets (never position by position).

    Eigenvalue solvers return eigenvalues in no particular order (``np.linalg.eigvals`` and the
    FFT of a stencil order them differently), so the two sets are matched one-to-one by an
    optimal assignment on the distances ``|a_i - b_j|``
    (``scipy.optimize.linear_sum_assignment``); the error is the largest matched distance.

    Parameters
    ----------
    computed, expected : 1-D numpy arrays or torch tensors (real or complex)
    tol : float, optional
        At most ``MAX_TOL * max|lambda|``. Default ``max|lambda| * eps * max(N, 16 sqrt(N))`` with
        ``max|lambda|`` over both sets, ``N`` the number of eigenvalues and ``eps`` the machine
        epsilon of the lower precision of the two inputs (float32/complex64 -> 2^-23,
        float64/complex128 -> 2^-52). For N >= 256 this is the usual ``max|lambda| * N * eps``; see
        Notes for the small-N floor.
    raise_on_fail : bool, optional
        Raise ``AssertionError`` on failure.

    Returns
    -------
    EigenvalueMatchResult
        ``passed``, ``error``, ``tol``, ``n``, ``permutation`` (``computed[i]`` matches
        ``expected[permutation[i]]``), ``reason``, ``table()``. Different lengths or
        non-finite values give ``passed=False`` with a ``reason``.

    Raises
    ------
    TypeError
        float16/bfloat16 inputs (see the module's precision policy).
    ValueError
        If an input is not 1-D or is empty, if ``tol`` is negative, NaN or above
        ``MAX_TOL * max|lambda|``, or if the default tolerance would be (float32 beyond
        N ~ 8e5 eigenvalues).

    Notes
    -----
    Why the floor: ``np.linalg.eigvals`` of an exactly circulant n x n matrix already differs
    from ``np.fft.fft`` of its first column by up to ~5 sqrt(N) eps max|lambda| (measured over
    300 random stencils per size: 6.1 at N=3, 13 at N=8, 36 at N=64), which exceeds ``N eps``
    for N below ~30 and made the plain formula reject correct answers in ~20% of small cases.

    A cheap lexicographic sort is tried first; if it already matches within ``tol`` it is
    accepted (the reported error is then that matching's). Otherwise the optimal assignment is
    computed: dense for ``N <= 4096``, else on the sparse graph of pairs closer than ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([1.0, -2.0, 0.5])                  # first column of a circulant matrix
    >>> K = np.stack([np.roll(c, k) for k in range(3)], axis=1)
    >>> eigenvalues_match(np.linalg.eigvals(K), np.fft.fft(c)).passed
    True
    """
    a, eps_a = _as_1d_eigs(computed, "computed")
    b, eps_b = _as_1d_eigs(expected, "expected")
    eps = max(eps_a, eps_b)
    n = a.size
    if a.size == 0 or b.size == 0:
        raise ValueError(
            f"computed ({a.size}) and expected ({b.size}) must not be empty: nothing to compare"
        )
    tol = None if tol is None else as_real_number(tol, "tol")
    empty = np.zeros(0, dtype=np.intp)

    def fail(reason: str, error: float, tol_f: float) -> EigenvalueMatchResult:
        return EigenvalueMatchResult(
            False, error, tol_f, n, empty, reason, np.zeros(0), computed=a, expected=b
        )

    if a.size != b.size:
        res = fail(
            f"different numbers of eigenvalues: {a.size} computed vs {b.size} expected",
            math.inf,
            math.nan if tol is None else float(tol),
        )
    elif not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        res = fail("an input contains NaN or inf", math.inf, math.nan if tol is None else tol)
    else:
        scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
        if tol is None:
            tol_f = _default_eig_tol(scale, n, eps)
            if tol_f > MAX_TOL * scale:
                raise ValueError(
                    f"{n} eigenvalues in this precision (eps = {eps:.1e}) give a default "
                    f"tolerance of {tol_f / scale:.2g} max|lambda|, above {MAX_TOL:g}: a wrong "
                    "spectrum could pass; compare in float64 or pass tol="
                )
        else:
            tol_f = _as_tol(tol, limit=MAX_TOL * scale)
        perm, dist = _match_sorted(a, b)
        if dist.size and dist.max() > tol_f:
            if n <= _DENSE_ASSIGNMENT_MAX:
                perm, dist = _match_dense(a, b)
            else:
                perm, dist, lower = _match_sparse(a, b, tol_f)
                if perm is None:
                    res = fail(
                        f"no one-to-one matching within tol {tol_f:.2g}; the best matching's "
                        f"largest distance is >= {lower:.2g} (n={n})",
                        lower,
                        tol_f,
                    )
                    if raise_on_fail:
                        res.raise_if_failed()
                    return res
        error = float(dist.max(initial=0.0))
        passed = error <= tol_f
        reason = "" if passed else f"max matched distance {error:.2g} > tol {tol_f:.2g} (n={n})"
        res = EigenvalueMatchResult(passed, error, tol_f, n, perm, reason, dist, a, b)
    if raise_on_fail:
        res.raise_if_failed()
    return res
