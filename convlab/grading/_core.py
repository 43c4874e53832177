"""The grading engine: run a student's object on many cases against a reference, report kindly.

A check is registered under a name ``"NN.task"`` (NN = notebook number) by the module
``convlab.grading.nbNN``. ``check(name, obj)`` runs it, prints a short report (how many cases
passed, the first failing case, a hint) and raises ``AssertionError`` when anything failed, so
that nbgrader's autograde scores the cell 0. A stub that still raises ``NotImplementedError``
is reported as "not done yet" and the ``NotImplementedError`` propagates.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CheckFunction = Callable[[Any, "Cases", bool], None]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    func: CheckFunction
    hint: str


_REGISTRY: dict[str, CheckSpec] = {}


def register(name: str, *, hint: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``func(student_obj, cases, hidden)`` as the check called ``name``."""
    _validate_name(name)

    def decorator(func: CheckFunction) -> CheckFunction:
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"a check named {name!r} is already registered")
        _REGISTRY[name] = CheckSpec(name=name, func=func, hint=hint)
        return func

    return decorator


def _validate_name(name: str) -> None:
    if not isinstance(name, str) or "." not in name or not name.split(".", 1)[0].isdigit():
        raise ValueError(f"check names look like '01.task_name', got {name!r}")


def registered_checks(notebook: str | None = None) -> list[str]:
    """Names of all checks (optionally of one notebook, e.g. ``"01"``)."""
    _import_all()
    return sorted(n for n in _REGISTRY if notebook is None or n.startswith(f"{notebook}."))


def _import_all() -> None:
    import pkgutil

    import convlab.grading as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("nb"):
            importlib.import_module(f"convlab.grading.{info.name}")


def _lookup(name: str) -> CheckSpec:
    _validate_name(name)
    if name not in _REGISTRY:
        module = f"convlab.grading.nb{name.split('.', 1)[0]}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    if name not in _REGISTRY:
        known = ", ".join(registered_checks()) or "none"
        raise KeyError(f"no check named {name!r}; known checks: {known}")
    return _REGISTRY[name]


class NotDoneYet(Exception):
    """Raised inside a check when the student's code raised ``NotImplementedError``."""


def as_array(value: Any) -> np.ndarray:
    """Convert a student's answer (ndarray, scipy sparse, torch tensor, list) to an ndarray."""
    if hasattr(value, "toarray") and callable(value.toarray):
        return np.asarray(value.toarray())
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass
class CaseResult:
    label: str
    passed: bool
    detail: str = ""


