"""``scjd-viewer``: open the SCJD viewer on a video, a webcam or the bundled demo clip."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import scjd_core
from scjd_core.cli.options import add_model_options
from scjd_core.pipeline.live import LIVE_LOOKAHEAD

#: The clip the viewer opens when it is given no input.
DEMO_CLIP = Path(scjd_core.__file__).resolve().parent.parent / "assets" / "demo" / "pose_1.mp4"
DEFAULT_BACKENDS = ("teacher", "student", "mediapipe")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``scjd-viewer``."""
    parser = argparse.ArgumentParser(
        prog="scjd-viewer", description="SCJD viewer: video, teacher and student 3D, attention, error."
    )
    parser.add_argument(
        "video",
        nargs="?",
        help="video file, image folder, 2D keypoint file (.npz/.csv) or mocap file (.bvh/.amc) "
        "(default: the demo clip)",
    )
    parser.add_argument("--webcam", type=int, metavar="N", help="open webcam N in live mode")
    parser.add_argument("--live", action="store_true", help="play the file live-paced (live mode)")
    add_model_options(parser)
    parser.add_argument(
        "--lookahead",
        type=int,
        default=LIVE_LOOKAHEAD,
        help=f"live mode: frames of look-ahead, each adds one frame time of latency (default: {LIVE_LOOKAHEAD})",
    )
    parser.add_argument(
        "--roi",
        metavar="X,Y,W,H",
        help="follow the person inside this box (pixels of the first frame); or choose in the viewer (Person menu)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(DEFAULT_BACKENDS),
        help="3D backends to run, comma separated (default: teacher,student,mediapipe)",
    )
    return parser


def prepare_qt() -> None:
    """Qt settings that must be made before the ``QApplication`` exists.

    The 3D views share one OpenGL context group, so shader programs pyqtgraph compiles
    once stay valid in every view and every window.
    """
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scjd-viewer``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    roi = None
    if args.roi is not None:
        from scjd_core.detect.roi import Box
        from scjd_core.errors import InputError

        try:
            box = Box.parse(args.roi, what="--roi")
        except InputError as exc:
            parser.error(str(exc))
        roi = (box.x, box.y, box.w, box.h)
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        print("scjd-viewer needs PySide6: pip install 'PySide6>=6.6'", file=sys.stderr)
        return 2
    from scjd_app.worker import Job

    checkpoints = tuple((k, v) for k, v in (("teacher", args.teacher), ("student", args.student)) if v)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    defaults = Job(
        source="",
        backends=backends,
        device=args.device,
        engine=args.engine,
        checkpoints=checkpoints,
        lookahead=args.lookahead,
    )
    prepare_qt()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("scjd-viewer")
    from scjd_app.window import MainWindow

    window = MainWindow(defaults)
    window.resize(1280, 800)
    window.show()
    if args.webcam is not None:
        window.open_input(f"webcam:{args.webcam}", live=True)
    else:
        window.open_input(args.video or str(DEMO_CLIP), live=args.live, roi=roi)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
