"""Grader power for notebook 10: wrong implementations are rejected, other correct ones accepted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grader_power import grader_power_tests, rejected

# ---------------------------------------------------------------------------------------------
# 10.average_pool
# ---------------------------------------------------------------------------------------------


def pool_reshape(x, r):
    H, W = x.shape
    return x.reshape(H // r, r, W // r, r).mean(axis=(1, 3))


def pool_loops(x, r):
    H, W = x.shape
    y = np.zeros((H // r, W // r))
    for i in range(H // r):
        for j in range(W // r):
            total = 0.0
            for a in range(r):
                for b in range(r):
                    total += x[i * r + a, j * r + b]
            y[i, j] = total / (r * r)
    return y


def pool_torch_float32(x, r):
    """The r x r box filter as a stride-r conv2d, in float32."""
    t = torch.as_tensor(x, dtype=torch.float32)[None, None]
    return F.conv2d(t, torch.full((1, 1, r, r), 1.0 / r**2), stride=r)[0, 0]


def pool_matrices(x, r):
    """y = P_H x P_W^T with P_n = kron(I_{n/r}, ones(1, r)) / r (MATLAB style)."""
    H, W = x.shape
    PH = np.kron(np.eye(H // r), np.ones((1, r)) / r)
    PW = np.kron(np.eye(W // r), np.ones((1, r)) / r)
    return PH @ x @ PW.T


def _pool_shifted(x, r):
    """Blocks start one pixel late (wrapping around): an off-by-one crop."""
    return pool_reshape(np.roll(x, (-1, -1), axis=(0, 1)), r)


def _pool_r_by_1(x, r):
    H, W = x.shape
    return x.reshape(H // r, r, W // r, r)[:, :, :, 0].mean(axis=1)


POOL_WRONG = {
    "sum instead of mean": lambda x, r: pool_reshape(x, r) * r * r,
    "stride 1 (overlapping windows)": lambda x, r: F.avg_pool2d(
        torch.as_tensor(x)[None, None], r, stride=1
    )[0, 0],
    "wrong axis order in the reshape": lambda x, r: x.reshape(
        r, x.shape[0] // r, r, x.shape[1] // r
    ).mean(axis=(0, 2)),
    "r x 1 window (columns subsampled)": _pool_r_by_1,
    "off-by-one: blocks shifted by one pixel": _pool_shifted,
    "crops the last block": lambda x, r: pool_reshape(x, r)[:-1, :-1],
    "subsampling instead of averaging": lambda x, r: x[::r, ::r],
    "transposed output": lambda x, r: pool_reshape(x, r).T,
    "divides by r instead of r^2": lambda x, r: pool_reshape(x, r) * r,
}
POOL_CORRECT = [pool_reshape, pool_loops, pool_torch_float32, pool_matrices]

# ---------------------------------------------------------------------------------------------
# 10.average_pool_adjoint
# ---------------------------------------------------------------------------------------------


def adj_repeat(y, r):
    return np.repeat(np.repeat(y, r, axis=0), r, axis=1) / r**2


def adj_kron(y, r):
    return np.kron(y, np.ones((r, r))) / r**2


def adj_torch_nearest_float32(y, r):
    t = torch.as_tensor(y, dtype=torch.float32)[None, None]
    return F.interpolate(t, scale_factor=r, mode="nearest")[0, 0] / r**2


def adj_loops(y, r):
    h, w = y.shape
    x = np.zeros((r * h, r * w))
    for i in range(r * h):
        for j in range(r * w):
            x[i, j] = y[i // r, j // r] / (r * r)
    return x


def adj_autograd(y, r):
    """The vjp of the student's own pooling: a correct adjoint without any formula."""
    y = torch.as_tensor(y, dtype=torch.float64)
    x = torch.zeros(y.shape[0] * r, y.shape[1] * r, dtype=torch.float64, requires_grad=True)
    (x.reshape(y.shape[0], r, y.shape[1], r).mean(dim=(1, 3)) * y).sum().backward()
    return x.grad


def _adj_bilinear(y, r):
    t = torch.as_tensor(y)[None, None]
    up = F.interpolate(t, scale_factor=r, mode="bilinear", align_corners=False)
    return up[0, 0] / r**2


