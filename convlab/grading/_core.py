"""The grading engine: run a student's object on many cases against a reference, report kindly.

A check is registered under a name ``"NN.task"`` (NN = notebook number) by the module
``convlab.grading.nbNN``. ``check(name, obj)`` runs it and prints a one-line success, or raises
:class:`CheckFailed` (an ``AssertionError``) whose notebook rendering is the report itself (how
many cases failed, the first failing case, what went wrong, a hint), or :class:`NotDoneYet` (a
``NotImplementedError``) rendered as one line while the student's code is still the stub. Both
are error outputs, so nbgrader's autograde scores the cell 0.

Everything a check needs from the engine lives here, once: the case grid (visible or hidden),
calling the student's code (the forbidden-call guard, the unchanged-arguments check), turning an
answer into an array and judging its kind (real/complex, integer/float, bool), and the
comparison with its diagnoses (shape, transpose, constant multiple, largest error).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CheckFunction = Callable[[Any, "Cases"], None]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # convlab/
_GRADING_DIR = Path(__file__).resolve().parent  # convlab/grading/ (the graders' own test objects)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    func: CheckFunction
    hint: str
    task: str
    forbid: tuple[str, ...]
    allow: tuple[str, ...]


_REGISTRY: dict[str, CheckSpec] = {}


def register(
    name: str,
    *,
    task: str,
    hint: str,
    forbid: Sequence[str] = (),
    allow: Sequence[str] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``func(student_obj, cases)`` as the check called ``name``.

    Parameters
    ----------
    name : ``"NN.task"``.
    task : what the student writes, for the forbidden-call message ("the periodic matrix").
    hint : points at the convention the task states (not at the model line of code).
    forbid : dotted names of callables or modules the student's code may not call, besides the
        ``convlab`` package itself (e.g. ``"torch.nn.functional.conv_transpose2d"``).
    allow : dotted names of ``convlab`` modules the exercise offers (e.g. ``"convlab.matlab"``).
    """
    _validate_name(name)

    def decorator(func: CheckFunction) -> CheckFunction:
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"a check named {name!r} is already registered")
        _REGISTRY[name] = CheckSpec(name, func, hint, task, tuple(forbid), tuple(allow))
        return func

    return decorator


def _validate_name(name: str) -> None:
    if not isinstance(name, str) or "." not in name or not name.split(".", 1)[0].isdigit():
        raise ValueError(f"check names look like '01.task_name', got {name!r}")


def registered_checks(notebook: str | None = None) -> list[str]:
    """Names of all checks (optionally of one notebook, e.g. ``"01"``)."""
    _import_all()
    return sorted(n for n in _REGISTRY if notebook is None or n.startswith(f"{notebook}."))


def spec(name: str) -> CheckSpec:
    """The registered check called ``name`` (its hint, task and forbidden callables)."""
    return _lookup(name)


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


# ---------------------------------------------------------------------------------------------
# What the student sees: exceptions that render as their message in IPython / Jupyter
# ---------------------------------------------------------------------------------------------


class _Rendered:
    """Mixin: IPython shows ``_render_traceback_()`` instead of a traceback (the report only)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class NotDoneYet(_Rendered, NotImplementedError):
    """The student's code still raises ``NotImplementedError`` (the stub)."""


class CheckFailed(_Rendered, AssertionError):
    """At least one case failed; the message is the report."""


class _StudentStub(Exception):
    """Internal: the student's function raised NotImplementedError."""


# ---------------------------------------------------------------------------------------------
# The forbidden-call guard
# ---------------------------------------------------------------------------------------------


class _Guard:
    """While active, records the first call of a forbidden callable (``sys.setprofile``).

    Forbidden: every function defined in the ``convlab`` package (except the graders' own test
    objects in ``convlab.grading`` and the modules in ``allow``), and the callables or modules
    named in ``forbid``. Detection is by code object / object identity / source file, so an
    alias (``from convlab.structured import conv_matrix as cm``) or a wrapper (``nn.Conv1d``
    calling ``F.conv1d``) is caught as well.
    """

    def __init__(self, forbid: Iterable[str], allow: Iterable[str]) -> None:
        self.codes: dict[Any, str] = {}
        self.builtins: dict[int, str] = {}
        self.dirs: list[tuple[str, str]] = [(str(_PACKAGE_DIR), "convlab")]
        self.allowed = tuple(_source(name) for name in allow)
        for name in forbid:
            obj = _resolve(name)
            obj = getattr(obj, "_implementation", obj)  # NumPy's array-function dispatchers
            if inspect.ismodule(obj):
                self.dirs.append((_source(name), name))
            elif hasattr(obj, "__code__"):
                self.codes[obj.__code__] = name
            else:  # builtins (torch's C functions): by identity
                self.builtins[id(obj)] = name
        self.violation: str | None = None

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if self.violation is not None:
            return
        if event == "c_call":
            name = self.builtins.get(id(arg))
        elif event == "call":
            code = frame.f_code
            name = self.codes.get(code)
            filename = code.co_filename
            if name is None and not filename.startswith(str(_GRADING_DIR)):
                if any(filename.startswith(prefix) for prefix, _ in self.dirs):
                    name = f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}"
        else:
            return
        if name is not None and not self._inside_allowed(frame):
            self.violation = name

    def _inside_allowed(self, frame: Any) -> bool:
        """Whether ``frame`` runs (directly or below) a function of an allowed module, whose
        own helpers (e.g. ``convlab._validate``) may then be called."""
        while frame is not None and self.allowed:
            if frame.f_code.co_filename.startswith(self.allowed):
                return True
            frame = frame.f_back
        return False

    def __enter__(self) -> _Guard:
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.setprofile(self._previous)


