"""Periodic convolution layers by FFT: the four actions ``K Y``, ``K^T Y``, ``J v``, ``J^T W``.

The Python shape of the course's MATLAB ``conv1D.m`` (``[KYmv, KtYmv, Jmv, Jtmv] =
conv1D(nImg, theta, Y)``): one small object per stencil holds the eigenvalues
``lam = fft(K(theta) u_1)`` and, when examples ``Y`` are given, their FFT, and offers

=====================  =================================  =====================================
method                 maths (one example ``y``)          FFT formula (``F`` = fft, unscaled)
=====================  =================================  =====================================
``K(Y)``               ``K(theta) y``                     ``real(ifft(lam * fft(y)))``
``KT(Y)``              ``K(theta)^T y``                   ``real(ifft(conj(lam) * fft(y)))``
``J(v)``               ``J_theta(K(theta) y) v``          ``real(ifft(fft(Q v) * fft(y)))``
``JT(W)``              ``J_theta(K(theta) y)^T w``        ``Q^T real(ifft(conj(fft(y)) * fft(w)))``
=====================  =================================  =====================================

As operators (:class:`~convlab.operators.LinearMap`, with ``@``, ``.T``, ``adjoint_test()``,
``to_dense()``): ``op.as_linear_map()`` is ``Y -> K(theta) Y`` with adjoint ``KT``, and
``op.jacobian_map()`` is ``v -> J v`` with adjoint ``JT``.

With many examples ``J^T W`` **sums over the examples** (``sum(..., axis=0)`` in Fourier space,
one inverse FFT, no Python loop); ``J(v)`` and ``K(Y)`` act on every example at once.
``of="KT"`` gives the Jacobian of ``K(theta)^T y`` instead, the lecture's layer ``Y K(theta)``
(derivation "Derivatives of 1D Convolution"):
``J v = real(ifft(conj(fft(Q v)) * fft(y)))``, ``J^T w = Q^T real(ifft(conj(fft(w)) * fft(y)))``.

Conventions
-----------
* **Convolution**, not correlation, centred at ``L // 2``: ``K[i, i - p + L//2] = theta[p]``
  (:mod:`convlab.structured`), periodic boundary. ``torch.nn.functional.conv1d/conv2d`` are
  correlations: they agree with the flipped stencil on circularly padded input.
* **Examples in rows / leading axis**: ``Y`` is ``(n_examples, n)`` in 1D, ``(n_examples, n1,
  n2)`` in 2D and ``(n_examples, c_in, n1, n2)`` with channels. The lecture writes a layer as
  ``Y K(theta)`` with ``Y`` ``n_examples x n``: that is ``KT(Y)`` here, since
  ``(Y K)^T = K^T Y^T``; ``K(Y)`` is ``Y @ K.T``.
* FFTs: ``numpy.fft`` with ``norm="backward"`` (MATLAB's ``fft``/``ifft``) over the trailing
  spatial axes (``fftn`` over the last 1 or 2 axes; ``fft2`` in 2D).
* ``matrix()`` vectorises 2D images **column-major** (MATLAB ``Y(:)``, the lecture's
  ``y11, y21, y31, y12, ...``): the 9x9 BCCB of the lecture's 3x3 example. Pass
  ``order="C"`` for numpy's row-major ``ravel()`` (the BCCB with the roles of the two axes
  swapped).
* Inputs must be real (float32/float64); results are real in the working precision of numpy's
  FFT (float64; float32 inputs come back as float32).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> theta, Y = rng.standard_normal(3), rng.standard_normal((10, 16))
>>> op = Conv1D(theta, 16, Y)
>>> K = op.matrix().toarray()
>>> bool(np.allclose(op.K(Y), Y @ K.T) and np.allclose(op.KT(Y), Y @ K))
True
>>> v, W = rng.standard_normal(3), rng.standard_normal((10, 16))
>>> bool(np.isclose(np.sum(W * op.J(v)), v @ op.JT(W)))  # <W, J v> = <J^T W, v>
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from convlab._validate import as_choice, as_size
from convlab.operators import LinearMap

__all__ = ["Conv1D", "Conv2D", "MultiChannelConv2D"]

FFT_NORM = "backward"
_OF = ("K", "KT")


def _real_float(x: Any, name: str) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    if x.dtype != np.float32:
        x = x.astype(np.float64, copy=False)
    return x


class _PeriodicConvFFT:
    """Engine: ``c_out x c_in`` blocks of d-dimensional periodic convolutions (d = 1 or 2).

    Internal layout: stencils ``(c_out, c_in, *L)``, signals ``(b, c, *n)``; FFTs over the last
    d axes. Eigenvalues ``lam[o, i] = fftn(first column of K^{oi})``.
    """

    def __init__(self, theta: np.ndarray, n: tuple[int, ...], Y: np.ndarray | None):
        self.d = len(n)
        self.n = n
        self.L = theta.shape[2:]
        self.c_out, self.c_in = theta.shape[:2]
        self.axes = tuple(range(-self.d, 0))
        for Lk, nk in zip(self.L, n):
            if Lk > nk:
                raise ValueError(
                    f"stencil size {self.L} exceeds the periodic signal size {n}: "
                    "the stencil would wrap around more than once"
                )
        self.theta = theta
        self.lam = self._eig(theta)
        self.Y = Y
        self.Yhat = None if Y is None else np.fft.fftn(Y, axes=self.axes, norm=FFT_NORM)

    # first column K u_1 = Q theta: zero-pad, then circshift the centre L//2 to index 0
    def first_column(self, theta: np.ndarray) -> np.ndarray:
        col = np.zeros(theta.shape[:2] + self.n, dtype=theta.dtype)
        col[(..., *(slice(0, Lk) for Lk in self.L))] = theta
        return np.roll(col, tuple(-(Lk // 2) for Lk in self.L), axis=self.axes)

    # Q^T g: the adjoint of first_column (roll back, crop)
    def first_column_T(self, g: np.ndarray) -> np.ndarray:
        g = np.roll(g, tuple(Lk // 2 for Lk in self.L), axis=self.axes)
        return g[(..., *(slice(0, Lk) for Lk in self.L))]

    def _eig(self, theta: np.ndarray) -> np.ndarray:
        return np.fft.fftn(self.first_column(theta), axes=self.axes, norm=FFT_NORM)

    def _ifft(self, X: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return np.fft.ifftn(X, axes=self.axes, norm=FFT_NORM).real.astype(dtype, copy=False)

    def apply(self, X: np.ndarray, transpose: bool) -> np.ndarray:
        Xh = np.fft.fftn(X, axes=self.axes, norm=FFT_NORM)
        if transpose:  # (K^T x)_i = sum_o K^{oi T} x_o: conj(lam), sum over output channels
            Z = np.einsum("oi...,bo...->bi...", np.conj(self.lam), Xh)
        else:  # (K x)_o = sum_i K^{oi} x_i
            Z = np.einsum("oi...,bi...->bo...", self.lam, Xh)
        return self._ifft(Z, np.result_type(X.dtype, self.theta.dtype))

    def _need_Y(self) -> np.ndarray:
        if self.Yhat is None:
            raise ValueError("the Jacobian needs the examples: pass Y when creating the operator")
        return self.Yhat

    def jvp(self, V: np.ndarray, of: str) -> np.ndarray:
        Yh = self._need_Y()
        lamV = self._eig(V)  # fft(Q v): eigenvalues are linear in theta
        if of == "K":  # d/dtheta [K(theta) y] v = K(v) y
            Z = np.einsum("oi...,bi...->bo...", lamV, Yh)
        else:  # d/dtheta [K(theta)^T y] v = K(v)^T y
            Z = np.einsum("oi...,bo...->bi...", np.conj(lamV), Yh)
        return self._ifft(Z, np.result_type(self.Y.dtype, V.dtype))

    def vjp(self, W: np.ndarray, of: str) -> np.ndarray:
        Yh = self._need_Y()
        Wh = np.fft.fftn(W, axes=self.axes, norm=FFT_NORM)
        # sum over examples b in Fourier space (the lecture's "(F* Y^T) .* (F W^T) e_n"):
        if of == "K":  # <W, K(v) Y> = <v, Q^T sum_b corr(y_b, w_b)>
            G = np.einsum("bi...,bo...->oi...", np.conj(Yh), Wh)
        else:  # <W, K(v)^T Y> = <K(v) W, Y>: the roles of W and Y swap
            G = np.einsum("bi...,bo...->oi...", np.conj(Wh), Yh)
        g = self._ifft(G, np.result_type(self.Y.dtype, W.dtype))
        return self.first_column_T(g)


class _ConvBase:
    _engine: _PeriodicConvFFT

    def _signals(self, Y: Any, name: str, channels: int) -> tuple[np.ndarray, bool]:
        raise NotImplementedError

    def _out(self, Z: np.ndarray, single: bool) -> np.ndarray:
        raise NotImplementedError

    def _stencil_in(self, v: Any, name: str) -> np.ndarray:
        raise NotImplementedError

    def _stencil_out(self, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def K(self, Y: Any) -> np.ndarray:
        """``K(theta) y`` for every example (MATLAB ``KYmv``)."""
        X, single = self._signals(Y, "Y", self._engine.c_in)
        return self._out(self._engine.apply(X, transpose=False), single)

    def KT(self, Y: Any) -> np.ndarray:
        """``K(theta)^T y`` for every example (MATLAB ``KtYmv``); the lecture's ``Y K(theta)``."""
        X, single = self._signals(Y, "Y", self._engine.c_out)
        return self._out(self._engine.apply(X, transpose=True), single)

    def J(self, v: Any, *, of: str = "K") -> np.ndarray:
        """``J_theta(K(theta) Y) v`` (``of="KT"``: of ``K(theta)^T Y``), shaped like the output."""
        of = as_choice(of, "of", _OF)
        Z = self._engine.jvp(self._stencil_in(v, "v"), of)
        return self._out(Z, self._single)

    def JT(self, W: Any, *, of: str = "K") -> np.ndarray:
        """``J_theta(...)^T W``: a stencil-shaped gradient, summed over the examples."""
        of = as_choice(of, "of", _OF)
        c = self._engine.c_out if of == "K" else self._engine.c_in
        X, _ = self._signals(W, "W", c)
        Y = self._engine.Y
        if Y is not None and X.shape[0] != Y.shape[0]:
            raise ValueError(
                f"W must have one row per example of Y ({self._engine.Y.shape[0]}), "
                f"got {X.shape[0]}"
            )
        return self._stencil_out(self._engine.vjp(X, of))

    def _example_shape(self, channels: int) -> tuple[int, ...]:
        raise NotImplementedError

    def as_linear_map(self, batch: int | None = None) -> LinearMap:
        """``Y -> K(theta) Y`` as a :class:`~convlab.operators.LinearMap` (adjoint: ``KT``).

        On one example (``batch=None``: shape ``(n,)``, ``(n1, n2)`` or ``(c_in, n1, n2)``) or on
        ``batch`` examples at once (a leading axis). The matrix is :meth:`matrix` (row-major
        for 2D; ``matrix`` defaults to column-major, see its docstring).
        """
        e = self._engine
        lead = () if batch is None else (as_size(batch, "batch"),)
        if batch is None and isinstance(self, MultiChannelConv2D):  # K takes (b, c, n1, n2)
            fwd, adj = (lambda x: self.K(x[None])[0]), (lambda y: self.KT(y[None])[0])
        else:
            fwd, adj = self.K, self.KT
        return LinearMap(
            fwd,
            adj,
            lead + self._example_shape(e.c_in),
            lead + self._example_shape(e.c_out),
            dtype=self.theta.dtype,
            name=f"{type(self).__name__}.K",
        )

    def jacobian_map(self, *, of: str = "K") -> LinearMap:
        """``v -> J v`` (adjoint ``J^T``) as a LinearMap: stencil in, outputs for all of ``Y``.

        The Jacobian of ``K(theta) Y`` (``of="KT"``: of ``K(theta)^T Y``) with respect to
        ``theta``; needs the examples ``Y`` given at construction.
        """
        of = as_choice(of, "of", _OF)
        Y = self._engine._need_Y()
        out = self.J(np.zeros_like(self.theta), of=of)
        return LinearMap(
            lambda v: self.J(v, of=of),
            lambda W: self.JT(W, of=of),
            self.theta.shape,
            out.shape,
            dtype=self.theta.dtype,
            out_dtype=np.result_type(self.theta.dtype, Y.real.dtype),
            name=f"{type(self).__name__}.J" + ("" if of == "K" else " (of KT)"),
        )

    def eigenvalues(self) -> np.ndarray:
        """``lam = fftn(K u_1)`` per block (FFT order, unsorted; 2D: ``fft2`` layout)."""
        return self._stencil_lam(self._engine.lam)

    def _stencil_lam(self, lam: np.ndarray) -> np.ndarray:
        return lam


