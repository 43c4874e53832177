"""spy / eigenvalue plots and the stencil explorer widget: they draw what they claim."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from convlab.fourier import circulant_eigenvalues
from convlab.plotting import plot_eigenvalues, spy
from convlab.structured import conv_matrix


def test_spy_small_shows_values_and_counts_nonzeros():
    K = conv_matrix([1.0, -2.0, 3.0], 8, "periodic")
    ax = spy(K, title="K")
    image = ax.get_images()[0].get_array()
    assert image.shape == (8, 8)
    assert np.ma.count(image) == K.nnz  # zeros are masked (white)
    np.testing.assert_array_equal(image.filled(0), K.toarray())
    assert ax.get_xlabel() == "nz = 24" and ax.get_title() == "K"
    plt.close("all")


def test_spy_large_uses_markers():
    K = conv_matrix([1.0, 2.0, 1.0], 200, "zero")
    ax = spy(K)
    assert not ax.get_images() and ax.get_lines()
    assert ax.get_xlabel() == f"nz = {K.nnz}"
    plt.close("all")


def test_spy_rejects_non_matrix():
    with pytest.raises(ValueError, match="2-D"):
        spy(np.ones(3))


def test_plot_eigenvalues_plots_every_set():
    lam = circulant_eigenvalues([1.0, -2.0, 0.5], 16)
    ax = plot_eigenvalues(lam, np.conj(lam), labels=["a", "b"])
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 2 and all(len(o) == 16 for o in offsets)
    np.testing.assert_allclose(offsets[0][:, 0], lam.real)
    np.testing.assert_allclose(offsets[0][:, 1], lam.imag)
    plt.close("all")
    with pytest.raises(ValueError, match="2 labels for 1"):
        plot_eigenvalues(lam, labels=["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        plot_eigenvalues()


def test_stencil_explorer_redraws_for_every_boundary():
    from convlab.widgets import stencil_explorer

    plt.close("all")
    box = stencil_explorer(n=10)
    dropdown, size = box.children[0].children
    assert len(plt.get_fignums()) == 1  # drawn once on creation
    for k, boundary in enumerate(("zero", "valid", "periodic"), start=2):
        dropdown.value = boundary  # every change draws a new spy + spectrum figure
        assert len(plt.get_fignums()) == k, boundary
        ax_spy, ax_spec = plt.figure(plt.get_fignums()[-1]).axes
        assert boundary in ax_spy.get_title()
        spectrum = "singular values (K is rectangular)" if boundary == "valid" else "eigenvalues"
        assert ax_spec.get_title() == spectrum
        rows = 10 - 2 if boundary == "valid" else 10
        assert ax_spy.get_title().endswith(f"K is {rows}x10")
    size.value = 14
    assert plt.figure(plt.get_fignums()[-1]).axes[0].get_title().endswith("14x14")
    with pytest.raises(ValueError, match="3 or 5"):
        stencil_explorer(stencil=(1.0, 2.0))
    plt.close("all")


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


@pytest.mark.parametrize("name", ["stencil_explorer", "conv_arithmetic_explorer"])
def test_explorer_output_carries_a_static_picture_for_untrusted_notebooks(name):
    # JupyterLab renders a saved widget view only in a trusted output; an opened notebook is not
    # trusted, so it falls back to the safe image/png: a picture saying "run this cell"
    import convlab.widgets

    plt.close("all")
    box = getattr(convlab.widgets, name)()
    bundle = box._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    width, height = _png_size(bundle["image/png"])
    assert width > 400 and height > 200, (width, height)
    assert "run this cell to explore" in bundle["text/plain"]
    assert len(plt.get_fignums()) == 1, "the preview figure must be closed (only the live one)"
    plt.close("all")


def test_dependencies_of_the_lecture_stride_2_example():
    from convlab.widgets import dependencies

    D = dependencies(7, 3, stride=2)  # 7 samples -> 3 outputs, windows start at 0, 2, 4
    expected = np.zeros((3, 7), dtype=bool)
    for i in range(3):
        expected[i, 2 * i : 2 * i + 3] = True
    np.testing.assert_array_equal(D, expected)


def test_dependency_figure_ticks_are_whole_numbers():
    from convlab.widgets import dependency_figure

    fig = dependency_figure(5, 3, stride=2, padding=1, highlight=1)
    pattern = fig.axes[1]
    for ticks in (pattern.get_xticks(), pattern.get_yticks()):
        inside = ticks[(ticks >= -0.5) & (ticks <= 4.5)]
        assert len(inside) and np.all(inside == np.round(inside)), ticks
    plt.close("all")


def test_conv_arithmetic_explorer_tracks_the_last_output_and_names_its_sliders(capsys):
    from convlab.widgets import conv_arithmetic_explorer

    plt.close("all")
    box = conv_arithmetic_explorer(n=8)
    size = box.children[0].children[0]
    highlight = box.children[1].children[2]
    assert highlight.max == 2  # 8 samples, k=3, s=2 -> outputs y0, y1, y2
    highlight.value = 2
    size.value = 5  # 5 -> 2 outputs: the highlight moves down to the last one
    assert (highlight.max, highlight.value) == (1, 1)
    assert "5 -> 2" in plt.figure(plt.get_fignums()[-1]).axes[0].get_title()
    figures = len(plt.get_fignums())
    capsys.readouterr()
    size.value = 1  # k = 3 does not fit: a message in the sliders' names, no figure
    # (outside a kernel the Output widget does not capture prints: they reach stdout)
    message = capsys.readouterr().out
    assert "no output" in message and "n + 2p = 1" in message, message
    assert len(plt.get_fignums()) == figures, "nothing is drawn when the kernel does not fit"
    plt.close("all")


@pytest.mark.parametrize(
    ("notebook", "call"),
    [
        ("01_conv1d_structured_matrices", "stencil_explorer("),
        ("07_adjoints_transposed_conv", "conv_arithmetic_explorer("),
    ],
)
def test_committed_explorer_outputs_carry_the_picture(notebook, call):
    import nbformat
    from conftest import ROOT

    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and call in c.source]
    assert cells, f"no cell calls {call} in {notebook}"
    for cell in cells:
        data = [o.get("data", {}) for o in cell.outputs]
        assert any("image/png" in d for d in data), f"{notebook}: {call} has no picture output"
