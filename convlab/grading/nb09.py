"""Checks for exercises/09_image_representations.ipynb (learned image representations).

References never come from the student:

- receptive field: :func:`convlab.models.receptive_field` (itself tested against the support of
  an autograd gradient);
- pixel-picking filters: no reference weight (any channel order is right): the grader convolves
  images whose pixel values are all different with ``torch.nn.functional.conv2d(x, w, stride=2,
  padding=1)`` and requires the outputs to be the pixel values, each exactly once;
- PSNR: ``skimage.metrics.peak_signal_noise_ratio``;
- best constant: the grader compares *costs*, not values: the student's constant must cost no
  more than the mean (L2) or ``numpy.median`` (L1), so that any median of an even count passes;
- reconstruction: ``numpy.linalg.lstsq`` on the dense stacked matrix of periodic convolutions
  probed from ``scipy.ndimage.convolve(mode="wrap")`` at small sizes, and
  :func:`convlab.representations.reconstruct` on a larger image with the package's filter bank.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F

from convlab.grading._core import Cases, register


def _scalar(cases: Cases, label: str, got) -> float | None:
    """The student's answer as one finite real number, or a recorded failure."""
    arr = cases.array(label, got, real=True)
    if arr is None:
        return None
    if arr.size != 1:
        cases.fail(label, f"expected one number, got an array of shape {arr.shape}")
        return None
    value = float(arr.reshape(()))
    if not np.isfinite(value):
        cases.fail(label, f"got {value}, expected a finite number")
        return None
    return value


# ---------------------------------------------------------------------------------------------
# 09.receptive_field: r_out = r_in + (k - 1) * j_in, j_out = j_in * s, starting at r = j = 1
# ---------------------------------------------------------------------------------------------

_RF_VISIBLE = [
    [(3, 1)],
    [(3, 1), (3, 1)],  # the lecture: two 3x3 stride-1 layers see 5x5
    [(3, 1), (3, 2)],  # stride 2 last: still 5 (the stride only matters for later layers)
    [(3, 2), (3, 1)],  # stride 2 first: 7
    [(3, 2), (3, 2), (3, 2)],  # the encoder's stages
]
_RF_HIDDEN = [
    [(1, 1)],
    [(1, 2), (3, 1)],
    [(7, 1)],
    [(2, 2), (2, 2), (2, 2), (2, 2)],
    [(5, 3), (3, 1), (1, 4), (3, 2)],
]


@register(
    "09.receptive_field",
    task="the receptive-field recursion",
    hint="Start from one pixel (r = 1, jump j = 1) and take the layers in order: a kernel adds "
    "(k - 1) steps of the jump of the layer's INPUT (kernels add, they do not multiply), and "
    "the stride multiplies the jump for the layers after it. The answer is an int.",
)
def _receptive_field(student, cases: Cases) -> None:
    from convlab.models import receptive_field

    stacks = [list(s) for s in cases.grid(_RF_VISIBLE, _RF_HIDDEN)]
    for _ in range(8 if cases.hidden else 4):  # random stacks
        depth = int(cases.rng.integers(1, 6))
        ks = cases.rng.choice([1, 2, 3, 5, 7], depth)
        ss = cases.rng.choice([1, 2, 3], depth)
        stacks.append([(int(k), int(s)) for k, s in zip(ks, ss)])
    for layers in stacks:
        label = f"layers (kernel, stride) = {layers}"
        got = cases.call(label, student, list(layers))
        if got is not None:
            cases.compare_scalar(label, got, receptive_field(layers).size, kind="int")


# ---------------------------------------------------------------------------------------------
# 09.pixel_pick_filters: conv2d(x, w, stride=2, padding=1) holds every pixel of x exactly once
# ---------------------------------------------------------------------------------------------

_PICK_VISIBLE = [(1, 4, 4), (1, 6, 8), (2, 6, 6)]
_PICK_HIDDEN = [(1, 2, 2), (1, 2, 10), (1, 10, 4), (3, 12, 12), (1, 16, 14)]


def _distinct_image(cases: Cases, shape: tuple[int, int, int], floats: bool) -> torch.Tensor:
    """(N, 1, H, W) with all values different and > 0 (so the zero padding is never a pixel)."""
    n = int(np.prod(shape))
    values = cases.rng.permutation(n) + 1.0
    if floats:  # irrational-looking offsets: no sum of pixels equals another pixel
        values = values + cases.rng.uniform(0.05, 0.45, n)
    return torch.tensor(values.reshape(shape[0], 1, *shape[1:]), dtype=torch.float64)


