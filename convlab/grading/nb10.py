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

from convlab.grading._core import Cases, as_array, register

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _array(cases: Cases, label: str, got) -> np.ndarray | None:
    """The student's answer as an ndarray, or a recorded failure."""
    try:
        arr = as_array(got)
    except Exception as exc:
        cases.fail(label, f"could not turn the answer into an array ({exc})")
        return None
    if not np.issubdtype(arr.dtype, np.number):
        cases.fail(label, f"answer has dtype {arr.dtype}, expected numbers")
        return None
    return arr


def _real_image(cases: Cases, label: str, got, *, what: str) -> np.ndarray | None:
    """A real image, or a recorded failure that says why (complex answers fail by name)."""
    arr = _array(cases, label, got)
    if arr is None:
        return None
    if np.iscomplexobj(arr):
        cases.fail(label, f"the answer is complex: {what}")
        return None
    return arr


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

# (H, W, r): H, W divisible by r; non-square images so a transpose is caught
_POOL_VISIBLE = [(4, 4, 2), (6, 8, 2), (9, 6, 3), (8, 12, 4)]
_POOL_HIDDEN = [(5, 7, 1), (6, 6, 6), (2, 10, 2), (15, 9, 3), (64, 48, 4), (10, 5, 5)]


def _pool_reference(x: np.ndarray, r: int) -> np.ndarray:
    t = torch.from_numpy(x)[None, None]
    return F.avg_pool2d(t, kernel_size=r, stride=r)[0, 0].numpy()


@register(
    "10.average_pool",
    hint="Output pixel (i, j) is the MEAN of the r x r block x[i*r:(i+1)*r, j*r:(j+1)*r] "
    "(stride r: blocks do not overlap), so the output is (H/r, W/r). Vectorised: "
    "x.reshape(H // r, r, W // r, r).mean(axis=(1, 3)) - rows split as (block, offset), "
    "columns likewise. MATLAB: y = squeeze(mean(mean(reshape(x, r, H/r, r, W/r), 1), 3)).",
)
def _average_pool(student, cases: Cases, hidden: bool) -> None:
    for H, W, r in _POOL_HIDDEN if hidden else _POOL_VISIBLE:
        x = np.round(cases.rng.uniform(0.0, 1.0, (H, W)), 3)
        label = f"x of shape ({H}, {W}), r = {r}"
        got = cases.call(label, student, x.copy(), r)
        if got is None:
            continue
        arr = _real_image(cases, label, got, what="average pooling of a real image is real")
        if arr is not None:
            cases.compare(label, arr, _pool_reference(x, r), rtol=_rtol(arr))


# ---------------------------------------------------------------------------------------------
# 10.average_pool_adjoint: A^T y = nearest upsampling / r^2
# ---------------------------------------------------------------------------------------------

# (h, w, r): the low-resolution size and the factor; the answer is (r h, r w)
_ADJ_VISIBLE = [(2, 2, 2), (3, 4, 2), (2, 3, 3), (4, 2, 4)]
_ADJ_HIDDEN = [(5, 3, 1), (1, 1, 6), (1, 5, 2), (5, 3, 3), (16, 12, 4), (2, 1, 5)]


def _pool_adjoint_reference(y: np.ndarray, r: int) -> np.ndarray:
    """A^T y as the vector-Jacobian product of F.avg_pool2d (A is linear: grad of <A x, y>)."""
    h, w = y.shape
    x = torch.zeros(1, 1, r * h, r * w, dtype=torch.float64, requires_grad=True)
    (F.avg_pool2d(x, kernel_size=r, stride=r) * torch.from_numpy(y)).sum().backward()
    return x.grad[0, 0].numpy()


@register(
    "10.average_pool_adjoint",
    hint="A spreads each output as 1/r^2 times each pixel of its block, so A^T copies y[i, j] "
    "into the whole r x r block (i, j) and multiplies by 1/r^2: "
    "np.repeat(np.repeat(y, r, axis=0), r, axis=1) / r**2 (or np.kron(y, np.ones((r, r))) / r**2)."
    " np.tile repeats the WHOLE image, not each pixel; MATLAB: kron(y, ones(r)) / r^2.",
)
def _average_pool_adjoint(student, cases: Cases, hidden: bool) -> None:
    for h, w, r in _ADJ_HIDDEN if hidden else _ADJ_VISIBLE:
        y = np.round(cases.rng.standard_normal((h, w)), 3)
        label = f"y of shape ({h}, {w}), r = {r} (answer of shape ({r * h}, {r * w}))"
        got = cases.call(label, student, y.copy(), r)
        if got is None:
            continue
        arr = _real_image(cases, label, got, what="the adjoint of a real operator is real")
        if arr is None:
            continue
        expected = _pool_adjoint_reference(y, r)
        if arr.shape != expected.shape:
            cases.compare(label, arr, expected)  # reports the shape
            continue
        x = cases.rng.standard_normal(expected.shape)
        _dot_test(cases, label, _pool_reference(x, r), y, x, arr.astype(float), _rtol(arr, 1e-10))
        cases.compare(label, arr, expected, rtol=_rtol(arr))


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


