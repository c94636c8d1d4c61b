"""Writing a processed clip to disk: BVH and CSV per 3D backend, one JSON/NPZ bundle.

Exported 3D is post-processed the same way for every format: optional temporal
smoothing, constant bone lengths over the clip, then the upright, floor-aligned world
frame of :mod:`scjd_core.world` (right-handed, +Y up, floor at y = 0, metres), with the
root either moving along its estimated path, feet on the floor (``root="trajectory"``,
:mod:`scjd_core.trajectory`) or fixed above the origin (``root="fixed"``).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import scjd_core
from scjd_core.atomic import (
    CommitError,
    OutputSet,
    check_writable_dir,
    name_max,
    output_error,
    probe_writable,
    remove_stale_temp_files,
)
from scjd_core.errors import InputError, OutputError
from scjd_core.pipeline import ClipResult
from scjd_core.skeleton import JOINT_NAMES, PARENTS, scale_to_height

#: Formats written once per backend; the others are one bundle for the whole clip.
PER_BACKEND_FORMATS = ("bvh", "csv")


def world_poses(
    clip: ClipResult,
    backend: str,
    smoothing: str = "none",
    root: str = "trajectory",
    fov_deg: float | None = None,
    height_m: float | None = None,
) -> np.ndarray:
    """A backend's poses, smoothed, bone-length normalised and in the export world frame.

    With ``height_m`` (the person's standing height, metres) the skeleton is scaled to it
    (:func:`scjd_core.skeleton.scale_to_height`) before the root's path is solved, so the
    path comes out at the matching distance; without it the skeleton keeps the lifter's
    size (an average adult's).

    With ``root="trajectory"`` the root's path is estimated from the 2D and the lifted
    3D (:func:`scjd_core.trajectory.estimate_root_trajectory`, a camera with ``fov_deg``
    field of view across the longer image side, :data:`~scjd_core.trajectory.DEFAULT_FOV_DEG` by default)
    and the feet are kept on the floor (:func:`scjd_core.trajectory.ground_contact`);
    with ``root="fixed"`` the root stays above the origin.
    """
    return world_and_root(clip, backend, smoothing, root, fov_deg, height_m)[0]


def world_and_root(
    clip: ClipResult,
    backend: str,
    smoothing: str = "none",
    root: str = "trajectory",
    fov_deg: float | None = None,
    height_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`world_poses` and the camera-frame root trajectory ``(F, 3)`` (``None`` when fixed)."""
    from scjd_core.filters import smooth_clip
    from scjd_core.trajectory import DEFAULT_FOV_DEG, ROOT_MODES, estimate_root_trajectory, ground_contact
    from scjd_core.world import camera_to_world, normalize_bone_lengths

    if root not in ROOT_MODES:
        raise ValueError(f"unknown root mode {root!r}: choose one of {', '.join(ROOT_MODES)}")
    poses = clip.lifts[backend].poses.astype(np.float64)
    poses = normalize_bone_lengths(smooth_clip(poses, clip.info.fps, method=smoothing))
    if height_m is not None and len(poses):
        poses = scale_to_height(poses, height_m)
    seq = clip.seq
    if root == "fixed" or seq.width <= 0 or seq.height <= 0:  # no image size: no camera to solve with
        return camera_to_world(poses).astype(np.float32), None
    traj = estimate_root_trajectory(
        seq.keypoints,
        seq.confidence,
        poses,
        seq.width,
        seq.height,
        clip.info.fps,
        fov_deg=DEFAULT_FOV_DEG if fov_deg is None else fov_deg,
    )
    world, _contacts = ground_contact(camera_to_world(poses, traj), clip.info.fps)
    return world.astype(np.float32), traj.astype(np.float32)


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

    The folder (or, when it does not exist yet, the nearest existing folder above it) is
    tested by creating and removing a file in it: ``os.access`` says yes to root even on
    ``/proc`` or a read-only file system. Nothing else is created.

    Raises:
        OutputError: the folder is not writable, a name is too long, a folder is in the
            way of a file, or a file exists and ``overwrite`` is False.
    """
    try:
        return _check_outputs(Path(out_dir), stem, formats, backends, overwrite)
    except OSError as exc:  # e.g. a path too long even to look at
        raise output_error(exc, out_dir, "use output folder") from None


def _check_outputs(out: Path, stem: str, formats: Sequence[str], backends: Sequence[str], overwrite: bool) -> Path:
    if out.exists():
        check_writable_dir(out, create=False)
        limit = name_max(out)
    else:  # nothing is created before the input has been read: check the nearest existing folder
        ancestor = out.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputError(
                f"cannot create output folder {out}: {ancestor} is a file, not a folder; choose another --out"
            )
        try:
            probe_writable(ancestor)
        except OutputError as exc:
            raise OutputError(f"cannot create output folder {out}: {exc}") from None
        limit = name_max(ancestor)
        for part in out.relative_to(ancestor).parts:
            if len(os.fsencode(part)) > limit:
                raise OutputError(
                    f"cannot create output folder {out}: the name {part[:24]}... is longer than the {limit} bytes "
                    "the file system allows; choose a shorter --out path"
                )
    planned = planned_paths(out, stem, formats, backends)
    for path in planned:
        if len(os.fsencode(path.name)) > limit:
            raise OutputError(
                f"cannot write {path}: the name is longer than the {limit} bytes the file system allows; "
                "rename the input to something shorter"
            )
        if path.is_dir():
            raise OutputError(
                f"cannot write {path}: a folder is in the way; remove or rename it, or choose another --out folder"
            )
    if not overwrite:
        existing = [p for p in planned if os.path.lexists(p)]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise OutputError(f"{existing[0]} already exists{more}: pass --overwrite or choose another --out folder")
    return out


def _make_folder(out: Path) -> list[Path]:
    """Create ``out`` (and missing parents); returns the folders created, deepest first."""
    created = []
    folder = out
    while not folder.exists() and folder != folder.parent:
        created.append(folder)
        folder = folder.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(created)
        raise output_error(exc, out, "create output folder") from None
    return created


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


def bundle_dict(
    clip: ClipResult,
    smoothing: str,
    world: dict[str, np.ndarray],
    root: str = "trajectory",
    fov_deg: float | None = None,
    root_camera: dict[str, np.ndarray] | None = None,
    height_m: float | None = None,
) -> dict:
    """The JSON/NPZ bundle's content: 2D, confidences, flags, 3D per backend, metadata."""
    from scjd_core.trajectory import DEFAULT_FOV_DEG

    seq = clip.seq
    bundle = {
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
            "root": root,
            "root_description": (
                "trajectory: root path estimated from the 2D and the lifted body's size (camera fov_deg), "
                "the contact foot kept on the floor"
                if root == "trajectory"
                else "fixed: root-relative poses, the root above the origin"
            ),
            "fov_deg": float(DEFAULT_FOV_DEG if fov_deg is None else fov_deg) if root == "trajectory" else None,
            "person_height_m": None if height_m is None else float(height_m),
            "person_height_description": "the standing height poses_world were scaled to (--height); "
            "null: the lifter's own size, an average adult's; poses_camera are the lifter's output, unscaled",
            "backends": list(clip.lifts),
            "roi": None if clip.roi is None else [float(v) for v in clip.roi],
            "roi_description": "the box (pixels x, y, width, height, first frame) the person was chosen with; "
            "null: MediaPipe followed whoever it found first",
        },
        "times": seq.times.astype(np.float64),
        "keypoints_2d": seq.keypoints.astype(np.float32),
        "confidence": seq.confidence.astype(np.float32),
        "found": seq.found.astype(bool),
        "filled": seq.filled.astype(bool),
        "poses_camera": {k: v.poses.astype(np.float32) for k, v in clip.lifts.items()},
        "poses_world": world,
    }
    if seq.boxes is not None:
        bundle["meta"]["tracked_box"] = (
            "pixels x, y, width, height per frame: the crop around the chosen person the 2D detector searched"
        )
        bundle["tracked_box"] = seq.boxes.astype(np.float32)
    if root_camera:
        bundle["meta"]["root_camera"] = "metres, camera frame (x right, y down, z away), the root's estimated path"
        bundle["root_camera"] = {k: np.asarray(v, np.float32) for k, v in root_camera.items()}
    return bundle


def export_clip(
    clip: ClipResult,
    out_dir: str | Path,
    formats: Sequence[str],
    stem: str,
    backends: Sequence[str] | None = None,
    smoothing: str = "none",
    overwrite: bool = False,
    output_set: OutputSet | None = None,
    root: str = "trajectory",
    fov_deg: float | None = None,
    height_m: float | None = None,
) -> list[Path]:
    """Write ``clip`` in each format, all or nothing; returns the files written.

    Every file is written under a temporary name in ``out_dir`` and all are renamed into
    place together when all are complete (:class:`~scjd_core.atomic.OutputSet`). On any
    failure or interrupt the temporary files are removed, a folder created for the
    outputs is removed again, and files that were to be replaced are left as they were.
    Temporary files that killed earlier runs left in ``out_dir`` are removed first
    (:func:`~scjd_core.atomic.remove_stale_temp_files`).

    Args:
        clip: the processed clip.
        out_dir: folder to write into (created if missing).
        formats: any of ``bvh``, ``csv``, ``json``, ``npz``.
        stem: file name stem (usually the input's name).
        backends: which backends to export (default: all in the clip).
        smoothing: ``none``, ``butterworth`` or ``oneeuro``.
        overwrite: replace existing files instead of refusing.
        output_set: the set to write into (the caller can then tell, after an interrupt,
            whether it was committed); a new one by default.
        root: ``trajectory`` (the body moves through the scene, feet on the floor) or
            ``fixed`` (root above the origin); see :func:`world_poses`.
        fov_deg: the camera's field of view across the longer image side (default 60°).
        height_m: the person's standing height in metres: the exported skeleton is scaled to
            it (None: the lifter's own size); see :func:`world_poses`.

    Raises:
        OutputError: a file cannot be written (the message says what to do and that
            nothing was written).
        InputError: a backend gave non-finite poses.
    """
    from scjd_core.export import write_bundle, write_bvh, write_csv

    backends = list(backends or clip.lifts)
    missing = [b for b in backends if b not in clip.lifts]
    if missing:
        raise OutputError(f"backend {missing[0]!r} was not run on this clip: run it or export another")
    out = check_outputs(out_dir, stem, formats, backends, overwrite)
    for b in backends:
        bad = ~np.isfinite(clip.lifts[b].poses).all(axis=(1, 2))
        if bad.any():
            raise InputError(
                f"the {b} backend gave non-finite 3D poses for {int(bad.sum())} of {len(bad)} frames "
                f"(the first is frame {int(np.argmax(bad))}): the 2D keypoints are out of range; check the input"
            )
    solved = {b: world_and_root(clip, b, smoothing, root, fov_deg, height_m) for b in backends}
    world = {b: w for b, (w, _) in solved.items()}
    root_camera = {b: r for b, (_, r) in solved.items() if r is not None}
    created = _make_folder(out)
    outputs = output_set if output_set is not None else OutputSet(out)
    try:
        remove_stale_temp_files(out, [p.name for p in planned_paths(out, stem, formats, backends)])
        with outputs:
            for fmt in formats:
                if fmt == "bvh":
                    for b in backends:
                        write_bvh(out / f"{stem}.{b}.bvh", world[b], clip.info.fps, overwrite=overwrite)
                elif fmt == "csv":
                    for b in backends:
                        write_csv(out / f"{stem}.{b}.csv", world[b], clip.seq.times, overwrite=overwrite)
                else:
                    bundle = bundle_dict(clip, smoothing, world, root, fov_deg, root_camera, height_m)
                    write_bundle(out / f"{stem}.{fmt}", bundle, overwrite=overwrite)
            return outputs.commit()
    except OutputError as exc:
        if outputs.committed:
            raise
        _remove_empty(created)
        if isinstance(exc, CommitError):  # it says itself what is in place
            raise
        raise OutputError(f"{exc}; {_nothing_written(out, created)}") from None
    except BaseException:
        if not outputs.committed:
            _remove_empty(created)
        raise


def _nothing_written(out: Path, created: Sequence[Path]) -> str:
    if created and not out.exists():
        return f"nothing was written ({out} was not created)"
    return f"nothing was written or changed in {out}"