def _where_pixels_went(x: np.ndarray, y: np.ndarray) -> str:
    """'' when the values of y are those of x, each exactly once; otherwise why not."""
    flat = x.ravel()
    order = np.argsort(flat)
    ranked = flat[order]
    out = y.ravel()
    pos = np.clip(np.searchsorted(ranked, out), 1, len(ranked) - 1)
    nearest = np.where(np.abs(ranked[pos - 1] - out) <= np.abs(ranked[pos] - out), pos - 1, pos)
    nearest = np.where(len(ranked) == 1, 0, nearest)
    ok = np.abs(ranked[nearest] - out) <= 1e-6 * max(1.0, float(np.abs(ranked).max()))
    if not ok.all():
        bad = int(np.argmin(ok))
        n, c, i, j = np.unravel_index(bad, y.shape)
        return (
            f"output (image {n}, channel {c}, row {i}, column {j}) = {out[bad]:.4g} is not a "
            "pixel value of the input (a mixture of pixels, a scaled pixel, or the zero padding)"
        )
    counts = np.bincount(order[nearest], minlength=flat.size)
    if (counts == 0).any():
        n, _, i, j = np.unravel_index(int(np.argmin(counts)), x.shape)
        twice = int((counts > 1).sum())
        return f"pixel (row {i}, column {j}) of image {n} never reaches the output" + (
            f"; {twice} pixel(s) are picked more than once" if twice else ""
        )
    return ""


@register(
    "09.pixel_pick_filters",
    task="the pixel-picking filters",
    hint="With padding 1 and stride 2, output (i, j) sees input rows 2i-1..2i+1 and columns "
    "2j-1..2j+1 (row/column -1 is the zero padding). Which taps of that window hold the 2 x 2 "
    "block of pixels starting at (2i, 2j)? One tap per filter, weight exactly 1. Shape "
    "(4, 1, 3, 3) = (out, in, 3, 3).",
)
def _pixel_pick_filters(student, cases: Cases) -> None:
    label = "pixel_pick_filters()"
    got = cases.call(label, student)
    arr = None if got is None else cases.array(label, got, real=True)
    if arr is None:
        return
    w = torch.as_tensor(arr).to(torch.float64)
    if tuple(w.shape) != (4, 1, 3, 3):
        cases.fail(label, f"weight of shape {tuple(w.shape)}, expected (4, 1, 3, 3)")
        return
    for k, shape in enumerate(cases.grid(_PICK_VISIBLE, _PICK_HIDDEN)):
        x = _distinct_image(cases, shape, floats=cases.hidden or k > 0)
        label = f"{shape[0]} image(s) of {shape[1]} x {shape[2]} with distinct pixel values"
        y = F.conv2d(x, w, stride=2, padding=1)
        why = _where_pixels_went(x.numpy(), y.numpy())
        cases.record(label, not why, why)


# ---------------------------------------------------------------------------------------------
# 09.psnr: 10 log10(R^2 / MSE)
# ---------------------------------------------------------------------------------------------


def _psnr_cases(cases: Cases):
    """(description, x, ref, data_range): noisy copies of random images, different ranges;
    8-bit images arrive as uint8 (x - ref wraps around in uint8 arithmetic)."""
    rng = cases.rng
    visible = [((16, 16), 1.0, 0.1), ((8, 12), 1.0, 0.02), ((10, 10), 255.0, 0.05)]
    visible += [((6, 9), 2.0, 0.3), ((3, 7, 5), 1.0, 0.01), ((12, 10), "uint8", 0.1)]
    extra = [((1, 5), 1.0, 0.5), ((32, 32), 255.0, 0.2), ((4, 4), 0.5, 0.1)]
    extra.append(((20, 20), "uint8", 0.03))
    for shape, data_range, sigma in cases.grid(visible, extra):
        # the reference image does not fill its range: PSNR uses the data range, not x.max()
        scale = 255.0 if data_range == "uint8" else data_range
        ref = scale * rng.uniform(0.0, 0.6, shape)
        x = ref + sigma * scale * rng.standard_normal(shape)
        if data_range == "uint8":
            ref, x = (np.clip(np.round(v), 0, 255).astype(np.uint8) for v in (ref, x))
        kind = "8-bit (uint8) images" if data_range == "uint8" else f"data_range = {data_range}"
        label = f"x, ref of shape {shape}, noise {sigma} x the range, {kind}"
        yield label, x, ref, scale


