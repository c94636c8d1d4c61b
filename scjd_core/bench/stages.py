"""``scjd bench`` rows for whole-pipeline work: the demo clip and a synthetic stream.

* Demo clip: the detector-only rate (the pipeline with no 3D backend: decoding and 2D
  detection, pipelined) and the end-to-end rate of what ``scjd process`` does (student,
  pipelined, then export to BVH + CSV + JSON), timed alternately in the same run; and a
  sequential pass with teacher and student giving every stage's ms per frame.
* Synthetic stream: student lifting, filtering and export per frame on synthetic 2D.

The memory rows (long runs in their own processes) are in :mod:`scjd_core.bench.memory`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from scjd_core.bench.kit import best_time
from scjd_core.bench.report import Report

E2E_TARGET = 0.90
EXPORT_FORMATS = ("bvh", "csv", "json")


def default_clip() -> str:
    """The shipped demo clip (``assets/demo/pose_1.mp4`` at the repository root)."""
    return str(Path(__file__).resolve().parents[2] / "assets" / "demo" / "pose_1.mp4")


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
        "Closing it: write the export while processing (rows appended as windows finish, as scjd_core.bench.longrun "
        "does) instead of after, and time more alternating repeats on an unloaded machine"
    )


def synthetic_stage_rows(report: Report, student: Any, frames: int) -> None:
    """Student lifting, filtering and export per frame on a synthetic 2D stream."""
    from scjd_core.pipeline import ClipResult
    from scjd_core.synthetic import synthetic_stream
    from scjd_core.types import SourceInfo

    seq = next(synthetic_stream(frames, chunk=frames))
    section = f"synthetic {frames} frames"
    secs = best_time(lambda: student.lift(seq), 2)
    lift = student.lift(seq)
    _stage(report, section, "student lifting", secs, frames, "one call, batched windows, best of 2")
    info = SourceInfo("synthetic", "synthetic", seq.fps, seq.width, seq.height, frames)
    result = ClipResult(info=info, seq=seq, lifts={"student": lift})
    _filter_and_export_rows(report, section, result)
