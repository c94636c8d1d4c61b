"""Synthetic frame sources and pipelines for the widget tests (no models, no video)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Frame, FrameResult, SourceInfo

#: A standing T-ish pose in camera metres (y down), pelvis at the origin.
STANDING = np.array(
    [
        [0.0, 0.0, 0.0],
        [-0.12, 0.0, 0.0],
        [-0.12, 0.45, 0.0],
        [-0.12, 0.9, 0.0],
        [0.12, 0.0, 0.0],
        [0.12, 0.45, 0.0],
        [0.12, 0.9, 0.0],
        [0.0, -0.25, 0.0],
        [0.0, -0.5, 0.0],
        [0.0, -0.6, 0.0],
        [0.0, -0.72, 0.0],
        [0.18, -0.5, 0.0],
        [0.45, -0.5, 0.0],
        [0.7, -0.5, 0.0],
        [-0.18, -0.5, 0.0],
        [-0.45, -0.5, 0.0],
        [-0.7, -0.5, 0.0],
    ],
    dtype=np.float32,
)


def attention_maps(seed: int, layers: int, heads: int) -> np.ndarray:
    """Row-stochastic ``(layers, heads, 17, 17)`` maps."""
    logits = np.random.default_rng(seed).normal(size=(layers, heads, NUM_JOINTS, NUM_JOINTS))
    e = np.exp(logits)
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def fake_result(index: int, fps: float = 30.0, found: bool = True, image: bool = True) -> FrameResult:
    """A synthetic result: the standing pose, swaying, student a little off the teacher."""
    sway = np.zeros((NUM_JOINTS, 3), np.float32)
    sway[:, 0] = 0.05 * np.sin(index / 5.0)
    teacher = STANDING + sway
    student = teacher + np.float32(0.01) * np.arange(NUM_JOINTS, dtype=np.float32)[:, None] / NUM_JOINTS
    student[0] = teacher[0]
    kp = 100 + STANDING[:, :2] * 100 + 3 * index
    return FrameResult(
        index=index,
        time_s=index / fps,
        keypoints=kp.astype(np.float32),
        confidence=np.linspace(0.2, 1.0, NUM_JOINTS, dtype=np.float32),
        found=found,
        filled=False,
        poses={"teacher": teacher, "student": student},
        attention={"teacher": attention_maps(index, 4, 8), "student": attention_maps(1000 + index, 2, 4)},
        timings_ms={"detect": 20.0, "teacher": 5.0, "student": 1.0},
        image=np.full((240, 320, 3), (index * 2) % 255, np.uint8) if image else None,
        latency_s=0.01,
    )


class FakeSource:
    """A source of ``n`` blank frames (the fake pipeline ignores their content)."""

    def __init__(self, n: int = 30, fps: float = 30.0, delay_s: float = 0.0) -> None:
        self.info = SourceInfo("fake", "video", fps, 320, 240, n)
        self.n, self.delay_s, self.closed = n, delay_s, False

    def __iter__(self):
        for i in range(self.n):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield Frame(i, i / self.info.fps, np.zeros((240, 320, 3), np.uint8), time.perf_counter())

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeBackend:
    name: str
    device: str = "cpu"


class FakePipeline:
    """Yields :func:`fake_result` per source frame, in clip or live mode."""

    def __init__(self, truth: bool = False) -> None:
        self.backends = [FakeBackend("teacher"), FakeBackend("student")]
        self.truth = truth

    def iter_clip(self, source, *, attention=False, keep_images=False, cancel=None):
        for frame in source:
            if cancel is not None and cancel.is_set():
                return
            res = fake_result(frame.index, source.info.fps, found=frame.index % 10 != 7)
            if self.truth:  # a dataset sequence with 3D labels
                res.poses["ground_truth"] = STANDING
            yield res

    def iter_live(self, source, *, lookahead=4, attention=False, keep_images=True, cancel=None):
        yield from self.iter_clip(source, attention=attention, cancel=cancel)
