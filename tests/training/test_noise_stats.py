"""The noise calibration's measurements on 2D tracks with planted, known behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS
from training.noise_report import json_text, rounded
from training.noise_stats import _runs, body_size, confidence_stats, cutoff_hz, jitter_stats, swap_stats


def _standing(n: int, frames: int) -> np.ndarray:
    """``(n, frames, 17, 2)`` pixels: one fixed pose 200 px tall, left joints at x < right joints."""
    rng = np.random.default_rng(0)
    pose = np.stack([rng.uniform(100, 300, NUM_JOINTS), rng.uniform(100, 300, NUM_JOINTS)], axis=-1)
    pose[:, 1] = np.linspace(100, 300, NUM_JOINTS)  # exactly 200 px tall
    for name, j in JOINT_INDEX.items():  # left and right joints well apart
        if name.startswith("left_"):
            pose[j, 0] = 120.0
            pose[JOINT_INDEX["right_" + name[5:]], 0] = 280.0
    return np.broadcast_to(pose, (n, frames, NUM_JOINTS, 2)).copy()


def test_white_jitter_is_measured_in_percent_of_the_body():
    kp = _standing(4, 300)
    size = body_size(kp)
    assert np.allclose(size, 200.0)
    noisy = kp + np.random.default_rng(1).normal(0.0, 0.01 * 200.0, kp.shape)  # 1 % of the body
    trusted = np.ones(kp.shape[:3], bool)
    stats = jitter_stats(noisy, trusted, size, fps=30.0, fc=cutoff_hz(30.0, 4.0))
    assert stats["all"]["d2_std_pct"] == pytest.approx(1.0, rel=0.1)  # second differences / sqrt(6) give s
    assert stats["wrists"]["d2_rms_pct"] == pytest.approx(1.0, rel=0.15)
    still = jitter_stats(kp, trusted, size, fps=30.0, fc=4.0)
    assert still["all"]["d2_max_pct"] == pytest.approx(0.0, abs=1e-9)


def test_drop_outs_and_missing_frames_are_counted_as_runs():
    conf = np.full((1, 20, NUM_JOINTS), 0.95)
    wrists = [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]]
    conf[0, 5:8, wrists[0]] = 0.2  # one drop-out run of 3 frames
    found = np.ones((1, 20), bool)
    found[0, 12:14] = False  # nobody in 2 frames
    stats = confidence_stats(conf, found)
    assert stats["wrists"]["low_runs"] == 3  # left wrist 5-7, both wrists 12-13
    assert stats["frames_missing"] == {"rate": 0.1, "runs": 1, "mean_run": 2.0}
    assert stats["pelvis+hips"]["median"] == pytest.approx(0.95)
    assert list(_runs(np.array([[1, 1, 0, 1, 0, 0, 1, 1, 1]], bool))) == [2, 1, 3]


def test_a_planted_left_right_swap_is_found_and_the_still_pose_has_none():
    kp = _standing(1, 30)
    found = np.ones((1, 30), bool)
    size = body_size(kp)
    assert swap_stats(kp, found, size)["any_pair"]["runs"] == 0
    left, right = JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"]
    kp[0, 10:14, [left, right]] = kp[0, 10:14, [right, left]]  # 4 frames with the knees' labels crossed
    stats = swap_stats(kp, found, size)
    assert stats["knee"]["events"] == 2 and stats["knee"]["runs"] == 1 and stats["knee"]["mean_run"] == 4.0
    assert stats["ankle"]["events"] == 0


def test_the_report_json_rounds_and_keeps_number_lists_on_one_line():
    assert rounded({"a": 0.123456789, "b": [1.0, float("nan")]}) == {"a": 0.1235, "b": [1.0, None]}
    assert '"b": [1.0, 2.5]' in json_text({"b": [1.0, 2.5]})
