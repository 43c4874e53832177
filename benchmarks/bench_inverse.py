"""CT forward model: convlab's sparse Radon matrix vs ``skimage.transform.radon``.

Run ``python benchmarks/bench_inverse.py [--quick]``. Per image size (angles in ``[0, 180)``),
measured side by side in one run (median of interleaved repeats, ``convlab.device.time_many``):

* ``skimage``: ``skimage.transform.radon(image, theta, circle=True)`` for one image (one
  ``warp`` per angle),
* ``ours x1`` / ``ours x16``: ``Radon(theta, size)(x)`` (one sparse-dense product) per image,
  for a single image and a batch of 16,
* ``build``: :func:`convlab.inverse.radon_matrix` (vectorised index arithmetic; paid once),

and the ratios ``skimage / ours`` (speed-up per image) and ``build / skimage`` (how many skimage
calls the one-off build costs). Before timing, the two sinograms are checked equal (same
discretisation). The claim checked (exit code 1 otherwise): at 64x64 with 180 angles the build
takes < 1 s and applying the matrix to one image is faster than ``skimage.radon``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import skimage.transform
import torch
from _timing import once

from convlab.device import time_many
from convlab.inverse import Radon, circle_mask, radon_matrix

SIZES = [(32, 180), (64, 30), (64, 180), (128, 180), (256, 90)]
QUICK = [(16, 12), (32, 30)]
REFERENCE = (64, 180)
BATCH = 16


def measure(size, n_angles, repeats):
    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    build = once(lambda: radon_matrix(theta, size))  # one cold build (what a user pays)
    R = Radon(theta, size)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, size, size, generator=g, dtype=torch.float64) * circle_mask(size)
    img = x[0].numpy()
    ref = skimage.transform.radon(img, theta, circle=True)
    if not np.allclose(R(x[0]).numpy(), ref, rtol=1e-9, atol=1e-9):
        raise AssertionError(f"Radon disagrees with skimage.transform.radon at {size}")
    t = time_many(
        {
            "skimage": lambda: skimage.transform.radon(img, theta, circle=True),
            "ours x1": lambda: R(x[:1]),
            "ours x16": lambda: R(x),
        },
        device="cpu",
        repeats=repeats,
        warmup=1,
    )
    return {
        "nnz": R.matrix.nnz,
        "build": build,
        "skimage": t["skimage"].median,
        "ours x1": t["ours x1"].median,
        "ours x16": t["ours x16"].median / BATCH,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else SIZES
    repeats = 3 if args.quick else 7
    print(f"== cpu, float64, median of {repeats}; times per image; ratio = skimage / ours")
    print(
        f"{'size':>7} {'angles':>6} {'nnz':>9} | {'skimage':>9} {'ours x1':>9} {'ours x16':>9} |"
        f" {'speed-up x1':>11} {'speed-up x16':>12} | {'build':>8} {'build/skimage':>13}"
    )
    results = {}
    for size, n_angles in sizes:
        r = measure(size, n_angles, repeats)
        results[(size, n_angles)] = r
        ms = lambda s: f"{s * 1e3:7.2f}ms"  # noqa: E731
        print(
            f"{f'{size}x{size}':>7} {n_angles:>6} {r['nnz']:>9} | {ms(r['skimage'])} "
            f"{ms(r['ours x1'])} {ms(r['ours x16'])} | {r['skimage'] / r['ours x1']:10.1f}x "
            f"{r['skimage'] / r['ours x16']:11.1f}x | {ms(r['build'])} "
            f"{r['build'] / r['skimage']:12.1f}x"
        )
    if args.quick:
        return 0
    r = results[REFERENCE]
    ok = r["build"] < 1.0 and r["ours x1"] < r["skimage"]
    print(
        f"reference {REFERENCE[0]}x{REFERENCE[0]}, {REFERENCE[1]} angles: build "
        f"{r['build']:.2f} s, apply {r['skimage'] / r['ours x1']:.1f}x faster than skimage: {ok}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
