"""Checks for exercises/05_conv2d_bccb.ipynb (2D periodic convolution with fft2).

References: the BCCB matrix built by index arithmetic (:meth:`convlab.conv.Conv2D.matrix`,
independent of the FFT path), ``numpy.linalg.eigvals`` compared as multisets, and
``scipy.signal.convolve2d(..., boundary="wrap")`` for odd stencils.
"""

from __future__ import annotations

import numpy as np

from convlab.conv import Conv2D
from convlab.grading._core import Cases, register


def _stencils(cases: Cases, hidden: bool):
    sizes = [((3, 3), (6, 5)), ((3, 3), (4, 4)), ((3, 1), (5, 6))]
    if hidden:
        sizes += [((2, 4), (5, 6)), ((5, 5), (5, 7)), ((1, 1), (3, 2)), ((3, 5), (8, 9))]
    for L, n in sizes:
        yield np.round(cases.rng.standard_normal(L), 2), n


@register(
    "05.bccb_eigenvalues",
    hint="Zero-pad theta to the image size, circshift it by (-(L1//2), -(L2//2)) over both axes "
    "so the centre lands at pixel (0, 0), then np.fft.fft2 (MATLAB: fft2). "
    "Return the n1 x n2 array.",
)
def _bccb_eigenvalues(student, cases: Cases, hidden: bool) -> None:
    for theta, n in _stencils(cases, hidden):
        label = f"theta {theta.shape} = {theta.tolist()}, image {n}"
        got = cases.call(label, student, theta.copy(), n)
        if got is None:
            continue
        K = Conv2D(theta, n).matrix().toarray()
        cases.compare_eigenvalues(label, got, np.linalg.eigvals(K), shape=n)  # fft2 layout


@register(
    "05.conv2d_fft",
    hint="Z = real(ifft2(lam * fft2(Y))) over the last two axes (axes=(-2, -1)), lam from the "
    "circshifted stencil; this is a convolution (not a correlation: no flip, no conjugate).",
)
def _conv2d_fft(student, cases: Cases, hidden: bool) -> None:
    for k, (theta, n) in enumerate(_stencils(cases, hidden)):
        shape = (k % 3 + 1, *n)
        Y = cases.rng.standard_normal(shape)
        label = f"theta {theta.shape} = {theta.tolist()}, Y of shape {shape}"
        got = cases.call(label, student, theta.copy(), Y.copy())
        if got is None:
            continue
        K = Conv2D(theta, n).matrix().toarray()  # column-major images
        ref = np.stack([(K @ y.ravel(order="F")).reshape(n, order="F") for y in Y])
        cases.compare(label, got, ref, rtol=1e-6)  # float32 answers accepted
