"""One property suite for every linear operator of convlab (instances: ``operator_registry``).

For each registry entry and each of its dtypes (float64, float32, complex where it applies):

* the adjoint passes the normalised dot test, and two subtly wrong adjoints fail it: one shifted
  by one index, one scaled by 1.0005 (in every precision);
* :func:`convlab.checks.adjoint_test` takes the operator as the package makes it (no wrapping);
* the dense matrix agrees with the action (forward and adjoint; ``to_sparse``, ``to_scipy``);
* forward and adjoint are linear;
* for torch operators, autograd's vector-Jacobian product equals the hand-written adjoint;

and every pair in ``operator_registry.PAIRS`` (two representations of one operator) agrees.
``inner="real"`` operators (R-linear, e.g. MRI) are checked through their real view.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from operator_registry import PAIRS, REGISTRY, rand_np

from convlab.checks import adjoint_test
from convlab.operators import LinearMap, _spaces_of, aslinearmap

CASES = [pytest.param(e, dt, id=f"{e.name}-{dt}") for e in REGISTRY for dt in e.dtypes]
TORCH_CASES = [c for c in CASES if c.values[0].build(c.values[1]).backend == "torch"]

#: relative tolerance of a comparison in each precision (normwise)
RTOL = {"float64": 1e-12, "complex128": 1e-12, "float32": 2e-5, "complex64": 2e-5}


def real_if_needed(A: LinearMap) -> LinearMap:
    return A.real_view() if A.inner == "real" else A


def rand_like(A: LinearMap, shape: tuple[int, ...], side: str, seed: int):
    """Random array for ``A``'s input (side "in") or output ("out"): its backend and dtype."""
    dt = A.dtype if side == "in" else A.out_dtype
    name = str(dt).removeprefix("torch.") if A.backend == "torch" else np.dtype(dt).name
    x = rand_np(shape, name, seed)
    return torch.from_numpy(x).to(A.device or "cpu") if A.backend == "torch" else x


def as_np(x) -> np.ndarray:
    return x.detach().resolve_conj().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def assert_close(a, b, dtype: str, what: str) -> None:
    a, b = as_np(a).ravel(), as_np(b).ravel()
    err = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)
    assert err <= RTOL[dtype], f"{what}: relative difference {err:.2e} > {RTOL[dtype]:.0e}"


@pytest.mark.parametrize(("entry", "dtype"), CASES)
def test_adjoint(entry, dtype):
    A = entry.build(dtype)
    r = A.adjoint_test(n_trials=2)
    assert r.passed, f"{A!r}: {r.summary()}"


@pytest.mark.parametrize(("entry", "dtype"), CASES)
def test_the_checks_take_the_operator_as_made(entry, dtype):
    r = adjoint_test(entry.make(dtype), n_trials=1)
    assert r.passed, f"{entry.name} ({dtype}) as made, through convlab.checks: {r.summary()}"


#: a defect of 5e-4 in every precision: the dot test's second probe (v = A u, a sum of positive
#: terms on both sides) resolves it in single precision too
SCALE = {"float64": 1.0005, "complex128": 1.0005, "float32": 1.0005, "complex64": 1.0005}


class _Wrong(LinearMap):
    """``A`` with a subtly wrong adjoint: scaled by ``scale``, or shifted by one index."""

    def __init__(self, A: LinearMap, kind: str, scale: float) -> None:
        super().__init__(**_spaces_of(A))
        self.A, self.kind, self.scale = A, kind, scale

    def _matvec(self, x):
        return self.A.forward(x)

    def _rmatvec(self, y):
        x = self.A.adjoint(y)
        if self.kind == "scaled":
            return self.scale * x
        flat = x.reshape(-1)
        rolled = torch.roll(flat, 1) if isinstance(flat, torch.Tensor) else np.roll(flat, 1)
        return rolled.reshape(x.shape)


@pytest.mark.parametrize("kind", ["scaled", "shifted"])
@pytest.mark.parametrize(("entry", "dtype"), CASES)
def test_a_subtly_wrong_adjoint_fails(entry, dtype, kind):
    A = real_if_needed(entry.build(dtype))
    r = _Wrong(A, kind, SCALE[dtype]).adjoint_test()
    assert not r.passed, f"{A!r} with a {kind} adjoint passed: {r.summary()}"


