"""Pick the compute device in one place: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the best available ``torch.device``.

    Order: CUDA, then MPS, then CPU. ``prefer`` ("cuda", "mps", "cpu") forces a choice and
    raises ``RuntimeError`` when that device is not available (never a silent fallback).

    >>> pick_device("cpu")
    device(type='cpu')
    """
    if prefer is not None:
        if prefer not in ("cuda", "mps", "cpu"):
            raise ValueError(f"prefer must be 'cuda', 'mps', 'cpu' or None, got {prefer!r}")
        if prefer == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("prefer='cuda' but torch.cuda.is_available() is False")
        if prefer == "mps" and not _mps_available():
            raise RuntimeError("prefer='mps' but the MPS backend is not available")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe() -> str:
    """One line naming the device ``pick_device()`` chose and why (for notebooks)."""
    dev = pick_device()
    if dev.type == "cuda":
        return f"Using CUDA: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "Using Apple MPS"
    return "No GPU found (no CUDA, no MPS): using the CPU"
