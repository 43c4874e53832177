"""The GPU check of notebook 08 and ``benchmarks/gpu_check.py``: correctness, timing, memory.

Everything runs on whatever device :func:`convlab.device.pick_device` returns (CUDA, Apple MPS or
the CPU) and produces plain records (dicts of numbers and strings) that are saved as one JSON
file per run, so a run recorded on another machine is shown by the same code:

- :func:`correctness_matrix`: every implementation of :data:`convlab.transposed.METHODS` against
  ``F.conv_transpose2d`` for several strides / paddings / dilations, in FP32 with TF32 off, with
  TF32 on (real tensor cores where the device has them, else emulated with
  :func:`convlab.device.round_to_tf32`) and in float64 (skipped where the device lacks it), each
  with the tolerance its arithmetic warrants (:func:`convlab.device.tolerance`).
- :func:`timing_table`: interleaved, synchronised medians (CUDA events on CUDA) per size and
  method, with achieved GFLOP/s and GB/s, and the device's peak where torch reports it.
- :func:`cost_model`: what each method does beyond the arithmetic, counted (aten operator calls,
  i.e. kernel launches on a GPU) and modelled (bytes moved), independent of the device.
- :func:`peak_memory`, :func:`determinism`: ``torch.cuda.max_memory_allocated`` per method
  (``None`` = n/a off CUDA); bitwise repeatability with and without
  :func:`convlab.device.deterministic`.
- :func:`save_run`, :func:`load_runs`, :func:`newest_recorded`, :func:`show_recorded`: the run
  format (``gpu_check.json``; ``format`` and ``version`` keys) and its display.

FLOPs of a transposed convolution ``(B, C_in, H, W) -> (B, C_out, H', W')`` with a ``k x k``
kernel: ``2 B C_in C_out k^2 H W`` (one multiply-add per input pixel, tap and channel pair).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from convlab import transposed as T
from convlab._validate import as_size
from convlab.device import (
    FP32,
    FP64,
    TF32,
    deterministic,
    relative_error,
    round_to_tf32,
    supports_dtype,
    synchronize,
    tf32,
    tf32_capable,
    time_fn,
    time_many,
    tolerance,
)

FORMAT, VERSION = "convlab-gpu-check", 1
RESULT_FILE = "gpu_check.json"

# (stride, padding, dilation, output_padding, kernel (kh, kw)): the correctness matrix
CONFIGS: tuple[tuple[int, int, int, int, tuple[int, int]], ...] = (
    (1, 0, 1, 0, (3, 3)),
    (2, 1, 1, 1, (3, 3)),
    (3, 0, 1, 2, (3, 3)),
    (1, 2, 2, 1, (3, 3)),
    (2, 1, 2, 0, (3, 3)),
    (2, 0, 1, 0, (4, 2)),
)
# (B, C_in, C_out, n, k, stride): timing sizes, all upsampling layers n -> 2n (padding (k-1)//2)
GPU_SIZES = (
    (1, 4, 4, 8, 3, 2),
    (8, 16, 16, 64, 3, 2),
    (16, 32, 32, 128, 3, 2),
    (32, 64, 64, 128, 3, 2),
    (64, 64, 64, 128, 4, 2),
    (8, 64, 64, 256, 3, 2),
)
CPU_SIZES = ((1, 4, 4, 8, 3, 2), (4, 8, 8, 16, 3, 2), (8, 16, 16, 32, 3, 2))
LOOP_MAX_WORK = 4 * 8 * 8  # the Python loop makes C_in * H * W iterations: tiny sizes only
VECTORISED = ("taps", "fold", "zero_insertion", "torch")


# --------------------------------------------------------------------------------------------
# Correctness
# --------------------------------------------------------------------------------------------


def _inputs(shape_y, shape_w, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape_y, generator=g), torch.randn(*shape_w, generator=g)


def magnitude(Y: torch.Tensor, w: torch.Tensor, **conv: Any) -> torch.Tensor:
    """``F.conv_transpose2d(|Y|, |w|)`` in float64 on the CPU: each output's sum of |products|."""
    Y64, w64 = (t.detach().to("cpu", torch.float64).abs() for t in (Y, w))
    return F.conv_transpose2d(Y64, w64, **conv)


