"""The ``scjd`` command line: ``scjd process`` and ``scjd info``.

Every problem a user can cause ends in one line on stderr (``scjd: error: ...``) and a
non-zero exit code, never a traceback, and never a half-written file.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from scjd_core import __version__
from scjd_core.errors import DetectorError, InputError, Interrupted, OutputError, ScjdError


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one ``scjd: error:`` line (exit code 2) like every other."""

    def error(self, message: str) -> NoReturn:
        _error(f"{message} (see `{self.prog} --help`)")
        self.exit(2)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        "--roi",
        metavar="X,Y,W,H",
        help="follow the person inside this box (pixels of the first frame: left, top, width, height; "
        "`scjd people INPUT` lists the boxes of the people it finds). Default: MediaPipe follows whoever "
        "it finds first",
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
    p.add_argument(
        "--fps",
        type=float,
        metavar="N",
        help="frame rate to use instead of the one the video states (frame times become frame / N)",
    )
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="process a damaged or cut-off video with the frames that decode (a warning says how many)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--sequential", action="store_true", help="do not overlap decoding/detection/lifting")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_process)

    pp = sub.add_parser(
        "people",
        help="list the people in a frame with their boxes, for `scjd process --roi`",
        description="Find the people in one frame of a video or image folder and print each one's box, "
        "ready for `scjd process INPUT --roi X,Y,W,H`.",
    )
    pp.add_argument("input", metavar="INPUT", help="video file or image folder")
    pp.add_argument("--frame", type=int, default=0, metavar="N", help="the frame to look at (default: 0, the first)")
    pp.add_argument("--max-people", type=int, default=6, metavar="N", help="stop after N people (default: 6)")
    pp.add_argument("--json", action="store_true", help="print JSON instead of text")
    pp.set_defaults(func=_cmd_people)

    from scjd_core.bench import add_bench_parser

    add_bench_parser(sub)

    i = sub.add_parser("info", help="print versions, compute device and the models found")
    i.set_defaults(func=_cmd_info)
    return parser


#: Longest output stem, in UTF-8 bytes: with the longest suffix (``.mediapipe.bvh``) the
#: names stay within the 255 bytes most file systems allow.
STEM_MAX_BYTES = 230


def _stem_for(spec: str) -> str:
    """The output files' stem: the input's name, letters and digits of any script kept
    (so ``舞.mp4`` and ``歌.mp4`` do not collide), other characters turned into ``_``."""
    if spec.lower().startswith("webcam:"):
        return "webcam" + spec.split(":", 1)[1]
    path = Path(spec)
    name = unicodedata.normalize("NFC", path.stem if path.suffix else path.name)
    stem = re.sub(r"[^\w.-]+", "_", name).lstrip(".")
    stem = stem.encode("utf-8")[:STEM_MAX_BYTES].decode("utf-8", "ignore")
    return stem or "clip"


def _create_detector():
    """The 2D detector of ``scjd process`` (MediaPipe Pose)."""
    from scjd_core.detect import MediaPipeDetector

    return MediaPipeDetector()


