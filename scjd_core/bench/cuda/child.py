"""torch.compile of the student in a child process, killed (with its group) at a hard time cap."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from scjd_core.bench.cuda.common import autocast, error_text
from scjd_core.bench.cuda.inputs import realistic_window_sequence, synthetic_windows
from scjd_core.bench.cuda.models import lifted_poses, load_model
from scjd_core.bench.cuda.settings import REPO
from scjd_core.bench.cuda.timing import Clock
from scjd_core.bench.kit import latencies_ms

CHILD_PREFIX = "BENCH_CUDA_CHILD "
#: Process groups of running torch.compile children (the watchdog kills them before exiting).
CHILD_GROUPS: set[int] = set()


def run_child(spec: dict[str, Any], cap_s: float) -> dict[str, Any]:
    """Run :func:`compile_child` in a new process group, killed (the whole group) after ``cap_s``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, "-m", "scjd_core.bench.cuda", "--compile-child", json.dumps(spec)]
    lines: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err_file:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err_file, text=True, env=env, start_new_session=True, cwd=str(REPO)
        )
        CHILD_GROUPS.add(proc.pid)

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(CHILD_PREFIX):
                    with contextlib.suppress(ValueError):
                        lines.append(json.loads(line[len(CHILD_PREFIX) :]))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=max(1.0, cap_s))
        except subprocess.TimeoutExpired:
            timed_out = True
        kill_group(proc.pid)  # the child's group: it and its compile workers
        proc.wait()
        CHILD_GROUPS.discard(proc.pid)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        err_file.seek(0)
        stderr = err_file.read()
    tail = " | ".join(line.strip() for line in stderr.strip().splitlines()[-3:])[-400:]
    errors = [r["error"] for r in lines if r.get("stage") == "error"]
    rc = proc.returncode
    error = errors[0] if errors else ("" if timed_out or rc == 0 else f"child exited with code {rc}")
    return {
        "lines": lines,
        "timed_out": timed_out,
        "rc": rc,
        "error": error,
        "stderr_tail": tail,
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _emit(**record: Any) -> None:
    print(CHILD_PREFIX + json.dumps(record), flush=True)


def compile_child(spec: dict[str, Any]) -> int:
    """The torch.compile measurements (run in a child process by :func:`run_child`)."""
    try:
        import torch

        device = spec["device"]
        if device == "cpu":
            torch.set_num_threads(1)
        backend, _ = load_model("student", device, spec.get("checkpoint"))
        fwd, window = lifted_poses(backend.model), backend.window
        _compile_batched(torch, fwd, window, spec)  # returns before streaming: its batch is freed
        if spec.get("stream"):
            torch._dynamo.reset()
            _compile_stream(torch, fwd, window, spec)
        return 0
    except Exception as exc:
        _emit(stage="error", error=error_text(exc, 400))
        traceback.print_exc()
        return 1


def _compile_options(spec: dict[str, Any], mode_key: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dynamic": False, "backend": spec["backend"]}
    if spec["backend"] == "inductor" and spec.get(mode_key):
        kwargs["mode"] = spec[mode_key]
    return kwargs


def _compile_batched(torch: Any, fwd: Callable[[Any], Any], window: int, spec: dict[str, Any]) -> None:
    """Compile ``fwd`` for one batch; emit its rate, eager's (the better of two) and the compile time."""
    device, label, batch = spec["device"], spec["label"], int(spec["batch"])
    base = torch.from_numpy(synthetic_windows(window, min(batch, 64))).to(device)
    x = base.repeat(-(-batch // base.shape[0]), 1, 1, 1)[:batch].contiguous()
    clock = Clock(torch, device)

    def run(fn: Callable[[Any], Any], inp: Any) -> Any:
        with torch.inference_mode(), autocast(torch, device, label):
            return fn(inp)

    eager_t = clock.per_call_s(lambda: run(fwd, x), spec["repeats"], spec["run_s"])
    t0 = time.perf_counter()
    compiled = torch.compile(fwd, **_compile_options(spec, "mode"))
    out = run(compiled, x)
    clock.sync()
    compile_s = time.perf_counter() - t0
    ref = run(fwd, x)
    max_abs = float((out.float() - ref.float()).abs().max())
    t = clock.per_call_s(lambda: run(compiled, x), spec["repeats"], spec["run_s"])
    again = clock.per_call_s(lambda: run(fwd, x), spec["repeats"], spec["run_s"])
    eager_t = min(eager_t, again, key=lambda e: e["median"])  # the better eager: a conservative verdict
    _emit(
        stage="compiled",
        fps=batch * window / t["median"],
        eager_fps=batch * window / eager_t["median"],
        compile_s=compile_s,
        max_abs_m=max_abs,
        batch=batch,
        label=label,
    )


def _compile_stream(torch: Any, fwd: Callable[[Any], Any], window: int, spec: dict[str, Any]) -> None:
    """Compile ``fwd`` for live steps (one window, to the device and back); emit its latency and eager's."""
    import numpy as np

    device = spec["device"]
    seq = realistic_window_sequence(window)
    streamed = torch.compile(fwd, **_compile_options(spec, "stream_mode"))

    def step(fn: Callable[[Any], Any]) -> Any:
        with torch.inference_mode():
            inp = torch.from_numpy(seq.normalized().astype(np.float32)[None]).to(device)
            return fn(inp).float().cpu().numpy()

    t0 = time.perf_counter()
    for _ in range(3):  # cudagraph trees record on the first calls
        got = step(streamed)
    compile_s = time.perf_counter() - t0
    ref_np = step(fwd)
    eager = latencies_ms(lambda: step(fwd), spec["stream_calls"])
    comp = latencies_ms(lambda: step(streamed), spec["stream_calls"])
    _emit(
        stage="stream",
        ms=comp["median"],
        eager_ms=eager["median"],
        compile_s=compile_s,
        max_abs_m=float(np.abs(got - ref_np).max()),
    )
