"""Derivative checks vs ``torch.autograd.gradcheck``, and FFT vs sparse vs ``F.conv2d`` in 2D.

Run: ``python benchmarks/bench_derivative_checks.py [--quick]``. All numbers are ratios measured
side by side in one run (medians of repeats, :func:`_timing.median`).

Table 1: checking the derivative of ``y -> tanh(K(theta) y)`` (periodic FFT convolution,
:mod:`convlab.conv_autograd`) with respect to y (n unknowns), float64:

* ours = ``taylor_test`` (one f evaluation per step h = 2^-k plus one jvp; with its default
  early stop a correct Jacobian needs ~30 of the 39 steps in float64) +
  ``jacobian_transpose_test`` (default 3 trials: 3 jvp + 6 vjp; the vjp is linearised once at
  y0 with ``torch.func.vjp``, as one would, so each vjp is a backward pass only): O(1) operator
  applications whatever n. Columns: ``f(y) [ms]`` one evaluation of f for scale, ``ours/f(y)``
  the cost in units of it, ``f calls`` / ``Jv+JTw`` the operator applications counted
  (every call of f, including the forward passes inside ``torch.func.jvp``/``vjp``, and the
  Jacobian products), which stay constant as n grows;
* ``gradcheck`` (slow mode, the default) builds the dense n x n Jacobian twice (finite
  differences and backward): O(n) applications, only run where feasible;
* ``gradcheck(fast_mode=True)`` checks one random projection ``u^T J v``: also O(1).

Table 2: one 2D periodic convolution of an n x n image with a k x k stencil: the sparse BCCB
matrix-vector product (matrix built beforehand, build time not counted) and ``F.conv2d`` on a
circularly padded input, relative to the FFT (:class:`convlab.conv.Conv2D`).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from _timing import median

from convlab.checks import jacobian_transpose_test, taylor_test
from convlab.conv import Conv2D
from convlab.conv_autograd import periodic_conv
from convlab.structured import conv_matrix


class Counted:
    """Callable wrapper that counts its calls (operator applications)."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def derivative_checks(sizes, gradcheck_max: int, repeat: int) -> None:
    print("Table 1: derivative checks of y -> tanh(K y), n unknowns (float64)")
    print(
        f"{'n':>9s} {'f(y) [ms]':>10s} {'ours [s]':>9s} {'ours/f(y)':>10s} {'f calls':>8s} "
        f"{'Jv+JTw':>7s} {'transpose test [s]':>19s} {'gradcheck/ours':>15s} "
        f"{'fast gradcheck/ours':>20s}"
    )
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(5, dtype=torch.float64, generator=gen)
    for n in sizes:
        y0 = torch.randn(n, dtype=torch.float64, generator=gen)
        print(_derivative_row(theta, y0, gradcheck_max, repeat))


def _derivative_row(theta, y0, gradcheck_max: int, repeat: int) -> str:
    n = y0.numel()

    def f_plain(y):
        return torch.tanh(periodic_conv(y, theta))

    f = Counted(f_plain)  # every forward pass, also those inside torch.func.jvp / vjp

    @Counted
    def jvp(v):
        return torch.func.jvp(f, (y0,), (v,))[1]

    def transpose_test():
        _, vjp_fn = torch.func.vjp(f, y0)  # one forward pass; then each vjp is a backward
        vjp = Counted(lambda w: vjp_fn(w)[0])
        jt = jacobian_transpose_test(jvp, vjp, in_shape=n, dtype=torch.float64)
        return jt, vjp.calls

    def ours():
        f.calls = jvp.calls = 0
        tt = taylor_test(f, y0)  # default jvp: torch.func.jvp (f(x0) from the same pass)
        jt, n_vjp = transpose_test()
        assert tt.passed and jt.passed, (tt.summary(), jt)
        return f.calls, 1 + jvp.calls + n_vjp  # taylor_test's own J v + the dot test's

    ours()  # warm-up (first FFT plans, torch dispatch); also asserts that both checks pass
    n_f, n_jac = ours()
    t_ours = median(ours, repeat, warmup=0)
    t_f = median(lambda: f_plain(y0), max(repeat, 3), warmup=0)  # one operator application
    t_jt = median(transpose_test, repeat, warmup=0)
    yr = y0.clone().requires_grad_(True)
    fast = median(
        lambda: torch.autograd.gradcheck(f_plain, (yr,), fast_mode=True), repeat, warmup=0
    )
    if n <= gradcheck_max:
        slow = median(lambda: torch.autograd.gradcheck(f_plain, (yr,)), 1, warmup=0)
        slow_txt = f"{slow / t_ours:>14.1f}x"
    else:
        slow_txt = f"{'(not run)':>15s}"
    return (
        f"{n:>9d} {1e3 * t_f:>10.2f} {t_ours:>9.3f} {t_ours / t_f:>9.0f}x {n_f:>8d} {n_jac:>7d} "
        f"{t_jt:>19.3f} {slow_txt} {fast / t_ours:>19.2f}x"
    )


