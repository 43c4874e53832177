"""Small input validators shared by the package: clear errors, never a silent broadcast.

Every public function routes its arguments through these, so a bad input gets a ``TypeError`` or
``ValueError`` that names the argument and what was expected. Besides the validators:

* backend probes (:func:`is_tensor`, :func:`torch_if_imported`) that never import torch;
* :func:`check_cost`, the one estimate of memory and work that builders and solvers call *before*
  they allocate or loop, with limits the user can change (:func:`set_cost_limits` or the
  ``CONVLAB_MAX_BYTES`` / ``CONVLAB_MAX_OPS`` environment variables).
"""

from __future__ import annotations

import math
import operator
import os
import sys
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# backend probes (never import torch: numpy-only users stay light)
# --------------------------------------------------------------------------------------------


def torch_if_imported() -> Any:
    """The torch module if it is already imported, else ``None`` (never imports torch)."""
    return sys.modules.get("torch")


def is_tensor(x: Any) -> bool:
    """``x`` is a ``torch.Tensor`` (False without importing torch when torch is not loaded)."""
    torch = torch_if_imported()
    return torch is not None and isinstance(x, torch.Tensor)


def as_numpy(value: Any, name: str, *, numeric: bool = True) -> np.ndarray:
    """``value`` as an ndarray: tensors (any device, ``requires_grad`` too) are detached and
    copied to the CPU, lists and scalars converted; unless ``numeric=False``, strings and
    objects are ``TypeError``s (bool counts as numeric)."""
    if is_tensor(value):
        value = value.detach().resolve_conj().resolve_neg().cpu().numpy()
    arr = np.asarray(value)
    if numeric and (
        arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool)
    ):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


# --------------------------------------------------------------------------------------------
# cost estimates: refuse up front what the machine cannot do
# --------------------------------------------------------------------------------------------

#: Environment variables read by :func:`cost_limits` when no limit was set in the session.
MAX_BYTES_ENV, MAX_OPS_ENV = "CONVLAB_MAX_BYTES", "CONVLAB_MAX_OPS"
#: Defaults: 4 GiB of memory for one result, 1e11 elementary operations (about a minute).
DEFAULT_MAX_BYTES, DEFAULT_MAX_OPS = 4 * 2**30, 1e11
# the session's explicit setting (set_cost_limits); None = environment variable or default
_session_limits: dict[str, float | None] = {"bytes": None, "ops": None}


class CostLimitError(MemoryError, ValueError):
    """A request refused before it starts because it would exceed a cost limit.

    A ``MemoryError`` (what it prevents) and a ``ValueError`` (an argument is too large).
    """


_KEEP: Any = object()  # set_cost_limits: leave this limit as it is


def set_cost_limits(
    *, max_bytes: float | None = _KEEP, max_ops: float | None = _KEEP
) -> tuple[float | None, float | None]:
    """Set this session's limits for :func:`check_cost`; returns the previous settings.

    An omitted limit stays as it is; ``None`` removes the session's setting (back to the
    ``CONVLAB_MAX_BYTES`` / ``CONVLAB_MAX_OPS`` environment variables, else the defaults);
    ``math.inf`` disables it. The settings take precedence over the environment variables.
    The returned pair restores exactly what was there::

        previous = set_cost_limits(max_bytes=64 * 2**30)
        ...
        set_cost_limits(max_bytes=previous[0], max_ops=previous[1])
    """
    previous = (_session_limits["bytes"], _session_limits["ops"])
    for key, value, name in (("bytes", max_bytes, "max_bytes"), ("ops", max_ops, "max_ops")):
        if value is not _KEEP:
            _session_limits[key] = (
                None if value is None else as_real_number(value, name, strict=True, finite=False)
            )
    return previous


def cost_limits() -> tuple[float, float]:
    """``(max_bytes, max_ops)`` in force: the session's setting, else the environment
    variables ``CONVLAB_MAX_BYTES`` / ``CONVLAB_MAX_OPS``, else 4 GiB and 1e11."""
    out = []
    for key, env, default in (
        ("bytes", MAX_BYTES_ENV, DEFAULT_MAX_BYTES),
        ("ops", MAX_OPS_ENV, DEFAULT_MAX_OPS),
    ):
        value = _session_limits[key]
        if value is None:
            raw = os.environ.get(env, "")
            try:
                value = as_real_number(float(raw), env, strict=True) if raw else default
            except ValueError:
                raise ValueError(f"{env}={raw!r} must be a positive number") from None
        out.append(float(value))
    return out[0], out[1]


