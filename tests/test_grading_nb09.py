"""Grader power for notebook 09: wrong implementations are rejected, other correct ones accepted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grader_power import grader_power_tests, rejected

from convlab.grading import check

# ---------------------------------------------------------------------------------------------
# 09.receptive_field
# ---------------------------------------------------------------------------------------------


def rf_loop(layers):
    r, j = 1, 1
    for k, s in layers:
        r += (k - 1) * j
        j *= s
    return r


def rf_closed_form(layers):
    """1 + sum_l (k_l - 1) prod_{m < l} s_m, vectorised; returns a numpy integer."""
    k, s = np.array(layers, dtype=np.int64).reshape(-1, 2).T
    jumps = np.concatenate([[1], np.cumprod(s)[:-1]])
    return np.int64(1) + np.sum((k - 1) * jumps)


def rf_backward(layers):
    """From the output back to the input: one pixel -> (r - 1) s + k pixels."""
    r = 1
    for k, s in reversed(layers):
        r = (r - 1) * s + k
    return r


def _rf_jump_out(layers):
    r, j = 1, 1
    for k, s in layers:
        j *= s
        r += (k - 1) * j  # the layer's OUTPUT jump
    return r


RF_WRONG = {
    "sum of kernels": lambda layers: sum(k for k, _ in layers),
    "j_out instead of j_in": _rf_jump_out,
    "off by one (starts at 0)": lambda layers: rf_loop(layers) - 1,
    "ignores the stride": lambda layers: 1 + sum(k - 1 for k, _ in layers),
    "product of kernels": lambda layers: math.prod(k for k, _ in layers),
    "layers in reverse order": lambda layers: rf_loop(list(reversed(layers))),
    "returns (size, jump)": lambda layers: (rf_loop(layers), math.prod(s for _, s in layers)),
}
RF_CORRECT = [rf_loop, rf_closed_form, rf_backward]

# ---------------------------------------------------------------------------------------------
# 09.pixel_pick_filters
# ---------------------------------------------------------------------------------------------


def _taps(taps, value=1.0, shape=(3, 3)):
    w = np.zeros((len(taps), 1, *shape))
    for c, (a, b) in enumerate(taps):
        w[c, 0, a, b] = value
    return w


BLOCK = [(1, 1), (1, 2), (2, 1), (2, 2)]


def pick_numpy():
    return _taps(BLOCK)


def pick_torch_float32_other_order():
    return torch.tensor(_taps([(2, 2), (1, 1), (2, 1), (1, 2)]), dtype=torch.float32)


def pick_loop_other_order():
    """One tap per filter, set in a loop, channels in column-major tap order."""
    w = np.zeros((4, 1, 3, 3))
    for c, (a, b) in enumerate([(1, 1), (2, 1), (1, 2), (2, 2)]):
        w[c, 0, a, b] = 1.0
    return w


PICK_WRONG = {
    "all four pick the centre": lambda: _taps([(1, 1)] * 4),
    "block shifted into the padding": lambda: _taps([(0, 0), (0, 1), (1, 0), (1, 1)]),
    "2 x 2 kernels": lambda: _taps([(0, 0), (0, 1), (1, 0), (1, 1)], shape=(2, 2)),
    "2 filters only": lambda: _taps([(1, 1), (2, 2)]),
    "filters that average the block": lambda: np.tile(
        _taps(BLOCK).sum(axis=0, keepdims=True) / 4, (4, 1, 1, 1)
    ),
    "one pixel twice, one never": lambda: _taps([(1, 1), (1, 2), (2, 1), (1, 1)]),
    "weights 2 instead of 1": lambda: _taps(BLOCK, value=2.0),
    "no input-channel axis (4, 3, 3)": lambda: _taps(BLOCK)[:, 0],
    "returns None": lambda: None,
}
PICK_CORRECT = [pick_numpy, pick_torch_float32_other_order, pick_loop_other_order]

# ---------------------------------------------------------------------------------------------
# 09.psnr
# ---------------------------------------------------------------------------------------------


def psnr_numpy(x, ref, data_range=1.0):
    mse = np.mean((np.asarray(x, float) - np.asarray(ref, float)) ** 2)
    return 10 * np.log10(data_range**2 / mse)


def psnr_torch_float32(x, ref, data_range=1.0):
    d = torch.tensor(x, dtype=torch.float32) - torch.tensor(ref, dtype=torch.float32)
    return 10 * torch.log10(torch.tensor(data_range, dtype=torch.float32) ** 2 / (d**2).mean())


def psnr_loop(x, ref, data_range=1.0):
    total, count = 0.0, 0
    for a, b in zip(np.ravel(x), np.ravel(ref)):
        total += (float(a) - float(b)) ** 2
        count += 1
    return 20 * math.log10(data_range) - 10 * math.log10(total / count)


def _mse(x, ref):
    return float(np.mean((np.asarray(x) - np.asarray(ref)) ** 2))


PSNR_WRONG = {
    "natural log": lambda x, ref, data_range=1.0: 10 * np.log(data_range**2 / _mse(x, ref)),
    "missing factor 10": lambda x, ref, data_range=1.0: np.log10(data_range**2 / _mse(x, ref)),
    "RMSE instead of MSE": lambda x, ref, data_range=1.0: (
        10 * np.log10(data_range**2 / np.sqrt(_mse(x, ref)))
    ),
    "data range from x.max()": lambda x, ref, data_range=1.0: (
        10 * np.log10(np.max(x) ** 2 / _mse(x, ref))
    ),
    "20 log10 of R^2 / MSE": lambda x, ref, data_range=1.0: (
        20 * np.log10(data_range**2 / _mse(x, ref))
    ),
    "sum instead of mean (SSD)": lambda x, ref, data_range=1.0: (
        10 * np.log10(data_range**2 / _mse(x, ref) / np.size(x))
    ),
    "ignores data_range": lambda x, ref, data_range=1.0: 10 * np.log10(1 / _mse(x, ref)),
    "R instead of R^2": lambda x, ref, data_range=1.0: 10 * np.log10(data_range / _mse(x, ref)),
}
PSNR_CORRECT = [psnr_numpy, psnr_torch_float32, psnr_loop]

# ---------------------------------------------------------------------------------------------
# 09.best_constant
# ---------------------------------------------------------------------------------------------


def best_numpy(samples, loss):
    return np.mean(samples) if loss == "l2" else np.median(samples)


def best_upper_middle_loop(samples, loss):
    """Loops; for an even count the UPPER middle value (also a median)."""
    values = sorted(float(v) for v in samples)
    if loss == "l2":
        total = 0.0
        for v in values:
            total += v
        return total / len(values)
    return values[len(values) // 2]


def best_torch_float32(samples, loss):
    """torch float32; torch.median returns the LOWER middle value for an even count."""
    s = torch.tensor(samples, dtype=torch.float32)
    return s.mean() if loss == "l2" else s.median()


def _mode(samples, loss):
    values, counts = np.unique(np.round(samples, 1), return_counts=True)
    return values[np.argmax(counts)]


BEST_WRONG = {
    "mean for both": lambda s, loss: np.mean(s),
    "median for both": lambda s, loss: np.median(s),
    "swapped (median for L2, mean for L1)": lambda s, loss: best_numpy(
        s, "l1" if loss == "l2" else "l2"
    ),
    "mode of the rounded samples": _mode,
    "midrange (min + max) / 2": lambda s, loss: (np.min(s) + np.max(s)) / 2,
    "median off by one (sorted[n // 2 - 1])": lambda s, loss: (
        np.mean(s) if loss == "l2" else np.sort(s)[max(len(s) // 2 - 1, 0)]
    ),
    "sum instead of mean": lambda s, loss: np.sum(s) if loss == "l2" else np.median(s),
    "mean of the two middle values only": lambda s, loss: np.mean(
        np.sort(s)[(len(s) - 1) // 2 : len(s) // 2 + 1]
    ),
}
BEST_CORRECT = [best_numpy, best_upper_middle_loop, best_torch_float32]

# ---------------------------------------------------------------------------------------------
# 09.reconstruct
# ---------------------------------------------------------------------------------------------


def _spectra(filters, shape, *, centre="right", flip=False, transpose=False):
    """fft2 of the filters on the grid; ``centre``: "right" rolls (k1 // 2, k2 // 2) to (0, 0),
    "swapped" rolls (k2 // 2, k1 // 2) (the axes mixed up), "k1" rolls (k1 // 2, k1 // 2)
    (one size for both axes), "none" does not roll."""
    f = np.asarray(filters, dtype=float)
    if flip:
        f = f[:, ::-1, ::-1]
    if transpose:
        f = f.transpose(0, 2, 1)
    K, k1, k2 = f.shape
    pad = np.zeros((K, *shape))
    pad[:, :k1, :k2] = f
    shift = {"right": (k1 // 2, k2 // 2), "swapped": (k2 // 2, k1 // 2), "k1": (k1 // 2, k1 // 2)}
    if centre != "none":
        pad = np.roll(pad, tuple(-s for s in shift[centre]), axis=(1, 2))
    return np.fft.fft2(pad)


def rec_numpy(
    r,
    filters,
    *,
    conj=True,
    flip=False,
    transpose=False,
    centre="right",
    power=2,
    first_only=False,
    eps=0,
):
    """The convolution theorem; the keyword defaults are correct."""
    r = np.asarray(r, dtype=float)
    Fk = _spectra(filters, r.shape[-2:], centre=centre, flip=flip, transpose=transpose)
    R = np.fft.fft2(r)
    if first_only:
        Fk, R = Fk[:1], R[:1]
    num = ((np.conj(Fk) if conj else Fk) * R).sum(axis=0)
    den = (np.abs(Fk) ** power).sum(axis=0) + eps
    return np.real(np.fft.ifft2(num / den))


def rec_torch_float32_rfft(r, filters):
    """rfft2 / irfft2 in float32, the centre handled by a phase factor instead of a roll."""
    r = torch.as_tensor(r, dtype=torch.float32)
    f = torch.as_tensor(filters, dtype=torch.float32)
    H, W = r.shape[-2:]
    k1, k2 = f.shape[-2:]
    Fk = torch.fft.rfft2(f, s=(H, W))
    u = torch.arange(H)[:, None] / H
    v = torch.arange(W // 2 + 1)[None, :] / W
    Fk = Fk * torch.exp(2j * torch.pi * (u * (k1 // 2) + v * (k2 // 2))).to(torch.complex64)
    X = (Fk.conj() * torch.fft.rfft2(r)).sum(0) / (Fk.abs() ** 2).sum(0)
    return torch.fft.irfft2(X, s=(H, W))


def rec_per_frequency_lstsq(r, filters):
    """At every frequency a K x 1 least-squares problem, solved by np.linalg.lstsq (loops)."""
    r = np.asarray(r, dtype=float)
    H, W = r.shape[-2:]
    Fk, R = _spectra(filters, (H, W)), np.fft.fft2(r)
    X = np.zeros((H, W), dtype=complex)
    for u in range(H):
        for v in range(W):
            X[u, v] = np.linalg.lstsq(Fk[:, u, v, None], R[:, u, v], rcond=None)[0][0]
    return np.fft.ifft2(X).real


def _average_of_inverses(r, filters):
    r = np.asarray(r, dtype=float)
    Fk = _spectra(filters, r.shape[-2:])
    with np.errstate(divide="ignore", invalid="ignore"):  # the derivative filters have F = 0
        return np.real(np.fft.ifft2((np.fft.fft2(r) / Fk).mean(axis=0)))


REC_WRONG = {
    "missing conj": lambda r, f: rec_numpy(r, f, conj=False),
    "correlation instead of convolution (unflipped)": lambda r, f: rec_numpy(r, f, flip=True),
    "first filter only (no sum over filters)": lambda r, f: rec_numpy(r, f, first_only=True),
    "divides by sum |F| instead of |F|^2": lambda r, f: rec_numpy(r, f, power=1),
    "off-centre filter (not rolled)": lambda r, f: rec_numpy(r, f, centre="none"),
    "centre shifts of the two axes swapped": lambda r, f: rec_numpy(r, f, centre="swapped"),
    "centre shift k1 // 2 on both axes": lambda r, f: rec_numpy(r, f, centre="k1"),
    "each filter transposed (k2 x k1)": lambda r, f: rec_numpy(r, f, transpose=True),
    "average of per-filter inverses R_k / F_k": _average_of_inverses,
    "regularised with epsilon = 1e-2": lambda r, f: rec_numpy(r, f, eps=1e-2),
    "image transposed": lambda r, f: rec_numpy(r, f).T,
    "returns the complex inverse FFT": lambda r, f: rec_numpy(r, f) + 0j,
}
REC_CORRECT = [rec_numpy, rec_torch_float32_rfft, rec_per_frequency_lstsq]


WRONG = {
    "09.receptive_field": RF_WRONG,
    "09.pixel_pick_filters": PICK_WRONG,
    "09.psnr": PSNR_WRONG,
    "09.best_constant": BEST_WRONG,
    "09.reconstruct": REC_WRONG,
}
CORRECT = {
    "09.receptive_field": RF_CORRECT,
    "09.pixel_pick_filters": PICK_CORRECT,
    "09.psnr": PSNR_CORRECT,
    "09.best_constant": BEST_CORRECT,
    "09.reconstruct": REC_CORRECT,
}


# ---------------------------------------------------------------------------------------------
# the grader's own references and reports
# ---------------------------------------------------------------------------------------------


def test_reconstruct_references_agree():
    """The package's closed form equals the grader's dense lstsq on scipy's wrap convolution."""
    from convlab.grading.nb09 import _conv_wrap, _stacked_matrix
    from convlab.representations import reconstruct

    rng = np.random.default_rng(3)
    f = rng.standard_normal((3, 3, 5))  # non-square: rows and columns cannot be confused
    f[:, 1, 2] += 2.0
    x = rng.standard_normal((5, 6))
    r = np.stack([_conv_wrap(x, fk) for fk in f]) + 0.2 * rng.standard_normal((3, 5, 6))
    dense = np.linalg.lstsq(_stacked_matrix(f, (5, 6)), r.ravel(), rcond=None)[0]
    package = reconstruct(torch.from_numpy(r), torch.from_numpy(f)).numpy()
    np.testing.assert_allclose(package.ravel(), dense, atol=1e-10)


def test_pixel_pick_probe_reads_the_conv():
    """The probe's verdict is about F.conv2d(stride 2, padding 1): the correct weight yields a
    permutation of the pixels, the padded block does not."""
    x = torch.arange(1.0, 17.0, dtype=torch.float64).reshape(1, 1, 4, 4)
    y = F.conv2d(x, torch.tensor(pick_numpy()), stride=2, padding=1)
    assert sorted(y.ravel().tolist()) == x.ravel().tolist()
    y = F.conv2d(
        x, torch.tensor(PICK_WRONG["block shifted into the padding"]()), stride=2, padding=1
    )
    assert 0.0 in y.ravel().tolist()


def test_even_count_l1_accepts_anything_between_the_middle_values():
    def anywhere(samples, loss):
        s = np.sort(samples)
        n = len(s)
        if loss == "l2":
            return np.mean(s)
        if n % 2:
            return s[n // 2]
        return 0.3 * s[n // 2 - 1] + 0.7 * s[n // 2]

    check("09.best_constant", anywhere, quiet=True)
    check("09.best_constant", anywhere, hidden=True, quiet=True)


@pytest.mark.parametrize(
    ("name", "impl", "phrase"),
    [
        ("09.receptive_field", RF_WRONG["j_out instead of j_in"], "jump of the layer's INPUT"),
        ("09.pixel_pick_filters", PICK_WRONG["block shifted into the padding"], "zero padding"),
        ("09.psnr", PSNR_WRONG["data range from x.max()"], "data_range argument"),
        ("09.best_constant", BEST_WRONG["mean for both"], "costs only"),
        ("09.reconstruct", REC_WRONG["missing conj"], "conj"),
    ],
)
def test_failure_report_names_case_and_hint(name, impl, phrase):
    out = rejected(name, impl)
    assert "first failing case:" in out and phrase in out


# near-misses added with the engine's visible cases (8-bit images)
def _psnr_no_cast(x, ref, data_range=1.0):
    """x - ref in the images' own dtype: uint8 wraps around."""
    return float(10 * np.log10(data_range**2 / np.mean((x - ref) ** 2)))


WRONG["09.psnr"]["no conversion to float (uint8 wraps)"] = _psnr_no_cast

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("09", WRONG, CORRECT)