@pytest.mark.parametrize(("entry", "dtype"), CASES)
def test_dense_matrix_agrees_with_the_action(entry, dtype):
    A = real_if_needed(entry.build(dtype))
    D = np.asarray(A.to_dense())
    assert D.shape == A.shape
    x = rand_like(A, A.in_shape, "in", 1)
    y = rand_like(A, A.out_shape, "out", 2)
    assert_close(A @ x, D @ as_np(x).ravel(), dtype, "A @ x vs dense")
    assert_close(A.H @ y, D.conj().T @ as_np(y).ravel(), dtype, "A^H y vs dense^H")
    assert_close(A @ as_np(x).ravel(), D @ as_np(x).ravel(), dtype, "flat numpy input")
    # the adjoint probed on its own (independent of the forward's probes)
    assert_close(A.H.to_dense(), D.conj().T, dtype, "dense(A^H) vs dense(A)^H")
    assert_close(A.to_sparse().toarray(), D, dtype, "to_sparse")
    S = A.to_scipy()
    assert_close(S.matvec(as_np(x).ravel()), D @ as_np(x).ravel(), dtype, "to_scipy matvec")
    assert_close(S.rmatvec(as_np(y).ravel()), D.conj().T @ as_np(y).ravel(), dtype, "rmatvec")
    if A.is_complex:  # .T is the transpose, not the adjoint
        assert_close(A.T.to_dense(), D.T, dtype, "A.T vs dense.T")
    if dtype == "float64":
        sigma = np.linalg.norm(D, 2)
        assert abs(A.norm(n_iter=500, rtol=1e-12) - sigma) <= 1e-6 * sigma, "norm()"


@pytest.mark.parametrize(("entry", "dtype"), CASES)
def test_linearity(entry, dtype):
    A = real_if_needed(entry.build(dtype))
    cplx = A.is_complex
    a, b = (0.7 - 0.2j, -1.3 + 0.5j) if cplx else (0.7, -1.3)
    for op, shape, side in ((A, A.in_shape, "in"), (A.H, A.out_shape, "out")):
        x, y = rand_like(A, shape, side, 3), rand_like(A, shape, side, 4)
        assert_close(op @ (a * x + b * y), a * (op @ x) + b * (op @ y), dtype, f"linearity {side}")


@pytest.mark.parametrize(("entry", "dtype"), TORCH_CASES)
def test_autograd_vjp_equals_the_adjoint(entry, dtype):
    A = entry.build(dtype)
    x = rand_like(A, A.in_shape, "in", 5).requires_grad_(True)
    y = A.forward(x)
    v = rand_like(A, A.out_shape, "out", 6)
    (g,) = torch.autograd.grad(y, x, v)  # torch: v -> A^H v (Re(A^H v) for a real input)
    assert_close(g, A.adjoint(v), dtype, "autograd VJP vs adjoint")


@pytest.mark.parametrize("pair", [pytest.param(p, id=p.name) for p in PAIRS])
def test_two_representations_of_one_operator_agree(pair):
    Da = np.asarray(aslinearmap(pair.a()).to_dense())
    Db = np.asarray(aslinearmap(pair.b()).to_dense())
    assert Da.shape == Db.shape, f"{pair.name}: shapes {Da.shape} vs {Db.shape}"
    assert_close(Da, Db, "float64", f"{pair.name} ({pair.convention})")


def test_every_pair_would_notice_a_convention_slip():
    # the comparison is not vacuous: the unflipped stencil (correlation) and the other
    # vectorisation order both disagree with the periodic Conv2D matrix
    from operator_registry import _TH2D, _conv2d_via_layer, perm_F_to_C

    from convlab import conv

    K = conv.Conv2D(_TH2D, (5, 6)).matrix(order="C").toarray()
    unflipped = _conv2d_via_layer(_TH2D[::-1, ::-1], (5, 6))
    assert np.linalg.norm(K - unflipped) > 0.1 * np.linalg.norm(K)
    F_order = conv.Conv2D(_TH2D, (5, 6)).matrix(order="F").toarray()
    assert np.linalg.norm(K - F_order) > 0.1 * np.linalg.norm(K)
    P = perm_F_to_C((5, 6)).toarray()
    np.testing.assert_allclose(P @ F_order @ P.T, K, atol=1e-14)
