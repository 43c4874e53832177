"""Parametric models ``K(theta) = mat(Q theta)`` and their Jacobian products.

The lecture's simple models (diagonal scaling, antisymmetric kernel, M-matrix) and periodic
convolutions are all *linear* in theta: there is a sparse ``Q`` (``m*n x p``) with

    vec(K(theta)) = Q theta,      K(theta) = mat(Q theta),

so the Jacobian of ``theta -> K(theta)`` is ``Q`` itself and (lecture, "Differentiating
Parametric Models")::

    J v   = mat(Q v)        (v in R^p,   a matrix of K's shape)
    J^T W = Q^T vec(W)      (W of K's shape, a vector in R^p)

``model.jacobian_map()`` is ``J`` as a :class:`~convlab.operators.LinearMap` (``jvp`` forward,
``vjp`` adjoint).

Conventions
-----------
* ``vec``/``mat`` are **column-major**, MATLAB's ``K(:)`` and ``reshape(x, m, n)``:
  ``vec(K) = K.ravel(order="F")``, entry ``K[i, j]`` is row ``i + j*m`` of ``Q``.
* A model stores ``Q`` as its COO triplets (``rows``, ``params``, ``coeffs``): ``Q[rows[t],
  params[t]] += coeffs[t]``. ``K``, ``jvp`` and ``vjp`` scatter / gather with these triplets
  (``np.bincount``) and never build ``Q`` (O(nnz) work and memory, the lecture's "not efficient to
  construct Q when p large"); :meth:`ParametricModel.Q` builds the sparse matrix on request.
* Convolution models follow :mod:`convlab.structured`: **convolution**, not correlation,
  ``K[i, i - p + L//2] = theta[p]``, periodic boundary; 2D images are vectorised column-major
  (the lecture's ``y11, y21, y31, y12, ...``).
* ``theta >= 0`` (the M-matrix): :meth:`ParametricModel.K` raises ``ValueError`` naming the
  offending entries; :meth:`ParametricModel.project` is the Euclidean projection
  ``max(theta, 0)`` to use inside a projected-gradient step. The Jacobian products accept any
  ``v`` (a direction may point anywhere).

Examples
--------
>>> M = m_matrix(3)
>>> M.Q().toarray().astype(int)[:4]
array([[ 1,  1,  0,  0,  0,  0],
       [ 0,  0, -1,  0,  0,  0],
       [ 0,  0,  0,  0, -1,  0],
       [-1,  0,  0,  0,  0,  0]])
>>> M.K([1, 2, 3, 4, 5, 6])
array([[ 3., -1., -2.],
       [-3.,  7., -4.],
       [-5., -6., 11.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from convlab._validate import (
    as_numpy,
    as_shape,
    as_size,
    as_vector,
    check_cost,
    sparse_bytes,
)
from convlab.operators import LinearMap

__all__ = [
    "ParametricModel",
    "SeparableStencil",
    "antisymmetric",
    "compose",
    "conv1d_first_column_Q",
    "conv2d_first_column_Q",
    "diagonal",
    "doubly_symmetric_Q",
    "lecture_m_matrix_Q",
    "m_matrix",
    "mat",
    "periodic_conv1d",
    "periodic_conv2d",
    "stencil_parameter_counts",
    "vec",
]


def vec(A: Any) -> np.ndarray:
    """Column-major vectorisation, MATLAB ``A(:)``: ``A.ravel(order="F")`` (sparse accepted)."""
    if sp.issparse(A):
        A = A.toarray()
    A = as_numpy(A, "A")
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D, got shape {A.shape}")
    return A.ravel(order="F")


def mat(x: Any, shape: Sequence[int]) -> np.ndarray:
    """Column-major reshape, MATLAB ``reshape(x, m, n)``: the inverse of :func:`vec`."""
    x = as_vector(x, "x")
    m, n = as_shape(shape, "shape", ndim=2)
    if x.size != m * n:
        raise ValueError(f"x has {x.size} entries, cannot reshape to {m} x {n}")
    return x.reshape((m, n), order="F")


@dataclass(frozen=True)
class ParametricModel:
    """``K(theta) = mat(Q theta)`` with ``Q`` given by its COO triplets (see module docstring).

    Attributes
    ----------
    name : str
    shape : (m, n), the shape of ``K(theta)``.
    n_params : p, the length of theta.
    rows, params, coeffs : COO triplets of ``Q`` (rows index ``vec(K)``, column-major).
    nonnegative : whether the model requires ``theta >= 0``.
    """

    name: str
    shape: tuple[int, int]
    n_params: int
    rows: np.ndarray
    params: np.ndarray
    coeffs: np.ndarray
    nonnegative: bool = False

    # -- the matrix Q (only on request) --------------------------------------------------------
    def Q(self) -> sp.csr_array:
        """The sparse ``m*n x p`` matrix ``Q`` (duplicate triplets summed)."""
        m, n = self.shape
        return sp.csr_array(
            (self.coeffs.astype(float), (self.rows, self.params)), shape=(m * n, self.n_params)
        )

    # -- the model ---------------------------------------------------------------------------------
    def K(self, theta: Any, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
        """``K(theta) = mat(Q theta)`` (dense by default, ``sparse=True`` for a csr_array).

        Raises ``ValueError`` for a model with ``theta >= 0`` if an entry is negative
        (use :meth:`project` first).
        """
        theta = self._theta(theta, "theta", finite=True)
        if not sparse:
            check_cost(
                f"K(theta) of {self.name}, {self.shape[0]} x {self.shape[1]} dense",
                nbytes=16 * self.shape[0] * self.shape[1],
                alternative="pass sparse=True",
            )
        if self.nonnegative and np.any(theta < 0):
            bad = np.flatnonzero(theta < 0)
            raise ValueError(
                f"{self.name} needs theta >= 0, but theta[{bad[:5].tolist()}] < 0; "
                "project with model.project(theta) = max(theta, 0) first"
            )
        if sparse:
            m = self.shape[0]
            vals = self.coeffs * theta[self.params]
            i, j = self.rows % m, self.rows // m
            return sp.csr_array((vals, (i, j)), shape=self.shape)
        return self._scatter(theta)

    def jvp(self, v: Any) -> np.ndarray:
        """``J v = mat(Q v)``: scatter of v with the triplets, Q never formed."""
        return self._scatter(self._theta(v, "v"))

    def vjp(self, W: Any) -> np.ndarray:
        """``J^T W = Q^T vec(W)``: gather from ``vec(W)`` with the triplets, Q never formed."""
        W = as_numpy(W.toarray() if sp.issparse(W) else W, "W")
        if W.shape != self.shape:
            raise ValueError(f"W must have K's shape {self.shape}, got {W.shape}")
        w = W.ravel(order="F")
        # (Q^T w)[p] = sum over triplets t with params[t] == p of coeffs[t] * w[rows[t]]
        weights = self.coeffs * w[self.rows]
        if np.iscomplexobj(weights):
            return np.bincount(self.params, weights.real, self.n_params) + 1j * np.bincount(
                self.params, weights.imag, self.n_params
            )
        return np.bincount(self.params, weights, self.n_params)

    def jacobian_map(self) -> LinearMap:
        """``v -> J v = mat(Q v)`` (adjoint ``W -> Q^T vec(W)``) as a LinearMap.

        Input ``(p,)``, output K's shape ``(m, n)``; its matrix (row-major ``W.reshape(-1)``)
        is ``Q`` with rows permuted from MATLAB's column-major ``vec``.
        """
        return LinearMap(self.jvp, self.vjp, (self.n_params,), self.shape, name=f"J of {self.name}")

    def project(self, theta: Any) -> np.ndarray:
        """Euclidean projection onto the feasible set: ``max(theta, 0)`` if nonnegative."""
        theta = self._theta(theta, "theta").astype(float)
        return np.maximum(theta, 0.0) if self.nonnegative else theta

    # -- helpers -------------------------------------------------------------------------------
    def _theta(self, theta: Any, name: str, *, finite: bool = False) -> np.ndarray:
        theta = as_vector(theta, name, finite=finite)
        if theta.size != self.n_params:
            raise ValueError(f"{name} must have length p = {self.n_params}, got {theta.size}")
        return theta

    def _scatter(self, theta: np.ndarray) -> np.ndarray:
        m, n = self.shape
        # vec(K)[r] = sum over triplets t with rows[t] == r of coeffs[t] * theta[params[t]]
        weights = self.coeffs * theta[self.params]
        if np.iscomplexobj(weights):
            k = np.bincount(self.rows, weights.real, m * n) + 1j * np.bincount(
                self.rows, weights.imag, m * n
            )
        else:
            k = np.bincount(self.rows, weights, m * n)
        return k.reshape((m, n), order="F")


def _check_triplets(what: str, nnz: int, rows: int = 0) -> None:
    """Refuse a model or Q whose triplets (and CSR rows) would exceed the cost limit."""
    check_cost(
        what,
        nbytes=4 * sparse_bytes(rows, nnz),  # index arithmetic makes a few temporaries
        alternative="use smaller sizes, or apply the operator without Q (e.g. convlab.conv)",
    )


def _model(
    name: str, shape: tuple[int, int], p: int, i, j, params, coeffs, nonnegative: bool = False
) -> ParametricModel:
    i, j, params = (np.asarray(a, dtype=np.intp).ravel() for a in (i, j, params))
    coeffs = np.broadcast_to(np.asarray(coeffs, dtype=float), i.shape).copy()
    return ParametricModel(name, shape, p, i + j * shape[0], params, coeffs, nonnegative)


# ---------------------------------------------------------------------------------------------
# The lecture's three simple models
# ---------------------------------------------------------------------------------------------
def diagonal(n: int) -> ParametricModel:
    """Diagonal scaling ``K(theta) = diag(theta)``, n x n, p = n."""
    n = as_size(n, "n")
    _check_triplets(f"diagonal({n})", n)
    k = np.arange(n)
    return _model("diagonal", (n, n), n, k, k, k, 1.0)


def antisymmetric(n: int) -> ParametricModel:
    """Antisymmetric kernel: ``K[i, j] = theta_t``, ``K[j, i] = -theta_t`` for i < j.

    Parameters are the strict upper triangle **row by row** (the lecture's 3x3 numbering:
    theta_1 = K[0,1], theta_2 = K[0,2], theta_3 = K[1,2]); p = n(n-1)/2. ``K^T = -K``, so every
    eigenvalue has real part 0.
    """
    n = as_size(n, "n", minimum=2)
    _check_triplets(f"antisymmetric({n})", n * (n - 1))
    iu, ju = np.triu_indices(n, k=1)  # row-major order of the strict upper triangle
    t = np.arange(iu.size)
    return _model(
        "antisymmetric",
        (n, n),
        iu.size,
        np.concatenate([iu, ju]),
        np.concatenate([ju, iu]),
        np.concatenate([t, t]),
        np.concatenate([np.ones(t.size), -np.ones(t.size)]),
    )


def m_matrix(n: int) -> ParametricModel:
    """M-matrix ``K[i, j] = -theta_(i,j)`` (i != j), ``K[i, i] = sum_j theta_(i,j)``, theta >= 0.

    Parameters are the off-diagonal entries **row by row** (the lecture's 3x3 numbering:
    row 1 has theta_1, theta_2; row 2 theta_3, theta_4; row 3 theta_5, theta_6); p = n(n-1).
    Rows sum to zero (``K 1 = 0``, like a differential operator: a constant is in the null
    space) and for ``theta >= 0`` every Gershgorin disc lies in ``Re z >= 0``.
    """
    n = as_size(n, "n", minimum=2)
    _check_triplets(f"m_matrix({n})", 2 * n * (n - 1))
    I, J = np.nonzero(~np.eye(n, dtype=bool))  # row-major order of the off-diagonal entries
    t = np.arange(I.size)
    return _model(
        "M-matrix",
        (n, n),
        I.size,
        np.concatenate([I, I]),  # -theta at (i, j) and +theta at (i, i)
        np.concatenate([J, I]),
        np.concatenate([t, t]),
        np.concatenate([-np.ones(t.size), np.ones(t.size)]),
        nonnegative=True,
    )


def lecture_m_matrix_Q() -> np.ndarray:
    """The lecture's 9 x 6 ``Q`` of the 3x3 M-matrix, typed in as printed on the slide."""
    return np.array(
        [
            [1, 1, 0, 0, 0, 0],
            [0, 0, -1, 0, 0, 0],
            [0, 0, 0, 0, -1, 0],
            [-1, 0, 0, 0, 0, 0],
            [0, 0, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, -1],
            [0, -1, 0, 0, 0, 0],
            [0, 0, 0, -1, 0, 0],
            [0, 0, 0, 0, 1, 1],
        ]
    )


