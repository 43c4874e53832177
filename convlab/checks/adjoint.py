"""The adjoint (dot) test and the Jacobian-transpose test: one normalised dot-test core."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convlab._validate import as_device, as_shape
from convlab.checks._common import (
    _as_tol,
    _CheckResult,
    _complex_of,
    _dtype_name,
    _fmt_num,
    _is_torch_dtype,
    _numpy_dtype,
    _randn,
    _to_backend,
    _to_numpy,
    _wide,
    _working_eps,
)
from convlab.checks._operator import _is_matrix_like, as_operator

#: Safety factor in the adjoint-test tolerance ``ADJOINT_TOL_FACTOR * eps * log2(N + 1)``.
ADJOINT_TOL_FACTOR = 100.0


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
    if torch_dtype is not None:
        device = as_device(device)  # an unavailable device: ValueError, not torch's assertion
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
    forward : ndarray, sparse matrix/array, LinearOperator, LinearMap, operator object or callable
        The operator ``A``. A 2-D ndarray or scipy sparse matrix acts by ``A @ u`` on flat
        vectors; a ``LinearOperator`` by ``matvec``; a ``LinearMap`` (``inner="real"`` ones
        through their real view) or any object with ``as_linear_map()`` (``Conv1D``,
        ``FourierSampling``, ``WienerFactor``, ...) by its own forward and adjoint, as does a
        ``(forward, adjoint)`` pair. A callable maps an array of shape ``in_shape`` to an array
        (numpy, or torch when ``dtype`` is a torch dtype).
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
    op = as_operator(forward, adjoint, in_shape=in_shape, out_shape=out_shape, dtype=dtype)
    try:
        result = _dot_test_core(
            op.forward,
            op.adjoint,
            in_shape=op.in_shape,
            out_shape=op.out_shape,
            dtype=op.dtype,
            device=op.device if device is None and _is_torch_dtype(op.dtype) else device,
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
