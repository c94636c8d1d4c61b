"""Wide CSV of world-frame poses: one row per frame, three columns per joint.

Header: ``frame,time_s,pelvis_x,pelvis_y,pelvis_z,right_hip_x,...`` (joints in
:data:`~scjd_core.skeleton.JOINT_NAMES` order), metres, world frame of
:mod:`scjd_core.world`. Values are written with 6 decimals (micrometres).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS


def csv_header() -> list[str]:
    """The CSV's column names."""
    return ["frame", "time_s"] + [f"{name}_{axis}" for name in JOINT_NAMES for axis in "xyz"]


def write_csv(
    path: str | os.PathLike[str],
    poses_world: np.ndarray,
    times: np.ndarray,
    overwrite: bool = False,
    frames: np.ndarray | None = None,
) -> None:
    """Write poses as a wide CSV (atomically).

    Args:
        path: the ``.csv`` file to write.
        poses_world: ``(F, 17, 3)`` metres.
        times: ``(F,)`` timestamps in seconds.
        overwrite: replace an existing file instead of refusing.
        frames: ``(F,)`` frame numbers (default ``0 .. F-1``).

    Raises:
        OutputError: the file exists (and ``overwrite`` is False) or cannot be written.
        ValueError: the arrays' shapes do not match.
    """
    poses = np.asarray(poses_world, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"poses_world must be (F, {NUM_JOINTS}, 3), got {poses.shape}")
    n = poses.shape[0]
    frames = np.arange(n) if frames is None else np.asarray(frames)
    if times.shape != (n,) or frames.shape != (n,):
        raise ValueError(f"times and frames must be ({n},), got {times.shape} and {frames.shape}")
    with atomic_write(path, "w", overwrite=overwrite, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(csv_header())
        for i in range(n):
            values = [f"{v:.6f}" for v in poses[i].reshape(-1)]
            writer.writerow([str(int(frames[i])), f"{times[i]:.6f}", *values])


def read_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a CSV written by :func:`write_csv`.

    Returns:
        ``(frames (F,) int64, times (F,) float64, poses (F, 17, 3) float64)``.

    Raises:
        InputError: the file is missing, is not a SCJD pose CSV, or has a malformed row.
    """
    path = Path(path)
    expected = csv_header()
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(f"CSV file {path} not found: check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({exc}): pass a CSV written by scjd") from None
    if not rows or [c.strip() for c in rows[0]] != expected:
        got = ",".join(rows[0][:4]) if rows else "an empty file"
        raise InputError(
            f"{path} is not a SCJD pose CSV (header starts {got!r}, expected "
            f"'{','.join(expected[:4])},...'): pass a CSV written by scjd"
        )
    body = [r for r in rows[1:] if r]
    for line, row in enumerate(body, start=2):
        if len(row) != len(expected) or not _numeric(row):
            raise InputError(f"{path} line {line} is malformed (expected {len(expected)} numbers): re-export the file")
    table = np.array([[float(v) for v in r] for r in body], dtype=np.float64).reshape(-1, len(expected))
    frames = table[:, 0].astype(np.int64)
    return frames, table[:, 1].copy(), table[:, 2:].reshape(-1, NUM_JOINTS, 3)


def _numeric(row: list[str]) -> bool:
    try:
        for v in row:
            float(v)
    except ValueError:
        return False
    return True
