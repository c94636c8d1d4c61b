"""``scjd bench`` rows of the lifters themselves: model sizes, batched and streaming lifting.

Also the engine each model should use (from those measurements), a profile of the
student when a target is missed, and a note per missed target.
"""

from __future__ import annotations

from typing import Any

from scjd_core.bench.kit import best_time, latencies_ms
from scjd_core.bench.report import Report

#: Targets from the performance issue.
STUDENT_FPS_TARGET = 5000.0
RATIO_TARGET = 10.0
STREAM_MS_TARGET = 5.0


def synthetic(frames: int) -> Any:
    """One synthetic 2D sequence of ``frames`` frames."""
    from scjd_core.synthetic import synthetic_stream

    return next(synthetic_stream(frames, chunk=frames))


def model_rows(report: Report, backends: dict[str, Any]) -> dict[str, float]:
    """Parameters and FLOPs per output frame of each model; returns the FLOPs."""
    from scjd_core.models import count_parameters, flops_per_output_frame

    flops = {}
    for kind, backend in backends.items():
        flops[kind] = flops_per_output_frame(backend.model)
        report.add("models", f"{kind} FLOPs per output frame", flops[kind] / 1e6, "MFLOP")
        report.add("models", f"{kind} parameters", count_parameters(backend.model) / 1e6, "M")
    if {"student", "teacher"} <= set(flops):
        report.add("models", "teacher/student FLOPs per output frame", flops["teacher"] / flops["student"], "x")
    return flops


def lifting_rows(report: Report, engines: dict[str, dict[str, Any]], quick: bool) -> dict[str, dict[str, float]]:
    """Batched throughput of every model x engine, engines timed alternately (best of N).

    Returns:
        ``{kind: {engine: output frames/s}}``.
    """
    fps: dict[str, dict[str, float]] = {}
    for kind, per_engine in engines.items():
        windows = (32 if quick else 64) if kind == "student" else (2 if quick else 8)
        repeats = 2 if quick else (4 if kind == "student" else 2)
        seq = synthetic(windows * next(iter(per_engine.values())).window)
        best = {e: float("inf") for e in per_engine}
        for _ in range(repeats):  # alternate engines so both see the same machine load
            for engine, backend in per_engine.items():
                best[engine] = min(best[engine], best_time(lambda b=backend, s=seq: b.lift(s), 1))
        fps[kind] = {}
        for engine, secs in best.items():
            fps[kind][engine] = len(seq) / secs
            target = f">= {STUDENT_FPS_TARGET:,.0f}" if kind == "student" else ""
            ok = fps[kind][engine] >= STUDENT_FPS_TARGET if kind == "student" else None
            report.add(
                "lifting (batched)",
                f"{kind} {engine}",
                fps[kind][engine],
                "frames/s",
                target,
                ok,
                f"{windows / secs:,.1f} windows/s, {windows} windows per call",
            )
    if {"student", "teacher"} <= set(fps):
        for engine in fps["student"]:
            if engine in fps["teacher"]:
                ratio = fps["student"][engine] / fps["teacher"][engine]
                report.add(
                    "lifting (batched)",
                    f"student/teacher {engine}",
                    ratio,
                    "x",
                    f">= {RATIO_TARGET:g}x",
                    ratio >= RATIO_TARGET,
                    "same run",
                )
    return fps


def streaming_rows(report: Report, engines: dict[str, dict[str, Any]], quick: bool) -> dict[str, dict[str, float]]:
    """Latency per new frame: one ``window``-frame lift per frame, as :meth:`Pipeline.iter_live` does."""
    out: dict[str, dict[str, float]] = {}
    for kind, per_engine in engines.items():
        out[kind] = {}
        for engine, backend in per_engine.items():
            seq = synthetic(backend.window)
            calls = (40 if quick else 200) if kind == "student" else (3 if quick else 10)
            lat = latencies_ms(lambda b=backend, s=seq: b.lift(s), calls)
            out[kind][engine] = lat["median"]
            student = kind == "student"
            report.add(
                "streaming",
                f"{kind} {engine} latency per new frame",
                lat["median"],
                "ms",
                f"<= {STREAM_MS_TARGET:g} ms" if student else "",
                lat["median"] <= STREAM_MS_TARGET if student else None,
                f"median of {calls}; p95 {lat['p95']:.2f} ms, min {lat['min']:.2f} ms",
            )
    return out


