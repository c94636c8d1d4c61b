#!/usr/bin/env python
"""Measure the viewer's responsiveness on the demo clip.

1. **Clip mode**: while the real pipeline processes the clip on the worker thread (and
   the window plays the frames already done), a 10 ms ``QTimer`` on the GUI thread
   records when it fires; the lateness of each tick (interval - 10 ms) is the GUI
   event loop's jitter. Reported: p50 / p95 / max.
2. **Live mode** on the live-paced demo (the file replayed at its real frame rate,
   stale frames dropped): the latency from frame capture to the 3D being drawn, per
   drawn frame. Reported: median / p95, frames drawn and dropped.

Usage::

    python scripts/bench_gui.py [--teacher CKPT] [--student CKPT] [--device cpu] [--json out.json]
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
    parser.add_argument("--lookahead", type=int, default=4, help="live mode look-ahead in frames")
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
    app.processEvents()
    return out


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
    app.processEvents()
    return out


def run(args: argparse.Namespace) -> dict:
    """Both measurements, with the machine they ran on."""
    from PySide6.QtWidgets import QApplication

    from scjd_app.main import DEMO_CLIP, prepare_qt

    prepare_qt()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    video = args.video or str(DEMO_CLIP)
    report = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "device": args.device},
        "clip_mode": bench_clip(args, app, video),
        "live_mode": bench_live(args, app, video),
    }
    app.shutdown()
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point; starts a virtual display when there is none."""
    args = _parse(argv)
    with virtual_display():
        report = run(args)
    clip, live = report["clip_mode"], report["live_mode"]
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
