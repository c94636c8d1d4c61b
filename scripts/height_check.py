#!/usr/bin/env python
"""What giving the person's height (``scjd process --height``) buys, on a fixed sequence file.

One camera cannot tell a tall person far away from a short one near, so a lifter's skeleton
has the size of an average training body, and every joint's distance from the root is off by
the ratio of the person's height to that size. ``--height`` rescales the skeleton to the
person's standing height (:func:`scjd_core.skeleton.scale_to_height`). This script scores
the lifters on a sequence file as they are and with each sequence's height given: exactly
(the standing height of its 3D ground truth, :func:`scjd_core.skeleton.standing_height`) and
off by ``--error-cm`` either way, as a user's tape measure or memory would be.

Usage::

    python scripts/height_check.py [--models teacher=assets/models/teacher \\
        student=assets/models/student] [--sequences tests/data/eval/hdm05_dg_v1.npz] \\
        [--error-cm 3] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scaled_to_heights(pred: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Predictions ``(N, F, 17, 3)``, each sequence scaled to its height ``heights (N,)`` in metres."""
    from scjd_core.skeleton import scale_to_height

    return np.stack([scale_to_height(p, float(h)) for p, h in zip(pred, heights, strict=True)])


def main(argv: list[str] | None = None) -> int:
    from training.cli_options import add_lifters_on_file, load_lifters_on_file, write_check_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_lifters_on_file(parser)
    parser.add_argument("--error-cm", type=float, default=3.0, help="a wrong height's error, centimetres")
    args = parser.parse_args(argv)
    if not (np.isfinite(args.error_cm) and 0 <= args.error_cm <= 30):
        parser.error(f"--error-cm must be between 0 and 30 centimetres, got {args.error_cm:g}")

    import torch

    from scjd_core.errors import ScjdError
    from scjd_core.skeleton import standing_height
    from training.evaluate import lift_sequences
    from training.metrics import mpjpe, p_mpjpe

    try:
        seqs, loaded = load_lifters_on_file(args)
    except ScjdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    truth = seqs.poses_3d
    heights = np.array([standing_height(t) for t in truth])
    err = args.error_cm / 100.0
    givens = {"none": None, "exact": heights, f"+{args.error_cm:g} cm": heights + err}
    givens[f"-{args.error_cm:g} cm"] = heights - err
    print(
        f"{len(seqs)} sequences; standing heights {heights.min():.2f}-{heights.max():.2f} m "
        f"(median {np.median(heights):.2f})"
    )
    out: dict[str, list[dict]] = {}
    for name, model in loaded:
        pred = lift_sequences(model, seqs, torch.device("cpu"))
        out[name] = []
        for label, given in givens.items():
            scaled = pred if given is None else scaled_to_heights(pred, given)
            row = {"height_given": label, "mpjpe_mm": mpjpe(scaled, truth), "p_mpjpe_mm": p_mpjpe(scaled, truth)}
            out[name].append(row)
            print(f"  {name:<10} height {label:<8} {row['mpjpe_mm']:6.2f} / {row['p_mpjpe_mm']:5.2f} mm")
    write_check_json(args, out, heights_m=[float(np.min(heights)), float(np.max(heights))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
