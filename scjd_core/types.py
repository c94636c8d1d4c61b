"""Immutable data passed between the pipeline's stages (and to the viewer)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scjd_core.skeleton import normalize_screen


@dataclass(frozen=True)
class SourceInfo:
    """What a frame source knows about itself."""

    name: str
    kind: str  # "video" | "images" | "webcam" | "live"
    fps: float
    width: int
    height: int
    frame_count: int | None  # None when unknown (webcam)


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    index: int
    time_s: float  # timestamp in the stream (s)
    image: np.ndarray  # (H, W, 3) uint8, BGR (OpenCV order)
    capture_time: float  # time.perf_counter() when the frame was read


@dataclass(frozen=True)
class Detection2D:
    """The 2D result for one frame, already mapped onto the 17 joints."""

    index: int
    time_s: float
    keypoints: np.ndarray  # (17, 2) pixels, float32 (zeros when nobody was found)
    confidence: np.ndarray  # (17,) in [0, 1]
    found: bool  # a person was detected in this frame
    world: np.ndarray | None = None  # (17, 3) detector's own 3D (camera axes, m, root-relative)
    landmarks: np.ndarray | None = None  # (33, 4) raw detector output (x, y, z, visibility) in px
    box: np.ndarray | None = None  # (4,) x, y, w, h px: the crop searched when following a chosen person


@dataclass
class Pose2DSequence:
    """A clip's 2D poses, ready for lifting.

    ``filled`` marks frames whose keypoints were interpolated because nobody was
    found there (their confidence is lowered accordingly).
    """

    keypoints: np.ndarray  # (F, 17, 2) pixels
    confidence: np.ndarray  # (F, 17)
    found: np.ndarray  # (F,) bool
    filled: np.ndarray  # (F,) bool
    times: np.ndarray  # (F,) seconds
    width: int
    height: int
    fps: float
    world: np.ndarray | None = None  # (F, 17, 3) detector 3D when it has one
    meta: dict = field(default_factory=dict)
    boxes: np.ndarray | None = None  # (F, 4) x, y, w, h px of the tracked person's crop (see detect.roi)

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def normalized(self) -> np.ndarray:
        """``(F, 17, 3)``: normalised screen x, y and confidence (the lifters' input)."""
        uv = normalize_screen(self.keypoints, self.width, self.height)
        return np.concatenate([uv, self.confidence[..., None].astype(np.float32)], axis=-1)


@dataclass(frozen=True)
class Lift3D:
    """A backend's 3D output for a run of frames."""

    poses: np.ndarray  # (F, 17, 3) camera frame, metres, root-relative
    attention: np.ndarray | None = None  # (F, layers, heads, 17, 17) spatial attention


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline knows about one frame (what the CLI and viewer consume)."""

    index: int
    time_s: float
    keypoints: np.ndarray  # (17, 2) pixels
    confidence: np.ndarray  # (17,)
    found: bool
    filled: bool
    poses: dict[str, np.ndarray]  # backend name -> (17, 3) camera metres, root-relative
    attention: dict[str, np.ndarray]  # backend name -> (layers, heads, 17, 17)
    timings_ms: dict[str, float]  # stage -> milliseconds spent on this frame
    image: np.ndarray | None = None  # (H, W, 3) BGR, when the consumer asked for images
    latency_s: float | None = None  # capture -> result ready (live mode)
    box: np.ndarray | None = None  # (4,) x, y, w, h px: the tracked person's crop (when one was chosen)


def slice_sequence(seq: Pose2DSequence, start: int, stop: int) -> Pose2DSequence:
    """Frames ``[start, stop)`` of ``seq`` as a new :class:`Pose2DSequence` (arrays are views)."""
    return Pose2DSequence(
        keypoints=seq.keypoints[start:stop],
        confidence=seq.confidence[start:stop],
        found=seq.found[start:stop],
        filled=seq.filled[start:stop],
        times=seq.times[start:stop],
        width=seq.width,
        height=seq.height,
        fps=seq.fps,
        world=None if seq.world is None else seq.world[start:stop],
        meta=dict(seq.meta),
        boxes=None if seq.boxes is None else seq.boxes[start:stop],
    )
