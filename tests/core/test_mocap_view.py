"""A mocap clip seen by the fixed virtual camera: 2D and ground truth agree."""

from __future__ import annotations

import numpy as np

from scjd_core.backends.ground_truth import GroundTruthBackend
from scjd_core.detect import KeypointFileDetector
from scjd_core.mocap import load_mocap
from scjd_core.mocap.view import view_mocap, write_view_keypoints
from scjd_core.skeleton import JOINT_INDEX, ROOT
from tests.training.mini_mocap import write_bvh
from training.data.synthetic import walking_joints


def test_view_projects_the_clip_and_keeps_camera_frame_truth(tmp_path):
    path = write_bvh(tmp_path / "walk_1.bvh", walking_joints(20, 30.0, 1.3, 0.0))
    view = view_mocap(path, fps=30.0, width=640, height=480)
    clip = load_mocap(path, fps=30.0)
    assert view.keypoints.shape == (len(clip), 17, 2) and view.truth.shape == (len(clip), 17, 3)
    assert np.allclose(view.truth[:, ROOT], 0)
    # camera frame: y down, so the head is above (smaller y than) the pelvis, in 3D and in 2D
    head = JOINT_INDEX["head"]
    assert (view.truth[:, head, 1] < 0).all() and (view.keypoints[:, head, 1] < view.keypoints[:, ROOT, 1]).all()
    # bone lengths survive the change of frame
    world = clip.joints - clip.joints[:, ROOT : ROOT + 1]
    assert np.allclose(np.linalg.norm(view.truth, axis=-1), np.linalg.norm(world, axis=-1), atol=1e-5)
    assert ((view.keypoints >= 0) & (view.keypoints <= [640, 480])).all()


def test_keypoint_file_and_ground_truth_backend_line_up(tmp_path):
    path = write_bvh(tmp_path / "walk_1.bvh", walking_joints(20, 30.0, 1.3, 0.0))
    view = view_mocap(path)
    seq = KeypointFileDetector(write_view_keypoints(view, tmp_path / "walk.npz")).sequence()
    assert np.allclose(seq.keypoints, view.keypoints, atol=1e-4)
    lifted = GroundTruthBackend(view.truth, view.fps).lift(seq)
    assert np.array_equal(lifted.poses, view.truth)
