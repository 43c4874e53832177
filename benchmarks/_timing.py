"""Timing helpers shared by the benchmarks (run as scripts: ``from _timing import median``).

Every benchmark reports ratios of medians measured side by side in one run; these helpers are
the two ways it times something on the CPU. For several functions compared against each other
use :func:`convlab.device.time_many` (interleaved repeats); on a GPU use
:func:`convlab.device.time_fn` with the device (synchronised, CUDA events).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from convlab.device import time_fn


def median(
    fn: Callable[[], Any], repeats: int = 5, warmup: int = 1, *, slow: bool = False
) -> float:
    """Median wall time of ``fn()`` in seconds on the CPU: ``warmup`` untimed calls first.

    ``slow=True``: one timed call and no warm-up, for runs too long to repeat.
    """
    if slow:
        repeats, warmup = 1, 0
    return time_fn(fn, device="cpu", repeats=repeats, warmup=warmup).median


def once(fn: Callable[[], Any]) -> float:
    """Wall time of one cold call of ``fn()`` in seconds (what a user pays the first time)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
