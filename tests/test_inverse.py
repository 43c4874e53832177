"""convlab.inverse: forward operators of inverse problems, their adjoints, classical inverses.

References are independent of the module: ``F.avg_pool2d`` / ``F.interpolate`` (super-
resolution), ``numpy.fft`` with its default normalisation (MRI), ``skimage.transform.radon`` /
``iradon`` (CT), and ``convlab.checks.adjoint_test`` for every adjoint (float64; each adjoint
test is paired with a deliberately wrong adjoint that the same test rejects).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import skimage.data
import skimage.transform
import torch
import torch.nn.functional as F

from convlab.checks import adjoint_test
from convlab.data import psnr
from convlab.inverse import (
    AveragePool,
    FourierSampling,
    Radon,
    circle_mask,
    fbp,
    radon_matrix,
    random_mask,
    sparse_view_fbp,
    super_resolution_input,
    upsample,
)
from convlab.operators import LinearMap

F64 = torch.float64


def _rand(*shape, seed=0, dtype=F64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _phantom(n):
    ph = skimage.transform.resize(skimage.data.shepp_logan_phantom(), (n, n))
    return ph * circle_mask(n).numpy()


# --------------------------------------------------------------------------------------------
# Super-resolution
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("r", "shape"), [(1, (2, 1, 5, 7)), (2, (3, 2, 8, 6)), (4, (1, 1, 16, 8))])
def test_average_pool_equals_avg_pool2d(r, shape):
    x = _rand(*shape)
    got = AveragePool(r)(x)
    assert got.shape == F.avg_pool2d(x, r, stride=r).shape
    torch.testing.assert_close(got, F.avg_pool2d(x, r, stride=r), rtol=1e-14, atol=1e-14)


def test_average_pool_batch_layouts():
    x = _rand(2, 3, 8, 12)
    A = AveragePool(2)
    torch.testing.assert_close(A(x[0, 0]), A(x)[0, 0])  # (H, W)
    torch.testing.assert_close(A(x[0]), A(x)[0])  # (N, H, W)
    assert A(x).dtype == F64 and A(x.float()).dtype == torch.float32
    assert A.output_shape((2, 3, 8, 12)) == (2, 3, 4, 6)


@pytest.mark.parametrize("r", [1, 2, 3, 4])
def test_average_pool_adjoint(r):
    A = AveragePool(r)
    res = adjoint_test(A.forward, A.adjoint, in_shape=(2, 2, 12, 24), dtype=F64)
    assert res.passed, res.table()
    if r > 1:  # the test can fail: forgetting the 1/r^2 (plain nearest upsampling)
        wrong = lambda y: A.adjoint(y) * r * r  # noqa: E731
        assert not adjoint_test(A.forward, wrong, in_shape=(2, 2, 12, 24), dtype=F64).passed


def test_average_pool_adjoint_is_scaled_nearest_upsampling_and_right_inverse():
    y = _rand(2, 1, 3, 5)
    A = AveragePool(3)
    nearest = F.interpolate(y, scale_factor=3, mode="nearest")
    torch.testing.assert_close(A.adjoint(y), nearest / 9)
    torch.testing.assert_close(A(A.adjoint(y)), y / 9)  # A A^T = I / r^2


def test_average_pool_bad_input():
    with pytest.raises(ValueError, match="divisible by r=3"):
        AveragePool(3)(torch.zeros(1, 1, 9, 10))
    with pytest.raises(ValueError, match="r must be >= 1"):
        AveragePool(0)
    with pytest.raises(TypeError, match="r must be an integer"):
        AveragePool(2.0)
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        AveragePool(2)(torch.zeros(4))
    with pytest.raises(TypeError, match="real"):
        AveragePool(2)(torch.zeros(2, 2, dtype=torch.complex128))


@pytest.mark.parametrize("mode", ["bicubic", "bilinear", "nearest"])
def test_upsample_equals_interpolate(mode):
    y = _rand(2, 1, 5, 6)
    kw = {} if mode == "nearest" else {"align_corners": False}
    ref = F.interpolate(y, scale_factor=3, mode=mode, **kw)
    torch.testing.assert_close(upsample(y, 3, mode), ref)
    torch.testing.assert_close(upsample(y[0, 0], 3, mode), ref[0, 0])  # (h, w) input


def test_upsample_bad_input():
    with pytest.raises(ValueError, match="mode must be one of"):
        upsample(torch.zeros(1, 1, 2, 2), 2, "cubic")
    with pytest.raises(TypeError, match="r must be an integer"):
        upsample(torch.zeros(1, 1, 2, 2), 1.5)


def test_super_resolution_input_is_the_composition_and_a_corruption():
    x = _rand(3, 1, 16, 16)
    got = super_resolution_input(x, 4, "bilinear")
    ref = F.interpolate(F.avg_pool2d(x, 4), scale_factor=4, mode="bilinear", align_corners=False)
    torch.testing.assert_close(got, ref)
    corrupt = lambda x, g: super_resolution_input(x, 2)  # noqa: E731  train_denoiser's signature
    assert corrupt(x, torch.Generator()).shape == x.shape
    # constant images are reproduced exactly; bicubic beats nearest on a smooth image
    torch.testing.assert_close(
        super_resolution_input(torch.full((1, 1, 8, 8), 0.3, dtype=F64), 2),
        torch.full((1, 1, 8, 8), 0.3, dtype=F64),
    )
    i = torch.arange(32, dtype=F64)
    smooth = (torch.sin(i / 5)[:, None] * torch.cos(i / 7)[None, :])[None, None] / 2 + 0.5
    err = {
        m: (super_resolution_input(smooth, 2, m) - smooth).abs().mean()
        for m in ("bicubic", "nearest")
    }
    assert err["bicubic"] < 0.5 * err["nearest"]


# --------------------------------------------------------------------------------------------
# MRI
# --------------------------------------------------------------------------------------------


def _mask(shape=(16, 12), seed=0, acc=3, cf=0.2):
    return random_mask(shape, acc, cf, generator=torch.Generator().manual_seed(seed))


def test_fourier_sampling_forward_equals_numpy_fft():
    mask = _mask()
    x = _rand(2, 16, 12)
    ref = mask.numpy() * np.fft.fft2(x.numpy()) / np.sqrt(16 * 12)  # numpy's default norm
    got = FourierSampling(mask)(x)
    assert got.is_complex() and got.shape == (2, 16, 12)
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-13)
    zf = np.real(np.fft.ifft2(mask.numpy() * ref) * np.sqrt(16 * 12))
    np.testing.assert_allclose(FourierSampling(mask).zero_filled(got).numpy(), zf, atol=1e-13)


def test_fourier_sampling_adjoint_real_inner():
    op = FourierSampling(_mask())
    A = op.as_linear_map()  # R^n -> C^n, inner="real": Re <A x, y> = <x, A^* y>
    assert A.inner == "real" and A.in_shape == (16, 12) and A.out_dtype == torch.complex128
    res = A.adjoint_test()
    assert res.passed, res.table()
    # the test can fail: fft2 instead of ifft2 (missing conjugation), or no mask in the adjoint
    no_conj = lambda y: torch.fft.fft2(op.mask * y, norm="ortho").real  # noqa: E731
    no_mask = lambda y: torch.fft.ifft2(y, norm="ortho").real  # noqa: E731
    for wrong in (no_conj, no_mask):
        B = LinearMap(
            op.forward,
            wrong,
            A.in_shape,
            A.out_shape,
            backend="torch",
            dtype=F64,
            out_dtype=torch.complex128,
            inner="real",
        )
        assert not B.adjoint_test().passed


def test_fourier_sampling_adjoint_complex_extension():
    op = FourierSampling(_mask(seed=1))
    A = op.as_linear_map(complex_input=True)  # C^n -> C^n, Hermitian: adjoint_complex
    assert A.inner == "hermitian" and A.dtype == torch.complex128
    res = A.adjoint_test()
    assert res.passed, res.table()
    # taking the real part is only right for real images: for complex ones it fails
    B = LinearMap(
        op.forward, op.adjoint, A.in_shape, A.out_shape, backend="torch", dtype=torch.complex128
    )
    assert not B.adjoint_test().passed
    y = op(_rand(16, 12))
    torch.testing.assert_close(op.adjoint(y), op.adjoint_complex(y).real)


def test_fourier_sampling_full_mask_is_identity_and_partial_is_not():
    x = _rand(2, 1, 8, 8)
    full = FourierSampling(torch.ones(8, 8, dtype=torch.bool))
    torch.testing.assert_close(full.zero_filled(full(x)), x, rtol=0, atol=1e-13)
    assert full.sampling_fraction == 1.0
    part = FourierSampling(_mask((8, 8), acc=4, cf=0.25))
    assert (part.zero_filled(part(x)) - x).abs().max() > 1e-3


def test_fourier_sampling_bad_input():
    with pytest.raises(TypeError, match="mask must be boolean"):
        FourierSampling(torch.ones(4, 4))
    with pytest.raises(TypeError, match="mask must be boolean"):
        FourierSampling(np.ones((4, 4)))
    with pytest.raises(ValueError, match="mask must be 2-D"):
        FourierSampling(torch.ones(4, dtype=torch.bool))
    A = FourierSampling(torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="x must have shape"):
        A(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="y must have shape"):
        A.adjoint(torch.zeros(5, 4, dtype=torch.complex128))


def test_random_mask_centre_columns_and_layout():
    H, W = 6, 32
    m = random_mask((H, W), 4, 0.125, generator=torch.Generator().manual_seed(3))
    assert m.dtype == torch.bool and m.shape == (H, W)
    assert bool((m == m[:1]).all())  # whole columns (phase-encoding lines)
    # round(32 * 0.125) = 4 low frequencies, fft2 layout: DC (0), +1, -1, -2 (fastMRI's block
    # of 4 in the centred layout covers offsets -2..+1 around DC = W // 2)
    assert m[0, [0, 1, W - 1, W - 2]].all()
    centred = torch.fft.fftshift(m[0])
    assert centred[W // 2 - 2 : W // 2 + 2].all()


def test_random_mask_acceleration_on_average_and_seeding():
    W = 200
    fractions = [
        random_mask((1, W), 5, 0.04, generator=torch.Generator().manual_seed(s)).double().mean()
        for s in range(200)
    ]
    # expected fraction exactly 1/5; the std of the mean over 200 masks is ~0.002
    assert abs(float(np.mean(fractions)) - 0.2) < 0.01
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    assert torch.equal(
        random_mask((4, W), 5, 0.04, generator=g(1)), random_mask((4, W), 5, 0.04, generator=g(1))
    )
    assert not torch.equal(
        random_mask((4, W), 5, 0.04, generator=g(1)), random_mask((4, W), 5, 0.04, generator=g(2))
    )
    full = random_mask((2, 16), 1, 0.5, generator=g(0))
    assert bool(full.all())  # acceleration 1: every column


def test_random_mask_bad_input():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="acceleration"):
        random_mask((8, 8), 0.5, 0.1, generator=g)
    with pytest.raises(ValueError, match="center_fraction must be <= 1 / acceleration"):
        random_mask((8, 8), 4, 0.5, generator=g)
    with pytest.raises(ValueError, match="center_fraction"):
        random_mask((8, 8), 4, 0.0, generator=g)
    with pytest.raises(TypeError, match=r"torch\.Generator"):
        random_mask((8, 8), 4, 0.1, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape must have 2 entries"):
        random_mask((8, 8, 8), 4, 0.1, generator=g)
    with pytest.raises(TypeError, match="integer"):
        random_mask((8.0, 8), 4, 0.1, generator=g)


# --------------------------------------------------------------------------------------------
# CT
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "theta"),
    [
        (32, np.linspace(0, 180, 30, endpoint=False)),
        (33, np.array([0.0, 17.0, 45.0, 90.0, 133.3, 200.0, -30.0])),  # odd size, any angles
        (64, np.arange(0.0, 180.0, 1.0)),
    ],
)
def test_radon_equals_skimage(n, theta):
    image = _phantom(n) + 0.3 * _rand(n, n, seed=n).numpy() * circle_mask(n).numpy()
    ref = skimage.transform.radon(image, theta, circle=True)
    got = Radon(theta, n)(torch.from_numpy(image))
    assert got.shape == ref.shape == (n, theta.size)
    # same discretisation (ray-driven, unit steps, bilinear) in independent code: equal to
    # rounding. (A pixel-driven projector would only agree to a few percent.)
    rel = np.linalg.norm(got.numpy() - ref) / np.linalg.norm(ref)
    assert rel < 1e-10


def test_radon_ignores_pixels_outside_the_circle_and_matrix_layout():
    n = 16
    R = Radon([0.0, 30.0, 60.0], n)
    outside = (~circle_mask(n)).to(F64)
    assert R(outside).abs().max() < 1e-12
    assert R.adjoint(_rand(n, 3))[~circle_mask(n)].abs().max() == 0
    x = _rand(n, n)
    flat = R.matrix @ x.numpy().reshape(-1)  # row-major layouts
    np.testing.assert_allclose(flat.reshape(n, 3), R(x).numpy(), atol=1e-13)
    assert R.matrix.shape == (n * 3, n * n) and R.matrix.format == "csr"
    assert (R.matrix.data > 0).all()  # interpolation weights: a non-negative matrix


def test_radon_adjoint_is_the_transpose():
    n, theta = 24, np.linspace(0, 180, 12, endpoint=False)
    R = Radon(theta, n)
    res = adjoint_test(R.forward, R.adjoint, in_shape=(2, 1, n, n), dtype=F64)
    assert res.passed, res.table()
    y = _rand(n, 12)
    np.testing.assert_allclose(
        R.adjoint(y).numpy().reshape(-1), R.matrix.T @ y.numpy().reshape(-1), atol=1e-12
    )
    # the test can fail: back-projection with the angles reversed is not the adjoint
    Rrev = Radon(theta[::-1], n)
    assert not adjoint_test(R.forward, Rrev.adjoint, in_shape=(n, n), dtype=F64).passed


def test_radon_shapes_dtypes_and_autograd():
    n = 16
    R = Radon(np.arange(0.0, 180.0, 20.0), n)
    x = _rand(2, 3, n, n)
    assert R(x).shape == (2, 3, n, 9) and R.adjoint(R(x)).shape == x.shape
    assert R(x.float()).dtype == torch.float32
    torch.testing.assert_close(R(x.float()), R(x).float(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(R(x[1, 2]), R(x)[1, 2])
    xg = x.clone().requires_grad_(True)
    y = _rand(2, 3, n, 9, seed=1)
    (R(xg) * y).sum().backward()
    torch.testing.assert_close(xg.grad, R.adjoint(y))  # the gradient is the back-projection
    assert R.output_shape((5, n, n)) == (5, n, 9)


def test_radon_matrix_build_is_fast():
    theta = np.arange(0.0, 180.0, 1.0)
    radon_matrix(theta[:2], 64)  # warm-up (imports, allocator)
    t0 = time.perf_counter()
    A = radon_matrix(theta, 64)
    elapsed = time.perf_counter() - t0
    assert A.shape == (64 * 180, 64 * 64)
    assert elapsed < 3.0, f"64x64, 180 angles took {elapsed:.2f} s (measured ~0.3 s)"


def test_radon_bad_input():
    with pytest.raises(ValueError, match="theta must be 1-D"):
        Radon(np.zeros((2, 2)), 8)
    with pytest.raises(ValueError, match="theta must not be empty"):
        Radon([], 8)
    with pytest.raises(ValueError, match="theta must be finite"):
        Radon([0.0, np.nan], 8)
    with pytest.raises(TypeError, match="theta must be numeric"):
        Radon(["0", "90"], 8)
    with pytest.raises(ValueError, match="size must be >= 1"):
        Radon([0.0], 0)
    R = Radon([0.0, 90.0], 8)
    with pytest.raises(ValueError, match="x must have shape"):
        R(torch.zeros(8, 9))
    with pytest.raises(ValueError, match="y must have shape"):
        R.adjoint(torch.zeros(8, 3))


def test_circle_mask_is_iradons_support():
    n = 21
    rec = skimage.transform.iradon(np.ones((n, 8)), np.arange(0.0, 180.0, 22.5), circle=True)
    np.testing.assert_array_equal(rec != 0, circle_mask(n).numpy())


def test_fbp_with_all_angles_recovers_the_phantom():
    n = 64
    x = torch.from_numpy(_phantom(n))[None, None]
    theta = np.arange(0.0, 180.0, 1.0)
    rec = fbp(Radon(theta, n)(x), theta, n)
    assert rec.shape == x.shape and rec.dtype == F64
    p = float(psnr(rec.clamp(0, 1), x)[0])
    # Measured 28.4 dB: the residual error is the discretised ramp filter and linear
    # interpolation at the phantom's sharp edges. Broken reconstructions score far lower:
    # unfiltered back-projection (rescaled) 16.5 dB, angles in radians 14.2 dB, zeros 13.3 dB.
    assert p > 25.0, p
    sparse = float(psnr(sparse_view_fbp(x, 8).clamp(0, 1), x)[0])
    assert sparse < p - 5  # measured 18.9 dB: the streaks a U-Net learns to remove


def test_fbp_matches_iradon_and_batches():
    n, theta = 16, np.linspace(0, 180, 10, endpoint=False)
    sino = _rand(2, 1, n, 10)
    got = fbp(sino, theta, n)
    ref = skimage.transform.iradon(sino[1, 0].numpy(), theta, output_size=n, circle=True)
    np.testing.assert_allclose(got[1, 0].numpy(), ref, atol=1e-12)
    assert fbp(sino.float(), theta, n).dtype == torch.float32
    with pytest.raises(ValueError, match="sinogram must have shape"):
        fbp(sino, theta[:5], n)


def test_sparse_view_fbp():
    n = 32
    x = torch.from_numpy(_phantom(n))[None, None].float()
    theta = np.linspace(0.0, 180.0, 12, endpoint=False)
    ref = skimage.transform.iradon(
        skimage.transform.radon(x[0, 0].double().numpy(), theta, circle=True),
        theta,
        output_size=n,
        circle=True,
    )
    got = sparse_view_fbp(x, 12)
    assert got.shape == x.shape and got.dtype == torch.float32
    np.testing.assert_allclose(got[0, 0].numpy(), ref, atol=1e-5)
    with pytest.raises(ValueError, match="square"):
        sparse_view_fbp(torch.zeros(1, 1, 8, 16), 4)
    with pytest.raises(TypeError, match="n_angles must be an integer"):
        sparse_view_fbp(x, 4.0)
