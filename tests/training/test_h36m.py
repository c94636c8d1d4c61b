"""Human3.6M loader on small generated files in the VideoPose3D layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scjd_core.errors import InputError
from scjd_core.skeleton import FLIP_PERMUTATION, LEFT, RIGHT, ROOT, normalize_screen
from training.data.h36m import (
    H36M_32_TO_17,
    H36M_TEST_SUBJECTS,
    H36M_TRAIN_SUBJECTS,
    H36MWindowDataset,
    load_h36m_2d,
    load_h36m_3d,
    load_h36m_cameras,
)
from training.data.synthetic import walking_joints

FRAMES = {"S1": 50, "S9": 30}


def _qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate ``v (..., 3)`` by the unit quaternion ``q = (w, x, y, z)`` (VideoPose3D's qrot)."""
    qvec = np.broadcast_to(q[1:], v.shape)
    uv = np.cross(qvec, v)
    uuv = np.cross(qvec, uv)
    return v + 2 * (q[0] * uv + uuv)


def _reference_project(world: np.ndarray, cam: dict) -> np.ndarray:
    """Independent re-implementation of VideoPose3D's world_to_camera + project_to_2d."""
    q = np.asarray(cam["orientation"], dtype=np.float64)
    q_inv = q * [1, -1, -1, -1]
    x = _qrot(q_inv, world - np.asarray(cam["translation"]) / 1000.0)
    xx = np.clip(x[..., :2] / x[..., 2:], -1, 1)
    r2 = (xx**2).sum(-1, keepdims=True)
    k, p = np.asarray(cam["radial_distortion"]), np.asarray(cam["tangential_distortion"])
    radial = 1 + (k * np.concatenate([r2, r2**2, r2**3], -1)).sum(-1, keepdims=True)
    tan = (p * xx).sum(-1, keepdims=True)
    return np.asarray(cam["focal_length"]) * (xx * (radial + tan) + p * r2) + np.asarray(cam["center"])


def _camera_entries(rng: np.random.Generator) -> list[dict]:
    entries = []
    for i, yaw in enumerate((0.3, 1.9, 3.5, 5.0)):
        # H36M world: Z up. The camera stands 4.5 m from the origin at 1.6 m height and
        # looks at (0, 0, 1) m: build its camera->world rotation, then the quaternion.
        centre = np.array([4.5 * np.cos(yaw), 4.5 * np.sin(yaw), 1.6])
        forward = np.array([0.0, 0.0, 1.0]) - centre
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        cam_to_world = np.stack([right, down, forward], axis=1)
        w = np.sqrt(1 + np.trace(cam_to_world)) / 2
        quat = [
            w,
            (cam_to_world[2, 1] - cam_to_world[1, 2]) / (4 * w),
            (cam_to_world[0, 2] - cam_to_world[2, 0]) / (4 * w),
            (cam_to_world[1, 0] - cam_to_world[0, 1]) / (4 * w),
        ]
        entries.append(
            {
                "id": f"cam{i}",
                "res_w": 1000,
                "res_h": 1002,
                "focal_length": [1145.0 + 5 * i, 1143.0 + 5 * i],
                "center": [512.5 + i, 515.4 - i],
                "radial_distortion": list(rng.normal(0, 0.05, 3)),
                "tangential_distortion": list(rng.normal(0, 0.002, 2)),
                "orientation": quat,
                "translation": list(centre * 1000.0),  # millimetres
            }
        )
    return entries


