"""A processed clip, and its assembly from streamed per-frame results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.types import FrameResult, Lift3D, Pose2DSequence, SourceInfo


@dataclass
class ClipResult:
    """A processed clip: 2D, every backend's 3D and the time each stage took."""

    info: SourceInfo
    seq: Pose2DSequence
    lifts: dict[str, Lift3D]
    timings: dict[str, float] = field(default_factory=dict)  # stage -> total seconds
    images: list[np.ndarray] | None = None
    roi: np.ndarray | None = None  # (4,) x, y, w, h px: the box the person was chosen with (first frame)

    def __len__(self) -> int:
        return len(self.seq)

    @property
    def detection_rate(self) -> float:
        """Fraction of frames in which a person was found."""
        return float(np.mean(self.seq.found)) if len(self) else 0.0

    def stage_fps(self) -> dict[str, float]:
        """Frames per second of each stage, from the time spent in it."""
        n = len(self)
        return {k: (n / v if v > 0 else float("inf")) for k, v in self.timings.items() if k != "total"}

    def frame(self, i: int) -> FrameResult:
        """The :class:`FrameResult` of frame ``i``."""
        s = self.seq
        return FrameResult(
            index=i,
            time_s=float(s.times[i]),
            keypoints=s.keypoints[i],
            confidence=s.confidence[i],
            found=bool(s.found[i]),
            filled=bool(s.filled[i]),
            poses={k: v.poses[i] for k, v in self.lifts.items()},
            attention={k: v.attention[i] for k, v in self.lifts.items() if v.attention is not None},
            timings_ms={},
            image=None if self.images is None else self.images[i],
            box=None if self.seq.boxes is None else self.seq.boxes[i],
        )


def collect_results(
    results: Sequence[FrameResult],
    info: SourceInfo,
    backends: Sequence[LiftingBackend],
    total_s: float,
    keep_images: bool = False,
) -> ClipResult:
    """Assemble streamed per-frame results into a :class:`ClipResult`."""
    n = len(results)
    if n == 0:
        raise ValueError("no results to collect")
    seq = Pose2DSequence(
        keypoints=np.stack([r.keypoints for r in results]).astype(np.float32),
        confidence=np.stack([r.confidence for r in results]).astype(np.float32),
        found=np.array([r.found for r in results], dtype=bool),
        filled=np.array([r.filled for r in results], dtype=bool),
        times=np.array([r.time_s for r in results], dtype=np.float64),
        width=info.width,
        height=info.height,
        fps=info.fps,
        meta={"source": info.name, "kind": info.kind},
        boxes=_boxes(results),
    )
    lifts = {}
    for b in backends:
        att = [r.attention.get(b.name) for r in results]
        lifts[b.name] = Lift3D(
            poses=np.stack([r.poses[b.name] for r in results]).astype(np.float32),
            attention=np.stack(att) if n and all(a is not None for a in att) else None,
        )
    timings = {k: sum(r.timings_ms.get(k, 0.0) for r in results) / 1000.0 for k in results[0].timings_ms}
    timings["total"] = total_s
    images = [r.image for r in results] if keep_images else None
    return ClipResult(info=info, seq=seq, lifts=lifts, timings=timings, images=images)


def _boxes(results: Sequence[FrameResult]) -> np.ndarray | None:
    """``(F, 4)`` tracked boxes (NaN rows where a frame has none), or None when no frame has one."""
    if all(r.box is None for r in results):
        return None
    empty = np.full(4, np.nan, np.float32)
    return np.stack([empty if r.box is None else np.asarray(r.box, np.float32) for r in results])
