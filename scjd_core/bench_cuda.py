"""CUDA benchmark of the lifters (``python scripts/bench_cuda.py``; rows of ``scjd bench`` on a GPU).

Lifting only: MediaPipe, Qt and an installed package are not needed (run from the
repository root with ``PYTHONPATH=.`` or through ``scripts/bench_cuda.py``). Measured for
the student and the teacher on one CUDA GPU:

* **batched throughput** (output frames/s): device-resident windows, ``inference_mode``,
  fp32 and fp16 / bf16 ``torch.autocast``, over a sweep of batch sizes (the best is
  reported, the sweep is in the note), timed with CUDA events (median of several runs
  after warm-up); and the same through :meth:`ModelBackend.lift` from numpy (host
  normalisation and both transfers included);
* **streaming latency per new frame**: one window per :meth:`ModelBackend.lift` call, as
  live mode lifts (host clock; each call ends synchronised because it returns numpy);
* **fp16 / bf16 parity**: max abs difference against fp32, in metres, on windows of the
  demo clip's real MediaPipe keypoints plus a synthetic stream (and GPU fp32 vs CPU fp32);
* **host<->device copies per live step**: memcpy events counted with ``torch.profiler``
  over several live steps and attributed (bytes, direction, the ``scjd_core`` function
  that issued each) from the profiler's trace;
* student only: **CUDA graphs** (captured in this process) and **torch.compile** (in a
  child process killed at a hard time cap, so compiling cannot eat the budget), each
  reported against eager in the same run and said to pay or not.

Every measurement is guarded (a failure becomes an error string in its row and the run
goes on) and the whole run keeps to ``--budget-s`` (a watchdog writes what was measured
and exits if something hangs). Without CUDA it prints one line, writes a JSON saying so
and exits 0. ``--device cpu --force`` (hidden) runs every step on the CPU at tiny sizes
to exercise the code path on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scjd_core.benchkit import Report, latencies_ms

#: fp16 / bf16 are "accurate enough" when they move no joint by more than this (metres).
FP16_TOLERANCE_M = 1e-3
#: Goal for the student's batched throughput on a GPU (output frames/s).
STUDENT_GPU_FPS_TARGET = 1_000_000.0
#: Copies one live step should make: the window in, the poses out.
LIVE_COPIES_TARGET = 2
MACHINE_NOTE = "lifting only, no MediaPipe on this machine"
SECTION = "cuda"
DTYPES = ("fp32", "fp16", "bf16")
KINDS = ("student", "teacher")
REPO = Path(__file__).resolve().parents[1]
KEYPOINTS = REPO / "tests" / "data" / "bench" / "pose_1_keypoints.npz"
CHILD_PREFIX = "BENCH_CUDA_CHILD "
#: Seconds kept back at the end of the budget for writing the outputs.
RESERVE_S = 3.0
#: The watchdog writes what was measured and exits this long after the budget ran out.
WATCHDOG_GRACE_S = 6.0
#: Tensors captured CUDA graphs read (kept for the life of the process).
_GRAPH_INPUTS: list[Any] = []
#: Process groups of running torch.compile children (the watchdog kills them before exiting).
_CHILD_GROUPS: set[int] = set()


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does (GPU full, GPU quick, or the tiny CPU test run)."""

    batches: dict[str, tuple[int, ...]]  # windows per forward, swept for throughput
    lift_batch: dict[str, int]  # windows per lift() call for the from-numpy row
    stream_calls: dict[str, int]
    parity_real: int  # at most this many windows of the demo clip's keypoints
    parity_synthetic: int  # plus this many synthetic windows
    copy_steps: int  # live steps profiled
    repeats: int  # timed runs per figure (median reported)
    run_s: float  # target length of one timed run (iterations adapt to it)


def sizes_for(device: str, quick: bool) -> Sizes:
    """The sizes of a run on ``device`` (``"cuda"`` or ``"cpu"``, the latter tiny)."""
    if device == "cpu":  # the forced test run: every path once, nothing meaningful
        return Sizes(
            batches={"student": (2, 3), "teacher": (1,)},
            lift_batch={"student": 3, "teacher": 1},
            stream_calls={"student": 2, "teacher": 2},
            parity_real=1,
            parity_synthetic=1,
            copy_steps=1,
            repeats=1,
            run_s=0.002,
        )
    if quick:
        return Sizes(
            batches={"student": (3840, 16384), "teacher": (1024,)},
            lift_batch={"student": 3840, "teacher": 1024},
            stream_calls={"student": 60, "teacher": 30},
            parity_real=40,
            parity_synthetic=64,
            copy_steps=5,
            repeats=3,
            run_s=0.05,
        )
    return Sizes(
        batches={"student": (1024, 3840, 16384), "teacher": (256, 1024, 4096)},
        lift_batch={"student": 3840, "teacher": 1024},
        stream_calls={"student": 200, "teacher": 100},
        parity_real=40,
        parity_synthetic=128,
        copy_steps=10,
        repeats=5,
        run_s=0.1,
    )


