"""Global motion: where the root is (camera frame), and feet that stay on the floor.

The lifters give root-relative poses. Two steps put the body back into the scene:

1. :func:`estimate_root_trajectory` (camera frame, geometric). A pinhole camera with
   the video's size and a field of view across the image's **longer side**
   (:data:`DEFAULT_FOV_DEG` unless the user knows it; that is the horizontal field of
   view of a landscape video, and the vertical one of a phone held upright) is assumed:
   focal length ``f = (long side / 2) / tan(fov / 2)``, square pixels, principal point
   at the image centre, no distortion. In every frame the translation ``t`` that
   best projects the lifted joints ``P_j + t`` onto the 2D keypoints ``(u_j, v_j)`` is
   the solution of a small linear least-squares problem: with ``x_j = (u_j - cx) / fx``
   and ``y_j = (v_j - cy) / fy``, each joint gives two equations linear in ``t``::

       t_x - x_j t_z = x_j Z_j - X_j        t_y - y_j t_z = y_j Z_j - Y_j

   weighted by the keypoint's confidence, and re-weighted twice (Huber-like) so that
   a badly placed joint does not drag the root. Frames with too little 2D confidence
   borrow their translation by linear interpolation from their neighbours. The result
   is then median-filtered over 5 frames (one-frame spikes) and low-pass filtered over
   time (zero-phase Butterworth for clips, see :func:`scjd_core.filters.butterworth`,
   at :data:`TRAJECTORY_CUTOFF_HZ` or a quarter of the frame rate, the lower).

   **Depth scale.** A single camera cannot tell a small near person from a big far
   one: the depth ``t_z`` comes from the *lifted body's size*, which is in metres
   (the lifters are trained on real adults). A child, or a lifted body the model
   makes too short or too tall, is placed too near or too far by the same ratio, and
   so is its sideways and vertical motion. A wrong field of view scales the depth in
   the same way (a wider lens puts everybody nearer). The camera is assumed still.

2. :func:`ground_contact` (world frame of :mod:`scjd_core.world`: ``+Y`` up, floor at
   ``y = 0``). Per frame the lower foot is the contact candidate; it is in contact
   when it is also slow (its ankle moves less than :data:`CONTACT_SPEED_M_S`). In
   contact frames the whole body is shifted vertically so that the contact foot's sole
   (the ankle :data:`scjd_core.world.ANKLE_TO_SOLE_M` above it) is on ``y = 0``; between
   contacts the shift is interpolated linearly, then smoothed, and finally raised
   where a foot would otherwise sink below the floor. So the pelvis's vertical motion
   follows the legs: a squat goes down, and the feet stay down. Horizontally, the
   contact foot is *locked*: the body is shifted against the foot's horizontal drift
   while it is in contact (accumulated over the clip), and only the part of that shift
   faster than :data:`FOOT_LOCK_CUTOFF_HZ` is kept, so the geometric trajectory still
   decides where the body goes in the long run and the foot lock removes the sliding
   in between (a complementary filter). Limits: jumps are
   kept only as far as the geometric trajectory shows them (the flight frames are not
   detected as such), and stairs or slopes are flattened onto one floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS

#: Field of view across the image's longer side assumed when the camera's is not known (degrees).
DEFAULT_FOV_DEG: float = 60.0
#: Names of the root modes (``--root``): estimate the trajectory, or keep the root still.
ROOT_MODES: tuple[str, ...] = ("trajectory", "fixed")
#: Cutoff (Hz) of the zero-phase low-pass applied to the estimated trajectory.
TRAJECTORY_CUTOFF_HZ: float = 3.0
#: A foot whose ankle is slower than this (m/s) can be in contact with the floor.
CONTACT_SPEED_M_S: float = 0.6
#: A foot up to this much (m) above the lower one also counts as the lower one.
CONTACT_HEIGHT_TOL_M: float = 0.03
#: Cutoff (Hz) of the low-pass applied to the vertical ground-contact correction.
CONTACT_CUTOFF_HZ: float = 4.0
#: Below this frequency (Hz) the geometric trajectory wins over the horizontal foot lock.
FOOT_LOCK_CUTOFF_HZ: float = 0.3

_FEET = (JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])
_MIN_WEIGHT = 1.0  # total 2D confidence a frame needs for its own translation (about 4 joints)


@dataclass(frozen=True)
class CameraIntrinsics:
    """A pinhole camera (pixels): focal lengths, principal point and the image size."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG) -> CameraIntrinsics:
        """Square pixels, principal point at the centre, ``fov_deg`` across the image's longer side."""
        if not (0.0 < fov_deg < 180.0) or not math.isfinite(fov_deg):
            raise ValueError(f"the field of view must be between 0 and 180 degrees (got {fov_deg:g})")
        if width <= 0 or height <= 0:
            raise ValueError(f"the image size must be positive (got {width}x{height})")
        f = (max(width, height) / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0, int(width), int(height))

    def project(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame points ``(..., 3)`` (metres, z away) -> pixels ``(..., 2)``."""
        p = np.asarray(points, dtype=np.float64)
        z = p[..., 2]
        return np.stack([self.fx * p[..., 0] / z + self.cx, self.fy * p[..., 1] / z + self.cy], axis=-1)

    def as_array(self) -> np.ndarray:
        """``[fx, fy, cx, cy, width, height]`` (float64)."""
        return np.array([self.fx, self.fy, self.cx, self.cy, self.width, self.height], dtype=np.float64)


def _interpolate_invalid(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the rows of ``values`` ``(F, D)`` where ``valid`` is False by linear interpolation
    (constant beyond the ends)."""
    if valid.all() or not valid.any():
        return values
    frames = np.arange(values.shape[0])
    out = values.copy()
    for d in range(values.shape[1]):
        out[~valid, d] = np.interp(frames[~valid], frames[valid], values[valid, d])
    return out


def solve_translations(
    keypoints: np.ndarray,
    confidence: np.ndarray,
    poses: np.ndarray,
    camera: CameraIntrinsics,
    iterations: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame root translation that best projects ``poses + t`` onto ``keypoints``.

    Args:
        keypoints: ``(F, 17, 2)`` pixels.
        confidence: ``(F, 17)`` in [0, 1] (the least-squares weights).
        poses: ``(F, 17, 3)`` camera frame, metres, root-relative.
        camera: the intrinsics.
        iterations: re-weighting passes after the first solve (0: plain weighted least squares).

    Returns:
        ``(t, valid)``: ``t (F, 3)`` camera frame (metres), and ``valid (F,)``, False where
        the frame had too little confidence (its ``t`` is interpolated from the others)
        or the solution is behind the camera.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    p = np.asarray(poses, dtype=np.float64)
    w = np.clip(np.nan_to_num(np.asarray(confidence, dtype=np.float64)), 0.0, 1.0)
    n = kp.shape[0]
    if kp.shape != (n, NUM_JOINTS, 2) or p.shape != (n, NUM_JOINTS, 3) or w.shape != (n, NUM_JOINTS):
        raise ValueError(
            f"keypoints (F, 17, 2), confidence (F, 17), poses (F, 17, 3) expected; got {kp.shape}, {w.shape}, {p.shape}"
        )
    if n == 0:
        return np.zeros((0, 3)), np.zeros(0, dtype=bool)
    x = (kp[..., 0] - camera.cx) / camera.fx
    y = (kp[..., 1] - camera.cy) / camera.fy
    zeros, ones = np.zeros_like(x), np.ones_like(x)
    # Rows (F, 17, 2, 3) of the design matrix and right-hand sides (F, 17, 2).
    a = np.stack([np.stack([ones, zeros, -x], -1), np.stack([zeros, ones, -y], -1)], axis=2)
    b = np.stack([x * p[..., 2] - p[..., 0], y * p[..., 2] - p[..., 1]], axis=2)
    weight = w.copy()
    t = np.zeros((n, 3))
    for it in range(iterations + 1):
        wr = np.repeat(weight[..., None], 2, axis=2)  # (F, 17, 2)
        ata = np.einsum("fjr,fjrk,fjrl->fkl", wr, a, a) + 1e-9 * np.eye(3)
        atb = np.einsum("fjr,fjrk,fjr->fk", wr, a, b)
        t = np.linalg.solve(ata, atb[..., None])[..., 0]
        if it == iterations:
            break
        # Re-weight: residuals in normalised image units (angle, not depth-scaled).
        depth = np.maximum(p[..., 2] + t[:, None, 2], 1e-3)
        r = np.linalg.norm(np.einsum("fjrk,fk->fjr", a, t) - b, axis=-1) / depth  # (F, 17)
        scale = np.maximum(1.5 * np.median(r, axis=1, keepdims=True), 1e-4)
        weight = w * np.minimum(1.0, scale / np.maximum(r, 1e-12))
    valid = (w.sum(axis=1) >= _MIN_WEIGHT) & np.isfinite(t).all(axis=1) & (t[:, 2] > 0.1)
    if not valid.any():
        return np.zeros((n, 3)), valid
    return _interpolate_invalid(np.where(np.isfinite(t), t, 0.0), valid), valid


def estimate_root_trajectory(
    keypoints: np.ndarray,
    confidence: np.ndarray,
    poses: np.ndarray,
    width: int,
    height: int,
    fps: float,
    fov_deg: float = DEFAULT_FOV_DEG,
    cutoff_hz: float | None = TRAJECTORY_CUTOFF_HZ,
    camera: CameraIntrinsics | None = None,
) -> np.ndarray:
    """The root's position ``(F, 3)`` in the camera frame (metres), smoothed over time.

    See the module docstring for the method and how the depth's scale is resolved.

    Args:
        keypoints, confidence: the clip's 2D (pixels) and its confidences.
        poses: ``(F, 17, 3)`` lifted, camera frame, root-relative, metres.
        width, height: image size in pixels.
        fps: frame rate (for the low-pass filter).
        fov_deg: the camera's field of view across the image's longer side.
        cutoff_hz: low-pass cutoff (capped at a quarter of ``fps``); ``None`` leaves the
            per-frame solution unfiltered.
        camera: known intrinsics, used instead of ``width``, ``height`` and ``fov_deg``.

    Returns:
        ``(F, 3)`` float64, x right, y down, z away from the camera.
    """
    from scipy.signal import medfilt

    from scjd_core.filters import butterworth

    camera = camera or CameraIntrinsics.from_fov(width, height, fov_deg)
    t, valid = solve_translations(keypoints, confidence, poses, camera)
    if not valid.any():
        return t
    if t.shape[0] >= 5:  # a median over 5 frames removes one-frame spikes before the low-pass
        t = np.stack([medfilt(t[:, d], 5) for d in range(3)], axis=1)
        t[:2] = t[2]
        t[-2:] = t[-3]
    if cutoff_hz is not None and fps > 0:
        t = butterworth(t, fps, cutoff_hz=min(cutoff_hz, fps / 4.0))
    return t


def foot_contacts(poses_world: np.ndarray, fps: float) -> np.ndarray:
    """Contact flags ``(F, 2)`` of the (left, right) foot in world-frame poses.

    A foot is in contact when it is the lower one (or within :data:`CONTACT_HEIGHT_TOL_M`
    of it) and its ankle moves slower than :data:`CONTACT_SPEED_M_S`.
    """
    x = np.asarray(poses_world, dtype=np.float64)
    ankles = x[:, list(_FEET)]  # (F, 2, 3)
    heights = ankles[..., 1]
    lowest = heights <= heights.min(axis=1, keepdims=True) + CONTACT_HEIGHT_TOL_M
    if x.shape[0] < 2:
        return lowest
    speed = np.linalg.norm(np.gradient(ankles, axis=0), axis=-1) * float(fps)  # (F, 2) m/s
    return lowest & (speed < CONTACT_SPEED_M_S)


def _lock_shift(x: np.ndarray, contacts: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal shift ``(F, 2)`` (x, z) that holds the contact feet still (their mean
    move is undone), high-passed."""
    from scjd_core.filters import butterworth

    feet = x[:, list(_FEET)][..., [0, 2]]  # (F, 2 feet, 2)
    held = (contacts[1:] & contacts[:-1]).astype(np.float64)  # (F-1, 2): in contact in both frames
    steps = np.diff(feet, axis=0)  # (F-1, 2 feet, 2)
    count = held.sum(axis=1, keepdims=True)
    step = (steps * held[..., None]).sum(axis=1) / np.maximum(count, 1.0)  # mean move of the held feet
    shift = np.concatenate([np.zeros((1, 2)), -np.cumsum(step, axis=0)])
    if fps > 0 and FOOT_LOCK_CUTOFF_HZ < fps / 2.0:
        shift = shift - butterworth(shift, fps, cutoff_hz=FOOT_LOCK_CUTOFF_HZ, order=2)
    else:
        shift = shift - shift.mean(axis=0)
    return shift


def ground_contact(poses_world: np.ndarray, fps: float, lock_feet: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Keep the contact foot on ``y = 0`` (and, with ``lock_feet``, from sliding).

    Args:
        poses_world: ``(F, 17, 3)`` world frame (``+Y`` up), with or without a trajectory.
        fps: frame rate.
        lock_feet: also shift the body horizontally against the contact foot's sliding
            (see the module docstring); False shifts vertically only.

    Returns:
        ``(poses, contacts)``: the shifted poses (same dtype rules as
        :func:`scjd_core.world.camera_to_world`) and the contact flags ``(F, 2)``
        (left, right foot).
    """
    from scjd_core.filters import butterworth
    from scjd_core.world import ANKLE_TO_SOLE_M

    x = np.asarray(poses_world, dtype=np.float64)
    dtype = np.result_type(np.asarray(poses_world).dtype, np.float32)
    n = x.shape[0]
    if n == 0:
        return x.astype(dtype), np.zeros((0, 2), bool)
    contacts = foot_contacts(x, fps)
    soles = x[:, list(_FEET), 1] - ANKLE_TO_SOLE_M  # (F, 2)
    in_contact = contacts.any(axis=1)
    if in_contact.any():
        contact_height = np.where(contacts, soles, np.inf).min(axis=1)
        shift = _interpolate_invalid(np.where(in_contact, -contact_height, 0.0)[:, None], in_contact)[:, 0]
    else:  # never slow (or a one-frame clip): the lower foot's 5th percentile on the floor
        shift = np.full(n, -float(np.percentile(soles.min(axis=1), 5.0)))
    if fps > 0:
        shift = butterworth(shift, fps, cutoff_hz=CONTACT_CUTOFF_HZ)
    shift = np.maximum(shift, -soles.min(axis=1))  # no foot below the floor
    out = x.copy()
    out[..., 1] += shift[:, None]
    if lock_feet and n > 1 and in_contact.any():
        out[..., [0, 2]] += _lock_shift(x, contacts, fps)[:, None, :]
    return out.astype(dtype), contacts


def foot_skate(poses_world: np.ndarray, contacts: np.ndarray) -> float:
    """Mean horizontal speed (metres per frame) of the feet while in contact (NaN when none)."""
    x = np.asarray(poses_world, dtype=np.float64)
    if x.shape[0] < 2:
        return float("nan")
    ankles = x[:, list(_FEET)][..., [0, 2]]  # (F, 2, 2) horizontal
    step = np.linalg.norm(np.diff(ankles, axis=0), axis=-1)  # (F-1, 2)
    both = np.asarray(contacts, bool)[1:] & np.asarray(contacts, bool)[:-1]
    return float(step[both].mean()) if both.any() else float("nan")