ADJ_WRONG = {
    "missing 1/r^2": lambda y, r: adj_repeat(y, r) * r**2,
    "bilinear upsampling": _adj_bilinear,
    "divided by r": lambda y, r: adj_repeat(y, r) * r,
    "transposed image": lambda y, r: adj_repeat(y.T, r),
    "np.tile instead of np.repeat": lambda y, r: np.tile(y, (r, r)) / r**2,
    "repeat along rows only": lambda y, r: np.repeat(y, r, axis=0) / r**2,
    "zero insertion (one pixel per block)": lambda y, r: np.kron(y, np.eye(1, r * r).reshape(r, r)),
    "constant image of mean(y) / r^2": lambda y, r: np.full(
        (y.shape[0] * r, y.shape[1] * r), np.mean(y) / r**2
    ),
}
ADJ_CORRECT = [adj_repeat, adj_kron, adj_torch_nearest_float32, adj_loops, adj_autograd]

# ---------------------------------------------------------------------------------------------
# 10.mri_forward
# ---------------------------------------------------------------------------------------------


def fwd_numpy(x, mask):
    return mask * np.fft.fft2(x, norm="ortho")


def fwd_torch_float32(x, mask):
    t = torch.as_tensor(x, dtype=torch.float32)
    return torch.fft.fft2(t, norm="ortho") * torch.as_tensor(mask)


def _dft(n):
    k = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(k, k) / n) / math.sqrt(n)


def fwd_dft_matrices(x, mask):
    """MATLAB style: Y = F_H X F_W^T with unitary DFT matrices (F = dftmtx(n) / sqrt(n))."""
    H, W = x.shape
    return np.where(mask, _dft(H) @ x @ _dft(W).T, 0)


def fwd_shift_consistently(x, mask):
    """fftshift both k-space and mask, then undo it: the same answer."""
    k = np.fft.fftshift(np.fft.fft2(x, norm="ortho"))
    return np.fft.ifftshift(np.fft.fftshift(mask) * k)


FWD_WRONG = {
    "default norm (no 1/sqrt(n))": lambda x, m: m * np.fft.fft2(x),
    "norm='forward' (1/n)": lambda x, m: m * np.fft.fft2(x, norm="forward"),
    "fftshift mismatch": lambda x, m: m * np.fft.fftshift(np.fft.fft2(x, norm="ortho")),
    "ifft2 instead of fft2": lambda x, m: m * np.fft.ifft2(x, norm="ortho"),
    "mask applied to the image": lambda x, m: np.fft.fft2(m * x, norm="ortho"),
    "mask missing": lambda x, m: np.fft.fft2(x, norm="ortho"),
    "real part only": lambda x, m: (m * np.fft.fft2(x, norm="ortho")).real,
    "magnitude only": lambda x, m: np.abs(m * np.fft.fft2(x, norm="ortho")),
    "measured entries only (y[mask])": lambda x, m: np.fft.fft2(x, norm="ortho")[m],
    "fft along rows only": lambda x, m: m * np.fft.fft(x, axis=1, norm="ortho"),
}
FWD_CORRECT = [fwd_numpy, fwd_torch_float32, fwd_dft_matrices, fwd_shift_consistently]

# ---------------------------------------------------------------------------------------------
# 10.mri_adjoint
# ---------------------------------------------------------------------------------------------


def adjm_numpy(y, mask):
    return np.fft.ifft2(mask * y, norm="ortho").real


def adjm_torch_float32(y, mask):
    t = torch.as_tensor(y).to(torch.complex64) * torch.as_tensor(mask)
    return torch.fft.ifft2(t, norm="ortho").real


def adjm_dft_matrices(y, mask):
    """X = F_H^H (M .* Y) conj(F_W): the conjugate transpose of the forward's DFT matrices."""
    H, W = y.shape
    FH, FW = _dft(H), _dft(W)
    return (FH.conj().T @ np.where(mask, y, 0) @ FW.conj()).real


def adjm_conj_fft(y, mask):
    """ifft2(z) = conj(fft2(conj(z))) / n under norm='ortho' without the 1/n."""
    return np.fft.fft2(np.conj(mask * y), norm="ortho").real