# --------------------------------------------------------------------------- helpers
def _error_text(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _autocast(torch: Any, device: str, label: str, cache: bool = True) -> Any:
    """``torch.autocast`` for ``"fp16"`` / ``"bf16"``, nothing for ``"fp32"``."""
    if label == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if label == "fp16" else torch.bfloat16
    return torch.autocast(device, dtype=dtype, cache_enabled=cache)


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


class Clock:
    """Per-call time of a function: CUDA events on a GPU, the host clock on the CPU.

    Each figure is the median of ``repeats`` runs of back-to-back calls, the number of
    calls per run chosen so that one run lasts about ``run_s`` (after two warm-up calls).
    """

    def __init__(self, torch: Any, device: str) -> None:
        self.torch = torch
        self.cuda = device == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def _run(self, fn: Callable[[], Any], iters: int) -> float:
        self.sync()
        if self.cuda:
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return time.perf_counter() - t0

    def per_call_s(self, fn: Callable[[], Any], repeats: int, run_s: float, max_iters: int = 50) -> dict[str, float]:
        """``{"median", "min"}`` seconds per call and the ``"iters"`` per timed run."""
        fn()
        fn()
        once = self._run(fn, 1)
        iters = max(1, min(max_iters, int(run_s / max(once, 1e-7))))
        samples = sorted(self._run(fn, iters) / iters for _ in range(max(1, repeats)))
        return {"median": statistics.median(samples), "min": samples[0], "iters": float(iters)}


def realistic_windows(window: int, limit: int) -> Any:
    """Up to ``limit`` normalised windows ``(n, T, 17, 3)`` of the demo clip's MediaPipe keypoints.

    Sliding windows spread evenly over the 120-frame clip (edge-padded when it is shorter
    than a window). ``None`` when the keypoint file is not there (installed package).
    """
    import numpy as np

    from scjd_core.types import Pose2DSequence

    if limit <= 0 or not KEYPOINTS.is_file():
        return None
    with np.load(KEYPOINTS, allow_pickle=False) as data:
        kp, conf = data["keypoints"].astype(np.float32), data["confidence"].astype(np.float32)
        width, height, fps = int(data["width"]), int(data["height"]), float(data["fps"])
    n = kp.shape[0]
    seq = Pose2DSequence(kp, conf, conf.max(axis=1) > 0, np.zeros(n, bool), np.arange(n) / fps, width, height, fps)
    x = seq.normalized().astype(np.float32)
    if n < window:
        x = np.pad(x, ((0, window - n), (0, 0), (0, 0)), mode="edge")
    starts = np.unique(np.linspace(0, x.shape[0] - window, num=min(limit, x.shape[0] - window + 1)).astype(int))
    return np.stack([x[s : s + window] for s in starts])


def realistic_window_sequence(window: int) -> Any:
    """The first ``window`` frames of the demo clip's keypoints as a Pose2DSequence (synthetic if absent)."""
    import numpy as np

    from scjd_core.longrun import synthetic_stream
    from scjd_core.types import Pose2DSequence, slice_sequence

    if not KEYPOINTS.is_file():
        return next(synthetic_stream(window, chunk=window))
    with np.load(KEYPOINTS, allow_pickle=False) as data:
        kp, conf = data["keypoints"].astype(np.float32), data["confidence"].astype(np.float32)
        width, height, fps = int(data["width"]), int(data["height"]), float(data["fps"])
    if kp.shape[0] < window:
        pad = window - kp.shape[0]
        kp = np.concatenate([kp, np.repeat(kp[-1:], pad, 0)])
        conf = np.concatenate([conf, np.repeat(conf[-1:], pad, 0)])
    n = kp.shape[0]
    seq = Pose2DSequence(kp, conf, conf.max(axis=1) > 0, np.zeros(n, bool), np.arange(n) / fps, width, height, fps)
    return slice_sequence(seq, 0, window)


def synthetic_windows(window: int, count: int, seed: int = 0) -> Any:
    """``count`` normalised synthetic windows ``(count, T, 17, 3)`` float32."""
    import numpy as np

    from scjd_core.longrun import synthetic_stream

    seq = next(synthetic_stream(window * count, chunk=window * count, seed=seed))
    return seq.normalized().astype(np.float32).reshape(count, window, *seq.keypoints.shape[1:2], 3)


# ------------------------------------------------------------------- copy attribution
def _direction(name: str) -> str:
    for key in ("HtoD", "DtoH"):
        if key in name:
            return key
    return ""


def _short(name: str) -> str:
    i = name.find("scjd_core/")
    return name[i:] if i >= 0 else name


def attribute_copies(trace: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    """Group the host<->device memcpy events of a profiler trace by what issued them.

    Args:
        trace: a ``torch.profiler`` Chrome trace (``{"traceEvents": [...]}``).
        steps: live steps the trace covers (the counts are divided by it).

    Returns:
        One dict per ``(direction, bytes, kind, scjd_core function, aten op)``, with
        ``per_step`` copies, most frequent first. ``where`` is the innermost
        ``scjd_core`` Python function on the stack (``with_stack=True`` traces), ``op``
        the innermost ``aten`` op, both ``"?"`` when the trace does not say.
    """
    events = [e for e in trace.get("traceEvents", []) if isinstance(e, dict)]
    memcpys = [e for e in events if "memcpy" in str(e.get("cat", "")).lower() and _direction(str(e.get("name", "")))]
    runtime: dict[Any, dict[str, Any]] = {}
    for e in events:
        if str(e.get("cat", "")).lower() in ("cuda_runtime", "cuda_driver", "runtime", "driver"):
            corr = (e.get("args") or {}).get("correlation")
            if corr is not None:
                runtime[corr] = e
    py = [e for e in events if e.get("cat") == "python_function" and "scjd_core" in str(e.get("name", ""))]
    ops = [e for e in events if e.get("cat") == "cpu_op"]

    def innermost(spans: list[dict[str, Any]], ts: float) -> str:
        inside = [s for s in spans if float(s.get("ts", 0)) <= ts <= float(s.get("ts", 0)) + float(s.get("dur", 0))]
        return str(max(inside, key=lambda s: float(s.get("ts", 0)))["name"]) if inside else "?"

    groups: dict[tuple[str, int, str, str, str], int] = {}
    for m in memcpys:
        args = m.get("args") or {}
        name = str(m.get("name", ""))
        kind = name[name.find("(") + 1 : name.find(")")] if "(" in name and ")" in name else ""
        where = op = "?"
        rt = runtime.get(args.get("correlation"))
        if rt is not None:
            ts = float(rt.get("ts", 0))
            where, op = _short(innermost(py, ts)), innermost(ops, ts)
        key = (_direction(name), int(args.get("bytes", -1)), kind, where, op)
        groups[key] = groups.get(key, 0) + 1
    out = [
        {"direction": d, "bytes": b, "memory": k, "where": w, "op": o, "per_step": n / max(1, steps)}
        for (d, b, k, w, o), n in groups.items()
    ]
    return sorted(out, key=lambda g: (-g["per_step"], g["direction"], -g["bytes"]))


def describe_copies(groups: list[dict[str, Any]], window_bytes: int) -> str:
    """One line per group: what was copied, from where, and whether live mode needs it."""
    parts = []
    for g in groups:
        if g["direction"] == "HtoD" and g["bytes"] == window_bytes:
            role = "the input window"
        elif g["direction"] == "DtoH" and g["bytes"] == window_bytes:
            role = "the window's poses out"
        else:
            role = "EXTRA"
        mem = f", {g['memory']}" if g["memory"] else ""
        parts.append(
            f"{g['per_step']:g}/step {g['direction']} {g['bytes']:,} B{mem} from {g['where']} ({g['op']}): {role}"
        )
    return "; ".join(parts)


# ------------------------------------------------------------------------- the bench
@dataclass
class Outcome:
    """What a run produced besides the report rows (kept for the JSON)."""

    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    copies: dict[str, Any] = field(default_factory=dict)
    sweeps: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    aborted: bool = False


class CudaBench:
    """The measurements, each guarded; rows go into ``report`` (section ``"cuda"``).

    Args:
        report: the report to add rows and notes to.
        device: ``"cuda"``, or ``"cpu"`` for the tiny forced test run.
        quick: fewer sizes and repeats.
        budget_s: wall-clock budget from ``t0`` (steps that do not fit are skipped).
        t0: ``time.perf_counter()`` at the start of the run.
        label: what each row is marked with (the GPU name).
        log: print progress lines to stderr.
    """

    def __init__(
        self,
        report: Report,
        device: str,
        quick: bool,
        budget_s: float,
        t0: float | None = None,
        label: str = "",
        log: bool = True,
    ) -> None:
        import torch

        self.torch = torch
        self.report = report
        self.device = device
        self.cuda = device == "cuda"
        self.quick = quick
        self.sizes = sizes_for(device, quick)
        self.budget_s = float(budget_s)
        self.t0 = time.perf_counter() if t0 is None else t0
        self.label = label or device
        self.log = log
        self.clock = Clock(torch, device)
        self.outcome = Outcome()
        self.backends: dict[str, Any] = {}
        self.notes_on_weights: dict[str, str] = {}
        self.checkpoints: dict[str, str | None] = {}
        self.fps: dict[str, dict[str, tuple[float, int]]] = {}  # kind -> dtype -> (frames/s, windows)
        self.parity_ok: dict[str, dict[str, bool]] = {}
        self.stream_ms: dict[str, dict[str, float]] = {}
        self.dead = False  # the CUDA context failed: no more GPU work
        self.plain_capture: bool | None = None  # whether the student captured as it is (None: not tried)

    # ---------------------------------------------------------------- guard / budget
    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.t0)

    def _say(self, text: str) -> None:
        if self.log:
            print(f"[bench_cuda {time.perf_counter() - self.t0:5.1f}s] {text}", file=sys.stderr, flush=True)

    def add(
        self, name: str, value: float | None, unit: str, target: str = "", ok: bool | None = None, note: str = ""
    ) -> None:
        self.report.add(SECTION, name, value, unit, target, ok, note, device=self.label)

    def step(self, name: str, fn: Callable[[], Any], need_s: float = 1.0) -> Any:
        """Run one measurement; a failure (or a missing budget) becomes a row saying so."""
        if self.dead:
            self.outcome.skipped[name] = "the CUDA context failed earlier"
            self.add(name, None, "", note="skipped: the CUDA context failed earlier")
            return None
        if self.left() - RESERVE_S < need_s:
            reason = f"skipped: {max(0.0, self.left()):.0f} s of the --budget-s left, needs about {need_s:.0f} s"
            self.outcome.skipped[name] = reason
            self.add(name, None, "", note=reason)
            self._say(f"{name}: {reason}")
            return None
        self._say(name)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn()
            except Exception as exc:
                msg = _error_text(exc)
                self.outcome.errors[name] = msg
                self.add(name, None, "", note=f"ERROR: {msg}")
                self._say(f"{name}: ERROR {msg}")
                if os.environ.get("SCJD_BENCH_TRACEBACK"):
                    traceback.print_exc()
                self._check_context()
                return None
            finally:
                self.outcome.timings_s[name] = round(time.perf_counter() - t0, 2)
                seen = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}" for w in caught})
                for text in seen[:3]:
                    self.report.notes.append(f"warning during '{name}': {text}")

    def _check_context(self) -> None:
        if not self.cuda:
            return
        try:
            self.torch.cuda.synchronize()
            self.torch.cuda.empty_cache()
        except Exception as exc:
            self.dead = True
            self.report.notes.append(f"the CUDA context failed ({_error_text(exc)}): later GPU steps skipped")

    def _free(self) -> None:
        if self.cuda and not self.dead:
            with contextlib.suppress(Exception):
                self.torch.cuda.synchronize()
                self.torch.cuda.empty_cache()

    # ---------------------------------------------------------------- set-up
    def load(self, checkpoints: dict[str, str | None], kinds: Sequence[str] = KINDS) -> None:
        """Load the student and the teacher on the device (shipped, given or random-init)."""
        for kind in kinds:
            self.checkpoints[kind] = checkpoints.get(kind)
            self.step(f"{kind} load", lambda k=kind: self._load(k, checkpoints.get(k)))

    def _load(self, kind: str, checkpoint: str | None) -> None:
        backend, note = load_model(kind, self.device, checkpoint)
        self.backends[kind] = backend
        self.notes_on_weights[kind] = note
        self.report.notes.append(f"{kind} weights: {note}")

    def use_backends(self, backends: dict[str, Any]) -> None:
        """Measure these (already on the device) instead of loading."""
        self.backends.update(backends)

    def _forward(self, kind: str, label: str) -> Callable[[Any], Any]:
        """``x (B, T, 17, 3) on the device -> poses (B, T, 17, 3)``, exactly the lifter's forward."""
        torch, backend = self.torch, self.backends[kind]

        def fn(x: Any) -> Any:
            with torch.inference_mode(), _autocast(torch, self.device, label):
                return backend._forward(x, False)[0]

        return fn

    def _device_windows(self, kind: str, batch: int) -> Any:
        base = synthetic_windows(self.backends[kind].window, min(batch, 64))
        x = self.torch.from_numpy(base).to(self.device)
        reps = -(-batch // x.shape[0])
        return x.repeat(reps, 1, 1, 1)[:batch].contiguous()

    # ---------------------------------------------------------------- measurements
    def run_all(self, compile_opts: dict[str, Any] | None = None) -> None:
        """Every measurement in order of importance; the student's extras last."""
        kinds = [k for k in KINDS if k in self.backends]
        for kind in kinds:
            self.step(f"{kind} fp16/bf16 parity", lambda k=kind: self.parity(k), need_s=2)
        for kind in kinds:
            self.step(f"{kind} streaming latency", lambda k=kind: self.streaming(k), need_s=2)
        for kind in kinds:
            self.step(f"{kind} copies per live step", lambda k=kind: self.copies(k), need_s=3)
        for kind in kinds:
            self.step(f"{kind} batched throughput", lambda k=kind: self.throughput(k), need_s=4)
        for kind in kinds:
            self.step(f"{kind} lift() from numpy", lambda k=kind: self.lift_from_numpy(k), need_s=2)
        if "student" in self.backends:
            if self.cuda:
                self.step("student CUDA graph live step", self.cuda_graph_live, need_s=3)
                self.step("student CUDA graph batched", self.cuda_graph_batched, need_s=3)
            else:
                self.outcome.skipped["student CUDA graph"] = "CUDA graphs need a GPU"
            if compile_opts is not None:
                self.step("student torch.compile", lambda: self.compiled(**compile_opts), need_s=15)
        self.summary()

    def parity(self, kind: str) -> None:
        """fp16 / bf16 autocast against fp32 on the device, and GPU fp32 against CPU fp32."""
        import numpy as np

        torch, backend, sz = self.torch, self.backends[kind], self.sizes
        real = realistic_windows(backend.window, sz.parity_real)
        synth = synthetic_windows(backend.window, sz.parity_synthetic, seed=1)
        parts = [p for p in (real, synth) if p is not None]
        n_real = 0 if real is None else real.shape[0]
        x_np = np.concatenate(parts)
        x = torch.from_numpy(x_np).to(self.device)
        ref = self._forward(kind, "fp32")(x).float().cpu().numpy()
        src = f"{n_real} windows of the demo clip's MediaPipe keypoints + {synth.shape[0]} synthetic"
        self.parity_ok[kind] = {"fp32": True}
        for label in ("fp16", "bf16"):
            try:
                out = self._forward(kind, label)(x).float().cpu().numpy()
            except Exception as exc:
                self.add(f"{kind} {label} parity (max abs vs fp32)", None, "mm", note=f"ERROR: {_error_text(exc)}")
                self.parity_ok[kind][label] = False
                continue
            diff = np.abs(out - ref)
            worst, real_worst = float(diff.max()), float(diff[:n_real].max()) if n_real else float("nan")
            ok = bool(worst <= FP16_TOLERANCE_M)
            self.parity_ok[kind][label] = ok
            self.add(
                f"{kind} {label} parity (max abs vs fp32)",
                worst * 1000.0,
                "mm",
                f"<= {FP16_TOLERANCE_M * 1000:g} mm",
                ok,
                f"{worst:.2e} m; mean {float(diff.mean()) * 1000:.3g} mm, max on the real windows "
                f"{real_worst * 1000:.3g} mm; "
                f"{src}; {'usable' if ok else 'keep fp32'}",
            )
        if self.cuda:
            cpu_backend = type(backend)(copy.deepcopy(backend.model).to("cpu"), backend.meta, device="cpu", name=kind)
            with torch.inference_mode():
                cpu = cpu_backend._forward(torch.from_numpy(x_np), False)[0].float().numpy()
            diff = float(np.abs(cpu - ref).max())
            mm, dnn = tf32_flags(torch)
            self.add(
                f"{kind} fp32 GPU vs CPU (max abs)",
                diff * 1000.0,
                "mm",
                note=f"same windows; TF32 matmul {'on' if mm else 'off'}, cuDNN TF32 {'on' if dnn else 'off'}"
                + (" (the student's 1-D convolutions run through cuDNN)" if dnn and kind == "student" else ""),
            )
        del x
        self._free()

    def streaming(self, kind: str) -> None:
        """Latency per new frame: one window per lift() call (live mode), fp32 and autocast."""
        torch, backend = self.torch, self.backends[kind]
        seq = realistic_window_sequence(backend.window)
        calls = self.sizes.stream_calls[kind]
        self.stream_ms[kind] = {}
        for label in DTYPES:
            if self.left() - RESERVE_S < 1.0:
                self.report.notes.append(f"{kind} streaming {label}: skipped (budget)")
                continue
            try:
                with _autocast(torch, self.device, label):
                    lat = latencies_ms(lambda b=backend, s=seq: b.lift(s), calls)
            except Exception as exc:
                self.add(
                    f"{kind} streaming {label} latency per new frame", None, "ms", note=f"ERROR: {_error_text(exc)}"
                )
                continue
            self.stream_ms[kind][label] = lat["median"]
            self.add(
                f"{kind} streaming {label} latency per new frame",
                lat["median"],
                "ms",
                note=f"median of {calls} lift() calls of one {backend.window}-frame window (as live mode); "
                f"p95 {lat['p95']:.3f} ms, min {lat['min']:.3f} ms"
                + ("" if label == "fp32" else f" ({label} autocast)"),
            )

    def _profile(self, fn: Callable[[], Any], steps: int) -> tuple[int, int, list[dict[str, Any]] | None, str]:
        """Profile ``steps`` calls: ``(memcpy HtoD+DtoH events, GPU events, attributed groups, error)``."""
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        for _ in range(2):
            fn()
        self.clock.sync()
        with profile(activities=activities, with_stack=True) as prof:
            for _ in range(steps):
                fn()
            self.clock.sync()
        events = list(prof.events())
        device_events = [e for e in events if "CUDA" in str(getattr(e, "device_type", ""))]
        memcpy = [e for e in device_events if "Memcpy" in e.name and _direction(e.name)]
        if not device_events:  # older layouts keep the kernels on their CPU ops only
            kernels = [k for e in events for k in getattr(e, "kernels", [])]
            device_events = kernels
            memcpy = [k for k in kernels if "Memcpy" in k.name and _direction(k.name)]
        groups, err = None, ""
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "trace.json")
                prof.export_chrome_trace(path)
                with open(path, encoding="utf-8") as handle:
                    groups = attribute_copies(json.load(handle), steps)
        except Exception as exc:
            err = _error_text(exc)
        return len(memcpy), len(device_events), groups, err

    def copies(self, kind: str) -> None:
        """Host<->device copies of one live step (one lift() of one window), counted and attributed."""
        backend = self.backends[kind]
        seq = realistic_window_sequence(backend.window)
        steps = self.sizes.copy_steps
        n_copies, n_gpu, groups, err = self._profile(lambda: backend.lift(seq), steps)
        window_bytes = backend.window * seq.keypoints.shape[1] * 3 * 4
        self._report_copies(
            f"{kind} host<->device copies per live step",
            n_copies,
            n_gpu,
            groups,
            err,
            steps,
            window_bytes,
            "lift() of one window",
        )

    def _report_copies(
        self, name: str, n_copies: int, n_gpu: int, groups: Any, err: str, steps: int, window_bytes: int, what: str
    ) -> None:
        per_step = n_copies / steps
        if groups is not None and self.cuda:  # the trace's memcpy events, attributed
            per_step = sum(g["per_step"] for g in groups)
        self.outcome.copies[name] = {
            "per_step": per_step,
            "profiler_events_per_step": n_copies / steps,
            "steps": steps,
            "groups": groups,
            "error": err,
        }
        if self.cuda and n_gpu == 0:
            self.add(name, None, "copies", note="ERROR: the profiler recorded no GPU activity (CUPTI unavailable?)")
            return
        detail = describe_copies(groups or [], window_bytes) if groups else (err or "no copies")
        if not self.cuda:
            detail = "CPU run: no device, no copies possible"
        self.add(
            name,
            per_step,
            "copies",
            f"<= {LIVE_COPIES_TARGET} (window in, poses out)",
            per_step <= LIVE_COPIES_TARGET,
            f"torch.profiler memcpy events over {steps} live steps ({what}); {detail}",
        )

    def throughput(self, kind: str) -> None:
        """Device-resident batched throughput per dtype over the batch sweep (best reported)."""
        torch, backend, sz = self.torch, self.backends[kind], self.sizes
        window = backend.window
        self.fps[kind] = {}
        sweep: dict[str, dict[int, Any]] = {}
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        for label in DTYPES:
            sweep[label] = {}
            fn = self._forward(kind, label)
            for batch in sz.batches[kind]:
                if self.dead or self.left() - RESERVE_S < 1.5:
                    sweep[label][batch] = "skipped (budget)"
                    continue
                if batch > max_windows(backend.model):
                    sweep[label][batch] = "skipped (an activation would pass 2**31 elements)"
                    continue
                x = None
                try:
                    x = self._device_windows(kind, batch)
                    t = self.clock.per_call_s(lambda f=fn, x=x: f(x), sz.repeats, sz.run_s)
                    sweep[label][batch] = batch * window / t["median"]
                except Exception as exc:
                    sweep[label][batch] = f"error: {_error_text(exc, 160)}"
                    self._check_context()
                finally:
                    del x
                    self._free()
            measured = {b: v for b, v in sweep[label].items() if isinstance(v, float)}
            notes = ", ".join(f"{b}: {_fmt_rate(v) if isinstance(v, float) else v}" for b, v in sweep[label].items())
            name = f"{kind} batched {label}"
            target = f">= {STUDENT_GPU_FPS_TARGET:,.0f}" if kind == "student" and self.cuda else ""
            if not measured:
                self.add(name, None, "frames/s", target, None, f"ERROR: nothing measured; windows per forward: {notes}")
                continue
            best = max(measured, key=lambda b: measured[b])
            self.fps[kind][label] = (measured[best], best)
            ok = measured[best] >= STUDENT_GPU_FPS_TARGET if target else None
            self.add(
                name,
                measured[best],
                "frames/s",
                target,
                ok,
                f"{measured[best] / window:,.0f} windows/s at {best} windows per forward (best); frames/s by "
                f"windows per forward: {notes}; device-resident input, median of {sz.repeats}"
                + ("" if label == "fp32" else f"; {label} autocast"),
            )
        self.outcome.sweeps[kind] = {lab: {str(b): v for b, v in s.items()} for lab, s in sweep.items()}
        if self.cuda:
            peak = torch.cuda.max_memory_allocated() / 2**30
            self.report.notes.append(f"{kind} batched sweep: peak GPU memory allocated {peak:.2f} GiB")

    def best_label(self, kind: str) -> str:
        """The fastest dtype whose parity is within tolerance (fp32 when none measured)."""
        fps = self.fps.get(kind, {})
        ok = [lab for lab in fps if self.parity_ok.get(kind, {}).get(lab, lab == "fp32")]
        return max(ok, key=lambda lab: fps[lab][0]) if ok else "fp32"

    def lift_from_numpy(self, kind: str) -> None:
        """Throughput of ModelBackend.lift() on a long synthetic clip (host work and transfers included)."""
        import numpy as np

        from scjd_core.longrun import synthetic_stream

        torch, backend = self.torch, self.backends[kind]
        windows = self.sizes.lift_batch[kind]
        if kind in self.fps and "fp32" in self.fps[kind]:
            windows = min(self.fps[kind]["fp32"][1], max(windows, 1))
        frames = windows * backend.window
        seq = next(synthetic_stream(frames, chunk=frames))
        old = backend.batch_size
        backend.batch_size = windows
        labels = ["fp32"] + ([self.best_label(kind)] if self.best_label(kind) != "fp32" else [])
        try:
            for label in labels:
                with _autocast(torch, self.device, label):
                    backend.lift(seq)
                    samples = []
                    for _ in range(max(2, self.sizes.repeats)):
                        t0 = time.perf_counter()
                        backend.lift(seq)
                        samples.append(time.perf_counter() - t0)
                secs = float(np.median(samples))
                target = f">= {STUDENT_GPU_FPS_TARGET:,.0f}" if kind == "student" and self.cuda else ""
                self.add(
                    f"{kind} lift() from numpy {label}",
                    frames / secs,
                    "frames/s",
                    target,
                    frames / secs >= STUDENT_GPU_FPS_TARGET if target else None,
                    f"one lift() of {frames:,} frames ({windows} windows per forward): host normalisation, "
                    f"pageable copies in and out included; median of {len(samples)}"
                    + ("" if label == "fp32" else f"; {label} autocast"),
                )
        finally:
            backend.batch_size = old
            self._free()

    # ------------------------------------------------------------ student extras
    def _graph_forward(self) -> tuple[Callable[[Any], Any], Any]:
        """The student's forward with its sample positions on the device once: ``(fwd, indices)``."""
        model = self.backends["student"].model
        idx = model.sample_indices(0)

        def fwd(x: Any) -> Any:
            return model(x[:, idx], idx, return_attention=False).pose

        return fwd, idx

    def _capture(self, fwd: Callable[[Any], Any], x: Any, label: str, idx: Any) -> tuple[Any, Any, str]:
        """:func:`capture_graph`, trying the model as it is only until that has failed once."""
        window = self.backends["student"].window
        graph, out, how = capture_graph(self.torch, fwd, x, label, idx, window, as_is=self.plain_capture is not False)
        if self.plain_capture is None:
            self.plain_capture = how == "captured as is"
        return graph, out, how

    def cuda_graph_batched(self) -> None:
        """Student forward captured in a CUDA graph: batched throughput, fp32 and the best half dtype."""
        torch, backend = self.torch, self.backends["student"]
        window = backend.window
        fwd, idx = self._graph_forward()
        labels = ["fp32"] + ([self.best_label("student")] if self.best_label("student") != "fp32" else [])
        batch = self.fps.get("student", {}).get("fp32", (0.0, self.sizes.lift_batch["student"]))[1]
        how = ""
        for label in labels:
            x = self._device_windows("student", batch)
            try:
                graph, out, how = self._capture(fwd, x, label, idx)
            except Exception as exc:
                self.add(f"student batched {label} CUDA graph", None, "frames/s", note=f"ERROR: {_error_text(exc)}")
                del x
                self._free()
                continue
            with torch.inference_mode():
                eager = self._forward("student", label)(x)
                graph.replay()
                same = float((out.float() - eager.float()).abs().max())
            t = self.clock.per_call_s(graph.replay, self.sizes.repeats, self.sizes.run_s)
            fps = batch * window / t["median"]
            eager_fps = self.outcome.sweeps.get("student", {}).get(label, {}).get(str(batch))
            ratio = fps / eager_fps if isinstance(eager_fps, float) else float("nan")
            self.add(
                f"student batched {label} CUDA graph",
                fps,
                "frames/s",
                f">= {STUDENT_GPU_FPS_TARGET:,.0f}",
                fps >= STUDENT_GPU_FPS_TARGET,
                f"{batch} windows per replay; {ratio:.2f}x eager at the same batch "
                f"({'pays' if ratio > 1.05 else 'does not pay'}); max abs vs eager {same * 1000:.2g} mm; {how}",
            )
            del graph, out, x, eager
            self._free()

    def cuda_graph_live(self) -> None:
        """A live step through a CUDA graph: window -> pinned -> static input, replay, poses -> pinned."""
        import numpy as np

        torch, backend = self.torch, self.backends["student"]
        window = backend.window
        fwd, idx = self._graph_forward()
        seq = realistic_window_sequence(window)
        x1 = torch.from_numpy(seq.normalized().astype(np.float32)[None]).to(self.device)
        graph, out, how = self._capture(fwd, x1, "fp32", idx)
        pin_in = torch.empty(tuple(x1.shape), dtype=torch.float32, pin_memory=True)
        pin_out = torch.empty(tuple(out.shape), dtype=torch.float32, pin_memory=True)

        def live_step() -> Any:
            pin_in.numpy()[:] = seq.normalized()[None]
            x1.copy_(pin_in, non_blocking=True)
            graph.replay()
            pin_out.copy_(out, non_blocking=True)
            torch.cuda.current_stream().synchronize()
            return pin_out.numpy()[0].copy()

        with torch.inference_mode():
            got = live_step()
        ref = backend.lift(seq).poses
        same = float(np.abs(got - ref).max())
        lat = latencies_ms(live_step, self.sizes.stream_calls["student"])
        eager_ms = self.stream_ms.get("student", {}).get("fp32")
        ratio = eager_ms / lat["median"] if eager_ms else float("nan")
        self.add(
            "student streaming fp32 CUDA graph latency per new frame",
            lat["median"],
            "ms",
            note=f"median of {self.sizes.stream_calls['student']} live steps (normalise, pinned copy in, replay, "
            f"pinned copy out); {ratio:.1f}x faster than eager lift() ({'pays' if ratio > 1.05 else 'does not pay'}); "
            f"p95 {lat['p95']:.3f} ms; max abs vs lift() {same * 1000:.2g} mm; {how}",
        )
        steps = self.sizes.copy_steps
        n_copies, n_gpu, groups, err = self._profile(live_step, steps)
        window_bytes = window * seq.keypoints.shape[1] * 3 * 4
        self._report_copies(
            "student host<->device copies per live step (CUDA graph)",
            n_copies,
            n_gpu,
            groups,
            err,
            steps,
            window_bytes,
            "CUDA-graph live step",
        )
        self._free()

    def compiled(self, cap_s: float, mode: str, stream_mode: str, backend: str, stream: bool) -> None:
        """torch.compile of the student, in a child process killed at ``cap_s`` (or the budget)."""
        room = self.left() - RESERVE_S - 1.0
        if room < 10:
            self.add("student torch.compile", None, "", note=f"skipped: only {room:.0f} s of the budget left")
            return
        cap = min(cap_s, room)
        label = self.best_label("student")
        batch = self.fps.get("student", {}).get(label, (0.0, self.sizes.lift_batch["student"]))[1]
        spec = {
            "device": self.device,
            "checkpoint": str(Path(ckpt).resolve()) if (ckpt := self.checkpoints.get("student")) else None,
            "batch": batch,
            "label": label,
            "mode": mode,
            "stream_mode": stream_mode,
            "backend": backend,
            "stream": stream,
            "repeats": self.sizes.repeats,
            "run_s": self.sizes.run_s,
            "stream_calls": self.sizes.stream_calls["student"],
        }
        self._free()
        result = run_child(spec, cap)
        stages = {r.get("stage"): r for r in result["lines"]}
        tail = result["stderr_tail"]
        fail = f"ERROR: {result['error']}" if result["error"] else ""
        if "compiled" in stages:
            r = stages["compiled"]
            ratio = r["fps"] / r["eager_fps"]
            parent = self.outcome.sweeps.get("student", {}).get(label, {}).get(str(batch))
            parent_note = f"; eager in this process {_fmt_rate(parent)} frames/s" if isinstance(parent, float) else ""
            self.add(
                f"student batched {label} torch.compile",
                r["fps"],
                "frames/s",
                f">= {STUDENT_GPU_FPS_TARGET:,.0f}" if self.cuda else "",
                r["fps"] >= STUDENT_GPU_FPS_TARGET if self.cuda else None,
                f"mode={mode or 'default'}, backend {backend}; {batch} windows per forward; {ratio:.2f}x eager "
                f"({_fmt_rate(r['eager_fps'])} frames/s in the same child, {'pays' if ratio > 1.05 else 'does not pay'}"
                f"){parent_note}; compile {r['compile_s']:.1f} s; max abs vs eager {r['max_abs_m'] * 1000:.2g} mm",
            )
        else:
            timeout = f"timed out: compile did not finish within {cap:.0f} s" if result["timed_out"] else ""
            why = fail or timeout
            self.add(
                f"student batched {label} torch.compile",
                None,
                "frames/s",
                note=f"{why or 'no result'}; mode={mode or 'default'}; {tail}",
            )
        if stream:
            if "stream" in stages:
                r = stages["stream"]
                ratio = r["eager_ms"] / r["ms"]
                self.add(
                    "student streaming fp32 torch.compile latency per new frame",
                    r["ms"],
                    "ms",
                    note=f"mode={stream_mode or 'default'}; live step (to device, compiled forward, to host); "
                    f"{ratio:.1f}x eager "
                    f"({r['eager_ms']:.3f} ms same child, {'pays' if ratio > 1.05 else 'does not pay'}); "
                    f"compile + warm-up {r['compile_s']:.1f} s; max abs vs eager {r['max_abs_m'] * 1000:.2g} mm",
                )
            elif "compiled" in stages:
                why = fail or (f"timed out at the {cap:.0f} s cap" if result["timed_out"] else "no result")
                self.add(
                    "student streaming fp32 torch.compile latency per new frame",
                    None,
                    "ms",
                    note=f"{why}; mode={stream_mode or 'default'}",
                )
        self.outcome.timings_s["student torch.compile child"] = result["wall_s"]
        if result["error"] or result["timed_out"]:
            self.outcome.errors["student torch.compile"] = (result["error"] or "timed out") + (
                f" | stderr: {tail}" if tail else ""
            )

    # ------------------------------------------------------------ summary
    def summary(self) -> None:
        """Notes: the fastest measured student path and the dtype to use."""
        rows = [
            r
            for r in self.report.rows
            if r.section == SECTION and r.name.startswith("student") and r.unit == "frames/s" and r.value is not None
        ]
        if rows:
            best = max(rows, key=lambda r: r.value or 0.0)
            self.report.notes.append(f"fastest student path measured: {best.name}, {best.value:,.0f} frames/s")
        for kind in KINDS:
            if kind in self.fps and self.fps[kind]:
                lab = self.best_label(kind)
                self.report.notes.append(
                    f"{kind}: fastest dtype within {FP16_TOLERANCE_M * 1000:g} mm of fp32: {lab} "
                    f"({_fmt_rate(self.fps[kind][lab][0])} frames/s batched)"
                )


