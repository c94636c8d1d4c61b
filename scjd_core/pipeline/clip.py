"""Clip mode: frames detected in order, lifted window by window, in up to three threads.

Non-overlapping windows of the widest backend (aligned at frame 0) are lifted as soon
as they are complete, so results stream out while the rest of the clip is still being
decoded. With ``pipelined=True`` decoding runs in its own thread and lifting in another,
each behind a bounded queue, so the three stages overlap; the results are identical to
the sequential run (detection always runs on the calling thread).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.decoding import FrameDecoder
from scjd_core.pipeline.results import frame_result
from scjd_core.types import Detection2D, Frame, FrameResult, Lift3D, Pose2DSequence, SourceInfo, slice_sequence

#: Lifting windows waiting for their results beyond the first one that is not ready yet.
MAX_IN_FLIGHT = 2


@dataclass
class _Window:
    """One window of frames waiting for, or done with, lifting."""

    start: int
    frames: list[Detection2D] = field(default_factory=list)
    images: list[np.ndarray | None] = field(default_factory=list)
    decode_s: list[float] = field(default_factory=list)
    detect_s: list[float] = field(default_factory=list)
    capture: list[float] = field(default_factory=list)

    def add(self, frame: Frame, det: Detection2D, decode_s: float, detect_s: float, keep_image: bool) -> None:
        self.frames.append(det)
        self.images.append(frame.image if keep_image else None)
        self.decode_s.append(decode_s)
        self.detect_s.append(detect_s)
        self.capture.append(frame.capture_time)


Lifted = dict[str, tuple[Lift3D, float]]  # backend name -> (its 3D, seconds it took)


def lift_all(backends: Sequence[LiftingBackend], seq: Pose2DSequence, attention: bool) -> Lifted:
    """Run every backend on ``seq``, timing each."""
    out = {}
    for backend in backends:
        t0 = time.perf_counter()
        out[backend.name] = (backend.lift(seq, attention=attention), time.perf_counter() - t0)
    return out


class _Lifting:
    """The lifting side of a clip run: gap filling, the lifting thread, results in order.

    Windows wait (``pending``) until somebody has been found, so that the frames before
    the first detection are filled from it; each window is gap-filled together with the
    previous one (``context``), so interpolation runs across window edges.
    """

    def __init__(
        self,
        backends: Sequence[LiftingBackend],
        info: SourceInfo,
        attention: bool,
        executor: ThreadPoolExecutor | None,
    ) -> None:
        self.backends, self.info, self.attention, self.executor = backends, info, attention, executor
        self.pending: list[_Window] = []
        self.context: list[Detection2D] = []
        self.in_flight: deque[tuple[_Window, Future | Lifted, Pose2DSequence]] = deque()
        self.any_found = False

    def push(self, win: _Window) -> None:
        """Queue a complete window; lift it (and those waiting) once somebody was found."""
        from scjd_core.detect import fill_gaps

        self.pending.append(win)
        self.any_found |= any(d.found for d in win.frames)
        if not self.any_found:
            return
        filled = fill_gaps(self.context + [d for w in self.pending for d in w.frames], self.info)
        start = len(self.context)
        for w in self.pending:
            seq = slice_sequence(filled, start, start + len(w.frames))
            start += len(w.frames)
            if self.executor is not None:
                job: Future | Lifted = self.executor.submit(lift_all, self.backends, seq, self.attention)
            else:
                job = lift_all(self.backends, seq, self.attention)
            self.in_flight.append((w, job, seq))
        self.context = self.pending[-1].frames
        self.pending.clear()

    def results(self, final: bool) -> Iterator[FrameResult]:
        """The results of the lifted windows, in order: those ready (all, when ``final``)."""
        while self.in_flight and (final or len(self.in_flight) > MAX_IN_FLIGHT or _ready(self.in_flight[0][1])):
            win, job, seq = self.in_flight.popleft()
            lifted = job.result() if isinstance(job, Future) else job
            yield from _window_results(win, seq, lifted)


def _ready(job: object) -> bool:
    return not isinstance(job, Future) or job.done()


def _window_results(win: _Window, seq: Pose2DSequence, lifted: Lifted) -> Iterator[FrameResult]:
    n = len(win.frames)
    per_frame = {name: secs * 1000.0 / n for name, (_, secs) in lifted.items()}
    lifts = {name: lift for name, (lift, _) in lifted.items()}
    done = time.perf_counter()
    for i in range(n):
        timings = {"decode": win.decode_s[i] * 1000.0, "detect": win.detect_s[i] * 1000.0, **per_frame}
        yield frame_result(
            seq,
            i,
            lifts,
            index=win.start + i,
            timings_ms=timings,
            image=win.images[i],
            latency_s=done - win.capture[i],
        )


def iter_clip(
    backends: Sequence[LiftingBackend],
    detector_factory: Callable[[], object],
    source,
    *,
    size: int,
    attention: bool = False,
    keep_images: bool = False,
    cancel: threading.Event | None = None,
    pipelined: bool = True,
) -> Iterator[FrameResult]:
    """Process a clip, yielding one :class:`FrameResult` per frame, in order (see
    :meth:`scjd_core.pipeline.Pipeline.iter_clip`; ``size`` is the frames lifted together).

    Raises:
        NoPersonError: when nobody is found in any frame.
    """
    from scjd_core.errors import NoPersonError

    info: SourceInfo = source.info
    detector = detector_factory()  # before the decoding thread starts: it may fail
    decoder = FrameDecoder(source, threaded=pipelined)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scjd-lift") if pipelined else None
    lifting = _Lifting(backends, info, attention, executor)
    seen = 0
    try:
        current = _Window(0)
        frames = iter(decoder)
        while True:
            if cancel is not None and cancel.is_set():
                return
            item = next(frames, None)
            if item is not None:
                frame, decode_s = item
                t0 = time.perf_counter()
                det = detector.detect(frame)
                current.add(frame, det, decode_s, time.perf_counter() - t0, keep_images)
                seen += 1
            if len(current.frames) == size or (item is None and current.frames):
                lifting.push(current)
                current = _Window(seen)
            yield from lifting.results(final=item is None)
            if item is None:
                break
        if not lifting.any_found:
            raise NoPersonError(
                f"no person was detected in any of the {seen} frames of {info.name}: "
                "check that a whole body is visible and well lit"
            )
    finally:
        decoder.close()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        close = getattr(detector, "close", None)
        if close is not None:
            close()
