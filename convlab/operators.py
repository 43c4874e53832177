"""Linear operators and their matrices: probing with unit vectors, and a small ``LinearMap``.

Every linear ``f: R^n -> R^m`` *is* a matrix ``A`` with ``f(x) = A x``; its columns are the
images of the unit vectors, ``A[:, j] = f(e_j)``, equivalently ``A[i, j] = e_i^T f(e_j)``
(the lecture's "Linear operator = matrix"). :func:`matrix_of` builds ``A`` that way, for numpy
and torch functions, dense or ``scipy.sparse``. Forming ``A`` costs ``n`` evaluations of ``f``
and ``m*n`` memory, so in practice one keeps the *operator*: :class:`LinearMap` holds a forward
and an adjoint function and supports ``A @ x``, ``A.T @ y``, ``A.to_dense()`` (probing) and a
dot test.

Conventions
-----------
* **Vectorisation is row-major** (C order, numpy/torch ``reshape(-1)``): an input of shape
  ``in_shape`` becomes the vector ``x.reshape(-1)``; MATLAB's ``X(:)`` is column-major, so a
  MATLAB matrix of the same operator is this one with rows and columns permuted.
* Real operators; the adjoint is the transpose, ``<A x, y> = <x, A^T y>`` with
  ``<a, b> = sum(a * b)`` over all entries.

Examples
--------
>>> import numpy as np
>>> A = matrix_of(lambda x: np.convolve(x, [1.0, 2.0], mode="valid"), (4,))
>>> A
array([[2., 1., 0., 0.],
       [0., 2., 1., 0.],
       [0., 0., 2., 1.]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from convlab._validate import as_choice, as_size

__all__ = ["LinearMap", "is_linear", "matrix_of"]

BACKENDS = ("numpy", "torch")


def _as_shape(shape: Any, name: str) -> tuple[int, ...]:
    if isinstance(shape, bool):
        raise TypeError(f"{name} must be an int or a tuple of ints, got bool")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {shape!r}") from None
    if not dims:
        raise ValueError(f"{name} must have at least one dimension")
    return tuple(as_size(d, f"{name}[{i}]") for i, d in enumerate(dims))


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _guess_backend(f: Any) -> str:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "numpy"
    return "torch" if isinstance(f, torch.nn.Module) else "numpy"


def matrix_of(
    f: Callable[[Any], Any],
    in_shape: int | Sequence[int],
    *,
    backend: str | None = None,
    dtype: Any = None,
    device: Any = None,
    sparse: bool = False,
    batched: bool = False,
    chunk: int = 256,
) -> np.ndarray | sp.csr_array:
    """The matrix ``A`` of a linear function ``f``, built by probing unit vectors.

    ``A[:, j] = vec(f(e_j))`` where ``e_j`` is the j-th unit vector reshaped to ``in_shape``
    (row-major vectorisation on both sides).

    Parameters
    ----------
    f : callable
        Linear function taking an array of shape ``in_shape`` (numpy backend) or a tensor
        (torch backend). ``f`` is *not* checked for linearity here; see :func:`is_linear`
        (an affine ``f``, e.g. a layer with bias, gives the wrong matrix).
    in_shape : int or tuple of int
        Shape of the input of ``f``. With ``batched=True`` the shape of one example,
        without the leading batch dimension.
    backend : "numpy" or "torch", optional
        What ``f`` eats. Default: "torch" for a ``torch.nn.Module``, else "numpy".
    dtype : numpy or torch dtype, optional
        Dtype of the probes (default float64). The returned matrix is a numpy array.
    device : torch device, optional
        Device of the probes (torch backend).
    sparse : bool
        Return a ``scipy.sparse.csr_array`` holding the exact nonzeros (no threshold).
    batched : bool
        ``f`` accepts a leading batch dimension (torch layers do): probe ``chunk`` unit vectors
        per call instead of one.
    chunk : int
        Probes per call when ``batched``.

    Returns
    -------
    ndarray of shape (m, n) or scipy.sparse.csr_array.

    Examples
    --------
    >>> import torch
    >>> conv = torch.nn.Conv1d(1, 1, 2, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = conv.weight.copy_(torch.tensor([[[1.0, 2.0]]]))
    >>> matrix_of(conv, (1, 3), batched=True)   # torch conv1d is a correlation
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    in_shape = _as_shape(in_shape, "in_shape")
    backend = as_choice(backend or _guess_backend(f), "backend", BACKENDS)
    chunk = as_size(chunk, "chunk")
    n = int(np.prod(in_shape))
    cols: list[np.ndarray] = []
    if backend == "numpy":
        dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float64)
        if batched:
            for start in range(0, n, chunk):
                stop = min(n, start + chunk)
                probes = np.zeros((stop - start, n), dtype=dt)
                probes[np.arange(stop - start), np.arange(start, stop)] = 1
                out = np.asarray(f(probes.reshape(stop - start, *in_shape)))
                cols.append(out.reshape(stop - start, -1))
        else:
            for j in range(n):  # one evaluation per column: A[:, j] = f(e_j)
                e = np.zeros(n, dtype=dt)
                e[j] = 1
                cols.append(np.asarray(f(e.reshape(in_shape))).reshape(1, -1))
    else:
        import torch

        dt = dtype if dtype is not None else torch.float64
        with torch.no_grad():
            if batched:
                for start in range(0, n, chunk):
                    stop = min(n, start + chunk)
                    probes = torch.zeros(stop - start, n, dtype=dt, device=device)
                    idx = torch.arange(stop - start, device=device)
                    probes[idx, idx + start] = 1
                    out = f(probes.reshape(stop - start, *in_shape))
                    cols.append(out.detach().reshape(stop - start, -1).cpu().numpy())
            else:
                for j in range(n):
                    e = torch.zeros(n, dtype=dt, device=device)
                    e[j] = 1
                    out = f(e.reshape(in_shape))
                    cols.append(out.detach().reshape(1, -1).cpu().numpy())
    widths = {c.shape[1] for c in cols}
    if len(widths) != 1:
        raise ValueError(f"f returned outputs of different sizes {sorted(widths)}: not linear")
    At = np.concatenate(cols, axis=0)  # row j = column j of A
    A = np.ascontiguousarray(At.T)
    return sp.csr_array(A) if sparse else A


def is_linear(
    f: Callable[[Any], Any],
    in_shape: int | Sequence[int],
    *,
    backend: str | None = None,
    seed: int = 0,
    rtol: float = 1e-10,
) -> bool:
    """Does ``f(a x + b y) == a f(x) + b f(y)`` hold for random ``x, y, a, b`` (float64)?

    A necessary condition for :func:`matrix_of` to be meaningful: a layer with a bias is
    affine, not linear, and fails (``f(0) = bias``).

    >>> is_linear(lambda x: 2 * x, 3), is_linear(lambda x: 2 * x + 1, 3)
    (True, False)
    """
    in_shape = _as_shape(in_shape, "in_shape")
    backend = as_choice(backend or _guess_backend(f), "backend", BACKENDS)
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((2, *in_shape))
    a, b = rng.standard_normal(2)
    if backend == "torch":
        import torch

        def g(v: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return f(torch.from_numpy(np.ascontiguousarray(v))).detach().cpu().numpy()
    else:

        def g(v: np.ndarray) -> np.ndarray:
            return np.asarray(f(v))

    lhs = g(a * x + b * y)
    rhs = a * g(x) + b * g(y)
    if lhs.shape != rhs.shape:
        return False
    scale = max(np.abs(a * g(x)).max(initial=0), np.abs(b * g(y)).max(initial=0), 1e-300)
    zero = g(np.zeros_like(x))
    return bool(np.abs(lhs - rhs).max(initial=0) <= rtol * scale and not np.any(zero))


class LinearMap:
    """A linear operator given by its forward and adjoint functions: ``A @ x``, ``A.T @ y``.

    Parameters
    ----------
    forward, adjoint : callable
        ``forward`` maps an array of shape ``in_shape`` to one of shape ``out_shape``;
        ``adjoint`` goes back. Both take numpy arrays (``backend="numpy"``) or tensors
        (``backend="torch"``); ``A @ x`` converts ``x`` as needed and returns the type it got.
    in_shape, out_shape : tuple of int
        Natural shapes. ``A @ x`` accepts ``x`` of shape ``in_shape`` (returns shape
        ``out_shape``) or a flat vector of length ``n`` (returns a flat vector).
    backend : "numpy" or "torch"
    dtype, device : torch dtype and device used when a numpy array is fed to a torch map
        (default float64, CPU).
    name : str

    Examples
    --------
    >>> import numpy as np
    >>> A = LinearMap(np.cumsum, lambda y: np.cumsum(y[::-1])[::-1], (3,), (3,), name="cumsum")
    >>> A.to_dense()
    array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]])
    >>> np.array_equal(A.T.to_dense(), A.to_dense().T)
    True
    """

    def __init__(
        self,
        forward: Callable[[Any], Any],
        adjoint: Callable[[Any], Any],
        in_shape: int | Sequence[int],
        out_shape: int | Sequence[int],
        *,
        backend: str = "numpy",
        dtype: Any = None,
        device: Any = None,
        name: str = "",
    ) -> None:
        if not callable(forward) or not callable(adjoint):
            raise TypeError("forward and adjoint must be callable")
        self.forward = forward
        self.adjoint = adjoint
        self.in_shape = _as_shape(in_shape, "in_shape")
        self.out_shape = _as_shape(out_shape, "out_shape")
        self.backend = as_choice(backend, "backend", BACKENDS)
        self.dtype = dtype
        self.device = device
        self.name = name

    @property
    def shape(self) -> tuple[int, int]:
        """(m, n) of the matrix: output size by input size."""
        return int(np.prod(self.out_shape)), int(np.prod(self.in_shape))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<LinearMap{label} {self.shape[0]}x{self.shape[1]}: {self.in_shape} -> "
            f"{self.out_shape}, {self.backend}>"
        )

    @property
    def T(self) -> LinearMap:
        """The adjoint (transpose) operator: forward and adjoint swapped."""
        return LinearMap(
            self.adjoint,
            self.forward,
            self.out_shape,
            self.in_shape,
            backend=self.backend,
            dtype=self.dtype,
            device=self.device,
            name=f"{self.name}.T" if self.name else "",
        )

    H = T  # real operators: the adjoint is the transpose

    def _apply(self, fn: Callable[[Any], Any], x: Any, shp_in: tuple, shp_out: tuple) -> Any:
        size = int(np.prod(shp_in))
        flat = tuple(x.shape) == (size,) and shp_in != (size,)
        if tuple(x.shape) != shp_in and not flat:
            raise ValueError(f"x must have shape {shp_in} or ({size},), got {tuple(x.shape)}")
        was_tensor = _is_tensor(x)
        if self.backend == "torch" and not was_tensor:
            import torch

            dt = self.dtype if self.dtype is not None else torch.float64
            xin = torch.as_tensor(np.asarray(x), dtype=dt, device=self.device)
        elif self.backend == "numpy" and was_tensor:
            xin = x.detach().cpu().numpy()
        else:
            xin = x
        y = fn(xin.reshape(shp_in))
        if tuple(y.shape) != shp_out:
            raise ValueError(f"{self!r}: function returned shape {tuple(y.shape)}, not {shp_out}")
        if self.backend == "torch" and not was_tensor:
            y = y.detach().cpu().numpy()
        elif self.backend == "numpy" and was_tensor:
            import torch

            y = torch.as_tensor(np.ascontiguousarray(y), dtype=x.dtype, device=x.device)
        return y.reshape(-1) if flat else y

    def __matmul__(self, x: Any) -> Any:
        return self._apply(self.forward, x, self.in_shape, self.out_shape)

    def rmatvec(self, y: Any) -> Any:
        """``A^T y``."""
        return self._apply(self.adjoint, y, self.out_shape, self.in_shape)

    def to_dense(self, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
        """The matrix, by probing unit vectors (``n`` forward calls)."""
        return matrix_of(
            self.forward,
            self.in_shape,
            backend=self.backend,
            dtype=self.dtype,
            device=self.device,
            sparse=sparse,
        )

    def to_scipy(self) -> LinearOperator:
        """A ``scipy.sparse.linalg.LinearOperator`` on flat float64 vectors (for lsqr, svds...)."""
        m, n = self.shape

        def mv(v: np.ndarray) -> np.ndarray:
            return np.asarray(self @ np.asarray(v, dtype=np.float64).reshape(n)).reshape(-1)

        def rmv(v: np.ndarray) -> np.ndarray:
            return np.asarray(self.rmatvec(np.asarray(v, dtype=np.float64).reshape(m))).reshape(-1)

        return LinearOperator((m, n), matvec=mv, rmatvec=rmv, dtype=np.float64)

    def adjoint_test(self, **kwargs: Any) -> Any:
        """Normalised dot test of (forward, adjoint); see :func:`convlab.checks.adjoint_test`."""
        from convlab.checks import adjoint_test

        if self.backend == "torch":
            import torch

            kwargs.setdefault("dtype", self.dtype if self.dtype is not None else torch.float64)
            kwargs.setdefault("device", self.device)
        return adjoint_test(
            self.forward,
            self.adjoint,
            in_shape=self.in_shape,
            out_shape=self.out_shape,
            **kwargs,
        )
