"""The one pipeline: frame source -> 2D detection -> 3D lifting, as a stream of results.

The ``scjd`` command line and the viewer's worker both drive :class:`Pipeline`; nothing
else re-implements a step. Two modes:

* **Clip** (:meth:`Pipeline.iter_clip`, :meth:`Pipeline.process`): frames are detected
  in order and lifted window by window (non-overlapping windows of the widest backend,
  aligned at frame 0), so results stream out while the rest of the clip is still being
  decoded. With ``pipelined=True`` decoding runs in its own thread and lifting in
  another, each behind a bounded queue, so the three stages overlap; the results are
  identical to the sequential run.
* **Live** (:meth:`Pipeline.iter_live`): every new frame is detected, and the window
  ending ``lookahead`` frames after the frame to show is lifted, so each result waits for
  at most ``lookahead`` future frames (the latency is reported per result).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.clip_result import ClipResult, collect_results
from scjd_core.decoding import FrameDecoder
from scjd_core.live_budget import LiveBudget
from scjd_core.types import (
    Detection2D,
    Frame,
    FrameResult,
    Lift3D,
    Pose2DSequence,
    SourceInfo,
    slice_sequence,
)

__all__ = ["Cancelled", "ClipResult", "Pipeline", "collect_results"]

DetectorFactory = Callable[[], "object"]


def _ready(job: object) -> bool:
    return not isinstance(job, Future) or job.done()


class Cancelled(Exception):
    """Raised by :meth:`Pipeline.process` when its ``cancel`` event was set."""


def _default_detector():
    from scjd_core.detect import MediaPipeDetector

    return MediaPipeDetector()


@dataclass
class _Window:
    """One window of frames waiting for, or done with, lifting."""

    start: int
    frames: list[Detection2D]
    images: list[np.ndarray | None]
    decode_s: list[float]
    detect_s: list[float]
    capture: list[float]


class Pipeline:
    """Source -> detector -> 3D backends.

    Args:
        detector: a callable returning a fresh 2D detector (one per run, since trackers
            keep state); the MediaPipe detector by default.
        backends: the 3D backends to run, in display order.
    """

    def __init__(
        self,
        detector: DetectorFactory | None = None,
        backends: Sequence[LiftingBackend] = (),
    ) -> None:
        self.detector_factory = detector or _default_detector
        self.backends = list(backends)

    @classmethod
    def from_names(
        cls,
        backends: Sequence[str] | str = ("student",),
        device: str = "auto",
        checkpoints: dict[str, str | None] | None = None,
        detector: DetectorFactory | None = None,
    ) -> Pipeline:
        """Build a pipeline from backend names (``teacher``, ``student``, ``mediapipe``, ``all``)."""
        from scjd_core.backends.registry import create_backends, parse_backends

        names = parse_backends(backends)
        return cls(detector=detector, backends=create_backends(names, device, checkpoints))

    @property
    def window(self) -> int:
        """Frames per lifting window: the widest backend's window (1 without backends)."""
        return max([b.window for b in self.backends] + [1])

    # ----------------------------------------------------------------------------- clip
    def iter_clip(
        self,
        source,
        *,
        attention: bool = False,
        keep_images: bool = False,
        cancel: threading.Event | None = None,
        pipelined: bool = True,
        window: int | None = None,
    ) -> Iterator[FrameResult]:
        """Process a clip, yielding one :class:`FrameResult` per frame, in order.

        Args:
            source: a frame source (see :func:`scjd_core.sources.open_source`).
            attention: also compute the backends' attention maps.
            keep_images: attach each frame's image to its result.
            cancel: when set, processing stops after the current frame.
            pipelined: decode and lift in background threads (same results either way).
            window: frames lifted together (default: the widest backend window, at
                least 64 so per-frame backends are batched too).

        Raises:
            NoPersonError: when nobody is found in any frame.
        """
        from scjd_core.detect import fill_gaps
        from scjd_core.errors import NoPersonError

        info: SourceInfo = source.info
        size = window or max(self.window, 64)
        detector = self.detector_factory()  # before the decoding thread starts: it may fail
        decoder = FrameDecoder(source, threaded=pipelined)
        lifter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scjd-lift") if pipelined else None
        in_flight: deque[tuple[_Window, Future | Pose2DSequence, object]] = deque()
        pending: list[_Window] = []  # windows waiting for the first detected person
        context: list[Detection2D] = []  # the previous window, for interpolating gaps
        seen = 0
        any_found = False
        try:
            current = _Window(0, [], [], [], [], [])
            frames = iter(decoder)
            while True:
                if cancel is not None and cancel.is_set():
                    return
                item = next(frames, None)
                if item is not None:
                    frame, decode_s = item
                    t0 = time.perf_counter()
                    det = detector.detect(frame)
                    current.detect_s.append(time.perf_counter() - t0)
                    current.decode_s.append(decode_s)
                    current.frames.append(det)
                    current.images.append(frame.image if keep_images else None)
                    current.capture.append(frame.capture_time)
                    any_found |= det.found
                    seen += 1
                full = len(current.frames) == size
                if full or (item is None and current.frames):
                    pending.append(current)
                    current = _Window(seen, [], [], [], [], [])
                    if any_found:  # fill the waiting windows' gaps together, then lift each
                        dets = context + [d for win in pending for d in win.frames]
                        filled = fill_gaps(dets, info)
                        start = len(context)
                        for win in pending:
                            seq = slice_sequence(filled, start, start + len(win.frames))
                            start += len(win.frames)
                            job = lifter.submit(self._lift, seq, attention) if lifter else None
                            in_flight.append((win, job or self._lift(seq, attention), seq))
                        context = pending[-1].frames
                        pending.clear()
                while in_flight and (item is None or len(in_flight) > 2 or _ready(in_flight[0][1])):
                    win, job, seq = in_flight.popleft()
                    lifted = job.result() if isinstance(job, Future) else job
                    yield from self._window_results(win, seq, lifted)
                if item is None:
                    break
            if not any_found:
                raise NoPersonError(
                    f"no person was detected in any of the {seen} frames of {info.name}: "
                    "check that a whole body is visible and well lit"
                )
        finally:
            decoder.close()
            if lifter is not None:
                lifter.shutdown(wait=True, cancel_futures=True)
            close = getattr(detector, "close", None)
            if close is not None:
                close()

    def _lift(self, seq: Pose2DSequence, attention: bool) -> dict[str, tuple[Lift3D, float]]:
        out = {}
        for backend in self.backends:
            t0 = time.perf_counter()
            out[backend.name] = (backend.lift(seq, attention=attention), time.perf_counter() - t0)
        return out

    @staticmethod
    def _window_results(
        win: _Window, seq: Pose2DSequence, lifted: dict[str, tuple[Lift3D, float]]
    ) -> Iterator[FrameResult]:
        n = len(win.frames)
        per_frame = {name: secs * 1000.0 / n for name, (_, secs) in lifted.items()}
        done = time.perf_counter()
        for i in range(n):
            timings = {"decode": win.decode_s[i] * 1000.0, "detect": win.detect_s[i] * 1000.0}
            timings.update(per_frame)
            yield FrameResult(
                index=win.start + i,
                time_s=float(seq.times[i]),
                keypoints=seq.keypoints[i],
                confidence=seq.confidence[i],
                found=bool(seq.found[i]),
                filled=bool(seq.filled[i]),
                poses={name: lift.poses[i] for name, (lift, _) in lifted.items()},
                attention={name: lift.attention[i] for name, (lift, _) in lifted.items() if lift.attention is not None},
                timings_ms=timings,
                image=win.images[i],
                latency_s=done - win.capture[i],
                box=None if seq.boxes is None else seq.boxes[i],
            )

    def process(
        self,
        source,
        *,
        attention: bool = False,
        keep_images: bool = False,
        on_progress: Callable[[int, int | None], None] | None = None,
        cancel: threading.Event | None = None,
        pipelined: bool = True,
    ) -> ClipResult:
        """Process a whole clip and collect it into a :class:`ClipResult`.

        Raises:
            Cancelled: when ``cancel`` was set before the end.
            NoPersonError: when nobody is found in any frame.
        """
        results: list[FrameResult] = []
        t0 = time.perf_counter()
        for res in self.iter_clip(
            source, attention=attention, keep_images=keep_images, cancel=cancel, pipelined=pipelined
        ):
            results.append(res)
            if on_progress is not None:
                on_progress(len(results), source.info.frame_count)
        if cancel is not None and cancel.is_set():
            raise Cancelled("processing was cancelled")
        return collect_results(results, source.info, self.backends, time.perf_counter() - t0, keep_images)

    # ----------------------------------------------------------------------------- live
    def iter_live(
        self,
        source,
        *,
        lookahead: int = 4,
        attention: bool = False,
        keep_images: bool = True,
        cancel: threading.Event | None = None,
        required: Sequence[str] = ("student",),
        frame_budget_s: float | None = None,
    ) -> Iterator[FrameResult]:
        """Process a live source: one result per new frame, ``lookahead`` frames behind it.

        Each new frame lifts one window whose last ``lookahead`` frames come after the
        frame shown, so a windowed model sees a little of the future and the result is
        at most ``lookahead`` frames late. ``latency_s`` is capture -> result ready.

        The backends named in ``required`` (or the first backend, when none of them is
        present) run on every frame; the others (the teacher) only when they fit in the
        frame budget, and at least once a second (see :class:`LiveBudget`). A result
        whose ``poses`` lacks a backend means that backend was skipped to keep up.

        Args:
            frame_budget_s: time one frame may take (default 1 / the source's fps).
        """
        info: SourceInfo = source.info
        names = [b.name for b in self.backends]
        must = [n for n in names if n in required] or names[:1]
        budget = LiveBudget(frame_budget_s if frame_budget_s is not None else 1.0 / max(info.fps, 1e-6), must)
        size = max(self.window, lookahead + 1)
        lookahead = max(0, min(lookahead, size - 1))
        dets: deque[Detection2D] = deque(maxlen=size)
        frames: deque[Frame] = deque(maxlen=lookahead + 1)
        detector = self.detector_factory()
        try:
            for frame in source:
                if cancel is not None and cancel.is_set():
                    return
                t0 = time.perf_counter()
                det = detector.detect(frame)
                t_detect = time.perf_counter() - t0
                dets.append(det)
                frames.append(frame)
                if len(frames) <= lookahead:
                    continue
                yield self._live_result(
                    dets, frames[0], lookahead, {"detect": t_detect * 1000.0}, attention, keep_images, info, budget
                )
            # End of a finite stream: the last ``lookahead`` frames get their results too.
            unshown = len(frames) - 1 if len(frames) > lookahead else len(frames)
            for ahead in range(unshown - 1, -1, -1):
                shown = frames[len(frames) - 1 - ahead]
                yield self._live_result(dets, shown, ahead, {}, attention, keep_images, info, budget)
        finally:
            close = getattr(detector, "close", None)
            if close is not None:
                close()

    def _live_result(
        self,
        dets: deque[Detection2D],
        shown: Frame,
        ahead: int,
        timings: dict[str, float],
        attention: bool,
        keep_images: bool,
        info: SourceInfo,
        budget: LiveBudget,
    ) -> FrameResult:
        """Lift the buffered window and return the result of the frame ``ahead`` frames from its end."""
        from scjd_core.detect import fill_gaps

        if not any(d.found for d in dets):
            return self._empty_result(shown, timings, keep_images, dets[len(dets) - 1 - ahead].box)
        seq = fill_gaps(list(dets), info)
        pos = len(seq) - 1 - ahead
        poses, att = {}, {}
        chosen = budget.choose([b.name for b in self.backends], shown.time_s)
        base = timings.get("detect", 0.0) / 1000.0
        for backend in self.backends:
            if backend.name not in chosen:
                continue
            t0 = time.perf_counter()
            lifted = backend.lift(seq, attention=attention)
            spent = time.perf_counter() - t0
            timings[backend.name] = spent * 1000.0
            budget.record(backend.name, spent, shown.time_s)
            if backend.name in budget.required:
                base += spent
            poses[backend.name] = lifted.poses[pos]
            if lifted.attention is not None:
                att[backend.name] = lifted.attention[pos]
        budget.record_base(base)
        return FrameResult(
            index=shown.index,
            time_s=shown.time_s,
            keypoints=seq.keypoints[pos],
            confidence=seq.confidence[pos],
            found=bool(seq.found[pos]),
            filled=bool(seq.filled[pos]),
            poses=poses,
            attention=att,
            timings_ms=timings,
            image=shown.image if keep_images else None,
            latency_s=time.perf_counter() - shown.capture_time,
            box=None if seq.boxes is None else seq.boxes[pos],
        )

    @staticmethod
    def _empty_result(
        frame: Frame, timings: dict[str, float], keep_images: bool, box: np.ndarray | None = None
    ) -> FrameResult:
        from scjd_core.skeleton import NUM_JOINTS

        return FrameResult(
            index=frame.index,
            time_s=frame.time_s,
            keypoints=np.zeros((NUM_JOINTS, 2), np.float32),
            confidence=np.zeros(NUM_JOINTS, np.float32),
            found=False,
            filled=False,
            poses={},
            attention={},
            timings_ms=timings,
            image=frame.image if keep_images else None,
            latency_s=time.perf_counter() - frame.capture_time,
            box=box,
        )
