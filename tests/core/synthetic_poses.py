"""Plausible 17-joint motion for tests (no data files needed).

The person walks on the spot in the world frame of :mod:`scjd_core.world` (``+Y`` up,
facing ``+Z``, their left on ``+X``), slowly turning, with swinging legs and arms,
bending knees and elbows and a slight forward lean. Bone lengths are adult-like and
constant.
"""

from __future__ import annotations

import numpy as np

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS

#: Bone lengths (metres), by child joint name.
LENGTHS = {
    "hip": 0.12,
    "thigh": 0.44,
    "shin": 0.42,
    "spine": 0.23,
    "thorax": 0.25,
    "neck": 0.11,
    "head": 0.12,
    "shoulder": 0.16,
    "upper_arm": 0.28,
    "forearm": 0.25,
}


def _sagittal(angle: np.ndarray, down: bool = True) -> np.ndarray:
    """Unit vectors in the y-z plane, ``angle`` radians forward (+Z) of straight down/up."""
    sign = -1.0 if down else 1.0
    return np.stack([np.zeros_like(angle), sign * np.cos(angle), np.sin(angle)], axis=-1)


def walking_clip(frames: int = 60, fps: float = 30.0, turn_rate: float = 0.6) -> np.ndarray:
    """World-frame poses ``(frames, 17, 3)`` of a walking-in-place person, pelvis near 0.95 m."""
    t = np.arange(frames) / fps
    w = 2 * np.pi * 1.0 * t  # one stride per second
    j = JOINT_INDEX
    p = np.zeros((frames, NUM_JOINTS, 3))
    p[:, j["pelvis"]] = np.stack([np.zeros_like(t), 0.95 + 0.02 * np.sin(2 * w), np.zeros_like(t)], -1)
    lean = 0.1 + 0.03 * np.sin(2 * w)
    for side, sx, phase in (("right", -1.0, 0.0), ("left", 1.0, np.pi)):
        swing = 0.4 * np.sin(w + phase)
        bend = 0.35 * (1 - np.cos(w + phase))
        hip = p[:, j["pelvis"]] + np.array([sx * LENGTHS["hip"], 0.0, 0.0])
        p[:, j[f"{side}_hip"]] = hip
        p[:, j[f"{side}_knee"]] = hip + LENGTHS["thigh"] * _sagittal(swing)
        p[:, j[f"{side}_ankle"]] = p[:, j[f"{side}_knee"]] + LENGTHS["shin"] * _sagittal(swing - bend)
    p[:, j["spine"]] = p[:, j["pelvis"]] + LENGTHS["spine"] * _sagittal(lean, down=False)
    p[:, j["thorax"]] = p[:, j["spine"]] + LENGTHS["thorax"] * _sagittal(lean, down=False)
    p[:, j["neck"]] = p[:, j["thorax"]] + LENGTHS["neck"] * _sagittal(lean + 0.1, down=False)
    p[:, j["head"]] = p[:, j["neck"]] + LENGTHS["head"] * _sagittal(0.05 * np.sin(w), down=False)
    for side, sx, phase in (("right", -1.0, np.pi), ("left", 1.0, 0.0)):
        swing = 0.35 * np.sin(w + phase)
        out = np.array([sx, 0.0, 0.0])
        shoulder = p[:, j["thorax"]] + LENGTHS["shoulder"] * out
        p[:, j[f"{side}_shoulder"]] = shoulder
        upper = _sagittal(swing) + 0.15 * out
        upper /= np.linalg.norm(upper, axis=-1, keepdims=True)
        p[:, j[f"{side}_elbow"]] = shoulder + LENGTHS["upper_arm"] * upper
        p[:, j[f"{side}_wrist"]] = p[:, j[f"{side}_elbow"]] + LENGTHS["forearm"] * _sagittal(swing + 0.6)
    yaw = turn_rate * t  # turn about the vertical through the pelvis
    c, s = np.cos(yaw), np.sin(yaw)
    rel = p - p[:, j["pelvis"], None]
    x, z = rel[..., 0].copy(), rel[..., 2].copy()
    rel[..., 0] = c[:, None] * x + s[:, None] * z
    rel[..., 2] = -s[:, None] * x + c[:, None] * z
    return rel + p[:, j["pelvis"], None]


def world_to_camera(poses_world: np.ndarray, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """Root-relative camera-frame view of world poses from a camera pitched/rolled by the given angles.

    The camera looks along world ``-Z`` (at a person facing ``+Z``); camera axes are
    ``x`` right, ``y`` down, ``z`` away.
    """
    from scipy.spatial.transform import Rotation

    rel = poses_world - poses_world[:, JOINT_INDEX["pelvis"], None]
    tilt = Rotation.from_euler("XZ", [pitch_deg, roll_deg], degrees=True).as_matrix()
    in_cam_world_axes = rel @ tilt.T
    return in_cam_world_axes * np.array([1.0, -1.0, -1.0])
