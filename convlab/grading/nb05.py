"""Checks for exercises/05_conv2d_bccb.ipynb (2D periodic convolution with fft2).

References: the BCCB matrix built by index arithmetic (:meth:`convlab.conv.Conv2D.matrix`,
independent of the FFT path), ``numpy.linalg.eigvals`` compared as multisets, and
``scipy.signal.convolve2d(..., boundary="wrap")`` for odd stencils.
"""

from __future__ import annotations

import numpy as np

from convlab.conv import Conv2D
from convlab.grading._core import Cases, register


def _stencils(cases: Cases):
    # (stencil, image): non-square both, even stencils, 1 x 1, a stencil as large as the image
    visible = [((3, 3), (6, 5)), ((3, 1), (5, 6)), ((2, 4), (5, 6)), ((1, 1), (3, 2))]
    visible += [((3, 2), (3, 4)), ((4, 4), (4, 4))]
    hidden = [((5, 5), (5, 7)), ((3, 5), (8, 9)), ((2, 2), (2, 3)), ((6, 3), (7, 8))]
    for L, n in cases.grid(visible, hidden):
        yield np.round(cases.rng.standard_normal(L), 2), n


@register(
    "05.bccb_eigenvalues",
    task="the BCCB eigenvalues by fft2",
    forbid=("numpy.linalg.eig", "numpy.linalg.eigvals", "scipy.linalg.eig", "scipy.linalg.eigvals"),
    hint="The eigenvalues are fft2 of the first column mat(K u_1): the stencil on the image "
    "grid with its centre (L1//2, L2//2), also for even sizes, at pixel (0, 0), along BOTH "
    "axes. Return the n1 x n2 array.",
)
def _bccb_eigenvalues(student, cases: Cases) -> None:
    for theta, n in _stencils(cases):
        label = f"theta {theta.shape} = {theta.tolist()}, image {n}"
        got = cases.call(label, student, theta, n)
        if got is None:
            continue
        K = Conv2D(theta, n).matrix().toarray()
        cases.compare_eigenvalues(label, got, np.linalg.eigvals(K), shape=n)  # fft2 layout


@register(
    "05.conv2d_fft",
    task="the 2D convolution by fft2",
    forbid=("scipy.signal", "scipy.ndimage", "torch.nn.functional.conv2d"),
    hint="Multiply by the eigenvalues in Fourier space over the LAST TWO axes (every image of "
    "the batch at once); a convolution uses lam itself (no flip, no conjugate), and the result "
    "of a real convolution is real.",
)
def _conv2d_fft(student, cases: Cases) -> None:
    for k, (theta, n) in enumerate(_stencils(cases)):
        shape = (k % 3 + 1, *n)
        Y = cases.rng.standard_normal(shape)
        label = f"theta {theta.shape} = {theta.tolist()}, Y of shape {shape}"
        got = cases.call(label, student, theta, Y)
        if got is None:
            continue
        K = Conv2D(theta, n).matrix().toarray()  # column-major images
        ref = np.stack([(K @ y.ravel(order="F")).reshape(n, order="F") for y in Y])
        cases.compare(label, got, ref)
