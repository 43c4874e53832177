"""Unit 3 benchmark: Wiener-filter losses, the lecture's explicit Toeplitz method vs convlab's.

Prints ratio tables measured side by side in one run (medians of repeats, CPU, one thread):

1. filter + loss + backward per call, 1D n = 256 ... 65536 and 2D 16x16 ... 256x256, filter as
   large as the signal (the lecture's choice), white-noise signals: the lecture's loop / roll
   Toeplitz matrix (2D: doubly blocked) + dense inverse vs convlab's explicit-matrix "dense",
   "levinson" (1D), "cholesky" (autocorrelation matrix, centrosymmetric split), "cg" and "fft".
   Where a dense matrix would not fit in the machine's memory the table says so (nothing is
   allocated) and cg still runs;
2. the lecture's training (its Table 2: 1000 epochs, 1D loop vs 1D roll vs 2D) with the
   notebook's autoencoder on the camera image: each loss trained for a few epochs side by side,
   extrapolated to 1000 epochs (the lecture does not state its image size: we report 16x16,
   24x24 (where the lecture's methods take about the lecture's ~30 ms per epoch on this CPU)
   and 32x32).

Usage: ``python benchmarks/bench_wiener.py [--quick] [--epochs E]`` (``--quick``: tiny sizes).
"""

from __future__ import annotations

import argparse

import torch

from convlab.device import time_fn
from convlab.wiener import (
    WienerLoss,
    dense_bytes,
    lecture_wiener_filter,
    penalty_sharp,
)

MACHINE_BYTES = 24 * 2**30  # the course machine
#: do not time an O(N^3) method whose factorisation/product would take more than this many flops
MAX_GFLOP = 60.0


def median(fn, slow: bool = False) -> float:
    if slow:
        return time_fn(fn, device="cpu", repeats=1, warmup=0).median
    return time_fn(fn, device="cpu", repeats=5, warmup=1).median


def lecture_loss(method: str, dim: int):
    """The lecture's loss: explicit Toeplitz matrix, inverse(A^T A) A^T b, 1/2||Tw||^2/||w||^2."""

    def loss(pred: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        w = lecture_wiener_filter(tgt, pred, method)
        T = penalty_sharp(tuple(w.shape[-dim:])).to(w.dtype)
        return (
            0.5 * (T * w).square().flatten(-dim).sum(-1) / w.square().flatten(-dim).sum(-1)
        ).mean()

    return loss


def _gflop_lecture(n_taps: int, rows: int) -> float:
    # A^T A (2 rows N^2) + inverse (2 N^3) + autograd backward through both (about 2x)
    return 3 * (2 * rows * n_taps**2 + 2 * n_taps**3) / 1e9


def _gflop_cholesky(n_taps: int) -> float:
    return 2 * (n_taps / 2) ** 3 / 3 / 1e9  # two Cholesky factorisations of size N/2


def bench_per_call(sizes_1d, sizes_2d, gen: torch.Generator) -> None:
    print("\n1. Filter + loss + backward per call (float32 white noise, filter as large as the")
    print("   signal): time of each method / time of ours 'fft'; 'ms' column = our exact solver")
    cols_1d = ["loop", "roll", "dense", "levinson", "cholesky", "cg", "fft"]
    cols_2d = ["2d", "dense", "cholesky", "cg", "fft"]
    for dim, sizes, cols in ((1, sizes_1d, cols_1d), (2, sizes_2d, cols_2d)):
        exact = "levinson" if dim == 1 else "cholesky"
        print(
            f"\n{'1D n' if dim == 1 else '2D n x n':>10} {exact + ' ms':>13} "
            + " ".join(f"{c:>9}" for c in cols)
        )
        notes = []
        for n in sizes:
            shape = (1, n) if dim == 1 else (1, 1, n, n)
            tgt = torch.randn(shape, generator=gen)
            pred0 = torch.randn(shape, generator=gen)
            taps = n if dim == 1 else n * n
            rows = (2 * n - 1) if dim == 1 else (2 * n - 1) ** 2
            times: dict[str, float | str] = {}
            for c in cols:
                if c in ("loop", "roll", "2d", "dense"):
                    need = dense_bytes((n,) * dim)
                    if need > MACHINE_BYTES:
                        times[c] = "memory"
                        notes.append(
                            f"{dim}D n={n}: the explicit A and A^T A need {need / 2**30:.0f} GiB"
                            f" > 24 GiB: '{c}' not run (nothing allocated)"
                        )
                        continue
                    if _gflop_lecture(taps, rows) > MAX_GFLOP:
                        times[c] = "skipped"
                        continue
                    fn = (
                        lecture_loss(c, dim)
                        if c != "dense"
                        else WienerLoss(dim, "sharp", solver="dense")
                    )
                elif c == "cholesky" and (
                    8 * taps**2 > MACHINE_BYTES or _gflop_cholesky(taps) > MAX_GFLOP
                ):
                    times[c] = "skipped"
                    continue
                elif c == "levinson" and taps > 16384:
                    times[c] = "skipped"  # O(n^2) per solve in scipy: ~10 s at 65536
                    continue
                else:
                    fn = WienerLoss(dim, "sharp", solver=c)

                def step(fn=fn, pred0=pred0, tgt=tgt):
                    pred = pred0.clone().requires_grad_(True)
                    fn(pred, tgt).backward()

                slow = taps >= 2048 and c not in ("fft", "cg")
                times[c] = median(step, slow=slow)
            base = times["fft"]
            cells = []
            for c in cols:
                t = times[c]
                cells.append(f"{t:>9}" if isinstance(t, str) else f"{t / base:8.1f}x")
            t_exact = times[exact]
            ms = f"{t_exact * 1e3:13.2f}" if not isinstance(t_exact, str) else f"{t_exact:>13}"
            print(f"{n if dim == 1 else f'{n}x{n}':>10} {ms} " + " ".join(cells))
        for note in notes:
            print("   " + note)
        print(
            "   skipped = more than",
            MAX_GFLOP,
            "GFlop per call (O(N^3)), or O(n^2) Levinson beyond 16384",
        )


def make_autoencoder(seed: int = 0) -> torch.nn.Module:
    """The notebook's four-layer convolutional autoencoder."""
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 1, 3, padding=1),
    )