def correctness_matrix(
    device: torch.device | str,
    *,
    methods: Sequence[str] = T.METHODS,
    configs: Sequence[tuple[int, int, int, int, tuple[int, int]]] = CONFIGS,
    batch: int = 2,
    c_in: int = 3,
    c_out: int = 4,
    size: tuple[int, int] = (6, 5),
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Every method x precision x configuration against ``F.conv_transpose2d`` on ``device``.

    Precisions: ``"float32"`` (TF32 off: FP32 tolerance), ``"tf32"`` (TF32 on; on a device
    without TF32 tensor cores the library reference reads TF32-rounded inputs, the emulation;
    TF32 tolerance), ``"float64"`` (FP64 tolerance; a record with ``passed=None`` and a
    ``skipped`` reason where the device has no float64). Errors are
    :func:`convlab.device.relative_error` against the sums of absolute products, tolerances
    :func:`convlab.device.tolerance` with ``n = C_in kh kw`` terms.
    """
    dev = torch.device(device)
    real_tf32 = tf32_capable(dev)
    rows: list[dict[str, Any]] = []
    for j, (s, p, d, a, k) in enumerate(configs):
        conv = dict(stride=s, padding=p, dilation=d, output_padding=a)
        Y, w = _inputs((batch, c_in, *size), (c_in, c_out, *k), seed + j)
        M = magnitude(Y, w, **conv)
        n_terms = c_in * k[0] * k[1]
        for precision in ("float32", "tf32", "float64"):
            dtype = torch.float64 if precision == "float64" else torch.float32
            base = dict(precision=precision, stride=s, padding=p, dilation=d, output_padding=a)
            base["kernel"] = list(k)
            if not supports_dtype(dev, dtype):
                for m in methods:
                    rows.append(
                        {**base, "method": m, "error": None, "tolerance": None, "passed": None}
                        | {"skipped": f"{dev.type} has no {dtype}"}
                    )
                continue
            Yd, wd = Y.to(dev, dtype), w.to(dev, dtype)
            arith = {"float32": FP32, "tf32": TF32, "float64": FP64}[precision]
            tol = tolerance(n_terms, arith)
            with tf32(precision == "tf32" and real_tf32):
                if precision == "tf32" and not real_tf32:  # emulate the TF32 library call
                    ref = F.conv_transpose2d(round_to_tf32(Yd), round_to_tf32(wd), **conv)
                else:
                    ref = F.conv_transpose2d(Yd, wd, **conv)
                for m in methods:
                    got = T.conv_transpose(Yd, wd, method=m, **conv)
                    err = relative_error(got, ref, M)
                    ok = got.device == ref.device and got.dtype == ref.dtype and err <= tol
                    rows.append({**base, "method": m, "error": err, "tolerance": tol})
                    rows[-1]["passed"] = bool(ok)
                    if precision == "tf32":
                        rows[-1]["tf32"] = "hardware" if real_tf32 else "emulated"
    return rows


def failures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The correctness records that failed (skipped ones, ``passed=None``, are not failures)."""
    return [r for r in rows if r["passed"] is False]


# --------------------------------------------------------------------------------------------
# What each method costs beyond the arithmetic (device-independent)
# --------------------------------------------------------------------------------------------


class _CountOps(TorchDispatchMode):
    """Count aten operator calls that compute something (views and reshapes excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not (func.is_view or "view" in str(func) or "alias" in str(func)):
            self.count += 1
        return func(*args, **(kwargs or {}))


def count_ops(fn: Callable[[], Any]) -> int:
    """Number of computing aten operator calls ``fn()`` makes (about one GPU kernel launch each).

    >>> count_ops(lambda: torch.ones(3) + 1)
    2
    """
    with _CountOps() as counter:
        fn()
    return counter.count


def cost_model(size: tuple[int, int, int, int, int, int], itemsize: int = 4) -> dict[str, Any]:
    """Operator calls and modelled memory traffic per method for one layer size.

    Operator calls are counted on the ``meta`` device (shapes only, no memory, no arithmetic).

    ``size = (B, C_in, C_out, n, k, s)``, padding ``(k-1)//2``, output ``s n`` (upsampling).
    Bytes are a model (every tensor an operator reads or writes is moved once through DRAM):

    - ``compulsory``: read ``Y`` and ``w``, write ``X``: what an implicit GEMM (the library)
      needs at least.
    - ``fold``: + write and read the column buffer ``B C_out k^2 n^2``, which is ``k^2/s^2``
      times the output ``B C_out (s n)^2``; + zero-fill and crop of the output.
    - ``taps``: the column buffer as ``fold``; then each of the ``k^2`` taps reads and writes
      its strided quarter of the output (``2 B C_out n^2`` each).
    - ``zero_insertion``: the stretched, padded input ``B C_in (s n + k)^2`` written and read;
      ``1 - 1/s^2`` of its products hit inserted zeros.
    - ``loop``: ``C_in n^2`` read-modify-writes of a ``B C_out k^2`` patch.
    """
    B, ci, co, n, k, s = (as_size(v, "size") for v in size)
    p = (k - 1) // 2
    a = T.adjoint_output_padding(s * n, k, s, p)
    out = T.conv_transpose_output_size(n, k, s, p, 1, a)
    full = (n - 1) * s + k
    y, w, x = B * ci * n * n, ci * co * k * k, B * co * out * out
    cols = B * co * k * k * n * n
    compulsory = y + w + x
    elements = {
        "torch": compulsory,
        "fold": compulsory + 2 * cols + 2 * B * co * full * full,
        "taps": compulsory + 2 * cols + 2 * B * co * full * full + 2 * k * k * B * co * n * n,
        "zero_insertion": compulsory + 2 * B * ci * (full + k) ** 2,
        "loop": compulsory + 2 * ci * n * n * B * co * k * k,
    }
    # shapes only: on the meta device nothing is allocated or computed
    Y, wt = torch.zeros(B, ci, n, n, device="meta"), torch.zeros(ci, co, k, k, device="meta")
    conv = dict(stride=s, padding=p, output_padding=a)
    ops = {}
    for m in T.METHODS:
        if m == "loop" and ci * n * n > LOOP_MAX_WORK:
            ops[m] = None  # too slow to count here; about 3 per iteration (mul, add_, copy_)
            continue
        ops[m] = count_ops(lambda m=m: T.conv_transpose(Y, wt, method=m, **conv))
    return {
        "size": list(size),
        "output": [B, co, out, out],
        "flops": 2 * B * ci * co * k * k * n * n,
        "column_buffer_over_output": cols / x,
        "bytes": {m: e * itemsize for m, e in elements.items()},
        "ops": ops,
    }


# --------------------------------------------------------------------------------------------
# Timing, memory, determinism
# --------------------------------------------------------------------------------------------


def device_info(device: torch.device | str) -> dict[str, Any]:
    """Device kind and name, library versions, and the peaks torch reports (else ``None``)."""
    dev = torch.device(device)
    info: dict[str, Any] = {
        "type": dev.type,
        "name": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "capability": None,
        "peak_gbs": None,
        "peak_gflops_fp32": None,
        "peak_gflops_tf32": None,
    }
    if dev.type == "mps":
        info["name"] = "Apple MPS"
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        info["name"], info["capability"] = props.name, [props.major, props.minor]
        try:  # torch's table of theoretical limits (sm_80, sm_90, sm_100 only)
            from torch.cuda._device_limits import GPULimits

            lim = GPULimits(dev)
            info["peak_gbs"] = lim.get_memory_bandwidth_Bps() / 1e9
            info["peak_gflops_fp32"] = 1e3 * lim.get_tflops_per_second(torch.float32, False)
            info["peak_gflops_tf32"] = 1e3 * lim.get_tflops_per_second(torch.float32, True)
        except (ImportError, RuntimeError, AttributeError):
            pass
    return info


def _layer(size, device, dtype=torch.float32, seed: int = 0):
    B, ci, co, n, k, s = size
    g = torch.Generator().manual_seed(seed)
    Y = torch.randn(B, ci, n, n, generator=g).to(device, dtype)
    w = torch.randn(ci, co, k, k, generator=g).to(device, dtype)
    p = (k - 1) // 2
    conv = dict(stride=s, padding=p, output_padding=T.adjoint_output_padding(s * n, k, s, p))
    return Y, w, conv


def timing_table(
    device: torch.device | str,
    sizes: Sequence[tuple[int, int, int, int, int, int]],
    *,
    repeats: int = 5,
    warmup: int = 2,
    compile_fold: bool = False,
) -> list[dict[str, Any]]:
    """Median time of each method per size, FP32 with TF32 off; one record per (size, method).

    The vectorised methods and the library are timed interleaved (:func:`time_many`: warm-up,
    device synchronisation, CUDA events on CUDA); the lecture's loop once, and only where
    ``C_in n^2 <= LOOP_MAX_WORK``. ``compile_fold`` adds ``torch.compile`` of ``fold``.
    A size that does not fit in device memory is skipped with a message.
    Records carry ``median_s``, ``times_s``, ``gflops`` (useful flops / time), ``gbs``
    (modelled bytes of that method / time; the compiled ``fold`` is charged ``fold``'s bytes,
    so a higher GB/s there means fusion saved traffic), ``ratio`` (time / library time).
    """
    dev = torch.device(device)
    rows = []
    with tf32(False):
        for size in sizes:
            try:
                times = _time_size(size, dev, repeats, warmup, compile_fold)
            except torch.cuda.OutOfMemoryError:  # a smaller GPU: skip the size, say so
                print(f"timing: {_size_text(size)} skipped, out of device memory")
                _empty_cache(dev)
                continue
            cost = cost_model(size)
            lib = times["torch"].median
            for m, t in times.items():
                moved = cost["bytes"][m.removesuffix("_compiled")]
                rows.append(
                    {
                        "size": list(size),
                        "method": m,
                        "median_s": t.median,
                        "times_s": list(t.times),
                        "ratio": t.median / lib,
                        "gflops": cost["flops"] / t.median / 1e9,
                        "gbs": moved / t.median / 1e9,
                    }
                )
    return rows


def _empty_cache(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def _time_size(size, dev, repeats, warmup, compile_fold):
    Y, w, conv = _layer(size, dev)
    fns: dict[str, Callable[[], Any]] = {
        m: (lambda m=m: T.conv_transpose(Y, w, method=m, **conv)) for m in VECTORISED
    }
    if compile_fold:
        compiled = torch.compile(T.conv_transpose_fold, dynamic=False)
        fns["fold_compiled"] = lambda: compiled(Y, w, **conv)
    times = time_many(fns, device=dev, repeats=repeats, warmup=warmup)
    if size[1] * size[3] ** 2 <= LOOP_MAX_WORK:
        loop = lambda: T.conv_transpose(Y, w, method="loop", **conv)  # noqa: E731
        times["loop"] = time_fn(loop, device=dev, repeats=1, warmup=0)
    return times


def peak_memory(device: torch.device | str, size) -> dict[str, int | None]:
    """Peak extra bytes allocated by one call of each method (CUDA only; ``None`` = n/a)."""
    dev = torch.device(device)
    if dev.type != "cuda":
        return {m: None for m in VECTORISED}
    Y, w, conv = _layer(size, dev)
    out = {}
    for m in VECTORISED:
        synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        T.conv_transpose(Y, w, method=m, **conv)
        synchronize(dev)
        out[m] = torch.cuda.max_memory_allocated(dev) - base
    return out


def determinism(device: torch.device | str, size, *, runs: int = 5) -> list[dict[str, Any]]:
    """Repeat forward and backward (gradients w.r.t. input and weight) ``runs`` times per method.

    Records whether every run is bitwise equal to the first (``repeatable``) and the largest
    difference of the weight gradient from the first run, with and without
    :func:`convlab.device.deterministic`. On CUDA, cuDNN's fastest backward algorithms add with
    atomics in a varying order; deterministic mode picks algorithms that do not (an operation
    without a deterministic implementation raises; its record then carries the ``error``).
    """
    dev = torch.device(device)
    rows = []
    for mode in ("default", "deterministic"):
        for m in VECTORISED:
            row: dict[str, Any] = {"mode": mode, "method": m, "runs": runs}
            try:
                with tf32(False):
                    results = []
                    for _ in range(runs):
                        if mode == "deterministic":
                            with deterministic(0):
                                results.append(_forward_backward(size, dev, m))
                        else:
                            results.append(_forward_backward(size, dev, m))
            except RuntimeError as exc:
                rows.append(row | {"error": str(exc).splitlines()[0]})
                continue
            first = results[0]
            for i, name in enumerate(("forward", "grad_input", "grad_weight")):
                row[f"repeatable_{name}"] = all(torch.equal(r[i], first[i]) for r in results)
            spread = max((r[2] - first[2]).abs().max().item() for r in results)
            row["max_spread_grad_weight"] = spread
            rows.append(row)
    return rows


def _forward_backward(size, dev, method):
    Y, w, conv = _layer(size, dev)
    Y.requires_grad_(True)
    w.requires_grad_(True)
    X = T.conv_transpose(Y, w, method=method, **conv)
    gY, gw = torch.autograd.grad(X.square().sum() / 2, (Y, w))
    return X.detach().cpu(), gY.cpu(), gw.cpu()


# --------------------------------------------------------------------------------------------
# The run format: save, load, show
# --------------------------------------------------------------------------------------------


def new_run(device: torch.device | str, *, quick: bool) -> dict[str, Any]:
    """An empty run record for ``device`` (date in UTC, ISO 8601)."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    return {
        "format": FORMAT,
        "version": VERSION,
        "date": now.isoformat(),
        "quick": quick,
        "device": device_info(device),
    }