def adjm_autograd(y, mask):
    """The vjp of the forward map in the real inner product Re <A x, y>."""
    y = torch.as_tensor(y, dtype=torch.complex128)
    m = torch.as_tensor(mask)
    x = torch.zeros(y.shape, dtype=torch.float64, requires_grad=True)
    ax = m * torch.fft.fft2(x, norm="ortho")
    (ax.conj() * y).real.sum().backward()
    return x.grad


ADJM_WRONG = {
    "default norm": lambda y, m: np.fft.ifft2(m * y).real,
    "fftshift mismatch": lambda y, m: np.fft.ifft2(np.fft.fftshift(m * y), norm="ortho").real,
    "mask missing": lambda y, m: np.fft.ifft2(y, norm="ortho").real,
    "fft2 instead of ifft2 (conj missing)": lambda y, m: np.fft.fft2(m * y, norm="ortho").real,
    "imaginary part": lambda y, m: np.fft.ifft2(m * y, norm="ortho").imag,
    "complex result (.real forgotten)": lambda y, m: np.fft.ifft2(m * y, norm="ortho"),
    "magnitude instead of real part": lambda y, m: np.abs(np.fft.ifft2(m * y, norm="ortho")),
    "inverse of the mask": lambda y, m: np.fft.ifft2(~m * y, norm="ortho").real,
    "transposed image": lambda y, m: np.fft.ifft2(m * y, norm="ortho").real.T,
}
ADJM_CORRECT = [adjm_numpy, adjm_torch_float32, adjm_dft_matrices, adjm_conj_fft, adjm_autograd]

# ---------------------------------------------------------------------------------------------
# 10.pixel_cross_entropy
# ---------------------------------------------------------------------------------------------


def ce_logsumexp(logits, labels):
    lse = torch.logsumexp(logits, dim=0)
    picked = torch.gather(logits, 0, labels[None])[0]
    return (lse - picked).sum()


def ce_numpy_loops(logits, labels):
    z, t = np.asarray(logits, float), np.asarray(labels)
    H, W = z.shape[1:]
    total = 0.0
    for i in range(H):
        for j in range(W):
            m = max(z[:, i, j])
            lse = m + math.log(sum(math.exp(v - m) for v in z[:, i, j]))
            total += lse - z[t[i, j], i, j]
    return total


def ce_torch_float32(logits, labels):
    z = torch.as_tensor(logits, dtype=torch.float32)
    logp = torch.log_softmax(z, dim=0)
    return -logp.gather(0, torch.as_tensor(labels)[None]).sum()


