"""Skeleton conventions (METHOD.md)."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core import skeleton as sk


def test_layout_matches_method():
    assert sk.NUM_JOINTS == 17
    assert sk.PARENTS == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert sk.JOINT_NAMES[0] == "pelvis" and sk.JOINT_NAMES[10] == "head"
    for i in sk.LEFT:
        assert sk.JOINT_NAMES[i].startswith("left_")
    for i in sk.RIGHT:
        assert sk.JOINT_NAMES[i].startswith("right_")
    assert len(sk.BONES) == 16


def test_flip_permutation_swaps_sides_and_is_an_involution():
    perm = sk.FLIP_PERMUTATION
    assert np.array_equal(perm[perm], np.arange(17))
    for left, right in zip(sk.LEFT, sk.RIGHT):
        assert sk.JOINT_NAMES[perm[left]] == sk.JOINT_NAMES[left].replace("left_", "right_")
        assert perm[right] == left


def test_adjacency():
    a1 = sk.adjacency(1)
    assert (a1 == a1.T).all() and a1.diagonal().all()
    assert a1[0, 1] and a1[8, 11] and not a1[0, 8]
    a2 = sk.adjacency(2, self_loops=False)
    assert a2[0, 8] and not a2.diagonal().any() and not a2[0, 9]
    assert a1.sum() == 17 + 2 * 16


@pytest.mark.parametrize(("w", "h"), [(576, 576), (1280, 720), (720, 1280)])
def test_screen_normalisation_round_trip_and_range(w, h):
    px = np.array([[0, 0], [w, h], [w / 2, h / 2]], dtype=np.float32)
    uv = sk.normalize_screen(px, w, h)
    assert np.allclose(uv[0], [-1, -h / w]) and np.allclose(uv[1], [1, h / w]) and np.allclose(uv[2], 0)
    assert np.allclose(sk.denormalize_screen(uv, w, h), px, atol=1e-3)


def test_mediapipe_map_is_affine_and_confidence_is_the_weakest_landmark():
    assert np.allclose(sk.MEDIAPIPE_MATRIX.sum(axis=1), 1.0)
    rng = np.random.default_rng(0)
    lms = rng.normal(size=(5, 33, 3))
    shift = np.array([1.0, -2.0, 3.0])
    j1, _ = sk.mediapipe_to_joints(lms)
    j2, _ = sk.mediapipe_to_joints(lms + shift)
    assert np.allclose(j2 - j1, shift, atol=1e-5)  # affine: translations carry over
    vis = np.ones((33,))
    vis[sk.MEDIAPIPE_NAMES.index("left_ear")] = 0.2
    _, conf = sk.mediapipe_to_joints(lms[0], vis)
    assert conf[sk.JOINT_INDEX["head"]] == pytest.approx(0.2)
    assert conf[sk.JOINT_INDEX["neck"]] == pytest.approx(0.2)
    assert conf[sk.JOINT_INDEX["pelvis"]] == pytest.approx(1.0)
    lh, rh = sk.MEDIAPIPE_NAMES.index("left_hip"), sk.MEDIAPIPE_NAMES.index("right_hip")
    expected = 0.85 * lms[0, lh] + 0.15 * lms[0, rh]  # hip joint centre, inside the hip landmark
    assert np.allclose(j1[0, sk.JOINT_INDEX["left_hip"]], expected, atol=1e-5)
    assert np.allclose(j1[0, sk.ROOT], 0.5 * (lms[0, lh] + lms[0, rh]), atol=1e-5)


def test_mocap_map_combines_named_points():
    pts = {name: np.full((2, 3), float(i)) for i, name in enumerate(sorted(sk.mocap_points_needed()))}
    joints = sk.mocap_to_joints(pts)
    assert joints.shape == (2, 17, 3)
    assert np.allclose(joints[:, sk.JOINT_INDEX["head"]], pts["head.end"])
    with pytest.raises(KeyError, match="lfemur"):
        sk.mocap_to_joints({k: v for k, v in pts.items() if k != "lfemur"})


def test_bone_lengths():
    pose = np.zeros((17, 3))
    pose[1] = [0.1, 0, 0]
    assert sk.bone_lengths(pose)[0] == pytest.approx(0.1)


def _real_clip() -> np.ndarray:
    from pathlib import Path

    from scjd_core.mocap import load_mocap

    data = Path(__file__).resolve().parents[1] / "data" / "mocap"
    return np.asarray(load_mocap(data / "HDM_tt_turn_001_120.amc", fps=30.0).joints, dtype=np.float64)


def test_standing_height_of_a_real_actor_ignores_the_posture():
    joints = _real_clip()
    height = sk.standing_height(joints)
    assert 1.6 < height < 1.95  # an adult (HDM05 actors are 1.6-1.9 m)
    # bone lengths, not where the joints are: the same body lying down or upside down is as tall
    upside_down = joints * np.array([1.0, -1.0, 1.0])
    assert sk.standing_height(upside_down) == pytest.approx(height)
    assert sk.standing_height(joints[::-1]) == pytest.approx(height)


def test_scale_to_height_makes_the_skeleton_that_tall_about_its_root():
    joints = _real_clip()
    for target in (1.55, 1.9):
        scaled = sk.scale_to_height(joints, target)
        assert sk.standing_height(scaled) == pytest.approx(target, abs=1e-9)
        np.testing.assert_allclose(scaled[:, sk.ROOT], joints[:, sk.ROOT])
        ratio = sk.bone_lengths(scaled) / sk.bone_lengths(joints)
        np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-9)  # one factor for every bone
    assert sk.scale_to_height(joints.astype(np.float32), 1.7).dtype == np.float32
    for bad in (0.3, 3.0, float("nan")):
        with pytest.raises(ValueError, match="height"):
            sk.scale_to_height(joints, bad)
    with pytest.raises(ValueError, match="no length"):
        sk.scale_to_height(np.zeros((3, 17, 3)), 1.7)
