"""Pose conventions: the one place that knows joint indices.

Everything in SCJD speaks the Human3.6M 17-joint layout defined here. Other modules
import names, parents, sides, bones, adjacency and the landmark / mocap maps from
this file and never hard-code a joint index themselves.

Coordinate frames:
    * **2D pixels**: ``x`` to the right, ``y`` down, origin at the top-left corner.
    * **Normalised 2D** (the lifters' input): ``x / w * 2 - 1`` and ``y / w * 2 - h / w``
      (aspect kept, so ``x`` spans [-1, 1]), see :func:`normalize_screen`.
    * **Camera 3D** (the lifters' output): metres, ``x`` right, ``y`` down, ``z`` away
      from the camera (a right-handed pinhole frame), root-relative (pelvis at 0).
    * **World 3D** (exports): metres, right-handed, ``+Y`` up, ``+X`` the camera's right,
      ``+Z`` towards the camera, floor at ``y = 0``. See :mod:`scjd_core.world`.
"""

from __future__ import annotations

import numpy as np

#: Joint names, index -> name (Human3.6M order).
JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "spine",
    "thorax",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)
NUM_JOINTS: int = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}
ROOT: int = JOINT_INDEX["pelvis"]

#: Parent of each joint (-1 for the root).
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
LEFT: tuple[int, ...] = (4, 5, 6, 11, 12, 13)
RIGHT: tuple[int, ...] = (1, 2, 3, 14, 15, 16)

#: (parent, child) pairs, one per non-root joint, in joint order.
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)


def _flip_permutation() -> np.ndarray:
    perm = np.arange(NUM_JOINTS)
    for left, right in zip(LEFT, RIGHT, strict=True):
        perm[left], perm[right] = right, left
    return perm


#: Index permutation that swaps left and right joints (for flip augmentation).
FLIP_PERMUTATION: np.ndarray = _flip_permutation()


def children(joint: int) -> list[int]:
    """Return the joints whose parent is ``joint``."""
    return [c for c, p in enumerate(PARENTS) if p == joint]


def adjacency(hops: int = 1, self_loops: bool = True) -> np.ndarray:
    """Skeleton adjacency as a boolean ``(17, 17)`` matrix.

    Args:
        hops: joints at most this many bones apart are adjacent (1 = bones only).
        self_loops: whether the diagonal is set.

    Returns:
        Symmetric boolean matrix.
    """
    one = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=bool)
    for p, c in BONES:
        one[p, c] = one[c, p] = True
    reach = np.eye(NUM_JOINTS, dtype=bool)
    step = reach.copy()
    for _ in range(max(hops, 0)):
        step = (step.astype(int) @ one.astype(int)) > 0
        reach |= step
    if not self_loops:
        np.fill_diagonal(reach, False)
    return reach


