"""From the lifters' camera frame to the export world frame.

The lifters give root-relative poses in the **camera frame** (metres, ``x`` right,
``y`` down, ``z`` away from the camera). Exports use the **world frame** of
:mod:`scjd_core.skeleton`: right-handed, ``+Y`` up, ``+X`` the camera's right, ``+Z``
towards the camera, floor at ``y = 0``.

:func:`camera_to_world` gets there in four steps:

1. **Axes**: ``(x, y, z) -> (x, -y, -z)``, a 180° turn about ``x`` (stays right-handed).
2. **Upright**: the camera may be pitched or rolled, so "up" in the image is not
   gravity's up. We estimate the body's up direction averaged over the clip (the mean
   of the unit vectors pelvis -> thorax and ankle -> hip on both sides) and rotate it
   onto ``+Y`` by the shortest arc. That rotation has no component about ``+Y``, so it
   corrects pitch and roll only and keeps the camera's heading. *Assumption*: the
   person is upright on average over the clip (standing, walking, dancing, squatting)
   and the camera does not tilt during the clip; a clip spent lying down or
   hand-standing is levelled wrongly (pass ``upright=False`` to skip this step).
3. **Trajectory**: an optional root trajectory ``(F, 3)`` (camera frame, like the
   poses) is turned the same way and added; without one the root stays at ``x = z = 0``.
4. **Floor**: the floor height is the :data:`FLOOR_PERCENTILE`-th percentile of both
   ankles' heights over the clip (robust to a few bad frames, and to the feet being
   off the ground part of the time) minus :data:`ANKLE_TO_SOLE_M`, the height of the
   ankle joint centre above the sole for an adult (about 7-9 cm); the clip is shifted
   so that height becomes ``y = 0``.
"""

from __future__ import annotations

import numpy as np

from scjd_core.skeleton import BONES, JOINT_INDEX, NUM_JOINTS, PARENTS, bone_lengths

#: Height of the ankle joint centre above the sole of the foot (metres).
ANKLE_TO_SOLE_M: float = 0.08
#: Percentile of the ankle heights over the clip taken as "ankle on the floor".
FLOOR_PERCENTILE: float = 5.0

_EPS = 1e-9
#: Step 1, camera axes -> world axes: ``(x, y, z) -> (x, -y, -z)``, a 180° turn about ``x``.
CAMERA_TO_WORLD_AXES = np.array([1.0, -1.0, -1.0])


def camera_axes_to_world(points: np.ndarray) -> np.ndarray:
    """Camera-frame points ``(..., 3)`` in world axes (step 1 only: no levelling, no floor), float64."""
    return np.asarray(points, dtype=np.float64) * CAMERA_TO_WORLD_AXES


def _check_poses(poses: np.ndarray, name: str = "poses") -> np.ndarray:
    x = np.asarray(poses)
    if x.ndim != 3 or x.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{name} must be (F, {NUM_JOINTS}, 3), got {x.shape}")
    return x


def _out_dtype(x: np.ndarray) -> np.dtype:
    return np.result_type(x.dtype, np.float32)


def _topological_order() -> list[int]:
    """Joints ordered so that every parent comes before its children."""
    order, seen = [], set()
    while len(order) < NUM_JOINTS:
        for j, p in enumerate(PARENTS):
            if j not in seen and (p < 0 or p in seen):
                order.append(j)
                seen.add(j)
    return order


def _fill_directions(vec: np.ndarray) -> np.ndarray:
    """Unit directions ``(F, 3)`` of ``vec``; frames where it is ~0 borrow the nearest valid one."""
    norm = np.linalg.norm(vec, axis=-1)
    valid = norm > _EPS
    out = np.zeros_like(vec)
    out[valid] = vec[valid] / norm[valid, None]
    if valid.all():
        return out
    if not valid.any():
        out[:, 1] = 1.0  # the bone never has a length: any direction will do
        return out
    idx = np.flatnonzero(valid)
    frames = np.arange(vec.shape[0])
    nearest = idx[np.clip(np.searchsorted(idx, frames), 0, len(idx) - 1)]
    before = idx[np.clip(np.searchsorted(idx, frames) - 1, 0, len(idx) - 1)]
    pick = np.where(np.abs(before - frames) < np.abs(nearest - frames), before, nearest)
    return out[pick]