class _SingleStencil(_ConvBase):
    """One stencil (one input and one output channel): the engine's 1 x 1 block, unwrapped."""

    theta: np.ndarray

    def _stencil_in(self, v: Any, name: str) -> np.ndarray:
        v = _real_float(v, name)
        if v.shape != self.theta.shape:
            raise ValueError(
                f"{name} must have the stencil's shape {self.theta.shape}, got {v.shape}"
            )
        return v[None, None]

    def _stencil_out(self, g: np.ndarray) -> np.ndarray:
        return g[0, 0]

    def _stencil_lam(self, lam: np.ndarray) -> np.ndarray:
        return lam[0, 0]


class Conv1D(_SingleStencil):
    """1D periodic convolution with an L-point stencil on signals of length n (``conv1D.m``).

    Parameters
    ----------
    theta : (L,) real stencil (convolution, centre ``L // 2``).
    n : signal length (``L <= n``).
    Y : optional ``(n_examples, n)`` examples (or one ``(n,)`` signal) for the Jacobians.

    See the module docstring for the four actions and conventions.
    """

    def __init__(self, theta: Any, n: int, Y: Any = None):
        theta = _real_float(theta, "theta")
        if theta.ndim != 1 or theta.size == 0:
            raise ValueError(f"theta must be a non-empty 1-D stencil, got shape {theta.shape}")
        self.n = as_size(n, "n")
        self.theta = theta
        self._single = False
        if Y is not None:
            Yi, self._single = self._signals(Y, "Y", 1)
        self._engine = _PeriodicConvFFT(theta[None, None], (self.n,), None if Y is None else Yi)

    def _signals(self, Y, name, channels):
        Y = _real_float(Y, name)
        single = Y.ndim == 1
        if single:
            Y = Y[None]
        if Y.ndim != 2 or Y.shape[1] != self.n:
            raise ValueError(
                f"{name} must have shape (n_examples, {self.n}) or ({self.n},), got {Y.shape}"
            )
        return Y[:, None, :], single

    def _out(self, Z, single):
        Z = Z[:, 0, :]
        return Z[0] if single else Z

    def _example_shape(self, channels):
        return (self.n,)

    def matrix(self) -> sp.csr_array:
        """The n x n circulant ``K(theta)`` (sparse), from :mod:`convlab.structured`.

        See Also
        --------
        convlab.structured.conv_matrix
            the builder called here; also 'zero' and 'valid' boundaries.
        convlab.parametric.periodic_conv1d
            the same matrix as ``mat(Q theta)``.
        convlab.fourier.circulant_matvec
            its action by FFT along any axis.
        """
        from convlab.structured import conv_matrix

        return conv_matrix(self.theta, self.n, "periodic")


