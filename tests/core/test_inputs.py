"""The one input entry: every kind of input -> a source, a detector and any extra streams."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import scjd_core.inputs as inputs
from scjd_core.backends.ground_truth import GroundTruthBackend
from scjd_core.backends.lifter import ModelBackend
from scjd_core.backends.mediapipe_world import MediaPipeWorldBackend
from scjd_core.detect.roi import Box, RoiDetector
from scjd_core.errors import InputError, ScjdError
from scjd_core.inputs import input_kind, open_input, select_backends
from scjd_core.models import create_model
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.sources import LivePacedSource
from scjd_core.sources.blank import BlankFrameSource
from tests.core.test_sources import write_video
from tests.training.mini_mocap import write_bvh
from training.data.synthetic import walking_joints


class _Stub:
    """Stands in for MediaPipe (these tests check the wiring, not the detection)."""

    name = "stub"

    def detect(self, frame):
        raise AssertionError("not called here")

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def no_temp_files(monkeypatch):
    """Opening an input must not write anything to disk."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a temporary file or folder was created")

    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, refuse)


def _keypoint_file(path: Path, frames: int = 12) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(3)
    kp = (rng.uniform(100, 300, size=(1, NUM_JOINTS, 2)) + np.arange(frames)[:, None, None]).astype(np.float32)
    np.savez(path, keypoints=kp, confidence=np.ones((frames, NUM_JOINTS), np.float32), width=640, height=480, fps=25.0)
    return path, kp


def _tiny_backends() -> list:
    torch.manual_seed(0)
    models = [ModelBackend(create_model(f"{n}-tiny").eval(), device="cpu", name=n) for n in ("teacher", "student")]
    return [*models, MediaPipeWorldBackend()]


def test_input_kind_from_the_spec_alone(tmp_path):
    (tmp_path / "frames").mkdir()
    assert input_kind("webcam:0") == input_kind("WEBCAM") == "webcam"
    assert input_kind(tmp_path / "frames") == "images"
    assert input_kind("clip.mp4") == input_kind("missing/clip.avi") == "video"
    assert input_kind("walk.npz") == input_kind("walk.CSV") == "keypoints"
    assert input_kind("walk_1.bvh") == input_kind("HDM_bd_01.amc") == "mocap"


def test_backends_all_leaves_mediapipe_out_of_2d_inputs_and_naming_it_is_an_error():
    assert select_backends("all", "video") == ["teacher", "student", "mediapipe"]
    assert select_backends("all", "keypoints") == ["teacher", "student"]
    assert select_backends("teacher,student", "mocap") == ["teacher", "student"]
    for spec in ("mediapipe", "student, MediaPipe", ["mediapipe"]):
        with pytest.raises(InputError, match="mediapipe backend needs MediaPipe's own 3D"):
            select_backends(spec, "keypoints")
    with pytest.raises(ScjdError, match="unknown backend"):
        select_backends("nope", "video")


def test_video_gives_the_mediapipe_detector_and_follows_the_roi(tmp_path, monkeypatch):
    video = write_video(tmp_path / "clip.mp4", 5)
    monkeypatch.setattr(inputs, "image_detector", _Stub)
    with open_input(video) as inp:
        assert inp.kind == "video" and inp.info.frame_count == 5 and inp.extra_backends == []
        assert isinstance(inp.detector_factory(), _Stub) and inp.roi is None
        assert len(list(inp)) == 5  # an Input is a frame source itself
    with open_input(video, roi=Box(-10, 2, 30, 30)) as inp:
        assert inp.roi == Box(0, 2, 20, 30)  # cut to the image
        detector = inp.detector_factory()
        assert isinstance(detector, RoiDetector) and detector.roi == inp.roi
    with pytest.raises(InputError, match="the person's box .* lies outside"):
        open_input(video, roi=Box(500, 500, 50, 50), roi_name="the person's box")


def test_keypoint_file_gives_blank_frames_and_its_rows(tmp_path, no_temp_files):
    path, kp = _keypoint_file(tmp_path / "walk.npz")
    with open_input(path) as inp:
        assert inp.kind == "keypoints" and isinstance(inp.source, BlankFrameSource)
        info = inp.info
        assert (info.name, info.kind, info.width, info.height, info.fps, info.frame_count) == (
            "walk.npz",
            "keypoints",
            640,
            480,
            25.0,
            12,
        )
        frames = list(inp)
        assert [f.index for f in frames] == list(range(12)) and frames[0].image.shape == (480, 640, 3)
        assert frames[3].time_s == pytest.approx(3 / 25.0)
        detector = inp.detector_factory()
        np.testing.assert_allclose(detector.detect(frames[7]).keypoints, kp[7])
        assert inp.backends == ("teacher", "student") and inp.extra_backends == []
    with open_input(path, fps=50.0, live=True) as inp:
        assert isinstance(inp.source, LivePacedSource) and inp.info.fps == 50.0


def test_keypoint_file_refuses_a_roi_and_reports_a_missing_size(tmp_path):
    path, _ = _keypoint_file(tmp_path / "walk.npz")
    with pytest.raises(InputError, match="--roi chooses a person in images"):
        open_input(path, roi=Box(0, 0, 50, 50))
    no_size = tmp_path / "nosize.npz"
    np.savez(no_size, keypoints=np.ones((3, NUM_JOINTS, 2), np.float32))
    with pytest.raises(InputError, match="does not give the image size"):
        open_input(no_size)
    with pytest.raises(InputError, match="not found"):
        open_input(tmp_path / "missing.csv")


def test_mocap_file_is_projected_in_memory_with_its_ground_truth(tmp_path, no_temp_files):
    from scjd_core.mocap.view import view_mocap

    path = write_bvh(tmp_path / "walk_1.bvh", walking_joints(20, 30.0, 1.3, 0.0))
    before = sorted(tmp_path.iterdir())
    with open_input(path) as inp:
        assert inp.kind == "mocap" and inp.info.kind == "mocap" and inp.info.name == "walk_1.bvh"
        (truth,) = inp.extra_backends
        assert isinstance(truth, GroundTruthBackend) and truth.free
        pipeline = inp.pipeline(_tiny_backends())
        assert [b.name for b in pipeline.backends] == ["teacher", "student", "ground_truth"]  # mediapipe left out
        clip = pipeline.process(inp, pipelined=False)
    view = view_mocap(path)
    assert len(clip) == len(view.keypoints) == inp.info.frame_count
    np.testing.assert_allclose(clip.seq.keypoints, view.keypoints, atol=1e-4)
    np.testing.assert_array_equal(clip.lifts["ground_truth"].poses, view.truth)
    assert sorted(tmp_path.iterdir()) == before  # nothing written beside it either
    with pytest.raises(InputError, match="not found"):
        open_input(tmp_path / "missing.bvh")


def test_an_input_no_backend_can_run_on_is_one_clear_error(tmp_path):
    path, _ = _keypoint_file(tmp_path / "walk.npz")
    with open_input(path) as inp, pytest.raises(InputError, match="mediapipe backend needs"):
        inp.pipeline([MediaPipeWorldBackend()])
