"""The shared input validators: what they accept, and the error each bad input gets."""

import numpy as np
import pytest
import torch

from convlab._validate import as_bool_mask, as_generator, as_real_number


@pytest.mark.parametrize(
    "value", [0.5, 2, np.float32(0.5), np.int64(3), np.array(0.5), torch.tensor(0.5)]
)
def test_real_number_accepts_scalars(value):
    v = as_real_number(value, "x")
    assert isinstance(v, float) and v == float(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, [0.5], np.array([0.5]), 1j])
def test_real_number_rejects_non_reals_with_type_error(value):
    with pytest.raises(TypeError, match="x must be a real number"):
        as_real_number(value, "x")


@pytest.mark.parametrize(
    ("value", "kw", "message"),
    [
        (float("nan"), {}, ">= 0"),
        (float("inf"), {}, ">= 0"),
        (-1e-12, {}, ">= 0"),
        (0.0, {"strict": True}, "> 0"),
        (0.5, {"minimum": 1.0}, ">= 1"),
    ],
)
def test_real_number_bounds(value, kw, message):
    with pytest.raises(ValueError, match=f"x must be finite and {message}"):
        as_real_number(value, "x", **kw)
    assert as_real_number(0.0, "x") == 0.0  # the bound itself, when not strict


def test_generator_is_required():
    g = torch.Generator().manual_seed(0)
    assert as_generator(g) is g
    for bad in (0, np.random.default_rng(0), None):
        with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
            as_generator(bad)


def test_bool_mask():
    m = as_bool_mask(np.array([[True, False]]))
    assert m.dtype == torch.bool and m.tolist() == [[True, False]]
    assert as_bool_mask(m, shape=(1, 2)) is m
    for bad in (np.array([[1.0, 0.0]]), torch.ones(2, 2), [[0, 1]]):
        with pytest.raises(TypeError, match="mask must be boolean"):
            as_bool_mask(bad)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 2\)"):
        as_bool_mask(m, shape=(2, 2))