def choose_engines(
    report: Report, fps: dict[str, dict[str, float]], lat: dict[str, dict[str, float]]
) -> dict[str, str]:
    """The engine each model should use, from the measurements, written into the notes.

    Decided on the streaming latency (one window per call, which is what clip and live
    processing lift), like :func:`scjd_core.backends.onnx_backend.choose_engine`;
    ONNX Runtime only when it measured faster, PyTorch otherwise.

    Returns:
        ``{kind: "torch" | "onnx"}``.
    """
    chosen = {}
    for kind, per_engine in fps.items():
        stream = lat.get(kind, {})
        if "onnx" not in per_engine or "onnx" not in stream:
            chosen[kind] = "torch"
            report.notes.append(f"engine ({kind}): torch (ONNX Runtime not measured)")
            continue
        speedup, s_speedup = per_engine["onnx"] / per_engine["torch"], stream["torch"] / stream["onnx"]
        chosen[kind] = "onnx" if s_speedup > 1.0 else "torch"
        verdict = "onnx (ONNX Runtime faster here)" if chosen[kind] == "onnx" else "torch (ONNX Runtime not faster)"
        report.notes.append(
            f"engine ({kind}, CPU): {verdict}: ONNX Runtime is {s_speedup:.2f}x PyTorch's speed streaming "
            f"(one window per call, as clip and live modes lift) and {speedup:.2f}x batched; "
            "`load_engine_backend(kind, engine='auto')` repeats this measurement on the user's machine"
        )
    return chosen


def profile_student(report: Report, backend: Any, windows: int = 64, top: int = 6) -> None:
    """Torch-profile one batched student lift and note the most expensive operators."""
    from torch.profiler import ProfilerActivity, profile

    seq = synthetic(windows * backend.window)
    backend.lift(seq)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        backend.lift(seq)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    hot = ", ".join(f"{e.key} {100 * e.self_cpu_time_total / total:.0f} %" for e in events[:top])
    report.notes.append(f"profile (torch profiler, PyTorch student, {windows} windows, self CPU time): {hot}")


def explain_misses(report: Report, fps: dict[str, dict[str, float]], lat: dict[str, dict[str, float]]) -> None:
    """A note per missed target: the figure, the bottleneck the measurements show, the remedy."""
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpus = os.cpu_count() or 1
    for row in [r for r in report.rows if r.ok is False]:
        text = f"MISS {row.section} / {row.name}: {row.cells()[2]} (target {row.target})"
        if row.section == "streaming":
            lo = float(row.note.split("min ")[1].split(" ms")[0])
            kind, engine = row.name.split()[:2]
            others = {e: ms for e, ms in lat.get(kind, {}).items() if e != engine and ms <= STREAM_MS_TARGET}
            if others:
                other, ms = min(others.items(), key=lambda item: item[1])
                text += (
                    f"; the same graph took {ms:.2f} ms under {other} in the same run, so the cost is the "
                    f"{engine} engine's per-call overhead (eager op-by-op dispatch and a multi-thread pool that "
                    f"stalls when cores are busy: load average {load:.1f} on {cpus} cores), not the model; "
                    f"the {other} engine, chosen by the measurement, closes it"
                )
            elif lo <= STREAM_MS_TARGET:
                text += (
                    f"; its fastest call took {lo:.2f} ms, so the compute fits the target and the median is "
                    f"time spent waiting for a core (load average {load:.1f} on {cpus} cores while measuring); "
                    "closes on an unloaded machine, or with the single-threaded ONNX session the ONNX engine "
                    "uses for one-window calls (PyTorch's 2-thread OpenMP pool stalls when cores are busy)"
                )
            else:
                text += "; compute-bound: see the profile note; fewer sampled frames K or a narrower student close it"
        elif row.section == "lifting (batched)" and row.name.endswith("torch"):
            best = max(fps["student"].values())
            text += (
                "; the torch profile (note) is dominated by memory-bound element-wise work (copies, adds, "
                "LayerNorm, GELU) on the dense upsampling head's B x 81 x 17 x 64 tokens, which eager PyTorch "
                f"runs op by op; ONNX Runtime fuses them and reached {best:,.0f} frames/s in the same run, so the "
                "ONNX engine closes it on CPU (torch.compile or a narrower refinement head would close it in PyTorch)"
            )
        elif "end-to-end" in row.name:
            continue  # explained with its stage breakdown by stages.clip_rows
        elif "RSS" in row.name:
            text += "; peak memory follows the block size (windows per batch), not the stream length"
        report.notes.append(text)
