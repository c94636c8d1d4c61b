"""The measures of ``scripts/squat_check.py`` on synthetic squats (no video, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS
from tests.core.synthetic_poses import world_to_camera
from tests.scripts import load_script


@pytest.fixture(scope="module")
def squat_check():
    return load_script("squat_check")


THIGH = {"left": 0.44, "right": 0.42}
SHANK = {"left": 0.41, "right": 0.42}


def squat_clip(knee_deg: np.ndarray) -> np.ndarray:
    """World-frame poses (+Y up, facing +Z, left on +X) squatting to ``knee_deg``, feet on the floor.

    The thigh leans forward from vertical by half the knee bend and the shank backward by
    the other half, so the hip-knee-ankle angle is exactly ``knee_deg``.
    """
    j = JOINT_INDEX
    half = np.radians(180.0 - np.asarray(knee_deg, np.float64)) / 2
    frames = len(half)
    p = np.zeros((frames, NUM_JOINTS, 3))
    down_fwd = np.stack([np.zeros(frames), -np.cos(half), np.sin(half)], -1)
    down_back = np.stack([np.zeros(frames), -np.cos(half), -np.sin(half)], -1)
    pelvis_y = THIGH["left"] + SHANK["left"] + 0.08  # the right leg is 1 cm shorter: its ankle floats
    p[:, j["pelvis"], 1] = pelvis_y - (THIGH["left"] + SHANK["left"]) * (1 - np.cos(half))
    for side, sx in (("left", 1.0), ("right", -1.0)):
        hip = p[:, j["pelvis"]] + [sx * 0.1, 0.0, 0.0]
        p[:, j[f"{side}_hip"]] = hip
        p[:, j[f"{side}_knee"]] = hip + THIGH[side] * down_fwd
        p[:, j[f"{side}_ankle"]] = p[:, j[f"{side}_knee"]] + SHANK[side] * down_back
    for name, up in (("spine", 0.23), ("thorax", 0.48), ("neck", 0.58), ("head", 0.7)):
        p[:, j[name]] = p[:, j["pelvis"]] + [0.0, up, 0.05]
    for side, sx in (("left", 1.0), ("right", -1.0)):
        sh = p[:, j["thorax"]] + [sx * 0.17, 0.0, 0.0]
        p[:, j[f"{side}_shoulder"]] = sh
        p[:, j[f"{side}_elbow"]] = sh + [0.0, -0.28, 0.0]
        p[:, j[f"{side}_wrist"]] = sh + [0.0, -0.28, 0.25]
    return p


def test_joint_angle_right_and_straight(squat_check):
    assert squat_check.joint_angle([1, 0, 0], [0, 0, 0], [0, 1, 0]) == pytest.approx(90.0)
    assert squat_check.joint_angle([0, 1], [0, 0], [0, -1]) == pytest.approx(180.0)
    assert squat_check.joint_angle([2, 0, 0], [0, 0, 0], [1, 0, 0]) == pytest.approx(0.0, abs=1e-6)


def test_knee_angles_and_lengths_on_a_synthetic_squat(squat_check):
    knee = np.array([175.0, 150.0, 120.0, 90.0, 120.0, 160.0])
    poses = world_to_camera(squat_clip(knee))
    angles = squat_check.knee_angles(poses)
    np.testing.assert_allclose(angles["left"], knee, atol=1e-4)
    np.testing.assert_allclose(angles["right"], knee, atol=1e-4)
    lengths = squat_check.leg_lengths(poses)
    np.testing.assert_allclose(lengths["thigh_left"], THIGH["left"], atol=1e-6)
    np.testing.assert_allclose(lengths["shank_right"], SHANK["right"], atol=1e-6)


def test_measure_finds_the_deepest_frame(squat_check):
    knee = np.concatenate([np.linspace(175, 85, 10), np.linspace(85, 175, 10), np.full(5, 175.0)])
    world = squat_clip(knee)
    result = squat_check.measure(world_to_camera(world))
    assert result["deepest_frame"] in (9, 10)
    assert result["smallest_mean_knee_frame"] in (9, 10)
    assert result["knee_at_deepest_deg"]["left"] == pytest.approx(85.0, abs=0.5)
    assert result["min_knee_deg"]["right"] == pytest.approx(85.0, abs=0.5)
    drop = (world[:, 0, 1].max() - world[:, 0, 1].min()) * 100
    assert result["pelvis_drop_cm"] == pytest.approx(drop, abs=3.0)  # the upright step tilts a little
    assert result["left_minus_right_cm"]["thigh"] == pytest.approx(2.0, abs=1e-3)
    assert result["left_minus_right_cm"]["shank"] == pytest.approx(-1.0, abs=1e-3)
    assert len(result["per_frame"]["knee_left_deg"]) == len(knee)


def test_pelvis_height_2d_is_positive_above_the_ankles(squat_check):
    kp = np.zeros((1, NUM_JOINTS, 2))
    kp[0, JOINT_INDEX["pelvis"], 1] = 600.0
    kp[0, JOINT_INDEX["left_ankle"], 1] = 1000.0
    kp[0, JOINT_INDEX["right_ankle"], 1] = 1010.0
    assert squat_check.pelvis_height_2d(kp)[0] == pytest.approx(405.0)


def test_side_view_puts_the_bent_knees_forward(squat_check):
    world = squat_clip(np.array([170.0, 90.0]))
    view = squat_check.side_view(world)
    j = JOINT_INDEX
    assert view[1, j["left_knee"], 0] - view[1, j["left_hip"], 0] > 0.25  # knees in front of the hips
    assert view[1, j["left_knee"], 1] == pytest.approx(world[1, j["left_knee"], 1])


def test_table_has_a_row_per_backend(squat_check):
    result = squat_check.measure(world_to_camera(squat_clip(np.array([170.0, 100.0, 170.0]))))
    text = squat_check.table({"student": result, "teacher": result}, "before")
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].count("|") == lines[2].count("|") == 10
