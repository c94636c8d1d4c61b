"""Flag glitch frames in mocap joint sequences.

Real captures have short bursts of broken frames (CMU: the whole body tilting by up to
~90° for 1-12 frames and back, teleporting feet). Four independent tests, each on the
17 joints alone (so they work for any source), any of which flags a frame:

* **orientation outlier**: the trunk direction (pelvis -> thorax) or the hip line
  (right_hip -> left_hip) differs by more than ``max_tilt_deg`` from its running
  median over ``window_s`` seconds. Genuine turns, even fast ones, follow the median.
* **impossible speed**: a joint moves faster than ``max_speed`` m/s between two frames
  (a jump); both frames of such a step are flagged, and so is every frame between two
  jumps (or between a jump and the clip's start or end) at most ``max_glitch_s`` apart:
  a limb that flips away and back again (HDM05 has 11-frame knee flips).
* **spike**: a joint lies more than ``max_spike`` metres off the midpoint of its
  positions in the frames before and after (half the second difference); this
  catches one-frame glitches at low frame rates (25-30 fps), where a 40 cm jump is
  slower than ``max_speed``. Meant for >= 25 fps: below that, real motion gets close.
* **bone-length jump**: a bone's length differs from its median over the clip by more
  than ``max_bone_change`` (relative).

Defaults were chosen on the project's mocap data (72 CMU BVH clips, 188 HDM05 clips):
clean clips stay below 14° of orientation deviation, 11.3 m/s, 0.11 m of spike (at
30 fps) and 21 % bone change, whereas glitches reach 58-114°, 29-130 m/s and
0.29-1.2 m (at 30 fps).
"""

from __future__ import annotations

import numpy as np

from scjd_core.skeleton import JOINT_INDEX, bone_lengths


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    cos = (a * b).sum(-1) / np.maximum(na * nb, 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def glitch_mask(
    joints: np.ndarray,
    fps: float,
    max_tilt_deg: float = 25.0,
    max_speed: float = 15.0,
    max_bone_change: float = 0.3,
    window_s: float = 0.3,
    max_glitch_s: float = 0.15,
    max_spike: float = 0.25,
) -> np.ndarray:
    """Flag glitch frames (root flips, teleports, bone-length jumps).

    Args:
        joints: ``(F, 17, 3)`` positions in metres (any world frame).
        fps: frames per second of ``joints``.
        max_tilt_deg: largest deviation of the trunk / hip-line direction from its
            running median.
        max_speed: largest joint speed in m/s.
        max_bone_change: largest relative deviation of a bone length from its median.
        window_s: length of the running median in seconds (at least 3 frames).
        max_glitch_s: longest run of frames between two jumps that is flagged whole.
        max_spike: largest distance in metres of a joint from the midpoint of its
            neighbouring frames' positions.

    Returns:
        ``(F,)`` bool, True for glitch frames.
    """
    from scipy.ndimage import median_filter

    joints = np.asarray(joints, dtype=np.float64)
    num = joints.shape[0]
    mask = np.zeros(num, dtype=bool)
    if num < 2:
        return mask
    j = JOINT_INDEX
    trunk = joints[:, j["thorax"]] - joints[:, j["pelvis"]]
    hips = joints[:, j["left_hip"]] - joints[:, j["right_hip"]]
    width = max(3, int(round(window_s * fps)) | 1)
    for vec in (trunk, hips):
        ref = median_filter(vec, size=(width, 1), mode="nearest")
        mask |= _angle_deg(vec, ref) > max_tilt_deg
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=1) * fps
    fast = speed > max_speed
    mask[1:] |= fast
    mask[:-1] |= fast
    # Step s goes from frame s to s + 1; -1 and num - 1 stand for the clip's ends.
    jumps = [-1, *np.flatnonzero(fast).tolist(), num - 1]
    longest = max_glitch_s * fps
    for a, b in zip(jumps[:-1], jumps[1:]):
        if (a, b) != (-1, num - 1) and b - a <= longest:
            mask[a + 1 : b + 1] = True
    if num >= 3:
        mid = 0.5 * (joints[:-2] + joints[2:])
        mask[1:-1] |= np.linalg.norm(joints[1:-1] - mid, axis=-1).max(axis=1) > max_spike
    lengths = bone_lengths(joints)
    ref_len = np.median(lengths, axis=0)
    change = np.abs(lengths - ref_len) / np.maximum(ref_len, 1e-6)
    mask |= (change > max_bone_change).any(axis=1)
    return mask