def sparse_checks(sizes, repeat: int) -> None:
    """The same two checks for a cheap operator: the check's own overhead becomes visible."""
    print("\nTable 1b: the same checks of y -> tanh(K y) with K the sparse 5-point periodic matrix")
    print("(numpy; J v = (1 - tanh(K y)^2) * (K v), J^T w = K^T ((1 - tanh(K y)^2) * w))")
    print(f"{'n':>9s} {'f(y) [ms]':>10s} {'ours [s]':>9s} {'ours/f(y)':>10s} {'f calls':>8s}")
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    for n in sizes:
        K = conv_matrix(theta, n, "periodic")
        KT = K.T.tocsr()
        y0 = rng.standard_normal(n)
        d = 1.0 - np.tanh(K @ y0) ** 2
        f = Counted(lambda y, K=K: np.tanh(K @ y))

        def ours(f=f, K=K, KT=KT, y0=y0, d=d, n=n):
            f.calls = 0
            tt = taylor_test(f, y0, jvp=lambda x, v: (1.0 - np.tanh(K @ x) ** 2) * (K @ v))
            jt = jacobian_transpose_test(lambda v: d * (K @ v), lambda w: KT @ (d * w), in_shape=n)
            assert tt.passed and jt.passed, (tt.summary(), jt)
            return f.calls

        n_f = ours()
        t_ours = median(ours, repeat, warmup=0)
        t_f = median(lambda f=f, y0=y0: f.fn(y0), max(repeat, 3), warmup=0)
        print(f"{n:>9d} {1e3 * t_f:>10.2f} {t_ours:>9.3f} {t_ours / t_f:>9.0f}x {n_f:>8d}")


def conv2d_costs(cases, repeat: int) -> None:
    print("\nTable 2: 2D periodic convolution, time relative to the FFT (Conv2D.K)")
    print(f"{'image':>11s} {'stencil':>8s} {'sparse/FFT':>11s} {'F.conv2d/FFT':>13s}")
    rng = np.random.default_rng(0)
    for n, k in cases:
        print(_conv_row(rng.standard_normal((k, k)), rng.standard_normal((n, n)), repeat))


def _conv_row(theta: np.ndarray, Y: np.ndarray, repeat: int) -> str:
    n, k = Y.shape[0], theta.shape[0]
    op = Conv2D(theta, Y.shape)
    K = op.matrix(order="C")
    x = torch.from_numpy(Y)[None, None]
    w = torch.from_numpy(theta.copy()).flip(-1, -2)[None, None]
    pad = (k - 1 - k // 2, k // 2) * 2

    def torch_conv():
        return F.conv2d(F.pad(x, pad, mode="circular"), w)

    z = op.K(Y)
    assert np.allclose(K @ Y.ravel(), z.ravel()) and np.allclose(torch_conv()[0, 0], z)
    t_fft = median(lambda: op.K(Y), repeat, warmup=0)
    t_sp = median(lambda: K @ Y.ravel(), repeat, warmup=0)
    t_torch = median(torch_conv, repeat, warmup=0)
    return f"{n:>5d}x{n:<5d} {k:>4d}x{k:<3d} {t_sp / t_fft:>10.2f}x {t_torch / t_fft:>12.2f}x"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a few seconds)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # comparable numbers on a shared machine
    if args.quick:
        derivative_checks([64, 256], gradcheck_max=256, repeat=1)
        sparse_checks([256], repeat=1)
        conv2d_costs([(32, 3), (64, 5)], repeat=3)
    else:
        derivative_checks([512, 2048, 8192, 100_000, 1_000_000], gradcheck_max=2048, repeat=3)
        sparse_checks([10_000, 100_000, 1_000_000], repeat=3)
        conv2d_costs([(128, 3), (128, 7), (512, 3), (512, 7), (1024, 3), (1024, 7)], repeat=5)


if __name__ == "__main__":
    main()