def _resolve(name: str) -> Any:
    """Import ``a.b.c`` as a module, or as attribute ``c`` of module ``a.b``."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        module, _, attr = name.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def _source(name: str) -> str:
    """Source path prefix of a module (its folder for a package, its file otherwise)."""
    module = importlib.import_module(name)
    path = Path(module.__file__).resolve()
    return str(path.parent) if path.name == "__init__.py" else str(path)


# ---------------------------------------------------------------------------------------------
# Answers: coercion, kinds
# ---------------------------------------------------------------------------------------------


def as_array(value: Any) -> np.ndarray:
    """Convert a student's answer (ndarray, scipy sparse, torch tensor, list) to an ndarray."""
    if hasattr(value, "toarray") and callable(value.toarray):
        return np.asarray(value.toarray())
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _snapshot(value: Any) -> Any:
    if type(value).__module__.startswith("torch"):
        return value.detach().clone()
    if callable(value) and not hasattr(value, "shape"):
        return value  # functions handed to the student (e.g. 06.delta_test's solvers)
    return copy.deepcopy(value)


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, (list, tuple)):
        return (
            type(before) is type(after)
            and len(before) == len(after)
            and all(_unchanged(b, a) for b, a in zip(before, after))
        )
    if hasattr(before, "shape") and (hasattr(before, "toarray") or hasattr(before, "dtype")):
        b, a = as_array(before), as_array(after)
        return b.shape == a.shape and b.dtype == a.dtype and np.array_equal(b, a, equal_nan=True)
    return True


def _fmt(x: Any) -> str:
    x = complex(x)
    if x.imag == 0:
        return f"{x.real:.4g}"
    return f"{x.real:.4g}{x.imag:+.4g}j"


def _factor(c: float) -> str:
    """``c`` with 4 significant digits, and as 1/k or k when it is (close to) one."""
    text = f"{c:.4g}"
    k = 1 / c
    if abs(c) < 0.5 and abs(k - round(k)) < 1e-6 * abs(k):
        return f"{text} (= 1/{round(k)})"
    return text


@dataclass
class CaseResult:
    label: str
    passed: bool
    detail: str = ""


