"""The ``scjd`` command line: ``scjd process`` and ``scjd info``.

Every problem a user can cause ends in one line on stderr (``scjd: error: ...``) and a
non-zero exit code, never a traceback, and never a half-written file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scjd_core import __version__
from scjd_core.errors import ScjdError


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scjd",
        description="Fast 3D human pose from ordinary video (MediaPipe 2D + SCJD lifting).",
    )
    parser.add_argument("--version", action="version", version=f"scjd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("process", help="turn a video, image folder or webcam into 3D poses and export them")
    p.add_argument("input", metavar="INPUT", help="video file, image folder, or webcam:N")
    p.add_argument(
        "--backend",
        default="student",
        help="3D backend(s): student (default), teacher, mediapipe, a comma list, or all",
    )
    p.add_argument(
        "--export",
        default="bvh,csv,json",
        help="formats to write, comma-separated: bvh, csv, json, npz (default: bvh,csv,json)",
    )
    p.add_argument("--out", default="scjd_output", help="output folder (default: ./scjd_output)")
    p.add_argument(
        "--smooth",
        default="none",
        choices=["none", "butterworth", "oneeuro"],
        help="temporal filter applied to exported 3D (default: none)",
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument(
        "--engine",
        default="auto",
        choices=["auto", "torch", "onnx"],
        help="inference engine of the models: auto (default: time PyTorch and ONNX Runtime, keep the faster), "
        "torch or onnx",
    )
    p.add_argument("--teacher", metavar="CKPT", help="teacher checkpoint (default: the shipped one)")
    p.add_argument("--student", metavar="CKPT", help="student checkpoint (default: the shipped one)")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames (webcam: default 300)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--sequential", action="store_true", help="do not overlap decoding/detection/lifting")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_process)

    from scjd_core.bench import add_bench_parser

    add_bench_parser(sub)

    i = sub.add_parser("info", help="print versions, compute device and the models found")
    i.set_defaults(func=_cmd_info)
    return parser


def _stem_for(spec: str) -> str:
    if spec.lower().startswith("webcam:"):
        return "webcam" + spec.split(":", 1)[1]
    path = Path(spec)
    name = path.stem if path.suffix else path.name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "clip"


class _Limited:
    """Wraps a source so that only the first ``n`` frames are read."""

    def __init__(self, source, n: int) -> None:
        self._source, self._n = source, n
        self.info = source.info

    def __iter__(self):
        for k, frame in enumerate(self._source):
            if k >= self._n:
                return
            yield frame


def _cmd_process(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from scjd_core.backends.registry import create_backends, parse_backends
    from scjd_core.export import parse_formats
    from scjd_core.outputs import check_outputs, export_clip
    from scjd_core.pipeline import Pipeline
    from scjd_core.sources import open_source

    # Everything that can be checked before the (slow) processing is checked first.
    names = parse_backends(args.backend)
    formats = parse_formats(args.export)
    stem = _stem_for(args.input)
    check_outputs(args.out, stem, formats, names, args.overwrite)
    source = open_source(args.input)
    with source:
        max_frames = args.max_frames
        if max_frames is None and source.info.frame_count is None:
            max_frames = 300
        checkpoints = {"teacher": args.teacher, "student": args.student}
        backends = create_backends(names, args.device, checkpoints, engine=args.engine)
        pipeline = Pipeline(backends=backends)
        total = source.info.frame_count
        if max_frames is not None:
            src = _Limited(source, max_frames)
            total = min(total, max_frames) if total else max_frames
        else:
            src = source
        bar = tqdm(total=total, unit="frame", desc=stem, disable=args.quiet, file=sys.stderr)
        try:
            clip = pipeline.process(src, on_progress=lambda n, _t: bar.update(n - bar.n), pipelined=not args.sequential)
        finally:
            bar.close()
    t0 = time.perf_counter()
    written = export_clip(clip, args.out, formats, stem, names, args.smooth, args.overwrite)
    export_s = time.perf_counter() - t0
    _print_summary(clip, backends, written, export_s)
    return 0


def _print_summary(clip, backends, written: Sequence[Path], export_s: float) -> None:
    n = len(clip)
    fps = clip.stage_fps()
    total = clip.timings.get("total", 0.0) + export_s
    print(f"frames         {n} ({clip.info.width}x{clip.info.height}, {clip.info.fps:g} fps source)")
    print(f"detection rate {clip.detection_rate * 100:.1f} % ({int(clip.seq.filled.sum())} frames filled)")
    for stage in ["decode", "detect"] + [b.name for b in backends]:
        if stage in fps:
            print(f"{stage:<14} {fps[stage]:10.1f} frames/s")
    print(f"export         {n / export_s if export_s > 0 else float('inf'):10.1f} frames/s")
    print(f"end to end     {n / total if total > 0 else float('inf'):10.1f} frames/s")
    device = backends[0].device if backends else "cpu"
    print(f"device         {device}")
    for path in written:
        print(f"wrote          {path}")


def _cmd_info(args: argparse.Namespace) -> int:
    import platform
    from importlib import metadata

    print(f"scjd           {__version__}")
    print(f"python         {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs)")
    for dist in ["torch", "numpy", "opencv-python", "mediapipe", "scipy", "onnxruntime", "PySide6"]:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{dist:<14} {version}")
    from scjd_core.device import resolve_device

    device = resolve_device("auto")
    if device.startswith("cuda"):
        import torch

        device += f" ({torch.cuda.get_device_name(0)})"
    print(f"device         {device}")
    from scjd_core.models.checkpoint import describe_shipped_models

    for line in describe_shipped_models():
        print(f"model          {line}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scjd`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScjdError as exc:
        print(f"scjd: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("scjd: interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