def max_windows(model: Any) -> int:
    """Windows per forward that keep every activation under 2**31 elements (32-bit indexing)."""
    cfg = model.config
    frames = getattr(cfg, "frames", cfg.window)  # the student's encoder sees K frames
    per_window = cfg.num_joints * frames * max(3 * cfg.dim, round(cfg.dim * cfg.mlp_ratio), cfg.heads * cfg.num_joints)
    if hasattr(cfg, "refine_dim"):
        per_window = max(per_window, cfg.num_joints * cfg.window * max(cfg.refine_dim, cfg.dim))
    return max(1, (2**31 - 1) // per_window)


def load_model(kind: str, device: str, checkpoint: str | None) -> tuple[Any, str]:
    """A :class:`ModelBackend` of ``kind`` on ``device``: the given checkpoint, else shipped, else random-init."""
    from scjd_core.backends.lifter import load_backend
    from scjd_core.benchkit import make_backend

    if checkpoint:
        backend = load_backend(kind, device=device, checkpoint=checkpoint)
        return backend, f"checkpoint {checkpoint}"
    return make_backend(kind, "torch", device)


@contextlib.contextmanager
def cached_interpolation_weights(indices: Any, window: int) -> Iterator[Any]:
    """Let the student reuse one precomputed interpolation matrix for ``indices`` (CUDA-graph capture).

    ``interpolation_weights`` builds ``torch.tensor(inf, device=...)`` on every forward, a
    host->device copy that a CUDA graph cannot capture; the matrix only depends on the
    fixed sample positions, so computing it once outside the graph gives the same numbers.
    Yields the matrix: a graph captured with it reads its memory, so keep it alive with the graph.
    """
    import scjd_core.models.student as student_module

    original = student_module.interpolation_weights
    weights = original(indices, window)

    def cached(idx: Any, win: int) -> Any:
        if win == window and (idx is indices or (idx.shape == indices.shape and idx.data_ptr() == indices.data_ptr())):
            return weights
        return original(idx, win)

    student_module.interpolation_weights = cached
    try:
        yield weights
    finally:
        student_module.interpolation_weights = original


def capture_graph(
    torch: Any, fwd: Callable[[Any], Any], x: Any, label: str, idx: Any, window: int, as_is: bool = True
) -> tuple:
    """Capture ``fwd(x)`` under ``label`` autocast in a CUDA graph: ``(graph, static output, how)``.

    Tries the model as it is first (unless ``as_is`` is False); when that capture fails,
    captures with the interpolation weights precomputed (:func:`cached_interpolation_weights`).
    """

    def capture() -> tuple[Any, Any]:
        with torch.inference_mode():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side), _autocast(torch, "cuda", label, cache=False):
                for _ in range(3):
                    fwd(x)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), _autocast(torch, "cuda", label, cache=False):
                out = fwd(x)
            graph.replay()
            torch.cuda.synchronize()
        return graph, out

    first = "not tried again"
    if as_is:
        stream = torch.cuda.current_stream()
        try:
            graph, out = capture()
            return graph, out, "captured as is"
        except Exception as exc:
            first = _error_text(exc, 160)
            torch.cuda.set_stream(stream)  # a failed capture can leave its capture stream current
            torch.cuda.synchronize()
    with cached_interpolation_weights(idx, window) as weights:
        graph, out = capture()
    _GRAPH_INPUTS.append(weights)  # the graph reads this memory on every replay (a few hundred bytes)
    return (
        graph,
        out,
        (
            f"capture as is failed ({first}); captured with the interpolation weights precomputed outside the graph "
            "(model change needed: interpolation_weights builds torch.tensor(inf) on the device every forward)"
        ),
    )