@dataclass
class Cases:
    """The cases of one check run. ``rng`` is seeded, so every run is reproducible;
    ``hidden`` selects the instructor's extra cases."""

    rng: np.random.Generator
    hidden: bool = False
    guard: tuple[tuple[str, ...], tuple[str, ...], str] = ((), (), "this")
    results: list[CaseResult] = field(default_factory=list)

    def grid(self, visible: Sequence[Any], hidden: Sequence[Any]) -> list[Any]:
        """The visible cases, or the hidden ones when the instructor's cases run."""
        return list(hidden if self.hidden else visible)

    def call(self, label: str, func: Callable[..., Any], *args: Any) -> Any:
        """Call the student's function under the forbidden-call guard.

        Records a failed case and returns None when it raises, returns None, calls a
        forbidden function or changes one of its arguments in place; a check only has to skip
        ``None``.
        """
        before = [_snapshot(a) for a in args]
        forbid, allow, task = self.guard
        guard = _Guard(forbid, allow)
        try:
            with guard:
                result = func(*args)
        except NotImplementedError as exc:
            raise _StudentStub() from exc
        except Exception as exc:  # any error in student code is a failed case, not a crash
            if guard.violation is None:
                self.fail(label, f"raised {type(exc).__name__}: {exc}")
                return None
            result = None
        if guard.violation is not None:
            self.fail(
                label,
                f"this exercise asks you to write {task} yourself; "
                f"{guard.violation} is not allowed here",
            )
            return None
        names = _parameter_names(func, len(args))
        for name, old, new in zip(names, before, args):
            if not _unchanged(old, new):
                self.fail(
                    label,
                    f"your function changed its argument `{name}` in place (an in-place sort, "
                    "`/=`, `-=`, a shape or masked assignment?): work on a copy and leave the "
                    "inputs as they were",
                )
                return None
        if result is None:
            self.fail(label, "your function returned None (missing `return`?)")
        return result

    def record(self, label: str, passed: bool, detail: str = "") -> bool:
        self.results.append(CaseResult(label, bool(passed), detail))
        return bool(passed)

    def fail(self, label: str, detail: str) -> bool:
        return self.record(label, False, detail)

    def array(self, label: str, got: Any, *, real: bool = False) -> np.ndarray | None:
        """The answer as a finite numeric ndarray, or a recorded failure saying why.

        ``real``: the task asks for a real result, so a complex answer (a forgotten ``.real``)
        fails even when its imaginary part is zero.
        """
        if got is None:
            self.fail(label, "your function returned None (missing `return`?)")
            return None
        try:
            g = as_array(got)
        except Exception as exc:
            self.fail(label, f"could not turn the answer into an array ({exc})")
            return None
        if not np.issubdtype(g.dtype, np.number) and g.dtype != bool:
            self.fail(label, f"answer has dtype {g.dtype}, expected numbers")
            return None
        if real and np.iscomplexobj(g):
            self.fail(
                label,
                f"the answer is complex ({g.dtype}) but the result is real: "
                "return the real part (.real) of the inverse FFT",
            )
            return None
        if np.issubdtype(g.dtype, np.inexact) and np.finfo(g.dtype).bits < 32:
            self.fail(label, f"answer is {g.dtype}: too little precision, use float64")
            return None
        return g

    def compare(
        self,
        label: str,
        got: Any,
        expected: Any,
        *,
        rtol: float = 1e-10,
        exact_shape: bool = True,
        transposed: str = "",
    ) -> bool:
        """Compare an answer with the reference: kind, shape, then values within tolerance.

        The tolerance is ``rtol * max(1, max|expected|)``; a float32 answer is judged at what
        float32 reaches (``64 eps`` relative), never a float64 answer. A complex answer fails
        where the reference is real. A failure names a transposed answer (``transposed`` says
        what that mistake is in this task) and a constant multiple of the reference (with the
        factor).
        """
        e = as_array(expected)
        g = self.array(label, got, real=not np.iscomplexobj(e))
        if g is None:
            return False
        if g.shape != e.shape and (exact_shape or g.size != e.size):
            why = f"shape {g.shape}, expected {e.shape}"
            if g.ndim == 2 and g.shape == e.shape[::-1]:
                why += " (transposed" + (f": {transposed}" if transposed else "") + "?)"
            return self.fail(label, why)
        g = g.reshape(e.shape)
        if not np.all(np.isfinite(g)):
            return self.fail(label, "answer contains NaN or inf")
        if np.issubdtype(g.dtype, np.inexact) and np.finfo(g.dtype).bits == 32:
            rtol = max(rtol, 64 * float(np.finfo(np.float32).eps))
        scale = float(np.max(np.abs(e))) if e.size else 0.0
        tol = rtol * max(1.0, scale)
        err = np.abs(g - e)
        if not e.size or float(err.max()) <= tol:
            return self.record(label, True)
        return self.fail(label, _diagnose(g, e, err, tol, transposed))

    def compare_scalar(
        self, label: str, got: Any, expected: Any, *, kind: str = "real", rtol: float = 1e-10
    ) -> bool:
        """Compare one number. ``kind``: ``"int"`` (a Python or NumPy integer, not a float that
        happens to be whole, not a bool), ``"bool"`` (True/False) or ``"real"`` (a real number:
        a float, an int, a 0-d or one-element array or tensor)."""
        if got is None:
            return self.fail(label, "your function returned None (missing `return`?)")
        if kind == "int":
            if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
                return self.fail(label, f"expected an integer (int), got {got!r}")
            return self.record(label, int(got) == expected, f"got {got}, expected {expected}")
        if kind == "bool":
            if not isinstance(got, (bool, np.bool_)):
                return self.fail(label, f"return True or False, got {got!r}")
            return self.record(
                label, bool(got) == expected, f"returned {bool(got)}, expected {expected}"
            )
        arr = self.array(label, got, real=True)
        if arr is None:
            return False
        if arr.size != 1:
            return self.fail(label, f"expected one number, got an array of shape {arr.shape}")
        value = float(arr.reshape(()))
        if not math.isfinite(value):
            return self.fail(label, f"got {value}, expected a finite number")
        if np.issubdtype(arr.dtype, np.floating) and np.finfo(arr.dtype).bits == 32:
            rtol = max(rtol, 64 * float(np.finfo(np.float32).eps))
        ok = abs(value - expected) <= rtol * max(1.0, abs(expected))
        return self.record(label, ok, f"got {value:.8g}, expected {expected:.8g}")

    def compare_eigenvalues(
        self, label: str, got: Any, expected: Any, *, shape: tuple[int, ...] | None = None
    ) -> bool:
        """Compare eigenvalues as multisets (never by position), with
        :func:`convlab.checks.eigenvalues_match` and its default tolerance.

        ``shape`` is the layout the answer must have (default: a 1-D vector with one entry per
        expected eigenvalue; e.g. ``(n1, n2)`` for an ``fft2`` layout).
        """
        from convlab.checks import eigenvalues_match

        lam = self.array(label, got)
        if lam is None:
            return False
        want = (np.size(expected),) if shape is None else tuple(shape)
        if lam.shape != want:
            return self.fail(
                label, f"expected eigenvalues in an array of shape {want}, got {lam.shape}"
            )
        try:  # e.g. float16 answers, refused by the checks' precision policy
            res = eigenvalues_match(lam.ravel(), np.ravel(expected))
        except (TypeError, ValueError) as exc:
            return self.fail(label, str(exc))
        if res.passed:
            return self.record(label, True)
        c = _multiple(lam.ravel(), np.ravel(expected), 1e-8)
        why = res.reason or ""
        if c is not None:
            why = f"your eigenvalues are {_factor(c)} times the expected ones; " + why
        return self.fail(label, why)