def normalize_bone_lengths(poses: np.ndarray) -> np.ndarray:
    """Make every bone the same length in every frame of the clip.

    Each bone gets its median length over the clip (:func:`skeleton.bone_lengths`);
    joints are rebuilt from the root outward, each along its own bone's direction in
    that frame. The root stays where it is. Idempotent.

    Args:
        poses: ``(F, 17, 3)`` in any frame (camera or world), metres.

    Returns:
        Poses ``(F, 17, 3)`` with constant bone lengths (float32 in, float32 out; float64
        otherwise).
    """
    x = _check_poses(poses).astype(np.float64)
    if x.shape[0] == 0:
        return x.astype(_out_dtype(np.asarray(poses)))
    lengths = np.median(bone_lengths(x), axis=0)  # (16,)
    bone_of = {c: i for i, (_, c) in enumerate(BONES)}
    out = np.empty_like(x)
    for j in _topological_order():
        p = PARENTS[j]
        if p < 0:
            out[:, j] = x[:, j]
            continue
        direction = _fill_directions(x[:, j] - x[:, p])
        out[:, j] = out[:, p] + lengths[bone_of[j]] * direction
    return out.astype(_out_dtype(np.asarray(poses)))


def body_up_direction(poses_world_axes: np.ndarray) -> np.ndarray:
    """The body's up direction, a unit 3-vector averaged over the clip.

    The mean of the unit vectors pelvis -> thorax, right ankle -> right hip and
    left ankle -> left hip over all frames, normalised.

    Args:
        poses_world_axes: ``(F, 17, 3)`` with ``+Y`` roughly up (camera axes flipped).
    """
    x = _check_poses(poses_world_axes).astype(np.float64)
    pairs = (("pelvis", "thorax"), ("right_ankle", "right_hip"), ("left_ankle", "left_hip"))
    total = np.zeros(3)
    for a, b in pairs:
        v = x[:, JOINT_INDEX[b]] - x[:, JOINT_INDEX[a]]
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        total += (v / np.maximum(n, _EPS))[n[:, 0] > _EPS].sum(axis=0)
    norm = np.linalg.norm(total)
    return total / norm if norm > _EPS else np.array([0.0, 1.0, 0.0])


def upright_rotation(up: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation matrix ``(3, 3)`` taking the unit vector ``up`` onto ``+Y``.

    Its axis lies in the horizontal plane, so it changes pitch and roll, not heading.
    An ``up`` pointing straight down is turned 180° about ``+X``.
    """
    from scipy.spatial.transform import Rotation

    u = np.asarray(up, dtype=np.float64)
    u = u / np.linalg.norm(u)
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(u, y)
    s, c = np.linalg.norm(axis), float(np.dot(u, y))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    return Rotation.from_rotvec(axis / s * np.arctan2(s, c)).as_matrix()


def floor_height(poses: np.ndarray) -> float:
    """Floor height (``y``) under ``poses`` (world axes): low ankle percentile minus the sole offset."""
    x = _check_poses(poses)
    ankles = x[:, [JOINT_INDEX["right_ankle"], JOINT_INDEX["left_ankle"]], 1]
    if ankles.size == 0:
        return 0.0
    return float(np.percentile(ankles, FLOOR_PERCENTILE)) - ANKLE_TO_SOLE_M


def camera_to_world(poses: np.ndarray, root_trajectory: np.ndarray | None = None, upright: bool = True) -> np.ndarray:
    """Camera-frame poses -> world-frame poses, upright and standing on ``y = 0``.

    See the module docstring for the steps and the assumptions behind them.

    Args:
        poses: ``(F, 17, 3)`` camera frame (x right, y down, z away), metres,
            root-relative (or not: the pose is taken as given).
        root_trajectory: optional ``(F, 3)`` root positions in the same camera frame,
            added to every joint; ``None`` keeps the root at ``x = z = 0``.
        upright: level the camera's pitch and roll from the body's mean up direction.

    Returns:
        ``(F, 17, 3)`` world frame: right-handed, ``+Y`` up, ``+X`` the camera's right,
        ``+Z`` towards the camera, floor at ``y = 0`` (float32 in, float32 out).
    """
    x = _check_poses(poses).astype(np.float64)
    out = camera_axes_to_world(x)
    if root_trajectory is not None:
        traj = np.asarray(root_trajectory, dtype=np.float64)
        if traj.shape != (x.shape[0], 3):
            raise ValueError(f"root_trajectory must be ({x.shape[0]}, 3), got {traj.shape}")
        traj = camera_axes_to_world(traj)
    else:
        traj = np.zeros((x.shape[0], 3))
    if upright and x.shape[0] > 0:
        rot = upright_rotation(body_up_direction(out))
        out = out @ rot.T
        traj = traj @ rot.T
    out = out + traj[:, None, :]
    out[..., 1] -= floor_height(out)
    return out.astype(_out_dtype(np.asarray(poses)))
