"""The GPU path without a GPU: TF32 switch and emulation, the tolerance policy, the GPU check,
recorded runs, and notebook 08's committed outputs (no device named outside ignored cells)."""

from __future__ import annotations

import importlib.util
import json
import re

import nbformat
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT

from convlab import gpubench as G
from convlab import transposed as T
from convlab.device import (
    FP32,
    FP64,
    TF32,
    dot_error_bound,
    relative_error,
    round_to_tf32,
    supports_dtype,
    tf32,
    tf32_capable,
    tolerance,
)

# ----------------------------------------------------------------------------------------------
# TF32 switches and emulation
# ----------------------------------------------------------------------------------------------


def _flags() -> dict[str, object]:
    """Every TF32-related setting, read through the API that can read it without raising."""
    out: dict[str, object] = {}
    for name, get in {
        "cudnn.conv": lambda: torch.backends.cudnn.conv.fp32_precision,
        "cudnn.rnn": lambda: torch.backends.cudnn.rnn.fp32_precision,
        "cuda.matmul": lambda: torch.backends.cuda.matmul.fp32_precision,
        "legacy.cudnn": lambda: torch.backends.cudnn.allow_tf32,
        "legacy.matmul": lambda: torch.backends.cuda.matmul.allow_tf32,
        "matmul_precision": torch.get_float32_matmul_precision,
    }.items():
        try:
            out[name] = get()
        except (AttributeError, RuntimeError) as exc:  # not in this torch / mixed-API state
            out[name] = type(exc).__name__
    return out


@pytest.mark.parametrize("enabled", [False, True])
def test_tf32_switches_both_apis_and_restores(enabled):
    before = _flags()
    with tf32(enabled):
        inside = _flags()
    assert _flags() == before
    assert inside["legacy.cudnn"] is enabled and inside["legacy.matmul"] is enabled
    if hasattr(torch.backends.cudnn, "conv"):  # torch >= 2.9: the per-backend settings
        want = "tf32" if enabled else "ieee"
        assert inside["cudnn.conv"] == inside["cuda.matmul"] == inside["cudnn.rnn"] == want


def test_tf32_restores_a_user_setting_and_after_an_exception():
    torch.backends.cuda.matmul.allow_tf32 = True  # a user who turned matmul TF32 on
    try:
        before = _flags()
        with pytest.raises(ZeroDivisionError), tf32(False):
            1 / 0  # noqa: B018
        assert _flags() == before
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False
    with pytest.raises(TypeError, match="enabled"):
        with tf32("off"):
            pass


def test_tf32_on_a_torch_with_only_the_legacy_flags(monkeypatch):
    from convlab import device

    monkeypatch.setattr(device, "_precision_settings", dict)  # torch < 2.9: no new API
    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    with tf32(False):
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before


def test_timing_skips_a_size_that_does_not_fit(monkeypatch, capsys):
    def oom(size, *args):
        if size[3] > 4:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(size, *args)

    real = G._time_size
    monkeypatch.setattr(G, "_time_size", oom)
    rows = G.timing_table("cpu", [(1, 2, 2, 4, 3, 2), (1, 2, 2, 8, 3, 2)], repeats=1, warmup=0)
    assert {tuple(r["size"]) for r in rows} == {(1, 2, 2, 4, 3, 2)}
    assert "n=8, k=3, s=2 skipped, out of device memory" in capsys.readouterr().out


def test_round_to_tf32_is_round_to_nearest_even_on_10_bits():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10_000, generator=g) * 10.0 ** torch.randint(-20, 20, (10_000,), generator=g)
    r = round_to_tf32(x)
    assert (r.view(torch.int32) & 0x1FFF == 0).all(), "13 low mantissa bits must be cleared"
    # nearest: within half a 10-bit ulp of x (relative 2^-11 of the leading power of two)
    ulp = 2.0 ** (torch.frexp(x.double()).exponent - 11)  # one ulp of a 10-bit mantissa
    assert ((r.double() - x.double()).abs() <= ulp / 2).all()
    ties = torch.tensor([1 + 2**-11, 1 + 3 * 2**-11, -(1 + 2**-11)])
    assert round_to_tf32(ties).tolist() == [1.0, 1 + 2**-9, -1.0], "ties go to even"
    with pytest.raises(TypeError, match="float32"):
        round_to_tf32(torch.ones(2, dtype=torch.float64))


