"""Small input validators shared by the package: clear errors, never a silent broadcast."""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np


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
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
    if np.ndim(value) == 0:
        entries: tuple[Any, ...] = (value,) * (1 if ndim is None else ndim)
    else:
        try:
            entries = tuple(value)
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}") from None
        if ndim is not None and len(entries) != ndim:
            raise ValueError(f"{name} must have {ndim} entries, got {len(entries)}: {value!r}")
    out = []
    for s in entries:
        if isinstance(s, (bool, np.bool_)) or np.ndim(s) != 0:
            raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}") from None
    if any(s < minimum for s in out):
        raise ValueError(f"{name} must have entries >= {minimum}, got {tuple(out)}")
    return tuple(out)


def as_vector(value: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """``value`` as a 1-D numeric ndarray (lists, tuples and torch tensors accepted)."""
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    return arr


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


def as_real_number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    """A finite real scalar ``>= minimum`` (``> minimum`` when ``strict``) as a Python float.

    Python and numpy reals and 0-d arrays/tensors are accepted; bools and strings are
    ``TypeError``s, NaN, infinities and values below the bound ``ValueError``s.
    """
    is_0d = getattr(value, "ndim", None) == 0 and not isinstance(value, (str, bytes))
    if isinstance(value, (bool, np.bool_, str, bytes)) or not (np.isscalar(value) or is_0d):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v) or v < minimum or (strict and v == minimum):
        bound = f"{'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be finite and {bound}, got {v}")
    return v


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

    m = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
    if m.dtype != torch.bool:
        raise TypeError(f"{name} must be boolean (True = observed), got dtype {m.dtype}")
    if shape is not None and tuple(m.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(m.shape)}")
    return m
