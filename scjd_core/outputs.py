"""Writing a processed clip to disk: BVH and CSV per 3D backend, one JSON/NPZ bundle.

Exported 3D is post-processed the same way for every format: optional temporal
smoothing, constant bone lengths over the clip, then the upright, floor-aligned world
frame of :mod:`scjd_core.world` (right-handed, +Y up, floor at y = 0, metres).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import scjd_core
from scjd_core.atomic import check_writable_dir
from scjd_core.errors import OutputError
from scjd_core.pipeline import ClipResult
from scjd_core.skeleton import JOINT_NAMES, PARENTS

#: Formats written once per backend; the others are one bundle for the whole clip.
PER_BACKEND_FORMATS = ("bvh", "csv")


def world_poses(clip: ClipResult, backend: str, smoothing: str = "none") -> np.ndarray:
    """A backend's poses, smoothed, bone-length normalised and in the export world frame."""
    from scjd_core.filters import smooth_clip
    from scjd_core.world import camera_to_world, normalize_bone_lengths

    poses = clip.lifts[backend].poses.astype(np.float64)
    poses = smooth_clip(poses, clip.info.fps, method=smoothing)
    return camera_to_world(normalize_bone_lengths(poses)).astype(np.float32)


def planned_paths(out_dir: Path, stem: str, formats: Sequence[str], backends: Sequence[str]) -> list[Path]:
    """Every file :func:`export_clip` would write, in order."""
    paths = []
    for fmt in formats:
        if fmt in PER_BACKEND_FORMATS:
            paths += [out_dir / f"{stem}.{b}.{fmt}" for b in backends]
        else:
            paths.append(out_dir / f"{stem}.{fmt}")
    return paths


def check_outputs(
    out_dir: str | Path, stem: str, formats: Sequence[str], backends: Sequence[str], overwrite: bool
) -> Path:
    """Fail early (before any processing) when the outputs cannot be written.

    Raises:
        OutputError: the folder is not writable, or a file exists and ``overwrite`` is False.
    """
    out = Path(out_dir)
    if out.exists():
        check_writable_dir(out)
    else:  # nothing is created before the input has been read: check the nearest existing folder
        ancestor = out.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
            raise OutputError(
                f"cannot create output folder {out}: {ancestor} is not a writable folder; choose another --out"
            )
    if not overwrite:
        existing = [p for p in planned_paths(out, stem, formats, backends) if p.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise OutputError(f"{existing[0]} already exists{more}: pass --overwrite or choose another --out folder")
    return out


def bundle_dict(clip: ClipResult, smoothing: str, world: dict[str, np.ndarray]) -> dict:
    """The JSON/NPZ bundle's content: 2D, confidences, flags, 3D per backend, metadata."""
    seq = clip.seq
    return {
        "meta": {
            "scjd_version": scjd_core.__version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "source": clip.info.name,
            "source_kind": clip.info.kind,
            "fps": float(clip.info.fps),
            "width": int(clip.info.width),
            "height": int(clip.info.height),
            "frames": len(clip),
            "joint_names": list(JOINT_NAMES),
            "parents": list(PARENTS),
            "smoothing": smoothing,
            "keypoints_2d": "pixels, x right, y down, origin top-left",
            "poses_camera": "metres, camera frame (x right, y down, z away), root-relative",
            "poses_world": "metres, right-handed, +Y up, floor at y=0, constant bone lengths",
            "backends": list(clip.lifts),
        },
        "times": seq.times.astype(np.float64),
        "keypoints_2d": seq.keypoints.astype(np.float32),
        "confidence": seq.confidence.astype(np.float32),
        "found": seq.found.astype(bool),
        "filled": seq.filled.astype(bool),
        "poses_camera": {k: v.poses.astype(np.float32) for k, v in clip.lifts.items()},
        "poses_world": world,
    }


def export_clip(
    clip: ClipResult,
    out_dir: str | Path,
    formats: Sequence[str],
    stem: str,
    backends: Sequence[str] | None = None,
    smoothing: str = "none",
    overwrite: bool = False,
) -> list[Path]:
    """Write ``clip`` in each format; returns the files written.

    Args:
        clip: the processed clip.
        out_dir: folder to write into (created if missing).
        formats: any of ``bvh``, ``csv``, ``json``, ``npz``.
        stem: file name stem (usually the input's name).
        backends: which backends to export (default: all in the clip).
        smoothing: ``none``, ``butterworth`` or ``oneeuro``.
        overwrite: replace existing files instead of refusing.
    """
    from scjd_core.export import write_bundle, write_bvh, write_csv

    backends = list(backends or clip.lifts)
    missing = [b for b in backends if b not in clip.lifts]
    if missing:
        raise OutputError(f"backend {missing[0]!r} was not run on this clip: run it or export another")
    out = check_outputs(out_dir, stem, formats, backends, overwrite)
    world = {b: world_poses(clip, b, smoothing) for b in backends}
    written: list[Path] = []
    for fmt in formats:
        if fmt == "bvh":
            for b in backends:
                path = out / f"{stem}.{b}.bvh"
                write_bvh(path, world[b], clip.info.fps, overwrite=overwrite)
                written.append(path)
        elif fmt == "csv":
            for b in backends:
                path = out / f"{stem}.{b}.csv"
                write_csv(path, world[b], clip.seq.times, overwrite=overwrite)
                written.append(path)
        else:
            path = out / f"{stem}.{fmt}"
            write_bundle(path, bundle_dict(clip, smoothing, world), overwrite=overwrite)
            written.append(path)
    return written
