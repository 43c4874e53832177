"""Pictures of operators: ``spy`` plots of structured matrices and eigenvalues in the complex plane.

matplotlib is imported inside the functions, so ``import convlab`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from convlab._validate import as_numpy

#: spy draws values (not markers) for matrices up to this size when ``values=None``.
SPY_VALUES_MAX = 40


def _as_matrix(A: Any) -> Any:
    """``A`` as a non-empty 2-D scipy sparse array (kept sparse) or numeric ndarray."""
    if sp.issparse(A):
        M = A
    elif hasattr(A, "to_sparse") and hasattr(A, "in_shape"):  # a LinearMap: its sparse matrix
        M = A.to_sparse()
    else:
        M = as_numpy(A, "A")
    if M.ndim != 2:
        raise ValueError(f"A must be a 2-D matrix, got shape {M.shape}")
    if 0 in M.shape:
        raise ValueError(f"A must not be empty, got shape {M.shape}")
    return M


def spy(
    A: Any,
    ax: Any = None,
    *,
    title: str | None = None,
    values: bool | None = None,
    cmap: str = "RdBu_r",
) -> Any:
    """Show the sparsity pattern of ``A`` (dense array or scipy sparse), MATLAB ``spy(A)``-style.

    Small matrices (``values=None`` and at most 40 x 40) are drawn with their values: zeros white,
    entries coloured by value on a symmetric colour scale, so constant diagonals (Toeplitz) and
    wrap-around corners (circulant) stand out. Larger ones use ``Axes.spy`` markers; sparse
    input stays sparse (matplotlib draws its stored nonzeros), so a 1e6 x 1e6 identity is cheap.
    ``values=True`` densifies, so it is refused above the cost limit. Returns the matplotlib Axes.
    """
    from convlab._validate import check_cost

    M = _as_matrix(A)
    if values is not None and not isinstance(values, (bool, np.bool_)):
        raise TypeError(f"values must be True, False or None, got {values!r}")
    import matplotlib.pyplot as plt  # after validation: bad input fails fast

    if values is None:
        values = max(M.shape) <= SPY_VALUES_MAX
    if values:
        check_cost(
            f"spy with values of a {M.shape[0]} x {M.shape[1]} matrix (drawn dense)",
            nbytes=16 * M.shape[0] * M.shape[1],
            alternative="pass values=False (markers, sparse input stays sparse)",
        )
        M = M.toarray() if sp.issparse(M) else M
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4 * M.shape[0] / max(M.shape[1], 1) + 0.4))
    if values:
        vmax = float(np.max(np.abs(M))) if M.size else 1.0
        shown = np.ma.masked_where(M == 0, np.real(M))
        ax.imshow(shown, cmap=cmap, vmin=-vmax or -1, vmax=vmax or 1, interpolation="nearest")
        ax.set_xticks(np.arange(-0.5, M.shape[1], 1), minor=True)
        ax.set_yticks(np.arange(-0.5, M.shape[0], 1), minor=True)
        ax.grid(which="minor", color="0.85", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
    else:
        ax.spy(M, markersize=max(0.5, 200 / max(M.shape)))
    nnz = int(M.count_nonzero() if sp.issparse(M) else np.count_nonzero(M))
    ax.set_xlabel(f"nz = {nnz}")
    if title:
        ax.set_title(title)
    return ax


def plot_eigenvalues(
    *sets: Any,
    labels: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Scatter one or more eigenvalue sets in the complex plane (different markers per set).

    Typical use: ``plot_eigenvalues(np.linalg.eigvals(K.toarray()), lam_fft,
    labels=["eig(full(K))", "fft(K(:,1))"])`` - the markers should sit on top of each other.
    """
    if not sets:
        raise ValueError("give at least one set of eigenvalues")
    arrays = []
    for k, lam in enumerate(sets):
        arr = as_numpy(lam, f"sets[{k}]").ravel()
        if arr.size == 0:
            raise ValueError(f"sets[{k}] is empty: no eigenvalues to plot")
        arrays.append(arr)
    if labels is not None:
        if not isinstance(labels, Sequence) or isinstance(labels, str):
            raise TypeError(f"labels must be a sequence of strings, got {labels!r}")
        if not all(isinstance(s, str) for s in labels):
            raise TypeError(f"labels must be a sequence of strings, got {labels!r}")
        if len(labels) != len(sets):
            raise ValueError(f"got {len(labels)} labels for {len(sets)} eigenvalue sets")
    import matplotlib.pyplot as plt  # after validation: bad input fails fast

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    markers = ["o", "x", "+", "s", "^"]
    for k, lam in enumerate(arrays):
        ax.scatter(
            lam.real,
            lam.imag,
            marker=markers[k % len(markers)],
            s=70 if k == 0 else 40,
            facecolors="none" if k == 0 else None,
            edgecolors=f"C{k}" if k == 0 else None,
            color=None if k == 0 else f"C{k}",
            label=labels[k] if labels else None,
        )
    ax.axhline(0, color="0.7", linewidth=0.8)
    ax.axvline(0, color="0.7", linewidth=0.8)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_aspect("equal", adjustable="datalim")
    if labels:
        ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax
