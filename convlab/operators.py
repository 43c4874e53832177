"""The operator layer: every linear operator of the course as one :class:`LinearMap`.

Every linear ``f: R^n -> R^m`` *is* a matrix ``A`` with ``f(x) = A x``; its columns are the
images of the unit vectors, ``A[:, j] = f(e_j)``, equivalently ``A[i, j] = e_i^T f(e_j)``
(the lecture's "Linear operator = matrix"). :func:`matrix_of` builds ``A`` that way, for numpy
and torch functions, dense or ``scipy.sparse``. Forming ``A`` costs ``n`` evaluations of ``f``
and ``m*n`` memory, so in practice one keeps the *operator*:

* :class:`LinearMap` is the base class: shapes, dtype, backend (numpy or torch), an inner
  product (``"hermitian"``, or ``"real"`` for R-linear maps such as MRI), the hooks
  ``_matvec``/``_rmatvec``, and ``A @ x``, ``A.H``/``A.T``, composition, sums, ``to_dense``,
  ``to_sparse``, ``to_scipy``, ``adjoint_test()``, ``norm()``.
* :func:`aslinearmap` turns matrices (dense, sparse, torch), scipy LinearOperators,
  ``(forward, adjoint)`` pairs and objects with ``as_linear_map()`` into one.

Where the course's operators live: the structured builders return sparse matrices
(``aslinearmap(conv_matrix(...))``); ``Conv1D/Conv2D/MultiChannelConv2D`` keep the lecture's
``K/KT/J/JT`` and offer ``as_linear_map()`` / ``jacobian_map()``; the parametric models offer
``jacobian_map()``; ``inverse.AveragePool/FourierSampling/Radon`` offer ``as_linear_map()``;
``transposed.conv_operator`` and ``upsample_operator`` return LinearMaps;
``representations.filter_bank_operator`` is the filter bank of notebook 09.

Conventions
-----------
* **Vectorisation is row-major** (C order, numpy/torch ``reshape(-1)``): an input of shape
  ``in_shape`` becomes the vector ``x.reshape(-1)``; MATLAB's ``X(:)`` is column-major, so a
  MATLAB matrix of the same operator is this one with rows and columns permuted.
* The adjoint is defined by the inner product: ``<a, b> = sum(conj(a) * b)`` (Hermitian), or
  its real part for ``inner="real"``; for real operators it is the transpose.

Examples
--------
>>> import numpy as np
>>> A = matrix_of(lambda x: np.convolve(x, [1.0, 2.0], mode="valid"), (4,))
>>> A
array([[2., 1., 0., 0.],
       [0., 2., 1., 0.],
       [0., 0., 2., 1.]])
>>> M = aslinearmap(A, name="conv")
>>> (M.H @ M).shape, round(M.norm(), 6) == round(float(np.linalg.norm(A, 2)), 6)
((4, 4), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from convlab._validate import (
    as_choice,
    as_device,
    as_flag,
    as_numpy,
    as_real_number,
    as_shape,
    as_size,
    check_cost,
    is_tensor,
)

__all__ = ["LinearMap", "MatrixMap", "aslinearmap", "is_linear", "matrix_of"]

BACKENDS = ("numpy", "torch")


def _as_shape(shape: Any, name: str) -> tuple[int, ...]:
    """A non-empty shape (the shared :func:`convlab._validate.as_shape` refuses bad entries)."""
    dims = as_shape(shape, name)
    if not dims:
        raise ValueError(f"{name} must have at least one dimension")
    return dims


def _callable(f: Any, name: str = "f") -> Any:
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")
    return f


def _device(device: Any, backend: str) -> Any:
    """``device`` checked: only the torch backend has one (numpy arrays live on the CPU)."""
    if device is None:
        return None
    if backend != "torch":
        raise ValueError(
            f"device is for backend='torch' only (numpy runs on the CPU); got {device!r}"
        )
    return as_device(device)


def _check_probes(n: int, what: str) -> None:
    """Refuse probing ``n`` unit vectors of size ``n`` (n^2 work) beyond the cost limits."""
    check_cost(
        f"{what} of an operator on {n} inputs ({n} probes of size {n})",
        ops=float(n) * n,
        alternative="use the operator matrix-free (forward/adjoint) or a smaller in_shape",
    )


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
    _callable(f)
    in_shape = _as_shape(in_shape, "in_shape")
    backend = as_choice(backend or _guess_backend(f), "backend", BACKENDS)
    chunk = as_size(chunk, "chunk")
    sparse, batched = as_flag(sparse, "sparse"), as_flag(batched, "batched")
    device = _device(device, backend)
    n = math.prod(in_shape)
    _check_probes(n, "the matrix")
    cols: list[np.ndarray] = []
    if backend == "numpy":
        try:
            dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float64)
        except TypeError:
            raise TypeError(f"dtype must be a numpy dtype, got {dtype!r}") from None
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
                    cols.append(out.detach().resolve_conj().reshape(stop - start, -1).cpu().numpy())
            else:
                for j in range(n):
                    e = torch.zeros(n, dtype=dt, device=device)
                    e[j] = 1
                    out = f(e.reshape(in_shape))
                    cols.append(out.detach().resolve_conj().reshape(1, -1).cpu().numpy())
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
    _callable(f)
    in_shape = _as_shape(in_shape, "in_shape")
    backend = as_choice(backend or _guess_backend(f), "backend", BACKENDS)
    rtol = as_real_number(rtol, "rtol", strict=True)
    seed = as_size(seed, "seed", minimum=0)
    check_cost(
        f"is_linear on {math.prod(in_shape)} inputs",
        nbytes=8 * 6 * math.prod(in_shape),
        alternative="use a smaller in_shape",
    )
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


def _is_torch_dtype(dtype: Any) -> bool:
    return type(dtype).__module__.startswith("torch") and type(dtype).__name__ == "dtype"


def _default_dtype(backend: str, dtype: Any) -> Any:
    """The working dtype: a numpy dtype (numpy backend) or a torch dtype (torch backend)."""
    if backend == "numpy":
        if _is_torch_dtype(dtype):
            raise TypeError(f"dtype must be a numpy dtype for backend='numpy', got {dtype}")
        return np.dtype(np.float64 if dtype is None else dtype)
    import torch

    if dtype is None:
        return torch.float64
    if not _is_torch_dtype(dtype):
        raise TypeError(f"dtype must be a torch dtype for backend='torch', got {dtype!r}")
    return dtype


def _dtype_for(backend: str, dtype: Any) -> Any:
    """``dtype`` as a numpy dtype (numpy backend) or a torch dtype (torch backend)."""
    import torch

    if backend == "numpy" and _is_torch_dtype(dtype):
        return torch.empty(0, dtype=dtype).numpy().dtype
    if backend == "torch" and not _is_torch_dtype(dtype):
        return torch.from_numpy(np.empty(0, dtype=dtype)).dtype
    return dtype


def _is_complex_dtype(dtype: Any) -> bool:
    return bool(dtype.is_complex) if _is_torch_dtype(dtype) else np.dtype(dtype).kind == "c"


def _real_dtype(dtype: Any) -> Any:
    """float32 for complex64, float64 for complex128; real dtypes unchanged."""
    if _is_torch_dtype(dtype):
        import torch

        return {torch.complex64: torch.float32, torch.complex128: torch.float64}.get(dtype, dtype)
    return np.finfo(np.dtype(dtype)).dtype if np.dtype(dtype).kind == "c" else np.dtype(dtype)


def _to_real(z: Any) -> Any:
    """Complex array ``(...)`` -> real ``(..., 2)`` (real and imaginary parts); C^k as R^2k."""
    if is_tensor(z):
        import torch

        return torch.view_as_real(z.resolve_conj())
    return np.stack([z.real, z.imag], axis=-1)


def _from_real(x: Any) -> Any:
    """Real ``(..., 2)`` -> complex ``(...)``: the inverse of :func:`_to_real`."""
    if is_tensor(x):
        import torch

        return torch.view_as_complex(x.contiguous())
    z = x[..., 0] + 1j * x[..., 1]
    return z.astype(np.result_type(x.dtype, np.complex64), copy=False)


INNERS = ("hermitian", "real")


class LinearMap:
    """A linear operator with shapes, a dtype and an adjoint: the base class of convlab.

    Two ways to make one:

    * pass two callables, ``LinearMap(forward, adjoint, in_shape, out_shape)``;
    * subclass and override the hooks :meth:`_matvec` (``x`` of shape ``in_shape`` -> array of
      shape ``out_shape``) and :meth:`_rmatvec` (back). Hooks receive and return arrays of the
      backend (numpy arrays or torch tensors) in their natural shapes; everything else --
      flat vectors, numpy/torch conversion, shape checks -- is done once, here.

    Then ``A @ x`` (= ``A.forward(x)`` = ``A(x)``), ``A.H @ y`` (= ``A.adjoint(y)`` =
    ``A.rmatvec(y)``), ``A.T``, ``A @ B`` (composition), ``A + B``, ``c * A``,
    :meth:`to_dense` (probing), :meth:`to_sparse`, :meth:`to_scipy`, :meth:`adjoint_test`,
    :meth:`norm` (power iteration) and :meth:`real_view`.

    Parameters
    ----------
    forward, adjoint : callable, optional
        Natural-shape functions (see above); omit them in a subclass that overrides the hooks.
    in_shape, out_shape : int or tuple of int
        Natural shapes. ``A @ x`` accepts ``x`` of shape ``in_shape`` (returns shape
        ``out_shape``) or a flat vector of length ``n`` (returns a flat vector).
    backend : "numpy" or "torch"
        What the hooks eat. ``A @ x`` converts ``x`` as needed and returns the type it got.
    dtype : numpy dtype (numpy backend) or torch dtype (torch backend)
        Working dtype of the input space (default float64); used for probes, random vectors
        and to convert numpy input of a torch map.
    out_dtype : optional
        Dtype of the output space, if it differs (a real image mapped to complex k-space).
    device : torch device, optional (torch backend).
    inner : "hermitian" (default) or "real"
        The inner product that defines the adjoint. ``"hermitian"``: ``<a, b> = sum(conj(a) b)``,
        the adjoint is the conjugate transpose. ``"real"``: complex spaces are viewed as real
        ones (``C^k = R^2k``), ``<a, b> = Re sum(conj(a) b)``, for maps that are only R-linear
        (the MRI operator of a real image: ``Re <A x, y> = <x, A^* y>``).
    name : str

    Notes
    -----
    Row-major vectorisation on both sides: the matrix of ``A`` acts on ``x.reshape(-1)``.
    ``A.T`` is the transpose, ``A.H`` the adjoint; they coincide for real operators and for
    ``inner="real"`` (where the adjoint is the transpose of the real matrix).

    Examples
    --------
    >>> import numpy as np
    >>> A = LinearMap(np.cumsum, lambda y: np.cumsum(y[::-1])[::-1], 3, 3, name="cumsum")
    >>> A
    <LinearMap 'cumsum' 3x3: (3,) -> (3,), numpy float64>
    >>> A.to_dense()
    array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]])
    >>> np.array_equal(A.T.to_dense(), A.to_dense().T), A.adjoint_test().passed
    (True, True)
    """

    __array_ufunc__ = None  # ``ndarray @ A`` and ``ndarray * A`` defer to (or refuse) A

    def __init__(
        self,
        forward: Callable[[Any], Any] | None = None,
        adjoint: Callable[[Any], Any] | None = None,
        in_shape: int | Sequence[int] | None = None,
        out_shape: int | Sequence[int] | None = None,
        *,
        backend: str = "numpy",
        dtype: Any = None,
        out_dtype: Any = None,
        device: Any = None,
        inner: str = "hermitian",
        name: str = "",
    ) -> None:
        for fn, label in ((forward, "forward"), (adjoint, "adjoint")):
            if fn is not None and not callable(fn):
                raise TypeError(f"{label} must be callable, got {type(fn).__name__}")
        if (forward is None) != (adjoint is None):
            raise TypeError("give both forward and adjoint, or neither (and override the hooks)")
        if forward is None and type(self)._matvec is LinearMap._matvec:
            raise TypeError("forward and adjoint must be callable (or override _matvec)")
        if in_shape is None or out_shape is None:
            raise TypeError("in_shape and out_shape are required")
        self._fwd, self._adj = forward, adjoint
        self.in_shape = _as_shape(in_shape, "in_shape")
        self.out_shape = _as_shape(out_shape, "out_shape")
        self.backend = as_choice(backend, "backend", BACKENDS)
        self.dtype = _default_dtype(self.backend, dtype)
        self.out_dtype = self.dtype if out_dtype is None else _default_dtype(backend, out_dtype)
        self.device = _device(device, self.backend)
        self.inner = as_choice(inner, "inner", INNERS)
        self.name = name

    # -- the two hooks: natural shapes, backend arrays -------------------------------------------
    def _matvec(self, x: Any) -> Any:
        """``A x`` for ``x`` of shape ``in_shape`` (backend array); override in subclasses."""
        return self._fwd(x)  # type: ignore[misc]

    def _rmatvec(self, y: Any) -> Any:
        """``A^H y`` (``A^*`` for ``inner="real"``) for ``y`` of shape ``out_shape``."""
        return self._adj(y)  # type: ignore[misc]

    # -- description ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(m, n) of the matrix: output size by input size."""
        return int(np.prod(self.out_shape)), int(np.prod(self.in_shape))

    @property
    def is_complex(self) -> bool:
        """Is either space complex?"""
        return _is_complex_dtype(self.dtype) or _is_complex_dtype(self.out_dtype)

    def _dtype_label(self) -> str:
        def name(dt: Any) -> str:
            return str(dt).removeprefix("torch.") if _is_torch_dtype(dt) else np.dtype(dt).name

        label = name(self.dtype)
        return label if self.out_dtype == self.dtype else f"{label} -> {name(self.out_dtype)}"

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        inner = ", inner='real'" if self.inner == "real" else ""
        cls = type(self).__name__
        cls = "LinearMap" if cls.startswith("_") else cls  # derived maps show as LinearMap
        return (
            f"<{cls}{label} {self.shape[0]}x{self.shape[1]}: {self.in_shape} -> "
            f"{self.out_shape}, {self.backend} {self._dtype_label()}{inner}>"
        )

    # -- application ---------------------------------------------------------------------------
    def _apply(
        self, fn: Callable[[Any], Any], x: Any, shp_in: tuple, shp_out: tuple, dt: Any, name: str
    ) -> Any:
        if not hasattr(x, "shape"):
            raise TypeError(
                f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}"
            )
        size = int(np.prod(shp_in))
        xs = tuple(x.shape)
        flat = xs == (size,) and shp_in != (size,)
        if xs != shp_in and not flat:
            want = f"{shp_in}" if shp_in == (size,) else f"{shp_in} or ({size},)"
            raise ValueError(f"{name} must have shape {want}, got {xs}")
        was_tensor = is_tensor(x)
        if not was_tensor and not sp.issparse(x) and np.asarray(x).dtype.kind not in "biufc":
            raise TypeError(f"{name} must be numeric, got dtype {np.asarray(x).dtype}")
        if self.backend == "torch" and not was_tensor:
            import torch

            x_np = np.asarray(x)
            if np.iscomplexobj(x_np) and not _is_complex_dtype(dt):
                raise TypeError(f"{name} is complex, but {self!r} has a real space ({dt})")
            xin = torch.as_tensor(x_np, dtype=dt, device=self.device)
        elif self.backend == "numpy" and was_tensor:
            xin = x.detach().resolve_conj().cpu().numpy()
        else:
            xin = x
        y = fn(xin.reshape(shp_in))
        if tuple(y.shape) != shp_out:
            raise ValueError(f"{self!r}: function returned shape {tuple(y.shape)}, not {shp_out}")
        if self.backend == "torch" and not was_tensor:
            y = y.detach().resolve_conj().cpu().numpy()
        elif self.backend == "numpy" and was_tensor:
            import torch

            y = np.ascontiguousarray(y)
            y_dt = x.dtype if not np.iscomplexobj(y) or x.dtype.is_complex else None
            y = torch.as_tensor(y, dtype=y_dt, device=x.device)
        return y.reshape(-1) if flat else y

    def forward(self, x: Any) -> Any:
        """``A x``: ``x`` of shape ``in_shape`` (or flat); numpy or torch in, the same out."""
        return self._apply(self._matvec, x, self.in_shape, self.out_shape, self.dtype, "x")

    def adjoint(self, y: Any) -> Any:
        """``A^H y`` (``A^* y`` for ``inner="real"``): ``y`` of shape ``out_shape`` (or flat)."""
        return self._apply(self._rmatvec, y, self.out_shape, self.in_shape, self.out_dtype, "y")

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def __matmul__(self, x: Any) -> Any:
        if isinstance(x, LinearMap):
            return _Composed(self, x)
        return self.forward(x)

    def rmatvec(self, y: Any) -> Any:
        """``A^H y``: the same as :meth:`adjoint` (scipy's name)."""
        return self.adjoint(y)

    # -- derived operators ---------------------------------------------------------------------
    @property
    def H(self) -> LinearMap:
        """The adjoint operator ``A^H``: forward and adjoint swapped."""
        return _Adjoint(self)

    @property
    def T(self) -> LinearMap:
        """The transpose: ``A^H`` for real operators and ``inner="real"``, else ``conj(A^H)``."""
        if not self.is_complex or self.inner == "real":
            return self.H
        return _Conjugate(self.H)

    def __add__(self, other: Any) -> LinearMap:
        if not isinstance(other, LinearMap):
            return NotImplemented
        return _Sum(self, other)

    def __sub__(self, other: Any) -> LinearMap:
        if not isinstance(other, LinearMap):
            return NotImplemented
        return _Sum(self, _Scaled(other, -1.0))

    def __neg__(self) -> LinearMap:
        return _Scaled(self, -1.0)

    def __mul__(self, c: Any) -> LinearMap:
        if not isinstance(c, (int, float, complex, np.number)) or isinstance(c, bool):
            return NotImplemented
        return _Scaled(self, c)

    __rmul__ = __mul__

    def real_view(self) -> LinearMap:
        """The same operator on real arrays: complex spaces become real ``(..., 2)`` arrays.

        ``C^k`` is viewed as ``R^2k`` (real and imaginary parts in a trailing axis), so the
        result is a real operator whose transpose is this operator's adjoint -- for
        ``inner="real"`` maps (R-linear, e.g. MRI) this is *the* matrix of the operator.
        """
        return _RealView(self)

    # -- representations -----------------------------------------------------------------------
    def to_dense(self, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
        """The ``m x n`` matrix, by probing unit vectors (``n`` forward calls)."""
        sparse = as_flag(sparse, "sparse")
        m, n = self.shape
        check_cost(
            f"the dense {m} x {n} matrix of {self!r}",
            nbytes=0 if sparse else 8 * m * n,
            alternative="use the operator matrix-free or to_dense(sparse=True)",
        )
        if self.inner == "real" and _is_complex_dtype(self.dtype):
            raise ValueError(
                f"{self!r} is only R-linear on a complex input space: it has no complex matrix; "
                "use .real_view().to_dense()"
            )
        return matrix_of(
            self._matvec,
            self.in_shape,
            backend=self.backend,
            dtype=self.dtype,
            device=self.device,
            sparse=sparse,
        )

    def to_sparse(self) -> sp.csr_array:
        """The matrix as a ``scipy.sparse.csr_array`` (its exact nonzeros)."""
        return sp.csr_array(self.to_dense(sparse=True))

    def to_scipy(self) -> LinearOperator:
        """A ``scipy.sparse.linalg.LinearOperator`` on flat vectors (for lsqr, cg, svds...).

        Works in float64 (complex128 for complex operators). ``inner="real"`` maps: use
        ``real_view().to_scipy()`` (scipy's adjoint is Hermitian).
        """
        if self.inner == "real" and self.is_complex:
            raise ValueError(f"{self!r} is R-linear: use .real_view().to_scipy()")
        m, n = self.shape
        dt = np.complex128 if self.is_complex else np.float64

        def mv(v: np.ndarray) -> np.ndarray:
            x = np.asarray(v).reshape(n)
            x = x if _is_complex_dtype(self.dtype) else _real_part(x, "x")
            return np.asarray(self.forward(x), dtype=dt).reshape(-1)

        def rmv(v: np.ndarray) -> np.ndarray:
            y = np.asarray(v).reshape(m)
            y = y if _is_complex_dtype(self.out_dtype) else _real_part(y, "y")
            return np.asarray(self.adjoint(y), dtype=dt).reshape(-1)

        return LinearOperator((m, n), matvec=mv, rmatvec=rmv, dtype=dt)

    def adjoint_test(self, **kwargs: Any) -> Any:
        """Normalised dot test of :meth:`forward` against :meth:`adjoint`.

        :func:`convlab.checks.adjoint_test` with this operator's shapes and dtype (keyword
        arguments are passed on). ``inner="real"`` maps are tested through :meth:`real_view`.
        """
        from convlab.checks import adjoint_test

        A = self.real_view() if self.inner == "real" else self
        kwargs.setdefault("dtype", A.dtype)
        if A.backend == "torch":
            kwargs.setdefault("device", A.device)
        return adjoint_test(
            A.forward, A.adjoint, in_shape=A.in_shape, out_shape=A.out_shape, **kwargs
        )

    def norm(self, *, n_iter: int = 100, rtol: float = 1e-10, seed: int = 0) -> float:
        """``||A||_2`` (largest singular value) by power iteration on ``A^H A``.

        Starts from a seeded random vector and stops when the estimate changes by less than
        ``rtol`` (relative) or after ``n_iter`` steps.
        """
        n_iter = as_size(n_iter, "n_iter")
        rtol = as_real_number(rtol, "rtol", strict=True)
        seed = as_size(seed, "seed", minimum=0)
        A = self.real_view() if self.inner == "real" else self
        op = A.to_scipy()
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(op.shape[1])
        if np.issubdtype(op.dtype, np.complexfloating):
            x = x + 1j * rng.standard_normal(op.shape[1])
        x /= np.linalg.norm(x)
        sigma = 0.0
        for _ in range(n_iter):
            z = op.rmatvec(op.matvec(x))  # A^H A x
            lam = float(np.linalg.norm(z))
            if lam == 0.0:
                return 0.0
            x = z / lam
            new = float(np.sqrt(lam))
            if abs(new - sigma) <= rtol * new:
                return new
            sigma = new
        return sigma


def _label(A: LinearMap) -> str:
    """``A``'s name, or its class and size when it has none (for derived operators' names)."""
    return A.name or f"{type(A).__name__.lstrip('_')} {A.shape[0]}x{A.shape[1]}"


def _spaces_of(A: LinearMap, **changes: Any) -> dict[str, Any]:
    """``A``'s constructor keywords (shapes, backend, dtypes, device, inner), some changed."""
    kw = {
        "in_shape": A.in_shape,
        "out_shape": A.out_shape,
        "backend": A.backend,
        "dtype": A.dtype,
        "out_dtype": A.out_dtype,
        "device": A.device,
        "inner": A.inner,
    }
    kw.update(changes)
    return kw


def _real_part(x: np.ndarray, name: str) -> np.ndarray:
    if np.iscomplexobj(x):
        if np.any(x.imag):
            raise TypeError(f"{name} must be real for a real space, got complex values")
        return x.real
    return x


class _Adjoint(LinearMap):
    def __init__(self, A: LinearMap) -> None:
        super().__init__(
            **_spaces_of(
                A,
                in_shape=A.out_shape,
                out_shape=A.in_shape,
                dtype=A.out_dtype,
                out_dtype=A.dtype,
                name=f"{_label(A)}.H",
            )
        )
        self.A = A

    def _matvec(self, x: Any) -> Any:
        return self.A.adjoint(x)  # public: honours an instance that replaced .adjoint

    def _rmatvec(self, y: Any) -> Any:
        return self.A.forward(y)

    @property
    def H(self) -> LinearMap:
        return self.A


class _Conjugate(LinearMap):
    """``x -> conj(A conj(x))``: turns ``A^H`` into ``A^T``."""

    def __init__(self, A: LinearMap) -> None:
        super().__init__(**_spaces_of(A, name=f"conj({_label(A)})"))
        self.A = A

    def _matvec(self, x: Any) -> Any:
        return self.A.forward(x.conj()).conj()

    def _rmatvec(self, y: Any) -> Any:
        return self.A.adjoint(y.conj()).conj()


class _Composed(LinearMap):
    """``A @ B``: first ``B``, then ``A`` (``B``'s output reshaped to ``A``'s input)."""

    def __init__(self, A: LinearMap, B: LinearMap) -> None:
        if A.shape[1] != B.shape[0]:
            raise ValueError(f"cannot compose {A!r} @ {B!r}: sizes {A.shape} and {B.shape}")
        if A.inner != B.inner and (A.is_complex or B.is_complex):
            raise ValueError("cannot compose an inner='real' map with a complex Hermitian one")
        super().__init__(
            in_shape=B.in_shape,
            out_shape=A.out_shape,
            backend=B.backend,
            dtype=B.dtype,
            out_dtype=_dtype_for(B.backend, A.out_dtype),
            device=B.device,
            inner="real" if "real" in (A.inner, B.inner) else "hermitian",
            name=f"{_label(A)} @ {_label(B)}",
        )
        self.A, self.B = A, B

    def _matvec(self, x: Any) -> Any:
        return self.A.forward(self.B.forward(x).reshape(-1)).reshape(self.out_shape)

    def _rmatvec(self, y: Any) -> Any:
        return self.B.adjoint(self.A.adjoint(y.reshape(-1)).reshape(-1)).reshape(self.in_shape)


class _Sum(LinearMap):
    def __init__(self, A: LinearMap, B: LinearMap) -> None:
        if A.in_shape != B.in_shape or A.out_shape != B.out_shape:
            raise ValueError(f"cannot add {A!r} and {B!r}: shapes differ")
        super().__init__(**_spaces_of(A, name=f"{_label(A)} + {_label(B)}"))
        self.A, self.B = A, B

    def _matvec(self, x: Any) -> Any:
        return self.A.forward(x) + self.B.forward(x)

    def _rmatvec(self, y: Any) -> Any:
        return self.A.adjoint(y) + self.B.adjoint(y)


class _Scaled(LinearMap):
    def __init__(self, A: LinearMap, c: Any) -> None:
        if np.iscomplexobj(c) and A.inner == "real":
            raise ValueError("an inner='real' map can only be scaled by a real number")
        super().__init__(**_spaces_of(A, name=f"{c} * {_label(A)}"))
        self.A, self.c = A, c

    def _matvec(self, x: Any) -> Any:
        return self.c * self.A.forward(x)

    def _rmatvec(self, y: Any) -> Any:
        return np.conj(self.c) * self.A.adjoint(y)


class _RealView(LinearMap):
    def __init__(self, A: LinearMap) -> None:
        cin, cout = _is_complex_dtype(A.dtype), _is_complex_dtype(A.out_dtype)
        super().__init__(
            **_spaces_of(
                A,
                in_shape=(*A.in_shape, 2) if cin else A.in_shape,
                out_shape=(*A.out_shape, 2) if cout else A.out_shape,
                dtype=_real_dtype(A.dtype),
                out_dtype=_real_dtype(A.out_dtype),
                inner="hermitian",
                name=f"real({_label(A)})",
            )
        )
        self.A, self._cin, self._cout = A, cin, cout

    def _matvec(self, x: Any) -> Any:
        y = self.A.forward(_from_real(x) if self._cin else x)
        return _to_real(y) if self._cout else y.real

    def _rmatvec(self, y: Any) -> Any:
        x = self.A.adjoint(_from_real(y) if self._cout else y)
        return _to_real(x) if self._cin else x.real


class MatrixMap(LinearMap):
    """A ``LinearMap`` holding its matrix: dense ndarray, scipy sparse, or a 2-D torch tensor.

    ``A @ x`` is ``M @ x.reshape(-1)`` reshaped to ``out_shape`` (row-major), the adjoint
    ``M^H``; :meth:`to_dense` and :meth:`to_sparse` return the stored matrix, not a probe.
    Made by :func:`aslinearmap`.
    """

    def __init__(
        self,
        M: Any,
        in_shape: int | Sequence[int] | None = None,
        out_shape: int | Sequence[int] | None = None,
        *,
        inner: str = "hermitian",
        name: str = "",
    ) -> None:
        M = _as_matrix(M, "M")
        backend, device = ("torch", M.device) if is_tensor(M) else ("numpy", None)
        dtype = M.dtype
        m, n = (int(s) for s in M.shape)
        in_shape = (n,) if in_shape is None else in_shape
        out_shape = (m,) if out_shape is None else out_shape
        super().__init__(
            in_shape=in_shape,
            out_shape=out_shape,
            backend=backend,
            dtype=dtype,
            device=device,
            inner=inner,
            name=name,
        )
        if self.shape != (m, n):
            raise ValueError(
                f"in_shape {self.in_shape} and out_shape {self.out_shape} do not match the "
                f"matrix shape {(m, n)}"
            )
        self.matrix = M
        self._MH = M.conj().T

    def _matvec(self, x: Any) -> Any:
        return (self.matrix @ x.reshape(-1)).reshape(self.out_shape)

    def _rmatvec(self, y: Any) -> Any:
        return (self._MH @ y.reshape(-1)).reshape(self.in_shape)

    def to_dense(self, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
        M = self.matrix
        if is_tensor(M):
            M = M.detach().resolve_conj().cpu().numpy()
        if sparse:
            return sp.csr_array(M)
        return M.toarray() if sp.issparse(M) else np.array(M)


def _as_matrix(M: Any, name: str) -> Any:
    """``M`` (ndarray, scipy sparse, 2-D tensor, or array-like) as a non-empty 2-D float or
    complex matrix of its own kind."""
    if is_tensor(M):
        if not (M.is_floating_point() or M.is_complex()):
            M = M.double()
    else:
        if not sp.issparse(M):
            M = as_numpy(M, name)
        if M.dtype.kind not in "fc":
            M = M.astype(np.float64)
    if M.ndim != 2 or 0 in M.shape:
        raise ValueError(f"{name} must be a non-empty 2-D matrix, got shape {tuple(M.shape)}")
    return M


def aslinearmap(
    obj: Any,
    adjoint: Callable[[Any], Any] | None = None,
    *,
    in_shape: int | Sequence[int] | None = None,
    out_shape: int | Sequence[int] | None = None,
    backend: str | None = None,
    dtype: Any = None,
    out_dtype: Any = None,
    device: Any = None,
    inner: str = "hermitian",
    name: str = "",
) -> LinearMap:
    """Anything that is a linear operator, as a :class:`LinearMap` (cf. scipy's aslinearoperator).

    Accepts

    * a ``LinearMap`` (returned as is);
    * an object with an ``as_linear_map()`` method (called without arguments);
    * a 2-D ndarray, a scipy sparse array/matrix or a 2-D torch tensor (:class:`MatrixMap`;
      ``in_shape``/``out_shape`` may give natural shapes, row-major);
    * a ``scipy.sparse.linalg.LinearOperator`` (``matvec``/``rmatvec`` on flat vectors);
    * a callable ``forward`` with its ``adjoint`` callable, or a ``(forward, adjoint)`` pair,
      and ``in_shape`` (``out_shape`` is found by one forward call when omitted).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> aslinearmap(sp.eye_array(3), name="I")
    <MatrixMap 'I' 3x3: (3,) -> (3,), numpy float64>
    >>> A = aslinearmap((np.cumsum, lambda y: np.cumsum(y[::-1])[::-1]), in_shape=4)
    >>> A.shape, A.adjoint_test().passed
    ((4, 4), True)
    """
    if isinstance(obj, LinearMap):
        return obj
    if hasattr(obj, "as_linear_map") and adjoint is None:
        return obj.as_linear_map()
    if isinstance(obj, tuple) and len(obj) == 2 and adjoint is None:
        obj, adjoint = obj
    if isinstance(obj, np.ndarray) or sp.issparse(obj) or (is_tensor(obj) and obj.ndim == 2):
        if device is not None:
            raise ValueError(
                f"device is not used for a matrix obj (it stays where it is); got {device!r}: "
                "move the matrix instead"
            )
        return MatrixMap(_as_matrix(obj, "obj"), in_shape, out_shape, inner=inner, name=name)
    if isinstance(obj, LinearOperator):
        m, n = obj.shape
        dt = np.dtype(obj.dtype) if obj.dtype is not None else np.dtype(np.float64)
        return LinearMap(
            lambda x: obj.matvec(x.reshape(-1)).reshape(out_shape or (m,)),
            lambda y: obj.rmatvec(y.reshape(-1)).reshape(in_shape or (n,)),
            in_shape or (n,),
            out_shape or (m,),
            dtype=dt if dt.kind in "fc" else np.float64,
            name=name,
        )
    if callable(obj):
        if adjoint is None:
            raise TypeError("a callable forward needs its adjoint (aslinearmap(f, f_adjoint, ...))")
        if in_shape is None:
            raise TypeError("in_shape is required for a callable forward")
        backend = backend or ("torch" if _is_torch_dtype(dtype) else _guess_backend(obj))
        if out_shape is None:
            probe = LinearMap(obj, adjoint, in_shape, 1, backend=backend, dtype=dtype)
            x0 = _zeros(probe, device)
            out_shape = tuple(obj(x0).shape)
        return LinearMap(
            obj,
            adjoint,
            in_shape,
            out_shape,
            backend=backend,
            dtype=dtype,
            out_dtype=out_dtype,
            device=device,
            inner=inner,
            name=name,
        )
    raise TypeError(
        "obj must be a LinearMap, a 2-D ndarray/tensor, a scipy sparse matrix, a "
        f"LinearOperator or a callable (with its adjoint), got {type(obj).__name__}"
    )


def _zeros(A: LinearMap, device: Any) -> Any:
    if A.backend == "torch":
        import torch

        return torch.zeros(A.in_shape, dtype=A.dtype, device=device)
    return np.zeros(A.in_shape, dtype=A.dtype)


def _demo() -> None:  # pragma: no cover - run by `python -m convlab.operators`
    """One layer for every operator of the course: views, adjoints, matrices, norms."""
    import torch

    # the package's classes, not this file's copies in __main__ (python -m runs it twice)
    from convlab import operators as ops
    from convlab.conv import Conv1D
    from convlab.inverse import AveragePool, FourierSampling
    from convlab.pooling import avg_pool2d_matrix
    from convlab.structured import conv_matrix

    rng = np.random.default_rng(0)
    theta, Y = rng.standard_normal(3), rng.standard_normal((4, 16))
    op = Conv1D(theta, 16, Y)
    K, J = op.as_linear_map(), op.jacobian_map()
    print(K, J, sep="\n")
    print(
        "K == conv_matrix(theta, 16, 'periodic'):",
        bool(np.allclose(K.to_dense(), conv_matrix(theta, 16, "periodic").toarray())),
    )
    print("K, J pass the dot test:", K.adjoint_test().passed, J.adjoint_test().passed)
    lam = np.abs(np.fft.fft(np.roll(np.r_[theta, np.zeros(13)], -1)))
    print("||K|| by power iteration == max |eigenvalue|:", bool(np.isclose(K.norm(), lam.max())))
    P = AveragePool(2).as_linear_map((4, 6))
    same = np.allclose(P.to_dense(), avg_pool2d_matrix((4, 6), 2, order="C").toarray())
    print(P, "\n  == avg_pool2d_matrix(order='C'):", same)
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[:, :3] = True
    A = FourierSampling(mask).as_linear_map()
    print(A, "\n  dot test with Re <A x, y> = <x, A^* y>:", A.adjoint_test().passed)
    S = ops.aslinearmap(conv_matrix(theta, 16, "zero"))
    print("S^T K (S zero-boundary, K periodic):", S.T @ K)


if __name__ == "__main__":  # pragma: no cover
    _demo()
