"""The Levinson-Durbin generator of a symmetric positive definite Toeplitz matrix in
O(m log^2 m): the superfast (divide-and-conquer) Schur algorithm.

The Gohberg-Semencul formula (:class:`convlab.wiener.solvers._GohbergSemencul`) applies
``R^{-1}`` by FFT once the generator ``x = R^{-1} e_0`` is known; Levinson-Durbin finds it in
O(m^2) (``scipy.linalg.solve_toeplitz``, compiled). Here the same reflection coefficients are
computed by the Schur algorithm, split in halves so that most of the work is polynomial products
done by FFT (Ammar & Gragg 1988, "Superfast solution of real positive definite Toeplitz
systems").

Notation (real symmetric Toeplitz ``R[j, l] = r[|j - l|]``, size m). The order-k forward
predictor ``a_k(z) = 1 + a_k1 z + ... + a_kk z^k`` and its reverse ``a_k^#(z) = z^k a_k(1/z)``
satisfy Levinson's recursion ``a_{k+1} = a_k + κ_k z a_k^#``, ``a_{k+1}^# = κ_k a_k + z a_k^#``.
The Schur algorithm never forms a_k: it carries the windows ``p_k[j] = (r * a_k)[k + 1 + j]``
and ``q_k[j] = (r * a_k^#)[k + j]`` (``*`` the convolution with the two-sided sequence r), with
``p_0 = r[1:]``, ``q_0 = r[:-1]``, and

    κ_k = -p_k[0] / q_k[0],   p_{k+1} = (p_k + κ_k q_k) / z,   q_{k+1} = q_k + κ_k p_k.

One step is ``[p; q] -> z^{-1} N_k [p; q]`` with ``N_k = [[1, κ_k], [κ_k z, z]]``; h steps are
``z^{-h} Φ [p; q]`` with the 2x2 polynomial matrix ``Φ = N_{h-1} ... N_0`` (degree <= h), which
depends on the first h entries of the windows only. Divide and conquer: Φ of the first half
from the first half of the windows, the windows advanced by one FFT product, Φ of the second
half, ``Φ = Φ_2 Φ_1`` by FFT. With ``D = diag(1, 1/z)``, Levinson's matrices are ``D N_k D^{-1}``,
so ``a_{m-1} = Φ_11 + z Φ_12`` and ``x = a_{m-1} / (a_{m-1} . r)``. The recursion stops at
blocks of :data:`BASE_STEPS` steps, each done at once by one compiled Levinson solve
(:func:`_schur_block`): no Python loop runs over the m steps.

Accuracy (measured): 1e-14 from the dense solve on white noise up to m = 16384; on
ill-conditioned matrices within 20x of Levinson's own error (6-7x at cond 2e8).
:func:`toeplitz_generator` checks the residual ``||R x - e_0||`` with one FFT product and falls
back to Levinson where it is not small.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.signal

from convlab._validate import as_numpy

#: blocks of up to this many Schur steps are done at once (:func:`_schur_block`); FFT products
#: join the blocks
BASE_STEPS = 256

#: ``toeplitz_generator`` uses Levinson-Durbin (compiled, O(m^2)) below this size and the
#: superfast Schur algorithm from it on (measured on the course machine, one thread: the two take
#: 1.4 and 1.5 ms at m = 1024, 3.2 and 2.2 ms at 1536, 22 and 7 ms at 4096)
SUPERFAST_MIN_SIZE = 1200

#: the superfast generator is accepted when ``||R x - e_0||_2 <= RESIDUAL_TOL`` (e_0 has norm 1;
#: Levinson's own residual is about 1e-16 cond(R))
RESIDUAL_TOL = 1e-8


def _series(num: np.ndarray, den: np.ndarray, length: int) -> np.ndarray:
    """The first ``length`` coefficients of the power series ``num(z) / den(z)`` (den[0] != 0):
    ``scipy.signal.lfilter`` of a unit impulse, i.e. forward substitution, compiled."""
    impulse = np.zeros(length)
    impulse[0] = 1.0
    return scipy.signal.lfilter(num[:length], den[:length], impulse)


def _lags(r: object) -> np.ndarray:
    """``r`` as a float64 array of real, finite lags ``(..., m)``, ``m >= 1``."""
    arr = as_numpy(r, "r")
    if np.iscomplexobj(arr):
        raise TypeError("r must be real (the lags of a real symmetric Toeplitz matrix)")
    if arr.ndim == 0 or arr.shape[-1] == 0 or arr.size == 0:
        raise ValueError(f"r must hold lags r[0..m-1] on its last axis, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("r must be finite (it holds NaN or inf)")
    return arr


def _schur_block(p: np.ndarray, q: np.ndarray, h: int) -> np.ndarray:
    """The first row ``(Φ_11, Φ_12)`` of ``h`` Schur steps at once: ``(batch, 2, h + 1)``.

    The steps are the Schur algorithm of the function ``s = -p/q`` (``κ_k = s_k(0)``), whose
    Schur parameters are those of the positive definite Toeplitz matrix of the Carathéodory
    function ``G = (1 - z s) / (1 + z s)`` (Geronimus): its order-h predictor (one compiled
    Levinson solve on the lags ``c_0 = 1``, ``c_k = G_k / 2``) is ``a = Φ_11 + z Φ_12``, and
    the polynomial of the second kind is ``ψ = Φ_11 - z Φ_12 = G a  mod z^(h+1)``.
    """
    batch = p.shape[0]
    phi = np.zeros((batch, 2, h + 1))
    e0 = np.zeros(h + 1)
    e0[0] = 1.0
    for i in range(batch):
        zs = np.concatenate([[0.0], -_series(p[i], q[i], h)])  # z s  mod z^(h+1)
        G = _series(e0 - zs, e0 + zs, h + 1)
        lags = G / 2
        lags[0] = 1.0
        a = scipy.linalg.solve_toeplitz((lags, lags), e0, check_finite=False)
        a /= a[0]
        psi = np.convolve(G, a)[: h + 1]
        phi[i, 0] = (a + psi) / 2
        phi[i, 1, :h] = (a - psi)[1:] / 2
    return phi


def _second_row(F: np.ndarray, degree: int, size: int) -> np.ndarray:
    """The spectra of ``(Φ_21, Φ_22) = z^d (Φ_12, Φ_11)(1/z)`` from those of the first row
    (``rfft`` of length ``size``): a reversed real polynomial of degree <= d has the spectrum
    ``exp(-i ω d) conj(P̂(ω))``, so the second row costs no FFT."""
    turns = (degree * np.arange(F.shape[-1], dtype=np.int64)) % size  # exact: no large angles
    phase = np.exp(-2j * np.pi * turns / size)
    return phase * F[:, ::-1].conj()


def _schur(p: np.ndarray, q: np.ndarray, h: int) -> np.ndarray:
    """The first row ``(Φ_11, Φ_12)`` of ``h`` Schur steps on windows ``p, q`` (batch, >= h):
    ``(batch, 2, h + 1)``. The second row is its reverse, ``Φ_21 = z^h Φ_12(1/z)``,
    ``Φ_22 = z^h Φ_11(1/z)`` (each step matrix ``[[1, κ], [κ z, z]]`` has that symmetry)."""
    if h <= BASE_STEPS:
        return _schur_block(p, q, h)
    h1 = h // 2
    phi1 = _schur(p, q, h1)
    size = scipy.fft.next_fast_len(h + h1, real=True)  # no wrap-around in either product
    F1 = scipy.fft.rfft(phi1, size, axis=-1)
    F1 = np.stack([F1, _second_row(F1, h1, size)], axis=1)  # (batch, 2, 2, F)
    G = scipy.fft.rfft(np.stack([p[:, :h], q[:, :h]], axis=1), size, axis=-1)
    moved = scipy.fft.irfft(np.einsum("bijf,bjf->bif", F1, G), size, axis=-1)[..., h1:h]
    F2 = scipy.fft.rfft(_schur(moved[:, 0], moved[:, 1], h - h1), size, axis=-1)
    top = np.einsum("bjf,bjkf->bkf", F2, F1)  # first row of Φ_2 Φ_1
    return scipy.fft.irfft(top, size, axis=-1)[..., : h + 1]


def superfast_generator(r: np.ndarray) -> np.ndarray:
    """``x = R^{-1} e_0`` for the symmetric Toeplitz ``R`` with first column ``r`` (..., m),
    float64, by the superfast Schur algorithm (no check: see :func:`toeplitz_generator`).

    Examples
    --------
    >>> r = np.array([4.0, 1.0, 0.5, 0.25])
    >>> x = superfast_generator(r)
    >>> bool(np.allclose(scipy.linalg.toeplitz(r) @ x, [1, 0, 0, 0]))
    True
    """
    r = _lags(r)
    batch, m = r.shape[:-1], r.shape[-1]
    flat = r.reshape(-1, m)
    if m == 1:
        return (1.0 / flat).reshape(r.shape)
    phi = _schur(flat[:, 1:], flat[:, :-1], m - 1)
    a = phi[:, 0, :m].copy()
    a[:, 1:] += phi[:, 1, : m - 1]
    return (a / (a * flat).sum(-1, keepdims=True)).reshape(*batch, m)


def _levinson_generator(r: np.ndarray) -> np.ndarray:
    m = r.shape[-1]
    e0 = np.zeros(m)
    e0[0] = 1.0
    x = np.empty_like(r)
    for idx in np.ndindex(r.shape[:-1]):  # compiled Levinson recursion, O(m^2)
        x[idx] = scipy.linalg.solve_toeplitz((r[idx], r[idx]), e0, check_finite=False)
    return x


def toeplitz_residual(r: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``||R x - e_0||_2`` per batch item, by one FFT product (R symmetric Toeplitz of r)."""
    r, x = _lags(r), as_numpy(x, "x").astype(np.float64)
    if x.shape != r.shape:
        raise ValueError(f"x must have the shape of r {r.shape}, got {x.shape}")
    m = r.shape[-1]
    size = scipy.fft.next_fast_len(3 * m - 2, real=True)
    two_sided = np.concatenate([r[..., :0:-1], r], axis=-1)  # r[-(m-1)], ..., r[m-1]
    full = scipy.fft.irfft(
        scipy.fft.rfft(two_sided, size, axis=-1) * scipy.fft.rfft(x, size, axis=-1), size, axis=-1
    )
    res = full[..., m - 1 : 2 * m - 1]
    res[..., 0] -= 1.0
    return np.linalg.norm(res, axis=-1)


def toeplitz_generator(r: np.ndarray) -> np.ndarray:
    """``x = R^{-1} e_0`` (..., m) for symmetric positive definite Toeplitz ``R`` (first column r).

    Levinson-Durbin up to :data:`SUPERFAST_MIN_SIZE`, the superfast Schur algorithm above; its
    result is accepted only when ``||R x - e_0|| <= RESIDUAL_TOL`` (items that fail get
    Levinson's generator). Raises ``numpy.linalg.LinAlgError`` when a leading minor is singular
    (as ``scipy.linalg.solve_toeplitz``); the result may be non-finite when R is not positive
    definite (callers check).
    """
    r = _lags(r)
    if r.shape[-1] < SUPERFAST_MIN_SIZE:
        return _levinson_generator(r)
    with np.errstate(all="ignore"):
        try:
            x = superfast_generator(r)
            bad = ~(toeplitz_residual(r, x) <= RESIDUAL_TOL)  # NaN counts as bad
        except np.linalg.LinAlgError:  # a singular block (R not positive definite): Levinson
            x, bad = np.empty_like(r), np.ones(r.shape[:-1], dtype=bool)  # says where
    if bad.any():
        x[bad] = _levinson_generator(r[bad])
    return x
