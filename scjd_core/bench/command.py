"""``scjd bench`` / ``python -m scjd_core.bench``: measure SCJD's speed, print and publish it.

Measured, on the CPU always and on CUDA when a GPU is present:

* models: parameters and FLOPs per output frame (:func:`scjd_core.models.flops_per_output_frame`);
* lifting, batched: teacher and student windows/s and output frames/s, with PyTorch and
  ONNX Runtime, the student/teacher ratio measured in the same run, and the engine
  choice that follows from it (ONNX Runtime only where it measured faster);
* streaming: latency per new frame (one window lifted per frame, as live mode does);
* the demo clip: decode, 2D detection, teacher and student lifting, filtering and
  export per frame, and end-to-end processing against the detector-only rate;
* a synthetic stream: filtering and export per frame; peak resident memory and cost of
  1-minute and 1-hour (108,000 frames) lifting runs, each in its own process.

Speed does not depend on weight values: without shipped checkpoints the registered
``student-s`` / ``teacher-s`` sizes are timed, randomly initialised (the report says
which). Timings are the best of several runs (the machine may be shared). Where a
target is missed the student is profiled (torch profiler) and the hot spots are
written into the notes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from scjd_core.bench.kit import make_backend
from scjd_core.bench.report import Report


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="fewer repeats and shorter runs (about 30 s)")
    p.add_argument(
        "--long",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="include the 1-hour (108,000 frame) lifting memory run (default: on; --no-long skips it)",
    )
    p.add_argument("--clip", help="video for the end-to-end rows (default: the shipped demo clip)")
    p.add_argument("--markdown", default="BENCHMARKS.md", help="report file to write ('' to skip)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime rows")
    p.add_argument("--no-clip", action="store_true", help="skip the video (MediaPipe) rows")
    p.add_argument("--threads", type=int, help="CPU threads for PyTorch and ONNX Runtime (default: their own)")


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` command to an ``argparse`` subparsers object (``scjd bench``)."""
    p = subparsers.add_parser("bench", help="measure speed and memory; print a table and write BENCHMARKS.md")
    _add_arguments(p)
    p.set_defaults(func=run_bench)
    return p


def _onnx_usable(report: Report, args: argparse.Namespace) -> bool:
    """Whether to time ONNX Runtime too (asked for and installed; a note says when it is not)."""
    if args.no_onnx:
        return False
    from scjd_core.backends.onnx_backend import onnxruntime_available

    if onnxruntime_available():
        return True
    report.notes.append("onnxruntime is not installed: ONNX rows skipped (pip install 'scjd[onnx]')")
    return False


def build_engines(report: Report, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The student and the teacher on every engine to time: ``{kind: {engine: backend}}``."""
    use_onnx = _onnx_usable(report, args)
    engines: dict[str, dict[str, Any]] = {}
    for kind in ("student", "teacher"):
        torch_backend, note = make_backend(kind, "torch", "cpu")
        report.notes.append(f"{kind} weights: {note}")
        engines[kind] = {"torch": torch_backend}
        if use_onnx:
            from scjd_core.backends.onnx_backend import OnnxBackend

            t0 = time.perf_counter()
            onnx_backend = OnnxBackend(torch_backend.model, torch_backend.meta, name=kind, threads=args.threads)
            engines[kind]["onnx"] = onnx_backend
            cache = "cached on disk" if onnx_backend.meta.get("sha256") else "random init: not cached"
            report.notes.append(f"{kind}: ONNX export + session {time.perf_counter() - t0:.1f} s ({cache})")
    return engines


def _measure(report: Report, args: argparse.Namespace, engines: dict[str, dict[str, Any]]) -> None:
    """Every row, in order: models, lifting, the clip, the synthetic stream, memory, CUDA."""
    import torch

    from scjd_core.bench.lifting import (
        STREAM_MS_TARGET,
        STUDENT_FPS_TARGET,
        choose_engines,
        explain_misses,
        lifting_rows,
        model_rows,
        profile_student,
        streaming_rows,
    )
    from scjd_core.bench.memory import memory_rows
    from scjd_core.bench.stages import clip_rows, default_clip, synthetic_stage_rows

    _log("models")
    model_rows(report, {k: v["torch"] for k, v in engines.items()})
    _log("batched lifting")
    fps = lifting_rows(report, engines, args.quick)
    _log("streaming")
    lat = streaming_rows(report, engines, args.quick)
    chosen = choose_engines(report, fps, lat)
    missed = fps["student"]["torch"] < STUDENT_FPS_TARGET or lat["student"]["torch"] > STREAM_MS_TARGET
    if missed:  # the torch profiler sees inside PyTorch only
        profile_student(report, engines["student"]["torch"])
    if not args.no_clip:
        _log("demo clip")
        student = engines["student"][chosen["student"]]
        clip_rows(
            report, args.clip or default_clip(), student, engines["teacher"]["torch"], args.quick, chosen["student"]
        )
    _log("synthetic stream")
    synthetic_stage_rows(report, engines["student"]["torch"], frames=900 if args.quick else 1800)
    _log("memory")
    memory_rows(report, long=args.long and not args.quick)
    if torch.cuda.is_available():
        from scjd_core.bench.cuda.runner import cuda_rows

        _log("cuda")
        cuda_rows(report, {k: v["torch"] for k, v in engines.items()}, args.quick)
    else:
        report.notes.append("no CUDA GPU: CUDA rows (fp16 parity, GPU throughput, live-mode copies) skipped")
    explain_misses(report, fps, lat)


def run_bench(args: argparse.Namespace) -> int:
    """Run every benchmark, print the table, write ``BENCHMARKS.md`` and the JSON."""
    import os

    import torch

    from scjd_core.bench.environment import command_line, environment
    from scjd_core.bench.report import write_outputs

    if args.threads:
        torch.set_num_threads(args.threads)
    report = Report(env=environment(getattr(args, "command_line", None) or command_line()))
    t_start = time.perf_counter()
    _measure(report, args, build_engines(report, args))
    report.env["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    report.env["bench_seconds"] = round(time.perf_counter() - t_start, 1)
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    for path in write_outputs(report, args.markdown or None, args.json):
        print(f"wrote {path}")
    return 0


def _log(stage: str) -> None:
    print(f"[bench] {stage} ...", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scjd_core.bench``."""
    from scjd_core.errors import ScjdError

    parser = argparse.ArgumentParser(prog="python -m scjd_core.bench", description=__doc__.splitlines()[0])
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_bench(args)
    except ScjdError as exc:
        print(f"scjd: error: {exc}", file=sys.stderr)
        return exc.exit_code
