#!/usr/bin/env python
"""Where in its window does a lifter err? MPJPE by window position on a fixed sequence file.

Each model lifts the file as the evaluation CLI does (non-overlapping windows of its own
``T``, the last one edge-padded: :func:`training.evaluate.lift_sequences`), and every frame's
error is filed under its position in its window. For a student the positions it reads
(phase 0, the inference sampling) are marked, so the table shows whether the upsampling head's
frames are worse than the ones the student saw: if they are not, the stride is not what
limits it.

Usage::

    python scripts/window_position_error.py [--models teacher=assets/models/teacher \\
        student=assets/models/student] [--sequences tests/data/eval/hdm05_dg_v1.npz] \\
        [--every 5] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def error_by_position(pred: np.ndarray, truth: np.ndarray, window: int) -> np.ndarray:
    """``(window,)`` MPJPE in mm of the frames at each window position (NaN where none is).

    ``pred`` and ``truth`` are ``(N, F, 17, 3)``; frame ``f`` of a sequence sits at position
    ``f % window`` (the windows start at each sequence's first frame).
    """
    err = np.linalg.norm(pred - truth, axis=-1).mean(axis=-1) * 1000.0  # (N, F)
    pos = np.arange(err.shape[1]) % window
    return np.array([err[:, pos == p].mean() if (pos == p).any() else np.nan for p in range(window)])


def main(argv: list[str] | None = None) -> int:
    from training.cli_options import add_lifters_on_file, load_lifters_on_file, write_check_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_lifters_on_file(parser, json_help="write all positions here")
    parser.add_argument("--every", type=int, default=5, help="print every N-th position (and every read one)")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error("--every must be at least 1")

    import torch

    from scjd_core.errors import ScjdError
    from training.evaluate import lift_sequences

    try:
        seqs, loaded = load_lifters_on_file(args)
    except ScjdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    out: dict[str, dict] = {}
    for name, model in loaded:
        window = int(model.config.window)
        per = error_by_position(lift_sequences(model, seqs, torch.device("cpu")), seqs.poses_3d, window)
        read = model.sample_indices(0).tolist() if hasattr(model, "sample_indices") else list(range(window))
        between = [p for p in range(window) if p not in read]
        out[name] = {
            "window": window,
            "read": read,
            "mpjpe_mm_by_position": [round(float(v), 2) for v in per],
            "read_mean_mm": float(np.nanmean(per[read])),
            "between_mean_mm": float(np.nanmean(per[between])) if between else None,
        }
        shown = sorted({*range(0, window, args.every), *(read if between else [])})
        print(f"{name} (T = {window}; * = a frame it reads)")
        print("  " + "  ".join(f"{p}{'*' if p in read and between else ''}:{per[p]:.1f}" for p in shown))
        summary = f"  {'read frames' if between else 'all frames'} {out[name]['read_mean_mm']:.1f} mm"
        if between:
            summary += f", the others {out[name]['between_mean_mm']:.1f} mm"
        print(f"{summary}; range {np.nanmin(per):.1f}-{np.nanmax(per):.1f} mm")
    write_check_json(args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