# ----------------------------------------------------------------- compile child
def run_child(spec: dict[str, Any], cap_s: float) -> dict[str, Any]:
    """Run :func:`compile_child` in a new process group, killed (the whole group) after ``cap_s``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, "-m", "scjd_core.bench_cuda", "--compile-child", json.dumps(spec)]
    lines: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err_file:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err_file, text=True, env=env, start_new_session=True, cwd=str(REPO)
        )
        _CHILD_GROUPS.add(proc.pid)

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
        _kill_group(proc.pid)  # the child's group: it and its compile workers
        proc.wait()
        _CHILD_GROUPS.discard(proc.pid)
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


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _emit(**record: Any) -> None:
    print(CHILD_PREFIX + json.dumps(record), flush=True)


def compile_child(spec: dict[str, Any]) -> int:
    """The torch.compile measurements (run in a child process by :func:`run_child`)."""
    try:
        import numpy as np
        import torch

        device, label, batch = spec["device"], spec["label"], int(spec["batch"])
        if device == "cpu":
            torch.set_num_threads(1)
        backend, _ = load_model("student", device, spec.get("checkpoint"))
        model, window = backend.model, backend.window
        idx = model.sample_indices(0)

        def fwd(x: Any) -> Any:
            return model(x[:, idx], idx, return_attention=False).pose

        base = torch.from_numpy(synthetic_windows(window, min(batch, 64))).to(device)
        x = base.repeat(-(-batch // base.shape[0]), 1, 1, 1)[:batch].contiguous()
        clock = Clock(torch, device)

        def run(fn: Callable[[Any], Any], inp: Any) -> Any:
            with torch.inference_mode(), _autocast(torch, device, label):
                return fn(inp)

        kwargs: dict[str, Any] = {"dynamic": False, "backend": spec["backend"]}
        if spec["backend"] == "inductor" and spec.get("mode"):
            kwargs["mode"] = spec["mode"]
        eager_t = clock.per_call_s(lambda: run(fwd, x), spec["repeats"], spec["run_s"])
        t0 = time.perf_counter()
        compiled = torch.compile(fwd, **kwargs)
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
        x = base = out = ref = None  # free the batch before the streaming compile
        if spec.get("stream"):
            torch._dynamo.reset()
            seq = realistic_window_sequence(window)
            skw = {"dynamic": False, "backend": spec["backend"]}
            if spec["backend"] == "inductor" and spec.get("stream_mode"):
                skw["mode"] = spec["stream_mode"]
            streamed = torch.compile(fwd, **skw)

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
        return 0
    except Exception as exc:
        _emit(stage="error", error=_error_text(exc, 400))
        traceback.print_exc()
        return 1


# ----------------------------------------------------------------- environment / output
def _driver_version() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def tf32_flags(torch: Any) -> tuple[bool, bool]:
    """Whether fp32 matmuls and cuDNN convolutions may use TF32 (False when the flags cannot be read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return bool(torch.backends.cuda.matmul.allow_tf32), bool(torch.backends.cudnn.allow_tf32)
        except Exception:
            return False, False


def environment(torch: Any | None, device: str, command: str) -> dict[str, Any]:
    """Machine, versions, GPU and its settings (what marks every row)."""
    from scjd_core.benchkit import environment as base_environment

    env: dict[str, Any] = {"command": command, "python": platform.python_version(), "machine_note": MACHINE_NOTE}
    if torch is None:
        return env
    env.update(base_environment(command))
    env["command"] = command
    env["machine_note"] = MACHINE_NOTE
    env["torch_cuda"] = torch.version.cuda
    env["device"] = device
    if device == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_capability=f"{props.major}.{props.minor}",
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            gpu_count=torch.cuda.device_count(),
            cudnn=torch.backends.cudnn.version(),
            driver=_driver_version(),
            tf32_matmul=tf32_flags(torch)[0],
            tf32_cudnn=tf32_flags(torch)[1],
            bf16_supported=bool(torch.cuda.is_bf16_supported()),
        )
    return env


