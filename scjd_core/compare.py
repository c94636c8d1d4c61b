"""Per-joint distances between two 3D results (what the viewer's error panel shows).

All poses are root-relative camera-frame metres ``(17, 3)`` (see :mod:`scjd_core.skeleton`);
distances are returned in millimetres after aligning the roots (pelvis on pelvis).
"""

from __future__ import annotations

import numpy as np

from scjd_core.skeleton import NUM_JOINTS, ROOT
from scjd_core.types import FrameResult

#: Pose keys a frame may carry for a ground-truth skeleton (datasets with 3D labels).
GROUND_TRUTH_KEYS: tuple[str, ...] = ("ground_truth", "gt")


def per_joint_distance_mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each joint of ``a`` to the same joint of ``b`` after root alignment.

    Args:
        a: poses ``(..., 17, 3)`` in metres.
        b: poses of the same shape, in metres.

    Returns:
        ``(..., 17)`` float64 distances in millimetres.

    Raises:
        ValueError: when the shapes differ or are not ``(..., 17, 3)``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected two pose arrays (..., {NUM_JOINTS}, 3), got {a.shape} and {b.shape}")
    a = a - a[..., ROOT : ROOT + 1, :]
    b = b - b[..., ROOT : ROOT + 1, :]
    return np.linalg.norm(a - b, axis=-1) * 1000.0


def teacher_student_error(frame: FrameResult, teacher: str = "teacher", student: str = "student") -> np.ndarray | None:
    """Per-joint teacher-student distance (mm, root-aligned) of one frame.

    Args:
        frame: a pipeline result.
        teacher: pose key of the teacher backend.
        student: pose key of the student backend.

    Returns:
        ``(17,)`` millimetres, or None when the frame lacks one of the two poses.
    """
    if teacher not in frame.poses or student not in frame.poses:
        return None
    return per_joint_distance_mm(frame.poses[teacher], frame.poses[student])


def ground_truth_key(frame: FrameResult) -> str | None:
    """The pose key holding ground truth in ``frame``, or None when it has none."""
    for key in GROUND_TRUTH_KEYS:
        if key in frame.poses:
            return key
    return None


def errors_against_truth(frame: FrameResult) -> dict[str, np.ndarray]:
    """Per-joint error (mm, root-aligned) of every model pose in ``frame`` against its ground truth.

    Returns:
        ``{backend name: (17,) mm}``; empty when the frame carries no ground truth.
    """
    key = ground_truth_key(frame)
    if key is None:
        return {}
    truth = frame.poses[key]
    return {
        name: per_joint_distance_mm(pose, truth) for name, pose in frame.poses.items() if name not in GROUND_TRUTH_KEYS
    }
