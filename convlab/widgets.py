"""ipywidgets explorers for the notebooks, and the figures they draw.

- :func:`stencil_explorer` (notebook 01): a stencil, a boundary condition and a size give a
  convolution matrix; :func:`stencil_figure` shows its pattern and spectrum.
- :func:`conv_arithmetic_explorer` (notebook 07): who feeds whom in a 1D convolution and its
  transpose; :func:`dependencies` and :func:`dependency_figure` draw it. The nonzeros of the
  convolution matrix ``A`` are the dependencies: ``A[i, j] != 0`` means input ``j`` feeds output
  ``i`` of the convolution, and -- because ``(A^T)[j, i] = A[i, j]`` -- input ``i`` of the
  transposed convolution feeds its output ``j`` (the lecture's "dependency by sparsity pattern").

ipywidgets is imported inside the explorers, so the figures work without it. An explorer's
notebook output also carries a static picture of its first state: JupyterLab does not render
saved widgets in a notebook the student has not run yet (an opened notebook is not trusted), and
shows that picture, titled "run this cell to explore", in their place.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

import numpy as np

from convlab.structured import BOUNDARIES, conv_matrix
from convlab.transposed import adjoint_output_padding, conv_layer_matrix, conv_output_size

PREVIEW_NOTE = "(static picture): run this cell to explore"


def _integer_ticks(ax: Any, which: str = "xy") -> None:
    """Only whole-number ticks on the named axes of ``ax`` (they count indices)."""
    from matplotlib.ticker import MaxNLocator

    for axis in which:
        getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))


@cache
def _explorer_class() -> type:
    """A ``VBox`` whose notebook output carries a static PNG beside the widget view.

    JupyterLab renders the widget view where the output is trusted (the cell was run in this
    session) and falls back to the safe PNG elsewhere. Built on first use: ipywidgets is
    imported lazily.
    """
    import ipywidgets as w

    class Explorer(w.VBox):
        def __init__(self, children: list[Any], preview: Any, name: str) -> None:
            super().__init__(children)
            buffer = io.BytesIO()
            # above the axes (y = 1 is the figure's top edge); bbox_inches="tight" keeps it
            preview.text(0.01, 1.0, f"{name} {PREVIEW_NOTE}", va="bottom", color="C3", size=12)
            preview.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
            self.preview_png = buffer.getvalue()
            self.name = name

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            bundle = super()._repr_mimebundle_(**kwargs) or {}
            bundle["image/png"] = self.preview_png
            bundle["text/plain"] = f"{self.name} {PREVIEW_NOTE}"
            return bundle

    return Explorer


def _explorer(children: list[Any], preview: Any, name: str) -> Any:
    """The explorer box; ``preview`` (a figure of the first state) is rendered and closed."""
    import matplotlib.pyplot as plt

    try:
        return _explorer_class()(children, preview, name)
    finally:
        plt.close(preview)


def stencil_figure(theta: Any, n: int, boundary: str) -> Any:
    """Spy plot of the ``n``-column convolution matrix of ``theta`` and its spectrum.

    For "zero" and "periodic" the eigenvalues of the n x n matrix are shown (for "periodic" also
    the FFT of the first column, which should coincide); "valid" is rectangular, so its singular
    values are shown instead. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from convlab.fourier import circulant_eigenvalues
    from convlab.plotting import plot_eigenvalues, spy

    theta = np.asarray(theta, dtype=float)
    K = conv_matrix(theta, n, boundary)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
    spy(K, ax=a1, title=f"{boundary}: K is {K.shape[0]}x{K.shape[1]}")
    _integer_ticks(a1)
    if boundary == "valid":
        sv = np.linalg.svd(K.toarray(), compute_uv=False)
        a2.plot(sv, "o")
        _integer_ticks(a2, "x")
        a2.set_xlabel("index")
        a2.set_title("singular values (K is rectangular)")
    else:
        sets = [np.linalg.eigvals(K.toarray())]
        labels = ["eig(full(K))"]
        if boundary == "periodic":
            sets.append(circulant_eigenvalues(theta, n))
            labels.append("fft(K(:,1))")
        plot_eigenvalues(*sets, labels=labels, ax=a2, title="eigenvalues")
    fig.tight_layout()
    return fig


def stencil_explorer(n: int = 12, stencil: tuple[float, ...] = (1.0, -2.0, 1.0)) -> Any:
    """Sliders for a 3- or 5-point stencil, a boundary dropdown and n; live :func:`stencil_figure`.

    Returns the widget (display it as the cell's last expression).
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

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
        with out:
            out.clear_output(wait=True)
            stencil_figure([s.value for s in sliders], size.value, boundary.value)
            plt.show()

    for control in (*sliders, boundary, size):
        control.observe(redraw, names="value")
    redraw()
    children = [w.HBox([boundary, size]), w.HBox(sliders[:3]), w.HBox(sliders[3:]), out]
    preview = stencil_figure(stencil, n, boundary.value)
    return _explorer(children, preview, "Stencil explorer")


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
    for i, x in enumerate(xs_out):
        ax.annotate(f"y{i}", (x, 1), xytext=(0, 7), textcoords="offset points", ha="center")
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
    _integer_ticks(bx)
    bx.set_title(f"pattern of A ({m}x{n}); A^T is the transposed conv", fontsize=9)
    bx.set_xlabel("input j")
    bx.set_ylabel("output i")
    fig.tight_layout()
    return fig


def conv_arithmetic_explorer(n: int = 8) -> Any:
    """Sliders for n, kernel size, stride, padding, dilation and a highlighted output.

    Shows :func:`dependency_figure` (with the output sizes of the convolution and of its
    transpose); parameter choices where the kernel does not fit are reported, not plotted.
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
        span = d.value * (k.value - 1) + 1  # the dilated kernel's extent
        fits = span <= size.value + 2 * p.value
        if fits:  # may lower hi.value, which redraws first; this call then draws the same
            hi.max = conv_output_size(size.value, k.value, s.value, p.value, d.value) - 1
        with out:
            out.clear_output(wait=True)
            if not fits:
                print(
                    f"no output: the dilated kernel spans d*(k-1)+1 = {span} samples, more than "
                    f"the padded input n + 2p = {size.value + 2 * p.value}"
                )
                return
            dependency_figure(size.value, k.value, s.value, p.value, d.value, hi.value)
            plt.show()

    for control in (size, k, s, p, d, hi):
        control.observe(redraw, names="value")
    redraw()
    children = [w.HBox([size, k, s]), w.HBox([p, d, hi]), out]
    preview = dependency_figure(n, k.value, s.value, p.value, d.value, hi.value)
    return _explorer(children, preview, "Convolution arithmetic explorer")