def _masks(cases: Cases, hidden: bool):
    """(description, mask) pairs; non-square images so transposes are caught."""
    if not hidden:
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
    hint="y = mask * fft2(x, norm='ortho'): the unitary FFT (np.fft.fft2(x, norm='ortho') or "
    "torch.fft.fft2), in the fft2 layout (NO fftshift: frequency 0 stays at [0, 0], like the "
    "mask), then zero every unmeasured frequency. Return the complex (H, W) array, not y[mask]. "
    "MATLAB: y = mask .* fft2(x) / sqrt(numel(x)).",
)
def _mri_forward(student, cases: Cases, hidden: bool) -> None:
    for name, mask in _masks(cases, hidden):
        x = np.round(cases.rng.uniform(0.0, 1.0, mask.shape), 3)
        label = f"x of shape {mask.shape}, {name} ({int(mask.sum())} of {mask.size} measured)"
        got = cases.call(label, student, x.copy(), mask.copy())
        if got is None:
            continue
        arr = _array(cases, label, got)
        if arr is not None:
            cases.compare(label, arr, _mri_forward_reference(x, mask), rtol=_rtol(arr))


@register(
    "10.mri_adjoint",
    hint="A^T y = real(ifft2(mask * y, norm='ortho')): mask first (unmeasured entries of y are "
    "not data), then the unitary INVERSE FFT (the adjoint of a unitary fft2 is its inverse, "
    "i.e. conj-transposed), no fftshift, and keep the REAL part (x is real: A maps R^n to C^k). "
    "MATLAB: x = real(ifft2(mask .* y)) * sqrt(numel(y)).",
)
def _mri_adjoint(student, cases: Cases, hidden: bool) -> None:
    for name, mask in _masks(cases, hidden):
        shape = mask.shape
        # y is any complex array (not only mask * something): the mask must be applied
        y = np.round(cases.rng.standard_normal(shape) + 1j * cases.rng.standard_normal(shape), 3)
        label = f"y of shape {shape}, {name} ({int(mask.sum())} of {mask.size} measured)"
        got = cases.call(label, student, y.copy(), mask.copy())
        if got is None:
            continue
        arr = _real_image(
            cases, label, got, what="the image is real, return the real part (.real) of ifft2"
        )
        if arr is None:
            continue
        expected = _mri_adjoint_reference(y, mask)
        if arr.shape != expected.shape:
            cases.compare(label, arr, expected)  # reports the shape
            continue
        x = cases.rng.standard_normal(shape)
        ax = _mri_forward_reference(x, mask)
        _dot_test(cases, label, ax, y, x, arr.astype(float), _rtol(arr, 1e-10))
        cases.compare(label, arr, expected, rtol=_rtol(arr))


# ---------------------------------------------------------------------------------------------
# 10.pixel_cross_entropy: sum over pixels of -log softmax(logits[:, i, j])[labels[i, j]]
# ---------------------------------------------------------------------------------------------


def _ce_cases(cases: Cases, hidden: bool):
    """(description, logits (K, H, W) float64, labels (H, W) int64) with torch tensors."""
    rng = cases.rng
    # (K, H, W, logit scale): scale 1000 overflows exp() in float64 (exp(710) = inf)
    visible = [(3, 4, 5, 1.0), (2, 3, 3, 5.0), (5, 6, 4, 2.0), (4, 3, 4, 1000.0)]
    extra = [(2, 1, 1, 1.0), (1, 3, 4, 3.0), (10, 8, 8, 3.0), (3, 5, 2, 800.0)]
    extra += [(6, 4, 7, 2000.0), (4, 16, 16, 0.5), (3, 2, 6, -1e4)]
    specs = extra if hidden else visible
    for K, H, W, scale in specs:
        logits = np.round(scale * rng.standard_normal((K, H, W)), 3)
        labels = rng.integers(0, K, (H, W))
        if 1 < K <= H * W:  # every class occurs (so a one-off label index is caught)
            labels.ravel()[:K] = rng.permutation(K)
        label = f"K = {K} classes, {H} x {W} pixels, logits of size ~{abs(scale):g}"
        yield label, torch.from_numpy(logits), torch.from_numpy(labels)


@register(
    "10.pixel_cross_entropy",
    hint="For every pixel (i, j): -log softmax(logits[:, i, j])[labels[i, j]] = "
    "logsumexp_k logits[k, i, j] - logits[labels[i, j], i, j], with the softmax over the CLASS "
    "axis 0; SUM (not mean) over all pixels. Stable log-sum-exp: m = max_k logits, "
    "lse = m + log(sum_k exp(logits - m)) (never exp of a large logit). "
    "Labels are 0-based class indices. Return one number.",
)
def _pixel_cross_entropy(student, cases: Cases, hidden: bool) -> None:
    for label, logits, labels in _ce_cases(cases, hidden):
        got = cases.call(label, student, logits.clone(), labels.clone())
        if got is None:
            continue
        arr = _array(cases, label, got)
        if arr is None:
            continue
        if arr.size != 1:
            cases.fail(label, f"expected one number (the sum over pixels), got shape {arr.shape}")
            continue
        if np.iscomplexobj(arr):
            cases.fail(label, "expected a real number, got a complex one")
            continue
        value = float(arr.reshape(()))
        if not np.isfinite(value):
            cases.fail(
                label,
                f"got {value}: exp of a large logit overflows - use the log-sum-exp trick "
                "(subtract the max before exp)",
            )
            continue
        expected = float(F.cross_entropy(logits[None], labels[None], reduction="sum"))
        ok = abs(value - expected) <= 1e-5 * max(1.0, abs(expected))
        cases.record(label, ok, f"got {value:.8g}, expected {expected:.8g}")
