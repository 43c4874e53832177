"""Grader power for notebook 01: wrong implementations are rejected, other correct ones accepted."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from grader_power import grader_power_tests, rejected, stub

from convlab.grading import NotDoneYet, check


def loops(theta, n, boundary, centre=None):
    """An independent, loop-based implementation (dense); ``centre`` other than L//2 is wrong."""
    L = len(theta)
    c = L // 2 if centre is None else centre
    rows = n - L + 1 if boundary == "valid" else n
    K = np.zeros((rows, n))
    for i in range(rows):
        for p in range(L):
            j = i + L - 1 - p if boundary == "valid" else i - p + c
            if boundary == "periodic":
                K[i, j % n] += theta[p]
            elif 0 <= j < n:
                K[i, j] = theta[p]
    return K


def via_scipy(theta, n, boundary):
    """Correct alternative from scipy.linalg, returned as a float32 sparse COO array."""
    L, c = len(theta), len(theta) // 2
    if boundary == "periodic":
        col = np.zeros(n)
        np.add.at(col, (np.arange(L) - c) % n, theta)
        K = sla.circulant(col)
    else:
        full = sla.toeplitz(np.r_[theta, np.zeros(n - 1)], np.r_[theta[0], np.zeros(n - 1)])
        K = full[c : c + n] if boundary == "zero" else full[L - 1 : n]
    return sp.coo_array(K.astype(np.float32))


def wrong(kind, boundary):
    def impl(theta, n):
        theta = np.asarray(theta, dtype=float)
        if kind == "flipped":
            return loops(theta[::-1], n, boundary)
        if kind == "other_boundary":
            other = {"zero": "periodic", "periodic": "zero", "valid": "zero"}[boundary]
            return loops(theta, n, other)
        if kind == "shifted":
            return np.roll(loops(theta, n, boundary), 1, axis=1)
        if kind == "transposed":
            return loops(theta, n, boundary).T
        if kind == "numpy_centre":  # numpy/scipy centre (L-1)//2: wrong for even L
            if boundary == "valid":  # valid has no centre: drop the last row instead
                return loops(theta, n, boundary)[:-1]
            return loops(theta, n, boundary, centre=(len(theta) - 1) // 2)
        if kind == "scaled":
            return 1.001 * loops(theta, n, boundary)
        if kind == "none":
            return None
        raise AssertionError(kind)

    return impl


def test_failure_report_names_case_and_hint():
    out = rejected("01.periodic_matrix", wrong("flipped", "periodic"))
    assert "first failing case: theta = [" in out and "hint:" in out


def test_the_correlation_matrix_is_named():
    out = rejected("01.zero_matrix", wrong("transposed", "zero"))
    assert "TRANSPOSED (that is the correlation matrix" in out


def torch_same(y, theta):
    return F.conv1d(
        torch.tensor(y)[None, None], torch.tensor(theta).flip(-1)[None, None], padding="same"
    )[0, 0]


TORCH_WRONG = {
    "no flip (correlation)": lambda y, t: F.conv1d(
        torch.tensor(y)[None, None], torch.tensor(t)[None, None], padding="same"
    )[0, 0],
    "numpy 'same' centring": lambda y, t: np.convolve(y, t, "same"),
    "valid instead of same": lambda y, t: np.convolve(y, t, "valid"),
    "full instead of same": lambda y, t: np.convolve(y, t, "full"),
    "circular padding": lambda y, t: np.real(
        np.fft.ifft(
            np.fft.fft(np.roll(np.r_[t, np.zeros(len(y) - len(t))], -(len(t) // 2))) * np.fft.fft(y)
        )
    ),
    "float16 rounding": lambda y, t: torch_same(y, t).half(),
}


NAMES = {"zero": "01.zero_matrix", "periodic": "01.periodic_matrix", "valid": "01.valid_matrix"}
KINDS = ["flipped", "other_boundary", "shifted", "transposed", "numpy_centre", "scaled", "none"]
WRONG = {name: {kind: wrong(kind, b) for kind in KINDS} for b, name in NAMES.items()}
WRONG["01.torch_same"] = TORCH_WRONG
CORRECT = {
    name: [lambda t, n, b=b: loops(t, n, b), lambda t, n, b=b: via_scipy(t, n, b)]
    for b, name in NAMES.items()
}
CORRECT["01.torch_same"] = [
    torch_same,
    # explicit zero padding ((L-1)//2 in front, L//2 behind), float32
    lambda y, t: F.conv1d(
        F.pad(torch.tensor(y, dtype=torch.float32)[None, None], ((len(t) - 1) // 2, len(t) // 2)),
        torch.tensor(t[::-1].copy(), dtype=torch.float32)[None, None],
    )[0, 0],
]


def test_stub_report_is_one_line():
    with pytest.raises(NotDoneYet) as info:
        check("01.periodic_matrix", stub)
    assert "not done yet" in str(info.value) and len(info.value._render_traceback_()) == 1


# near-misses added with the engine's visible cases (even L, L = 1, n = L): rejected on sight
def _same_by_symmetric_padding(y, t):
    """padding=L//2 on both sides, then the first len(y) outputs: wrong for even L."""
    out = F.conv1d(
        torch.tensor(y)[None, None], torch.tensor(t).flip(-1)[None, None], padding=len(t) // 2
    )
    return out[0, 0, : len(y)]


WRONG["01.torch_same"]["padding L//2 on both sides, cropped"] = _same_by_symmetric_padding

(
    test_rejects_wrong,
    test_accepts_correct,
    test_stub_is_not_done_yet,
    test_rejects_forbidden_calls_mutation_and_wrong_kind,
    test_coverage,
) = grader_power_tests("01", WRONG, CORRECT)
