"""MediaPipeDetector on the shipped demo clip, MediaPipeWorldBackend, and log filtering."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from scjd_core import native_stderr
from scjd_core.backends.mediapipe_world import MediaPipeWorldBackend
from scjd_core.detect import MediaPipeDetector, detect_all, fill_gaps
from scjd_core.errors import InputError, MissingDependencyError
from scjd_core.skeleton import JOINT_INDEX, ROOT
from scjd_core.sources import VideoFileSource
from scjd_core.types import Frame

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo" / "pose_1.mp4"
J = JOINT_INDEX


@pytest.fixture(scope="module")
def demo_run():
    """MediaPipe on the first 10 frames of the demo clip (576x576, one dancer)."""
    with VideoFileSource(DEMO) as src, MediaPipeDetector() as det:
        dets = detect_all(det, src, limit=10)
        info = src.info
    return info, dets


def test_finds_the_dancer_with_plausible_keypoints(demo_run) -> None:
    info, dets = demo_run
    assert len(dets) == 10 and [d.index for d in dets] == list(range(10))
    assert sum(d.found for d in dets) >= 8
    for d in (d for d in dets if d.found):
        kp, conf = d.keypoints, d.confidence
        assert kp.shape == (17, 2) and conf.shape == (17,) and d.landmarks.shape == (33, 4)
        assert ((kp >= 0) & (kp < [info.width, info.height])).all()
        assert np.median(conf) > 0.5 and conf.min() >= 0 and conf.max() <= 1
        # image y grows downwards: head above thorax above pelvis above knees above ankles
        y = kp[:, 1]
        assert y[J["head"]] < y[J["thorax"]] < y[J["pelvis"]]
        assert y[J["pelvis"]] < min(y[J["left_knee"]], y[J["right_knee"]])
        assert max(y[J["left_knee"]], y[J["right_knee"]]) < max(y[J["left_ankle"]], y[J["right_ankle"]])
        height_px = max(y[J["left_ankle"]], y[J["right_ankle"]]) - y[J["head"]]
        assert 0.2 * info.height < height_px < info.height
        # the pelvis is the mid-hip, the thorax the mid-shoulder (skeleton's map)
        assert kp[J["pelvis"]] == pytest.approx((kp[J["left_hip"]] + kp[J["right_hip"]]) / 2, abs=1e-3)


def test_world_joints_are_root_relative_camera_frame_metres(demo_run) -> None:
    _, dets = demo_run
    for d in (d for d in dets if d.found):
        w = d.world
        assert w.shape == (17, 3) and w[ROOT] == pytest.approx(np.zeros(3), abs=1e-6)
        # camera frame: y down, so the head has negative y (above the pelvis)
        assert w[J["head"], 1] < -0.4
        height = max(w[J["left_ankle"], 1], w[J["right_ankle"], 1]) - w[J["head"], 1]
        assert 1.0 < height < 2.2
        # x grows to the image's right in both the world and the pixel coordinates
        dx_world = w[J["left_shoulder"], 0] - w[J["right_shoulder"], 0]
        dx_pixels = d.keypoints[J["left_shoulder"], 0] - d.keypoints[J["right_shoulder"], 0]
        assert np.sign(dx_world) == np.sign(dx_pixels)


def test_mediapipe_world_backend(demo_run) -> None:
    info, dets = demo_run
    seq = fill_gaps(dets, info)
    backend = MediaPipeWorldBackend()
    assert (backend.name, backend.window) == ("mediapipe", 1)
    lift = backend.lift(seq)
    assert lift.poses.shape == (10, 17, 3) and lift.attention is None
    assert lift.poses[:, ROOT] == pytest.approx(np.zeros((10, 3)), abs=1e-6)
    found = seq.found
    assert lift.poses[found] == pytest.approx(np.stack([d.world for d in dets if d.found]), abs=1e-6)
    seq.world = None
    with pytest.raises(InputError, match="needs MediaPipe world landmarks"):
        backend.lift(seq)


def test_empty_frame_gives_nobody(capfd: pytest.CaptureFixture) -> None:
    frame = Frame(7, 0.7, np.zeros((96, 128, 3), np.uint8), 0.0)
    with MediaPipeDetector(static_image_mode=True) as det:
        d = det.detect(frame)
        det.reset()
        assert not det.detect(frame).found
    assert (d.index, d.time_s, d.found) == (7, 0.7, False)
    assert d.keypoints.shape == (17, 2) and not d.keypoints.any() and not d.confidence.any()
    assert d.world is None
    err = capfd.readouterr().err
    assert "W0000" not in err and "INFO: Created" not in err and "absl::InitializeLog" not in err
    with pytest.raises(RuntimeError, match="closed"):
        det.detect(frame)


@pytest.mark.parametrize("complexity", [0, 2])
def test_models_that_would_download_are_refused(complexity: int) -> None:
    with pytest.raises(MissingDependencyError, match="model_complexity=1"):
        MediaPipeDetector(model_complexity=complexity)


def test_missing_mediapipe_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("mediapipe", "mediapipe.python", "mediapipe.python.solutions", "mediapipe.python.solutions.pose"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependencyError, match="pip install mediapipe"):
        MediaPipeDetector()


def test_log_filter_drops_chatter_and_keeps_errors(capfd: pytest.CaptureFixture) -> None:
    lines = [
        b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        b"W0000 00:00:1795303441.823798   12953 inference_feedback_manager.cc:114] Feedback manager\n",
        b"I0101 12:00:00.000001    77 calculator_graph.cc:1] started\n",
        b"E0000 00:00:1795303441.9   12953 calculator_graph.cc:887] real failure\n",
        b"Traceback (most recent call last): something else\n",
        b"[ WARN:0@0.030] global cap_v4l.cpp:913 open VIDEOIO(V4L2:/dev/video7): can't open camera by index\n",
        b"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55798532fd00] moov atom not found\n",
        b"plain output from another thread\n",
    ]
    with native_stderr.filtered_stderr(), native_stderr.filtered_stderr():  # re-entrant
        for line in lines:
            os.write(2, line)
    err = capfd.readouterr().err
    assert err == (lines[4] + lines[5] + lines[8]).decode()


def test_log_filter_can_be_switched_off(capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCJD_NATIVE_LOGS", "1")
    with native_stderr.filtered_stderr():
        os.write(2, b"INFO: shown on request\n")
    assert capfd.readouterr().err == "INFO: shown on request\n"


def test_log_filter_from_several_threads_restores_stderr(capfd: pytest.CaptureFixture) -> None:
    before = os.fstat(2).st_ino

    def work(n: int) -> None:
        for i in range(50):
            with native_stderr.filtered_stderr():
                os.write(2, b"I0000 00:00:1.0  1 x.cc:1] noise\n")
                os.write(2, f"kept {n} {i}\n".encode())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert os.fstat(2).st_ino == before
    err = capfd.readouterr().err.splitlines()
    assert sorted(err) == sorted(f"kept {n} {i}" for n in range(3) for i in range(50))