class Conv2D(_SingleStencil):
    """2D periodic convolution (BCCB) with an L1 x L2 stencil on n1 x n2 images.

    Parameters
    ----------
    theta : (L1, L2) real stencil (convolution, centre ``(L1//2, L2//2)``).
    shape : image shape (n1, n2).
    Y : optional ``(n_examples, n1, n2)`` images (or one ``(n1, n2)`` image).

    ``eigenvalues()`` is ``fft2`` of the circshift-centred stencil, an n1 x n2 array.
    """

    def __init__(self, theta: Any, shape: Sequence[int], Y: Any = None):
        theta = _real_float(theta, "theta")
        if theta.ndim != 2 or theta.size == 0:
            raise ValueError(f"theta must be a non-empty 2-D stencil, got shape {theta.shape}")
        self.shape = _image_shape(shape)
        self.theta = theta
        self._single = False
        if Y is not None:
            Yi, self._single = self._signals(Y, "Y", 1)
        self._engine = _PeriodicConvFFT(theta[None, None], self.shape, None if Y is None else Yi)

    def _signals(self, Y, name, channels):
        Y = _real_float(Y, name)
        single = Y.ndim == 2
        if single:
            Y = Y[None]
        if Y.ndim != 3 or Y.shape[1:] != self.shape:
            raise ValueError(
                f"{name} must have shape (n_examples, {self.shape[0]}, {self.shape[1]}) or "
                f"{self.shape}, got {Y.shape}"
            )
        return Y[:, None], single

    def _out(self, Z, single):
        Z = Z[:, 0]
        return Z[0] if single else Z

    def _example_shape(self, channels):
        return self.shape

    def matrix(self, order: str = "F") -> sp.csr_array:
        """The N x N BCCB ``K(theta)``, N = n1*n2, for images vectorised in ``order``.

        ``order="F"`` (default): column-major, MATLAB ``Y(:)``; ``"C"``: numpy ``Y.ravel()``.

        See Also
        --------
        convlab.parametric.periodic_conv2d
            the same matrix (``order='F'``) as ``mat(Q theta)``, theta column-major.
        convlab.transposed.conv_layer_matrix
            correlation with zero padding, row-major: flip the stencil and pad
            circularly (L-1-L//2 before, L//2 after) to get ``matrix(order='C')``.
        convlab.matlab.convmtx2
            full (not periodic) convolution, column-major.
        convlab.representations.filter_bank_operator
            a stack of these (row-major), applied by FFT.
        """
        return _bccb(self.theta, self.shape, order)