def markdown(report: Report, outcome: Outcome, meta: dict[str, Any]) -> str:
    """A ``## CUDA`` section ready to paste into BENCHMARKS.md."""
    env = report.env
    out = ["## CUDA", ""]
    if not meta.get("cuda") and not meta.get("forced_cpu"):
        out += [f"Not measured: {meta.get('message', 'no CUDA GPU')}", ""]
        return "\n".join(out)
    if meta.get("forced_cpu"):
        out += ["**Forced CPU test run (tiny sizes): these are not CUDA figures.**", ""]
    gpu = env.get("gpu") or "none"
    out += [
        f"*{MACHINE_NOTE[0].upper() + MACHINE_NOTE[1:]}.* Produced by `{env.get('command')}` on {env.get('date')}.",
        "",
        f"- GPU: {gpu} (compute capability {env.get('gpu_capability', 'n/a')}, {env.get('gpu_memory_gib', 'n/a')} "
        f"GiB), driver {env.get('driver', 'n/a')}; TF32 matmul {'on' if env.get('tf32_matmul') else 'off'}, "
        f"cuDNN TF32 {'on' if env.get('tf32_cudnn') else 'off'}",
        f"- versions: torch {env.get('torch')} (CUDA {env.get('torch_cuda')}, cuDNN {env.get('cudnn', 'n/a')}), "
        f"Python {env.get('python')}, numpy {env.get('numpy')}, onnxruntime {env.get('onnxruntime')}, "
        f"mediapipe {env.get('mediapipe')}",
        f"- CPU: {env.get('cpu')} ({env.get('cpus')} cores); run took {meta.get('wall_s')} s "
        f"(budget {meta.get('budget_s')} s){'; quick' if meta.get('quick') else ''}"
        + ("; ABORTED by the watchdog, figures partial" if outcome.aborted else ""),
        "- timing: batched rows are device-resident forwards timed with CUDA events (median of several runs after "
        "warm-up, best batch of the sweep); latencies are host-clock medians of whole calls (each returns numpy, "
        "so it ends synchronised)",
        "",
        "| figure | value | target | | note |",
        "|---|---|---|---|---|",
    ]
    for row in report.rows:
        if row.section != SECTION:
            continue
        cells = row.cells()[1:]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = list(report.notes)
    notes += [f"error in '{k}': {v}" for k, v in outcome.errors.items() if not any(v in n for n in notes)]
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def write_results(args: argparse.Namespace, report: Report | None, outcome: Outcome, meta: dict[str, Any]) -> list[str]:
    """Write the JSON and the markdown (atomically); returns the paths written."""
    from scjd_core.atomic import atomic_write

    rows = []
    if report is not None:
        tag = {k: report.env.get(k) for k in ("gpu", "torch", "torch_cuda", "python")}
        rows = [{**asdict(r), **tag, "machine_note": MACHINE_NOTE} for r in report.rows]
    data = {
        **meta,
        "machine_note": MACHINE_NOTE,
        "environment": report.env if report is not None else meta.get("environment", {}),
        "rows": rows,
        "notes": list(report.notes) if report is not None else [],
        "errors": outcome.errors,
        "skipped": outcome.skipped,
        "copies": outcome.copies,
        "sweeps": outcome.sweeps,
        "timings_s": outcome.timings_s,
        "aborted": outcome.aborted,
    }
    written = []
    if args.json:
        with atomic_write(args.json, "w", overwrite=True) as handle:
            json.dump(data, handle, indent=2, default=str)
            handle.write("\n")
        written.append(args.json)
    if args.markdown:
        text = (
            markdown(report, outcome, meta)
            if report is not None
            else "## CUDA\n\nNot measured: " + meta.get("message", "") + "\n"
        )
        with atomic_write(args.markdown, "w", overwrite=True) as handle:
            handle.write(text)
        written.append(args.markdown)
    return written


