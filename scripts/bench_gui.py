#!/usr/bin/env python
"""Measure the viewer's responsiveness on the demo clip.

1. **Clip mode**: while the real pipeline processes the clip on the worker thread (and
   the window plays the frames already done), a 10 ms ``QTimer`` on the GUI thread
   records when it fires; the lateness of each tick (interval - 10 ms) is the GUI
   event loop's jitter. Reported: p50 / p95 / max.
2. **Playback**: the processed clip played at 1x from the start to the end; the frames
   the window drew per second (``playback_display_fps``: video, 2D overlay and both 3D
   views drawn for each; the per-joint error panel and the time cursor at most 10 times
   a second).
3. **Live mode** on the live-paced demo (the file replayed at its real frame rate,
   stale frames dropped), at ``--lookahead`` frames (default 1): the latency from frame
   capture to the 3D being drawn, per drawn frame, with MediaPipe and the student on
   every frame (the teacher when it fits). Reported: median / p95, frames drawn and
   dropped.

The JSON (``--json F``) has ``playback_display_fps``, ``live_latency_median_ms``,
``live_latency_p95_ms``, ``gui_jitter_p95_ms`` and the machine: CPU model and cores, the
OpenGL renderer, the display.

Usage::

    python scripts/bench_gui.py [--lookahead 1] [--teacher CKPT] [--student CKPT] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent
from virtual_display import virtual_display

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICK_MS = 10


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", default=None, help="input (default: the demo clip)")
    parser.add_argument("--teacher", help="teacher checkpoint (default: the shipped one)")
    parser.add_argument("--student", help="student checkpoint (default: the shipped one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lookahead", type=int, default=1, help="live mode look-ahead in frames (default 1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def _pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def _window(args, app):
    from PySide6.QtWidgets import QMessageBox

    from scjd_app.main import DEFAULT_BACKENDS
    from scjd_app.window import MainWindow
    from scjd_app.worker import Job

    def fail(_parent, _title, text, *a, **k):
        raise SystemExit(f"the viewer reported an error: {text}")

    QMessageBox.critical = fail
    ckpts = tuple((k, v) for k, v in (("teacher", args.teacher), ("student", args.student)) if v)
    job = Job(source="", backends=DEFAULT_BACKENDS, device=args.device, checkpoints=ckpts, lookahead=args.lookahead)
    window = MainWindow(job)
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    return window


def bench_clip(args, app, video: str) -> dict:
    """GUI timer jitter while a clip is processed."""
    from PySide6.QtCore import Qt, QTimer

    window = _window(args, app)
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    t0 = time.perf_counter()
    window.open_input(video)
    timer.start()
    while window.processing:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    total = time.perf_counter() - t0
    late = (np.diff(ticks) * 1000.0 - TICK_MS) if len(ticks) > 1 else np.zeros(0)
    out = {
        "frames": len(window.cache),
        "processing_s": round(total, 2),
        "ticks": len(ticks),
        "jitter_ms_p50": round(_pct(late, 50), 2),
        "jitter_ms_p95": round(_pct(late, 95), 2),
        "jitter_ms_max": round(float(late.max()) if len(late) else float("nan"), 2),
    }
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # delete it now: its GL windows too
    app.processEvents()
    return out


def bench_playback(args, app, video: str) -> dict:
    """Frames drawn per second while the processed clip plays at 1x."""
    window = _window(args, app)
    window.open_input(video)
    while window.processing:
        app.processEvents()
        time.sleep(0.002)
    window.transport.set_playing(False)
    window.transport.loop.setChecked(False)
    for _ in range(20):
        app.processEvents()
    window.seek(0)
    start = time.perf_counter()
    window.transport.set_playing(True)
    while window.transport.playing and time.perf_counter() - start < 60:
        app.processEvents()
        time.sleep(0.001)
    drawn = [t for t in window._draw_times if t >= start]
    fps = (len(drawn) - 1) / (drawn[-1] - drawn[0]) if len(drawn) > 1 else 0.0
    out = {
        "frames": len(window.cache),
        "clip_fps": window.worker.info.fps,
        "played_s": round(time.perf_counter() - start, 2),
        "playback_display_fps": round(fps, 1),
        "gl": _gl_info(window),
    }
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # delete it now: its GL windows too
    app.processEvents()
    return out


def _gl_info(window) -> dict:
    """The OpenGL vendor, renderer and version of the 3D views."""
    try:
        from OpenGL import GL

        view = window.teacher_view.view
        view.makeCurrent()
        info = {k: GL.glGetString(getattr(GL, f"GL_{k.upper()}")).decode() for k in ("vendor", "renderer", "version")}
        view.doneCurrent()
        return info
    except Exception as exc:  # a benchmark must still report the rest
        return {"error": f"{type(exc).__name__}: {exc}"}


def bench_live(args, app, video: str) -> dict:
    """Capture -> drawn latency in live mode on the live-paced file."""
    window = _window(args, app)
    window.open_input(video, live=True)
    worker = window.worker
    drawn: list[float] = []
    seen = None
    while window.processing:
        app.processEvents()
        if window.latencies_ms and window.drawn is not seen:
            seen = window.drawn
            drawn.append(window.latencies_ms[-1])
        time.sleep(0.001)
    out = {
        "lookahead": args.lookahead,
        "frames_in_clip": worker.info.frame_count,
        "results": worker.produced,
        "drawn": len(drawn),
        "dropped_before_drawing": worker.mailbox.dropped,
        "latency_ms_median": round(_pct(drawn, 50), 1),
        "latency_ms_p95": round(_pct(drawn, 95), 1),
    }
    window.close()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # delete it now: its GL windows too
    app.processEvents()
    return out


def run(args: argparse.Namespace) -> dict:
    """Both measurements, with the machine they ran on."""
    from PySide6.QtWidgets import QApplication

    from scjd_app.main import DEMO_CLIP, prepare_qt
    from scjd_core.bench.environment import cpu_model

    prepare_qt()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    video = args.video or str(DEMO_CLIP)
    clip = bench_clip(args, app, video)
    playback = bench_playback(args, app, video)
    live = bench_live(args, app, video)
    report = {
        "playback_display_fps": playback["playback_display_fps"],
        "live_latency_median_ms": live["latency_ms_median"],
        "live_latency_p95_ms": live["latency_ms_p95"],
        "live_lookahead": live["lookahead"],
        "gui_jitter_p95_ms": clip["jitter_ms_p95"],
        "machine": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "device": args.device,
            "display": os.environ.get("DISPLAY", ""),
            "gl": playback.pop("gl"),
        },
        "clip_mode": clip,
        "playback": playback,
        "live_mode": live,
    }
    app.shutdown()
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point; starts a virtual display when there is none."""
    args = _parse(argv)
    with virtual_display():
        report = run(args)
    clip, live = report["clip_mode"], report["live_mode"]
    gl = report["machine"]["gl"]
    print(f"machine: {report['machine']['cpu']} ({report['machine']['cpu_count']} cores), GL {gl.get('renderer', gl)}")
    print(
        f"playback: {report['playback_display_fps']} frames drawn per second playing the "
        f"{report['playback']['clip_fps']:g} fps clip at 1x"
    )
    print(
        f"clip mode: {clip['frames']} frames processed in {clip['processing_s']} s; GUI {TICK_MS} ms timer "
        f"jitter p50 {clip['jitter_ms_p50']} ms, p95 {clip['jitter_ms_p95']} ms, max {clip['jitter_ms_max']} ms"
    )
    print(
        f"live mode: capture -> drawn 3D latency median {live['latency_ms_median']} ms, "
        f"p95 {live['latency_ms_p95']} ms ({live['drawn']} frames drawn, {live['results']} results, "
        f"look-ahead {live['lookahead']} frames)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
