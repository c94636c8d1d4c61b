#!/usr/bin/env python
"""Save screenshots of the real viewer window for the README.

Launches ``MainWindow`` at 1280x800 on the bundled demo clip, waits until the clip is
processed, seeks to the middle and writes ``docs/screenshots/main.png`` (the whole
window), ``attention.png`` (attention panel), ``errors.png`` (per-joint error panel) and
``export_dialog.png`` (File > Export 3D, a person's height typed in).
Without a display it starts a virtual X server (Xvfb, through PyVirtualDisplay); GL
views need a real X server (``QT_QPA_PLATFORM=offscreen`` crashes them).

Usage::

    python scripts/screenshots.py [--out docs/screenshots] [--teacher CKPT] [--student CKPT]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent
from virtual_display import virtual_display

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (1280, 800)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="output folder")
    parser.add_argument("--video", default=None, help="input (default: the demo clip)")
    parser.add_argument("--teacher", help="teacher checkpoint (default: the shipped one)")
    parser.add_argument("--student", help="student checkpoint (default: the shipped one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frame", type=float, default=0.5, help="where to seek, as a fraction of the clip")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for processing")
    parser.add_argument("--azimuth", type=float, help="turn both 3D views to this azimuth (degrees) first")
    parser.add_argument("--elevation", type=float, default=35.0, help="with --azimuth: the views' elevation")
    parser.add_argument(
        "--live",
        type=float,
        metavar="S",
        help="instead: open the input in live mode (live-paced), save live.png S seconds after the first frame",
    )
    parser.add_argument(
        "--person",
        type=int,
        metavar="K",
        help="instead: open Person > Choose, save choose_person.png, pick the K-th person offered (1 = leftmost) "
        "and save tracked_person.png (e.g. on the two-person clip of scripts/roi_check.py)",
    )
    return parser.parse_args(argv)


def _settle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _check_not_black(image, name: str) -> None:
    """Fail loudly when a grabbed 3D view came out black (a GL grab problem)."""
    import numpy as np

    img = image.convertToFormat(image.Format.Format_RGB32)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4]
    if float(arr.std()) < 3.0 or float(arr.max()) < 40:
        raise SystemExit(f"screenshot of {name} is blank: the GL views were not captured")


def take(args: argparse.Namespace) -> list[Path]:
    """Open the window, process the clip and save the three screenshots."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from scjd_app.main import DEFAULT_BACKENDS, DEMO_CLIP, prepare_qt
    from scjd_app.window import MainWindow
    from scjd_app.worker import Job

    prepare_qt()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    errors: list[str] = []
    QMessageBox.critical = lambda _p, _t, text, *a, **k: errors.append(text)  # never block
    ckpts = tuple((k, v) for k, v in (("teacher", args.teacher), ("student", args.student)) if v)
    window = MainWindow(Job(source="", backends=DEFAULT_BACKENDS, device=args.device, checkpoints=ckpts))
    window.resize(*SIZE)
    window.show()
    if args.live is not None:
        return _live_shot(app, window, args, errors)
    if not window.open_input(args.video or str(DEMO_CLIP)):
        raise SystemExit(f"could not open the input: {errors[-1] if errors else '?'}")
    end = time.perf_counter() + args.timeout
    while window.processing and time.perf_counter() < end:
        _settle(app, 0.05)
    if errors or not len(window.cache):
        raise SystemExit(f"processing failed: {errors[-1] if errors else 'no frames'}")
    window.transport.set_playing(False)
    _settle(app, 0.3)  # let the worker's last signals arrive first
    target = int(args.frame * (len(window.cache) - 1))
    window.seek(target)
    if args.person is not None:
        return _person_shots(app, window, args, target)
    if args.azimuth is not None:  # e.g. to see the root's trace on the floor from the side
        for view in (window.teacher_view.view, window.student_view.view):
            view.setCameraPosition(elevation=args.elevation, azimuth=args.azimuth)
        _settle(app, 0.3)
    args.out.mkdir(parents=True, exist_ok=True)
    shots = []
    window.tabs.setCurrentWidget(window.errors)
    _settle(app, 0.5)
    main = window.screenshot()
    _check_not_black(window.teacher_view.view.grabFramebuffer(), "the teacher 3D view")
    _check_not_black(window.student_view.view.grabFramebuffer(), "the student 3D view")
    shots.append((main, "main.png"))
    shots.append((window.errors.grab(), "errors.png"))
    window.tabs.setCurrentWidget(window.attention)
    _settle(app, 0.5)
    shots.append((window.attention.grab(), "attention.png"))
    shots.append((_export_dialog(app, window), "export_dialog.png"))
    written = []
    for pixmap, name in shots:
        path = args.out / name
        if not pixmap.save(str(path)):
            raise SystemExit(f"could not write {path}")
        written.append(path)
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # delete it now: its GL windows too
    app.processEvents()
    app.shutdown()  # before the virtual display goes away
    return written


def _export_dialog(app, window):
    """The Export 3D dialog as a user fills it in (BVH, both models, a 1.78 m person), grabbed."""
    from scjd_app.menus import ExportDialog

    dialog = ExportDialog(window)
    dialog.format.setCurrentText("BVH")
    dialog.height_m.setValue(1.78)
    dialog.show()
    _settle(app, 0.3)
    pixmap = dialog.grab()
    dialog.close()
    return pixmap


def _live_shot(app, window, args: argparse.Namespace, errors: list[str]) -> list[Path]:
    """Live mode after ``args.live`` seconds: the newest frame, latency in the status bar."""
    from scjd_app.main import DEMO_CLIP

    if not window.open_input(args.video or str(DEMO_CLIP), live=True):
        raise SystemExit(f"could not open the input: {errors[-1] if errors else '?'}")
    end = time.perf_counter() + args.timeout
    while not len(window.cache) and not errors and time.perf_counter() < end:  # the models load first
        _settle(app, 0.05)
    _settle(app, args.live)
    if errors or not len(window.cache):
        raise SystemExit(f"live mode failed: {errors[-1] if errors else 'no frames'}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "live.png"
    window.screenshot().save(str(path))
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # delete it now: its GL windows too
    app.processEvents()
    app.shutdown()
    return [path]


def _person_shots(app, window, args: argparse.Namespace, target: int) -> list[Path]:
    """Choosing a person: the offered boxes, then the chosen one followed (tracked crop drawn)."""
    args.out.mkdir(parents=True, exist_ok=True)
    if not window.choose_person() or len(window.video.candidates) < args.person:
        raise SystemExit(f"fewer than {args.person} people were offered")
    _settle(app, 0.5)
    written = [args.out / "choose_person.png", args.out / "tracked_person.png"]
    window.screenshot().save(str(written[0]))
    window.video.personChosen.emit(window.video.candidates[args.person - 1])
    end = time.perf_counter() + args.timeout
    while window.processing and time.perf_counter() < end:
        _settle(app, 0.05)
    window.transport.set_playing(False)
    _settle(app, 0.3)
    window.seek(target)
    _settle(app, 0.5)
    window.screenshot().save(str(written[1]))
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # delete it now: its GL windows too
    app.processEvents()
    app.shutdown()
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point; starts a virtual display when there is none."""
    args = _parse(argv)
    with virtual_display():
        for path in take(args):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
