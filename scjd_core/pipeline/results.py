"""Per-frame results and whole clips: the one :class:`FrameResult` builder, :class:`ClipResult`
and :func:`collect_results`, which assembles streamed results into a clip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import FrameResult, Lift3D, Pose2DSequence, SourceInfo


def frame_result(
    seq: Pose2DSequence,
    i: int,
    lifts: Mapping[str, Lift3D],
    *,
    index: int | None = None,
    time_s: float | None = None,
    timings_ms: dict[str, float] | None = None,
    image: np.ndarray | None = None,
    latency_s: float | None = None,
) -> FrameResult:
    """Frame ``i`` of ``seq`` and of each lift as a :class:`FrameResult` (every result is built here).

    Args:
        seq: the 2D of a run of frames (a clip, a lifting window, live mode's buffer).
        i: the frame's position in ``seq`` (and in every lift, which cover the same frames).
        lifts: backend name -> its 3D for the frames of ``seq`` (only the backends that ran).
        index: the frame's number in the stream (default ``i``).
        time_s: the frame's time (default ``seq.times[i]``).
        timings_ms: stage -> milliseconds spent on this frame.
        image: the frame's image, when the consumer asked for it.
        latency_s: capture -> result ready (live mode).
    """
    return FrameResult(
        index=i if index is None else int(index),
        time_s=float(seq.times[i] if time_s is None else time_s),
        keypoints=seq.keypoints[i],
        confidence=seq.confidence[i],
        found=bool(seq.found[i]),
        filled=bool(seq.filled[i]),
        poses={name: lift.poses[i] for name, lift in lifts.items()},
        attention={name: lift.attention[i] for name, lift in lifts.items() if lift.attention is not None},
        timings_ms={} if timings_ms is None else timings_ms,
        image=image,
        latency_s=latency_s,
        box=None if seq.boxes is None else seq.boxes[i],
    )


def nobody_sequence(info: SourceInfo, time_s: float, box: np.ndarray | None = None) -> Pose2DSequence:
    """One frame where nobody was found (zero keypoints and confidence), with the crop searched."""
    return Pose2DSequence(
        keypoints=np.zeros((1, NUM_JOINTS, 2), np.float32),
        confidence=np.zeros((1, NUM_JOINTS), np.float32),
        found=np.zeros(1, bool),
        filled=np.zeros(1, bool),
        times=np.array([time_s], np.float64),
        width=info.width,
        height=info.height,
        fps=info.fps,
        boxes=None if box is None else np.asarray(box, np.float32)[None],
    )


@dataclass
class ClipResult:
    """A processed clip: 2D, every backend's 3D and the time each stage took.

    Attributes:
        lift_filled: backend -> ``(F,)`` bool, the frames where that backend did not run
            (live mode skips the teacher when it does not fit the frame budget) and its
            pose was copied from the nearest frame where it did (see
            :func:`collect_results`); absent for backends that ran on every frame.
    """

    info: SourceInfo
    seq: Pose2DSequence
    lifts: dict[str, Lift3D]
    timings: dict[str, float] = field(default_factory=dict)  # stage -> total seconds
    images: list[np.ndarray] | None = None
    roi: np.ndarray | None = None  # (4,) x, y, w, h px: the box the person was chosen with (first frame)
    lift_filled: dict[str, np.ndarray] = field(default_factory=dict)

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
        return frame_result(self.seq, i, self.lifts, image=None if self.images is None else self.images[i])


def collect_results(
    results: Sequence[FrameResult],
    info: SourceInfo,
    backends: Sequence[LiftingBackend],
    total_s: float,
    keep_images: bool = False,
) -> ClipResult:
    """Assemble streamed per-frame results into a :class:`ClipResult`.

    A backend missing from some results (live mode runs the teacher only when it fits
    the frame budget) gets, on those frames, the pose (and attention) of the nearest
    result where it ran (the earlier one on a tie); :attr:`ClipResult.lift_filled` marks
    those frames. A backend that ran on no frame at all is left out of the clip.

    Raises:
        ValueError: when ``results`` is empty.
    """
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
    lifts: dict[str, Lift3D] = {}
    lift_filled: dict[str, np.ndarray] = {}
    for b in backends:
        ran = np.array([b.name in r.poses for r in results], dtype=bool)
        if not ran.any():
            continue
        rows = [results[j] for j in _nearest(ran)]
        att = [r.attention.get(b.name) for r in rows]
        lifts[b.name] = Lift3D(
            poses=np.stack([r.poses[b.name] for r in rows]).astype(np.float32),
            attention=np.stack(att) if all(a is not None for a in att) else None,
        )
        if not ran.all():
            lift_filled[b.name] = ~ran
    stages = dict.fromkeys(k for r in results for k in r.timings_ms)  # every stage, in first-seen order
    timings = {k: sum(r.timings_ms.get(k, 0.0) for r in results) / 1000.0 for k in stages}
    timings["total"] = total_s
    images = [r.image for r in results] if keep_images else None
    return ClipResult(info=info, seq=seq, lifts=lifts, timings=timings, images=images, lift_filled=lift_filled)


def _nearest(present: np.ndarray) -> np.ndarray:
    """For every position, the nearest position where ``present`` is True (the earlier on a tie)."""
    have = np.flatnonzero(present)
    at = np.arange(len(present))
    right = np.searchsorted(have, at).clip(0, len(have) - 1)
    left = (right - 1).clip(0, len(have) - 1)
    before, after = have[left], have[right]
    return np.where(np.abs(at - before) <= np.abs(after - at), before, after)


def _boxes(results: Sequence[FrameResult]) -> np.ndarray | None:
    """``(F, 4)`` tracked boxes (NaN rows where a frame has none), or None when no frame has one."""
    if all(r.box is None for r in results):
        return None
    empty = np.full(4, np.nan, np.float32)
    return np.stack([empty if r.box is None else np.asarray(r.box, np.float32) for r in results])
