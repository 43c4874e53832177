"""Circulant operators through the FFT: eigenvalues without forming K, and K @ y, K.T @ y.

A periodic 1D convolution matrix K (see :mod:`convlab.structured`) is circulant, so

    K = F^{-1} diag(lam) F,    lam = fft(K[:, 0]),    K.T = F^{-1} diag(conj(lam)) F   (real K)

with ``F`` the unnormalised DFT (``numpy.fft`` with ``norm="backward"``: ``fft`` unscaled,
``ifft`` divides by n; MATLAB's ``fft``/``ifft`` are the same). Every function here states the
axis it transforms; signals run along ``axis`` (default the last one, so a batch ``Y`` of shape
``(n_examples, n)`` holds one example per row, like the lecture's ``Y`` in ``Y K``).
"""

from __future__ import annotations

import numpy as np

from convlab._validate import as_numpy, as_size, as_vector, check_cost

FFT_NORM = "backward"


def circulant_first_column(theta: np.ndarray, n: int) -> np.ndarray:
    """First column ``K[:, 0]`` of the periodic convolution matrix, without forming K.

    The lecture's ``circshift`` trick: place the stencil in a length-n zero vector and shift
    its centre (index ``L // 2``) to position 0. MATLAB::

        col = circshift([theta(:); zeros(n-L,1)], -floor(L/2));

    Examples
    --------
    >>> circulant_first_column([1, 2, 3], 5)
    array([2, 3, 0, 0, 1])
    """
    theta = as_vector(theta, "theta", finite=True)
    n = as_size(n, "n")
    check_cost(
        f"the {n} eigenvalues of a circulant operator",
        nbytes=48 * n,  # the column and its complex FFT
        alternative="use a smaller n",
    )
    if theta.size > n:
        raise ValueError(
            f"len(theta) must be <= n for a periodic operator (got {theta.size} > {n})"
        )
    col = np.zeros(n, dtype=theta.dtype)
    col[: theta.size] = theta
    return np.roll(col, -(theta.size // 2))


def circulant_eigenvalues(theta: np.ndarray, n: int) -> np.ndarray:
    """Eigenvalues of the n x n periodic convolution matrix of ``theta``: ``fft(K[:, 0])``.

    Returned in FFT order (frequency 0, 1, ..., n-1), *not* sorted: compare with ``eig`` as
    multisets (:func:`convlab.checks.eigenvalues_match`). Cost O(n log n), no matrix formed.
    """
    return np.fft.fft(circulant_first_column(theta, n), norm=FFT_NORM)


def circulant_matvec(
    theta: np.ndarray, y: np.ndarray, *, transpose: bool = False, axis: int = -1
) -> np.ndarray:
    """``K @ y`` (or ``K.T @ y``) for the periodic convolution matrix of ``theta``, by FFT.

    Parameters
    ----------
    theta : 1-D stencil (convolution convention of :mod:`convlab.structured`).
    y : array whose ``axis`` holds signals of length n; all other axes are a batch (no loop).
    transpose : apply ``K.T`` (real stencil) instead: multiply by ``conj(lam)``. For a complex
        stencil this is the conjugate transpose ``K^H``.
    axis : the axis of ``y`` along which the signals run (default -1).

    Returns
    -------
    ndarray shaped like ``y``; real when ``theta`` and ``y`` are real (``real(ifft(...))``).
    """
    y = as_numpy(y, "y")
    if y.ndim == 0:
        raise ValueError("y must have at least one dimension")
    axis = _normalise_axis(axis, y.ndim)
    if y.shape[axis] == 0:
        raise ValueError(f"y has no samples along axis {axis} (shape {y.shape})")
    theta = as_vector(theta, "theta", finite=True)
    lam = circulant_eigenvalues(theta, y.shape[axis])
    if transpose:
        lam = np.conj(lam)
    shape = [1] * y.ndim
    shape[axis] = lam.size
    out = np.fft.ifft(lam.reshape(shape) * np.fft.fft(y, axis=axis, norm=FFT_NORM), axis=axis)
    if np.isrealobj(theta) and np.isrealobj(y):
        return out.real
    return out


def _normalise_axis(axis: int, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {ndim} dimension(s)")
    return int(axis) % ndim


def _demo() -> None:
    """``python -m convlab.fourier``: the lecture's steps 2-5 in a few lines, with checks."""
    from convlab.checks import eigenvalues_match
    from convlab.structured import conv_matrix

    rng = np.random.default_rng(0)
    theta, n = rng.standard_normal(3), 16
    K = conv_matrix(theta, n, "periodic")
    lam = circulant_eigenvalues(theta, n)
    y = rng.standard_normal(n)
    print(
        "eig(full(K)) == fft(K(:,1)) as multisets:",
        eigenvalues_match(np.linalg.eigvals(K.toarray()), lam).passed,
    )
    print("K y  by FFT:", np.allclose(circulant_matvec(theta, y), K @ y))
    print("K'y by FFT:", np.allclose(circulant_matvec(theta, y, transpose=True), K.T @ y))
    th5 = rng.standard_normal(5)
    print(
        "eigenvalues of a 5-point stencil without K:",
        eigenvalues_match(
            np.linalg.eigvals(conv_matrix(th5, n, "periodic").toarray()),
            circulant_eigenvalues(th5, n),
        ).passed,
    )


if __name__ == "__main__":
    _demo()
