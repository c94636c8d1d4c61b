"""The pipelined and the sequential processors give identical results on the demo clip.

Detection runs on the calling thread in both modes (only decoding and lifting move to
threads), so the results can only differ through a bug in the hand-over. MediaPipe was
checked to be deterministic per run (two runs over the demo clip give bit-identical
keypoints), but running it twice is slow, so the main comparison feeds the detector's
precomputed 2D of the demo clip (``tests/data/bench/pose_1_keypoints.npz``) through a
:class:`KeypointFileDetector` while the real video is decoded; a ``slow`` test repeats
it with MediaPipe itself on the first frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from scjd_core.backends.lifter import ModelBackend
from scjd_core.detect import KeypointFileDetector
from scjd_core.models import create_model
from scjd_core.pipeline import Pipeline
from scjd_core.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "assets" / "demo" / "pose_1.mp4"
KEYPOINTS = ROOT / "tests" / "data" / "bench" / "pose_1_keypoints.npz"


def _backends() -> list[ModelBackend]:
    out = []
    for seed, name in enumerate(("teacher-tiny", "student-tiny")):
        torch.manual_seed(seed)
        model = create_model(name).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.3)
        out.append(ModelBackend(model, device="cpu", batch_size=4))
    return out


class _First:
    """The first ``n`` frames of a source."""

    def __init__(self, source, n: int) -> None:
        self._source, self._n, self.info = source, n, source.info

    def __iter__(self):
        for k, frame in enumerate(self._source):
            if k >= self._n:
                return
            yield frame


def _run(detector, pipelined: bool, frames: int | None = None):
    pipeline = Pipeline(detector=detector, backends=_backends())
    with open_source(CLIP) as source:
        src = source if frames is None else _First(source, frames)
        return pipeline.process(src, attention=True, keep_images=True, pipelined=pipelined)


def _assert_identical(a, b) -> None:
    assert len(a) == len(b) > 0
    for field in ("keypoints", "confidence", "found", "filled", "times"):
        np.testing.assert_array_equal(getattr(a.seq, field), getattr(b.seq, field), err_msg=field)
    assert set(a.lifts) == set(b.lifts) == {"teacher", "student"}
    for name in a.lifts:
        np.testing.assert_array_equal(a.lifts[name].poses, b.lifts[name].poses, err_msg=name)
        np.testing.assert_array_equal(a.lifts[name].attention, b.lifts[name].attention, err_msg=name)
    for i in (0, len(a) // 2, len(a) - 1):
        np.testing.assert_array_equal(a.images[i], b.images[i])


def test_pipelined_equals_sequential_on_the_demo_clip():
    detector = lambda: KeypointFileDetector(KEYPOINTS)  # noqa: E731
    sequential = _run(detector, pipelined=False)
    pipelined = _run(detector, pipelined=True)
    assert len(sequential) == 120 and sequential.seq.found.all()
    assert float(np.std(sequential.lifts["student"].poses)) > 0.01  # real, varying output
    _assert_identical(sequential, pipelined)


@pytest.mark.slow
def test_pipelined_equals_sequential_with_mediapipe():
    pytest.importorskip("mediapipe")
    from scjd_core.detect import MediaPipeDetector

    sequential = _run(MediaPipeDetector, pipelined=False, frames=40)
    pipelined = _run(MediaPipeDetector, pipelined=True, frames=40)
    assert sequential.seq.found.any()
    _assert_identical(sequential, pipelined)
