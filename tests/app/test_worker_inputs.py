"""The viewer opens every input through the core's one entry, with the CLI's engine choice."""

from __future__ import annotations

import numpy as np

from scjd_app.main import build_parser
from scjd_app.worker import Job, default_pipeline, default_source
from scjd_core.inputs import Input
from scjd_core.skeleton import NUM_JOINTS
from tests.app.e2e import model_checkpoints
from tests.training.mini_mocap import write_bvh
from training.data.synthetic import walking_joints


def test_the_viewer_picks_the_engine_like_scjd_process(monkeypatch):
    from scjd_core.pipeline import Pipeline

    assert Job(source="").engine == "auto" and build_parser().parse_args([]).engine == "auto"
    assert build_parser().parse_args(["--engine", "onnx"]).engine == "onnx"
    seen = {}
    monkeypatch.setattr(Pipeline, "from_names", classmethod(lambda cls, **kwargs: seen.update(kwargs) or "built"))
    assert default_pipeline(Job(source="x.mp4", backends=("student",), device="cpu", engine="torch")) == "built"
    assert seen["engine"] == "torch" and seen["device"] == "cpu" and seen["backends"] == ("student",)


def test_sequence_files_bring_their_detector_and_truth_and_drop_mediapipe(tmp_path):
    job = Job(
        source="",
        backends=("student", "mediapipe"),
        device="cpu",
        engine="torch",
        checkpoints=model_checkpoints(tmp_path),
    )
    models = default_pipeline(job)
    bvh = write_bvh(tmp_path / "walk_1.bvh", walking_joints(20, 30.0, 1.3, 0.0))
    kp = tmp_path / "walk.npz"
    np.savez(kp, keypoints=np.full((5, NUM_JOINTS, 2), 100.0, np.float32), width=320, height=240)
    for spec, names in ((bvh, ["student", "ground_truth"]), (kp, ["student"])):
        with default_source(Job(source=str(spec))) as inp:
            assert isinstance(inp, Input) and inp.kind in ("mocap", "keypoints")
            assert [b.name for b in inp.pipeline(models.backends).backends] == names
    assert [b.name for b in models.backends] == ["student", "mediapipe"]  # the loaded models stay as they were
