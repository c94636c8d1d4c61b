"""``scjd process``: any input -> 2D -> 3D -> BVH/CSV/JSON/NPZ files, and a short report."""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from scjd_core.cli.messages import stdout_error, warn
from scjd_core.cli.options import add_model_options
from scjd_core.errors import InputError, OutputError
from scjd_core.skeleton import check_height

#: Longest output stem, in UTF-8 bytes: with the longest suffix (``.mediapipe.bvh``) the
#: names stay within the 255 bytes most file systems allow.
STEM_MAX_BYTES = 230
#: Frames read from a source of unknown length (a webcam) without --max-frames.
LIVE_MAX_FRAMES = 300


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``scjd process`` to the sub-commands."""
    p = sub.add_parser(
        "process", help="turn a video, image folder, webcam, 2D keypoint or mocap file into 3D poses and export them"
    )
    _input_options(p)
    _model_options(p)
    _output_options(p)
    p.set_defaults(func=run)


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        metavar="INPUT",
        help="video file, image folder, webcam:N, 2D keypoint file (.npz/.csv) or mocap file (.bvh/.amc)",
    )
    p.add_argument(
        "--roi",
        metavar="X,Y,W,H",
        help="follow the person inside this box (pixels of the first frame: left, top, width, height; "
        "`scjd people INPUT` lists the boxes of the people it finds). Default: MediaPipe follows whoever "
        "it finds first",
    )
    p.add_argument(
        "--max-frames", type=int, metavar="N", help=f"stop after N frames (webcam: default {LIVE_MAX_FRAMES})"
    )
    p.add_argument(
        "--fps",
        type=float,
        metavar="N",
        help="frame rate to use instead of the one the input states (frame times become frame / N; "
        "a mocap file is resampled to it)",
    )
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="process a damaged or cut-off video with the frames that decode (a warning says how many)",
    )


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        default="student",
        help="3D backend(s): student (default), teacher, mediapipe (not for keypoint or mocap files), "
        "a comma list, or all",
    )
    add_model_options(p)
    p.add_argument("--sequential", action="store_true", help="do not overlap decoding/detection/lifting")


def _output_options(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--root",
        default="trajectory",
        choices=["trajectory", "fixed"],
        help="trajectory (default): the body moves through the scene with its feet on the floor; "
        "fixed: the root stays above the origin",
    )
    p.add_argument(
        "--fov",
        type=float,
        metavar="DEG",
        help="the camera's field of view in degrees across the longer image side (horizontal for a "
        "landscape video), for --root trajectory (default: 60)",
    )
    p.add_argument(
        "--height",
        type=float,
        metavar="METRES",
        help="the person's standing height: the exported skeleton is scaled to it (one camera cannot tell "
        "a tall person far away from a short one near; default: the lifter's size, an average adult's)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def stem_for(spec: str) -> str:
    """The output files' stem: the input's name, letters and digits of any script kept
    (so ``舞.mp4`` and ``歌.mp4`` do not collide), other characters turned into ``_``."""
    if spec.lower().startswith("webcam:"):
        return "webcam" + spec.split(":", 1)[1]
    path = Path(spec)
    name = unicodedata.normalize("NFC", path.stem if path.suffix else path.name)
    stem = re.sub(r"[^\w.-]+", "_", name).lstrip(".")
    stem = stem.encode("utf-8")[:STEM_MAX_BYTES].decode("utf-8", "ignore")
    return stem or "clip"


@dataclass(frozen=True)
class _Plan:
    """What ``scjd process`` will do, checked before anything slow."""

    backends: list[str]
    formats: list[str]
    stem: str
    roi: object  # a scjd_core.detect.roi.Box, or None


@dataclass
class _Run:
    """A finished processing run and what its report needs."""

    clip: object  # ClipResult
    backends: list  # the pipeline's backends, extra streams included
    startup: dict[str, float]  # start-up step -> seconds (opening the input, the detector, the models)

    @property
    def startup_s(self) -> float:
        """Seconds from the command's start to the first frame's processing."""
        return sum(self.startup.values())


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


def run(args: argparse.Namespace) -> int:
    """``scjd process``: check everything, process, export all or nothing, report."""
    from scjd_core.atomic import OutputSet
    from scjd_core.inputs import open_input
    from scjd_core.outputs import export_clip

    started = time.perf_counter()
    plan = _plan(args)  # everything that can be checked before the (slow) processing
    with open_input(args.input, fps=args.fps, allow_partial=args.allow_partial, roi=plan.roi) as inp:
        done = _process(args, inp, plan, {"input": time.perf_counter() - started})
        if inp.roi is not None:
            done.clip.roi = inp.roi.as_array()
    t0 = time.perf_counter()
    args.output_set = OutputSet(args.out)
    written = export_clip(
        done.clip,
        args.out,
        plan.formats,
        plan.stem,
        plan.backends,
        args.smooth,
        args.overwrite,
        output_set=args.output_set,
        root=args.root,
        fov_deg=args.fov,
        height_m=args.height,
    )
    export_s = time.perf_counter() - t0
    try:
        print_summary(done, written, export_s, time.perf_counter() - started)
        sys.stdout.flush()
    except OSError as exc:
        raise stdout_error(exc, written) from None
    return 0


def _plan(args: argparse.Namespace) -> _Plan:
    """Check the options, the backends for this kind of input and the outputs.

    Raises:
        InputError: a bad option, or a backend that cannot run on this input.
        OutputError: the outputs cannot be written.
    """
    from scjd_core.export import parse_formats
    from scjd_core.inputs import input_kind, select_backends
    from scjd_core.outputs import check_outputs

    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames must be 1 or more (got {args.max_frames}): give the number of frames to read")
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise InputError(f"--fps must be a positive number of frames per second (got {args.fps:g})")
    if args.fov is not None and not (math.isfinite(args.fov) and 0 < args.fov < 180):
        raise InputError(f"--fov must be a field of view between 0 and 180 degrees (got {args.fov:g})")
    if args.height is not None:
        try:
            check_height(args.height)  # here, not after the whole clip is processed
        except ValueError as exc:
            raise InputError(f"--height: {exc}") from None
    roi = None
    if args.roi is not None:
        from scjd_core.detect.roi import Box

        roi = Box.parse(args.roi, what="--roi")  # checked against the image once the input is open
    backends = select_backends(args.backend, input_kind(args.input))
    plan = _Plan(backends, parse_formats(args.export), stem_for(args.input), roi)
    _refuse_to_replace_the_input(args.input, Path(args.out), plan)
    check_outputs(args.out, plan.stem, plan.formats, plan.backends, args.overwrite)
    return plan


def _refuse_to_replace_the_input(spec: str, out: Path, plan: _Plan) -> None:
    """An output named like the input (``walk.npz`` -> ``walk.npz``) in its own folder is refused."""
    from scjd_core.outputs import planned_paths

    path = Path(spec).expanduser()
    if not path.is_file():
        return
    for planned in planned_paths(out.expanduser(), plan.stem, plan.formats, plan.backends):
        if planned.exists() and planned.resolve() == path.resolve():
            raise OutputError(f"{planned} would replace the input itself: choose another --out folder")


def _process(args: argparse.Namespace, inp, plan: _Plan, startup: dict[str, float]) -> _Run:
    """Start the detector, load the models (``startup`` gets their times), run the pipeline."""
    from tqdm import tqdm

    from scjd_core.pipeline import Pipeline

    shown = warn(inp, 0)
    try:
        t0 = time.perf_counter()
        detector = inp.detector_factory()  # first: a detector that cannot start fails before the models load
        startup["2D detector"] = time.perf_counter() - t0
        try:
            checkpoints = {"teacher": args.teacher, "student": args.student}
            t0 = time.perf_counter()
            models = Pipeline.from_names(plan.backends, args.device, checkpoints, engine=args.engine)
            startup["models"] = time.perf_counter() - t0
            pipeline = inp.pipeline(models.backends, detector=detector)
            max_frames = args.max_frames
            if max_frames is None and inp.info.frame_count is None:
                max_frames = LIVE_MAX_FRAMES
            total = inp.info.frame_count
            source = inp
            if max_frames is not None:
                source = _Limited(inp, max_frames)
                total = min(total, max_frames) if total else max_frames
            bar = tqdm(total=total, unit="frame", desc=plan.stem, disable=args.quiet, file=sys.stderr)
            try:
                clip = pipeline.process(
                    source, on_progress=lambda n, _t: bar.update(n - bar.n), pipelined=not args.sequential
                )
            finally:
                bar.close()
        finally:
            detector.close()
    finally:
        warn(inp, shown)  # a partial video is worth knowing about even when the run failed
    return _Run(clip, pipeline.backends, startup)


#: What the report says instead of a speed for the backends that compute nothing.
_FREE = {
    "mediapipe": "MediaPipe's own 3D, no extra cost",
    "ground_truth": "the mocap file's true 3D, also in the json/npz bundle",
}


def print_summary(done: _Run, written: list[Path], export_s: float, wall_s: float) -> None:
    """The report: frames, detection, start-up, each stage's speed, wall time, files."""
    clip = done.clip
    n = len(clip)
    fps = clip.stage_fps()
    processing_s = clip.timings.get("total", 0.0)
    total = processing_s + export_s
    print(f"frames         {n} ({clip.info.width}x{clip.info.height}, {clip.info.fps:g} fps source)")
    print(f"detection rate {clip.detection_rate * 100:.1f} % ({int(clip.seq.filled.sum())} frames filled)")
    two_d = clip.info.kind in ("keypoints", "mocap")
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in done.startup.items() if not (two_d and k == "2D detector"))
    print(f"start-up       {done.startup_s:10.2f} s ({steps})")
    if two_d:
        print(f"2D             (read from the {'keypoint' if clip.info.kind == 'keypoints' else 'mocap'} file)")
    else:
        for stage in ("decode", "detect"):
            if stage in fps:
                print(f"{stage:<14} {fps[stage]:10.1f} frames/s")
    for backend in done.backends:
        if getattr(backend, "free", False):
            print(f"{backend.name:<14} ({_FREE.get(backend.name, 'no extra cost')})")
        elif backend.name in fps:
            print(f"{backend.name:<14} {fps[backend.name]:10.1f} frames/s")
    print(f"export         {n / export_s if export_s > 0 else float('inf'):10.1f} frames/s")
    print(f"end to end     {n / total if total > 0 else float('inf'):10.1f} frames/s")
    print(
        f"wall time      {wall_s:10.2f} s (start-up {done.startup_s:.2f} s, processing {processing_s:.2f} s, "
        f"export {export_s:.2f} s)"
    )
    models = [b for b in done.backends if not getattr(b, "free", False)]
    device = models[0].device if models else "cpu"
    engines = ", ".join(f"{b.name} {getattr(b, 'engine', 'torch')}" for b in models)
    print(f"device         {device}" + (f" ({engines})" if engines else ""))
    for path in written:
        print(f"wrote          {path}")