# ----------------------------------------------------------------- cli
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python scripts/bench_cuda.py",
        description="CUDA benchmark of the SCJD lifters (lifting only; no MediaPipe or Qt needed).",
    )
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write a '## CUDA' section for BENCHMARKS.md")
    p.add_argument("--teacher", metavar="CKPT", help="teacher checkpoint (default: the shipped one, else random-init)")
    p.add_argument("--student", metavar="CKPT", help="student checkpoint (default: the shipped one, else random-init)")
    p.add_argument("--quick", action="store_true", help="fewer batch sizes and repeats")
    p.add_argument("--budget-s", type=float, default=80.0, help="wall-clock budget of the whole run (default 80)")
    p.add_argument("--compile-cap-s", type=float, default=45.0, help="hard cap on the torch.compile child (default 45)")
    p.add_argument(
        "--compile-mode",
        default="default",
        help="torch.compile mode for the batched student (default | max-autotune-no-cudagraphs | ...)",
    )
    p.add_argument(
        "--stream-compile-mode",
        default="reduce-overhead",
        help="torch.compile mode for the streaming student (default reduce-overhead: CUDA graphs)",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="try torch.compile on the student (default: on with CUDA, off on the CPU)",
    )
    # Hidden: the CPU test run and the compile child.
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help=argparse.SUPPRESS)
    p.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--compile-backend", default=None, help=argparse.SUPPRESS)
    p.add_argument("--compile-child", metavar="SPEC", help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--models", default="student,teacher", help=argparse.SUPPRESS)
    return p


def _command(argv: Sequence[str]) -> str:
    return shlex.join(["python", "scripts/bench_cuda.py", *argv])


def main(argv: Sequence[str] | None = None) -> int:
    """``python scripts/bench_cuda.py``: see the module docstring."""
    t0 = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.compile_child:
        return compile_child(json.loads(args.compile_child))
    meta: dict[str, Any] = {"budget_s": args.budget_s, "quick": args.quick, "forced_cpu": False, "cuda": False}
    outcome = Outcome()
    if args.device == "cpu" and not args.force:
        print("bench_cuda: --device cpu is a test mode of the CUDA benchmark: add --force", file=sys.stderr)
        return 2
    try:
        import torch
    except Exception as exc:  # torch missing or broken: say so, like a machine without CUDA
        meta.update(message=f"torch cannot be imported ({_error_text(exc)}): nothing measured", device=args.device)
        print(f"bench_cuda: {meta['message']}")
        write_results(args, None, outcome, {**meta, "environment": environment(None, args.device, _command(argv))})
        return 0
    command = _command(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        meta.update(
            message=f"no CUDA GPU available (torch {torch.__version__}, built for CUDA {torch.version.cuda}): "
            "nothing measured",
            device="cuda",
        )
        print(f"bench_cuda: {meta['message']}")
        write_results(args, None, outcome, {**meta, "environment": environment(torch, "cpu", command)})
        return 0
    device = args.device
    meta.update(cuda=device == "cuda", forced_cpu=device == "cpu", device=device)
    env = environment(torch, device, command)
    label = env.get("gpu") if device == "cuda" else "CPU, forced test run"
    report = Report(env=env)
    bench = CudaBench(report, device, args.quick, args.budget_s, t0=t0, label=str(label), log=not args.quiet)
    bench.outcome = outcome
    done = threading.Event()
    lock = threading.Lock()

    def finish(aborted: bool) -> list[str]:
        with lock:
            if done.is_set():
                return []
            done.set()
            outcome.aborted = aborted
            meta["wall_s"] = round(time.perf_counter() - t0, 1)
            if aborted:
                report.notes.append(f"ABORTED by the watchdog at {meta['wall_s']} s: the figures are partial")
            return write_results(args, report, outcome, meta)

    def watchdog() -> None:
        if done.wait(max(0.0, t0 + args.budget_s + WATCHDOG_GRACE_S - time.perf_counter())):
            return
        for pgid in list(_CHILD_GROUPS):
            _kill_group(pgid)
        written = finish(True)
        print(
            f"bench_cuda: ABORTED after {time.perf_counter() - t0:.0f} s (budget {args.budget_s:g} s); "
            f"partial results written: {', '.join(written) or 'nothing'}",
            flush=True,
        )
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    use_compile = args.compile if args.compile is not None else device == "cuda"
    compile_opts = None
    if use_compile:
        compile_opts = {
            "cap_s": args.compile_cap_s,
            "mode": "" if args.compile_mode == "default" else args.compile_mode,
            "stream_mode": args.stream_compile_mode if device == "cuda" else "",
            "backend": args.compile_backend or ("inductor" if device == "cuda" else "eager"),
            "stream": True,
        }
    else:
        outcome.skipped["student torch.compile"] = "off (--no-compile, or the CPU test run)"
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)  # the test run on a shared CPU: one thread does not stall on busy cores
    try:
        kinds = [k for k in KINDS if k in args.models.split(",")]
        bench.load({"student": args.student, "teacher": args.teacher}, kinds)
        bench.run_all(compile_opts)
    except Exception as exc:  # a bug outside the guarded steps: keep what was measured
        outcome.errors["bench"] = _error_text(exc)
        traceback.print_exc()
    finally:
        torch.set_num_threads(threads)
    written = finish(False)
    if not written and done.is_set() and outcome.aborted:
        return 0
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    for name, err in outcome.errors.items():
        print(f"error: {name}: {err}")
    for path in written:
        print(f"wrote {path}")
    print(f"bench_cuda: done in {meta['wall_s']} s on {label} ({len(outcome.errors)} errors)")
    return 0


def cuda_rows(report: Report, cpu_backends: dict[str, Any], quick: bool) -> None:
    """GPU rows of ``scjd bench`` (every model, marked with the device name; no torch.compile)."""
    import torch

    from scjd_core.backends.lifter import ModelBackend

    label = torch.cuda.get_device_name(0)
    bench = CudaBench(report, "cuda", quick, budget_s=120.0 if quick else 300.0, label=label)
    bench.use_backends(
        {
            kind: ModelBackend(copy.deepcopy(b.model), b.meta, device="cuda", name=kind)
            for kind, b in cpu_backends.items()
        }
    )
    bench.run_all(None)
    report.notes.append(
        f"CUDA rows on {label}, {MACHINE_NOTE}: torch.compile is measured by scripts/bench_cuda.py only"
    )


if __name__ == "__main__":
    sys.exit(main())
