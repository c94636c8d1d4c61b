"""``scripts/bench_cuda.py`` (the CUDA benchmark) on a machine without a GPU.

The no-CUDA path (one line, a JSON saying so, exit 0) and the hidden forced-CPU run at
tiny sizes, which goes through every measurement except CUDA graphs and torch.compile,
both with MediaPipe and PySide6 made unimportable (the GPU machine has neither).
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scjd_core.bench import cuda as bench_cuda

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_cuda.py"


@pytest.fixture
def no_gui_no_mediapipe(monkeypatch):
    for name in ("mediapipe", "PySide6", "pyqtgraph", "OpenGL"):
        monkeypatch.setitem(sys.modules, name, None)


def test_no_cuda_prints_one_line_writes_json_and_exits_0(tmp_path, monkeypatch, capsys, no_gui_no_mediapipe):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out_json, out_md = tmp_path / "cuda.json", tmp_path / "cuda.md"
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--json", str(out_json), "--markdown", str(out_md)])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert stop.value.code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench_cuda: no CUDA GPU available")
    data = json.loads(out_json.read_text())
    assert data["cuda"] is False and data["rows"] == [] and "no CUDA" in data["message"]
    assert data["machine_note"] == bench_cuda.MACHINE_NOTE
    assert out_md.read_text().startswith("## CUDA")


def test_device_cpu_needs_force(capsys):
    assert bench_cuda.main(["--device", "cpu"]) == 2
    assert "--force" in capsys.readouterr().err


def test_forced_cpu_run_exercises_every_measurement(tmp_path, no_gui_no_mediapipe):
    out_json, out_md = tmp_path / "cpu.json", tmp_path / "cpu.md"
    argv = ["--device", "cpu", "--force", "--models", "student", "--quiet", "--json", str(out_json)]
    assert bench_cuda.main([*argv, "--markdown", str(out_md)]) == 0
    data = json.loads(out_json.read_text())
    assert data["forced_cpu"] is True and data["cuda"] is False and not data["aborted"]
    assert data["errors"] == {}, data["errors"]
    names = {r["name"]: r for r in data["rows"]}
    for label in ("fp32", "fp16", "bf16"):
        assert names[f"student batched {label}"]["value"] > 0
        assert names[f"student streaming {label} latency per new frame"]["value"] > 0
    for label in ("fp16", "bf16"):
        assert np.isfinite(names[f"student {label} parity (max abs vs fp32)"]["value"])
    assert names["student host<->device copies per live step"]["value"] == 0  # no device on the CPU
    assert names["student lift() from numpy fp32"]["value"] > 0
    row = data["rows"][0]
    assert row["machine_note"] == bench_cuda.MACHINE_NOTE and row["torch"] == torch.__version__
    assert row["python"] and row["device"]
    md = out_md.read_text()
    assert md.startswith("## CUDA") and "Forced CPU test run" in md and "| student batched fp32" in md


def test_copies_are_attributed_from_the_profiler_trace():
    def span(cat, name, ts, dur, **args):
        return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "args": args}

    trace = {"traceEvents": []}
    for step in range(2):  # two live steps: window in, an extra 4-byte copy, poses out
        t = 1000.0 * step
        trace["traceEvents"] += [
            span("python_function", "scjd_core/backends/lifter.py(151): _lift_windows", t, 900),
            span("python_function", "scjd_core/models/student.py(61): interpolation_weights", t + 300, 50),
            span("cpu_op", "aten::copy_", t + 10, 20),
            span("cuda_runtime", "cudaMemcpyAsync", t + 12, 5, correlation=10 * step + 1),
            span("gpu_memcpy", "Memcpy HtoD (Pageable -> Device)", t + 15, 2, correlation=10 * step + 1, bytes=16524),
            span("cuda_runtime", "cudaMemcpyAsync", t + 310, 5, correlation=10 * step + 2),
            span("gpu_memcpy", "Memcpy HtoD (Pageable -> Device)", t + 320, 1, correlation=10 * step + 2, bytes=4),
            span("cuda_runtime", "cudaMemcpyAsync", t + 800, 5, correlation=10 * step + 3),
            span("gpu_memcpy", "Memcpy DtoH (Device -> Pageable)", t + 801, 2, correlation=10 * step + 3, bytes=16524),
            span("gpu_memcpy", "Memcpy DtoD (Device -> Device)", t + 850, 1, correlation=99, bytes=8),
        ]
    groups = bench_cuda.attribute_copies(trace, steps=2)
    assert sum(g["per_step"] for g in groups) == 3  # DtoD is not a host<->device copy
    extra = next(g for g in groups if g["bytes"] == 4)
    assert extra["where"].endswith("interpolation_weights") and extra["direction"] == "HtoD"
    window = next(g for g in groups if g["direction"] == "HtoD" and g["bytes"] == 16524)
    assert window["op"] == "aten::copy_" and window["memory"] == "Pageable -> Device"
    text = bench_cuda.describe_copies(groups, 16524)
    assert "the input window" in text and "the window's poses out" in text and "EXTRA" in text


def test_cached_interpolation_weights_give_the_same_poses():
    from scjd_core.bench.kit import make_backend

    backend, _ = make_backend("student", "torch", "cpu")
    model = backend.model
    idx = model.sample_indices(0)
    x = torch.from_numpy(bench_cuda.synthetic_windows(backend.window, 2))
    with torch.inference_mode():
        ref = model(x[:, idx], idx, return_attention=False).pose
        with bench_cuda.cached_interpolation_weights(idx, backend.window):
            got = model(x[:, idx], idx, return_attention=False).pose
    assert torch.equal(ref, got)
    assert bench_cuda.max_windows(model) >= 16384  # the largest batch the GPU sweep asks for


def test_student_compiles_under_inference_mode_after_an_eager_call():
    """The H200 run's torch.compile row failed: the mirror's joint permutation was a numpy
    array that dynamo turned into a guarded input, and its guard failed under inference_mode
    once an eager call had cached it. The eager backend traces the same graph without a
    compiler, so this runs on any CPU."""
    from scjd_core.bench.cuda.models import lifted_poses
    from scjd_core.bench.kit import make_backend

    torch._dynamo.reset()
    backend, _ = make_backend("student", "torch", "cpu")
    fwd = lifted_poses(backend.model)
    x = torch.from_numpy(bench_cuda.synthetic_windows(backend.window, 2))
    with torch.inference_mode():
        ref = fwd(x)  # caches the permutation as an inference tensor first, as the benchmark does
        got = torch.compile(fwd, dynamic=False, backend="eager")(x)
    torch._dynamo.reset()
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["student", "teacher"])
def test_graph_and_compile_time_the_poses_lift_gives(kind):
    """CUDA graphs and torch.compile wrap ``lifted_poses``: the same poses as the lifter's own
    forward, test-time flip included (they used to time the forward without it)."""
    from scjd_core.bench.cuda.models import lifted_poses
    from scjd_core.bench.kit import make_backend

    backend, _ = make_backend(kind, "torch", "cpu")
    assert backend.model.config.test_flip
    x = torch.from_numpy(bench_cuda.synthetic_windows(backend.window, 3))
    with torch.inference_mode():
        ref = backend._forward(x, False)[0]
        got = lifted_poses(backend.model)(x)
        unflipped = backend.model.forward_dense(x, return_attention=False, flip=False).pose
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-6)
    assert float((got - unflipped).abs().max()) > 1e-4
