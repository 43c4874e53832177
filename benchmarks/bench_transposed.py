"""Transposed convolution: lecture loop, taps, fold, zero insertion vs F.conv_transpose2d.

Run ``python benchmarks/bench_transposed.py [--quick] [--device cpu|cuda|auto]``. Prints, per size,
the median time of each implementation (warm-up, synchronised repeats; CUDA events on CUDA) and
its ratio to ``F.conv_transpose2d`` measured in the same run, plus the library's throughput in
GFLOP/s (2 * B * C_in * C_out * k^2 * H' * W' flops). The lecture's Python loop runs only at
small sizes. At the reference size (batch 8, 16 -> 16 channels, 64x64, k = 3, stride 2) the
best vectorised method (``taps`` or ``fold``) must be within 3x of the library
(exit code 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys

import torch

from convlab import transposed as T
from convlab.device import pick_device, time_fn, time_many

# (batch, c_in, c_out, size, kernel, stride)
SIZES = [
    (1, 4, 4, 16, 3, 2),
    (8, 16, 16, 32, 3, 2),
    (8, 16, 16, 64, 3, 2),  # the reference size
    (8, 32, 32, 64, 4, 2),
    (16, 64, 32, 32, 3, 2),
]
QUICK = [(1, 2, 2, 8, 3, 2), (2, 4, 4, 12, 3, 2)]
REFERENCE = (8, 16, 16, 64, 3, 2)
METHODS = ("loop", "taps", "fold", "zero_insertion", "torch")
LOOP_MAX_WORK = 4 * 16 * 16  # C_in * H * W iterations of Python


def measure(size, device, repeats, warmup):
    B, ci, co, n, k, s = size
    g = torch.Generator().manual_seed(0)
    Y = torch.randn(B, ci, n, n, generator=g).to(device)
    w = torch.randn(ci, co, k, k, generator=g).to(device)
    p = (k - 1) // 2
    a = T.adjoint_output_padding(s * n, k, s, p)  # the adjoint of a conv from s*n x s*n
    ref = torch.nn.functional.conv_transpose2d(Y, w, stride=s, padding=p, output_padding=a)
    fns = {}
    for m in METHODS:

        def fn(m=m):
            return T.conv_transpose(Y, w, stride=s, padding=p, output_padding=a, method=m)

        if m == "loop" and ci * n * n > LOOP_MAX_WORK:
            continue
        if not torch.allclose(fn(), ref, rtol=1e-4, atol=1e-3):
            raise AssertionError(f"{m} disagrees with F.conv_transpose2d at {size}")
        fns[m] = fn
    loop = fns.pop("loop", None)
    out = time_many(fns, device=device, repeats=repeats, warmup=warmup)  # interleaved
    if loop is not None:
        out["loop"] = time_fn(loop, device=device, repeats=1, warmup=0)
    flops = 2 * B * ci * co * k * k * n * n
    return out, flops


def table(device, sizes, repeats, warmup):
    print(f"\n== {device} (median of {repeats}, ratio = time / F.conv_transpose2d time)")
    head = f"{'B':>3} {'Cin':>4} {'Cout':>4} {'HxW':>6} {'k':>2} {'s':>2} |"
    print(head + "".join(f"{m:>16}" for m in METHODS) + " | torch GFLOP/s")
    ratios = {}
    for size in sizes:
        res, flops = measure(size, device, repeats, warmup)
        lib = res["torch"].median
        cells = []
        for m in METHODS:
            if m in res:
                r = res[m].median / lib
                cells.append(f"{res[m].median * 1e3:8.2f}ms {r:5.1f}x")
                ratios[(size, m)] = r
            else:
                cells.append(f"{'-':>16}")
        B, ci, co, n, k, s = size
        print(
            f"{B:>3} {ci:>4} {co:>4} {f'{n}x{n}':>6} {k:>2} {s:>2} |"
            + "".join(f"{c:>16}" for c in cells)
            + f" | {flops / lib / 1e9:8.2f}"
        )
    return ratios


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else SIZES
    repeats, warmup = (3, 1) if args.quick else (7, 2)
    devices = ["cpu"]
    if args.device == "cuda" or (args.device == "auto" and pick_device().type == "cuda"):
        devices.append("cuda")
    if args.device == "cpu":
        devices = ["cpu"]
    if "cuda" not in devices:
        print("No CUDA device: CPU table only (the same script prints a CUDA table on a GPU).")
    status = 0
    for dev in devices:
        ratios = table(dev, sizes, repeats, warmup)
        if not args.quick:
            rf, rt = ratios[(REFERENCE, "fold")], ratios[(REFERENCE, "taps")]
            ok = min(rf, rt) < 3.0
            print(
                f"reference size {REFERENCE}: fold / library = {rf:.2f}, taps / library = "
                f"{rt:.2f}; best vectorised < 3x: {ok}"
            )
            status |= 0 if ok else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