def _start_detector(roi=None):
    """Start the 2D detector before the slow work, turning any failure into one clear error.

    With ``roi`` (a :class:`~scjd_core.detect.roi.Box` on the first frame) the detector
    follows the person inside it (:class:`~scjd_core.detect.roi.RoiDetector`).
    """
    try:
        detector = _create_detector()
        if roi is not None:
            from scjd_core.detect.roi import RoiDetector

            detector = RoiDetector(detector, roi)
        return detector
    except ScjdError:
        raise
    except Exception as exc:  # a native library failure: RuntimeError, OSError, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorError(
            f"the 2D detector (MediaPipe Pose) could not start ({reason}): reinstall it with "
            "`pip install --force-reinstall mediapipe==0.10.21`; SCJD_NATIVE_LOGS=1 shows its own messages"
        ) from None


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

    from scjd_core.atomic import OutputSet
    from scjd_core.backends.registry import create_backends, parse_backends
    from scjd_core.export import parse_formats
    from scjd_core.outputs import check_outputs, export_clip
    from scjd_core.pipeline import Pipeline
    from scjd_core.sources import open_source

    # Everything that can be checked before the (slow) processing is checked first.
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames must be 1 or more (got {args.max_frames}): give the number of frames to read")
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise InputError(f"--fps must be a positive number of frames per second (got {args.fps:g})")
    if args.fov is not None and not (math.isfinite(args.fov) and 0 < args.fov < 180):
        raise InputError(f"--fov must be a field of view between 0 and 180 degrees (got {args.fov:g})")
    roi = _parse_roi(args.roi)
    names = parse_backends(args.backend)
    formats = parse_formats(args.export)
    stem = _stem_for(args.input)
    check_outputs(args.out, stem, formats, names, args.overwrite)
    source = open_source(args.input, fps=args.fps, allow_partial=args.allow_partial)
    with source:
        shown = _warn(source, 0)
        if roi is not None:
            from scjd_core.detect.roi import check_roi

            roi = check_roi(roi, source.info.width, source.info.height)
        max_frames = args.max_frames
        if max_frames is None and source.info.frame_count is None:
            max_frames = 300
        detector = _start_detector(roi)  # first: a detector that cannot start fails before the models load
        try:
            checkpoints = {"teacher": args.teacher, "student": args.student}
            backends = create_backends(names, args.device, checkpoints, engine=args.engine)
            pipeline = Pipeline(detector=lambda: detector, backends=backends)
            total = source.info.frame_count
            if max_frames is not None:
                src = _Limited(source, max_frames)
                total = min(total, max_frames) if total else max_frames
            else:
                src = source
            bar = tqdm(total=total, unit="frame", desc=stem, disable=args.quiet, file=sys.stderr)
            try:
                clip = pipeline.process(
                    src, on_progress=lambda n, _t: bar.update(n - bar.n), pipelined=not args.sequential
                )
            finally:
                bar.close()
        finally:
            detector.close()
            _warn(source, shown)  # a partial video is worth knowing about even when the run failed
    if roi is not None:
        clip.roi = roi.as_array()
    t0 = time.perf_counter()
    args.output_set = OutputSet(args.out)
    written = export_clip(
        clip,
        args.out,
        formats,
        stem,
        names,
        args.smooth,
        args.overwrite,
        output_set=args.output_set,
        root=args.root,
        fov_deg=args.fov,
    )
    export_s = time.perf_counter() - t0
    try:
        _print_summary(clip, backends, written, export_s)
        sys.stdout.flush()
    except OSError as exc:
        raise _stdout_error(exc, written) from None
    return 0


def _parse_roi(text: str | None):
    """``--roi``'s box, or None (checked against the image once the input is open)."""
    if text is None:
        return None
    from scjd_core.detect.roi import Box

    return Box.parse(text, what="--roi")


def _cmd_people(args: argparse.Namespace) -> int:
    from scjd_core.detect.people import find_people
    from scjd_core.errors import NoPersonError
    from scjd_core.sources import open_source

    if args.frame < 0:
        raise InputError(f"--frame must be 0 or more (got {args.frame}): frames count from 0")
    if args.max_people < 1:
        raise InputError(f"--max-people must be 1 or more (got {args.max_people})")
    if str(args.input).lower().startswith("webcam"):
        raise InputError(
            "scjd people reads a video file or an image folder; for a webcam, choose the person in the viewer"
        )
    image = None
    with open_source(args.input) as source:
        for frame in source:
            if frame.index >= args.frame:
                image = frame.image
                break
        count = source.info.frame_count
    if image is None:
        raise InputError(f"{args.input} has no frame {args.frame} (it has {count} frames): choose an earlier --frame")
    with _detector_errors():
        people = find_people(image, max_people=args.max_people)
    if not people:
        raise NoPersonError(
            f"no person was found in frame {args.frame} of {args.input}: try another --frame, or draw the box "
            "by hand (--roi X,Y,W,H)"
        )
    if args.json:
        import json

        rows = [
            {"roi": p.box.text(), "box": [round(float(v), 1) for v in p.box.as_array()], "score": p.score}
            for p in people
        ]
        print(json.dumps({"input": str(args.input), "frame": args.frame, "people": rows}, indent=2))
        return 0
    print(f"{len(people)} {'person' if len(people) == 1 else 'people'} in frame {args.frame} (left to right):")
    for k, person in enumerate(people, 1):
        print(f"  {k}. --roi {person.box.text():<20} visibility {person.score:.2f}")
    return 0