@register(
    "09.psnr",
    task="PSNR",
    forbid=("skimage.metrics",),
    hint="PSNR = 10 log10(R^2 / MSE): the MSE is the mean of the squared differences over ALL "
    "entries, R the data_range argument (not the largest value that occurs), the logarithm "
    "base 10; 8-bit images must be converted to float before subtracting (uint8 wraps "
    "around). MATLAB: psnr(x, ref, data_range).",
)
def _psnr(student, cases: Cases) -> None:
    from skimage.metrics import peak_signal_noise_ratio

    for label, x, ref, data_range in _psnr_cases(cases):
        # data_range = 1 through the default argument, the others positionally
        args = (x, ref) + (() if data_range == 1.0 else (data_range,))
        got = cases.call(label, student, *args)
        if got is None:
            continue
        value = _scalar(cases, label, got)
        if value is None:
            continue
        x64, ref64 = x.astype(float), ref.astype(float)
        expected = float(peak_signal_noise_ratio(ref64, x64, data_range=data_range))
        # 1e-6 relative: float32 arithmetic passes, every formula slip is off by far more
        ok = abs(value - expected) <= 1e-6 * max(1.0, abs(expected))
        cases.record(label, ok, f"got {value:.6g} dB, expected {expected:.6g} dB")


# ---------------------------------------------------------------------------------------------
# 09.best_constant: argmin_c sum_i cost(c - s_i): the mean (L2) or any median (L1)
# ---------------------------------------------------------------------------------------------


def _cost(c: float, s: np.ndarray, loss: str) -> float:
    r = c - s
    return float(np.sum(r * r) if loss == "l2" else np.sum(np.abs(r)))


def _sample_sets(cases: Cases):
    rng = cases.rng
    if not cases.hidden:
        sets = [
            rng.exponential(1.0, 7),  # skewed: mean != median
            rng.exponential(1.0, 8),  # even count: any value between the middle two
            np.round(rng.uniform(-3.0, 3.0, 5), 1),
            np.array([0.0, 0.0, 0.0, 1.0, 1.0]),  # an edge seen 3 : 2 (the lecture's blur)
            np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
        ]
    else:
        sets = [
            np.array([2.5]),
            np.array([1.0, 4.0]),
            np.array([3.0, 3.0, 3.0, 3.0]),
            np.array([0.0, 1.0, 1.0, 1.0, 10.0, 10.0]),
            1e3 + rng.lognormal(0.0, 1.0, 31),
            -rng.exponential(2.0, 50),
            rng.standard_cauchy(12),
        ]
    return sets


@register(
    "09.best_constant",
    task="the best constant",
    hint="Set the derivative of the total cost to zero: for sum_i (c - s_i)**2 it is "
    "2 sum_i (c - s_i); for sum_i |c - s_i| it is (#samples below c) - (#samples above c), "
    "which counts duplicates too. Dispatch on `loss` and return one number.",
)
def _best_constant(student, cases: Cases) -> None:
    for s in _sample_sets(cases):
        for loss in ("l2", "l1"):
            label = f"samples = {np.round(s, 3).tolist()}, loss = {loss!r}"
            got = cases.call(label, student, s, loss)
            if got is None:
                continue
            c = _scalar(cases, label, got)
            if c is None:
                continue
            best = float(np.mean(s)) if loss == "l2" else float(np.median(s))
            cost, best_cost = _cost(c, s, loss), _cost(best, s, loss)
            # float32 answers pass: c off by ~1e-7 |c| costs ~1e-7 |c| more under L1 (slope
            # +-1 next to a median), far less under L2 (flat at the mean)
            slack = 1e-6 * max(1.0, best_cost) + 2e-6 * float(np.abs(s).max()) * (loss == "l1")
            ok = cost <= best_cost + slack
            cases.record(
                label,
                ok,
                f"your c = {c:.6g} costs {cost:.6g}, but c = {best:.6g} costs only {best_cost:.6g}",
            )


# ---------------------------------------------------------------------------------------------
# 09.reconstruct: argmin_x sum_k ||f_k * x - r_k||^2 by the convolution theorem
# ---------------------------------------------------------------------------------------------

