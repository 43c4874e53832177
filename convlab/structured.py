"""1D convolution matrices as ``scipy.sparse`` arrays: Toeplitz, circulant and valid.

Convention (the lecture's, and MATLAB ``conv(y, theta, 'same')``): **convolution**, not
correlation. For a stencil ``theta`` of length L with centre ``c = L // 2`` (0-based; for odd
L = 2k+1 this is the middle, theta_0 in the lecture's ``theta_{-k..k}`` numbering)::

    z[i] = sum_p theta[p] * y[i - (p - c)]        i.e.  K[i, i - p + c] = theta[p]

so the lecture's 4x4 example (theta_1, theta_2, theta_3) has theta_2 on the diagonal, theta_1 on
the superdiagonal and theta_3 on the subdiagonal. ``torch.nn.functional.conv1d`` computes a
correlation: it matches ``K`` with the flipped stencil,
``conv1d(y, theta.flip(-1), padding='same')``.

Boundary conditions (what ``y`` is outside ``0..n-1``):

- ``"zero"``: y = 0 outside; K is n x n **Toeplitz**; ``K @ y == conv(y, theta, 'same')``.
- ``"periodic"``: y wraps around; K is n x n **circulant**; eigenvalues = ``fft(K[:, 0])``.
- ``"valid"``: only outputs whose stencil lies inside; K is (n-L+1) x n;
  ``K @ y == conv(y, theta, 'valid')``.

``method`` picks how the same matrix is built (kept side by side for the performance lesson):
``"index"`` (default, vectorised index arithmetic), ``"spdiags"`` (the lecture's MATLAB hint:
one diagonal per stencil entry, plus wrap-around diagonals), ``"loop"`` (one row at a time in
Python; slow on purpose).

As an operator (``@``, ``.T``, dot test, norm): ``convlab.operators.aslinearmap(conv_matrix(...))``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from convlab._validate import as_choice, as_size, as_vector, check_cost, sparse_bytes

BOUNDARIES = ("zero", "periodic", "valid")
METHODS = ("index", "spdiags", "loop")


def conv_matrix(
    theta: np.ndarray, n: int, boundary: str = "zero", *, method: str = "index"
) -> sp.csr_array:
    """Sparse matrix K with ``K @ y`` = the convolution of ``y`` (length n) with ``theta``.

    Parameters
    ----------
    theta : 1-D stencil of length L (convolution, centre ``L // 2``; see module docstring).
    n : signal length.
    boundary : "zero" (Toeplitz, n x n), "periodic" (circulant, n x n), "valid" ((n-L+1) x n).
    method : "index" (vectorised), "spdiags" (MATLAB-style diagonals) or "loop" (row by row).

    Returns
    -------
    scipy.sparse.csr_array of the stencil's dtype.

    See Also
    --------
    convlab.matlab.convmtx
        full convolution, (n + L - 1) x n, no centring: its rows L//2 .. L//2 + n - 1 are
        the 'zero' matrix.
    convlab.conv.Conv1D.matrix
        the 'periodic' matrix, applied by FFT in ``Conv1D.K``.
    convlab.parametric.periodic_conv1d
        the 'periodic' matrix as ``mat(Q theta)``, linear in theta.
    convlab.transposed.conv_layer_matrix
        correlation (torch): the flipped ``theta[::-1][None, None]`` with ``padding=L//2``
        gives the 'zero' matrix for odd L.
    scipy.linalg.convolution_matrix
        its 'same' mode starts one entry earlier for even L.

    Examples
    --------
    >>> conv_matrix([1, 2, 3], 4, "periodic").toarray()
    array([[2, 1, 0, 3],
           [3, 2, 1, 0],
           [0, 3, 2, 1],
           [1, 0, 3, 2]])
    """
    theta = as_vector(theta, "theta", finite=True)
    n = as_size(n, "n")
    boundary = as_choice(boundary, "boundary", BOUNDARIES)
    method = as_choice(method, "method", METHODS)
    L = theta.size
    check_cost(
        f"conv_matrix of a length-{L} stencil for n = {n}",
        nbytes=2 * sparse_bytes(n, L * n),
        alternative="apply K without building it (convlab.fourier.circulant_matvec, conv.Conv1D)",
    )
    if boundary == "periodic" and L > n:
        raise ValueError(
            f"periodic boundary needs len(theta) <= n (got {L} > {n}): a longer stencil would "
            "wrap around the signal more than once"
        )
    if boundary == "valid" and L > n:
        raise ValueError(f"valid boundary needs len(theta) <= n (got {L} > {n}): no output")
    builder = {"index": _by_index, "spdiags": _by_spdiags, "loop": _by_loop}[method]
    return builder(theta, n, boundary)


def output_length(n: int, L: int, boundary: str) -> int:
    """Rows of the convolution matrix: n, except n - L + 1 for "valid" (which needs L <= n)."""
    n, L = as_size(n, "n"), as_size(L, "L")
    boundary = as_choice(boundary, "boundary", BOUNDARIES)
    if boundary == "valid" and L > n:
        raise ValueError(f"valid boundary needs L <= n (got {L} > {n}): no output")
    return n - L + 1 if boundary == "valid" else n


def _by_index(theta: np.ndarray, n: int, boundary: str) -> sp.csr_array:
    L, c = theta.size, theta.size // 2
    m = output_length(n, L, boundary)
    # K[i, i - p + shift] = theta[p]; "valid" starts at the first full window (shift = L-1).
    shift = L - 1 if boundary == "valid" else c
    rows = np.repeat(np.arange(m), L)
    p = np.tile(np.arange(L), m)
    cols = rows - p + shift
    vals = theta[p]
    if boundary == "periodic":
        cols %= n
    else:
        keep = (cols >= 0) & (cols < n)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    return sp.csr_array((vals, (rows, cols)), shape=(m, n))  # duplicates (none here) would sum


def _by_spdiags(theta: np.ndarray, n: int, boundary: str) -> sp.csr_array:
    from convlab.matlab import spdiags

    L, c = theta.size, theta.size // 2
    m = output_length(n, L, boundary)
    shift = L - 1 if boundary == "valid" else c
    # theta[p] sits on diagonal d = col - row = shift - p
    # (MATLAB: spdiags(ones(n,1)*theta, d, m, n))
    d = shift - np.arange(L)
    if boundary == "periodic":
        # wrap-around: the part of diagonal d that leaves the matrix re-enters at d - n or d + n
        wrap = d != 0
        d = np.concatenate([d, d[wrap] - np.sign(d[wrap]) * n])
        theta = np.concatenate([theta, theta[wrap]])
    B = np.ones((max(m, n), 1), dtype=theta.dtype) * theta[None, :]
    return sp.csr_array(spdiags(B, d, m, n))


def _by_loop(theta: np.ndarray, n: int, boundary: str) -> sp.csr_array:
    L, c = theta.size, theta.size // 2
    m = output_length(n, L, boundary)
    shift = L - 1 if boundary == "valid" else c
    K = sp.lil_array((m, n), dtype=theta.dtype)
    for i in range(m):  # one row at a time, as a first attempt would do it
        for p in range(L):
            j = i - p + shift
            if boundary == "periodic":
                K[i, j % n] += theta[p]
            elif 0 <= j < n:
                K[i, j] = theta[p]
    return sp.csr_array(K)


def _demo() -> None:
    """``python -m convlab.structured``: the lecture's 4x4 examples and the three builders."""
    theta = [1, 2, 3]
    for boundary, n in (("zero", 4), ("periodic", 4), ("valid", 6)):
        print(f"{boundary} boundary, theta = {theta}, n = {n}:")
        print(conv_matrix(theta, n, boundary).toarray())
    rng = np.random.default_rng(0)
    th = rng.standard_normal(5)
    same = all(
        (conv_matrix(th, 12, b, method=m) != conv_matrix(th, 12, b)).nnz == 0
        for b in BOUNDARIES
        for m in METHODS
    )
    print("index, spdiags and loop builders agree:", same)


if __name__ == "__main__":
    _demo()
