"""Unit 1 benchmark: building convolution matrices, applying them, and their eigenvalues.

Prints ratio tables measured side by side in one run (medians of repeats, CPU):

1. building the periodic matrix: the lecture-style Python loop (one row at a time) and the
   MATLAB-style ``spdiags`` construction vs the vectorised index builder;
2. K @ y: dense matrix vs sparse matrix vs FFT (``circulant_matvec``);
3. eigenvalues: dense ``eig(full(K))`` vs the FFT of the first column.

Usage: ``python benchmarks/bench_structured.py [--quick]`` (``--quick``: tiny sizes, seconds).
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import median

from convlab.fourier import circulant_eigenvalues, circulant_matvec
from convlab.structured import conv_matrix


def bench_builders(sizes, loop_max: int, theta: np.ndarray) -> None:
    print("\n1. Building the periodic n x n matrix (5-point stencil): time / vectorised time")
    print(f"{'n':>9} {'index ms':>10} {'spdiags':>9} {'loop':>9}")
    for n in sizes:
        t_index = median(lambda n=n: conv_matrix(theta, n, "periodic"), 5)
        t_spd = median(lambda n=n: conv_matrix(theta, n, "periodic", method="spdiags"), 5)
        loop = "-"
        if n <= loop_max:
            t_loop = median(lambda n=n: conv_matrix(theta, n, "periodic", method="loop"), 1)
            loop = f"{t_loop / t_index:8.0f}x"
        print(f"{n:9d} {t_index * 1e3:10.2f} {t_spd / t_index:8.1f}x {loop:>9}")


def bench_matvec(sizes, dense_max: int, theta: np.ndarray, rng: np.random.Generator) -> None:
    print("\n2. K @ y for one signal: time / FFT time")
    print(f"{'n':>9} {'fft ms':>10} {'sparse':>9} {'dense':>9}")
    for n in sizes:
        y = rng.standard_normal(n)
        K = conv_matrix(theta, n, "periodic")
        t_fft = median(lambda y=y: circulant_matvec(theta, y), 7)
        t_sparse = median(lambda K=K, y=y: K @ y, 7)
        dense = "-"
        if n <= dense_max:
            D = K.toarray()
            dense = f"{median(lambda D=D, y=y: D @ y, 7) / t_fft:8.1f}x"
        print(f"{n:9d} {t_fft * 1e3:10.3f} {t_sparse / t_fft:8.2f}x {dense:>9}")


def bench_eigenvalues(sizes, theta: np.ndarray) -> None:
    print("\n3. All eigenvalues: eig(full(K)) time / FFT time")
    print(f"{'n':>9} {'fft ms':>10} {'eig ms':>10} {'ratio':>10}")
    for n in sizes:
        D = conv_matrix(theta, n, "periodic").toarray()
        t_fft = median(lambda n=n: circulant_eigenvalues(theta, n), 7)
        t_eig = median(lambda D=D: np.linalg.eigvals(D), 3 if n <= 512 else 1)
        print(f"{n:9d} {t_fft * 1e3:10.3f} {t_eig * 1e3:10.1f} {t_eig / t_fft:9.0f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    if args.quick:
        bench_builders([100, 1000], loop_max=1000, theta=theta)
        bench_matvec([256, 1024], dense_max=1024, theta=theta, rng=rng)
        bench_eigenvalues([32, 64], theta=theta)
    else:
        bench_builders([10**3, 10**4, 10**5, 10**6], loop_max=10**4, theta=theta)
        bench_matvec([2**8, 2**10, 2**12, 2**14, 2**20], dense_max=2**14, theta=theta, rng=rng)
        bench_eigenvalues([64, 128, 256, 512, 1024, 2048], theta=theta)


if __name__ == "__main__":
    main()
