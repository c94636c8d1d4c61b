"""``scjd bench`` rows for whole-pipeline work: the demo clip, a synthetic stream, memory.

* Demo clip: the detector-only rate (the pipeline with no 3D backend: decoding and 2D
  detection, pipelined) and the end-to-end rate of what ``scjd process`` does (student,
  pipelined, then export to BVH + CSV + JSON), timed alternately in the same run; and a
  sequential pass with teacher and student giving every stage's ms per frame.
* Synthetic stream: student lifting, filtering and export per frame on synthetic 2D.
* Memory: 1-minute and 1-hour lifting runs (:mod:`scjd_core.longrun`), each in its own
  process, whose peak resident memory (``VmHWM``) they report themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scjd_core.benchkit import Report

E2E_TARGET = 0.90
RSS_RATIO_TARGET = 1.5
EXPORT_FORMATS = ("bvh", "csv", "json")


def default_clip() -> str:
    """The shipped demo clip (``assets/demo/pose_1.mp4`` at the repository root)."""
    return str(Path(__file__).resolve().parents[1] / "assets" / "demo" / "pose_1.mp4")


def _process(clip: str, backends: list, pipelined: bool) -> tuple[Any, float]:
    from scjd_core.pipeline import Pipeline
    from scjd_core.sources import open_source

    with open_source(clip) as source:
        t0 = time.perf_counter()
        result = Pipeline(backends=backends).process(source, pipelined=pipelined)
        return result, time.perf_counter() - t0


def _export(result: Any, names: list[str]) -> float:
    from scjd_core.outputs import export_clip

    with tempfile.TemporaryDirectory(prefix="scjd-bench-") as out:
        t0 = time.perf_counter()
        export_clip(result, out, list(EXPORT_FORMATS), "bench", names, "none", overwrite=True)
        return time.perf_counter() - t0


def _stage(report: Report, section: str, name: str, seconds: float, frames: int, note: str = "") -> None:
    ms = seconds * 1000.0 / max(frames, 1)
    fps = frames / seconds if seconds > 0 else float("inf")
    report.add(section, name, ms, "ms/frame", note=f"{fps:,.0f} frames/s" + (f"; {note}" if note else ""))


def _filter_and_export_rows(report: Report, section: str, result: Any) -> None:
    from scjd_core.filters import smooth_clip

    n = len(result)
    poses = result.lifts["student"].poses
    for method in ("butterworth", "oneeuro"):
        smooth_clip(poses, result.info.fps, method=method)  # warm-up (first call imports scipy)
        t0 = time.perf_counter()
        smooth_clip(poses, result.info.fps, method=method)
        _stage(report, section, f"filtering {method}", time.perf_counter() - t0, n)
    _stage(report, section, "export bvh+csv+json (student)", _export(result, ["student"]), n)


def clip_rows(report: Report, clip: str, student: Any, teacher: Any, quick: bool, engine: str = "torch") -> None:
    """Demo-clip rows: stages, detector-only rate, end-to-end rate and their ratio.

    Args:
        report: where rows go.
        clip: the video.
        student: the student backend end-to-end runs use (the engine the bench chose).
        teacher: the teacher backend (stage breakdown only).
        quick: one timed run each instead of two.
        engine: the student's engine, for the row's note.
    """
    section = f"clip {Path(clip).name}"
    best_det, best_e2e, frames = float("inf"), float("inf"), 0
    _process(clip, [], pipelined=True)  # warm-up: first MediaPipe graph, file cache
    for i in range(1 if quick else 2):  # alternate (order swapped each time): both see the same load
        for with_student in (False, True) if i % 2 == 0 else (True, False):
            result, secs = _process(clip, [student] if with_student else [], pipelined=True)
            if with_student:
                best_e2e = min(best_e2e, secs + _export(result, ["student"]))
            else:
                best_det, frames = min(best_det, secs), len(result)
    seq_result, seq_secs = _process(clip, [teacher, student], pipelined=False)
    timings = seq_result.timings
    for stage, label in (("decode", "decode"), ("detect", "2D detection (MediaPipe)")):
        _stage(report, section, label, timings[stage], frames)
    for kind in ("teacher", "student"):
        _stage(report, section, f"{kind} lifting", timings[kind], frames, "81-frame windows, batch of 1 per window")
    _filter_and_export_rows(report, section, seq_result)
    det_fps, e2e_fps = frames / best_det, frames / best_e2e
    report.add(
        section,
        "detector-only rate (decode + detect, pipelined)",
        det_fps,
        "frames/s",
        note=f"{frames} frames, best of runs alternating with end-to-end",
    )
    ratio = e2e_fps / det_fps
    report.add(
        section,
        "end-to-end (student, pipelined, + export)",
        e2e_fps,
        "frames/s",
        f">= {E2E_TARGET:.0%} of detector",
        ratio >= E2E_TARGET,
        f"{ratio:.1%} of the detector-only rate; student engine {engine}",
    )
    if ratio < E2E_TARGET:
        _explain_e2e(report, section, ratio, timings, frames)
    report.add(
        section,
        "sequential teacher+student (no export)",
        frames / seq_secs,
        "frames/s",
        note="stages above are from this pass",
    )


def _explain_e2e(report: Report, section: str, ratio: float, timings: dict[str, float], frames: int) -> None:
    """Note the measured breakdown behind a missed end-to-end target, and what would close it."""
    lift_ms = timings["student"] * 1000.0 / frames
    export_ms = next(r.value for r in report.rows if r.section == section and r.name.startswith("export"))
    detect_ms = timings["detect"] * 1000.0 / frames
    report.notes.append(
        f"MISS {section} end-to-end: {ratio:.1%} of the detector-only rate. Our stages add student lifting "
        f"{lift_ms:.2f} + export {export_ms:.2f} ms/frame against 2D detection's {detect_ms:.1f} ms/frame "
        f"({(lift_ms + export_ms) / detect_ms:.1%}); the rest of the gap is the detector's own run-to-run spread "
        "on a loaded machine (MediaPipe's threads share the cores with the lifting thread and other processes). "
        "Closing it: write the export while processing (rows appended as windows finish, as scjd_core.longrun "
        "does) instead of after, and time more alternating repeats on an unloaded machine"
    )


def synthetic_stage_rows(report: Report, student: Any, frames: int) -> None:
    """Student lifting, filtering and export per frame on a synthetic 2D stream."""
    from scjd_core.longrun import synthetic_stream
    from scjd_core.pipeline import ClipResult
    from scjd_core.types import SourceInfo

    seq = next(synthetic_stream(frames, chunk=frames))
    section = f"synthetic {frames} frames"
    from scjd_core.benchkit import best_time

    secs = best_time(lambda: student.lift(seq), 2)
    lift = student.lift(seq)
    _stage(report, section, "student lifting", secs, frames, "one call, batched windows, best of 2")
    info = SourceInfo("synthetic", "synthetic", seq.fps, seq.width, seq.height, frames)
    result = ClipResult(info=info, seq=seq, lifts={"student": lift})
    _filter_and_export_rows(report, section, result)


def run_longrun(frames: int, out_dir: str) -> dict[str, Any]:
    """Lift a synthetic stream of ``frames`` to disk in a fresh process; return its JSON report.

    ``peak_rss_mb`` is the child's own ``VmHWM``; ``children_maxrss_mb`` is
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read after it exited (max over children so far).

    Raises:
        RuntimeError: when the child fails (its stderr is included).
    """
    import resource

    out = Path(out_dir) / f"lift_{frames}.npy"
    cmd = [sys.executable, "-m", "scjd_core.longrun", "--frames", str(frames), "--out", str(out), "--overwrite"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"long run of {frames} frames failed: {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["wall_s"] = wall
    data["children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    data["file_mb"] = out.stat().st_size / 1e6
    out.unlink()
    return data


def memory_rows(report: Report, long: bool) -> None:
    """Peak RSS and cost of 1-minute and (with ``long``) 1-hour lifting runs at 30 fps."""
    section = "memory (student, synthetic 2D -> .npy)"
    with tempfile.TemporaryDirectory(prefix="scjd-bench-") as tmp:
        short = run_longrun(1800, tmp)
        report.add(
            section,
            "1-minute run (1,800 frames) peak RSS",
            short["peak_rss_mb"],
            "MiB",
            note=f"{short['fps']:,.0f} frames/s lifting+writing; {short['model']}",
        )
        if not long:
            report.notes.append("1-hour memory run skipped (--no-long or --quick)")
            return
        hour = run_longrun(108_000, tmp)
    ratio = hour["peak_rss_mb"] / short["peak_rss_mb"]
    report.add(
        section,
        "1-hour run (108,000 frames) peak RSS",
        hour["peak_rss_mb"],
        "MiB",
        f"<= {RSS_RATIO_TARGET}x 1-minute",
        ratio <= RSS_RATIO_TARGET,
        f"{ratio:.2f}x the 1-minute run; output file {hour['file_mb']:.1f} MB",
    )
    per_frame = (hour["seconds"] / hour["frames"]) / (short["seconds"] / short["frames"])
    report.add(
        section,
        "1-hour run lifting+writing",
        hour["fps"],
        "frames/s",
        note=f"{hour['seconds']:.1f} s; per-frame cost {per_frame:.2f}x the 1-minute run (<= 1: no slowdown)",
    )
