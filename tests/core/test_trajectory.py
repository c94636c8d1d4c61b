"""Root trajectory (camera frame) from 2D + lifted 3D, and ground contact (world frame)."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS
from scjd_core.trajectory import (
    CameraIntrinsics,
    estimate_root_trajectory,
    foot_skate,
    ground_contact,
    solve_translations,
)
from scjd_core.world import ANKLE_TO_SOLE_M, camera_to_world, normalize_bone_lengths
from tests.core.synthetic_poses import walking_clip
from tests.core.test_squat_check import squat_clip

J = JOINT_INDEX
W, H, FPS = 640, 480, 30.0
CAMERA_HEIGHT, CAMERA_Z = 1.0, 5.0


def _world_to_camera_abs(world: np.ndarray) -> np.ndarray:
    """A still camera at (0, 1, 5) looking along world -Z: camera x = X, y = 1 - Y, z = 5 - Z."""
    return np.stack([world[..., 0], CAMERA_HEIGHT - world[..., 1], CAMERA_Z - world[..., 2]], axis=-1)


def _observe(world: np.ndarray, fov: float = 60.0, pixel_noise: float = 0.0, lift_noise: float = 0.0, seed=0):
    """2D keypoints, confidences, root-relative 'lifted' 3D and the true camera-frame root."""
    rng = np.random.default_rng(seed)
    cam = _world_to_camera_abs(world)
    kp = CameraIntrinsics.from_fov(W, H, fov).project(cam) + rng.normal(scale=pixel_noise, size=cam.shape[:2] + (2,))
    rel = cam - cam[:, J["pelvis"], None] + rng.normal(scale=lift_noise, size=cam.shape)
    rel[:, J["pelvis"]] = 0.0
    return kp, np.full(cam.shape[:2], 0.9), rel, cam[:, J["pelvis"]]


def _walk_across(frames: int = 90) -> np.ndarray:
    world = walking_clip(frames=frames, turn_rate=0.0)
    s = np.linspace(0.0, 1.0, frames)[:, None]
    return world + (np.array([-1.0, 0.0, 0.0]) + s * np.array([2.0, 0.0, -1.5]))[:, None, :]


def test_intrinsics_from_fov():
    cam = CameraIntrinsics.from_fov(640, 480, 90.0)
    assert cam.fx == pytest.approx(320.0) and (cam.cx, cam.cy) == (320.0, 240.0)
    assert np.allclose(cam.project([[1.0, 0.0, 1.0]]), [[640.0, 240.0]])
    with pytest.raises(ValueError, match="field of view"):
        CameraIntrinsics.from_fov(640, 480, 0.0)


def test_exact_projection_gives_the_exact_translation():
    kp, conf, rel, root = _observe(_walk_across(30))
    t, valid = solve_translations(kp, conf, rel, CameraIntrinsics.from_fov(W, H, 60.0))
    assert valid.all()
    assert np.abs(t - root).max() < 1e-6


def test_trajectory_of_a_walk_across_the_room_with_noise():
    kp, conf, rel, root = _observe(_walk_across(), pixel_noise=1.0, lift_noise=0.01)
    conf[10, :] = 0.0  # nobody found in one frame: interpolated
    conf[40, J["left_wrist"]] = 1.0
    kp[40, J["left_wrist"]] += 150.0  # one wild joint: re-weighted away
    traj = estimate_root_trajectory(kp, conf, rel, W, H, FPS)
    err = np.linalg.norm(traj - root, axis=-1)
    assert np.median(err) < 0.05 and err.max() < 0.15
    travelled = np.linalg.norm(np.diff(traj[:, [0, 2]], axis=0), axis=-1).sum()
    truth = np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=-1).sum()
    assert travelled == pytest.approx(truth, rel=0.1)


def test_a_wrong_fov_scales_depth_not_the_image_path():
    kp, conf, rel, root = _observe(_walk_across(30), fov=60.0)
    traj = estimate_root_trajectory(kp, conf, rel, W, H, FPS, fov_deg=40.0, cutoff_hz=None)
    assert np.all(traj[:, 2] > root[:, 2])  # a narrower lens than the real one puts the person farther away


def _squat_world(frames: int = 120) -> np.ndarray:
    knee = 180.0 - 90.0 * (1 - np.cos(np.linspace(0, 4 * np.pi, frames))) / 2  # two squats to 90 degrees
    return squat_clip(knee)


@pytest.mark.parametrize("with_trajectory", [True, False])
def test_squat_goes_down_with_the_feet_on_the_floor(with_trajectory):
    truth = _squat_world()
    kp, conf, rel, _root = _observe(truth, pixel_noise=0.5, lift_noise=0.005)
    rel = normalize_bone_lengths(rel)
    traj = estimate_root_trajectory(kp, conf, rel, W, H, FPS) if with_trajectory else None
    world, contacts = ground_contact(camera_to_world(rel, traj), FPS)
    pelvis = world[:, J["pelvis"], 1]
    true_pelvis = truth[:, J["pelvis"], 1]
    assert np.ptp(pelvis) == pytest.approx(np.ptp(true_pelvis), abs=0.03)  # ~0.25 m of squat
    assert np.corrcoef(pelvis, true_pelvis)[0, 1] > 0.99
    sole = np.minimum(world[:, J["left_ankle"], 1], world[:, J["right_ankle"], 1]) - ANKLE_TO_SOLE_M
    assert sole.min() > -1e-6 and np.abs(sole).max() < 0.02  # the lower foot stays on the floor
    assert contacts.any(axis=1).mean() > 0.9
    # the lifted joints carry 5 mm of white noise (about 1 cm per frame of apparent motion)
    assert foot_skate(world, contacts) < 0.015


def test_ground_contact_lowers_a_floating_squat_and_handles_tiny_clips():
    truth = _squat_world()
    out, contacts = ground_contact(truth + np.array([0.5, 0.3, -1.0]), FPS)  # 30 cm too high
    assert np.allclose(out, truth + np.array([0.5, 0.0, -1.0]), atol=0.01)
    assert contacts.all(axis=0).any()
    walk = camera_to_world(_world_to_camera_abs(_walk_across()))  # feet never still: no contact
    moved, _ = ground_contact(walk, FPS)
    assert np.allclose(moved[..., [0, 2]], walk[..., [0, 2]])  # only vertical shifts
    sole = moved[:, [J["left_ankle"], J["right_ankle"]], 1].min(axis=1) - ANKLE_TO_SOLE_M
    assert sole.min() > -1e-6
    one, c1 = ground_contact(walk[:1], FPS)
    assert one.shape == (1, NUM_JOINTS, 3) and c1.shape == (1, 2)
    empty, c0 = ground_contact(walk[:0], FPS)
    assert empty.shape == (0, NUM_JOINTS, 3) and c0.shape == (0, 2)
