#!/usr/bin/env python
"""How accurate is live mode at each look-ahead? (The latency/accuracy trade-off of ``--lookahead``.)

Live mode lifts, for every new frame, the window that ends ``lookahead`` frames after the
frame it shows (:meth:`scjd_core.pipeline.Pipeline.iter_live`): the frame shown sits at
position ``T - 1 - lookahead`` of the window, with less of the future the smaller the
look-ahead. This script scores exactly that on the fixed held-out sequence file
(``tests/data/eval/hdm05_dg_v1.npz``: 2D with detector-like noise and the true 3D): for
each sequence and each look-ahead, the window of the sequence's last ``T`` frames is
lifted with the product's backend (``ModelBackend.lift``) and the frame ``lookahead``
frames before its end is compared with the truth (MPJPE, mm). Each frame of look-ahead
adds one frame time (33 ms at 30 fps) to the live latency.

Usage::

    python scripts/lookahead_check.py [--sequences FILE] [--lookahead 0 1 2 4 8] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def score(backend, seqs, lookaheads: list[int]) -> dict[int, float]:
    """MPJPE (mm) of the frame ``lookahead`` frames before the end of each full window."""
    from scjd_core.skeleton import ROOT as PELVIS
    from scjd_core.types import Pose2DSequence

    errors: dict[int, list[float]] = {k: [] for k in lookaheads}
    for i in range(len(seqs.keypoints_2d)):
        kp = seqs.keypoints_2d[i]
        width, height = (int(v) for v in seqs.image_size[i])
        n = len(kp)
        seq = Pose2DSequence(
            keypoints=kp[..., :2],
            confidence=kp[..., 2],
            found=kp[..., 2].max(axis=1) > 0,
            filled=np.zeros(n, bool),
            times=np.arange(n) / 30.0,
            width=width,
            height=height,
            fps=30.0,
        )
        pred = backend.lift(seq).poses  # (n, 17, 3); the full window when n == T
        truth = seqs.poses_3d[i]
        for k in lookaheads:
            f = n - 1 - k
            p = pred[f] - pred[f, PELVIS]
            errors[k].append(float(np.linalg.norm(p - (truth[f] - truth[f, PELVIS]), axis=-1).mean() * 1000.0))
    return {k: float(np.mean(v)) for k, v in errors.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", default=str(ROOT / "tests" / "data" / "eval" / "hdm05_dg_v1.npz"))
    parser.add_argument("--lookahead", type=int, nargs="+", default=[0, 1, 2, 4, 8, 20, 40])
    parser.add_argument("--teacher", help="teacher checkpoint (default: the shipped one)")
    parser.add_argument("--student", help="student checkpoint (default: the shipped one)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from scjd_core.backends.lifter import load_backend
    from training.sequences import load_sequences

    seqs = load_sequences(args.sequences)
    rows = {}
    for kind, ckpt in (("student", args.student), ("teacher", args.teacher)):
        backend = load_backend(kind, device="cpu", checkpoint=ckpt)
        if seqs.keypoints_2d.shape[1] != backend.window:
            frames = seqs.keypoints_2d.shape[1]
            raise SystemExit(f"the sequences have {frames} frames, the {kind}'s window {backend.window}")
        rows[kind] = score(backend, seqs, args.lookahead)
    print(f"{len(seqs.keypoints_2d)} sequences of {seqs.keypoints_2d.shape[1]} frames ({Path(args.sequences).name})")
    print(f"{'look-ahead':>10} {'+latency':>9} " + " ".join(f"{k:>9}" for k in rows))
    for k in args.lookahead:
        print(f"{k:>10} {k * 1000 / 30:>7.0f}ms " + " ".join(f"{rows[m][k]:>7.1f}mm" for m in rows))
    if args.json:
        args.json.write_text(json.dumps({"sequences": args.sequences, "mpjpe_mm": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
