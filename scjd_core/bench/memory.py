"""``scjd bench`` memory rows: 1-minute and 1-hour lifting runs, each in its own process.

Each run is :mod:`scjd_core.bench.longrun` lifting a synthetic stream to disk in a fresh
process, which reports its own peak resident memory (``VmHWM``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scjd_core.bench.report import Report

RSS_RATIO_TARGET = 1.5


def run_longrun(frames: int, out_dir: str) -> dict[str, Any]:
    """Lift a synthetic stream of ``frames`` to disk in a fresh process; return its JSON report.

    ``peak_rss_mb`` is the child's own ``VmHWM``; ``children_maxrss_mb`` is
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read after it exited (max over children so far).

    Raises:
        RuntimeError: when the child fails (its stderr is included).
    """
    import resource

    out = Path(out_dir) / f"lift_{frames}.npy"
    cmd = [sys.executable, "-m", "scjd_core.bench.longrun", "--frames", str(frames), "--out", str(out), "--overwrite"]
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
