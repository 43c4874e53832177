"""Wiener filters and the Wiener-filter (adaptive) loss, 1D and 2D, with several solvers.

The idea (adaptive waveform inversion, Warner & Guasch 2014; as a deep-learning loss in Cruz et
al. 2023, "Convolve and Conquer: Data Comparison with Wiener Filters"; the lecture "Convolutional
Loss Functions in Deep Learning"): find the filter ``w`` that best maps a signal ``a`` onto a
signal ``b`` of the same shape,

    w = argmin 1/2 ||A w - b_pad||^2 = (A^T A)^{-1} A^T b_pad,

with ``A`` the full-convolution Toeplitz matrix of ``a`` (:mod:`convlab.toeplitz`), then measure
how far ``w`` is from a delta at zero lag with a penalty ``T`` that is zero at lag 0 and grows
with the lag::

    f = 1/2 ||T * w||^2 / ||w||^2.

Conventions (stated once, used everywhere)
-------------------------------------------
- **Convolution**, zero boundary: ``(A w)[k] = sum_j a[k - j] w[j]`` ('full', length n + m - 1).
- Filter of shape ``m`` (default: the signal's shape, the lecture's choice) with lags
  ``-c .. m - 1 - c``, ``c = (m - 1) // 2`` per axis: index ``c`` is **zero lag**.
  ``b_pad`` is ``b`` placed at offset ``c`` inside the full output, so ``a == b`` gives exactly
  ``w = delta at index c`` (A has full column rank whenever ``a != 0``).
- 2D: row-major (C-order) vectorisation, as in :func:`convlab.toeplitz.doubly_blocked_toeplitz`.
- Leading axes are batch axes: ``a`` of shape ``(..., n)`` (1D) or ``(..., n1, n2)`` (2D).
- The normal matrix ``R = A^T A`` is the symmetric (block-)Toeplitz autocorrelation matrix,
  ``R[j, l] = r[j - l]``, ``r[k] = sum_i a[i] a[i + k]``; ``A^T b_pad`` is a cross-correlation.
- FFTs: ``torch.fft.rfftn`` with the default ``norm="backward"`` on a grid ``S`` per axis with
  ``S >= n + m - 1`` (no wrap-around in A w, A^T b) and ``S >= 2m - 1`` (circulant embedding of
  R). The eigenvalues of that embedding are ``|rfftn(a, S)|^2``, so ``R v`` costs one FFT pair.
  S is rounded up to a 2/3/5-smooth length (same exact products, no slow prime-length FFTs).

Solvers (one interface, ``solver=``)
------------------------------------
=========== ======================================================= ==================
solver      method                                                  accuracy
=========== ======================================================= ==================
"dense"     the lecture's: explicit A, Cholesky on A^T A (autograd)   exact (reference)
"levinson"  ``scipy.linalg.solve_toeplitz`` on r[0..m-1] (1D only)    exact
"gs"        Gohberg-Semencul: R^{-1} from its Levinson-Durbin          exact
            generator (O(m^2), or O(m log^2 m) by the superfast
            Schur algorithm from 1200 taps), applied by FFT in
            O(m log m); 2D: the block formula (Gohberg-Heinig),
            R^{-1} from its first block column (block Levinson,
            2 m1^2 m2^3 flops once), applied by FFT along the
            block axis and m2 x m2 products per frequency
"cholesky"  R from the lags (no A; one strided copy), split by its   exact
            centrosymmetry into two half-size Cholesky factors
"cg"        conjugate gradients, FFT matvecs, T. Chan circulant      to ``tol``
            preconditioner (1D and 2D)
"fft"       circular deconvolution conj(â) b̂ / (|â|² + ε r0)         approximate
=========== ======================================================= ==================

``epsilon`` (prewhitening, relative to the zero-lag autocorrelation ``r0 = ||a||^2``): exact
solvers solve ``(R + ε r0 I) w = A^T b_pad`` (default ε = 0); "fft" adds ``ε r0`` to every
eigenvalue of the *circulant* approximation of R (default ε = 1e-6). So "fft" is the periodic
approximation of the same problem: it ignores that the filter has only m taps and that the
signals do not wrap around; :func:`fft_filter_error` measures how far it lands from the exact
filter.

Gradients: "dense" and "fft" are differentiated by autograd; "levinson", "gs", "cholesky" and "cg"
by an implicit (adjoint) backward: with ``R x = g`` and ``λ = R^{-1} x̄``, ``ḡ = λ`` and
``ā = -corr(A x, λ) - corr(A λ, x) - 2 ε (λ·x) a`` (one extra solve with the same solver; "gs"
and "cholesky" reuse the forward's factorisation, so the backward costs one more application).

Cost of the exact filter (why it is cheap): in 1D the inverse of the Toeplitz normal matrix is
known in closed form from one vector, its Levinson-Durbin generator (Gohberg-Semencul), so with
the target's generator computed once a solve is six FFTs, the same order as the FFT
approximation; a new generator costs O(m log^2 m) (:mod:`convlab.wiener.schur`: blocks of
Schur steps by compiled Levinson solves, joined by FFT products). In 2D the inverse is known
from one block column (:mod:`convlab.wiener.block`): computed once for the target, a solve
reads it twice in the Fourier domain of the block axis (``32 m^3`` bytes for an ``m x m``
filter, ``4/m`` of a stored dense inverse). ``benchmarks/bench_wiener.py`` measures the ratios.

A fixed signal (training: the target): everything that depends on ``a`` alone - the normal
matrix, its factorisation, its spectrum, for small sizes the whole linear map ``w = W b`` - is
computed once by :class:`WienerFactor`; ``WienerLoss(..., cache_target=True)`` keeps one for the
target, checked against the target's values on every call (never stale). The loss's default
direction builds A from the target (the lecture's "Input * w = Output", Cruz et al.'s choice), so
training with it needs no factorisation per epoch, forward or backward.

Modules (the sections of the course's one-file original; every name is importable from here)
------------------------------------------------------------------------------------------------
- ``options``: validation, constants, :class:`WienerOptions` (the solver settings, one object)
- ``convolution``: FFT grid and full convolution (:func:`full_convolution`, :func:`apply_filter`)
- ``schur``: the Levinson-Durbin generator in O(m log^2 m) (superfast Schur algorithm)
- ``block``: the 2D (block-Toeplitz) inverse from its first block column (block Levinson,
  block Gohberg-Semencul formula)
- ``solvers``: Levinson, Cholesky (centrosymmetric split), PCG, the Levinson-Durbin factor,
  :func:`solve_normal_equations` and the implicit backward
- ``filters``: :func:`wiener_filter`, the dense reference, the FFT approximation, the lecture's
- ``factor``: :class:`WienerFactor`, the target's factorisation reused across calls
- ``loss``: penalties and :class:`WienerLoss`
"""