def _fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"


def sparse_bytes(rows: int, nnz: int, itemsize: int = 8) -> int:
    """Bytes to build a CSR matrix: its ``rows + 1`` row pointers and, for each of ``nnz``
    entries, the value and int64 row and column indices of the COO form it is built from."""
    return 8 * (rows + 1) + (itemsize + 16) * nnz


def check_cost(what: str, *, nbytes: float = 0, ops: float = 0, alternative: str) -> None:
    """Refuse, before any allocation or loop, a request above the cost limits.

    The one estimate helper of the package: a builder or solver computes the memory its result
    needs (``nbytes``) and the elementary operations it will run (``ops``) from its arguments,
    with Python ints (no overflow), and calls this first.

    Parameters
    ----------
    what : str
        What would be built or run, with its size (e.g. ``"full_conv_matrix of a 100000-sample
        signal (200001 x 100000 float64)"``).
    nbytes, ops : float
        The estimate. Either may be 0.
    alternative : str
        What to do instead (a matrix-free operator, a smaller size, another solver).

    Raises
    ------
    CostLimitError
        With the size, the limit, the alternative and how to raise the limit.

    Examples
    --------
    >>> check_cost("a 10 x 10 float64 matrix", nbytes=800, alternative="-")
    >>> check_cost("a 1e6 x 1e6 float64 matrix", nbytes=8e12, alternative="a LinearMap")
    Traceback (most recent call last):
    ...
    convlab._validate.CostLimitError: a 1e6 x 1e6 float64 matrix would need 7.28 TiB ...
    """
    max_bytes, max_ops = cost_limits()
    hint = (
        "raise the limit with convlab._validate.set_cost_limits(...) or the "
        f"{MAX_BYTES_ENV}/{MAX_OPS_ENV} environment variables"
    )
    if nbytes > max_bytes:
        raise CostLimitError(
            f"{what} would need {_fmt_bytes(nbytes)} (limit {_fmt_bytes(max_bytes)}); "
            f"{alternative}; or {hint}"
        )
    if ops > max_ops:
        raise CostLimitError(
            f"{what} would take about {ops:.2g} operations (limit {max_ops:.2g}); "
            f"{alternative}; or {hint}"
        )


# --------------------------------------------------------------------------------------------
# validators
# --------------------------------------------------------------------------------------------


def as_size(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as a Python int >= ``minimum``; floats (even 4.0) and bools are rejected."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool {value!r}")
    try:
        size = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__} {value!r}"
        ) from None
    if size < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {size}")
    return size


def as_shape(
    value: Any, name: str, *, ndim: int | None = None, minimum: int = 1
) -> tuple[int, ...]:
    """``value`` (an int, or a sequence of ints) as a tuple of Python ints, each ``>= minimum``.

    numpy integers and integer 0-d arrays/tensors are accepted; floats (even ``4.0``), bools
    and strings are ``TypeError``s, so ``(3.5,)`` is never truncated to 3. ``ndim`` fixes the
    number of entries (an int then stands for the same size on every axis, e.g. ``3 -> (3, 3)``
    with ``ndim=2``).
    """
    bad = TypeError(f"{name} must be an integer or a tuple of integers, got {value!r}")
    if isinstance(value, (str, bytes)) or value is None:
        raise bad
    if np.ndim(value) == 0:
        entries: tuple[Any, ...] = (value,) * (1 if ndim is None else ndim)
    else:
        try:
            entries = tuple(value)
        except TypeError:
            raise bad from None
        if ndim is not None and len(entries) != ndim:
            raise ValueError(f"{name} must have {ndim} entries, got {len(entries)}: {value!r}")
    out = []
    for s in entries:
        if isinstance(s, (bool, np.bool_)) or np.ndim(s) != 0:
            raise bad
        try:
            out.append(operator.index(s))
        except TypeError:
            raise bad from None
    if any(s < minimum for s in out):
        raise ValueError(f"{name} must have entries >= {minimum}, got {tuple(out)}")
    return tuple(out)


