"""load_mocap: resampling, T-pose handling, left/right sides, file discovery and names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scjd_core.mocap import (
    clip_names,
    find_mocap_files,
    is_reference_frame,
    load_mocap,
    load_points,
    resample,
    resampled_length,
)
from scjd_core.skeleton import JOINT_INDEX

DATA = Path(__file__).resolve().parents[1] / "data" / "mocap"


def _bvh_with_frames(tmp_path: Path, motion_frames: int, fps: float = 120.0) -> Path:
    """mini17.bvh's skeleton with a T-pose frame and ``motion_frames`` frames moving 1 cm/frame in x."""
    text = (DATA / "mini17.bvh").read_text()
    head, body = text.split("MOTION\n")
    rows = body.splitlines()[2:]
    tpose, move = rows[0].split(), rows[1].split()
    out = [" ".join(tpose)]
    for i in range(motion_frames):
        vals = list(move)
        vals[0] = f"{(i + 1) * 0.01:.4f}"
        out.append(" ".join(vals))
    path = tmp_path / "long.bvh"
    path.write_text(f"{head}MOTION\nFrames: {len(out)}\nFrame Time: {1 / fps:.8f}\n" + "\n".join(out) + "\n")
    return path


def test_resampled_length_rule():
    # output frame k is time k / fps_out, kept while it lies within the source's span
    assert resampled_length(121, 120, 30) == 31
    assert resampled_length(120, 120, 30) == 30  # last source frame at 119/120 s -> k <= 29.75
    assert resampled_length(121, 120, 50) == 51
    assert resampled_length(1, 120, 30) == 1
    assert resampled_length(31, 30, 120) == 121
    assert resampled_length(0, 120, 30) == 0


def test_load_mocap_120_to_30_fps(tmp_path):
    path = _bvh_with_frames(tmp_path, 121)
    full = load_mocap(path)
    assert len(full) == 121 and full.fps == 120.0  # the T-pose frame is gone
    clip = load_mocap(path, fps=30)
    assert clip.fps == 30.0
    assert len(clip) == 31
    # at an integer ratio resampling picks every 4th frame exactly
    np.testing.assert_allclose(clip.joints, full.joints[::4], atol=1e-6)
    # motion frame i has root x = (i + 1) cm (the pelvis sits above the root: hips along z)
    np.testing.assert_allclose(clip.joints[:, JOINT_INDEX["pelvis"], 0], (4 * np.arange(31) + 1) * 0.01, atol=1e-6)


def test_load_mocap_non_integer_ratio(tmp_path):
    clip = load_mocap(_bvh_with_frames(tmp_path, 121), fps=50)
    assert len(clip) == 51
    # time k / 50 s = source frame 2.4 k; linear motion is reproduced exactly
    pelvis_x = (2.4 * np.arange(51) + 1) * 0.01
    np.testing.assert_allclose(clip.joints[:, JOINT_INDEX["pelvis"], 0], pelvis_x, atol=1e-5)


def test_resample_rejects_bad_rates_and_keeps_short_input():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    with pytest.raises(ValueError):
        resample(x, 0, 30)
    np.testing.assert_array_equal(resample(x[:1], 120, 30), x[:1])
    up = resample(x, 30, 60)
    assert up.shape == (7, 3) and up.dtype == np.float32
    np.testing.assert_allclose(up[1], (x[0] + x[1]) / 2)


def test_is_reference_frame_rule():
    assert is_reference_frame(np.zeros(3), np.r_[np.zeros(80), np.full(7, 21.0)])
    assert not is_reference_frame(np.array([0, 0, 0.5]), np.zeros(90))  # root rotated
    assert not is_reference_frame(np.zeros(3), np.linspace(1, 30, 90))  # captured motion
    # mini17.bvh starts with a T-pose frame; the ASF/AMC fixture does not
    bvh = load_points(DATA / "mini17.bvh")
    assert (len(bvh), bvh.skipped_reference) == (2, True)
    amc = load_points(DATA / "HDM_tt_turn_001_120.amc")
    assert (len(amc), amc.skipped_reference) == (3, False)
    assert not load_points(DATA / "mini17.bvh", skip_tpose=False).skipped_reference


