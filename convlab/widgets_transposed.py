"""Old import path of the conv-arithmetic figures and explorer, now in :mod:`convlab.widgets`.

Kept only while notebook 07 imports from here; remove it once the notebook imports
``convlab.widgets``.
"""

from convlab.widgets import conv_arithmetic_explorer, dependencies, dependency_figure

__all__ = ["conv_arithmetic_explorer", "dependencies", "dependency_figure"]