def as_vector(
    value: Any, name: str, *, allow_empty: bool = False, finite: bool = False
) -> np.ndarray:
    """``value`` as a 1-D numeric ndarray (lists, tuples and torch tensors accepted); with
    ``finite``, NaN and inf entries are ``ValueError``s (for stencils and parameters, where they
    are always a bug, unlike data passed through an operator)."""
    arr = as_numpy(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if finite:
        require_finite(arr, name)
    return arr


def require_finite(arr: Any, name: str) -> None:
    """``ValueError`` naming ``name`` if the array or tensor ``arr`` has a NaN or inf entry."""
    ok = bool(arr.isfinite().all()) if is_tensor(arr) else bool(np.isfinite(arr).all())
    if not ok:
        raise ValueError(f"{name} contains NaN or inf")


def as_flag(value: Any, name: str) -> bool:
    """``value`` if it is True or False (numpy bools too); 1, "yes" or None are ``TypeError``s
    (a truthy non-bool is usually a misplaced argument)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def as_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def as_real_tensor(value: Any, name: str) -> Any:
    """``value`` as a real floating ``torch.Tensor`` (arrays and lists accepted; ints -> float64).

    torch is imported here, not at module level, so numpy-only users of this module stay light.
    """
    import torch

    if isinstance(value, torch.Tensor):
        t = value
    else:
        arr = np.asarray(value)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        t = torch.as_tensor(arr)
    if t.is_complex():
        raise TypeError(f"{name} must be real, got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    return t


def as_real_number(
    value: Any,
    name: str,
    *,
    minimum: float = 0.0,
    strict: bool = False,
    maximum: float = math.inf,
    finite: bool = True,
) -> float:
    """A finite real scalar ``>= minimum`` (``> minimum`` when ``strict``) as a Python float.

    Python and numpy reals and 0-d arrays/tensors are accepted (``requires_grad`` too); bools
    and strings are ``TypeError``s, NaN, infinities (unless ``finite=False``) and values
    outside ``[minimum, maximum]`` ``ValueError``s.
    """
    is_0d = getattr(value, "ndim", None) == 0 and not isinstance(value, (str, bytes))
    if isinstance(value, (bool, np.bool_, str, bytes)) or not (np.isscalar(value) or is_0d):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if is_tensor(value):
        value = value.detach()
    if np.iscomplexobj(value):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(v) or (finite and math.isinf(v)) or v < minimum or (strict and v == minimum):
        bound = f"{'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be {'finite and ' if finite else ''}{bound}, got {v}")
    if v > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {v}")
    return v


def as_device(value: Any, name: str = "device") -> Any:
    """``value`` (None, a string or a ``torch.device``) as a ``torch.device`` that exists here.

    ``None`` means the CPU. An unavailable CUDA or MPS device is a ``ValueError`` that says so
    (torch's own error for it is an ``AssertionError``, which checks use for failed verdicts).
    """
    import torch

    if value is None:
        return torch.device("cpu")
    try:
        dev = torch.device(value)
    except (RuntimeError, TypeError):
        msg = f"{name} must be a torch device such as 'cpu' or 'cuda', got {value!r}"
        raise ValueError(msg) from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }.get(dev.type, True)
    if not available:
        raise ValueError(
            f"{name}={str(dev)!r} is not available on this machine; use 'cpu' or "
            "convlab.device.pick_device()"
        )
    return dev


def as_generator(value: Any, name: str = "generator") -> Any:
    """``value`` if it is a ``torch.Generator`` (randomness is always explicit), else TypeError."""
    import torch

    if not isinstance(value, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(value).__name__}"
        )
    return value


def as_bool_mask(value: Any, name: str = "mask", *, shape: tuple[int, ...] | None = None) -> Any:
    """``value`` as a boolean ``torch.Tensor`` (True = kept/observed; numpy bool arrays are
    copied), of exactly ``shape`` when given. Non-boolean dtypes are ``TypeError``s: a 0/1 float
    mask is a frequent bug (it silently scales instead of selecting)."""
    import torch

    if isinstance(value, torch.Tensor):
        m = value
    else:
        arr = np.array(value)
        if arr.dtype != bool:
            raise TypeError(f"{name} must be boolean (True = observed), got dtype {arr.dtype}")
        m = torch.from_numpy(arr)
    if m.dtype != torch.bool:
        raise TypeError(f"{name} must be boolean (True = observed), got dtype {m.dtype}")
    if shape is not None and tuple(m.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(m.shape)}")
    return m
