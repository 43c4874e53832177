"""Full-convolution Toeplitz matrices (1D) and doubly-blocked Toeplitz matrices (2D), in torch.

These are the matrices of the Wiener-filter lecture ("Convolutional Loss Functions in Deep
Learning"): for a signal ``x`` of length n and a filter ``w`` of length m,

    A @ w == conv(x, w, 'full')            A has shape (n + m - 1, m),  A[i + j, j] = x[i]

i.e. column j of A is x shifted down by j (MATLAB: ``A = convmtx(x(:), m)``). Convention:
**convolution** (not correlation), zero boundary, full output.

Three builders return the same matrix (kept side by side for the performance lesson):

- ``method="loop"``  the lecture's first method, one Python loop step per column::

      for i in range(m):
          A[i:i + n, i] = x

- ``method="roll"``  the lecture's second method, build the transpose row by row with roll::

      x_pad = [x, 0, ..., 0]                      # length n + m - 1
      for j in range(m):
          A_T[j] = torch.roll(x_pad, j)

- ``method="index"`` (default) vectorised: one gather ``A[k, j] = x_pad[k - j]`` (no loop).

2D (the lecture's doubly-blocked Toeplitz matrix): for an image ``a`` of shape (p1, p2) and a
filter of shape (m1, m2), with **row-major (C-order)** vectorisation ``w.ravel()``::

    A @ w.ravel() == scipy.signal.convolve2d(a, w, 'full').ravel()
    A[(i1 + j1) * P2 + (i2 + j2), j1 * m2 + j2] = a[i1, i2]        P2 = p2 + m2 - 1

A is a (p1 + m1 - 1) x m1 grid of blocks, block (r, c) = the 1D Toeplitz matrix of image row
``r - c`` (zero block outside ``0..p1-1``): "A_i are Toeplitz matrices of each row of a". (MATLAB's
``convmtx2`` uses column-major ``X(:)``; its blocks follow image *columns* instead.)

As operators: ``convlab.operators.aslinearmap(full_conv_matrix(x, m))`` (a torch-backed
``LinearMap``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from convlab._validate import (
    as_choice,
    as_real_tensor,
    as_shape,
    as_size,
    check_cost,
    require_finite,
)

METHODS = ("index", "loop", "roll")
METHODS_2D = ("index", "loop")


def _as_tensor(x: Any, name: str, ndim: int) -> torch.Tensor:
    """``x`` as a floating torch tensor with ``ndim`` dimensions (arrays, lists, tensors)."""
    t = as_real_tensor(x, name)
    if t.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    require_finite(t, name)
    return t.detach()


def full_conv_matrix(x: Any, m: int | None = None, *, method: str = "index") -> torch.Tensor:
    """The (n+m-1) x m Toeplitz matrix A with ``A @ w == conv(x, w, 'full')``.

    Parameters
    ----------
    x : 1-D signal of length n (tensor, array or list; integers become float64).
    m : filter length (number of columns); default n, the lecture's choice.
    method : "index" (vectorised gather, default), "loop" (lecture method 1) or
        "roll" (lecture method 2). All three return the same matrix.

    Returns
    -------
    torch.Tensor of shape (n + m - 1, m), dtype of ``x`` (float64 for integer input).

    See Also
    --------
    convlab.matlab.convmtx
        the same matrix as a scipy sparse array (MATLAB's convmtx).
    convlab.structured.conv_matrix
        'same' size (centred at L//2) with zero/periodic/valid boundaries.
    convlab.toeplitz.doubly_blocked_toeplitz
        the 2D version.

    Examples
    --------
    >>> full_conv_matrix([1.0, 2.0, 3.0], 2)
    tensor([[1., 0.],
            [2., 1.],
            [3., 2.],
            [0., 3.]], dtype=torch.float64)
    """
    x = _as_tensor(x, "x", 1)
    n = x.shape[0]
    m = n if m is None else as_size(m, "m")
    method = as_choice(method, "method", METHODS)
    check_cost(
        f"full_conv_matrix of a {n}-sample signal ({n + m - 1} x {m}, dense)",
        nbytes=(x.element_size() + 8) * (n + m - 1) * m,  # the matrix and its gather index
        alternative="convolve without the matrix (torch.nn.functional.conv1d, matlab.conv)",
    )
    return {"index": _by_index, "loop": _by_loop, "roll": _by_roll}[method](x, m)


def _by_index(x: torch.Tensor, m: int) -> torch.Tensor:
    n = x.shape[-1]
    # A[k, j] = x_pad[k - j], with x_pad = x followed by zeros and a zero at index -1 (k < j).
    k = torch.arange(n + m - 1, device=x.device)[:, None]
    j = torch.arange(m, device=x.device)[None, :]
    idx = k - j
    idx = torch.where((idx >= 0) & (idx < n), idx, n)  # index n = the appended zero
    x_pad = torch.cat([x, x.new_zeros((*x.shape[:-1], 1))], dim=-1)
    return x_pad[..., idx]


def _by_loop(x: torch.Tensor, m: int) -> torch.Tensor:
    # The lecture's first method: column i is x shifted down by i.
    n = x.shape[0]
    A = x.new_zeros((n + m - 1, m))
    for i in range(m):
        A[i : i + n, i] = x[:]
    return A


def _by_roll(x: torch.Tensor, m: int) -> torch.Tensor:
    # The lecture's second method: row j of A^T is the zero-padded x rolled by j.
    n = x.shape[0]
    x_pad = torch.cat([x, x.new_zeros(m - 1)])
    A_T = x.new_zeros((m, n + m - 1))
    for j in range(m):
        A_T[j] = torch.roll(x_pad, j)
    return A_T.T


def doubly_blocked_toeplitz(
    a: Any, filter_shape: tuple[int, int] | None = None, *, method: str = "index"
) -> torch.Tensor:
    """The doubly-blocked Toeplitz matrix of the image ``a`` (2D full convolution, C-order).

    ``A @ w.ravel() == scipy.signal.convolve2d(a, w, 'full').ravel()`` for every filter ``w`` of
    shape ``filter_shape``; see the module docstring for the index formula.

    Parameters
    ----------
    a : 2-D image of shape (p1, p2).
    filter_shape : (m1, m2), default ``a.shape`` (the lecture's choice).
    method : "index" (vectorised, default) or "loop" (block by block, like the lecture).

    Returns
    -------
    torch.Tensor of shape ((p1 + m1 - 1) * (p2 + m2 - 1), m1 * m2).

    See Also
    --------
    convlab.matlab.convmtx2
        column-major ``X(:)`` (MATLAB): the same matrix with rows and columns permuted.
    convlab.toeplitz.full_conv_matrix
        the 1D version.
    convlab.conv.Conv2D.matrix
        periodic and 'same' size (BCCB), column-major by default.

    Examples
    --------
    >>> doubly_blocked_toeplitz([[1.0, 2.0], [3.0, 4.0]], (1, 2))
    tensor([[1., 0.],
            [2., 1.],
            [0., 2.],
            [3., 0.],
            [4., 3.],
            [0., 4.]], dtype=torch.float64)
    """
    a = _as_tensor(a, "a", 2)
    p1, p2 = a.shape
    if filter_shape is None:
        m1, m2 = p1, p2
    else:
        m1, m2 = as_shape(filter_shape, "filter_shape", ndim=2)
    method = as_choice(method, "method", METHODS_2D)
    P1, P2 = p1 + m1 - 1, p2 + m2 - 1
    check_cost(
        f"doubly_blocked_toeplitz of a {p1}x{p2} image and {m1}x{m2} filters "
        f"({P1 * P2} x {m1 * m2}, dense)",
        nbytes=(a.element_size() + 8) * P1 * P2 * m1 * m2,
        alternative="convolve without the matrix (torch.nn.functional.conv2d, matlab.conv2)",
    )
    if method == "loop":
        A = a.new_zeros((P1 * P2, m1 * m2))
        for i in range(p1):  # block (i + j, j) is the Toeplitz matrix of row i of a
            block = _by_loop(a[i], m2)  # (P2, m2)
            for j in range(m1):
                A[(i + j) * P2 : (i + j + 1) * P2, j * m2 : (j + 1) * m2] = block
        return A
    # A[(i1 + j1) * P2 + (i2 + j2), j1 * m2 + j2] = a[i1, i2]  ->  gather a[k1 - j1, k2 - j2]
    k1 = torch.arange(P1, device=a.device).repeat_interleave(P2)[:, None]
    k2 = torch.arange(P2, device=a.device).repeat(P1)[:, None]
    j1 = torch.arange(m1, device=a.device).repeat_interleave(m2)[None, :]
    j2 = torch.arange(m2, device=a.device).repeat(m1)[None, :]
    i1, i2 = k1 - j1, k2 - j2
    inside = (i1 >= 0) & (i1 < p1) & (i2 >= 0) & (i2 < p2)
    flat = torch.where(inside, i1 * p2 + i2, p1 * p2)  # p1 * p2 = the appended zero
    a_pad = torch.cat([a.reshape(-1), a.new_zeros(1)])
    return a_pad[flat]


def lecture_example() -> torch.Tensor:
    """The lecture's 25 x 9 doubly-blocked Toeplitz matrix of a = [[1,2,3],[4,5,6],[7,8,9]]."""
    a = torch.arange(1.0, 10.0).reshape(3, 3)
    return doubly_blocked_toeplitz(a, method="loop")


if __name__ == "__main__":  # pragma: no cover - a small self-demo, like the MATLAB originals
    import scipy.signal

    x = torch.tensor([1.0, 2.0, 3.0])
    for meth in METHODS:
        print(meth, full_conv_matrix(x, method=meth).tolist())
    A = lecture_example()
    print(A)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3))
    ok = np.allclose(
        A.double().numpy() @ w.ravel(),
        scipy.signal.convolve2d(np.arange(1.0, 10.0).reshape(3, 3), w, "full").ravel(),
    )
    print("A @ w.ravel() == convolve2d(a, w, 'full').ravel():", ok)
