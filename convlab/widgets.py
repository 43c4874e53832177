"""ipywidgets explorers for the notebooks. ipywidgets is imported lazily, inside the functions."""

from __future__ import annotations

from typing import Any

import numpy as np

from convlab.structured import BOUNDARIES, conv_matrix


def stencil_explorer(n: int = 12, stencil: tuple[float, ...] = (1.0, -2.0, 1.0)) -> Any:
    """Sliders for a 3- or 5-point stencil and a boundary dropdown; live spy and eigenvalue plots.

    For "zero" and "periodic" the eigenvalues of the n x n matrix are shown (for "periodic" also
    the FFT of the first column, which should coincide); "valid" is rectangular, so its singular
    values are shown instead. Returns the widget (display it as the cell's last expression).
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from convlab.fourier import circulant_eigenvalues
    from convlab.plotting import plot_eigenvalues, spy

    if len(stencil) not in (3, 5):
        raise ValueError(f"stencil must have 3 or 5 entries, got {len(stencil)}")
    sliders = [
        w.FloatSlider(value=float(v), min=-3, max=3, step=0.25, description=f"θ{k + 1}")
        for k, v in enumerate(stencil)
    ]
    boundary = w.Dropdown(options=list(BOUNDARIES), value="periodic", description="boundary")
    size = w.IntSlider(value=n, min=len(stencil), max=32, description="n")
    out = w.Output()

    def redraw(*_: Any) -> None:
        theta = np.array([s.value for s in sliders])
        K = conv_matrix(theta, size.value, boundary.value)
        with out:
            out.clear_output(wait=True)
            _, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
            spy(K, ax=a1, title=f"{boundary.value}: K is {K.shape[0]}x{K.shape[1]}")
            if boundary.value == "valid":
                sv = np.linalg.svd(K.toarray(), compute_uv=False)
                a2.plot(sv, "o")
                a2.set_title("singular values (K is rectangular)")
            else:
                sets = [np.linalg.eigvals(K.toarray())]
                labels = ["eig(full(K))"]
                if boundary.value == "periodic":
                    sets.append(circulant_eigenvalues(theta, size.value))
                    labels.append("fft(K(:,1))")
                plot_eigenvalues(*sets, labels=labels, ax=a2, title="eigenvalues")
            plt.show()

    for control in (*sliders, boundary, size):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([boundary, size]), w.HBox(sliders[:3]), w.HBox(sliders[3:]), out])
