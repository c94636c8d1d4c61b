"""World frame: constant bone lengths, upright, floor at y = 0."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.skeleton import JOINT_INDEX, bone_lengths
from scjd_core.world import (
    ANKLE_TO_SOLE_M,
    FLOOR_PERCENTILE,
    body_up_direction,
    camera_to_world,
    normalize_bone_lengths,
    upright_rotation,
)
from tests.core.synthetic_poses import walking_clip, world_to_camera

J = JOINT_INDEX


def _noisy(clip: np.ndarray, scale: float = 0.02, seed: int = 0) -> np.ndarray:
    return clip + np.random.default_rng(seed).normal(scale=scale, size=clip.shape)


def test_normalize_bone_lengths_makes_them_constant_medians():
    noisy = _noisy(walking_clip(frames=40))
    out = normalize_bone_lengths(noisy)
    lengths = bone_lengths(out)
    assert np.abs(lengths - lengths[0]).max() < 1e-9
    assert np.allclose(lengths[0], np.median(bone_lengths(noisy), axis=0))
    assert np.allclose(out[:, J["pelvis"]], noisy[:, J["pelvis"]])
    # every bone keeps its direction
    d_in = noisy[:, J["left_knee"]] - noisy[:, J["left_hip"]]
    d_out = out[:, J["left_knee"]] - out[:, J["left_hip"]]
    cos = np.sum(d_in * d_out, -1) / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_out, axis=-1)
    assert np.allclose(cos, 1.0)
    assert np.allclose(normalize_bone_lengths(out), out)  # idempotent


def test_normalize_bone_lengths_survives_zero_length_bones_and_keeps_float32():
    clip = walking_clip(frames=5).astype(np.float32)
    clip[2, J["left_wrist"]] = clip[2, J["left_elbow"]]  # a collapsed forearm in one frame
    out = normalize_bone_lengths(clip)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    forearm = np.linalg.norm(out[:, J["left_wrist"]] - out[:, J["left_elbow"]], axis=-1)
    assert np.allclose(forearm, forearm[0], atol=1e-6) and forearm[0] > 0.2


@pytest.mark.parametrize(("pitch", "roll"), [(0.0, 0.0), (25.0, 0.0), (-15.0, 10.0)])
def test_camera_to_world_is_upright_on_the_floor(pitch, roll):
    truth = walking_clip(frames=60)
    cam = _noisy(world_to_camera(truth, pitch_deg=pitch, roll_deg=roll), scale=0.005)
    cam -= cam[:, J["pelvis"], None]  # lifters are root-relative
    world = camera_to_world(normalize_bone_lengths(cam))
    y = world[..., 1]
    ankles = np.maximum(y[:, J["left_ankle"]], y[:, J["right_ankle"]])
    assert (y[:, J["head"]] > y[:, J["pelvis"]]).all() and (y[:, J["pelvis"]] > ankles).all()
    low = np.percentile(y[:, [J["left_ankle"], J["right_ankle"]]], FLOOR_PERCENTILE)
    assert low == pytest.approx(ANKLE_TO_SOLE_M, abs=1e-6)
    assert y.min() > -0.05  # nothing sinks into the floor
    lengths = bone_lengths(world)
    assert np.abs(lengths - lengths[0]).max() < 1e-6
    # x, z of the root stay at 0 (no trajectory given)
    assert np.allclose(world[:, J["pelvis"], [0, 2]], 0.0)


@pytest.mark.parametrize(("pitch", "roll"), [(20.0, 0.0), (0.0, -12.0), (-30.0, 15.0)])
def test_levelling_undoes_camera_pitch_and_roll(pitch, roll):
    """Heights do not depend on the camera's tilt: the clip is levelled so that its mean
    body-up direction (which leans a little forward in this walk) becomes +Y."""
    truth = walking_clip(frames=60)
    rel = truth - truth[:, J["pelvis"], None]
    expected = (rel @ upright_rotation(body_up_direction(truth)).T)[..., 1]
    world = camera_to_world(world_to_camera(truth, pitch_deg=pitch, roll_deg=roll))
    got = world[..., 1] - world[:, J["pelvis"], None, 1]
    assert np.abs(got - expected).max() < 1e-9
    untilted = camera_to_world(world_to_camera(truth))
    assert np.allclose(world[..., 1], untilted[..., 1], atol=1e-9)


def test_camera_to_world_axes_are_right_handed_facing_the_camera():
    truth = walking_clip(frames=10, turn_rate=0.0)  # faces +Z: towards the camera
    world = camera_to_world(world_to_camera(truth))
    left = world[:, J["left_hip"]] - world[:, J["right_hip"]]
    up = world[:, J["thorax"]] - world[:, J["pelvis"]]
    facing = np.cross(left, up)
    assert (left[:, 0] > 0).all()  # the person's left is the camera's right (+X)
    assert (facing[:, 2] > 0).all()  # facing +Z, towards the camera
    flat = camera_to_world(world_to_camera(truth), upright=False)
    rel = flat - flat[:, J["pelvis"], None]
    assert np.allclose(rel, truth - truth[:, J["pelvis"], None], atol=1e-9)


def test_camera_to_world_root_trajectory_and_no_upright():
    cam = world_to_camera(walking_clip(frames=8))
    traj = np.stack([np.linspace(0, 1, 8), np.zeros(8), np.linspace(3, 5, 8)], axis=1)  # walks away
    world = camera_to_world(cam, root_trajectory=traj, upright=False)
    assert np.allclose(world[:, J["pelvis"], 0], traj[:, 0])
    assert np.allclose(world[:, J["pelvis"], 2], -traj[:, 2])  # away from camera = -Z
    flat = camera_to_world(cam, upright=False)
    assert np.allclose(flat[..., [0, 2]], cam[..., [0, 2]] * np.array([1, -1]))
    with pytest.raises(ValueError, match="root_trajectory"):
        camera_to_world(cam, root_trajectory=traj[:5])


def test_upright_rotation_maps_up_to_y_without_yaw():
    for up in ([0.3, 0.9, -0.2], [0.0, -1.0, 0.0], [0.0, 1.0, 0.0]):
        u = np.asarray(up) / np.linalg.norm(up)
        rot = upright_rotation(u)
        assert np.allclose(rot @ u, [0, 1, 0])
        assert np.isclose(np.linalg.det(rot), 1.0)
        axis = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
        assert abs(axis[1]) < 1e-9  # rotation axis is horizontal: pitch/roll only
