"""BVH export: round trip through an independent parser (pip ``bvh``) and our own FK."""

from __future__ import annotations

import numpy as np
import pytest
from bvh import Bvh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scjd_core.errors import OutputError
from scjd_core.export import write_bvh
from scjd_core.export.bvh_writer import REST_DIRECTIONS, bvh_motion
from scjd_core.export.rotations import best_fit_rotation, shortest_arc
from scjd_core.skeleton import BONES, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS, bone_lengths
from scjd_core.world import normalize_bone_lengths
from tests.core.synthetic_poses import walking_clip


def _axis_rotation(axis: str, degrees: float) -> np.ndarray:
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    if axis == "X":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "Y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def bvh_forward_kinematics(text: str) -> tuple[list[str], np.ndarray, float, int]:
    """Joint positions ``(F, nodes, 3)`` from BVH text, parsed by the ``bvh`` package.

    Rotation channels compose in the order the file lists them (``M = R1 @ R2 @ R3``);
    a child sits at ``parent + parent_global_rotation @ offset``.
    """
    mocap = Bvh(text)
    joints = mocap.get_joints()
    names = [jn.name for jn in joints]
    parent = [names.index(jn.parent.name) if jn.parent is not mocap.root else -1 for jn in joints]
    offsets = [np.array([float(v) for v in jn["OFFSET"]]) for jn in joints]
    channels = [jn["CHANNELS"][1:] for jn in joints]
    frames = np.array(mocap.frames, dtype=float)
    out = np.zeros((len(frames), len(joints), 3))
    for f, row in enumerate(frames):
        k, glob = 0, []
        for i in range(len(joints)):
            rot, trans = np.eye(3), np.zeros(3)
            for ch in channels[i]:
                if ch.endswith("position"):
                    trans["XYZ".index(ch[0])] = row[k]
                else:
                    rot = rot @ _axis_rotation(ch[0], row[k])
                k += 1
            if parent[i] < 0:
                out[f, i] = offsets[i] + trans
                glob.append(rot)
            else:
                out[f, i] = out[f, parent[i]] + glob[parent[i]] @ offsets[i]
                glob.append(glob[parent[i]] @ rot)
    return names, out, mocap.frame_time, mocap.nframes


def _round_trip_error(tmp_path, poses: np.ndarray, fps: float = 30.0) -> float:
    path = tmp_path / "clip.bvh"
    write_bvh(path, poses, fps, overwrite=True)
    names, positions, frame_time, nframes = bvh_forward_kinematics(path.read_text())
    assert nframes == len(poses)
    assert frame_time == pytest.approx(1.0 / fps, abs=1e-7)
    ours = positions[:, [names.index(n) for n in JOINT_NAMES]]
    return float(np.abs(ours - normalize_bone_lengths(poses)).max())


def test_realistic_clip_round_trips_within_1cm(tmp_path):
    clip = walking_clip(frames=45, fps=30.0)
    clip += np.random.default_rng(0).normal(scale=0.01, size=clip.shape)  # lifter-like jitter
    assert _round_trip_error(tmp_path, clip) < 0.01


def test_hierarchy_names_channels_and_frame_time(tmp_path):
    path = tmp_path / "clip.bvh"
    write_bvh(path, walking_clip(frames=5), fps=25.0)
    mocap = Bvh(path.read_text())
    names = mocap.get_joints_names()
    assert names[0] == "pelvis"
    assert set(JOINT_NAMES) <= set(names)
    assert {"left_hip_branch", "right_shoulder_branch"} <= set(names)
    assert mocap.joint_channels("pelvis") == [
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Xrotation",
        "Yrotation",
    ]
    assert all(mocap.joint_channels(n) == ["Zrotation", "Xrotation", "Yrotation"] for n in names[1:])
    assert mocap.frame_time == pytest.approx(0.04)
    assert len(mocap.search("End", "Site")) == 5  # ankles, head, wrists


def test_rest_pose_is_upright_tpose(tmp_path):
    path = tmp_path / "clip.bvh"
    write_bvh(path, walking_clip(frames=3), fps=30.0)
    mocap = Bvh(path.read_text())
    assert mocap.joint_offset("right_knee")[1] < 0 and mocap.joint_offset("left_ankle")[1] < 0
    assert mocap.joint_offset("spine")[1] > 0 and mocap.joint_offset("head")[1] > 0
    assert mocap.joint_offset("left_elbow")[0] > 0 > mocap.joint_offset("right_elbow")[0]