class MultiChannelConv2D(_ConvBase):
    """``c_out x c_in`` blocks of 2D periodic convolutions (the lecture's "width" of a CNN).

    ``z_o = sum_i K^{oi}(theta^{oi}) y_i``: the lecture's 4x3 block operator for
    ``c_out = 4``, ``c_in = 3`` (RGB in, 4 channels out).

    Parameters
    ----------
    theta : (c_out, c_in, L1, L2) real stencils.
    shape : image shape (n1, n2).
    Y : optional ``(n_examples, c_in, n1, n2)`` images.

    ``K(Y)`` maps ``(b, c_in, n1, n2) -> (b, c_out, n1, n2)``; ``KT`` the other way;
    ``JT(W)`` returns a ``(c_out, c_in, L1, L2)`` gradient summed over the examples.
    """

    def __init__(self, theta: Any, shape: Sequence[int], Y: Any = None):
        theta = _real_float(theta, "theta")
        if theta.ndim != 4 or theta.size == 0:
            raise ValueError(
                f"theta must have shape (c_out, c_in, L1, L2), got shape {theta.shape}"
            )
        self.shape = _image_shape(shape)
        self.theta = theta
        self._single = False
        self._engine = _PeriodicConvFFT(theta, self.shape, None)
        if Y is not None:
            Yi, _ = self._signals(Y, "Y", theta.shape[1])
            self._engine = _PeriodicConvFFT(theta, self.shape, Yi)

    def _signals(self, Y, name, channels):
        Y = _real_float(Y, name)
        if Y.ndim != 4 or Y.shape[1] != channels or Y.shape[2:] != self.shape:
            raise ValueError(
                f"{name} must have shape (n_examples, {channels}, {self.shape[0]}, "
                f"{self.shape[1]}), got {Y.shape}"
            )
        return Y, False

    def _out(self, Z, single):
        return Z

    def _example_shape(self, channels):
        return (channels, *self.shape)

    def _stencil_in(self, v, name):
        v = _real_float(v, name)
        if v.shape != self.theta.shape:
            raise ValueError(
                f"{name} must have the stencils' shape {self.theta.shape}, got {v.shape}"
            )
        return v

    def _stencil_out(self, g):
        return g

    def J(self, v: Any, *, of: str = "K") -> np.ndarray:
        """``J_theta(K(theta) Y) v``, shape ``(b, c_out, n1, n2)`` (only ``of="K"``)."""
        _only_K(of)
        return super().J(v)

    def JT(self, W: Any, *, of: str = "K") -> np.ndarray:
        """``J_theta(K(theta) Y)^T W``: ``(c_out, c_in, L1, L2)``, summed over the examples."""
        _only_K(of)
        return super().JT(W)

    def matrix(self, order: str = "F") -> sp.csr_array:
        """The block matrix ``[K^{oi}]`` (c_out*N x c_in*N): channel blocks, images in ``order``.

        See Also
        --------
        convlab.conv.Conv2D.matrix
            one block.
        convlab.transposed.conv_layer_matrix
            channels too, but correlation, zero padding and row-major only.
        """
        c_out, c_in = self.theta.shape[:2]
        return sp.csr_array(
            sp.block_array(
                [
                    [_bccb(self.theta[o, i], self.shape, order) for i in range(c_in)]
                    for o in range(c_out)
                ]
            )
        )


