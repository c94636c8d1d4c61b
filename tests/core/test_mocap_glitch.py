"""glitch_mask on synthetic walks with injected CMU/HDM05-style glitches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from scjd_core.mocap import glitch_mask, load_mocap, resample
from scjd_core.skeleton import JOINT_INDEX

DATA = Path(__file__).resolve().parents[1] / "data" / "mocap"
FPS = 120.0


@pytest.fixture(scope="module")
def body() -> np.ndarray:
    """A (17, 3) body (mini17's T-pose), pelvis at the origin."""
    joints = load_mocap(DATA / "mini17.bvh", skip_tpose=False).joints[0].astype(np.float64)
    return joints - joints[JOINT_INDEX["pelvis"]]


def _walk(body: np.ndarray, frames: int = 240, turn_deg_s: float = 45.0) -> np.ndarray:
    """Walk along +Z at 1.4 m/s while turning about +Y."""
    t = np.arange(frames) / FPS
    yaw = Rotation.from_euler("y", (turn_deg_s * t)[:, None], degrees=True)
    out = np.stack([yaw[i].apply(body) for i in range(frames)])
    out[..., 2] += 1.4 * t[:, None]
    out[..., 1] += 0.95
    return out


def _tilt(joints: np.ndarray, frames: slice, deg: float = 90.0) -> np.ndarray:
    """Tip the whole body about the pelvis around X (CMU's root-tilt glitch)."""
    out = joints.copy()
    pelvis = out[frames, JOINT_INDEX["pelvis"]][:, None]
    out[frames] = (
        Rotation.from_euler("x", deg, degrees=True)
        .apply((out[frames] - pelvis).reshape(-1, 3))
        .reshape(out[frames].shape)
        + pelvis
    )
    return out


def test_clean_walk_and_fast_turn_are_not_flagged(body):
    assert not glitch_mask(_walk(body), FPS).any()
    assert not glitch_mask(_walk(body, turn_deg_s=360.0), FPS).any()  # a full turn per second is real motion


def test_root_tilt_is_flagged(body):
    joints = _tilt(_walk(body), slice(100, 106))
    mask = glitch_mask(joints, FPS)
    assert mask[100:106].all()
    # only the glitch and the two frames framing its jumps
    assert set(np.flatnonzero(mask)) <= set(range(99, 107))


def test_tilt_at_clip_end_and_after_resampling(body):
    joints = _tilt(_walk(body), slice(237, 240))
    assert glitch_mask(joints, FPS)[237:].all()
    glitchy = _tilt(_walk(body), slice(100, 112))  # 12 frames at 120 fps = 3 frames at 30 fps
    mask30 = glitch_mask(resample(glitchy, FPS, 30.0), 30.0)
    assert mask30[25:28].all()
    assert mask30.sum() <= 6


def test_limb_flip_segment_is_flagged_whole(body):
    """A leg flipped away for 11 frames and back (as in an HDM05 lie-down clip)."""
    joints = _walk(body)
    leg = [JOINT_INDEX["left_knee"], JOINT_INDEX["left_ankle"]]
    hip = joints[150:161, JOINT_INDEX["left_hip"]][:, None]
    flip = Rotation.from_euler("x", -120, degrees=True)
    joints[150:161, leg] = flip.apply((joints[150:161, leg] - hip).reshape(-1, 3)).reshape(11, 2, 3) + hip
    mask = glitch_mask(joints, FPS)
    assert mask[150:161].all()
    assert set(np.flatnonzero(mask)) <= set(range(149, 162))


def test_one_frame_spike_at_30_fps_is_flagged(body):
    """A wrist 40 cm off for one frame at 30 fps moves only 12 m/s: the spike test catches it."""
    joints = resample(_walk(body), FPS, 30.0)
    joints[20, JOINT_INDEX["left_wrist"], 1] += 0.4
    assert 20 in np.flatnonzero(glitch_mask(joints, 30.0))
    no_bones = {"max_bone_change": np.inf}  # the forearm also got longer; test the rest alone
    assert np.flatnonzero(glitch_mask(joints, 30.0, **no_bones)).tolist() == [20]
    assert not glitch_mask(joints, 30.0, max_spike=0.5, **no_bones).any()  # speed alone misses it


def test_bone_length_jump_is_flagged(body):
    joints = _walk(body)
    elbow, wrist = JOINT_INDEX["left_elbow"], JOINT_INDEX["left_wrist"]
    joints[60:70, wrist] += 0.5 * (joints[60:70, wrist] - joints[60:70, elbow])  # forearm 50 % longer
    mask = glitch_mask(joints, FPS, max_speed=np.inf, max_tilt_deg=180.0, max_spike=np.inf)  # bone lengths alone
    np.testing.assert_array_equal(np.flatnonzero(mask), np.arange(60, 70))


def test_short_input():
    assert glitch_mask(np.zeros((1, 17, 3)), FPS).tolist() == [False]
    assert glitch_mask(np.zeros((0, 17, 3)), FPS).shape == (0,)