def test_pose_matching_rest_pose_has_zero_angles():
    lengths = np.full(len(BONES), 0.3)
    pose = np.zeros((1, NUM_JOINTS, 3))
    for i, (p, c) in enumerate(BONES):
        pose[0, c] = pose[0, p] + lengths[i] * np.asarray(REST_DIRECTIONS[JOINT_NAMES[c]])
    pose += np.array([0.5, 1.0, -2.0])
    _, motion = bvh_motion(pose)
    assert np.allclose(motion[0, :3], pose[0, JOINT_INDEX["pelvis"]])
    assert np.abs(motion[0, 3:]).max() < 1e-6


def _chain_depth(joint: int) -> int:
    depth = 0
    while PARENTS[joint] >= 0:
        joint, depth = PARENTS[joint], depth + 1
    return depth


@st.composite
def random_poses(draw):
    """Random bone directions and lengths; some bones fold back onto their parent bone
    (a 180° turn in the parent's frame), some almost exactly."""
    frames = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    flip_bones = draw(st.sets(st.sampled_from([c for _, c in BONES if _chain_depth(c) >= 2]), max_size=6))
    flip_noise = draw(st.sampled_from([0.0, 1e-9, 1e-6, 1e-3]))
    lengths = rng.uniform(0.05, 0.6, size=len(BONES))
    poses = np.zeros((frames, NUM_JOINTS, 3))
    poses[:, 0] = rng.normal(scale=2.0, size=(frames, 3))
    for i, (p, c) in enumerate(BONES):  # BONES is ordered parents-first
        d = rng.normal(size=(frames, 3))
        if c in flip_bones:
            d = -(poses[:, p] - poses[:, PARENTS[p]]) + flip_noise * rng.normal(size=(frames, 3))
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        poses[:, c] = poses[:, p] + lengths[i] * d
    return poses


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(poses=random_poses())
def test_random_poses_round_trip_within_1cm(tmp_path, poses):
    assert _round_trip_error(tmp_path, poses) < 0.01


def test_writer_is_exact_before_rounding():
    """Without the file's 6-decimal rounding the solved rotations are exact to ~1e-9."""
    from scjd_core.export.bvh_writer import build_hierarchy, solve_local_rotations

    poses = normalize_bone_lengths(walking_clip(frames=10))
    nodes = build_hierarchy(bone_lengths(poses[0]))
    local = solve_local_rotations(nodes, poses)
    glob, pos = [], []
    for i, node in enumerate(nodes):
        if node.parent < 0:
            glob.append(local[:, i])
            pos.append(poses[:, JOINT_INDEX["pelvis"]])
        else:
            pos.append(pos[node.parent] + np.einsum("fij,j->fi", glob[node.parent], node.offset))
            glob.append(glob[node.parent] @ local[:, i])
    got = np.stack([pos[[n.name for n in nodes].index(name)] for name in JOINT_NAMES], axis=1)
    assert np.abs(got - poses).max() < 1e-9


def test_shortest_arc_handles_opposite_and_zero_vectors():
    a = np.array([0.0, 1.0, 0.0])
    b = np.array([[0.0, -1.0, 0.0], [1e-10, -1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    rots = shortest_arc(a, b)
    assert np.allclose(np.linalg.det(rots), 1.0)
    mapped = rots @ a
    assert np.allclose(mapped[[0, 1, 3]], b[[0, 1, 3]] / np.linalg.norm(b[[0, 1, 3]], axis=1, keepdims=True))
    assert np.allclose(rots[2], np.eye(3))
    angle = np.degrees(np.arccos((np.trace(rots[3]) - 1) / 2))
    assert angle == pytest.approx(45.0)  # the shortest arc, no extra twist


def test_best_fit_rotation_recovers_a_rigid_turn():
    from scipy.spatial.transform import Rotation

    rest = np.eye(3)
    true = Rotation.random(4, random_state=1).as_matrix()
    got = best_fit_rotation(rest, np.einsum("fij,kj->fki", true, rest))
    assert np.allclose(got, true, atol=1e-9)


def test_refuses_to_clobber_and_rejects_bad_input(tmp_path):
    path = tmp_path / "clip.bvh"
    path.write_text("keep me")
    with pytest.raises(OutputError, match="already exists"):
        write_bvh(path, walking_clip(frames=2), 30.0)
    assert path.read_text() == "keep me"
    write_bvh(path, walking_clip(frames=2), 30.0, overwrite=True)
    assert path.read_text().startswith("HIERARCHY")
    with pytest.raises(ValueError, match="17, 3"):
        write_bvh(tmp_path / "bad.bvh", np.zeros((2, 16, 3)), 30.0)
    nan = walking_clip(frames=2)
    nan[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_bvh(tmp_path / "nan.bvh", nan, 30.0)
    assert not (tmp_path / "bad.bvh").exists() and not (tmp_path / "nan.bvh").exists()
