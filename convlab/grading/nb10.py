"""Checks for exercises/10_inverse_problems.ipynb (CNNs for inverse problems: the forward models).

Conventions of the tasks: images are NumPy float64 arrays ``(H, W)``; MRI masks are boolean
``(H, W)`` arrays in the fft2 layout (frequency 0 at index ``[0, 0]``, no fftshift); the FFT is
unitary (``norm="ortho"``); logits are torch float64 tensors ``(K, H, W)``, labels torch int64
``(H, W)``.

References never come from the student, and not from :mod:`convlab.inverse` either (the grader
must stay independent of the module the course teaches with):

- average pooling: ``torch.nn.functional.avg_pool2d(kernel_size=r, stride=r)``;
- its adjoint: the vector-Jacobian product of that pooling by torch autograd (A is linear, so
  x.grad of <A x, y> is A^T y), and a dot test <A x, y> = <x, A^T y> on the student's answer;
- MRI: ``numpy.fft.fft2`` / ``ifft2`` with ``norm="ortho"``; the adjoint also by a dot test in the
  real inner product <u, v> = Re sum conj(u) v (A maps R^n to C^k, viewed as R^n -> R^2k);
- pixel-wise cross-entropy: ``torch.nn.functional.cross_entropy(reduction="sum")``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from convlab.grading._core import Cases, register

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _rtol(arr: np.ndarray, double: float = 1e-10) -> float:
    """Tolerance for an answer: float32 answers are judged at float32 precision."""
    if np.issubdtype(arr.dtype, np.inexact) and np.finfo(arr.dtype).bits <= 32:
        return 1e-5
    return double


def _dot_test(cases: Cases, label: str, ax, y, x, aty, rtol: float) -> None:
    """Record <A x, y> = <x, A^T y> (real inner products), normalised by ||A x|| ||y||."""
    lhs = float(np.real(np.vdot(ax, y)))
    rhs = float(np.real(np.vdot(x, aty)))
    scale = float(np.linalg.norm(ax) * np.linalg.norm(y)) or 1.0
    err = abs(lhs - rhs) / scale
    cases.record(
        f"dot test, {label}",
        err <= rtol,
        f"<A x, y> = {lhs:.6g} but <x, A^T y> = {rhs:.6g} (relative error {err:.1e}): "
        "your function is not the adjoint of A",
    )


# ---------------------------------------------------------------------------------------------
# 10.average_pool: y = r x r average pooling, stride r (the super-resolution forward model)
# ---------------------------------------------------------------------------------------------

# (H, W, r): H, W divisible by r; non-square images so a transpose is caught; r = 1, r = H
_POOL_VISIBLE = [(4, 4, 2), (6, 8, 2), (9, 6, 3), (8, 12, 4), (5, 7, 1), (6, 6, 6)]
_POOL_HIDDEN = [(2, 10, 2), (15, 9, 3), (64, 48, 4), (10, 5, 5)]
_POOLING = ("torch.nn.functional.avg_pool2d", "torch.nn.functional.adaptive_avg_pool2d")


def _pool_reference(x: np.ndarray, r: int) -> np.ndarray:
    t = torch.from_numpy(x)[None, None]
    return F.avg_pool2d(t, kernel_size=r, stride=r)[0, 0].numpy()


@register(
    "10.average_pool",
    task="average pooling",
    forbid=_POOLING,
    hint="Output pixel (i, j) is the MEAN (not the sum) of the r x r block starting at "
    "(i*r, j*r); blocks do not overlap, so the output is (H/r, W/r). When reshaping, rows "
    "split as (block, offset within the block), columns likewise.",
)
def _average_pool(student, cases: Cases) -> None:
    for H, W, r in cases.grid(_POOL_VISIBLE, _POOL_HIDDEN):
        x = np.round(cases.rng.uniform(0.0, 1.0, (H, W)), 3)
        label = f"x of shape ({H}, {W}), r = {r}"
        got = cases.call(label, student, x, r)
        if got is not None:
            cases.compare(label, got, _pool_reference(x, r))


# ---------------------------------------------------------------------------------------------
# 10.average_pool_adjoint: A^T y = nearest upsampling / r^2
# ---------------------------------------------------------------------------------------------

# (h, w, r): the low-resolution size and the factor; the answer is (r h, r w)
_ADJ_VISIBLE = [(2, 2, 2), (3, 4, 2), (2, 3, 3), (4, 2, 4), (5, 3, 1), (1, 1, 6)]
_ADJ_HIDDEN = [(1, 5, 2), (5, 3, 3), (16, 12, 4), (2, 1, 5)]


def _pool_adjoint_reference(y: np.ndarray, r: int) -> np.ndarray:
    """A^T y as the vector-Jacobian product of F.avg_pool2d (A is linear: grad of <A x, y>)."""
    h, w = y.shape
    x = torch.zeros(1, 1, r * h, r * w, dtype=torch.float64, requires_grad=True)
    (F.avg_pool2d(x, kernel_size=r, stride=r) * torch.from_numpy(y)).sum().backward()
    return x.grad[0, 0].numpy()


@register(
    "10.average_pool_adjoint",
    task="the adjoint of average pooling",
    forbid=_POOLING,
    hint="Each output of A is 1/r^2 times the sum of its block, so A^T gives every pixel of "
    "block (i, j) the value y[i, j] times that same weight; each ENTRY is repeated r x r times "
    "(repeating the whole image is a different map).",
)
def _average_pool_adjoint(student, cases: Cases) -> None:
    for h, w, r in cases.grid(_ADJ_VISIBLE, _ADJ_HIDDEN):
        y = np.round(cases.rng.standard_normal((h, w)), 3)
        label = f"y of shape ({h}, {w}), r = {r} (answer of shape ({r * h}, {r * w}))"
        got = cases.call(label, student, y, r)
        expected = _pool_adjoint_reference(y, r)
        # values first (a constant multiple is named with its factor), then the dot test
        if got is None or not cases.compare(label, got, expected):
            continue
        arr = cases.array(label, got)
        x = cases.rng.standard_normal(expected.shape)
        _dot_test(cases, label, _pool_reference(x, r), y, x, arr.astype(float), _rtol(arr, 1e-10))


# ---------------------------------------------------------------------------------------------
# 10.mri_forward / 10.mri_adjoint: partially sampled unitary 2-D Fourier transform
# ---------------------------------------------------------------------------------------------


def _column_mask(cases: Cases, H: int, W: int, acceleration: int, centre: int) -> np.ndarray:
    """fastMRI-style: the `centre` lowest-frequency columns (fft2 layout) + random others."""
    keep = np.zeros(W, dtype=bool)
    low = (np.arange(centre) - centre // 2) % W  # around index 0, both signs
    keep[low] = True
    extra = max(W // acceleration - centre, 0)
    others = np.flatnonzero(~keep)
    keep[cases.rng.choice(others, min(extra, others.size), replace=False)] = True
    return np.broadcast_to(keep, (H, W)).copy()


def _masks(cases: Cases):
    """(description, mask) pairs; non-square images so transposes are caught."""
    if not cases.hidden:
        yield "column mask, 4x acceleration", _column_mask(cases, 8, 12, 4, 2)
        yield "column mask, 2x acceleration", _column_mask(cases, 10, 8, 2, 2)
        yield "random pixel mask (40%)", cases.rng.uniform(size=(6, 10)) < 0.4
    else:
        yield "column mask, 4x acceleration", _column_mask(cases, 16, 16, 4, 3)
        yield "column mask, 3x acceleration", _column_mask(cases, 12, 18, 3, 2)
        yield "fully sampled", np.ones((5, 7), dtype=bool)
        yield "nothing sampled", np.zeros((4, 6), dtype=bool)
        yield "only frequency (0, 0)", np.eye(1, 9, dtype=bool).reshape(3, 3)
        yield "random pixel mask (20%)", cases.rng.uniform(size=(9, 7)) < 0.2
        yield "1 x 8 image, odd columns", np.arange(8)[None, :] % 2 == 1


def _mri_forward_reference(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return mask * np.fft.fft2(x, norm="ortho")


def _mri_adjoint_reference(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.fft.ifft2(mask * y, norm="ortho").real


@register(
    "10.mri_forward",
    task="the MRI forward model",
    hint="The FFT is the UNITARY one (norm='ortho', ||fft2(x)|| = ||x||), in the fft2 layout "
    "like the mask (frequency 0 at [0, 0], no fftshift); unmeasured frequencies are zero and "
    "the result keeps the full complex (H, W) grid, not y[mask].",
)
def _mri_forward(student, cases: Cases) -> None:
    for name, mask in _masks(cases):
        x = np.round(cases.rng.uniform(0.0, 1.0, mask.shape), 3)
        label = f"x of shape {mask.shape}, {name} ({int(mask.sum())} of {mask.size} measured)"
        got = cases.call(label, student, x, mask)
        if got is not None:
            cases.compare(label, got, _mri_forward_reference(x, mask))


@register(
    "10.mri_adjoint",
    task="the MRI adjoint",
    hint="The entries of y outside the mask are not data (the mask is its own adjoint); the "
    "adjoint of the unitary fft2 is its inverse with the same norm='ortho', no fftshift; the "
    "image is real (A maps R^n to C^k, in the real inner product).",
)
def _mri_adjoint(student, cases: Cases) -> None:
    for name, mask in _masks(cases):
        shape = mask.shape
        # y is any complex array (not only mask * something): the mask must be applied
        y = np.round(cases.rng.standard_normal(shape) + 1j * cases.rng.standard_normal(shape), 3)
        label = f"y of shape {shape}, {name} ({int(mask.sum())} of {mask.size} measured)"
        got = cases.call(label, student, y, mask)
        expected = _mri_adjoint_reference(y, mask)
        # values first (a constant multiple is named with its factor), then the dot test
        if got is None or not cases.compare(label, got, expected):
            continue
        arr = cases.array(label, got, real=True)
        x = cases.rng.standard_normal(shape)
        ax = _mri_forward_reference(x, mask)
        _dot_test(cases, label, ax, y, x, arr.astype(float), _rtol(arr, 1e-10))


# ---------------------------------------------------------------------------------------------
# 10.pixel_cross_entropy: sum over pixels of -log softmax(logits[:, i, j])[labels[i, j]]
# ---------------------------------------------------------------------------------------------


def _ce_cases(cases: Cases):
    """(description, logits (K, H, W) float64, labels (H, W) int64) with torch tensors."""
    rng = cases.rng
    # (K, H, W, logit scale): scale 1000 overflows exp() in float64 (exp(710) = inf)
    visible = [(3, 4, 5, 1.0), (2, 3, 3, 5.0), (5, 6, 4, 2.0), (4, 3, 4, 1000.0)]
    extra = [(2, 1, 1, 1.0), (1, 3, 4, 3.0), (10, 8, 8, 3.0), (3, 5, 2, 800.0)]
    extra += [(6, 4, 7, 2000.0), (4, 16, 16, 0.5), (3, 2, 6, -1e4)]
    for K, H, W, scale in cases.grid(visible, extra):
        logits = np.round(scale * rng.standard_normal((K, H, W)), 3)
        labels = rng.integers(0, K, (H, W))
        if 1 < K <= H * W:  # every class occurs (so a one-off label index is caught)
            labels.ravel()[:K] = rng.permutation(K)
        label = f"K = {K} classes, {H} x {W} pixels, logits of size ~{abs(scale):g}"
        yield label, torch.from_numpy(logits), torch.from_numpy(labels)


@register(
    "10.pixel_cross_entropy",
    task="the pixel-wise cross-entropy",
    forbid=(
        "torch.nn.functional.cross_entropy",
        "torch.nn.functional.nll_loss",
        "torch.nn.functional.log_softmax",
    ),
    hint="Per pixel, -log softmax over the CLASS axis 0 at the pixel's label (0-based) is "
    "log-sum-exp of its logits minus the logit of its label; SUM (not mean) over all pixels. "
    "Never exponentiate a large logit and never take the log of a probability that can be 0: "
    "shift by the max inside the log-sum-exp. Return one number.",
)
def _pixel_cross_entropy(student, cases: Cases) -> None:
    for label, logits, labels in _ce_cases(cases):
        got = cases.call(label, student, logits, labels)
        if got is None:
            continue
        arr = cases.array(label, got, real=True)
        if arr is None:
            continue
        if arr.size != 1:
            cases.fail(label, f"expected one number (the sum over pixels), got shape {arr.shape}")
            continue
        value = float(arr.reshape(()))
        if np.isnan(value):
            cases.fail(
                label,
                "got nan: exp of a large logit OVERFLOWS to inf (inf / inf = nan) - subtract "
                "the max logit before exp (log-sum-exp)",
            )
        elif np.isinf(value):
            cases.fail(
                label,
                f"got {value}: a probability UNDERFLOWED to 0 and log(0) = -inf - compute "
                "log softmax as logit - logsumexp, never as the log of a softmax",
            )
        else:
            expected = float(F.cross_entropy(logits[None], labels[None], reduction="sum"))
            cases.compare_scalar(label, arr, expected, rtol=1e-10)