# ----------------------------------------------------------------------------------------------
# The tolerance policy, tested with the emulation
# ----------------------------------------------------------------------------------------------

CASES = [(s, p, d, a) for s, p, d, a, _ in G.CONFIGS if _ == (3, 3)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("conv", CASES, ids=str)
def test_tf32_tolerance_accepts_tf32_results_fp32_tolerance_rejects_them(seed, conv):
    s, p, d, a = conv
    cfg = dict(stride=s, padding=p, dilation=d, output_padding=a)
    g = torch.Generator().manual_seed(seed)
    Y, w = torch.randn(2, 3, 6, 5, generator=g), torch.randn(3, 4, 3, 3, generator=g)
    M, n = G.magnitude(Y, w, **cfg), 3 * 3 * 3
    fp32_lib = F.conv_transpose2d(Y, w, **cfg)
    tf32_lib = F.conv_transpose2d(round_to_tf32(Y), round_to_tf32(w), **cfg)  # emulated TF32
    loop = T.conv_transpose(Y, w, method="loop", **cfg)  # full FP32
    assert relative_error(loop, fp32_lib, M) <= tolerance(n, FP32), "FP32 pair must pass FP32"
    err = relative_error(loop, tf32_lib, M)
    assert err <= tolerance(n, TF32), "the TF32 tolerance must accept a TF32 result"
    assert err > tolerance(n, FP32), "the FP32 tolerance must reject a TF32 result"
    # and a subtly wrong implementation (kernel not flipped) fails even the TF32 tolerance
    wrong = F.conv_transpose2d(Y, w.flip(-1, -2), **cfg)
    assert relative_error(wrong, tf32_lib, M) > tolerance(n, TF32)


def test_float64_tolerance_accepts_float64_and_rejects_float32():
    g = torch.Generator().manual_seed(1)
    Y, w = torch.randn(2, 3, 6, 5, generator=g), torch.randn(3, 4, 3, 3, generator=g)
    Y64, w64 = Y.double(), w.double()
    M, n = G.magnitude(Y, w, stride=2), 27
    ref = F.conv_transpose2d(Y64, w64, stride=2)
    assert relative_error(T.conv_transpose(Y64, w64, stride=2), ref, M) <= tolerance(n, FP64)
    assert relative_error(F.conv_transpose2d(Y, w, stride=2), ref, M) > tolerance(n, FP64)


def test_error_bound_formula_and_validation():
    assert dot_error_bound(1, FP32) == 2.0**-23
    assert dot_error_bound(10, TF32) == 2 * 2.0**-10 + 10 * 2.0**-23
    assert tolerance(5, FP64) == 2 * 5 * 2.0**-52
    with pytest.raises(ValueError, match="n_terms"):
        dot_error_bound(0, FP32)
    with pytest.raises(TypeError, match="arithmetic"):
        dot_error_bound(3, "fp32")
    with pytest.raises(ValueError, match="shape"):
        relative_error(torch.ones(2), torch.ones(3), torch.ones(3))


def test_device_capabilities_on_cpu():
    assert supports_dtype("cpu", torch.float64) and supports_dtype("cpu", torch.float32)
    assert not tf32_capable("cpu")


# ----------------------------------------------------------------------------------------------
# The correctness matrix
# ----------------------------------------------------------------------------------------------


def test_correctness_matrix_passes_on_cpu_with_emulated_tf32():
    rows = G.correctness_matrix("cpu")
    assert len(rows) == len(T.METHODS) * len(G.CONFIGS) * 3
    assert not G.failures(rows)
    assert {r["tf32"] for r in rows if r["precision"] == "tf32"} == {"emulated"}


def test_correctness_matrix_rejects_a_wrong_method(monkeypatch):
    def unflipped(Y, w, bias=None, **conv):  # zero insertion without flipping the kernel
        return T.conv_transpose_zero_insertion(Y, w.flip(-1, -2), bias, **conv)

    monkeypatch.setitem(T._IMPLS, "zero_insertion", unflipped)
    bad = G.failures(G.correctness_matrix("cpu", methods=("zero_insertion", "fold")))
    assert bad and {r["method"] for r in bad} == {"zero_insertion"}
    assert {r["precision"] for r in bad} == {"float32", "tf32", "float64"}


def test_correctness_matrix_skips_float64_where_the_device_lacks_it(monkeypatch):
    monkeypatch.setattr(G, "supports_dtype", lambda dev, dtype: dtype != torch.float64)  # MPS
    rows = G.correctness_matrix("cpu", methods=("fold",))
    f64 = [r for r in rows if r["precision"] == "float64"]
    assert f64 and all(r["passed"] is None and "float64" in r["skipped"] for r in f64)
    assert not G.failures(rows)


# ----------------------------------------------------------------------------------------------
# Recorded runs: the format takes a run from another machine without code changes
# ----------------------------------------------------------------------------------------------


def _synthetic_run(date: str, dev_type: str, name: str, *, quick: bool = False) -> dict:
    timing = []
    for size in [(1, 4, 4, 8, 3, 2), (8, 64, 64, 256, 3, 2)]:
        for m, t in {"taps": 3e-3, "fold": 2e-3, "zero_insertion": 1.5e-3, "torch": 5e-4}.items():
            timing.append({"size": list(size), "method": m, "median_s": t, "times_s": [t] * 3})
            timing[-1] |= {"ratio": t / 5e-4, "gflops": G.cost_flops(size) / t / 1e9, "gbs": 1.0}
    return {
        "format": G.FORMAT,
        "version": G.VERSION,
        "date": date,
        "quick": quick,
        "device": {
            "type": dev_type,
            "name": name,
            "torch": "9.9.0",
            "cuda": "99.0",
            "cudnn": 99000,
            "capability": [9, 0],
            "peak_gbs": 3000.0,
            "peak_gflops_fp32": 60000.0,
        },
        "correctness": [{"method": "fold", "precision": "tf32", "passed": True}],
        "timing": timing,
        "memory": {"size": [8, 16, 16, 64, 3, 2], "peak_bytes": {"fold": 2**26, "torch": 2**23}},
        "determinism": [
            {"mode": mode, "method": "torch", "runs": 5, "repeatable_forward": True}
            | {"repeatable_grad_input": True, "repeatable_grad_weight": mode != "default"}
            | {"max_spread_grad_weight": 3e-6 if mode == "default" else 0.0}
            for mode in ("default", "deterministic")
        ],
    }


def test_a_recorded_run_dropped_in_is_shown(tmp_path, capsys):
    assert G.show_recorded(tmp_path) is None
    assert "No recorded GPU run" in capsys.readouterr().out
    runs = {
        "a": _synthetic_run("2030-01-01T00:00:00+00:00", "cuda", "Older GPU"),
        "b": _synthetic_run("2030-02-01T00:00:00+00:00", "cuda", "Synthetic H100"),
        "c": _synthetic_run("2030-03-01T00:00:00+00:00", "cpu", "a CPU"),
        "d": _synthetic_run("2030-04-01T00:00:00+00:00", "cuda", "quick one", quick=True),
    }
    for sub, run in runs.items():
        G.save_run(run, tmp_path / sub)
    shown = G.show_recorded(tmp_path)
    out = capsys.readouterr().out
    assert shown["device"]["name"] == "Synthetic H100"
    assert "RECORDED" in out and "Synthetic H100" in out and "2030-02-01" in out
    assert "cuDNN 99000" in out and "of peak bandwidth" in out and "x the library's time" in out
    assert "us per operator call (21 calls)" in out, "taps: 21 launches at k = 3"
    assert "%peak FLOP" in out and "%peak BW" in out
    assert "%peak" not in G.format_table(shown["timing"]), "no device record: no peak columns"
    assert "default mode: torch (spread 3.0e-06); deterministic mode repeatable: True" in out
    assert "fold 8.0x, torch 1.0x" in out, "peak memory over the 8 MiB output"
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / G.RESULT_FILE).write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a convlab-gpu-check"):
        G.load_runs(tmp_path)