def _left_direction(yaw_deg: float) -> np.ndarray:
    """The subject's left for a body turned ``yaw_deg`` about +Y from facing +Z.

    Forward is ``Ry(yaw) @ (0, 0, 1) = (sin yaw, 0, cos yaw)``. In a right-handed frame
    with +Y up, ``right = forward x up`` and so ``left = up x forward``; facing +Z this
    gives ``Y x Z = +X``.
    """
    yaw = np.radians(yaw_deg)
    forward = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    return np.cross([0.0, 1.0, 0.0], forward)


@pytest.mark.parametrize(
    ("name", "yaws"),
    [("mini17.bvh", [0.0, 90.0, 180.0]), ("HDM_tt_turn_001_120.amc", [10.0, 90.0, -135.0])],
)
def test_left_is_not_mirrored(name, yaws):
    """Left/right are the subject's own, not the viewer's.

    Both fixtures are built like CMU/HDM05: Y up, right-handed, at rest the subject
    faces +Z (the feet point to +Z) with the ``l*`` bones on +X. Standing behind the
    subject and looking where they look (+Z) with +Y up, +X is on *your and their*
    left (``left = up x forward = Y x Z = X``); a viewer in front of them, looking
    towards -Z, sees that side on the viewer's right, as when facing any person.
    The fixtures turn the body about +Y (yaws listed per frame); for every frame we
    check that ``left_hip`` and ``left_shoulder`` lie on the subject's left of their
    right counterparts, and that the feet (foot -> End Site / toes) point forward, so
    the facing direction is what the file says.
    """
    clip = load_mocap(DATA / name, skip_tpose=False)
    points = load_points(DATA / name, skip_tpose=False).points
    assert len(clip) == len(yaws)
    j = clip.joints
    for f, yaw in enumerate(yaws):
        left = _left_direction(yaw)
        forward = np.cross(left, [0.0, 1.0, 0.0])
        hips = j[f, JOINT_INDEX["left_hip"]] - j[f, JOINT_INDEX["right_hip"]]
        shoulders = j[f, JOINT_INDEX["left_shoulder"]] - j[f, JOINT_INDEX["right_shoulder"]]
        assert hips @ left > 0.1, (f, hips)
        assert shoulders @ left > 0.1, (f, shoulders)
        toes = points["lfoot.end"][f] - points["lfoot"][f]
        assert toes @ forward > 0, (f, toes)
    if yaws[0] == 0.0:  # rest pose: left is literally +X
        assert j[0, JOINT_INDEX["left_hip"], 0] > 0 > j[0, JOINT_INDEX["right_hip"], 0]


def test_find_mocap_files_and_names(tmp_path):
    files = find_mocap_files(DATA)
    assert [p.name for p in files] == ["HDM_tt_turn_001_120.amc", "chain.amc", "chain.bvh", "mini17.bvh"]
    assert find_mocap_files(DATA / "chain.bvh") == [DATA / "chain.bvh"]
    assert find_mocap_files(DATA / "chain.asf") == []
    assert clip_names("x/HDM_bd_kickLFront1Reps_001_120.amc") == (
        "HDM_bd_kickLFront1Reps_001_120",
        "bd",
        "kickLFront1Reps",
    )
    assert clip_names("cmu/walking_extra/walking_13.bvh") == ("walking_13", "cmu", "walking")
    assert clip_names("cmu/02_01.amc") == ("02_01", "02", "02")
    from scjd_core.errors import InputError

    with pytest.raises(InputError, match="does not exist"):
        find_mocap_files(tmp_path / "nowhere")
