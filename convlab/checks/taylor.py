"""The Taylor (derivative) test: E0 and E1 over steps h = 2^-k, a verdict from their orders."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convlab.checks._common import (
    _CheckResult,
    _dtype_name,
    _is_tensor,
    _is_torch_dtype,
    _numpy_dtype,
    _randn,
    _to_backend,
    _to_numpy,
    _torch,
    _wide,
    _working_eps,
)

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
