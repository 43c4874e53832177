"""Pick the compute device in one place (CUDA, then Apple MPS, then CPU); precision; timing.

- :func:`pick_device`, :func:`describe`: which device, and a sentence saying why;
  :func:`supports_dtype` (Apple MPS has no float64), :func:`tf32_capable`.
- :func:`tf32`: context manager turning TF32 off or on (legacy ``allow_tf32`` flags and the
  per-backend ``fp32_precision`` settings of recent torch), restoring both afterwards.
- :func:`round_to_tf32` (TF32 emulated on any device) and :func:`dot_error_bound` /
  :func:`tolerance`: tolerances derived from the arithmetic (FP32, TF32, FP64).
- :func:`set_deterministic` / :func:`deterministic`: seeded, deterministic kernels.
- :func:`time_fn`: warm-up, device-synchronised repeats (CUDA events on CUDA), median.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from convlab._validate import as_size


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the best available ``torch.device``.

    Order: CUDA, then MPS, then CPU. ``prefer`` ("cuda", "mps", "cpu") forces a choice and
    raises ``RuntimeError`` when that device is not available (never a silent fallback).
    Apple's MPS has no float64: code that may run there asks :func:`supports_dtype` first.

    >>> pick_device("cpu")
    device(type='cpu')
    """
    if prefer is not None:
        if prefer not in ("cuda", "mps", "cpu"):
            raise ValueError(f"prefer must be 'cuda', 'mps', 'cpu' or None, got {prefer!r}")
        if prefer == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("prefer='cuda' but torch.cuda.is_available() is False")
        if prefer == "mps" and not _mps_available():
            raise RuntimeError("prefer='mps' but the MPS backend is not available")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe() -> str:
    """One line naming the device ``pick_device()`` chose and why (for notebooks)."""
    dev = pick_device()
    if dev.type == "cuda":
        return f"Using CUDA: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "Using Apple MPS"
    return "No GPU found (no CUDA, no MPS): using the CPU"


def supports_dtype(device: torch.device | str, dtype: torch.dtype) -> bool:
    """Whether tensors of ``dtype`` can live on ``device`` (Apple MPS has no float64).

    Probes by creating a one-element tensor, so it stays true to the installed torch.

    >>> supports_dtype("cpu", torch.float64)
    True
    """
    try:
        torch.zeros(1, dtype=dtype, device=device)
    except (TypeError, RuntimeError):
        return False
    return True


def tf32_capable(device: torch.device | str) -> bool:
    """Whether ``device`` has TF32 tensor cores (CUDA compute capability 8.0+: Ampere, Hopper...).

    >>> tf32_capable("cpu")
    False
    """
    dev = torch.device(device)
    return dev.type == "cuda" and torch.cuda.get_device_capability(dev) >= (8, 0)


# --------------------------------------------------------------------------------------------
# TF32: switching it, emulating it, and the tolerances the arithmetic warrants
# --------------------------------------------------------------------------------------------

# The per-backend precision settings we touch (torch >= 2.9): each backend object has an
# ``fp32_precision`` of "ieee" (full FP32), "tf32" or "none" (inherit from the parent setting).
# The legacy flag that mirrors each is listed beside it.
_PRECISION_SETTINGS = {"cudnn.conv": "cudnn", "cudnn.rnn": None, "cuda.matmul": "matmul"}


def _backend(path: str) -> Any:
    obj: Any = torch.backends
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _precision_settings() -> dict[str, Any]:
    """The backend objects of :data:`_PRECISION_SETTINGS` that this torch has, by path."""
    found = {path: _backend(path) for path in _PRECISION_SETTINGS}
    return {p: b for p, b in found.items() if isinstance(getattr(b, "fp32_precision", None), str)}


def _set_legacy(cudnn: bool, matmul: bool) -> None:
    torch.backends.cudnn.allow_tf32 = cudnn
    torch.backends.cuda.matmul.allow_tf32 = matmul