def normalize_screen(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels -> normalised screen coordinates (METHOD.md): ``x/w*2-1``, ``y/w*2-h/w``.

    Args:
        xy: array ``(..., 2)`` of pixel coordinates.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        Array of the same shape, float32.
    """
    xy = np.asarray(xy, dtype=np.float32)
    out = xy / float(width) * 2.0
    out[..., 0] -= 1.0
    out[..., 1] -= float(height) / float(width)
    return out


def denormalize_screen(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of :func:`normalize_screen`: normalised screen coordinates -> pixels."""
    uv = np.asarray(uv, dtype=np.float32).copy()
    uv[..., 0] += 1.0
    uv[..., 1] += float(height) / float(width)
    return uv * float(width) / 2.0


def bone_lengths(pose: np.ndarray) -> np.ndarray:
    """Bone lengths ``(..., 16)`` of poses ``(..., 17, 3)`` in :data:`BONES` order."""
    pose = np.asarray(pose)
    parents = np.array([p for p, _ in BONES])
    kids = np.array([c for _, c in BONES])
    return np.linalg.norm(pose[..., kids, :] - pose[..., parents, :], axis=-1)


#: Standing height not covered by the 17-joint chains: ankle to floor plus head joint to
#: crown, metres (the same for every adult to a few centimetres).
HEIGHT_OFFSET_M = 0.18
_LEG_CHAIN = tuple(JOINT_INDEX[n] for n in ("right_knee", "right_ankle", "left_knee", "left_ankle"))
_TRUNK_CHAIN = tuple(JOINT_INDEX[n] for n in ("spine", "thorax", "neck", "head"))
#: Person heights that :func:`scale_to_height` accepts, metres.
HEIGHT_RANGE_M = (0.5, 2.5)


def standing_height(poses: np.ndarray) -> float:
    """Standing height (metres) of the skeleton in poses ``(F, 17, 3)``, from its bone lengths.

    The mean of the two legs (hip to ankle) plus the trunk (pelvis to head joint) plus
    :data:`HEIGHT_OFFSET_M`, each bone at its median length over the frames, so the
    figure does not depend on the posture (a squat, lying down).
    """
    bones = np.median(bone_lengths(np.asarray(poses, dtype=np.float64).reshape(-1, NUM_JOINTS, 3)), axis=0)
    by_child = {c: bones[i] for i, (_, c) in enumerate(BONES)}
    chains = 0.5 * sum(by_child[j] for j in _LEG_CHAIN) + sum(by_child[j] for j in _TRUNK_CHAIN)
    return float(chains + HEIGHT_OFFSET_M)


def check_height(height_m: float) -> None:
    """Raise ValueError, saying what to give, unless ``height_m`` is a person's height in
    :data:`HEIGHT_RANGE_M` (metres)."""
    low, high = HEIGHT_RANGE_M
    if not (np.isfinite(height_m) and low <= height_m <= high):
        raise ValueError(
            f"a person's standing height must be in metres, between {low:g} and {high:g} "
            f"(got {height_m:g}; 1.75 for 175 cm)"
        )


def scale_to_height(poses: np.ndarray, height_m: float) -> np.ndarray:
    """Poses ``(F, 17, 3)`` scaled about their root so the skeleton is ``height_m`` tall.

    A lifter sees the person in one camera, where a tall person far away and a short one
    near look alike, so its skeleton has the size of an average training body; given the
    person's real height, every bone is rescaled by one factor so that
    :func:`standing_height` gives that height. The root keeps its position.

    Raises:
        ValueError: a height outside :data:`HEIGHT_RANGE_M` (:func:`check_height`) or a
            skeleton with no length.
    """
    check_height(height_m)
    x = np.asarray(poses)
    chains = standing_height(x) - HEIGHT_OFFSET_M
    if not chains > 1e-6:
        raise ValueError("the skeleton has no length to scale")
    factor = (height_m - HEIGHT_OFFSET_M) / chains
    root = x[..., ROOT : ROOT + 1, :]
    return (root + factor * (x - root)).astype(x.dtype)


# --------------------------------------------------------------------------------------
# MediaPipe Pose (33 landmarks) -> 17 joints
# --------------------------------------------------------------------------------------

MEDIAPIPE_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

#: Where each of the 17 joints sits, as a weighted (affine) combination of MediaPipe
#: landmarks. The anatomical definitions match :data:`MOCAP_JOINT_MAP` point for point:
#:   pelvis = mid hip joints, thorax = mid shoulder joints, spine = mid(pelvis, thorax),
#:   hips = hip joint centres: MediaPipe's hip landmarks sit on the outside of the pelvis
#:   (hip width / shoulder width 0.67 against 0.38-0.46 in mocap), so each hip joint is
#:   pulled 15 % towards the other hip landmark,
#:   neck = skull base: mid ears (MediaPipe) / start of the ``head`` bone (mocap),
#:   head = top of the head: mid ears + 1.7 x (mid eyes - mid mouth), i.e. the face's
#:   up direction scaled from eye-mouth distance (~6.5 cm) to ear-to-vertex height
#:   (~11 cm) (MediaPipe) / end of the ``head`` bone (mocap).
#: ``scripts/check_joint_maps.py`` compares the bone-length ratios the two maps give.
MEDIAPIPE_JOINT_MAP: dict[str, dict[str, float]] = {
    "pelvis": {"left_hip": 0.5, "right_hip": 0.5},
    "right_hip": {"right_hip": 0.85, "left_hip": 0.15},
    "right_knee": {"right_knee": 1.0},
    "right_ankle": {"right_ankle": 1.0},
    "left_hip": {"left_hip": 0.85, "right_hip": 0.15},
    "left_knee": {"left_knee": 1.0},
    "left_ankle": {"left_ankle": 1.0},
    "spine": {"left_hip": 0.25, "right_hip": 0.25, "left_shoulder": 0.25, "right_shoulder": 0.25},
    "thorax": {"left_shoulder": 0.5, "right_shoulder": 0.5},
    "neck": {"left_ear": 0.5, "right_ear": 0.5},
    "head": {
        "left_ear": 0.5,
        "right_ear": 0.5,
        "left_eye": 0.85,
        "right_eye": 0.85,
        "mouth_left": -0.85,
        "mouth_right": -0.85,
    },
    "left_shoulder": {"left_shoulder": 1.0},
    "left_elbow": {"left_elbow": 1.0},
    "left_wrist": {"left_wrist": 1.0},
    "right_shoulder": {"right_shoulder": 1.0},
    "right_elbow": {"right_elbow": 1.0},
    "right_wrist": {"right_wrist": 1.0},
}


def _mediapipe_matrix() -> np.ndarray:
    m = np.zeros((NUM_JOINTS, len(MEDIAPIPE_NAMES)), dtype=np.float32)
    lm_index = {n: i for i, n in enumerate(MEDIAPIPE_NAMES)}
    for joint, weights in MEDIAPIPE_JOINT_MAP.items():
        for lm, w in weights.items():
            m[JOINT_INDEX[joint], lm_index[lm]] = w
    return m


#: ``(17, 33)`` weights: ``joints = MEDIAPIPE_MATRIX @ landmarks``.
MEDIAPIPE_MATRIX: np.ndarray = _mediapipe_matrix()


def mediapipe_to_joints(landmarks: np.ndarray, visibility: np.ndarray | None = None):
    """Map MediaPipe landmarks ``(..., 33, D)`` onto the 17 joints.

    Args:
        landmarks: landmark coordinates, any trailing dimension ``D`` (2 or 3).
        visibility: optional ``(..., 33)`` visibility in [0, 1].

    Returns:
        ``(joints (..., 17, D), confidence (..., 17))``; the confidence of a joint is the
        lowest visibility among the landmarks it is made of (1 where none was given).
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    joints = np.einsum("jl,...ld->...jd", MEDIAPIPE_MATRIX, landmarks)
    if visibility is None:
        conf = np.ones(joints.shape[:-1], dtype=np.float32)
    else:
        vis = np.clip(np.asarray(visibility, dtype=np.float32), 0.0, 1.0)
        used = MEDIAPIPE_MATRIX != 0  # (17, 33)
        big = np.where(used, vis[..., None, :], np.inf)
        conf = big.min(axis=-1).astype(np.float32)
    return joints, conf


# --------------------------------------------------------------------------------------
# Motion capture (CMU / HDM05 ASF bone names, also the node names of the CMU BVH files)
# --------------------------------------------------------------------------------------

#: Where each of the 17 joints sits on a mocap skeleton, as a weighted mean of points.
#: A point is a bone name (the position where that bone *starts*, i.e. its joint) or
#: ``"<bone>.end"`` (where the bone ends). CMU BVH nodes are named after the ASF bone
#: that starts there, so one table serves ASF/AMC and those BVH files.
MOCAP_JOINT_MAP: dict[str, dict[str, float]] = {
    "pelvis": {"lfemur": 0.5, "rfemur": 0.5},
    "right_hip": {"rfemur": 1.0},
    "right_knee": {"rtibia": 1.0},
    "right_ankle": {"rfoot": 1.0},
    "left_hip": {"lfemur": 1.0},
    "left_knee": {"ltibia": 1.0},
    "left_ankle": {"lfoot": 1.0},
    "spine": {"lfemur": 0.25, "rfemur": 0.25, "lhumerus": 0.25, "rhumerus": 0.25},
    "thorax": {"lhumerus": 0.5, "rhumerus": 0.5},
    "neck": {"head": 1.0},
    "head": {"head.end": 1.0},
    "left_shoulder": {"lhumerus": 1.0},
    "left_elbow": {"lradius": 1.0},
    "left_wrist": {"lwrist": 1.0},
    "right_shoulder": {"rhumerus": 1.0},
    "right_elbow": {"rradius": 1.0},
    "right_wrist": {"rwrist": 1.0},
}


def mocap_points_needed() -> set[str]:
    """The point names :data:`MOCAP_JOINT_MAP` refers to."""
    return {p for weights in MOCAP_JOINT_MAP.values() for p in weights}


def mocap_to_joints(points: dict[str, np.ndarray]) -> np.ndarray:
    """Combine named mocap points (each ``(F, 3)``) into joints ``(F, 17, 3)``.

    Raises:
        KeyError: naming the missing point, when the skeleton lacks one.
    """
    missing = sorted(mocap_points_needed() - set(points))
    if missing:
        raise KeyError(f"mocap skeleton lacks the point(s) {', '.join(missing)}")
    first = next(iter(points.values()))
    out = np.zeros((first.shape[0], NUM_JOINTS, 3), dtype=np.float64)
    for joint, weights in MOCAP_JOINT_MAP.items():
        for point, w in weights.items():
            out[:, JOINT_INDEX[joint]] += w * np.asarray(points[point], dtype=np.float64)
    return out