@dataclass
class Cases:
    """Collects the cases of one check run. ``rng`` is seeded, so every run is reproducible."""

    rng: np.random.Generator
    results: list[CaseResult] = field(default_factory=list)

    def call(self, label: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the student's function. If it raises or returns None, record a failed case and
        return None, so a check only has to skip ``None``."""
        try:
            result = func(*args, **kwargs)
        except NotImplementedError as exc:
            raise NotDoneYet(str(exc)) from exc
        except Exception as exc:  # any error in student code is a failed case, not a crash
            self.fail(label, f"raised {type(exc).__name__}: {exc}")
            return None
        if result is None:
            self.fail(label, "your function returned None (missing `return`?)")
        return result

    def record(self, label: str, passed: bool, detail: str = "") -> bool:
        self.results.append(CaseResult(label, bool(passed), detail))
        return bool(passed)

    def fail(self, label: str, detail: str) -> bool:
        return self.record(label, False, detail)

    def compare(
        self,
        label: str,
        got: Any,
        expected: Any,
        *,
        rtol: float = 1e-8,
        atol: float | None = None,
        exact_shape: bool = True,
    ) -> bool:
        """Compare an answer with the reference: same shape, values within tolerance.

        ``atol`` defaults to ``rtol * max(1, max|expected|)`` so that the test is relative to the
        size of the answer.
        """
        if got is None:
            return self.fail(label, "your function returned None (missing `return`?)")
        try:
            g = as_array(got)
        except Exception as exc:
            return self.fail(label, f"could not turn the answer into an array ({exc})")
        e = as_array(expected)
        if g.shape != e.shape and (exact_shape or g.size != e.size):
            why = f"shape {g.shape}, expected {e.shape}"
            if g.ndim == 2 and g.shape == e.shape[::-1]:
                why += " (transposed?)"
            return self.fail(label, why)
        g = g.reshape(e.shape)
        if not np.issubdtype(g.dtype, np.number) and g.dtype != bool:
            return self.fail(label, f"answer has dtype {g.dtype}, expected numbers")
        if not np.all(np.isfinite(g)):
            return self.fail(label, "answer contains NaN or inf")
        if np.issubdtype(g.dtype, np.inexact) and np.finfo(g.dtype).bits < 32:
            return self.fail(label, f"answer is {g.dtype}: too little precision, use float64")
        if np.issubdtype(g.dtype, np.inexact):  # a float32 answer is judged at float32 precision
            rtol = max(rtol, 8 * float(np.finfo(g.dtype).eps))
        scale = float(np.max(np.abs(e))) if e.size else 0.0
        tol = rtol * max(1.0, scale) if atol is None else atol
        err = np.abs(g - e)
        if e.size and float(err.max()) > tol:
            idx = np.unravel_index(int(np.argmax(err)), e.shape)
            return self.fail(
                label,
                f"values differ: max abs error {float(err.max()):.2e} "
                f"at index {tuple(map(int, idx))}"
                f" (got {_fmt(g[idx])}, expected {_fmt(e[idx])}; tolerance {tol:.1e})",
            )
        return self.record(label, True)

    def compare_eigenvalues(
        self, label: str, got: Any, expected: Any, *, shape: tuple[int, ...] | None = None
    ) -> bool:
        """Compare eigenvalues as multisets (never by position), with
        :func:`convlab.checks.eigenvalues_match` and its default tolerance.

        ``shape`` is the layout the answer must have (default: a 1-D vector with one entry per
        expected eigenvalue; e.g. ``(n1, n2)`` for an ``fft2`` layout).
        """
        from convlab.checks import eigenvalues_match

        if got is None:
            return self.fail(label, "your function returned None (missing `return`?)")
        try:
            lam = as_array(got)
        except Exception as exc:
            return self.fail(label, f"could not turn the answer into an array ({exc})")
        want = (np.size(expected),) if shape is None else tuple(shape)
        if lam.shape != want:
            return self.fail(
                label, f"expected eigenvalues in an array of shape {want}, got {lam.shape}"
            )
        try:  # e.g. float16 answers, refused by the checks' precision policy
            res = eigenvalues_match(lam.ravel(), np.ravel(expected))
        except (TypeError, ValueError) as exc:
            return self.fail(label, str(exc))
        return self.record(label, res.passed, res.reason or "")


def _fmt(x: Any) -> str:
    x = complex(x)
    if x.imag == 0:
        return f"{x.real:.4g}"
    return f"{x.real:.4g}{x.imag:+.4g}j"


@dataclass(frozen=True)
class CheckReport:
    name: str
    passed: bool
    n_cases: int
    n_failed: int
    first_failure: CaseResult | None
    hint: str

    def __str__(self) -> str:
        if self.passed:
            return f"✔ {self.name}: all {self.n_cases} cases passed."
        f = self.first_failure
        lines = [
            f"✘ {self.name}: {self.n_failed} of {self.n_cases} cases failed.",
            f"  first failing case: {f.label}" if f else "",
            f"  what went wrong:    {f.detail}" if f else "",
            f"  hint: {self.hint}",
        ]
        return "\n".join(line for line in lines if line)


def check(
    name: str, obj: Any, *, hidden: bool = False, seed: int | None = None, quiet: bool = False
) -> None:
    """Grade ``obj`` (usually the student's function) with the check called ``name``.

    Parameters
    ----------
    name : "NN.task" as printed in the exercise notebook.
    obj : the student's function (or value) that the check expects.
    hidden : run the instructor's extra cases (edge cases, other seeds) instead of the visible ones.
    seed : override the case seed (default: fixed, so the printed report is reproducible).
    quiet : do not print the report.

    Raises ``AssertionError`` if any case fails and ``NotImplementedError`` if the student's code
    is still the stub. Returns nothing, so a grade cell shows only the printed report.
    """
    spec = _lookup(name)
    cases = Cases(rng=np.random.default_rng((1234 if hidden else 0) if seed is None else seed))
    try:
        spec.func(obj, cases, hidden)
    except NotDoneYet as exc:
        msg = (
            f"… {name}: not done yet - your code still raises NotImplementedError. "
            "Replace the `raise NotImplementedError()` line with your solution "
            "and run the cell again."
        )
        if not quiet:
            print(msg)
        raise NotImplementedError(msg) from exc
    if not cases.results:
        raise RuntimeError(f"check {name!r} ran no case (a bug in the grader)")
    failed = [r for r in cases.results if not r.passed]
    report = CheckReport(
        name=name,
        passed=not failed,
        n_cases=len(cases.results),
        n_failed=len(failed),
        first_failure=failed[0] if failed else None,
        hint=spec.hint,
    )
    if not quiet:
        print(report)
    if failed:
        raise AssertionError(str(report))