# ----------------------------------------------------------------------------------------------
# benchmarks/gpu_check.py, reduced CPU run (in process; a one-cell stand-in for notebook 08)
# ----------------------------------------------------------------------------------------------


def _gpu_check_module():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks/gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_check_writes_json_plot_and_notebook(tmp_path, monkeypatch):
    gc = _gpu_check_module()
    tiny = tmp_path / "08_gpu_transposed_conv.ipynb"
    one_cell = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 + 1)")])
    nbformat.write(one_cell, tiny)
    monkeypatch.setattr(gc, "NOTEBOOK", tiny)
    out = tmp_path / "run"
    assert gc.main(["--out", str(out), "--device", "cpu"]) == 0
    run = json.loads((out / G.RESULT_FILE).read_text())
    assert run["quick"] and run["device"]["type"] == "cpu" and not G.failures(run["correctness"])
    assert {r["method"] for r in run["timing"]} == set(T.METHODS)
    assert set(run["memory"]["peak_bytes"].values()) == {None}  # n/a off CUDA
    assert all(r["repeatable_forward"] for r in run["determinism"])
    assert (out / "timing.png").stat().st_size > 0
    executed = nbformat.read(out / tiny.name, as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "2\n"
    assert G.newest_recorded(tmp_path) is None  # a quick CPU run is never shown as recorded


def test_gpu_check_fails_on_a_correctness_failure(tmp_path, monkeypatch):
    gc = _gpu_check_module()
    monkeypatch.setattr(G, "correctness_matrix", lambda dev: [{"passed": False, "method": "x"}])
    monkeypatch.setattr(G, "CPU_SIZES", ((1, 2, 2, 4, 3, 2),))
    assert gc.main(["--out", str(tmp_path), "--device", "cpu", "--no-notebook"]) == 1


# ----------------------------------------------------------------------------------------------
# Notebook 08: no committed output names a device outside ignored or sanitised cells
# ----------------------------------------------------------------------------------------------

DEVICE_WORDS = re.compile(r"\b(cpu|cuda|mps|gpu|nvidia|apple)\b", re.IGNORECASE)


def _sanitisers() -> list[tuple[re.Pattern, str]]:
    text = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    pairs = re.findall(r"^regex:\s*(.*)$\s*^replace:\s*(.*)$", text, re.MULTILINE)
    return [(re.compile(r), rep) for r, rep in pairs]


def device_named_outside_ignored(nb: dict) -> list[str]:
    """Committed output lines naming a device kind in cells nbval compares."""
    subs, found = _sanitisers(), []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "NBVAL_IGNORE_OUTPUT" in source:
            continue
        if "nbval-ignore-output" in tags or "NBVAL_SKIP" in source:
            continue
        for out in cell.get("outputs", []):
            texts = [out.get("text", ""), out.get("data", {}).get("text/plain", "")]
            texts += out.get("traceback", [])
            for text in texts:
                text = "".join(text)
                for regex, rep in subs:
                    text = regex.sub(rep, text)
                found += [ln for ln in text.splitlines() if DEVICE_WORDS.search(ln)]
    return found


def test_notebook_08_names_no_device_outside_ignored_cells():
    nb = json.loads((ROOT / "notebooks" / "08_gpu_transposed_conv.ipynb").read_text())
    assert device_named_outside_ignored(nb) == []
    # the check can fail: the old notebook's unignored "No GPU found" / "on cpu" lines
    code = nbformat.v4.new_code_cell
    bad = nbformat.v4.new_notebook(cells=[code("print(dev)"), code("# NBVAL_IGNORE_OUTPUT\nx")])
    for cell, text in zip(bad.cells, ["agree on cpu : True\n", "on cuda\n"]):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    assert device_named_outside_ignored(bad) == ["agree on cpu : True"]
