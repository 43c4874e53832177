"""The one place where an operator argument of a check becomes (forward, adjoint) callables.

:func:`as_operator` takes what :func:`convlab.checks.adjoint_test` accepts and returns an object
with the attributes of a ``LinearMap`` (``forward``, ``adjoint``, ``in_shape``, ``out_shape``,
``dtype``): matrices, sparse arrays and scipy ``LinearOperator``s; objects with
``forward``/``adjoint``/``in_shape``/``out_shape`` such as :class:`convlab.operators.LinearMap`;
callables with their adjoint; and, through :func:`convlab.operators.aslinearmap`, every other
operator of the course (objects with ``as_linear_map()``: ``Conv1D``, ``FourierSampling``,
``WienerFactor``, ...), ``(forward, adjoint)`` pairs and 2-D torch tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from convlab._validate import as_shape
from convlab.checks._common import _is_torch_dtype, _torch


class CheckedOperator(NamedTuple):
    """``forward``/``adjoint`` act on arrays of ``in_shape``/``out_shape`` (``None``: unknown
    until the first call); ``dtype`` (and ``device``, torch) of the random vectors."""

    forward: Callable[[Any], Any]
    adjoint: Callable[[Any], Any]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] | None
    dtype: Any
    device: Any = None


def _is_matrix_like(obj: Any) -> bool:
    return isinstance(obj, np.ndarray | LinearOperator) or sp.issparse(obj)


def _matrix_apply(obj: Any, name: str) -> Callable[[Any], Any]:
    """Function applying the matrix-like ``obj`` (ndarray, sparse, LinearOperator) to a vector."""
    if isinstance(obj, LinearOperator):
        return obj.matvec
    if isinstance(obj, np.ndarray) and obj.ndim != 2:
        raise ValueError(f"{name} as an array must be 2-D (a matrix), got ndim={obj.ndim}")
    return lambda x: obj @ x


def _as_apply(obj: Any, name: str) -> Callable[[Any], Any]:
    if _is_matrix_like(obj):
        return _matrix_apply(obj, name)
    if callable(obj):
        return obj
    raise TypeError(
        f"{name} must be a 2-D ndarray, a scipy sparse matrix/array, a LinearOperator or a "
        f"callable, got {type(obj).__name__}"
    )


def _is_map_like(obj: Any) -> bool:
    """An object with the attributes of a ``LinearMap`` (forward, adjoint and their shapes)."""
    return all(hasattr(obj, a) for a in ("forward", "adjoint", "in_shape", "out_shape")) and (
        callable(obj.forward) and callable(obj.adjoint)
    )


def _converts_to_linear_map(obj: Any) -> bool:
    """The course's operator objects (``as_linear_map()``), ``(forward, adjoint)`` pairs and 2-D
    torch tensors: :func:`convlab.operators.aslinearmap` turns them into a ``LinearMap``."""
    if hasattr(obj, "as_linear_map"):  # authoritative (it knows the inner product), map-like or not
        return True
    if isinstance(obj, tuple):
        return len(obj) == 2 and all(callable(f) for f in obj)
    torch = _torch()
    return torch is not None and isinstance(obj, torch.Tensor) and obj.ndim == 2


def as_operator(
    forward: Any,
    adjoint: Any = None,
    *,
    in_shape: int | Sequence[int] | None = None,
    out_shape: int | Sequence[int] | None = None,
    dtype: Any = None,
) -> CheckedOperator:
    """``forward`` (and the claimed ``adjoint``) as callables with shapes and a working dtype.

    See :func:`convlab.checks.adjoint_test` for what each argument may be and the defaults
    (``A.conj().T`` / ``rmatvec`` for matrix-likes; float64 for callables and integer matrices).
    """
    if forward is None:
        raise TypeError("forward must be an operator or a callable, got None")
    if adjoint is None and _converts_to_linear_map(forward):
        from convlab.operators import aslinearmap  # operators imports checks: import lazily

        try:
            forward = aslinearmap(forward, in_shape=in_shape, out_shape=out_shape, dtype=dtype)
        except TypeError as err:
            if not hasattr(forward, "as_linear_map"):
                raise
            name = type(forward).__name__
            raise TypeError(
                f"{name} needs arguments to become an operator ({err}); pass "
                f"{name}(...).as_linear_map(...) instead"
            ) from err
    if _is_matrix_like(forward):
        if _is_torch_dtype(dtype):
            raise TypeError(
                "a torch dtype needs a callable forward that accepts tensors; "
                f"got {type(forward).__name__} (use a numpy dtype for matrices/LinearOperators)"
            )
        if isinstance(forward, np.ndarray) and forward.ndim != 2:
            raise ValueError(f"forward as an array must be 2-D, got ndim={forward.ndim}")
        m, n = (int(s) for s in forward.shape)
        for name, given, expect in (("in_shape", in_shape, n), ("out_shape", out_shape, m)):
            if given is not None and math.prod(as_shape(given, name)) != expect:
                raise ValueError(
                    f"{name}={given!r} does not match the operator shape {forward.shape} "
                    "(matrices act on flat vectors)"
                )
        if adjoint is None:
            if isinstance(forward, LinearOperator):
                adj = forward.rmatvec
            else:
                AH = forward.conj().T
                adj = lambda y: AH @ y  # noqa: E731
        else:
            adj = _as_apply(adjoint, "adjoint")
        if dtype is None:
            op_dt = np.dtype(forward.dtype) if forward.dtype is not None else np.dtype(float)
            dtype = op_dt if op_dt.kind in "fc" else np.dtype(np.float64)
        return CheckedOperator(_matrix_apply(forward, "forward"), adj, (n,), (m,), dtype)
    if _is_map_like(forward) and adjoint is None:
        if getattr(forward, "inner", "hermitian") == "real":  # R-linear: test its real view
            forward = forward.real_view()
        if dtype is None:
            dtype = getattr(forward, "dtype", None)
            if dtype is None:
                torch = _torch() if getattr(forward, "backend", "numpy") == "torch" else None
                dtype = torch.float64 if torch is not None else np.dtype(np.float64)
        return CheckedOperator(
            forward.forward,
            forward.adjoint,
            as_shape(forward.in_shape, "in_shape"),
            as_shape(forward.out_shape, "out_shape"),
            dtype,
            getattr(forward, "device", None),
        )
    if callable(forward):
        if adjoint is None:
            raise TypeError("adjoint is required when forward is a callable")
        if in_shape is None:
            raise TypeError("in_shape is required when forward is a callable")
        return CheckedOperator(
            forward,
            _as_apply(adjoint, "adjoint"),
            as_shape(in_shape, "in_shape"),
            None if out_shape is None else as_shape(out_shape, "out_shape"),
            np.dtype(np.float64) if dtype is None else dtype,
        )
    raise TypeError(
        "forward must be a 2-D ndarray, a scipy sparse matrix/array, a LinearOperator, a "
        f"LinearMap or a callable, got {type(forward).__name__}"
    )