def _multiple(g: np.ndarray, e: np.ndarray, tol: float) -> complex | float | None:
    """c when ``g`` is (to ``tol`` relative) ``c * e`` as a multiset or entrywise, c != 1."""
    ee = float(np.vdot(e, e).real)
    if ee == 0:
        return None
    c = np.vdot(e, g) / ee
    if abs(c - 1) < 1e-6 or abs(c) < 1e-12:
        return None
    if np.linalg.norm(g - c * e) <= tol * np.sqrt(ee):
        return float(c.real) if abs(c.imag) < 1e-12 else complex(c)
    return None


def _diagnose(g: np.ndarray, e: np.ndarray, err: np.ndarray, tol: float, transposed: str) -> str:
    """Why ``g`` differs from ``e``: a transpose, a constant multiple, or the largest error."""
    if g.ndim == 2 and g.shape[0] == g.shape[1] and np.abs(g.T - e).max() <= tol:
        return "your answer equals the expected one TRANSPOSED" + (
            f" ({transposed})" if transposed else ""
        )
    c = _multiple(g.ravel(), e.ravel(), max(tol, 1e-10) / max(1.0, float(np.abs(e).max())))
    if c is not None:
        return (
            f"your answer is {_factor(c) if isinstance(c, float) else _fmt(c)} times the "
            "expected one (a missing or extra scale factor or sign?)"
        )
    idx = np.unravel_index(int(np.argmax(err)), e.shape)
    return (
        f"values differ: max abs error {float(err.max()):.2e} at index {tuple(map(int, idx))}"
        f" (got {_fmt(g[idx])}, expected {_fmt(e[idx])}; tolerance {tol:.1e})"
    )


def _parameter_names(func: Callable[..., Any], n: int) -> list[str]:
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"#{i + 1}" for i in range(n)]


# ---------------------------------------------------------------------------------------------
# The report and the entry point
# ---------------------------------------------------------------------------------------------


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
    quiet : do not print the success line.

    Raises :class:`CheckFailed` (an ``AssertionError``) if any case fails and
    :class:`NotDoneYet` (a ``NotImplementedError``) if the student's code is still the stub;
    in a notebook each renders as its message only. Returns nothing, so a passing grade cell
    shows only the printed success line.
    """
    s = _lookup(name)
    cases = Cases(
        rng=np.random.default_rng((1234 if hidden else 0) if seed is None else seed),
        hidden=hidden,
        guard=(s.forbid, s.allow, s.task),
    )
    try:
        s.func(obj, cases)
    except _StudentStub:
        raise NotDoneYet(
            f"… {name}: not done yet - replace `raise NotImplementedError()` with your code "
            "and run the cell again."
        ) from None
    if not cases.results:
        raise RuntimeError(f"check {name!r} ran no case (a bug in the grader)")
    failed = [r for r in cases.results if not r.passed]
    report = CheckReport(
        name=name,
        passed=not failed,
        n_cases=len(cases.results),
        n_failed=len(failed),
        first_failure=failed[0] if failed else None,
        hint=s.hint,
    )
    if failed:
        raise CheckFailed(str(report)) from None
    if not quiet:
        print(report)