def _camera(size: int) -> torch.Tensor:
    from skimage import data, transform

    img = transform.resize(data.camera().astype(float) / 255, (size, size), anti_aliasing=True)
    return torch.tensor(img, dtype=torch.float32)[None, None]


def train_time(loss_fn, target: torch.Tensor, epochs: int, flat: bool) -> float:
    """Seconds per epoch (median over epochs after one warm-up epoch) of Adam on the autoencoder."""
    net = make_autoencoder()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)

    def epoch():
        opt.zero_grad()
        pred = net(target)
        loss = (
            loss_fn(pred.reshape(1, -1), target.reshape(1, -1)) if flat else loss_fn(pred, target)
        )
        loss.backward()
        opt.step()

    return time_fn(epoch, device="cpu", repeats=epochs, warmup=1).median


def bench_training(sizes, epochs: int) -> None:
    print(
        f"\n2. The lecture's training (Table 2), {epochs} epochs of each side by side, seconds per"
    )
    print("   1000 epochs extrapolated from the median epoch (network forward/backward included)")
    print("   lecture (1000 epochs, its machine): 1D loop 33 s, 1D roll 28 s, 2D 29 s")
    runs = [
        ("1D loop (lecture)", lambda: lecture_loss("loop", 1), True),
        ("1D roll (lecture)", lambda: lecture_loss("roll", 1), True),
        ("1D levinson (ours, exact)", lambda: WienerLoss(1, "sharp", solver="levinson"), True),
        ("1D fft (ours)", lambda: WienerLoss(1, "sharp", solver="fft"), True),
        ("2D (lecture)", lambda: lecture_loss("2d", 2), False),
        ("2D cholesky (ours, exact)", lambda: WienerLoss(2, "sharp", solver="cholesky"), False),
        ("2D cg (ours, tol 1e-10)", lambda: WienerLoss(2, "sharp", solver="cg", tol=1e-10), False),
        ("2D fft (ours)", lambda: WienerLoss(2, "sharp", solver="fft"), False),
    ]
    for size in sizes:
        target = _camera(size)
        res = {name: train_time(make(), target, epochs, flat) for name, make, flat in runs}
        print(f"\n   image {size}x{size} ({size * size} filter taps)")
        print(f"   {'loss':30s} {'s / 1000 epochs':>16s} {'lecture / ours':>15s}")
        for name, t in res.items():
            ref = res["2D (lecture)"] if name.startswith("2D") else res["1D loop (lecture)"]
            speed = "" if "lecture" in name else f"{ref / t:14.1f}x"
            print(f"   {name:30s} {1000 * t:16.1f} {speed:>15s}")
        lev, chol = res["1D levinson (ours, exact)"], res["2D cholesky (ours, exact)"]
        print(
            f"   exact filter, ours vs the lecture: 1D {res['1D loop (lecture)'] / lev:.1f}x"
            f" (vs roll {res['1D roll (lecture)'] / lev:.1f}x),"
            f" 2D {res['2D (lecture)'] / chol:.1f}x;"
            f" fft: 1D {res['1D loop (lecture)'] / res['1D fft (ours)']:.1f}x,"
            f" 2D {res['2D (lecture)'] / res['2D fft (ours)']:.1f}x"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per training run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    if args.quick:
        bench_per_call([64, 128], [8, 12], gen)
        bench_training([8], epochs=args.epochs or 3)
    else:
        bench_per_call([256, 1024, 4096, 16384, 65536], [16, 32, 64, 128, 256], gen)
        bench_training([16, 24, 32], epochs=args.epochs or 20)
    threads = torch.get_num_threads()
    print(f"\n(torch {torch.__version__}, {threads} thread; compare ratios, not absolute times)")


if __name__ == "__main__":
    main()
