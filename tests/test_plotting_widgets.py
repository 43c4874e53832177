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
