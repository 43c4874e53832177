"""What every check shares: dtypes and backends, tolerances, random vectors, the result base.

The precision policy of :mod:`convlab.checks` lives here (:func:`_working_eps`, :data:`MAX_TOL`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from convlab._validate import as_numpy, as_real_number, is_tensor, torch_if_imported

#: Largest tolerance a check accepts (given, or a default derived from the dtype): above it a
#: plainly wrong answer (an adjoint off by 10 %, eigenvalues off by 10 % of the largest) could
#: pass. Relative to the Cauchy-Schwarz bound for the dot tests, to ``max|lambda|`` for the
#: eigenvalues.
MAX_TOL = 0.1

# torch dtype name -> numpy dtype (bfloat16 has no numpy twin: handled separately).
_TORCH_TO_NUMPY = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "complex64": np.complex64,
    "complex128": np.complex128,
}


_torch = torch_if_imported  # the torch module if already imported (never imports it)
_is_tensor = is_tensor


def _is_torch_dtype(dtype: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(dtype, torch.dtype)


def _torch_dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _numpy_dtype(dtype: Any) -> np.dtype:
    """Numpy dtype used to draw random numbers for ``dtype`` (numpy, str or torch dtype).

    Raises ``TypeError`` for dtypes that are neither floating nor complex.
    """
    if _is_torch_dtype(dtype):
        name = _torch_dtype_name(dtype)
        if name == "bfloat16":
            return np.dtype(np.float32)  # drawn in float32, rounded by the conversion
        if name not in _TORCH_TO_NUMPY:
            raise TypeError(f"dtype must be a floating or complex dtype, got {dtype}")
        return np.dtype(_TORCH_TO_NUMPY[name])
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy or torch dtype, got {dtype!r}") from exc
    if dt.kind not in "fc":
        raise TypeError(f"dtype must be a floating or complex dtype, got {dt}")
    return dt


def _eps(dtype: Any) -> float:
    """Machine epsilon of the (real) precision of ``dtype``: numpy, str or torch dtypes.

    complex64 -> float32 eps, complex128 -> float64 eps; integer and bool dtypes are exact
    inputs that are computed with in float64, so they get float64 eps.

    >>> _eps(np.float32) == 2.0**-23, _eps("complex128") == 2.0**-52
    (True, True)
    """
    if _is_torch_dtype(dtype):
        torch = _torch()
        if dtype.is_floating_point or dtype.is_complex:
            return float(torch.finfo(dtype).eps)
        return float(np.finfo(np.float64).eps)
    dt = np.dtype(dtype)
    if dt.kind in "fc":
        return float(np.finfo(dt).eps)
    return float(np.finfo(np.float64).eps)


def _working_eps(dtype: Any) -> float:
    """:func:`_eps` of a dtype a check can give a verdict in; float16/bfloat16 are refused.

    >>> _working_eps(np.float16)
    Traceback (most recent call last):
    ...
    TypeError: dtype float16 is too coarse for a verdict (eps = 9.8e-04: ...
    """
    eps = _eps(dtype)
    if eps > _eps(np.float32):
        raise TypeError(
            f"dtype {_dtype_name(dtype)} is too coarse for a verdict (eps = {eps:.1e}: every "
            "tolerance derived from it is 0.1 to 1, as large as the errors the checks must "
            "catch); evaluate the operator in float32 or float64"
        )
    return eps


def _as_tol(tol: Any, name: str = "tol", *, limit: float = MAX_TOL) -> float:
    """A user tolerance: a finite real in ``[0, limit]`` (larger would pass wrong answers)."""
    t = as_real_number(tol, name)
    if t > limit:
        raise ValueError(
            f"{name} = {t:g} is above {limit:g}: a wrong answer could pass such a tolerance"
        )
    return t


def _dtype_name(dtype: Any) -> str:
    if _is_torch_dtype(dtype):
        return str(dtype)
    return np.dtype(dtype).name


def _complex_of(dt: np.dtype) -> np.dtype:
    """Complex dtype with the precision of the real/complex dtype ``dt``."""
    return np.result_type(dt, np.complex64)


def _to_numpy(x: Any, what: str) -> np.ndarray:
    """Array ``x`` (numpy, torch on any device, sparse, scalar) as a numpy array.

    Floating tensors must be in a precision the checks accept (a float16/bfloat16 output would
    otherwise be judged with a float32 tolerance).
    """
    if _is_tensor(x):
        if x.is_floating_point() or x.is_complex():
            _working_eps(x.dtype)
        return as_numpy(x, what, numeric=False)
    if sp.issparse(x):
        return x.toarray()
    if isinstance(x, np.ndarray | np.generic | int | float | complex | list | tuple):
        return np.asarray(x)
    raise TypeError(f"{what} must be a numpy array or torch tensor, got {type(x).__name__}")


def _wide(x: np.ndarray) -> np.ndarray:
    """Flattened float64 / complex128 copy used to accumulate inner products and norms."""
    x = np.asarray(x).ravel()
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64, copy=False)


def _randn(rng: np.random.Generator, shape: tuple[int, ...], dt: np.dtype) -> np.ndarray:
    """Standard normal array; complex entries have E|z|^2 = 1 (real and imag each var 1/2)."""
    if dt.kind == "c":
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return (z / math.sqrt(2.0)).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def _to_backend(x: np.ndarray, *, torch_dtype: Any = None, device: Any = None) -> Any:
    """numpy -> torch tensor (if torch_dtype is given) on ``device``; else unchanged."""
    if torch_dtype is None:
        return x
    torch = _torch()
    dt = torch_dtype
    if np.iscomplexobj(x) and not torch_dtype.is_complex:
        dt = torch.complex64 if torch_dtype in (torch.float16, torch.float32) else torch.complex128
    return torch.from_numpy(np.ascontiguousarray(x)).to(device=device or "cpu", dtype=dt)


class _CheckResult:
    """Shared behaviour of the result records (fields are defined by the subclasses)."""

    passed: bool

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def table(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def __bool__(self) -> bool:
        return bool(self.passed)

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` with the summary and table if the check failed."""
        if not self.passed:
            raise AssertionError(f"{self.summary()}\n{self.table()}")


def _fmt_num(z: complex) -> str:
    z = complex(z)
    if z.imag == 0:
        return f"{z.real:.10g}"
    return f"{z.real:.6g}{z.imag:+.6g}j"
