"""One-command GPU check: correctness, timing, determinism and memory of transposed convolution.

Run ``make gpu-check`` or ``python benchmarks/gpu_check.py [--out DIR] [--quick] [--compile]``
on any machine; it uses the device :func:`convlab.device.pick_device` returns (CUDA, Apple MPS,
else the CPU, where it runs a reduced version in well under a minute). It writes into ``DIR``
(default ``benchmarks/results/<UTC date>_<device>/``):

- ``gpu_check.json``: the run (:mod:`convlab.gpubench` format): device, torch / CUDA / cuDNN
  versions, date; the correctness matrix (every implementation x FP32 with TF32 off x TF32 on x
  float64 x strides / paddings / dilations, each with the tolerance its arithmetic warrants);
  the timing table (warm-up, interleaved repeats, medians; CUDA events on CUDA; GFLOP/s and
  GB/s, the device's peaks where torch reports them); determinism with and without
  ``convlab.device.deterministic``; peak memory per method (CUDA only, else n/a); the modelled
  costs (operator calls, bytes moved).
- ``timing.png``: achieved GFLOP/s per method; ``08_gpu_transposed_conv.ipynb``: notebook 08
  executed on this device (``--no-notebook`` skips it).

Exit code 1 when any correctness check fails (or the notebook fails). Commit the directory of a
GPU run under ``benchmarks/results/``: notebook 08 shows the newest one, labelled as recorded.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before the first cuBLAS call

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from convlab import gpubench as G
from convlab.device import pick_device

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "08_gpu_transposed_conv.ipynb"
REFERENCE = (8, 16, 16, 64, 3, 2)  # memory and determinism (GPU); the notebook's reference size
QUICK_DETERMINISM = (2, 4, 4, 16, 3, 2)


def default_out(run: dict) -> Path:
    """``benchmarks/results/<UTC date and time>_<device type>_<device name slug>``."""
    dev = run["device"]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(dev["name"])).strip("-").lower() or "unknown"
    stamp = run["date"][:19].replace(":", "").replace("-", "")
    return ROOT / "benchmarks" / "results" / f"{stamp}_{dev['type']}_{slug}"


def execute_notebook(out_dir: Path) -> None:
    """Execute notebook 08 (from ``notebooks/``, as a student would) and save it into out_dir."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    nbformat.write(nb, out_dir / NOTEBOOK.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="output directory (default: see module docstring)")
    ap.add_argument("--device", choices=["cuda", "mps", "cpu"], help="default: pick_device()")
    ap.add_argument("--quick", action="store_true", help="reduced sizes (default on a CPU)")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile(fold)")
    ap.add_argument("--no-notebook", action="store_true", help="do not execute notebook 08")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    dev = pick_device(args.device)
    quick = args.quick or dev.type == "cpu"
    run = G.new_run(dev, quick=quick)
    out = args.out or default_out(run)
    info = run["device"]
    print(
        f"gpu-check on {info['name']} ({dev}), torch {info['torch']}, CUDA {info['cuda']}, "
        f"cuDNN {info['cudnn']}; {'reduced' if quick else 'full'} run -> {out}"
    )

    run["correctness"] = G.correctness_matrix(dev)
    bad = G.failures(run["correctness"])
    skipped = {r["skipped"] for r in run["correctness"] if r.get("skipped")}
    print(
        f"correctness: {len(run['correctness'])} checks, {len(bad)} failed"
        + (f"; skipped: {', '.join(sorted(skipped))}" if skipped else "")
    )
    for r in bad:
        print("  FAILED", r)

    sizes = G.CPU_SIZES if quick else G.GPU_SIZES
    run["timing"] = G.timing_table(
        dev, sizes, repeats=5 if quick else 7, warmup=1 if quick else 3, compile_fold=args.compile
    )
    run["costs"] = [G.cost_model(s) for s in sizes]
    print(G.format_table(run["timing"], info))
    print("\n".join(G.analyse(run)))

    size = QUICK_DETERMINISM if quick else REFERENCE
    run["memory"] = {"size": list(size), "peak_bytes": G.peak_memory(dev, size)}
    mem = run["memory"]["peak_bytes"]
    print(
        f"peak memory per call at {size}: "
        + ", ".join(f"{m} {'n/a' if b is None else f'{b / 2**20:.1f} MiB'}" for m, b in mem.items())
    )
    run["determinism"] = G.determinism(dev, size, runs=3 if quick else 5)
    for r in run["determinism"]:
        if "error" in r:
            print(f"determinism {r['mode']:>13} {r['method']:>14}: error {r['error']}")
        else:
            print(
                f"determinism {r['mode']:>13} {r['method']:>14}: forward "
                f"{r['repeatable_forward']}, grad input {r['repeatable_grad_input']}, grad "
                f"weight {r['repeatable_grad_weight']} (spread {r['max_spread_grad_weight']:.1e})"
            )
    not_det = [  # an operation torch cannot run deterministically is reported, not a failure
        r
        for r in run["determinism"]
        if r["mode"] == "deterministic"
        and "error" not in r
        and not all(r[f"repeatable_{k}"] for k in ("forward", "grad_input", "grad_weight"))
    ]

    run["seconds"] = time.perf_counter() - t0
    path = G.save_run(run, out)
    fig, ax = plt.subplots(figsize=(7, 4))
    G.plot_timing(run["timing"], ax, f"{info['name']} ({dev.type}), {run['date'][:10]}")
    fig.savefig(out / "timing.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path} and {out / 'timing.png'}")
    status = 1 if bad or not_det else 0
    if not_det:
        print(
            "FAILED: deterministic mode was not bitwise repeatable for",
            sorted({r["method"] for r in not_det}),
        )
    if not args.no_notebook:
        try:
            execute_notebook(out)
            print(f"wrote {out / NOTEBOOK.name}")
        except Exception as exc:  # a failing cell: report it, keep the other results
            print(f"FAILED: notebook 08: {type(exc).__name__}: {str(exc)[-2000:]}")
            status = 1
    print(f"done in {time.perf_counter() - t0:.0f} s, exit code {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
