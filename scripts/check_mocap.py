"""Read every mocap file under a folder and print what came out.

Usage::

    python scripts/check_mocap.py [ROOT]        # ROOT defaults to ../shared/data/mocap

Per dataset (the first folder under ROOT: ``cmu``, ``hdm05``): files read, frames in
the files and after dropping T-pose reference frames, duration, glitch frames
(:func:`scjd_core.mocap.glitch_mask` at the file's frame rate), failures; per subject:
height from the top of the head (end of the ``head`` bone) to the floor (the lowest
skeleton point in the same frame), the 95th percentile over a clip's frames (standing
frames), summarised as the median / min / max over that subject's clips.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from scjd_core.errors import InputError
from scjd_core.mocap import clip_names, find_mocap_files, glitch_mask, load_points
from scjd_core.skeleton import mocap_to_joints

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mocap"


def clip_height(points: dict[str, np.ndarray]) -> float:
    """95th percentile over frames of head top above the lowest skeleton point (metres, Y up)."""
    all_y = np.stack([p[:, 1] for p in points.values()], axis=1)
    return float(np.percentile(points["head.end"][:, 1] - all_y.min(axis=1), 95))


def main(argv: list[str] | None = None) -> int:
    """Check every file; return 1 when any failed to load."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    files = find_mocap_files(args.root)
    stats: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    heights: dict[str, list[float]] = defaultdict(list)
    glitchy: list[str] = []
    failures: list[str] = []
    for path in files:
        rel = path.relative_to(args.root)
        dataset = rel.parts[0] if len(rel.parts) > 1 else "."
        s = stats[dataset]
        try:
            loaded = load_points(path)
            joints = mocap_to_joints(loaded.points)
        except (InputError, KeyError) as exc:
            failures.append(f"{rel}: {exc}")
            s["failed"] += 1
            continue
        frames = len(loaded)
        mask = glitch_mask(joints, loaded.fps)
        s["files"] += 1
        s["file_frames"] += frames + int(loaded.skipped_reference)
        s["tpose_dropped"] += int(loaded.skipped_reference)
        s["frames"] += frames
        s["seconds"] += frames / loaded.fps
        s["glitch_frames"] += int(mask.sum())
        s["glitch_clips"] += int(mask.any())
        if mask.any():
            glitchy.append(f"{rel}: {int(mask.sum())} of {frames} frames")
        _, subject, _ = clip_names(path)
        heights[f"{dataset}/{subject}"].append(clip_height(loaded.points))

    print(f"{len(files)} mocap files under {args.root}")
    print(
        f"{'dataset':<10}{'files':>7}{'failed':>8}{'file frames':>13}{'T-pose':>8}{'frames':>9}"
        f"{'minutes':>9}{'glitch frames':>15}{'in clips':>10}"
    )
    for name, s in sorted(stats.items()):
        print(
            f"{name:<10}{int(s['files']):>7}{int(s['failed']):>8}{int(s['file_frames']):>13}"
            f"{int(s['tpose_dropped']):>8}{int(s['frames']):>9}{s['seconds'] / 60:>9.2f}"
            f"{int(s['glitch_frames']):>15}{int(s['glitch_clips']):>10}"
        )
    print("\nheight, head top to floor (m): median [min, max] of per-clip 95th percentiles")
    for subject, values in sorted(heights.items()):
        v = np.asarray(values)
        print(f"  {subject:<12} {np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]  ({v.size} clips)")
    print("\nclips with glitch frames:" if glitchy else "\nno glitch frames")
    for line in glitchy:
        print(f"  {line}")
    print(f"\n{len(failures)} failure(s)")
    for line in failures:
        print(f"  {line}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