# (K, k1, k2, H, W): non-square filters in the visible cases, so that a filter transposed or a
# centre shift taken along the wrong axis is caught where the student sees it
_REC_VISIBLE = [(3, 3, 3, 6, 6), (2, 3, 5, 5, 8), (4, 5, 3, 8, 7)]
_REC_HIDDEN = [
    (1, 3, 3, 4, 4),
    (6, 5, 5, 5, 5),
    (3, 3, 1, 12, 9),
    (2, 1, 1, 3, 6),
    (5, 3, 3, 16, 16),
    (2, 1, 5, 9, 10),
]


def _conv_wrap(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Periodic convolution, filter centre at its middle tap (scipy, independent of the FFT)."""
    return scipy.ndimage.convolve(x, f, mode="wrap")


def _stacked_matrix(filters: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Dense (K H W, H W) matrix of x -> [f_k * x]_k, probed with unit images (C order)."""
    n = shape[0] * shape[1]
    cols = []
    for p in range(n):
        e = np.zeros(n)
        e[p] = 1.0
        cols.append(np.concatenate([_conv_wrap(e.reshape(shape), f).ravel() for f in filters]))
    return np.stack(cols, axis=1)


def _well_posed_filters(
    cases: Cases, K: int, k1: int, k2: int, shape: tuple[int, int]
) -> np.ndarray:
    """Random asymmetric (K, k1, k2) filters with sum_k |F_k|^2 >= 0.05 max at every frequency."""
    for _ in range(100):
        f = np.round(cases.rng.uniform(-1.0, 1.0, (K, k1, k2)), 2)
        f[:, k1 // 2, k2 // 2] += 1.0  # a strong centre keeps the bank invertible
        pad = np.zeros((K, *shape))
        pad[:, :k1, :k2] = f
        power = (np.abs(np.fft.fft2(pad)) ** 2).sum(axis=0)
        if power.min() >= 0.05 * power.max():
            return f
    raise RuntimeError("no well-posed filter bank found (a bug in the grader)")  # pragma: no cover


def _check_image(cases: Cases, label: str, got, expected: np.ndarray) -> None:
    arr = cases.array(label, got, real=True)
    if arr is not None:
        # float32: the division by sum_k |F_k|^2 (>= 0.05 of its max) amplifies rounding
        single = np.issubdtype(arr.dtype, np.floating) and arr.dtype.itemsize <= 4
        cases.compare(label, arr, expected, rtol=2e-5 if single else 1e-8)


@register(
    "09.reconstruct",
    task="the least-squares reconstruction",
    hint="Each k1 x k2 filter goes on the H x W grid unchanged (its k1 rows along the image's "
    "rows) with its MIDDLE tap (k1 // 2, k2 // 2) at pixel (0, 0) before fft2. "
    "The normal equations hold one frequency at a time: numerator and denominator each sum "
    "over ALL filters, the numerator uses the conjugate of F_k, the denominator |F_k|^2; the "
    "image is real.",
)
def _reconstruct(student, cases: Cases) -> None:
    for K, k1, k2, H, W in cases.grid(_REC_VISIBLE, _REC_HIDDEN):
        f = _well_posed_filters(cases, K, k1, k2, (H, W))
        x = cases.rng.uniform(0.0, 1.0, (H, W))
        # responses of an image plus noise: not exactly consistent, so least squares matters
        r = np.stack([_conv_wrap(x, fk) for fk in f]) + 0.3 * cases.rng.standard_normal((K, H, W))
        label = f"{K} filter(s) of {k1} x {k2}, image {H} x {W}, noisy responses"
        got = cases.call(label, student, torch.from_numpy(r), torch.from_numpy(f))
        if got is None:
            continue
        expected = np.linalg.lstsq(_stacked_matrix(f, (H, W)), r.ravel(), rcond=None)[0]
        _check_image(cases, label, got, expected.reshape(H, W))
    # a larger image with the package's (invertible) filter bank and the package's solver
    from convlab.representations import filter_bank, reconstruct, responses

    size = (40, 36) if cases.hidden else (24, 24)
    bank = filter_bank("oriented", size=5, sigma=0.7)  # sum_k |F_k|^2 within [0.38, 4.1]
    x = torch.from_numpy(cases.rng.uniform(0.0, 1.0, size))
    r = responses(x, bank) + 0.1 * torch.from_numpy(cases.rng.standard_normal((len(bank), *size)))
    label = f"filter_bank('oriented') ({len(bank)} filters of 5 x 5), image {size}, noisy responses"
    got = cases.call(label, student, r, bank)
    if got is not None:
        _check_image(cases, label, got, reconstruct(r, bank).numpy())
