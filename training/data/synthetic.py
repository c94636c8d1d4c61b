"""Synthetic walking clips: a tiny, dependency-free stand-in for mocap in tests and smoke runs.

The motion is a parametric gait (legs and arms swinging in antiphase, knees bending on
the swing, a slight vertical bob, walking along a heading) on a plausible 1.75 m
skeleton, in the mocap convention: world metres, Y up, floor at ``y = 0``.
"""

from __future__ import annotations

import numpy as np

from scjd_core.mocap import MocapClip
from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS


def walking_joints(frames: int, fps: float = 30.0, speed: float = 1.3, heading: float = 0.0) -> np.ndarray:
    """Joint positions ``(frames, 17, 3)`` of a person walking, world metres, Y up.

    Args:
        frames: number of frames.
        fps: frame rate.
        speed: walking speed, m/s.
        heading: walking direction, radians about +Y (0 = along +Z).
    """
    t = np.arange(frames) / fps
    phase = 2 * np.pi * 0.9 * t  # ~0.9 strides per second
    out = np.zeros((frames, NUM_JOINTS, 3))

    def put(name: str, side: float, up: np.ndarray | float, fwd: np.ndarray | float) -> None:
        out[:, JOINT_INDEX[name]] = np.stack(np.broadcast_arrays(side, up, fwd), axis=-1)

    pelvis_y = 0.95 + 0.02 * np.cos(2 * phase)
    put("pelvis", 0.0, pelvis_y, 0.0)
    for sign, side in ((1.0, "left"), (-1.0, "right")):
        swing = 0.45 * np.sin(phase + (0 if sign > 0 else np.pi))  # thigh angle, radians
        bend = 0.6 * np.clip(np.sin(phase + (0 if sign > 0 else np.pi) + 0.8), 0, None)
        hip = np.stack([np.full(frames, 0.1 * sign), pelvis_y, np.zeros(frames)], -1)
        knee = hip + 0.45 * np.stack([np.zeros(frames), -np.cos(swing), np.sin(swing)], -1)
        ankle = knee + 0.42 * np.stack([np.zeros(frames), -np.cos(swing - bend), np.sin(swing - bend)], -1)
        out[:, JOINT_INDEX[f"{side}_hip"]] = hip
        out[:, JOINT_INDEX[f"{side}_knee"]] = knee
        out[:, JOINT_INDEX[f"{side}_ankle"]] = ankle
    put("spine", 0.0, pelvis_y + 0.25, 0.02)
    put("thorax", 0.0, pelvis_y + 0.5, 0.03)
    put("neck", 0.0, pelvis_y + 0.6, 0.04)
    put("head", 0.0, pelvis_y + 0.72, 0.06)
    for sign, side in ((1.0, "left"), (-1.0, "right")):
        arm = 0.35 * np.sin(phase + (np.pi if sign > 0 else 0))  # antiphase with the same-side leg
        shoulder = np.stack([np.full(frames, 0.18 * sign), pelvis_y + 0.5, np.full(frames, 0.03)], -1)
        elbow = shoulder + 0.3 * np.stack([np.zeros(frames), -np.cos(arm), np.sin(arm)], -1)
        wrist = elbow + 0.26 * np.stack([np.zeros(frames), -np.cos(arm + 0.4), np.sin(arm + 0.4)], -1)
        out[:, JOINT_INDEX[f"{side}_shoulder"]] = shoulder
        out[:, JOINT_INDEX[f"{side}_elbow"]] = elbow
        out[:, JOINT_INDEX[f"{side}_wrist"]] = wrist
    out[..., 2] += speed * t[:, None]
    c, s = np.cos(heading), np.sin(heading)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return (out @ rot.T).astype(np.float32)


def synthetic_clip(
    name: str = "walk",
    subject: str = "synthetic",
    frames: int = 120,
    fps: float = 30.0,
    speed: float = 1.3,
    heading: float = 0.0,
    action: str = "walking",
    path: str = "",
) -> MocapClip:
    """A walking clip as a :class:`~scjd_core.mocap.MocapClip`.

    Args:
        name: clip name.
        subject: subject code.
        frames: number of frames.
        fps: frame rate.
        speed: walking speed, m/s (0 = walking on the spot).
        heading: walking direction, radians about +Y.
        action: action label.
        path: file path recorded in the clip (e.g. ``cmu/walking/walk_1.bvh`` for split tests).
    """
    joints = walking_joints(frames, fps, speed, heading)
    return MocapClip(name=name, subject=subject, action=action, joints=joints, fps=fps, path=path)
