"""Shared pytest set-up: headless matplotlib, paths."""

from __future__ import annotations

from pathlib import Path

import matplotlib

# Only this process: notebook kernels started by nbval keep their inline backend, so figures
# appear as outputs (setting MPLBACKEND here would leak into them and drop every figure).
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