@contextlib.contextmanager
def _detector_errors() -> Iterator[None]:
    """A detector that cannot start becomes one clear error (as in ``scjd process``)."""
    try:
        yield
    except ScjdError:
        raise
    except (RuntimeError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorError(
            f"the 2D detector (MediaPipe Pose) failed ({reason}): reinstall it with "
            "`pip install --force-reinstall mediapipe==0.10.21`"
        ) from None


def _stdout_error(exc: OSError, written: Sequence[Path] | None) -> OutputError:
    """The error for a standard output that cannot be written (a full disk, a closed pipe)."""
    _silence_stdout()
    done = f"the outputs were written ({', '.join(str(p) for p in written)})" if written else "the command finished"
    return OutputError(
        f"cannot write to standard output ({(exc.strerror or str(exc)).lower()}): {done}, but the report was "
        "lost; send the output to a file or device with free space"
    )


def _warn(source, start: int) -> int:
    """Print the source's warnings from number ``start`` on (``scjd: warning: ...`` on
    stderr); returns how many it has."""
    messages = list(getattr(source, "warnings", []))
    for message in messages[start:]:
        print(f"scjd: warning: {message}", file=sys.stderr)
    return len(messages)


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


@contextlib.contextmanager
def _interrupts_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (once: a second
    signal during the clean-up is ignored, so the clean-up finishes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame) -> None:
        if received:
            return
        received.append(signum)
        raise Interrupted(signum)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _error(message: str) -> None:
    """Print ``scjd: error: message`` as one line on stderr."""
    line = " ".join(str(message).split())
    with contextlib.suppress(OSError, ValueError):
        print(f"scjd: error: {line}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so the interpreter's final flush of a stdout that
    failed (a full disk, a closed pipe) prints no second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _interrupted_message(exc: Interrupted, args: argparse.Namespace) -> str:
    how = "Ctrl-C (SIGINT)" if exc.signum == signal.SIGINT else exc.signal_name
    outputs = getattr(args, "output_set", None)
    if outputs is not None and outputs.committed:
        files = ", ".join(str(p) for p in outputs.written)
        return f"interrupted by {how} after the outputs were written: {files}"
    out = getattr(args, "out", None)
    where = f" to {out}" if out else ""
    return f"interrupted by {how}: nothing was written{where}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scjd`` command; returns the exit code (see :mod:`scjd_core.errors`)."""
    from scjd_core.sources.base import quiet_native_video_logs

    quiet_native_video_logs()
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # undecodable file names still print
    parser = _build_parser()
    args = parser.parse_args(argv)
    with _interrupts_raise():
        try:
            code = int(args.func(args) or 0)
            try:
                sys.stdout.flush()
            except OSError as exc:
                raise _stdout_error(exc, None) from None
            return code
        except ScjdError as exc:
            _error(str(exc))
            return exc.exit_code
        except Interrupted as exc:
            _error(_interrupted_message(exc, args))
            return exc.exit_code
        except KeyboardInterrupt:
            _error(_interrupted_message(Interrupted(signal.SIGINT), args))
            return 130
        except MemoryError:
            _error("out of memory: process a shorter clip (--max-frames N) or close other programs")
            return OutputError.exit_code
        except OSError as exc:
            from scjd_core.atomic import output_error

            where = exc.filename or "a file"
            _error(str(output_error(exc, where, "use")))
            return OutputError.exit_code
        except Exception as exc:
            if os.environ.get("SCJD_DEBUG") == "1":
                raise
            _error(
                f"internal error ({type(exc).__name__}: {exc}): this is a bug, please report it with the command "
                "line; SCJD_DEBUG=1 shows the traceback"
            )
            return 1


if __name__ == "__main__":
    sys.exit(main())