# ---------------------------------------------------------------------------------------------
# Periodic convolutions
# ---------------------------------------------------------------------------------------------
def periodic_conv1d(L: int, n: int) -> ParametricModel:
    """The n x n circulant ``K(theta)`` of a length-L stencil as ``mat(Q theta)``; p = L.

    ``K[i, (i - p + L//2) mod n] = theta[p]`` (convolution, see :mod:`convlab.structured`).

    See Also
    --------
    convlab.structured.conv_matrix
        ``K(theta)`` directly, any boundary.
    convlab.conv.Conv1D
        ``K``, ``K^T``, ``J``, ``J^T`` by FFT without forming ``Q``.
    """
    L, n = as_size(L, "L"), as_size(n, "n")
    _check_triplets(f"periodic_conv1d({L}, {n})", L * n)
    if L > n:
        raise ValueError(f"stencil length L must be <= n for a periodic operator ({L} > {n})")
    i = np.repeat(np.arange(n), L)
    p = np.tile(np.arange(L), n)
    return _model("periodic conv1d", (n, n), L, i, (i - p + L // 2) % n, p, 1.0)


def periodic_conv2d(kernel_shape: Sequence[int], image_shape: Sequence[int]) -> ParametricModel:
    """The N x N BCCB ``K(theta)`` (N = n1*n2) of an L1 x L2 stencil as ``mat(Q theta)``.

    theta is the stencil vectorised **column-major** (p = L1*L2), images too. Convolution:
    ``z[a, b] = sum theta[p, q] y[(a - p + L1//2) mod n1, (b - q + L2//2) mod n2]``.

    See Also
    --------
    convlab.conv.Conv2D.matrix
        ``K(theta)`` directly (``order='F'`` matches).
    convlab.conv.Conv2D
        ``K``, ``K^T``, ``J``, ``J^T`` by FFT without forming ``Q``.
    """
    (L1, L2), (n1, n2) = _shapes(kernel_shape, image_shape)
    _check_triplets(f"periodic_conv2d of {n1}x{n2} images", L1 * L2 * n1 * n2)
    a, b, p, q = np.meshgrid(
        np.arange(n1), np.arange(n2), np.arange(L1), np.arange(L2), indexing="ij"
    )
    ra, rb = (a - p + L1 // 2) % n1, (b - q + L2 // 2) % n2
    return _model(
        "periodic conv2d", (n1 * n2, n1 * n2), L1 * L2, a + n1 * b, ra + n1 * rb, p + L1 * q, 1.0
    )


def conv1d_first_column_Q(L: int, n: int) -> sp.csr_array:
    """The 0/1 ``n x L`` matrix with ``K(theta) u_1 = Q theta`` (the lecture's first-column Q).

    ``Q[(p - L//2) mod n, p] = 1``: the ``circshift`` of the zero-padded stencil. MATLAB
    (``conv1D.m``): ``q = getK1(1:L, n); I = find(q); Q = sparse(I, q(I), 1, n, L)``.
    """
    L, n = as_size(L, "L"), as_size(n, "n")
    _check_triplets(f"conv1d_first_column_Q({L}, {n})", L, rows=n)
    if L > n:
        raise ValueError(f"stencil length L must be <= n for a periodic operator ({L} > {n})")
    p = np.arange(L)
    return sp.csr_array((np.ones(L), ((p - L // 2) % n, p)), shape=(n, L))


def conv2d_first_column_Q(kernel_shape: Sequence[int], image_shape: Sequence[int]) -> sp.csr_array:
    """``N x L1*L2`` 0/1 matrix with ``K(theta) u_1 = Q vec(theta)`` (column-major, 2D).

    ``mat(Q vec(theta), (n1, n2))`` is the stencil zero-padded to the image and circshifted so
    that its centre ``(L1//2, L2//2)`` lands at pixel (0, 0); its ``fft2`` is ``lambda``.
    """
    (L1, L2), (n1, n2) = _shapes(kernel_shape, image_shape)
    _check_triplets(f"conv2d_first_column_Q of {n1}x{n2} images", L1 * L2, rows=n1 * n2)
    p, q = np.meshgrid(np.arange(L1), np.arange(L2), indexing="ij")
    rows = (p - L1 // 2) % n1 + n1 * ((q - L2 // 2) % n2)
    return sp.csr_array(
        (np.ones(L1 * L2), (rows.ravel(), (p + L1 * q).ravel())), shape=(n1 * n2, L1 * L2)
    )


def _shapes(kernel_shape: Sequence[int], image_shape: Sequence[int]):
    L1, L2 = as_shape(kernel_shape, "kernel_shape", ndim=2)
    n1, n2 = as_shape(image_shape, "image_shape", ndim=2)
    if L1 > n1 or L2 > n2:
        raise ValueError(f"kernel {L1}x{L2} larger than the periodic image {n1}x{n2}")
    return (L1, L2), (n1, n2)


# ---------------------------------------------------------------------------------------------
# Cheaper 2D kernels
# ---------------------------------------------------------------------------------------------
def doubly_symmetric_Q(kernel_shape: Sequence[int]) -> sp.csr_array:
    """``S`` with ``vec(theta) = S phi`` for stencils symmetric in both directions.

    ``theta[k1 + a, k2 + b] = phi[|a|, |b|]`` for an odd ``(2k1+1) x (2k2+1)`` stencil; phi is
    ``(k1+1) x (k2+1)``, vectorised column-major, so p = (k1+1)(k2+1) instead of L1*L2. Such a
    stencil is its own flip, so ``K = K^T`` (symmetric, real eigenvalues). Compose with a
    convolution model: ``Q_conv @ S``.
    """
    L1, L2 = as_shape(kernel_shape, "kernel_shape", ndim=2)
    _check_triplets(f"doubly_symmetric_Q of a {L1}x{L2} stencil", L1 * L2, rows=L1 * L2)
    if L1 % 2 == 0 or L2 % 2 == 0:
        raise ValueError(f"a doubly symmetric stencil needs odd sizes, got {L1}x{L2}")
    k1, k2 = L1 // 2, L2 // 2
    a, b = np.meshgrid(np.arange(L1), np.arange(L2), indexing="ij")
    phi = np.abs(a - k1) + (k1 + 1) * np.abs(b - k2)
    return sp.csr_array(
        (np.ones(L1 * L2), ((a + L1 * b).ravel(), phi.ravel())),
        shape=(L1 * L2, (k1 + 1) * (k2 + 1)),
    )


@dataclass(frozen=True)
class SeparableStencil:
    """Separable (rank-one) stencil ``theta = u v^T`` with ``u`` of length L1, ``v`` of L2.

    Not linear in ``(u, v)`` (bilinear), so not ``mat(Q theta)``; its Jacobian products are
    ``J [du; dv] = du v^T + u dv^T`` and ``J^T G = [G v; G^T u]``. The BCCB of a separable
    stencil is ``kron(K_v, K_u)`` (column-major images), the convolution is one 1D convolution
    along each axis. Parameters: L1 + L2 (L1 + L2 - 1 effective: ``(c u, v / c)`` is the same).
    """

    L1: int
    L2: int

    def __post_init__(self) -> None:
        for name in ("L1", "L2"):  # frozen: normalise numpy ints to Python ints
            object.__setattr__(self, name, as_size(getattr(self, name), name))

    @property
    def n_params(self) -> int:
        return self.L1 + self.L2

    def split(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        params = as_vector(params, "params")
        if params.size != self.n_params:
            raise ValueError(
                f"params must have length L1 + L2 = {self.n_params}, got {params.size}"
            )
        return params[: self.L1], params[self.L1 :]

    def stencil(self, params: Any) -> np.ndarray:
        u, v = self.split(params)
        return np.outer(u, v)

    def jvp(self, params: Any, dparams: Any) -> np.ndarray:
        u, v = self.split(params)
        du, dv = self.split(dparams)
        return np.outer(du, v) + np.outer(u, dv)

    def vjp(self, params: Any, G: Any) -> np.ndarray:
        u, v = self.split(params)
        G = np.asarray(G)
        if G.shape != (self.L1, self.L2):
            raise ValueError(f"G must have shape {(self.L1, self.L2)}, got {G.shape}")
        return np.concatenate([G @ v, G.T @ u])

    def jacobian_map(self, params: Any) -> LinearMap:
        """The Jacobian at ``params`` as a LinearMap: ``(L1 + L2,) -> (L1, L2)``."""
        params = np.concatenate(self.split(params))  # a copy: later edits do not leak in
        return LinearMap(
            lambda d: self.jvp(params, d),
            lambda G: self.vjp(params, G),
            (self.n_params,),
            (self.L1, self.L2),
            name="J of separable stencil",
        )


def stencil_parameter_counts(kernel_shape: Sequence[int]) -> dict[str, int]:
    """Parameters of an L1 x L2 stencil: full, separable, doubly symmetric (odd sizes only).

    >>> stencil_parameter_counts((5, 5))
    {'full': 25, 'separable': 10, 'separable (effective)': 9, 'doubly symmetric': 9}
    """
    L1, L2 = as_shape(kernel_shape, "kernel_shape", ndim=2)
    counts = {"full": L1 * L2, "separable": L1 + L2, "separable (effective)": L1 + L2 - 1}
    if L1 % 2 and L2 % 2:
        counts["doubly symmetric"] = (L1 // 2 + 1) * (L2 // 2 + 1)
    return counts


def compose(model: ParametricModel, S: Any, name: str | None = None) -> ParametricModel:
    """The model ``phi -> K(S phi)`` (``Q_new = Q S``), e.g. a doubly symmetric convolution."""
    S = sp.csr_array(S)
    if S.shape[0] != model.n_params:
        raise ValueError(f"S must have {model.n_params} rows (the model's p), got {S.shape[0]}")
    Q = (model.Q() @ S).tocoo()
    return ParametricModel(
        name or f"{model.name} o S",
        model.shape,
        S.shape[1],
        Q.row.astype(np.intp),
        Q.col.astype(np.intp),
        Q.data.astype(float),
        model.nonnegative,
    )
