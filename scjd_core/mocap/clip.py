"""Load a mocap file (``.bvh`` or ``.amc``) as a clip of the 17 joints.

``load_mocap`` = read -> forward kinematics -> :func:`scjd_core.skeleton.mocap_to_joints`
-> optional drop of the reference (T-pose) frame -> optional resampling.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scjd_core.errors import InputError
from scjd_core.mocap.asf_amc import AmcMotion, AsfSkeleton, asf_amc_points, read_amc, read_asf
from scjd_core.mocap.bvh import BvhMotion, bvh_points, read_bvh
from scjd_core.skeleton import mocap_to_joints

MOCAP_SUFFIXES: tuple[str, ...] = (".bvh", ".amc")
_HDM_NAME = re.compile(r"^HDM_([A-Za-z]+)_(.+?)_(\d+)_(\d+)$")


@dataclass(frozen=True)
class MocapClip:
    """One mocap clip mapped onto the 17 joints."""

    name: str  # file stem
    subject: str  # HDM05 actor code (bd, bk, dg); "cmu" for BVH files
    action: str  # motion class (HDM05) or file stem without its take number (BVH)
    joints: np.ndarray  # (F, 17, 3) float32 world metres, Y up as in the file
    fps: float
    path: str

    def __len__(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the clip in seconds (``frames / fps``)."""
        return len(self) / self.fps


def find_mocap_files(root: str | Path) -> list[Path]:
    """All ``.bvh`` and ``.amc`` files under ``root`` (recursive), sorted.

    Args:
        root: a folder (or a single mocap file, returned alone).

    Raises:
        InputError: ``root`` does not exist.
    """
    root = Path(root)
    if root.is_file():
        return [root] if root.suffix.lower() in MOCAP_SUFFIXES else []
    if not root.is_dir():
        raise InputError(f"mocap folder {root} does not exist; check the path")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MOCAP_SUFFIXES)


def find_asf(amc_path: str | Path) -> Path:
    """The ASF skeleton beside an AMC file.

    Tries the longest ``_``-separated prefix of the AMC's stem first (``HDM_bd.asf`` for
    ``HDM_bd_squat1Reps_001_120.amc``, ``02.asf`` for CMU's ``02_01.amc``), then the only
    ``.asf`` in the folder.

    Raises:
        InputError: no (unique) skeleton was found.
    """
    amc_path = Path(amc_path)
    parts = amc_path.stem.split("_")
    for k in range(len(parts), 0, -1):
        cand = amc_path.with_name("_".join(parts[:k]) + ".asf")
        if cand.is_file():
            return cand
    all_asf = sorted(amc_path.parent.glob("*.asf"))
    if len(all_asf) == 1:
        return all_asf[0]
    raise InputError(
        f"no ASF skeleton found for {amc_path}: put the actor's .asf file beside it (e.g. HDM_bd.asf for "
        "HDM_bd_*.amc, 02.asf for 02_01.amc), or pass asf= (the .asf file of that actor)"
    )


def clip_names(path: str | Path) -> tuple[str, str, str]:
    """``(name, subject, action)`` from a mocap file name (see :class:`MocapClip`)."""
    path = Path(path)
    stem = path.stem
    m = _HDM_NAME.match(stem)
    if m:
        return stem, m.group(1), m.group(2)
    action = re.sub(r"_\d+$", "", stem) or stem
    if path.suffix.lower() == ".bvh":
        return stem, "cmu", action
    return stem, stem.split("_")[0], action


def is_reference_frame(root_rotation: np.ndarray, other_rotations: np.ndarray) -> bool:
    """Whether one frame is a rest/T-pose reference frame rather than motion.

    The CMU BVH files start with such a frame: its root rotation is exactly zero and
    nearly every other rotation value is exactly zero (7 of 90 are not), whereas
    captured motion has non-zero values almost everywhere (about 70 of 90).
    The rule: root rotation all zero and at most a quarter of the other rotation
    values non-zero.

    Args:
        root_rotation: the root's rotation values of that frame.
        other_rotations: the rotation values of every other joint of that frame.
    """
    if np.any(np.asarray(root_rotation) != 0):
        return False
    other = np.asarray(other_rotations)
    return other.size == 0 or np.count_nonzero(other) <= 0.25 * other.size


def _bvh_reference_frame(motion: BvhMotion) -> bool:
    cols = motion.rotation_columns()
    root = motion.nodes[0]
    root_cols = [c for c in cols if root.channel_start <= c < root.channel_start + len(root.channels)]
    other = [c for c in cols if c not in root_cols]
    return is_reference_frame(motion.values[0, root_cols], motion.values[0, other])


def _amc_reference_frame(asf: AsfSkeleton, amc: AmcMotion) -> bool:
    root_rot = [j for j, k in enumerate(asf.root_order) if k.startswith("R")]
    other = np.concatenate([v[0] for v in amc.bones.values()]) if amc.bones else np.zeros(0)
    return is_reference_frame(amc.root[0, root_rot], other)