def ce_one_hot(logits, labels):
    """One-hot labels times log-probabilities, numpy, max-shifted."""
    z = np.asarray(logits, float)
    z = z - z.max(axis=0, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
    onehot = np.arange(z.shape[0])[:, None, None] == np.asarray(labels)[None]
    return float(-(onehot * logp).sum())


def _ce_naive(logits, labels):
    p = torch.exp(logits) / torch.exp(logits).sum(0)
    return -torch.log(p.gather(0, labels[None])).sum()


def _ce_no_log(logits, labels):
    return -torch.softmax(logits, 0).gather(0, labels[None]).sum()


WITH_ONE_OFF = lambda lo, la: ce_logsumexp(lo, (la + 1) % lo.shape[0])  # noqa: E731

CE_WRONG = {
    "mean instead of sum": lambda lo, la: ce_logsumexp(lo, la) / la.numel(),
    "softmax over the wrong axis (rows)": lambda lo, la: (
        -torch.log_softmax(lo, 1).gather(0, la[None]).sum()
    ),
    "log missing": _ce_no_log,
    "no log-sum-exp stabilisation": _ce_naive,
    "labels off by one": WITH_ONE_OFF,
    "sign flipped": lambda lo, la: -ce_logsumexp(lo, la),
    "log10 instead of the natural log": lambda lo, la: ce_logsumexp(lo, la) / math.log(10),
    "per-pixel losses (no sum)": lambda lo, la: torch.logsumexp(lo, 0) - lo.gather(0, la[None])[0],
    "sum over classes of all log-probabilities": lambda lo, la: -torch.log_softmax(lo, 0).sum(),
}
CE_CORRECT = [ce_logsumexp, ce_numpy_loops, ce_torch_float32, ce_one_hot]


WRONG = {
    "10.average_pool": POOL_WRONG,
    "10.average_pool_adjoint": ADJ_WRONG,
    "10.mri_forward": FWD_WRONG,
    "10.mri_adjoint": ADJM_WRONG,
    "10.pixel_cross_entropy": CE_WRONG,
}
CORRECT = {
    "10.average_pool": POOL_CORRECT,
    "10.average_pool_adjoint": ADJ_CORRECT,
    "10.mri_forward": FWD_CORRECT,
    "10.mri_adjoint": ADJM_CORRECT,
    "10.pixel_cross_entropy": CE_CORRECT,
}


# ---------------------------------------------------------------------------------------------
# the grader's own references and reports
# ---------------------------------------------------------------------------------------------


def test_references_pass_their_dot_tests():
    """The grader's pooling/MRI references are adjoint pairs (float64, normalised dot test)."""
    from convlab.grading.nb10 import (
        _mri_adjoint_reference,
        _mri_forward_reference,
        _pool_adjoint_reference,
        _pool_reference,
    )

    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((6, 9)), rng.standard_normal((2, 3))
    lhs = np.vdot(_pool_reference(x, 3), y)
    assert abs(lhs - np.vdot(x, _pool_adjoint_reference(y, 3))) < 1e-12
    mask = rng.uniform(size=(6, 9)) < 0.5
    y = rng.standard_normal((6, 9)) + 1j * rng.standard_normal((6, 9))
    lhs = np.vdot(_mri_forward_reference(x, mask), y).real
    assert abs(lhs - np.vdot(x, _mri_adjoint_reference(y, mask))) < 1e-12


def test_visible_cross_entropy_case_overflows_naive_softmax():
    """The visible cases include logits whose exp() is inf in float64."""
    from convlab.grading._core import Cases
    from convlab.grading.nb10 import _ce_cases

    cases = Cases(rng=np.random.default_rng(0))
    worst = max(float(lo.abs().max()) for _, lo, _ in _ce_cases(cases))
    assert worst > 710


@pytest.mark.parametrize(
    ("name", "impl", "phrase"),
    [
        ("10.average_pool", POOL_WRONG["sum instead of mean"], "MEAN"),
        ("10.average_pool_adjoint", ADJ_WRONG["missing 1/r^2"], "is 4 times the expected"),
        ("10.mri_forward", FWD_WRONG["default norm (no 1/sqrt(n))"], "ortho"),
        ("10.mri_adjoint", ADJM_WRONG["complex result (.real forgotten)"], ".real"),
        ("10.pixel_cross_entropy", CE_WRONG["no log-sum-exp stabilisation"], "log-sum-exp"),
    ],
)
def test_failure_report_names_case_and_hint(name, impl, phrase):
    out = rejected(name, impl)
    assert "first failing case:" in out and phrase in out


def test_references_agree_with_the_package():
    """The grader's torch/numpy references and convlab.inverse compute the same operators."""
    from convlab.grading.nb10 import (
        _mri_adjoint_reference,
        _mri_forward_reference,
        _pool_adjoint_reference,
        _pool_reference,
    )
    from convlab.inverse import AveragePool, FourierSampling, random_mask

    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((12, 9)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(_pool_reference(x, 3), AveragePool(3)(x).numpy(), atol=1e-14)
    np.testing.assert_allclose(
        _pool_adjoint_reference(y, 3), AveragePool(3).adjoint(y).numpy(), atol=1e-14
    )
    m = random_mask((12, 9), 3, 0.2, generator=torch.Generator().manual_seed(1)).numpy()
    z = rng.standard_normal((12, 9)) + 1j * rng.standard_normal((12, 9))
    op = FourierSampling(m)
    np.testing.assert_allclose(_mri_forward_reference(x, m), op(x).numpy(), atol=1e-12)
    np.testing.assert_allclose(_mri_adjoint_reference(z, m), op.adjoint(z).numpy(), atol=1e-12)


# near-misses added with the engine's visible cases (underflow as well as overflow)
def _ce_log_of_stable_softmax(logits, labels):
    """Stable softmax (max subtracted), then log: a probability underflows to 0, log(0)."""
    p = torch.softmax(logits - logits.max(0).values, dim=0)
    return -torch.log(p.gather(0, labels[None])[0]).sum()


WRONG["10.pixel_cross_entropy"]["log of a stabilised softmax (underflow)"] = (
    _ce_log_of_stable_softmax
)

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("10", WRONG, CORRECT)
