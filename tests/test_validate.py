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


# --------------------------------------------------------------------------------------------
# shapes, arrays, devices
# --------------------------------------------------------------------------------------------


def test_shape_accepts_ints_and_refuses_the_rest():
    from convlab._validate import as_shape

    assert as_shape(3, "s") == (3,) and as_shape(3, "s", ndim=2) == (3, 3)
    assert as_shape((np.int64(2), torch.tensor(4)), "s") == (2, 4)
    assert as_shape((0, 2), "s", minimum=0) == (0, 2)
    for bad in (3.5, (3.5,), (4.0,), True, (True, 2), "ab", None, [[1, 2]]):
        with pytest.raises(TypeError, match="s must be an integer or a tuple of integers"):
            as_shape(bad, "s")
    with pytest.raises(ValueError, match="s must have entries >= 1"):
        as_shape((2, 0), "s")
    with pytest.raises(ValueError, match="s must have 2 entries"):
        as_shape((1, 2, 3), "s", ndim=2)


def test_as_numpy_detaches_tensors_and_refuses_non_numbers():
    from convlab._validate import as_numpy, require_finite

    t = torch.ones(3, requires_grad=True)
    assert isinstance(as_numpy(t, "x"), np.ndarray)
    with pytest.raises(TypeError, match="x must be numeric"):
        as_numpy(["a"], "x")
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        require_finite(torch.tensor([1.0, float("nan")]), "x")
    require_finite(np.ones(2), "x")


def test_bool_mask_refuses_none_and_objects_clearly():
    for bad in (None, [None]):
        with pytest.raises(TypeError, match="mask must be boolean"):
            as_bool_mask(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_clear_value_error():
    from convlab._validate import as_device

    assert as_device(None) == torch.device("cpu") == as_device("cpu")
    with pytest.raises(ValueError, match="device='cuda' is not available"):
        as_device("cuda")
    with pytest.raises(ValueError, match="device must be a torch device"):
        as_device("gpu0")


# --------------------------------------------------------------------------------------------
# the one cost estimate: refuse up front, limits adjustable
# --------------------------------------------------------------------------------------------


def test_check_cost_refuses_with_size_limit_and_alternative():
    from convlab._validate import CostLimitError, check_cost

    check_cost("small", nbytes=1e3, ops=1e3, alternative="-")
    with pytest.raises(CostLimitError, match=r"would need 7\.28 TiB \(limit 4 GiB\); use X"):
        check_cost("a matrix", nbytes=8e12, alternative="use X")
    with pytest.raises(MemoryError, match=r"about 1e\+12 operations \(limit 1e\+11\)"):
        check_cost("a solve", ops=1e12, alternative="use Y")
    assert issubclass(CostLimitError, ValueError)


def test_cost_limits_from_setting_then_environment(monkeypatch):
    from convlab._validate import (
        DEFAULT_MAX_BYTES,
        CostLimitError,
        check_cost,
        cost_limits,
        set_cost_limits,
    )

    assert cost_limits()[0] == DEFAULT_MAX_BYTES
    monkeypatch.setenv("CONVLAB_MAX_BYTES", "1000")
    with pytest.raises(CostLimitError, match="CONVLAB_MAX_BYTES"):
        check_cost("x", nbytes=2000, alternative="-")
    previous = set_cost_limits(max_bytes=float("inf"))
    try:
        check_cost("x", nbytes=8e15, alternative="-")  # the explicit setting wins
    finally:
        set_cost_limits(max_bytes=previous[0], max_ops=previous[1])
    # restored exactly: the environment variable is in force again (a leftover session setting
    # would make later tests that set CONVLAB_MAX_BYTES pass or fail by test order)
    assert previous == (None, None) and cost_limits()[0] == 1000
    with pytest.raises(ValueError, match="max_bytes"):
        set_cost_limits(max_bytes=-1)
    assert cost_limits()[0] == 1000, "a refused setting must leave the limit unchanged"


def test_builders_refuse_before_allocating():
    import time

    import scipy.sparse as sp

    from convlab import inverse, plotting, structured, toeplitz
    from convlab._validate import CostLimitError

    t0 = time.perf_counter()
    for build in (
        lambda: inverse.radon_matrix(np.arange(180.0), 4096),  # ~150 GB
        lambda: toeplitz.full_conv_matrix(torch.zeros(100_000)),  # ~160 GB
        lambda: toeplitz.doubly_blocked_toeplitz(torch.zeros(200, 200)),  # ~51 GB
        lambda: structured.conv_matrix([1.0, 2.0], 10**12),
        lambda: plotting.spy(sp.eye_array(10**6), values=True),  # 7.3 TiB dense
    ):
        with pytest.raises(CostLimitError, match="CONVLAB_MAX_BYTES"):
            build()
    assert time.perf_counter() - t0 < 2.0
