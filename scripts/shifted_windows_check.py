#!/usr/bin/env python
"""Would overlapping windows help? Poses averaged over shifted window tilings, on a fixed sequence file.

The product and the evaluation CLI cover a clip with non-overlapping windows of the model's
``T`` frames starting at its first frame (:func:`training.evaluate.lift_sequences`). A common
test-time ensemble lifts the clip again with the tiling shifted by ``s`` frames (positions
before the first or after the last frame repeat that frame, as the product's padding does)
and averages every frame's poses over the tilings: each frame is then seen at several
positions of its window, at the cost of one lift per tiling. This script measures what that
buys on a sequence file, for several sets of shifts, so the choice of non-overlapping
windows rests on a figure.

Usage::

    python scripts/shifted_windows_check.py [--models teacher=assets/models/teacher \\
        student=assets/models/student] [--sequences tests/data/eval/hdm05_dg_v1.npz] \\
        [--sets 0 20:20 20:40 10:40] [--json F]

A set ``STEP:MAX`` is the shifts ``-MAX, -MAX + STEP, ..., MAX`` (``20:40`` = -40, -20, 0, 20,
40); ``0`` is the product's single tiling.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SETS = ["0", "20:20", "20:40", "10:40"]


def shifted_tiling(frames: int, window: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows of a tiling of ``frames`` frames whose windows start at ``shift + k * window``.

    Returns:
        ``(source (W, window), valid (W, window))``: the clip frame each window position
        reads (clamped to the clip: edge padding) and whether that position is a real frame
        of the clip (each real frame is valid in exactly one window).
    """
    first = shift - window * int(np.ceil(shift / window))  # in (-window, 0]
    starts = np.arange(first, frames, window)
    positions = starts[:, None] + np.arange(window)[None, :]
    valid = (positions >= 0) & (positions < frames)
    return np.clip(positions, 0, frames - 1), valid


def lift_shifted(model, inputs: np.ndarray, shift: int, batch_size: int = 256) -> np.ndarray:
    """Poses ``(N, F, 17, 3)`` of normalised sequences ``inputs (N, F, 17, 3)`` lifted with one shifted tiling."""
    import torch

    from training.evaluate import lift_window_batches

    n, frames = inputs.shape[:2]
    window = int(model.config.window)
    source, valid = shifted_tiling(frames, window, shift)
    windows = inputs[:, source].reshape(-1, window, *inputs.shape[2:])  # (N * W, T, 17, 3)
    poses = lift_window_batches(model, windows, torch.device("cpu"), batch_size)
    poses = poses.reshape(n, *source.shape, *inputs.shape[2:])  # (N, W, T, 17, 3)
    out = np.empty((n, frames, *inputs.shape[2:]), np.float32)
    out[:, source[valid]] = poses[:, valid]
    return out


def parse_sets(items: list[str]) -> list[list[int]]:
    """``["0", "20:40"]`` -> ``[[0], [-40, -20, 0, 20, 40]]``; raises ValueError for a malformed item."""
    sets = []
    for item in items:
        try:
            step, top = (int(v) for v in item.split(":")) if ":" in item else (1, int(item))
        except ValueError:
            raise ValueError(f"--sets item {item!r}: give 0 or STEP:MAX in whole frames, e.g. 20:40") from None
        if step < 1 or top < 0 or (":" not in item and top != 0):
            raise ValueError(f"--sets item {item!r}: give 0 or STEP:MAX with STEP >= 1 and MAX >= 0, e.g. 20:40")
        sets.append(list(range(-(top // step) * step, top + 1, step)))
    return sets


def main(argv: list[str] | None = None) -> int:
    from training.cli_options import add_lifters_on_file, load_lifters_on_file, write_check_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_lifters_on_file(parser)
    parser.add_argument("--sets", nargs="+", default=DEFAULT_SETS, help="shift sets, each comma-separated")
    args = parser.parse_args(argv)
    try:
        sets = parse_sets(args.sets)
    except ValueError as exc:
        parser.error(str(exc))

    from scjd_core.errors import ScjdError
    from training.metrics import mpjpe, p_mpjpe

    try:
        seqs, loaded = load_lifters_on_file(args)
    except ScjdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    inputs, truth = seqs.normalized(), seqs.poses_3d
    out: dict[str, list[dict]] = {}
    for name, model in loaded:
        lifted = {s: lift_shifted(model, inputs, s) for s in sorted({s for group in sets for s in group})}
        out[name] = []
        print(f"{name} (T = {model.config.window})")
        for group in sets:
            pred = np.mean([lifted[s] for s in group], axis=0)
            row = {
                "shifts": group,
                "lifts": len(group),
                "mpjpe_mm": mpjpe(pred, truth),
                "p_mpjpe_mm": p_mpjpe(pred, truth),
            }
            out[name].append(row)
            print(
                f"  shifts {','.join(map(str, group)):<32} {row['mpjpe_mm']:6.2f} / {row['p_mpjpe_mm']:5.2f} mm"
                f"  ({len(group)}x the lifting)"
            )
    write_check_json(args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
