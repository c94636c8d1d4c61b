"""Live mode: one result per new frame, ``lookahead`` frames behind it.

Every new frame is detected, and the window ending ``lookahead`` frames after the frame
to show is lifted, so a windowed model sees a little of the future and each result waits
for at most ``lookahead`` future frames (the latency is reported per result). Backends
that are not required run only when they fit in the frame budget (:class:`LiveBudget`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from scjd_core.backends.base import LiftingBackend
from scjd_core.live_budget import LiveBudget
from scjd_core.pipeline.results import frame_result, nobody_sequence
from scjd_core.types import Detection2D, Frame, FrameResult, Lift3D, Pose2DSequence, SourceInfo

#: Live mode's default look-ahead (frames). Each frame of look-ahead adds one frame time of
#: latency (33 ms at 30 fps) and buys little accuracy: on the held-out sequence file the
#: student is at 82.1 / 81.4 / 81.1 / 81.2 mm MPJPE with 0 / 1 / 2 / 4 frames, the teacher
#: flat at 67-68 mm (``python scripts/lookahead_check.py``).
LIVE_LOOKAHEAD = 1


def iter_live(
    backends: Sequence[LiftingBackend],
    detector_factory: Callable[[], object],
    source,
    *,
    size: int,
    lookahead: int = LIVE_LOOKAHEAD,
    attention: bool = False,
    keep_images: bool = True,
    cancel: threading.Event | None = None,
    required: Sequence[str] = ("student",),
    frame_budget_s: float | None = None,
) -> Iterator[FrameResult]:
    """Process a live source (see :meth:`scjd_core.pipeline.Pipeline.iter_live`; ``size``
    is the frames lifted per result, at least ``lookahead + 1``)."""
    info: SourceInfo = source.info
    lift = _LiveLifter(backends, info, required, frame_budget_s, attention, keep_images)
    size = max(size, lookahead + 1)
    lookahead = max(0, min(lookahead, size - 1))
    dets: deque[Detection2D] = deque(maxlen=size)
    frames: deque[Frame] = deque(maxlen=lookahead + 1)
    detector = detector_factory()
    try:
        for frame in source:
            if cancel is not None and cancel.is_set():
                return
            t0 = time.perf_counter()
            dets.append(detector.detect(frame))
            t_detect = time.perf_counter() - t0
            frames.append(frame)
            if len(frames) > lookahead:
                yield lift(dets, frames[0], lookahead, {"detect": t_detect * 1000.0})
        # End of a finite stream: the last ``lookahead`` frames get their results too.
        unshown = len(frames) - 1 if len(frames) > lookahead else len(frames)
        for ahead in range(unshown - 1, -1, -1):
            yield lift(dets, frames[len(frames) - 1 - ahead], ahead, {})
    finally:
        close = getattr(detector, "close", None)
        if close is not None:
            close()


class _LiveLifter:
    """Lifts live mode's buffer for one shown frame, within the frame budget.

    The backends named in ``required`` (or the first backend, when none of them is
    present) and the free ones (:attr:`LiftingBackend.free`: ground truth, MediaPipe's
    own 3D) run on every frame; the others only when they fit.
    """

    def __init__(
        self,
        backends: Sequence[LiftingBackend],
        info: SourceInfo,
        required: Sequence[str],
        frame_budget_s: float | None,
        attention: bool,
        keep_images: bool,
    ) -> None:
        names = [b.name for b in backends]
        must = [n for n in names if n in required] or names[:1]
        must += [b.name for b in backends if getattr(b, "free", False) and b.name not in must]
        period = frame_budget_s if frame_budget_s is not None else 1.0 / max(info.fps, 1e-6)
        self.budget = LiveBudget(period, must)
        self.backends, self.info, self.attention, self.keep_images = backends, info, attention, keep_images

    def __call__(self, dets: deque[Detection2D], shown: Frame, ahead: int, timings: dict[str, float]) -> FrameResult:
        """Lift the buffered window; the result of the frame ``ahead`` frames from its end."""
        from scjd_core.detect import fill_gaps

        image = shown.image if self.keep_images else None
        if not any(d.found for d in dets):
            seq, pos, lifts = nobody_sequence(self.info, shown.time_s, dets[len(dets) - 1 - ahead].box), 0, {}
        else:
            seq = fill_gaps(list(dets), self.info)
            pos = len(seq) - 1 - ahead
            lifts = self._lift(seq, shown.time_s, timings)
        return frame_result(
            seq,
            pos,
            lifts,
            index=shown.index,
            time_s=shown.time_s,
            timings_ms=timings,
            image=image,
            latency_s=time.perf_counter() - shown.capture_time,
        )

    def _lift(self, seq: Pose2DSequence, now_s: float, timings: dict[str, float]) -> dict[str, Lift3D]:
        chosen = self.budget.choose([b.name for b in self.backends], now_s)
        base = timings.get("detect", 0.0) / 1000.0
        lifts = {}
        for backend in self.backends:
            if backend.name not in chosen:
                continue
            t0 = time.perf_counter()
            lifts[backend.name] = backend.lift(seq, attention=self.attention)
            spent = time.perf_counter() - t0
            timings[backend.name] = spent * 1000.0
            self.budget.record(backend.name, spent, now_s)
            if backend.name in self.budget.required:
                base += spent
        self.budget.record_base(base)
        return lifts
