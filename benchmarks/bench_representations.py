"""Unit 9 benchmark: the image back from its filter responses, three ways.

For n x n images (n = 16 ... 256) and the 6-filter "oriented" bank (7 x 7 taps), one table of
times measured side by side in one run (medians of repeats, CPU, one thread):

* ``fft``: :func:`convlab.representations.reconstruct` closed form by the convolution theorem
  (every response observed), the baseline;
* ``cg``: the same with 30% of the responses lost (``mask=``; matrix-free CG on the normal
  equations, FFT matvecs, preconditioned by the closed form; ``tol=1e-10``);
* ``dense``: ``np.linalg.lstsq`` on the explicit stacked matrix ``[K_1; ...; K_6]`` of size
  ``6 n^2 x n^2`` (its construction is *not* timed: favourable to dense), all responses, and
  ``dense masked``: the same on the observed rows only (the dense twin of ``cg``).

Where the stacked matrix would not fit in the course machine's 24 GiB the table says so and
nothing is allocated; where the SVD-based ``lstsq`` would take more than ``MAX_GFLOP`` it is
skipped.

Usage: ``python benchmarks/bench_representations.py [--quick]`` (``--quick``: tiny sizes).
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.ndimage
import torch
from _timing import median

from convlab.representations import filter_bank, reconstruct, responses

MACHINE_BYTES = 24 * 2**30  # the course machine
#: do not time a dense least-squares solve above this many GFlop (rough count, see _gflop)
MAX_GFLOP = 60.0
LOST = 0.3  # fraction of the responses knocked out for the masked solvers


def stacked_matrix(filters: torch.Tensor, n: int) -> np.ndarray:
    """``[K_1; ...; K_K]`` probed with scipy on the n^2 unit images (row-major vectorisation)."""
    eye = np.eye(n * n).reshape(n * n, n, n)
    return np.concatenate(
        [
            scipy.ndimage.convolve(eye, f.numpy()[None], mode="wrap").reshape(n * n, -1).T
            for f in filters
        ]
    )


def _gflop(rows: int, cols: int) -> float:
    # lstsq (LAPACK gelsd): QR of the tall matrix (2 m n^2) + an SVD of the n x n factor (~10 n^3)
    return (2 * rows * cols**2 + 10 * cols**3) / 1e9


def bench(sizes: list[int], gen: torch.Generator) -> None:
    f = filter_bank("oriented")
    k = f.shape[0]
    print(
        f"\nReconstruction from the responses of the 'oriented' bank ({k} filters, 7x7):"
        " time / time of the FFT closed form"
    )
    print(f"('cg' and 'dense masked': {LOST:.0%} of the responses lost; 'dense' = np.linalg.lstsq")
    print(" on the explicit stacked matrix, its construction not timed; medians of repeats)\n")
    head = ("n x n", "fft ms", "cg", "cg iters", "dense", "dense masked", "dense masked/cg")
    print(
        f"{head[0]:>9} {head[1]:>9} {head[2]:>8} {head[3]:>9} {head[4]:>9} {head[5]:>13}"
        f" {head[6]:>16}"
    )
    notes = []
    rate = 0.0
    for n in sizes:
        x = torch.rand(n, n, generator=gen, dtype=torch.float64)
        r = responses(x, f)
        keep = torch.rand(r.shape, generator=gen) >= LOST
        t_fft = median(lambda r=r: reconstruct(r, f))
        _, its = reconstruct(r, f, mask=keep, return_info=True)
        t_cg = median(lambda r=r, keep=keep: reconstruct(r, f, mask=keep), slow=n >= 256)
        rows, cols = k * n * n, n * n
        need = 8 * rows * cols
        cells: dict[str, float | str] = {}
        if need > MACHINE_BYTES:
            cells = {"dense": "memory", "dense masked": "memory"}
            notes.append(
                f"n={n}: the stacked {rows} x {cols} matrix needs {need / 2**30:.0f} GiB > 24 GiB:"
                " dense not run (nothing allocated)"
            )
        elif _gflop(rows, cols) > MAX_GFLOP:
            cells = {"dense": "skipped", "dense masked": "skipped"}
            est = ""
            if rate:  # GFlop/s of the largest dense solve that ran
                secs = _gflop(rows, cols) / rate
                est = (
                    f"; estimated at the measured {rate:.0f} GFlop/s: ~{secs:.0f} s"
                    f" = ~{secs / t_fft:.0e}x fft"
                )
            notes.append(
                f"n={n}: dense lstsq ~{_gflop(rows, cols):.0f} GFlop > {MAX_GFLOP:.0f}:"
                f" skipped (the matrix alone is {need / 2**30:.1f} GiB){est}"
            )
        else:
            A = stacked_matrix(f, n)
            b = r.numpy().reshape(-1)
            sel = keep.numpy().reshape(-1)
            Am, bm = A[sel], b[sel]
            slow = n >= 32
            cells["dense"] = median(lambda A=A, b=b: np.linalg.lstsq(A, b, rcond=None), slow=slow)
            rate = _gflop(rows, cols) / cells["dense"]
            cells["dense masked"] = median(
                lambda Am=Am, bm=bm: np.linalg.lstsq(Am, bm, rcond=None), slow=slow
            )
            # the benchmark measures the same answers
            dense_x = np.linalg.lstsq(Am, bm, rcond=None)[0].reshape(n, n)
            ok = np.allclose(reconstruct(r, f, mask=keep, tol=1e-13).numpy(), dense_x, atol=1e-6)
            notes.append(f"n={n}: cg and dense masked agree (1e-6): {ok}")

        def ratio(t, base):
            return f"{t:>9}" if isinstance(t, str) else f"{t / base:8.1f}x"

        dm = cells["dense masked"]
        dm_cg = f"{dm:>16}" if isinstance(dm, str) else f"{dm / t_cg:15.1f}x"
        print(
            f"{f'{n}x{n}':>9} {1e3 * t_fft:9.3f} {t_cg / t_fft:7.1f}x {its:9d}"
            f" {ratio(cells['dense'], t_fft)} {ratio(dm, t_fft):>13} {dm_cg}"
        )
    for note in notes:
        print("   " + note)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    bench([8, 12] if args.quick else [16, 32, 64, 128, 256], gen)
    threads = torch.get_num_threads()
    print(f"\n(torch {torch.__version__}, {threads} thread; compare ratios, not absolute times)")


if __name__ == "__main__":
    main()