def _bvh_scale(motion: BvhMotion) -> float:
    """Metres per BVH unit: files are metres unless the rest pose is over 10 units tall (cm)."""
    rest = BvhMotion(motion.path, motion.nodes, np.zeros((1, motion.values.shape[1])), motion.frame_time)
    pts = np.concatenate(list(bvh_points(rest).values()), axis=0)
    extent = float(np.max(pts.max(axis=0) - pts.min(axis=0)))
    return 0.01 if extent > 10.0 else 1.0


def resampled_length(num_frames: int, fps_in: float, fps_out: float) -> int:
    """Frames after resampling: the output times ``k / fps_out`` within ``[0, (F-1) / fps_in]``.

    That is ``floor((F - 1) * fps_out / fps_in) + 1`` (121 frames at 120 fps -> 31 at 30 fps).
    """
    if num_frames < 1:
        return 0
    return int(math.floor((num_frames - 1) * fps_out / fps_in + 1e-9)) + 1


def resample(joints: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Resample ``(F, ...)`` positions from ``fps_in`` to ``fps_out`` (linear interpolation).

    Output frame ``k`` is the position at time ``k / fps_out`` (frame 0 is kept); see
    :func:`resampled_length`. At integer ratios this picks every n-th frame exactly.
    """
    if fps_in <= 0 or fps_out <= 0:
        raise ValueError(f"frame rates must be positive (got {fps_in}, {fps_out})")
    joints = np.asarray(joints)
    num = joints.shape[0]
    if num < 2 or fps_in == fps_out:
        return joints.copy()
    from scipy.interpolate import make_interp_spline

    t_in = np.arange(num) / fps_in
    t_out = np.arange(resampled_length(num, fps_in, fps_out)) / fps_out
    t_out = np.minimum(t_out, t_in[-1])
    spline = make_interp_spline(t_in, joints.astype(np.float64), k=1, axis=0)
    return spline(t_out).astype(joints.dtype)


@dataclass(frozen=True)
class MocapPoints:
    """Forward-kinematics output of one file: named world points in metres."""

    points: dict[str, np.ndarray]  # point name -> (F, 3)
    fps: float
    skipped_reference: bool  # frame 0 was a T-pose reference frame and was dropped

    def __len__(self) -> int:
        return int(next(iter(self.points.values())).shape[0])


def load_points(path: str | Path, skip_tpose: bool = True, asf: str | Path | AsfSkeleton | None = None) -> MocapPoints:
    """Read a mocap file and run forward kinematics (all named points, metres).

    Args:
        path: a ``.bvh`` or ``.amc`` file.
        skip_tpose: drop frame 0 when it is a reference frame (:func:`is_reference_frame`).
        asf: the skeleton for an ``.amc`` (path or parsed); found beside it by default.

    Returns:
        The named points (see :func:`bvh_points`, :func:`asf_amc_points`) and frame rate.

    Raises:
        InputError: unreadable, malformed or unsupported file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        motion = read_bvh(path)
        points = bvh_points(motion, scale=_bvh_scale(motion))
        fps, drop = motion.fps, _bvh_reference_frame(motion)
    elif suffix == ".amc":
        skeleton = asf if isinstance(asf, AsfSkeleton) else read_asf(asf if asf else find_asf(path))
        amc = read_amc(path, skeleton)
        points = asf_amc_points(skeleton, amc)
        fps, drop = amc.fps, _amc_reference_frame(skeleton, amc)
    else:
        raise InputError(f"{path}: unsupported mocap format '{suffix}'; use a .bvh or .amc file")
    first = next(iter(points.values()))
    skipped = bool(skip_tpose and drop and first.shape[0] > 1)
    if skipped:
        points = {k: v[1:] for k, v in points.items()}
    return MocapPoints(points, fps, skipped)


def load_mocap(
    path: str | Path,
    fps: float | None = None,
    skip_tpose: bool = True,
    asf: str | Path | AsfSkeleton | None = None,
) -> MocapClip:
    """Load a ``.bvh`` or ``.amc`` file as 17 joints in world metres.

    Args:
        path: the mocap file.
        fps: resample to this frame rate (see :func:`resample`); None keeps the file's.
        skip_tpose: drop frame 0 when it is a T-pose reference frame (every CMU BVH
            file starts with one; detected by :func:`is_reference_frame`). The frame
            is dropped before resampling.
        asf: skeleton of an ``.amc`` file; by default found beside it (:func:`find_asf`).

    Returns:
        The clip; ``joints`` is ``(F, 17, 3)`` float32, Y up as in the file.

    Raises:
        InputError: the file is unreadable, malformed, or its skeleton lacks a point
            that :data:`scjd_core.skeleton.MOCAP_JOINT_MAP` needs.
    """
    loaded = load_points(path, skip_tpose=skip_tpose, asf=asf)
    file_fps = loaded.fps
    try:
        joints = mocap_to_joints(loaded.points)
    except KeyError as exc:
        raise InputError(f"{path}: {exc.args[0]}; use a skeleton with CMU/ASF bone names") from None
    out_fps = file_fps
    if fps is not None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        joints, out_fps = resample(joints, file_fps, float(fps)), float(fps)
    name, subject, action = clip_names(path)
    return MocapClip(name, subject, action, joints.astype(np.float32), out_fps, str(path))
