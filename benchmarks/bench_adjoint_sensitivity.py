"""How often the adjoint test is right in float32: false fails and a 0.05 % scale error.

Run: ``python benchmarks/bench_adjoint_sensitivity.py [--quick]``. For each size n and seed it
runs :func:`convlab.checks.adjoint_test` (default 3 trials) on a float32 operator with its exact
adjoint and with the adjoint scaled by 1.0005, and counts, side by side from the same runs:

* ``ours``: the test as shipped (a random ``v`` and ``v = A u`` per trial);
* ``random v only``: the same verdict read off the random probes alone (the test before the
  ``v = A u`` probe was added): normalising by the Cauchy-Schwarz bound shrinks a scale error by
  about ``sqrt(n)`` there;
* ``|yy|-relative``: PyLops' ``dottest`` rule ``|<Au,v> - <u,A^T v>| <= rtol |<u,A^T v>|`` with
  its default ``rtol = 1e-6``, read off the same random probes.

Operators: periodic convolution with a 5-tap stencil by numpy's float32 FFT (adjoint: conjugate
eigenvalues) and ``torch.nn.functional.conv1d`` (adjoint: ``conv_transpose1d``). The numbers are
rates over seeds (percent), not times.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from convlab.checks import adjoint_test


def fft_conv(n: int, scale: float):
    lam = np.fft.fft(np.r_[np.random.default_rng(n).standard_normal(5), np.zeros(n - 5)])
    lam = lam.astype(np.complex64)

    def fwd(x):
        return np.fft.ifft(np.fft.fft(x) * lam).real

    def adj(y):
        return scale * np.fft.ifft(np.fft.fft(y) * lam.conj()).real

    return fwd, adj, (n,), np.float32


def torch_conv(n: int, scale: float):
    w = torch.from_numpy(np.random.default_rng(n).standard_normal((1, 1, 5))).float()

    def fwd(x):
        return F.conv1d(x, w, padding=2)

    def adj(y):
        return scale * F.conv_transpose1d(y, w, padding=2)

    return fwd, adj, (1, 1, n), torch.float32


def verdicts(make, n: int, scale: float, seed: int) -> tuple[bool, bool, bool]:
    """(ours, random v only, |yy|-relative rtol 1e-6) pass verdicts of one run."""
    fwd, adj, shape, dtype = make(n, scale)
    r = adjoint_test(fwd, adj, in_shape=shape, dtype=dtype, seed=seed)
    rand = [i for i, p in enumerate(r.probes) if p == "random"]
    rand_only = max(r.errors[i] for i in rand) <= r.tol
    yy = all(abs(r.lhs[i] - r.rhs[i]) <= 1e-6 * abs(r.rhs[i]) for i in rand)
    return r.passed, rand_only, yy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few seeds")
    args = parser.parse_args()
    sizes = [100, 10_000] if args.quick else [100, 1_000, 10_000, 100_000, 1_000_000]
    n_seeds = 4 if args.quick else 50
    print(f"float32 adjoint test over {n_seeds} seeds (percent of runs)")
    print(
        f"{'operator':>10} {'n':>9} | false fails: {'ours':>5} {'rand v':>6} {'|yy|':>5} | "
        f"1.0005 x adjoint caught: {'ours':>5} {'rand v':>6} {'|yy|':>5}"
    )
    for name, make in (("fft", fft_conv), ("conv1d", torch_conv)):
        for n in sizes:
            right = np.array([verdicts(make, n, 1.0, s) for s in range(n_seeds)])
            wrong = np.array([verdicts(make, n, 1.0005, s) for s in range(n_seeds)])
            ff = 100 * (1 - right.mean(axis=0))
            caught = 100 * (1 - wrong.mean(axis=0))
            print(
                f"{name:>10} {n:>9} | {'':>13} {ff[0]:>5.0f} {ff[1]:>6.0f} {ff[2]:>5.0f} | "
                f"{'':>24} {caught[0]:>5.0f} {caught[1]:>6.0f} {caught[2]:>5.0f}"
            )


if __name__ == "__main__":
    main()