from convlab.wiener.convolution import apply_filter, full_convolution
from convlab.wiener.factor import OPERATOR_MAX_ENTRIES, WienerFactor
from convlab.wiener.filters import (
    check_solve_cost,
    dense_bytes,
    fft_filter_error,
    lecture_wiener_filter,
    solve_cost,
    wiener_filter,
)
from convlab.wiener.loss import (
    WienerLoss,
    filter_penalty,
    make_penalty,
    penalty_gaussian,
    penalty_sharp,
)
from convlab.wiener.options import (
    CHOLESKY_MAX_TAPS,
    CHOLESKY_MAX_TAPS_UNCACHED,
    DEFAULT_FFT_EPSILON,
    DIRECTIONS,
    PENALTIES,
    REDUCTIONS,
    SOLVERS,
    WienerOptions,
    lags,
    zero_lag_index,
)
from convlab.wiener.solvers import SolveInfo, normal_matrix, solve_normal_equations

__all__ = [
    "CHOLESKY_MAX_TAPS",
    "CHOLESKY_MAX_TAPS_UNCACHED",
    "DEFAULT_FFT_EPSILON",
    "DIRECTIONS",
    "OPERATOR_MAX_ENTRIES",
    "PENALTIES",
    "REDUCTIONS",
    "SOLVERS",
    "SolveInfo",
    "WienerFactor",
    "WienerLoss",
    "WienerOptions",
    "apply_filter",
    "check_solve_cost",
    "dense_bytes",
    "fft_filter_error",
    "filter_penalty",
    "full_convolution",
    "lags",
    "lecture_wiener_filter",
    "make_penalty",
    "normal_matrix",
    "penalty_gaussian",
    "penalty_sharp",
    "solve_cost",
    "solve_normal_equations",
    "wiener_filter",
    "zero_lag_index",
]
