"""Who feeds whom: the dependency diagram of a 1D convolution and of its transpose.

The nonzeros of the convolution matrix ``A`` are the dependencies: ``A[i, j] != 0`` means
input ``j`` feeds output ``i`` of the convolution, and -- because ``(A^T)[j, i] = A[i, j]`` --
that input ``i`` of the transposed convolution feeds its output ``j``. One picture serves both
(the lecture's "dependency by sparsity pattern"). :func:`dependency_figure` draws it with
matplotlib; :func:`conv_arithmetic_explorer` wraps it in ipywidgets sliders (imported lazily).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlab.transposed import adjoint_output_padding, conv_layer_matrix, conv_output_size


def dependencies(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """Boolean ``(m, n)`` matrix: ``D[i, j]`` is True iff input j feeds output i of the conv."""
    A = conv_layer_matrix(
        np.ones((1, 1, kernel_size)), n, stride=stride, padding=padding, dilation=dilation
    )
    return A.toarray() != 0


def dependency_figure(
    n: int = 8,
    kernel_size: int = 3,
    stride: int = 2,
    padding: int = 0,
    dilation: int = 1,
    highlight: int | None = None,
) -> Any:
    """Two panels: the bipartite input/output diagram, and the matrix pattern of ``A``.

    Left: inputs ``x_j`` at the bottom, outputs ``y_i`` on top, a line for every nonzero
    ``A[i, j]``; read downwards it is the transposed convolution (``y`` feeds ``x``). Padding
    positions are drawn as hollow circles. ``highlight`` (an output index) colours its inputs.
    Right: the pattern of ``A`` (``m x n``); its transpose is the transposed convolution.
    """
    import matplotlib.pyplot as plt

    D = dependencies(n, kernel_size, stride, padding, dilation)
    m = D.shape[0]
    a = adjoint_output_padding(n, kernel_size, stride, padding, dilation)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    xs_in = np.arange(-padding, n + padding)
    # output i sits above the centre of its (dilated) window
    xs_out = np.arange(m) * stride - padding + dilation * (kernel_size - 1) / 2
    for i, j in zip(*np.nonzero(D)):
        on = highlight is not None and i == highlight
        ax.plot([j, xs_out[i]], [0, 1], color="C3" if on else "0.7", lw=2 if on else 0.8, zorder=1)
    real = (xs_in >= 0) & (xs_in < n)
    ax.scatter(xs_in[real], np.zeros(real.sum()), s=80, c="C0", zorder=2, label="input x")
    ax.scatter(
        xs_in[~real], np.zeros((~real).sum()), s=80, facecolors="none", edgecolors="C0",
        zorder=2, label="zero padding",
    )  # fmt: skip
    ax.scatter(xs_out, np.ones(m), s=80, c="C1", zorder=2, label="output y = conv(x)")
    ax.set_yticks([0, 1], ["x  (conv input,\ntransp. output)", "y  (conv output,\ntransp. input)"])
    ax.set_xticks(np.arange(n))
    ax.set_ylim(-0.3, 1.3)
    ax.set_xlim(min(-padding, -1) - 0.5, max(n + padding, xs_out.max() + 1) - 0.5)
    ax.set_title(
        f"n={n}, k={kernel_size}, s={stride}, p={padding}, d={dilation}: {n} -> {m}; "
        f"transpose needs output_padding={a}",
        fontsize=9,
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, fontsize=8, frameon=False)
    bx.imshow(D, cmap="Greys", aspect="auto", interpolation="nearest")
    bx.set_title(f"pattern of A ({m}x{n}); A^T is the transposed conv", fontsize=9)
    bx.set_xlabel("input j")
    bx.set_ylabel("output i")
    fig.tight_layout()
    return fig


def conv_arithmetic_explorer(n: int = 8) -> Any:
    """Sliders for kernel size, stride, padding, dilation and a highlighted output.

    Shows :func:`dependency_figure` and the output sizes of the convolution and of its
    transpose; parameter choices where the kernel does not fit are reported, not plotted.
    Returns the widget (display it as the cell's last expression).
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    size = w.IntSlider(value=n, min=1, max=16, description="n")
    k = w.IntSlider(value=3, min=1, max=5, description="kernel")
    s = w.IntSlider(value=2, min=1, max=4, description="stride")
    p = w.IntSlider(value=0, min=0, max=3, description="padding")
    d = w.IntSlider(value=1, min=1, max=3, description="dilation")
    hi = w.IntSlider(value=0, min=0, max=15, description="highlight y_i")
    out = w.Output()

    def redraw(*_: Any) -> None:
        with out:
            out.clear_output(wait=True)
            try:
                m = conv_output_size(size.value, k.value, s.value, p.value, d.value)
            except ValueError as exc:
                print(f"no output: {exc}")
                return
            hi.max = max(m - 1, 0)
            dependency_figure(size.value, k.value, s.value, p.value, d.value, hi.value)
            plt.show()

    for control in (size, k, s, p, d, hi):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([size, k, s]), w.HBox([p, d, hi]), out])