def _only_K(of: str) -> None:
    if of != "K":
        raise ValueError(
            f"MultiChannelConv2D differentiates K(theta) Y only (of='K'), got of={of!r}: "
            "for K(theta)^T Y build the operator of the transposed layer"
        )


def _image_shape(shape: Any) -> tuple[int, int]:
    try:
        items = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a pair (n1, n2), got {shape!r}") from None
    if len(items) != 2:
        raise ValueError(f"shape must be a pair (n1, n2), got {shape!r}")
    return tuple(as_size(s, "shape") for s in items)  # type: ignore[return-value]


def _bccb(theta: np.ndarray, shape: tuple[int, int], order: str) -> sp.csr_array:
    """Sparse BCCB by index arithmetic (independent of the FFT path)."""
    order = as_choice(order, "order", ("F", "C"))
    (L1, L2), (n1, n2) = theta.shape, shape
    if L1 > n1 or L2 > n2:
        raise ValueError(f"stencil {theta.shape} larger than the periodic image {shape}")
    a, b, p, q = np.meshgrid(
        np.arange(n1), np.arange(n2), np.arange(L1), np.arange(L2), indexing="ij"
    )
    # z[a, b] += theta[p, q] * y[(a - p + L1//2) mod n1, (b - q + L2//2) mod n2]
    ra, rb = (a - p + L1 // 2) % n1, (b - q + L2 // 2) % n2
    if order == "F":
        rows, cols = a + n1 * b, ra + n1 * rb
    else:
        rows, cols = a * n2 + b, ra * n2 + rb
    N = n1 * n2
    return sp.csr_array((theta[p, q].ravel(), (rows.ravel(), cols.ravel())), shape=(N, N))


def _demo() -> None:  # pragma: no cover - run by `python -m convlab.conv`
    """conv1D.m's self-demo: the four actions against the dense matrix, then the checks."""
    from convlab.checks import adjoint_test, jacobian_transpose_test, taylor_test

    rng = np.random.default_rng(0)
    nf, n_ex = 16, 10
    theta = rng.standard_normal(3)
    Y = rng.standard_normal((n_ex, nf))
    op = Conv1D(theta, nf, Y)
    K = op.matrix().toarray()
    print("Conv1D: stencil of 3, n = 16, 10 examples in the rows of Y (conv1D.m self-demo)")
    print(f"  error for K*Y:        {np.linalg.norm(op.K(Y) - Y @ K.T):.2e}")
    print(f"  error for K'*Y:       {np.linalg.norm(op.KT(Y) - Y @ K):.2e}")
    dth = rng.standard_normal(3)
    lin = np.linalg.norm(Conv1D(theta + dth, nf).K(Y) - (op.K(Y) + op.J(dth)))
    print(f"  error for J*v:        {lin:.2e}  (K is linear in theta: exact)")
    jt = jacobian_transpose_test(op.J, op.JT, in_shape=(3,), out_shape=Y.shape)
    print(f"  transpose test of J:  {jt.error:.2e}  (tol {jt.tol:.1e}) passed={jt.passed}")
    at = adjoint_test(op.K, op.KT, in_shape=Y.shape)
    print(f"  adjoint test of K:    {at.error:.2e}  (tol {at.tol:.1e}) passed={at.passed}")

    def loss(t):
        return 0.5 * np.sum(Conv1D(t, nf).K(Y) ** 2)

    def dloss(t, v):
        return np.sum(Conv1D(t, nf).K(Y) * Conv1D(t, nf, Y).J(v))

    tt = taylor_test(loss, theta, jvp=dloss)
    print("  Taylor test of 0.5||K(theta) Y||^2:", tt.summary())
    theta2 = rng.standard_normal((3, 3))
    op2 = Conv2D(theta2, (8, 8), rng.standard_normal((4, 8, 8)))
    jt2 = jacobian_transpose_test(op2.J, op2.JT, in_shape=(3, 3), out_shape=(4, 8, 8))
    print(f"Conv2D 3x3 on 8x8, 4 images: transpose test {jt2.error:.2e} passed={jt2.passed}")
    ok = all(r.passed for r in (jt, at, tt, jt2))
    print("all checks passed" if ok else "SOME CHECK FAILED")


if __name__ == "__main__":  # pragma: no cover
    _demo()