@pytest.fixture(scope="module")
def h36m_files(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("h36m")
    cameras = {s: _camera_entries(rng) for s in FRAMES}
    positions_3d, positions_2d = {}, {}
    for subject, frames in FRAMES.items():
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in ("Walking", "Directions 1"):
            pose = np.zeros((frames, 32, 3))
            pose[:] = rng.normal(0, 0.3, size=(1, 32, 3)) + [0, 0, 1]  # joints we do not use
            y_up = walking_joints(frames, fps=50.0).astype(np.float64)
            pose[:, H36M_32_TO_17] = y_up[..., [0, 2, 1]] * [1, -1, 1]  # Y-up -> Z-up world
            positions_3d[subject][action] = pose.astype(np.float32)
            views = [_reference_project(pose[:, H36M_32_TO_17], c).astype(np.float32) for c in cameras[subject]]
            positions_2d[subject][action] = views
    meta = {"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [list(LEFT), list(RIGHT)]}
    np.savez_compressed(root / "data_3d_h36m.npz", positions_3d=positions_3d)
    np.savez_compressed(root / "data_2d_h36m_gt.npz", positions_2d=positions_2d, metadata=meta)
    (root / "cameras.json").write_text(json.dumps(cameras))
    return root, positions_3d, positions_2d


def test_default_subjects():
    assert H36M_TRAIN_SUBJECTS == ("S1", "S5", "S6", "S7", "S8")
    assert H36M_TEST_SUBJECTS == ("S9", "S11")


def test_loader_projection_matches_the_stored_2d(h36m_files):
    root, raw_3d, raw_2d = h36m_files
    positions_3d = load_h36m_3d(root / "data_3d_h36m.npz")
    positions_2d, meta = load_h36m_2d(root / "data_2d_h36m_gt.npz")
    cameras = load_h36m_cameras(root / "cameras.json")
    assert meta["layout_name"] == "h36m"
    for subject in FRAMES:
        for action, world in positions_3d[subject].items():
            assert world.shape == (FRAMES[subject], 17, 3)
            np.testing.assert_array_equal(world, raw_3d[subject][action][:, H36M_32_TO_17])
            for cam, view in zip(cameras[subject], positions_2d[subject][action]):
                cam_pts = cam.world_to_camera(world)
                assert (cam_pts[..., 2] > 2.0).all()  # all in front of the camera
                np.testing.assert_allclose(cam.project(world), view, atol=1e-2)


def test_camera_without_distortion_is_a_pinhole(h36m_files):
    root, *_ = h36m_files
    entry = json.loads((root / "cameras.json").read_text())["S1"][0]
    del entry["radial_distortion"], entry["tangential_distortion"]
    path = root / "pinhole.json"
    path.write_text(json.dumps({"S1": [entry]}))
    cam = load_h36m_cameras(path)["S1"][0]
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(-cam.R.T @ cam.t, np.asarray(entry["translation"]) / 1000.0)
    pts = cam.world_to_camera(np.array([[0.2, -0.1, 1.3]]))
    expect = pts[:, :2] / pts[:, 2:] * entry["focal_length"] + entry["center"]
    np.testing.assert_allclose(cam.project(np.array([[0.2, -0.1, 1.3]])), expect)


def test_dataset_items(h36m_files):
    root, raw_3d, raw_2d = h36m_files
    ds = H36MWindowDataset.from_files(
        root / "data_3d_h36m.npz", root / "data_2d_h36m_gt.npz", root / "cameras.json", subjects=["S1"], window=27
    )
    assert len(ds) == 2 * 4 * 2  # 2 actions x 4 cameras x ceil(50 / 27) windows
    cams = load_h36m_cameras(root / "cameras.json")["S1"]
    for i in range(len(ds)):
        item = ds[i]
        assert item["inputs"].shape == (27, 17, 3) and item["target"].shape == (27, 17, 3)
        assert item["subject"] == "S1"
        subject, action, cam_id = item["clip"].split("/")
        k = int(cam_id[3:])
        start = 27 * (i % 2)
        idx = np.clip(np.arange(27) + start, 0, 49)
        view = raw_2d["S1"][action][k][idx]
        np.testing.assert_allclose(item["inputs"][..., :2].numpy(), normalize_screen(view, 1000, 1002), atol=1e-6)
        assert (item["inputs"][..., 2] == 1).all()
        cam_pts = cams[k].world_to_camera(raw_3d["S1"][action][idx][:, H36M_32_TO_17])
        np.testing.assert_allclose(item["target"].numpy(), cam_pts - cam_pts[:, ROOT : ROOT + 1], atol=1e-5)
        np.testing.assert_allclose(item["camera"].numpy()[4:], [1000, 1002])


def test_dataset_random_windows_flip_and_determinism(h36m_files):
    root, *_ = h36m_files
    paths = (root / "data_3d_h36m.npz", root / "data_2d_h36m_gt.npz", root / "cameras.json")
    kwargs = dict(subjects=["S9"], window=9, samples=5, seed=4, train=False)
    plain = H36MWindowDataset.from_files(*paths, flip_prob=0.0, **kwargs)
    again = H36MWindowDataset.from_files(*paths, flip_prob=0.0, **kwargs)
    flipped = H36MWindowDataset.from_files(*paths, flip_prob=1.0, **kwargs)
    assert len(plain) == 5
    for i in range(5):
        p, f = plain[i], flipped[i]
        np.testing.assert_array_equal(p["inputs"].numpy(), again[i]["inputs"].numpy())
        assert p["clip"] == f["clip"]
        np.testing.assert_allclose(f["inputs"].numpy()[:, FLIP_PERMUTATION] * [-1, 1, 1], p["inputs"].numpy())
        np.testing.assert_allclose(f["target"].numpy()[:, FLIP_PERMUTATION] * [-1, 1, 1], p["target"].numpy())


def test_bad_files_raise_input_errors(h36m_files, tmp_path):
    root, *_ = h36m_files
    with pytest.raises(InputError, match="not found"):
        load_h36m_3d(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad3d.npz", positions_3d={"S1": {"Walk": np.zeros((5, 20, 3))}})
    with pytest.raises(InputError, match="expected"):
        load_h36m_3d(tmp_path / "bad3d.npz")
    np.savez(tmp_path / "wrongkey.npz", poses=np.zeros(3))
    with pytest.raises(InputError, match="positions_3d"):
        load_h36m_3d(tmp_path / "wrongkey.npz")
    meta = {"layout_name": "coco", "num_joints": 17, "keypoints_symmetry": [[1, 3, 5], [2, 4, 6]]}
    np.savez(tmp_path / "coco.npz", positions_2d={"S1": {"Walk": [np.zeros((5, 17, 2))]}}, metadata=meta)
    with pytest.raises(InputError, match="layout"):
        load_h36m_2d(tmp_path / "coco.npz")
    (tmp_path / "cams.json").write_text(json.dumps({"S1": [{"id": "c", "res_w": 10, "res_h": 10}]}))
    with pytest.raises(InputError, match="orientation"):
        load_h36m_cameras(tmp_path / "cams.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        load_h36m_cameras(tmp_path / "broken.json")
    with pytest.raises(InputError, match="S5"):
        H36MWindowDataset.from_files(
            root / "data_3d_h36m.npz", root / "data_2d_h36m_gt.npz", root / "cameras.json", subjects=["S5"]
        )
