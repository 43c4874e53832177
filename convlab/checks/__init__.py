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

Modules
-------
* :mod:`convlab.checks.adjoint`: :func:`adjoint_test`, :func:`jacobian_transpose_test`
* :mod:`convlab.checks.taylor`: :func:`taylor_test`
* :mod:`convlab.checks.eigenvalues`: :func:`eigenvalues_match`
* ``convlab.checks._operator``: the one place an operator argument becomes callables
* ``convlab.checks._common``: dtypes, tolerances (the precision policy), random vectors
* ``python -m convlab.checks``: a demo

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

from convlab.checks._common import MAX_TOL, _eps
from convlab.checks.adjoint import (
    ADJOINT_TOL_FACTOR,
    AdjointTestResult,
    adjoint_test,
    jacobian_transpose_test,
)
from convlab.checks.eigenvalues import EigenvalueMatchResult, eigenvalues_match
from convlab.checks.taylor import (
    TAYLOR_E0_ORDER_BAND,
    TAYLOR_MIN_ORDER,
    TAYLOR_N_SUCCESS,
    TAYLOR_NOISE_FACTOR,
    TAYLOR_NOISE_STEPS,
    TAYLOR_ROUNDING_FACTOR,
    TaylorTestResult,
    taylor_test,
)

__all__ = [
    "ADJOINT_TOL_FACTOR",
    "MAX_TOL",
    "TAYLOR_E0_ORDER_BAND",
    "TAYLOR_MIN_ORDER",
    "TAYLOR_NOISE_FACTOR",
    "TAYLOR_NOISE_STEPS",
    "TAYLOR_N_SUCCESS",
    "TAYLOR_ROUNDING_FACTOR",
    "AdjointTestResult",
    "EigenvalueMatchResult",
    "TaylorTestResult",
    "_eps",
    "adjoint_test",
    "eigenvalues_match",
    "jacobian_transpose_test",
    "taylor_test",
]