def save_run(run: dict[str, Any], out_dir: str | Path) -> Path:
    """Write ``run`` to ``out_dir/gpu_check.json`` (directories created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULT_FILE
    path.write_text(json.dumps(run, indent=1, sort_keys=True) + "\n")
    return path


def load_runs(results_dir: str | Path) -> list[dict[str, Any]]:
    """Every run under ``results_dir`` (any depth), oldest first; each gets its ``path``."""
    runs = []
    for path in sorted(Path(results_dir).rglob(RESULT_FILE)):
        run = json.loads(path.read_text())
        if run.get("format") != FORMAT or run.get("version") != VERSION:
            raise ValueError(f"{path}: not a {FORMAT} v{VERSION} file")
        run["path"] = str(path)
        runs.append(run)
    return sorted(runs, key=lambda r: r["date"])


def newest_recorded(
    results_dir: str | Path, device_types: Sequence[str] = ("cuda", "mps")
) -> dict[str, Any] | None:
    """The newest full (not ``quick``) run on one of ``device_types``, or ``None``."""
    runs = [
        r
        for r in load_runs(results_dir)
        if r["device"]["type"] in device_types and not r.get("quick")
    ]
    return runs[-1] if runs else None


def format_table(rows: list[dict[str, Any]], device: dict[str, Any] | None = None) -> str:
    """The timing records as a text table, one line per size and method.

    Columns: median ms, time over the library's (``x lib``), achieved GFLOP/s (useful flops)
    and GB/s (the method's modelled bytes, :func:`cost_model`); with a ``device`` record
    (:func:`device_info`) that knows its peaks, also their percentage of the FP32 peak FLOP/s
    and of the peak bandwidth.
    """
    known = device or {}
    peaks = [(k, known.get(p)) for k, p in (("gflops", "peak_gflops_fp32"), ("gbs", "peak_gbs"))]
    peaks = [(k, v) for k, v in peaks if v]
    head = f"{'B':>3} {'Cin':>4} {'Cout':>4} {'n':>4} {'k':>2} {'s':>2}  {'method':<14}"
    head += f"{'ms':>10} {'x lib':>7} {'GFLOP/s':>8} {'GB/s':>7}"
    head += "".join(f" {'%peak ' + ('FLOP' if k == 'gflops' else 'BW'):>11}" for k, _ in peaks)
    lines = [head]
    for r in rows:
        B, ci, co, n, k, s = r["size"]
        lines.append(
            f"{B:>3} {ci:>4} {co:>4} {n:>4} {k:>2} {s:>2}  {r['method']:<14}"
            f"{r['median_s'] * 1e3:10.3f} {r['ratio']:7.1f} {r['gflops']:8.2f} {r['gbs']:7.2f}"
            + "".join(f" {100 * r[key] / peak:11.1f}" for key, peak in peaks)
        )
    return "\n".join(lines)


def plot_timing(rows: list[dict[str, Any]], ax: Any, title: str) -> None:
    """GFLOP/s of each method against the layer's flops (log-log) on a matplotlib axis."""
    for m in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((cost_flops(r["size"]), r["gflops"]) for r in rows if r["method"] == m)
        ax.loglog(*zip(*pts), "o-", label=m)
    ax.set_xlabel("flops of the layer (2 B C_in C_out k^2 n^2)")
    ax.set_ylabel("achieved GFLOP/s (higher is better)")
    ax.set_title(title)
    ax.legend()


def cost_flops(size: Sequence[int]) -> int:
    """``2 B C_in C_out k^2 n^2`` for ``size = (B, C_in, C_out, n, k, s)``."""
    B, ci, co, n, k, _ = size
    return 2 * B * ci * co * k * k * n * n


def _size_text(size: Sequence[int]) -> str:
    return "B={}, C_in={}, C_out={}, n={}, k={}, s={}".format(*size)


def analyse(run: dict[str, Any]) -> list[str]:
    """Sentences computed from a run's records: why the methods differ, in numbers.

    - Memory traffic, at the largest size timed: each method's time over the library's beside
      its modelled bytes over the library's, and how long those bytes take at the device's
      peak bandwidth (where known); the library's fraction of peak FLOP/s and bandwidth.
    - Launches, at the smallest size: time per operator call of each method.
    - Atomics: which methods' gradients were not bitwise repeatable in default mode, and
      whether deterministic mode was (if the run has ``determinism`` records).
    - Memory: peak bytes allocated per method over the output's size (if measured).
    """
    rows = run["timing"]
    sizes = sorted({tuple(r["size"]) for r in rows}, key=cost_flops)
    dev = run["device"]
    peak_gbs, peak_fl = dev.get("peak_gbs"), dev.get("peak_gflops_fp32")
    by = {(tuple(r["size"]), r["method"]): r for r in rows}
    big, small = sizes[-1], sizes[0]
    cost = cost_model(big)
    out = [f"memory traffic at {_size_text(big)}:"]
    for m in ("fold", "taps", "zero_insertion"):
        if (big, m) not in by:
            continue
        r = by[big, m]
        line = (
            f"  {m}: {r['ratio']:.2g}x the library's time, "
            f"{cost['bytes'][m] / cost['bytes']['torch']:.1f}x its modelled bytes"
        )
        if peak_gbs:
            t_bw = cost["bytes"][m] / (peak_gbs * 1e9)
            line += f"; moving them at peak bandwidth takes {t_bw / r['median_s']:.0%} of its time"
        out.append(line)
    lib = by[big, "torch"]
    line = f"  library: {lib['gflops']:.3g} GFLOP/s, {lib['gbs']:.3g} GB/s"
    fractions = [f"{lib['gflops'] / peak_fl:.0%} of FP32 peak FLOP/s"] if peak_fl else []
    fractions += [f"{lib['gbs'] / peak_gbs:.0%} of peak bandwidth"] if peak_gbs else []
    out.append(line + (f" ({', '.join(fractions)})" if fractions else ""))
    ops = cost_model(small)["ops"]
    out.append(f"launches at {_size_text(small)}:")
    out += [
        f"  {m}: {by[small, m]['median_s'] / ops[m] * 1e6:.3g} us per operator call "
        f"({ops[m]} calls)"
        for m in T.METHODS
        if (small, m) in by and ops.get(m)
    ]
    det = [r for r in run.get("determinism", []) if "error" not in r]
    if det:
        varies = [
            f"{r['method']} (spread {r['max_spread_grad_weight']:.1e})"
            for r in det
            if r["mode"] == "default" and not r["repeatable_grad_weight"]
        ]
        fixed = all(
            r[f"repeatable_{x}"]
            for r in det
            if r["mode"] == "deterministic"
            for x in ("forward", "grad_input", "grad_weight")
        )
        out.append(
            "atomics: weight gradients not bitwise repeatable in default mode: "
            + (", ".join(varies) or "none")
            + f"; deterministic mode repeatable: {fixed}"
        )
    mem = run.get("memory") or {}
    if any(v is not None for v in mem.get("peak_bytes", {}).values()):
        out_bytes = 4 * int(torch.tensor(cost_model(mem["size"])["output"]).prod())
        out.append(
            f"peak memory over the output's size at {_size_text(mem['size'])}: "
            + ", ".join(f"{m} {b / out_bytes:.1f}x" for m, b in mem["peak_bytes"].items())
        )
    return out


def _short(path: str | Path, parts: int = 2) -> str:
    """The last ``parts`` components of a path (no machine-specific prefix in outputs)."""
    return "/".join(Path(path).parts[-parts:])


def show_recorded(results_dir: str | Path) -> dict[str, Any] | None:
    """Print (and plot) the newest recorded GPU run under ``results_dir``, labelled as recorded.

    Returns the run, or ``None`` after saying that no GPU run has been recorded yet.
    """
    import matplotlib.pyplot as plt

    run = newest_recorded(results_dir)
    if run is None:
        print(
            f"No recorded GPU run in {_short(results_dir)}/ yet: run `make gpu-check` on a "
            "machine with a GPU and commit its output directory there (see the README)."
        )
        return None
    dev = run["device"]
    print(f"RECORDED run (not this machine): {_short(run['path'], 4)}")
    print(
        f"  device {dev['name']} ({dev['type']}, capability {dev.get('capability')}), "
        f"torch {dev['torch']}, CUDA {dev.get('cuda')}, cuDNN {dev.get('cudnn')}, "
        f"date {run['date']}"
    )
    bad = failures(run["correctness"])
    print(f"  correctness: {len(run['correctness'])} checks, {len(bad)} failed")
    print(format_table(run["timing"], dev))
    for line in analyse(run):
        print(line)
    _, ax = plt.subplots(figsize=(7, 4))
    plot_timing(run["timing"], ax, f"RECORDED: {dev['name']}, {run['date'][:10]}")
    plt.show()
    return run