@contextmanager
def tf32(enabled: bool) -> Iterator[None]:
    """Context manager: TF32 for float32 convolutions and matmuls on or off, restored after.

    Sets both generations of switches: the legacy ``torch.backends.cudnn.allow_tf32`` (default
    on) and ``torch.backends.cuda.matmul.allow_tf32`` (default off), and, where this torch has
    them, the per-backend ``torch.backends.cudnn.conv.fp32_precision``,
    ``torch.backends.cudnn.rnn.fp32_precision`` and ``torch.backends.cuda.matmul.fp32_precision``
    (``"tf32"`` or ``"ieee"``). Recent torch refuses to *read* a legacy flag once the new API
    was used, so the previous state is saved through the new API when it exists; on exit the
    legacy flags are set to match the saved values, then the saved values themselves. Only
    CUDA GPUs of compute capability 8.0+ act on these switches; elsewhere they are recorded and
    ignored (see :func:`round_to_tf32` to emulate TF32).

    >>> with tf32(False):
    ...     torch.backends.cudnn.allow_tf32
    False
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True or False, got {enabled!r}")
    new = _precision_settings()
    saved = {path: obj.fp32_precision for path, obj in new.items()}
    if new:  # legacy values consistent with the saved per-backend values
        mirror = {flag: saved.get(path) == "tf32" for path, flag in _PRECISION_SETTINGS.items()}
        legacy = (mirror["cudnn"], mirror["matmul"])
    else:  # torch < 2.9: only the legacy flags exist, and reading them is safe
        legacy = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        _set_legacy(enabled, enabled)
        for obj in new.values():
            obj.fp32_precision = "tf32" if enabled else "ieee"
        yield
    finally:
        _set_legacy(*legacy)
        for path, obj in new.items():
            obj.fp32_precision = saved[path]


def round_to_tf32(x: torch.Tensor) -> torch.Tensor:
    """Round a float32 tensor to TF32's 10 explicit mantissa bits (round to nearest, ties even).

    What a TF32 tensor core reads from each float32 input: sign, the 8-bit exponent, and the
    top 10 of the 23 mantissa bits. Computing with ``round_to_tf32(x)`` and full FP32
    accumulation emulates TF32 on any device (a CPU included). Integer bit arithmetic:
    add half an ulp of the 10-bit mantissa (minus one unless the kept last bit is odd, so that
    ties go to even) and clear the 13 dropped bits.

    >>> round_to_tf32(torch.tensor([1 + 2**-10, 1 + 2**-11, 1 + 3 * 2**-11])).tolist()
    [1.0009765625, 1.0, 1.001953125]
    """
    if not isinstance(x, torch.Tensor) or x.dtype != torch.float32:
        raise TypeError(f"x must be a float32 tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    bits = x.contiguous().view(torch.int32)
    bits = (bits + (0xFFF + ((bits >> 13) & 1))) & ~0x1FFF
    return bits.view(torch.float32)


class Arithmetic(NamedTuple):
    """How a sum of products is computed: mantissa bits of its inputs and of its accumulator.

    ``input_bits=None`` means the inputs are used as they are (no rounding before multiplying).
    """

    name: str
    input_bits: int | None
    accumulate_bits: int


FP32 = Arithmetic("FP32", None, 23)
TF32 = Arithmetic("TF32", 10, 23)  # inputs rounded to 10 mantissa bits, FP32 accumulation
FP64 = Arithmetic("FP64", None, 52)
ARITHMETIC = {"float32": FP32, "tf32": TF32, "float64": FP64}


def dot_error_bound(n_terms: int, arithmetic: Arithmetic) -> float:
    """Relative error bound of a sum of ``n_terms`` products, relative to ``sum |x_i y_i|``.

    First-order worst case, in one-ulp units ``u = 2^-bits`` (which covers both rounding to
    nearest and the truncation some tensor cores use)::

        |fl(sum x_i y_i) - sum x_i y_i| <= (2 u_in + n u_acc) sum |x_i y_i|

    ``2 u_in`` from rounding both factors to ``input_bits`` (TF32: products of two 11-bit
    significands are exact in FP32), ``n u_acc`` from rounding the products and the ``n - 1``
    additions in any order (Higham's gamma_n). Every output of a (transposed) convolution is
    such a sum with ``n = C_in * kh * kw`` at most.

    >>> dot_error_bound(27, FP32) < 1e-5 < 1e-3 < dot_error_bound(27, TF32)
    True
    """
    n = as_size(n_terms, "n_terms")
    if not isinstance(arithmetic, Arithmetic):
        raise TypeError(f"arithmetic must be an Arithmetic (FP32, TF32, FP64), got {arithmetic!r}")
    u_in = 0.0 if arithmetic.input_bits is None else 2.0**-arithmetic.input_bits
    return 2 * u_in + n * 2.0**-arithmetic.accumulate_bits


def tolerance(n_terms: int, arithmetic: Arithmetic) -> float:
    """Tolerance for ``max|a - b| / max(M)`` when ``a`` and ``b`` both come from ``arithmetic``.

    ``M = |W|^T |Y|``, the sums of absolute products (e.g. ``F.conv_transpose2d(|Y|, |w|)``):
    each result is within ``dot_error_bound * M`` of the exact value, so two results are within
    twice that of each other. Two correct FP32 results pass the FP32 tolerance; a TF32 result
    fails it (its input rounding alone is ``2^-11`` relative, far above ``n 2^-23``) and passes
    the TF32 tolerance.

    >>> round(tolerance(27, FP32) / 2.0**-23)
    54
    """
    return 2 * dot_error_bound(n_terms, arithmetic)


def relative_error(got: torch.Tensor, ref: torch.Tensor, magnitude: torch.Tensor) -> float:
    """``max|got - ref| / max(magnitude)``, computed in float64 on the CPU.

    ``magnitude`` is the sum of absolute products (see :func:`tolerance`); comparing against its
    maximum keeps the test meaningful where outputs cancel to nearly zero.

    >>> relative_error(torch.ones(3), torch.ones(3) + 1e-3, torch.full((3,), 2.0)) < 1e-3
    True
    """
    if got.shape != ref.shape:
        raise ValueError(f"got has shape {tuple(got.shape)}, ref {tuple(ref.shape)}")
    g, r = (t.detach().to("cpu", torch.float64) for t in (got, ref))
    m = magnitude.detach().to("cpu", torch.float64).abs().max().item()
    if m == 0:
        return float((g - r).abs().max().item()) if g.numel() else 0.0
    return float((g - r).abs().max().item() / m)


# --------------------------------------------------------------------------------------------
# Determinism and timing (used by the GPU notebook and the benchmarks)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeterministicState:
    """What :func:`set_deterministic` changed, so that :func:`restore_deterministic` can undo it."""

    use_deterministic_algorithms: bool
    warn_only: bool
    cudnn_deterministic: bool
    cudnn_benchmark: bool


def set_deterministic(seed: int = 0, *, warn_only: bool = False) -> DeterministicState:
    """Seed torch and ask for deterministic kernels; return the previous settings.

    Sets ``torch.manual_seed(seed)`` (all devices), ``torch.use_deterministic_algorithms(True)``,
    ``cudnn.deterministic = True`` and ``cudnn.benchmark = False``. On CUDA, cuBLAS additionally
    needs ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` in the environment *before* the first cuBLAS call;
    it is set here if absent. CUDA ``conv_transpose2d`` backward is otherwise nondeterministic
    (atomic adds). Prefer the context manager :func:`deterministic`.

    >>> old = set_deterministic(0); restore_deterministic(old)
    """
    seed = as_size(seed, "seed", minimum=0)
    old = DeterministicState(
        use_deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
        warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn_deterministic=torch.backends.cudnn.deterministic,
        cudnn_benchmark=torch.backends.cudnn.benchmark,
    )
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return old


def restore_deterministic(state: DeterministicState) -> None:
    """Undo :func:`set_deterministic` (the seed is not restored)."""
    enabled = state.use_deterministic_algorithms
    torch.use_deterministic_algorithms(enabled, warn_only=state.warn_only)
    torch.backends.cudnn.deterministic = state.cudnn_deterministic
    torch.backends.cudnn.benchmark = state.cudnn_benchmark


@contextmanager
def deterministic(seed: int = 0, *, warn_only: bool = False) -> Iterator[None]:
    """Context manager: seeded, deterministic torch inside, previous settings restored after.

    >>> with deterministic(0):
    ...     x = torch.randn(2)
    """
    old = set_deterministic(seed, warn_only=warn_only)
    try:
        yield
    finally:
        restore_deterministic(old)


def synchronize(device: torch.device | str | None = None) -> None:
    """Wait until all queued kernels on ``device`` finished (no-op on the CPU)."""
    dev = torch.device(device) if device is not None else pick_device()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


@dataclass(frozen=True)
class Timing:
    """Wall-clock times (seconds) of ``repeats`` synchronised runs after ``warmup`` runs."""

    times: tuple[float, ...]
    device: str

    @property
    def median(self) -> float:
        return float(statistics.median(self.times))

    @property
    def best(self) -> float:
        return float(min(self.times))

    def __str__(self) -> str:
        return f"median {self.median * 1e3:.3g} ms over {len(self.times)} runs on {self.device}"


def time_fn(
    fn: Callable[[], Any],
    *,
    device: torch.device | str | None = None,
    repeats: int = 7,
    warmup: int = 2,
    number: int = 1,
) -> Timing:
    """Time ``fn()`` honestly on ``device``: warm-up runs, synchronisation, median of repeats.

    GPU kernels are launched asynchronously, so a plain ``perf_counter`` around a CUDA call
    measures only the launch. On CUDA each repeat is timed with CUDA events recorded on the
    current stream and ``synchronize``-d; on MPS/CPU with ``time.perf_counter`` after a device
    synchronisation. Each repeat runs ``fn`` ``number`` times and reports the time per call.

    >>> t = time_fn(lambda: torch.ones(10).sum(), device="cpu", repeats=3)
    >>> t.median > 0
    True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    repeats = as_size(repeats, "repeats")
    warmup = as_size(warmup, "warmup", minimum=0)
    number = as_size(number, "number")
    dev = torch.device(device) if device is not None else pick_device()
    for _ in range(warmup):
        fn()
    synchronize(dev)
    times = []
    for _ in range(repeats):
        if dev.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(number):
                fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3 / number)  # elapsed_time is in ms
        else:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            synchronize(dev)
            times.append((time.perf_counter() - t0) / number)
    return Timing(times=tuple(times), device=str(dev))


def time_many(
    fns: dict[str, Callable[[], Any]],
    *,
    device: torch.device | str | None = None,
    repeats: int = 7,
    warmup: int = 1,
) -> dict[str, Timing]:
    """Time several functions *interleaved* (A, B, C, A, B, C, ...): fair under varying load.

    Each function gets ``warmup`` untimed calls, then ``repeats`` synchronised timings taken in
    round-robin order, so a burst of load on a shared machine hits all of them alike; compare
    the medians (ratios measured side by side in one run).

    >>> t = time_many({"a": lambda: torch.ones(9).sum(), "b": lambda: torch.ones(9).mean()},
    ...               device="cpu", repeats=3)
    >>> sorted(t)
    ['a', 'b']
    """
    if not fns:
        raise ValueError("fns must not be empty")
    repeats = as_size(repeats, "repeats")
    warmup = as_size(warmup, "warmup", minimum=0)
    times: dict[str, list[float]] = {name: [] for name in fns}
    dev = torch.device(device) if device is not None else pick_device()
    for name, fn in fns.items():
        if not callable(fn):
            raise TypeError(f"fns[{name!r}] must be callable")
        for _ in range(warmup):
            fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(time_fn(fn, device=dev, repeats=1, warmup=0).times[0])
    return {name: Timing(times=tuple(t), device=str(dev)) for name, t in times.items()}
