"""Checks that can fail: adjoint (dot) test, Taylor test, Jacobian-transpose test, eigenvalues.

One API for numpy callables, scipy ``LinearOperator``s / sparse matrices / dense arrays, and
torch callables. Every check returns a frozen result record (``passed``, the measured error, the
tolerance it was compared with, a readable ``table()``) and raises ``AssertionError`` on request
(``raise_on_fail=True`` or ``result.raise_if_failed()``).

Conventions
-----------
* **Inner product.** ``<a, b> = sum(conj(a) * b)`` over all entries (Hermitian, conjugate-linear in
  the first argument, like ``np.vdot``). For complex operators the adjoint is ``A^H``, and the
  whole complex number ``<A u, v> - <u, A^H v>`` is tested, imaginary part included.
* **Normalised dot test.** ``error = |<A u, v> - <u, A^H v>| / max(||A u|| ||v||, ||u|| ||A^H v||)``
  (Cauchy-Schwarz bounds both inner products by the denominator, so the error is a relative
  error of the *computation*, not of a possibly tiny ``<A u, v>``). Inner products and norms are
  accumulated in float64/complex128 whatever the working dtype, so the check measures the
  operator's rounding, not its own.
* **Two probes per trial.** Each trial draws a random ``u`` and tests two ``v``: a random one
  (catches any wrong adjoint, but shrinks a scale error by about ``sqrt(N)``: the terms of
  ``<A u, v>`` have random signs) and ``v = A u`` as computed (then ``<A u, v> = ||A u||^2`` and
  ``<u, A^H A u>`` are sums that do not cancel, so an adjoint scaled by ``1 + d`` shows an error
  of order ``d`` at any N: 0.05 % is caught in float32 at N = 1e6).
* **Precision policy.** The operator is evaluated in its own dtype; the check's arithmetic
  (inner products, norms, differences) is done in float64/complex128, so the verdict measures
  the operator's rounding, not the check's. Tolerances come from the operator's dtype: ``eps`` is
  the machine epsilon of the working precision (complex64 -> float32 eps, complex128 -> float64
  eps; torch dtypes too; integer and bool inputs are computed with in float64). The adjoint-test
  default is ``tol = 100 * eps * log2(N + 1)`` with ``N = max(n_in, n_out)``.
  **No tolerance may be so large that a wrong answer cannot fail**: float16 and bfloat16 are
  refused with a ``TypeError`` (their eps, ~1e-3 and ~8e-3, makes every dtype-derived tolerance
  0.1 to 1, the size of a plainly wrong adjoint or Jacobian: evaluate in float32 or float64), a
  tolerance above ``MAX_TOL`` (given, or the default of a too-large eigenvalue set) is refused
  with a ``ValueError``, and so are inputs with nothing to test (empty shapes, a zero direction).
* **Randomness is explicit**: random vectors come from ``np.random.default_rng(seed)``; torch
  vectors are drawn with numpy and then converted, so a seed gives the same vectors on every
  device. No global random state is touched.
* **Vectorisation.** Callables receive and return arrays of their natural shape (``in_shape``,
  ``out_shape``); matrices, sparse matrices and ``LinearOperator``s act on flat vectors.

Examples
--------
>>> import numpy as np
>>> from convlab.checks import adjoint_test
>>> A = np.random.default_rng(1).standard_normal((5, 3))
>>> adjoint_test(A).passed
True
>>> adjoint_test(lambda x: A @ x, lambda y: 1.0005 * A.T @ y, in_shape=(3,)).passed
False
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.linalg import LinearOperator

from convlab._validate import as_real_number, as_shape

__all__ = [
    "AdjointTestResult",
    "EigenvalueMatchResult",
    "TaylorTestResult",
    "adjoint_test",
    "eigenvalues_match",
    "jacobian_transpose_test",
    "taylor_test",
]

#: Largest tolerance a check accepts (given, or a default derived from the dtype): above it a
#: plainly wrong answer (an adjoint off by 10 %, eigenvalues off by 10 % of the largest) could
#: pass. Relative to the Cauchy-Schwarz bound for the dot tests, to ``max|lambda|`` for the
#: eigenvalues.
MAX_TOL = 0.1
#: Safety factor in the adjoint-test tolerance ``ADJOINT_TOL_FACTOR * eps * log2(N + 1)``.
ADJOINT_TOL_FACTOR = 100.0
#: Taylor test: E1 below ``TAYLOR_ROUNDING_FACTOR * eps * scale`` counts as rounding noise.
TAYLOR_ROUNDING_FACTOR = 100.0
#: Taylor test: smallest acceptable observed order of E1 in the asymptotic range.
TAYLOR_MIN_ORDER = 1.8
#: Taylor test: E0 must have order within this band (first-order change) where J v != 0.
TAYLOR_E0_ORDER_BAND = (0.8, 1.2)
#: Taylor test: steps count as resolved only where E1 exceeds this multiple of the median E1
#: at the five smallest h (the empirical noise level).
TAYLOR_NOISE_FACTOR = 64.0
#: Taylor test: number of consecutive asymptotic steps that must show order >= TAYLOR_MIN_ORDER.
TAYLOR_N_SUCCESS = 3
#: Taylor test: the noise level is the median E1 over this many smallest evaluated h.
TAYLOR_NOISE_STEPS = 5

# Eigenvalue sets up to this size are matched with a dense assignment (O(n^2) memory).
_DENSE_ASSIGNMENT_MAX = 4096

# torch dtype name -> numpy dtype (bfloat16 has no numpy twin: handled separately).
_TORCH_TO_NUMPY = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "complex64": np.complex64,
    "complex128": np.complex128,
}


# --------------------------------------------------------------------------------------------
# dtype / backend helpers (shared by every check)
# --------------------------------------------------------------------------------------------


def _torch():
    """Return the torch module if it is already imported, else None (never imports torch)."""
    return sys.modules.get("torch")


def _is_torch_dtype(dtype: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(dtype, torch.dtype)


def _is_tensor(x: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def _torch_dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _numpy_dtype(dtype: Any) -> np.dtype:
    """Numpy dtype used to draw random numbers for ``dtype`` (numpy, str or torch dtype).

    Raises ``TypeError`` for dtypes that are neither floating nor complex.
    """
    if _is_torch_dtype(dtype):
        name = _torch_dtype_name(dtype)
        if name == "bfloat16":
            return np.dtype(np.float32)  # drawn in float32, rounded by the conversion
        if name not in _TORCH_TO_NUMPY:
            raise TypeError(f"dtype must be a floating or complex dtype, got {dtype}")
        return np.dtype(_TORCH_TO_NUMPY[name])
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy or torch dtype, got {dtype!r}") from exc
    if dt.kind not in "fc":
        raise TypeError(f"dtype must be a floating or complex dtype, got {dt}")
    return dt


def _eps(dtype: Any) -> float:
    """Machine epsilon of the (real) precision of ``dtype``: numpy, str or torch dtypes.

    complex64 -> float32 eps, complex128 -> float64 eps; integer and bool dtypes are exact
    inputs that are computed with in float64, so they get float64 eps.

    >>> _eps(np.float32) == 2.0**-23, _eps("complex128") == 2.0**-52
    (True, True)
    """
    if _is_torch_dtype(dtype):
        torch = _torch()
        if dtype.is_floating_point or dtype.is_complex:
            return float(torch.finfo(dtype).eps)
        return float(np.finfo(np.float64).eps)
    dt = np.dtype(dtype)
    if dt.kind in "fc":
        return float(np.finfo(dt).eps)
    return float(np.finfo(np.float64).eps)


def _working_eps(dtype: Any) -> float:
    """:func:`_eps` of a dtype a check can give a verdict in; float16/bfloat16 are refused.

    >>> _working_eps(np.float16)
    Traceback (most recent call last):
    ...
    TypeError: dtype float16 is too coarse for a verdict (eps = 9.8e-04: ...
    """
    eps = _eps(dtype)
    if eps > _eps(np.float32):
        raise TypeError(
            f"dtype {_dtype_name(dtype)} is too coarse for a verdict (eps = {eps:.1e}: every "
            "tolerance derived from it is 0.1 to 1, as large as the errors the checks must "
            "catch); evaluate the operator in float32 or float64"
        )
    return eps


def _as_tol(tol: Any, name: str = "tol", *, limit: float = MAX_TOL) -> float:
    """A user tolerance: a finite real in ``[0, limit]`` (larger would pass wrong answers)."""
    t = as_real_number(tol, name)
    if t > limit:
        raise ValueError(
            f"{name} = {t:g} is above {limit:g}: a wrong answer could pass such a tolerance"
        )
    return t


def _dtype_name(dtype: Any) -> str:
    if _is_torch_dtype(dtype):
        return str(dtype)
    return np.dtype(dtype).name


def _complex_of(dt: np.dtype) -> np.dtype:
    """Complex dtype with the precision of the real/complex dtype ``dt``."""
    return np.result_type(dt, np.complex64)


def _to_numpy(x: Any, what: str) -> np.ndarray:
    """Array ``x`` (numpy, torch on any device, sparse, scalar) as a numpy array."""
    if _is_tensor(x):
        t = x.detach()
        if t.is_conj():
            t = t.resolve_conj()
        if t.is_neg():
            t = t.resolve_neg()
        if t.dtype == _torch().bfloat16:
            t = t.float()
        return t.cpu().numpy()
    if sp.issparse(x):
        return x.toarray()
    if isinstance(x, np.ndarray | np.generic | int | float | complex):
        return np.asarray(x)
    if isinstance(x, list | tuple):
        return np.asarray(x)
    raise TypeError(f"{what} must be a numpy array or torch tensor, got {type(x).__name__}")


def _wide(x: np.ndarray) -> np.ndarray:
    """Flattened float64 / complex128 copy used to accumulate inner products and norms."""
    x = np.asarray(x).ravel()
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64, copy=False)


def _randn(rng: np.random.Generator, shape: tuple[int, ...], dt: np.dtype) -> np.ndarray:
    """Standard normal array; complex entries have E|z|^2 = 1 (real and imag each var 1/2)."""
    if dt.kind == "c":
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return (z / math.sqrt(2.0)).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def _to_backend(x: np.ndarray, *, torch_dtype: Any = None, device: Any = None) -> Any:
    """numpy -> torch tensor (if torch_dtype is given) on ``device``; else unchanged."""
    if torch_dtype is None:
        return x
    torch = _torch()
    dt = torch_dtype
    if np.iscomplexobj(x) and not torch_dtype.is_complex:
        dt = torch.complex64 if torch_dtype in (torch.float16, torch.float32) else torch.complex128
    return torch.from_numpy(np.ascontiguousarray(x)).to(device=device or "cpu", dtype=dt)


def _is_matrix_like(obj: Any) -> bool:
    return isinstance(obj, np.ndarray | LinearOperator) or sp.issparse(obj)


def _matrix_apply(obj: Any, name: str) -> Callable[[Any], Any]:
    """Function applying the matrix-like ``obj`` (ndarray, sparse, LinearOperator) to a vector."""
    if isinstance(obj, LinearOperator):
        return obj.matvec
    if isinstance(obj, np.ndarray) and obj.ndim != 2:
        raise ValueError(f"{name} as an array must be 2-D (a matrix), got ndim={obj.ndim}")
    return lambda x: obj @ x


def _as_apply(obj: Any, name: str) -> Callable[[Any], Any]:
    if _is_matrix_like(obj):
        return _matrix_apply(obj, name)
    if callable(obj):
        return obj
    raise TypeError(
        f"{name} must be a 2-D ndarray, a scipy sparse matrix/array, a LinearOperator or a "
        f"callable, got {type(obj).__name__}"
    )


class _CheckResult:
    """Shared behaviour of the result records (fields are defined by the subclasses)."""

    passed: bool

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def table(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def __bool__(self) -> bool:
        return bool(self.passed)

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` with the summary and table if the check failed."""
        if not self.passed:
            raise AssertionError(f"{self.summary()}\n{self.table()}")


# --------------------------------------------------------------------------------------------
# adjoint (dot) test
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AdjointTestResult(_CheckResult):
    """Outcome of :func:`adjoint_test` / :func:`jacobian_transpose_test`.

    Attributes
    ----------
    passed : bool
        ``error <= tol``.
    error : float
        Largest normalised error over the trials.
    tol : float
        Tolerance the error was compared with.
    errors : tuple of float
        Normalised error of each probe (two per trial: see ``probes``).
    dtype : str
        Working dtype of the random vectors (e.g. ``"float64"``, ``"torch.float32"``).
    n_trials : int
        Number of random ``u``; each is tested with two ``v``.
    in_shape, out_shape : tuple of int
        Shapes of u and of ``A u``.
    lhs, rhs : tuple
        ``<A u, v>`` and ``<u, A^H v>`` of each probe.
    label : str
        Name of the check used in messages.
    probes : tuple of str
        Which ``v`` each entry of ``errors``/``lhs``/``rhs`` used: ``"random"`` or ``"v = A u"``.
    """

    passed: bool
    error: float
    tol: float
    errors: tuple[float, ...]
    dtype: str
    n_trials: int
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    lhs: tuple[complex, ...] = ()
    rhs: tuple[complex, ...] = ()
    label: str = "adjoint test"
    probes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: passed/failed, max relative error, tolerance, trials and dtype."""
        verdict = "passed" if self.passed else "FAILED"
        rel = "<=" if self.passed else ">"
        return (
            f"{self.label} {verdict}: max relative error {self.error:.2g} {rel} tol "
            f"{self.tol:.2g} ({self.n_trials} trials, {self.dtype})"
        )

    def table(self) -> str:
        """Per-trial table of the two inner products and the normalised error."""
        lines = [
            f"{'trial':>5}  {'v':>7}  {'<A u, v>':>26}  {'<u, A^H v>':>26}  {'rel. error':>10}"
        ]
        probes = self.probes or ("random",) * len(self.errors)
        per_trial = max(1, len(self.errors) // max(1, self.n_trials))
        for i, (p, a, b, e) in enumerate(zip(probes, self.lhs, self.rhs, self.errors)):
            lines.append(
                f"{i // per_trial:>5}  {p:>7}  {_fmt_num(a):>26}  {_fmt_num(b):>26}  {e:>10.2e}"
            )
        return "\n".join(lines)


def _fmt_num(z: complex) -> str:
    z = complex(z)
    if z.imag == 0:
        return f"{z.real:.10g}"
    return f"{z.real:.6g}{z.imag:+.6g}j"


def _default_adjoint_tol(eps: float, n: int) -> float:
    return ADJOINT_TOL_FACTOR * eps * math.log2(n + 1)


def _normalised_error(Au, v, u, AHv) -> tuple[complex, complex, float]:
    """``<A u, v>``, ``<u, A^H v>`` and their difference over the Cauchy-Schwarz bound.

    Accumulated in float64/complex128 (:func:`_wide`) whatever the working dtype.
    """
    Au, v, u, AHv = _wide(Au), _wide(v), _wide(u), _wide(AHv)
    a = np.vdot(Au, v)  # <A u, v> = sum(conj(A u) * v)
    b = np.vdot(u, AHv)  # <u, A^H v>
    denom = max(np.linalg.norm(Au) * np.linalg.norm(v), np.linalg.norm(u) * np.linalg.norm(AHv))
    diff = abs(a - b)
    if not np.isfinite(diff) or not np.isfinite(denom):
        err = math.inf
    elif denom == 0.0:
        err = 0.0 if diff == 0.0 else math.inf
    else:
        err = float(diff / denom)
    is_real = not (np.iscomplexobj(a) or np.iscomplexobj(b))
    return (
        (float(a.real) if is_real else complex(a)),
        (float(b.real) if is_real else complex(b)),
        err,
    )


def _dot_test_core(
    fwd: Callable[[Any], Any],
    adj: Callable[[Any], Any],
    *,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...] | None,
    dtype: Any,
    device: Any,
    seed: int | np.random.Generator | None,
    n_trials: int,
    tol: float | None,
    label: str,
    fwd_name: str,
    adj_name: str,
) -> AdjointTestResult:
    """Normalised dot test of ``fwd`` against ``adj`` (shared by adjoint / Jacobian tests).

    Each trial draws one ``u`` and tests two ``v``: a random one and ``v = A u`` (see the
    module's conventions), so ``fwd`` is called ``n_trials`` times and ``adj`` twice as often.
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    tol_given = None if tol is None else _as_tol(tol)
    torch_dtype = dtype if _is_torch_dtype(dtype) else None
    if device is not None and torch_dtype is None:
        raise ValueError("device= is only meaningful for torch callables (pass a torch dtype)")
    np_dt = _numpy_dtype(dtype)
    eps = _working_eps(dtype)
    for name, sh in (("in_shape", in_shape), ("out_shape", out_shape)):
        if sh is not None and math.prod(sh) == 0:
            raise ValueError(f"{name} {sh} has no entries: nothing to test")
    rng = np.random.default_rng(seed)
    errors, lhs, rhs, probes = [], [], [], []
    for _ in range(int(n_trials)):
        u_np = _randn(rng, in_shape, np_dt)
        y = fwd(_to_backend(u_np, torch_dtype=torch_dtype, device=device))
        y_np = _to_numpy(y, f"{fwd_name} output")
        if out_shape is None:
            out_shape = tuple(y_np.shape)
            if y_np.size == 0:
                raise ValueError(f"{fwd_name} output is empty: nothing to test")
        elif tuple(y_np.shape) != out_shape:
            raise ValueError(
                f"{fwd_name} output has shape {tuple(y_np.shape)}, expected out_shape {out_shape}"
            )
        # v lives in the output space: complex if the output is complex (e.g. an FFT).
        v_dt = _complex_of(np_dt) if np.iscomplexobj(y_np) else np_dt
        if y_np.dtype.kind in "fc":
            eps = max(eps, _working_eps(y_np.dtype))
        for probe, v_np in (
            ("random", _randn(rng, out_shape, v_dt)),
            ("v = A u", y_np.astype(v_dt)),
        ):
            x = adj(_to_backend(v_np, torch_dtype=torch_dtype, device=device))
            x_np = _to_numpy(x, f"{adj_name} output")
            if tuple(x_np.shape) != in_shape:
                raise ValueError(
                    f"{adj_name} output has shape {tuple(x_np.shape)}, expected in_shape "
                    f"{in_shape} (the adjoint must map out_shape {out_shape} back to in_shape)"
                )
            a, b, err = _normalised_error(y_np, v_np, u_np, x_np)
            errors.append(err)
            lhs.append(a)
            rhs.append(b)
            probes.append(probe)
    assert out_shape is not None
    n = max(math.prod(in_shape), math.prod(out_shape))
    tol_f = _default_adjoint_tol(eps, n) if tol_given is None else tol_given
    error = max(errors)
    return AdjointTestResult(
        passed=bool(error <= tol_f),
        error=error,
        tol=tol_f,
        errors=tuple(errors),
        dtype=_dtype_name(dtype),
        n_trials=int(n_trials),
        in_shape=in_shape,
        out_shape=out_shape,
        lhs=tuple(lhs),
        rhs=tuple(rhs),
        label=label,
        probes=tuple(probes),
    )


def adjoint_test(
    forward: Any,
    adjoint: Any = None,
    *,
    in_shape: int | Sequence[int] | None = None,
    out_shape: int | Sequence[int] | None = None,
    dtype: Any = None,
    seed: int | np.random.Generator | None = 0,
    n_trials: int = 3,
    tol: float | None = None,
    raise_on_fail: bool = False,
    device: Any = None,
) -> AdjointTestResult:
    """Normalised dot test: is ``adjoint`` the adjoint ``A^H`` of ``forward``?

    For random ``u`` (shape ``in_shape``) and two ``v`` (shape ``out_shape``: a random one and
    ``v = A u``) it measures::

        error = |<A u, v> - <u, A^H v>| / max(||A u|| ||v||, ||u|| ||A^H v||)

    with the Hermitian inner product ``<a, b> = sum(conj(a) * b)`` (so for complex operators
    the adjoint is the conjugate transpose and imaginary parts are tested too), and passes when
    the largest error over the ``2 * n_trials`` probes is ``<= tol``.

    Parameters
    ----------
    forward : ndarray, sparse matrix/array, LinearOperator or callable
        The operator ``A``. A 2-D ndarray or scipy sparse matrix acts by ``A @ u`` on flat
        vectors; a ``LinearOperator`` by ``matvec``. A callable maps an array of shape
        ``in_shape`` to an array (numpy, or torch when ``dtype`` is a torch dtype).
    adjoint : same kinds as ``forward``, optional
        The claimed adjoint ``A^H``. Defaults to ``A.conj().T`` for arrays and sparse matrices
        and to ``rmatvec`` (i.e. ``.H``) for a ``LinearOperator``; required for a callable.
    in_shape : int or tuple of int, optional
        Shape of ``u``. Required for a callable; taken from ``.shape`` for matrix-likes.
    out_shape : int or tuple of int, optional
        Shape of ``A u``; inferred from the first call of ``forward`` when omitted, and checked
        when given.
    dtype : numpy dtype, str or torch dtype, optional
        Working dtype of ``u`` and ``v`` (float32/float64/complex64/complex128). A torch dtype
        makes the random vectors torch tensors (on ``device``) for torch callables. Defaults to
        the operator's dtype (float64 for integer matrices and for callables). If ``forward``
        returns complex output from real input, ``v`` is complex of the same precision.
    seed : int or numpy Generator, optional
        Seed of ``np.random.default_rng`` that draws ``u`` and ``v`` (torch: drawn with numpy,
        then converted, so results do not depend on the device).
    n_trials : int, optional
        Number of random ``u`` (each tested with both ``v``); the reported error is the largest.
    tol : float, optional
        Tolerance in ``[0, MAX_TOL]``. Default ``100 * eps * log2(N + 1)``, ``eps`` the machine
        epsilon of the working dtype and ``N = max(n_in, n_out)``. Rounding in an exact adjoint
        pair grows at most like ``eps * log2(N)`` for pairwise/FFT-style sums, while an adjoint
        scaled by ``1 + d`` gives an error of order ``d`` on the ``v = A u`` probe (and another
        wrong adjoint an error of order 1/sqrt(N) times its relative defect on the random
        probe): this tolerance passes exact float32 pairs at N = 1e6 (tol ~ 2.4e-4) and rejects
        an adjoint scaled by 1.0005 there (``benchmarks/bench_adjoint_sensitivity.py``).
    raise_on_fail : bool, optional
        Raise ``AssertionError`` (via :meth:`AdjointTestResult.raise_if_failed`) on failure.
    device : str or torch.device, optional
        Device of the torch random vectors (default ``"cpu"``); torch dtypes only.

    Returns
    -------
    AdjointTestResult
        ``passed``, ``error``, ``tol``, ``errors``, ``dtype``, ``n_trials``, ``table()``.

    Raises
    ------
    TypeError
        ``forward``/``adjoint`` of an unsupported type, missing ``adjoint`` or ``in_shape`` for a
        callable, non-floating or float16/bfloat16 ``dtype`` (or output), shapes that are not
        ints, or a torch dtype with a matrix-like ``forward``.
    ValueError
        Output shapes that differ from ``out_shape``/``in_shape`` (never silently broadcast),
        shapes inconsistent with a matrix, empty shapes or outputs (nothing to test),
        ``n_trials < 1``, ``tol`` negative, NaN, inf or above ``MAX_TOL``.

    Examples
    --------
    >>> import numpy as np
    >>> n = 8
    >>> fft = lambda x: np.fft.fft(x)             # norm="backward": adjoint is n * ifft
    >>> r = adjoint_test(fft, lambda y: n * np.fft.ifft(y), in_shape=(n,), dtype=np.complex128)
    >>> r.passed
    True
    >>> adjoint_test(fft, np.fft.ifft, in_shape=(n,), dtype=np.complex128).passed
    False
    """
    if forward is None:
        raise TypeError("forward must be an operator or a callable, got None")
    if _is_matrix_like(forward):
        if _is_torch_dtype(dtype):
            raise TypeError(
                "a torch dtype needs a callable forward that accepts tensors; "
                f"got {type(forward).__name__} (use a numpy dtype for matrices/LinearOperators)"
            )
        if isinstance(forward, np.ndarray) and forward.ndim != 2:
            raise ValueError(f"forward as an array must be 2-D, got ndim={forward.ndim}")
        m, n = (int(s) for s in forward.shape)
        for name, given, expect in (("in_shape", in_shape, n), ("out_shape", out_shape, m)):
            if given is not None and math.prod(as_shape(given, name)) != expect:
                raise ValueError(
                    f"{name}={given!r} does not match the operator shape {forward.shape} "
                    "(matrices act on flat vectors)"
                )
        in_sh, out_sh = (n,), (m,)
        fwd = _matrix_apply(forward, "forward")
        if adjoint is None:
            if isinstance(forward, LinearOperator):
                adj = forward.rmatvec
            else:
                AH = forward.conj().T
                adj = lambda y: AH @ y  # noqa: E731
        else:
            adj = _as_apply(adjoint, "adjoint")
        if dtype is None:
            op_dt = np.dtype(forward.dtype) if forward.dtype is not None else np.dtype(float)
            dtype = op_dt if op_dt.kind in "fc" else np.dtype(np.float64)
    elif callable(forward):
        if adjoint is None:
            raise TypeError("adjoint is required when forward is a callable")
        if in_shape is None:
            raise TypeError("in_shape is required when forward is a callable")
        fwd = forward
        adj = _as_apply(adjoint, "adjoint")
        in_sh = as_shape(in_shape, "in_shape")
        out_sh = None if out_shape is None else as_shape(out_shape, "out_shape")
        if dtype is None:
            dtype = np.dtype(np.float64)
    else:
        raise TypeError(
            "forward must be a 2-D ndarray, a scipy sparse matrix/array, a LinearOperator or a "
            f"callable, got {type(forward).__name__}"
        )
    try:
        result = _dot_test_core(
            fwd,
            adj,
            in_shape=in_sh,
            out_shape=out_sh,
            dtype=dtype,
            device=device,
            seed=seed,
            n_trials=n_trials,
            tol=tol,
            label="adjoint test",
            fwd_name="forward",
            adj_name="adjoint",
        )
    except NotImplementedError as exc:  # LinearOperator without rmatvec
        raise TypeError(
            "the LinearOperator defines no rmatvec/adjoint; pass adjoint= explicitly"
        ) from exc
    if raise_on_fail:
        result.raise_if_failed()
    return result


def jacobian_transpose_test(
    jvp: Callable[[Any], Any],
    vjp: Callable[[Any], Any],
    *,
    in_shape: int | Sequence[int],
    out_shape: int | Sequence[int] | None = None,
    dtype: Any = None,
    seed: int | np.random.Generator | None = 0,
    tol: float | None = None,
    raise_on_fail: bool = False,
    n_trials: int = 3,
    device: Any = None,
) -> AdjointTestResult:
    """Check ``<w, J v> = <J^H w, v>``: is ``vjp`` the transpose (adjoint) of ``jvp``?

    The same normalised dot test, tolerance and result record as :func:`adjoint_test` (it
    runs the same core), with ``forward = jvp`` and ``adjoint = vjp`` at a fixed point.
    Pair it with ``torch.autograd.gradcheck``: gradcheck accepts a backward that is 0.05 %
    wrong (scaled by 1.0005), this test rejects it in float64.

    Parameters
    ----------
    jvp : callable
        ``v -> J v`` (Jacobian-vector product at the point of interest), ``v`` of ``in_shape``.
    vjp : callable
        ``w -> J^H w`` (vector-Jacobian product, i.e. backprop of ``w``), ``w`` of ``out_shape``.
    in_shape, out_shape, dtype, seed, tol, raise_on_fail, n_trials, device
        As in :func:`adjoint_test`.

    Returns
    -------
    AdjointTestResult
        With ``label == "Jacobian-transpose test"``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.random.default_rng(0).standard_normal((4, 3))
    >>> x0 = np.ones(3)
    >>> d = 1 - np.tanh(A @ x0) ** 2               # f(x) = tanh(A x): J = diag(d) A
    >>> jacobian_transpose_test(lambda v: d * (A @ v), lambda w: A.T @ (d * w), in_shape=3).passed
    True
    """
    if not callable(jvp) or _is_matrix_like(jvp):
        raise TypeError(f"jvp must be a callable v -> J v, got {type(jvp).__name__}")
    if not callable(vjp) or _is_matrix_like(vjp):
        raise TypeError(f"vjp must be a callable w -> J^H w, got {type(vjp).__name__}")
    result = _dot_test_core(
        jvp,
        vjp,
        in_shape=as_shape(in_shape, "in_shape"),
        out_shape=None if out_shape is None else as_shape(out_shape, "out_shape"),
        dtype=np.dtype(np.float64) if dtype is None else dtype,
        device=device,
        seed=seed,
        n_trials=n_trials,
        tol=tol,
        label="Jacobian-transpose test",
        fwd_name="jvp",
        adj_name="vjp",
    )
    if raise_on_fail:
        result.raise_if_failed()
    return result


# --------------------------------------------------------------------------------------------
# eigenvalues as multisets
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Taylor (derivative) test
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TaylorTestResult(_CheckResult):
    """Outcome of :func:`taylor_test`.

    Attributes
    ----------
    passed : bool
    hs : tuple of float
        Step sizes ``h = 2^-k`` evaluated (decreasing).
    E0, E1 : tuple of float
        ``||f(x0 + h v) - f(x0)||`` and ``||f(x0 + h v) - f(x0) - h J v||`` for each h.
    order0, order1 : tuple of float
        Observed orders ``log(E(h_k) / E(h_k+1)) / log(h_k / h_k+1)`` (length ``len(hs) - 1``).
    floor : tuple of float
        Rounding level below which E1 is noise, for each h.
    asymptotic : tuple of int
        Indices (into ``order1``) of the steps the verdict is based on.
    dtype : str
    reason : str
        The verdict in words.
    skipped : tuple of float
        Step sizes of the window not evaluated because the verdict was settled without them
        (``early_stop``): they lie between the last top step and the noise sample in ``hs``,
        and their order is then measured across the gap. Empty when every h was evaluated.
    """

    passed: bool
    hs: tuple[float, ...]
    E0: tuple[float, ...]
    E1: tuple[float, ...]
    order0: tuple[float, ...]
    order1: tuple[float, ...]
    floor: tuple[float, ...]
    asymptotic: tuple[int, ...]
    dtype: str
    reason: str
    skipped: tuple[float, ...] = ()

    def summary(self) -> str:
        """One line: verdict and reason."""
        verdict = "passed" if self.passed else "FAILED"
        return f"Taylor test {verdict} ({self.dtype}): {self.reason}"

    def table(self) -> str:
        """Columns h, E0, E1, order0, order1 ('*' marks the steps the verdict uses)."""
        lines = [f"{'h':>10}  {'E0':>10}  {'E1':>10}  {'order0':>7}  {'order1':>7}"]
        for k, h in enumerate(self.hs):
            if k == 0:
                o0 = o1 = ""
            else:
                o0 = f"{self.order0[k - 1]:7.3f}"
                o1 = f"{self.order1[k - 1]:7.3f}"
            mark = " *" if (k - 1) in self.asymptotic else ""
            if k > 0 and self.skipped and self.hs[k - 1] > self.skipped[0] > h:
                lines.append(
                    f"{'...':>10}  ({len(self.skipped)} steps h = {self.skipped[0]:.3e} .. "
                    f"{self.skipped[-1]:.3e} skipped: E1 in the noise, verdict settled)"
                )
            lines.append(
                f"{h:>10.3e}  {self.E0[k]:>10.3e}  {self.E1[k]:>10.3e}  {o0:>7}  {o1:>7}{mark}"
            )
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Log-log plot of E0 and E1 against h with reference slopes 1 and 2; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        h, fl = np.asarray(self.hs), np.asarray(self.floor)
        e0, e1 = np.asarray(self.E0), np.asarray(self.E1)
        if self.skipped:  # break the lines where steps were skipped (early stop)
            g = int(np.searchsorted(-h, -self.skipped[0]))
            h, e0, e1, fl = (np.insert(a, g, np.nan) for a in (h, e0, e1, fl))
        ax.loglog(h, e0, "o-", label="E0 = |f(x0+hv) - f(x0)|")
        ax.loglog(h, np.where(e1 > 0, e1, np.nan), "s-", label="E1 = |f(x0+hv) - f(x0) - hJv|")
        for p, e, style in ((1, e0, "k--"), (2, e1, "k:")):
            if e[0] > 0:  # reference lines over the whole range (no gap)
                hr = np.asarray(self.hs)
                ax.loglog(hr, e[0] * (hr / hr[0]) ** p, style, lw=1, label=f"slope {p}")
        ax.loglog(h, fl, color="0.6", lw=1, label="rounding level")
        ax.set_xlabel("h")
        ax.set_ylabel("error")
        ax.set_title("Taylor test: " + ("passed" if self.passed else "FAILED"))
        ax.legend(fontsize="small")
        return ax


def _default_hs(eps: float) -> np.ndarray:
    """h = 2^-k, k = 1..ceil(0.75 log2(1/eps)): past sqrt(eps), where E1 meets rounding."""
    k_max = math.ceil(math.log2(1.0 / eps) * 0.75)
    return 2.0 ** -np.arange(1, k_max + 1)


def _orders(e: np.ndarray, hs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(e[:-1] / e[1:]) / np.log(hs[:-1] / hs[1:])


def _taylor_verdict(
    E0a: np.ndarray,
    E1a: np.ndarray,
    floor_a: np.ndarray,
    o0: np.ndarray,
    o1: np.ndarray,
    noise_factor: float = TAYLOR_NOISE_FACTOR,
) -> tuple[bool, str, tuple[int, ...], str]:
    """The pass rule of :func:`taylor_test` on the evaluated steps.

    Returns ``(passed, reason, asymptotic, kind)``, ``kind`` one of ``"nan"``, ``"linear"``
    (rule 1) and ``"orders"`` (rule 2).
    """
    asym: tuple[int, ...] = ()
    if not np.all(np.isfinite(E1a)):
        passed, reason, kind = False, "f or J v produced NaN/inf", "nan"
    elif np.all(E1a <= floor_a):
        passed, kind = True, "linear"
        reason = "E1 at rounding level for every h (f is linear along v and J v is exact)"
    else:
        # Empirical noise level: median E1 over the five smallest h (rounding noise for a
        # correct J v, which is below E1 ~ h^2 there, or still decreasing E1); 64x it leaves out
        # a few more steps, so the verdict is never read off steps that rounding can distort.
        noise = noise_factor * float(np.median(E1a[-TAYLOR_NOISE_STEPS:]))
        above = E1a > np.maximum(floor_a / TAYLOR_ROUNDING_FACTOR, noise)
        trusted = np.flatnonzero(above[:-1] & above[1:])
        # runs of consecutive trusted steps; the asymptotic range is the last run that is long
        # enough (a lone noise spike at tiny h cannot hide it)
        runs: list[list[int]] = []
        for k in trusted.tolist():
            if runs and k == runs[-1][-1] + 1:
                runs[-1].append(k)
            else:
                runs.append([k])
        long_runs = [r for r in runs if len(r) >= TAYLOR_N_SUCCESS]
        run = long_runs[-1] if long_runs else (runs[-1] if runs else [])
        asym = tuple(run[-TAYLOR_N_SUCCESS:])
        idx = list(asym)
        o1_str = ", ".join(f"{o:.2f}" for o in o1[idx])
        # E0 order is only informative where the linear term dominates (E1 << E0).
        lin = [k for k in idx if E1a[k] <= 0.05 * E0a[k] and E1a[k + 1] <= 0.05 * E0a[k + 1]]
        lo, hi = TAYLOR_E0_ORDER_BAND
        kind = "orders"
        if len(run) < TAYLOR_N_SUCCESS:
            passed = False
            reason = (
                f"only {len(run)} consecutive step(s) with E1 above rounding noise (need "
                f"{TAYLOR_N_SUCCESS}); choose hs or direction so that E1 is resolved"
            )
        elif not np.all(o1[idx] >= TAYLOR_MIN_ORDER):
            passed = False
            reason = (
                f"E1 orders in the asymptotic range are {o1_str} (expected >= "
                f"{TAYLOR_MIN_ORDER}, ideally 2): J v is wrong"
            )
        elif not np.all((o0[lin] >= lo) & (o0[lin] <= hi)):
            passed = False
            reason = (
                f"E1 orders {o1_str} but E0 orders "
                f"{', '.join(f'{o:.2f}' for o in o0[lin])} are not ~1: f is not smooth here"
            )
        else:
            passed = True
            reason = f"E1 order {o1_str} over the last {len(idx)} resolved steps (expect 2)"
    return passed, reason, asym, kind


def _taylor_settled(E0: list[float], E1: list[float], floor: list[float], hs: np.ndarray) -> bool:
    """Early stop of :func:`taylor_test`: can the steps not yet evaluated change the verdict?

    ``E0, E1, floor, hs`` hold the top steps evaluated so far followed by the
    ``TAYLOR_NOISE_STEPS`` smallest h (evaluated first), so the noise level is the one the
    whole window measures. The skipped steps in between are read by the pass rule only if
    their E1 is above the noise threshold; the stop needs the last ``TAYLOR_N_SUCCESS`` top
    steps below it (E1 has fallen into the noise and a one-step dip where ``h J v`` error and
    curvature cancel is not mistaken for it) and the rule to pass by the orders (rule 2).
    Failures, NaN/inf and rule-1 (linear) passes always evaluate the whole window.
    """
    q, p = TAYLOR_NOISE_STEPS, TAYLOR_N_SUCCESS
    m = len(E1) - q  # top steps
    if m < p + 1 + p:
        return False
    E0a, E1a, floor_a = np.array(E0), np.array(E1), np.array(floor)
    if not np.all(np.isfinite(E1a)):
        return False
    noise = TAYLOR_NOISE_FACTOR * float(np.median(E1a[-q:]))
    quiet = E1a[m - p : m] <= np.maximum(floor_a[m - p : m] / TAYLOR_ROUNDING_FACTOR, noise)
    if not np.all(quiet):
        return False
    passed, _, _, kind = _taylor_verdict(E0a, E1a, floor_a, _orders(E0a, hs), _orders(E1a, hs))
    return passed and kind == "orders"


def taylor_test(
    f: Callable[[Any], Any],
    x0: Any,
    *,
    jvp: Callable[[Any, Any], Any] | None = None,
    direction: Any = None,
    dtype: Any = None,
    seed: int | np.random.Generator | None = 0,
    hs: Sequence[float] | None = None,
    raise_on_fail: bool = False,
    early_stop: bool = True,
) -> TaylorTestResult:
    """Derivative (Taylor) test of ``J v`` against ``f`` along a random direction ``v``.

    For ``h = 2^-k`` it computes ``E0(h) = ||f(x0 + h v) - f(x0)||`` (order 1 in h) and
    ``E1(h) = ||f(x0 + h v) - f(x0) - h J v||`` (order 2 if and only if ``J v`` is right) and the
    observed orders ``log2(E(h) / E(h/2))``.

    Pass rule (in the spirit of Meganet's ``checkDerivative`` and pyadjoint's ``taylor_test``,
    made robust to the pre-asymptotic range and to rounding):

    1. If ``E1 <= 100 * eps * (||f(x0)|| + ||f(x0+hv)|| + h ||J v||)`` for every h, f is linear
       along v and ``J v`` is exact: pass.
    2. Otherwise a step ``h -> h/2`` is *resolved* when E1 at both ends exceeds
       ``eps * scale`` and 64x the median E1 of the five smallest h (the measured noise level).
       The asymptotic range is the last run of >= 3 consecutive resolved steps; its last 3
       steps must have E1 order ``>= 1.8`` (2 expected; 3 where the second derivative along v
       vanishes) and, where the linear term dominates (``E1 <= 0.05 E0``), E0 order in
       ``[0.8, 1.2]``.

    A wrong ``J v`` (scaled by 1.01, one wrong sign, ...) shows E1 order 1 in exactly that
    range, even when the large h happen to show order 2 (which fools a "3 successes
    anywhere" rule).

    Cost: one evaluation of ``f`` per h plus ``f(x0)`` and one ``J v`` (for a torch ``f`` with
    the default ``jvp``, ``f(x0)`` comes out of the same forward-mode pass). With
    ``early_stop`` (default) the five smallest h (the noise sample) are evaluated first and
    the rest from the top; once E1 has been below the noise threshold for 3 consecutive
    steps and the rule passes by the orders, the steps in between are skipped: the rule reads
    only steps above that threshold, so the verdict, ``asymptotic`` and ``reason`` are those
    of the whole window (a correct Jacobian in float64 needs ~30 evaluations instead of 40).
    Failures, NaN/inf and linear (rule 1) cases always evaluate every h.

    Parameters
    ----------
    f : callable
        ``x -> f(x)``; numpy or torch arrays (any shape, scalar outputs allowed).
    x0 : ndarray or torch.Tensor
        Point of expansion.
    jvp : callable, optional
        ``(x0, v) -> J v``. Required for numpy ``f``; for torch ``f`` defaults to
        ``torch.func.jvp(f, (x0,), (v,))``.
    direction : array, optional
        ``v`` (finite, not zero); default standard normal entries from
        ``np.random.default_rng(seed)``.
    dtype : numpy or torch dtype, optional
        Working dtype (x0 is cast to it); default ``x0.dtype`` (float64 for integer x0).
        float64 is recommended; float16/bfloat16 are refused (module conventions).
    seed : int or numpy Generator, optional
    hs : sequence of float, optional
        Finite, positive, strictly decreasing step sizes. Default ``2^-k`` for ``k = 1..ceil(0.75 *
        log2(1/eps))`` (float64: 2^-1..2^-39, float32: 2^-1..2^-18). E1 ~ h^2 meets rounding near
        ``sqrt(eps)`` (2^-26, 2^-12); the extra steps below it measure the noise level and let the
        order-1 error of a slightly wrong ``J v`` show above it (in float32 this turned a
        1.01-scaled Jacobian from mostly missed to mostly caught). float64 is recommended: it
        resolves Jacobian errors down to ~1e-6 relative, float32 only to ~1e-2.
    raise_on_fail : bool, optional
        Raise ``AssertionError`` on failure.
    early_stop : bool, optional
        Skip the steps that cannot change a pass (see Cost above; they are listed in
        ``result.skipped``). ``False`` evaluates every h, e.g. for a complete plot.

    Returns
    -------
    TaylorTestResult
        ``passed``, ``hs``, ``E0``, ``E1``, ``order0``, ``order1``, ``reason``, ``skipped``,
        ``table()``, ``plot(ax=None)``.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: x**3
    >>> x0 = np.linspace(-1, 1, 5)
    >>> taylor_test(f, x0, jvp=lambda x, v: 3 * x**2 * v).passed
    True
    >>> taylor_test(f, x0, jvp=lambda x, v: 1.01 * 3 * x**2 * v).passed
    False
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if jvp is not None and not callable(jvp):
        raise TypeError(f"jvp must be a callable (x0, v) -> J v, got {type(jvp).__name__}")
    torch_mode = _is_tensor(x0) or _is_torch_dtype(dtype)
    if torch_mode:
        torch = _torch()
        device = x0.device if _is_tensor(x0) else "cpu"
        if not _is_tensor(x0):
            x0 = torch.as_tensor(np.asarray(x0))
        if dtype is None:
            dtype = x0.dtype if (x0.is_floating_point() or x0.is_complex()) else torch.float64
        if not _is_torch_dtype(dtype):
            raise TypeError(f"dtype must be a torch dtype for a torch x0, got {dtype!r}")
        x0 = x0.detach().to(device=device, dtype=dtype)
    else:
        if not isinstance(x0, np.ndarray | np.generic | float | int | complex | list | tuple):
            raise TypeError(f"x0 must be a numpy array or torch tensor, got {type(x0).__name__}")
        x0 = np.asarray(x0)
        if dtype is None:
            dtype = x0.dtype if x0.dtype.kind in "fc" else np.dtype(np.float64)
        x0 = x0.astype(_numpy_dtype(dtype))
        if jvp is None:
            raise TypeError("jvp is required for a numpy f (torch f uses torch.func.jvp)")
    np_dt = _numpy_dtype(dtype)
    eps = _working_eps(dtype)
    shape = tuple(x0.shape)
    x0_np = _to_numpy(x0, "x0")
    if x0_np.size == 0:
        raise ValueError(f"x0 is empty (shape {shape}): nothing to test")
    if not np.all(np.isfinite(x0_np)):
        raise ValueError("x0 contains NaN or inf")

    if direction is None:
        v_np = _randn(np.random.default_rng(seed), shape, np_dt)
    else:
        v_np = _to_numpy(direction, "direction")
        if tuple(v_np.shape) != shape:
            raise ValueError(f"direction has shape {tuple(v_np.shape)}, expected x0's {shape}")
        v_np = v_np.astype(np_dt)
        if not np.all(np.isfinite(v_np)):
            raise ValueError("direction contains NaN or inf")
        if not np.any(v_np):
            raise ValueError("direction is zero (in the working dtype): nothing to test")
    if torch_mode:
        v = _to_backend(v_np, torch_dtype=dtype, device=x0.device)
    else:
        v = v_np

    if hs is None:
        hs_arr = _default_hs(eps)
    else:
        try:
            hs_arr = np.asarray(hs, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"hs must be a sequence of real step sizes, got {hs!r}") from None
        if (
            hs_arr.size < TAYLOR_N_SUCCESS + 1
            or not np.all(np.isfinite(hs_arr))
            or np.any(hs_arr <= 0)
            or np.any(np.diff(hs_arr) >= 0)
        ):
            raise ValueError(
                f"hs must be at least {TAYLOR_N_SUCCESS + 1} finite, positive, strictly decreasing "
                f"step sizes, got {hs!r}"
            )

    def wide(out, what):
        arr = _to_numpy(out, what)
        return _wide(arr).reshape(arr.shape)

    def evaluate(x):
        if torch_mode:
            with _torch().no_grad():
                return wide(f(x), "f output")
        return wide(f(x), "f output")

    if jvp is None:
        # forward mode returns f(x0) with J v: the same forward pass, one evaluation saved
        f0_t, Jv_t = _torch().func.jvp(f, (x0,), (v,))
        f0, Jv = wide(f0_t, "f output"), wide(Jv_t, "J v")
    else:
        Jv = wide(jvp(x0, v), "jvp output")
        f0 = evaluate(x0)
    if Jv.shape != f0.shape:
        raise ValueError(f"J v has shape {Jv.shape} but f(x0) has shape {f0.shape}")
    f0_flat, Jv_flat = f0.ravel(), Jv.ravel()
    nf0, nJv = float(np.linalg.norm(f0_flat)), float(np.linalg.norm(Jv_flat))
    work_dt = np.result_type(f0_flat, Jv_flat)  # work arrays reused at every step
    d, hJv = np.empty(f0_flat.shape, work_dt), np.empty(f0_flat.shape, work_dt)

    def step(h: float) -> tuple[float, float, float]:
        """E0, E1 and the rounding level at step h (one evaluation of f)."""
        fh = evaluate(x0 + h * v).ravel()
        if fh.shape != d.shape:
            raise ValueError(f"f output has shape {fh.shape}, f(x0) had {f0.shape}")
        np.subtract(fh, f0_flat, out=d)
        e0 = float(np.linalg.norm(d))
        np.subtract(d, np.multiply(Jv_flat, h, out=hJv), out=d)
        scale = nf0 + float(np.linalg.norm(fh)) + h * nJv
        return e0, float(np.linalg.norm(d)), TAYLOR_ROUNDING_FACTOR * eps * scale

    n_h, q = len(hs_arr), TAYLOR_NOISE_STEPS
    # Early stop: the noise sample (the q smallest h) first, then h from the top until the
    # verdict is settled; without it (or for short windows) every h, top to bottom.
    n_tail = q if early_stop and n_h > q + 2 * TAYLOR_N_SUCCESS + 1 else 0
    tail = [step(float(h)) for h in hs_arr[n_h - n_tail :]]
    top: list[tuple[float, float, float]] = []
    for i in range(n_h - n_tail):
        top.append(step(float(hs_arr[i])))
        if n_tail and i + 1 < n_h - n_tail:
            rows = top + tail
            idx = np.r_[0 : i + 1, n_h - n_tail : n_h]
            if _taylor_settled(*(list(c) for c in zip(*rows)), hs_arr[idx]):
                break
    m = len(top)
    skipped = tuple(float(h) for h in hs_arr[m : n_h - n_tail])
    hs_arr = np.r_[hs_arr[:m], hs_arr[n_h - n_tail :]]
    E0, E1, floor = (list(c) for c in zip(*(top + tail)))
    E0a, E1a, floor_a = np.array(E0), np.array(E1), np.array(floor)
    o0, o1 = _orders(E0a, hs_arr), _orders(E1a, hs_arr)
    passed, reason, asym, _ = _taylor_verdict(E0a, E1a, floor_a, o0, o1)
    result = TaylorTestResult(
        passed=passed,
        hs=tuple(float(h) for h in hs_arr),
        E0=tuple(E0),
        E1=tuple(E1),
        order0=tuple(float(o) for o in o0),
        order1=tuple(float(o) for o in o1),
        floor=tuple(floor),
        asymptotic=asym,
        dtype=_dtype_name(dtype),
        reason=reason,
        skipped=skipped,
    )
    if raise_on_fail:
        result.raise_if_failed()
    return result


# --------------------------------------------------------------------------------------------
# demo: python -m convlab.checks
# --------------------------------------------------------------------------------------------


def _demo() -> None:
    rng = np.random.default_rng(0)
    n = 64
    k = rng.standard_normal(5)

    def conv(x):  # circular convolution with the stencil k (FFT, norm="backward")
        return np.real(np.fft.ifft(np.fft.fft(x) * np.fft.fft(k, n)))

    def conv_adjoint(y):  # correlation: multiply by conj of the eigenvalues
        return np.real(np.fft.ifft(np.fft.fft(y) * np.conj(np.fft.fft(k, n))))

    def conv_adjoint_wrong(y):  # forgot the conjugate: applies K again instead of K^T
        return conv(y)

    print("circular convolution, adjoint = correlation:")
    good = adjoint_test(conv, conv_adjoint, in_shape=(n,))
    print(" ", good)
    print("circular convolution, 'adjoint' = convolution again (missing conjugate):")
    bad = adjoint_test(conv, conv_adjoint_wrong, in_shape=(n,))
    print(" ", bad)
    print(bad.table())


if __name__ == "__main__":
    _demo()
