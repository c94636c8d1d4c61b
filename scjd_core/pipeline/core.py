"""The :class:`Pipeline` object: a detector and 3D backends, driven in clip or live mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

from scjd_core.backends.base import LiftingBackend
from scjd_core.pipeline.clip import iter_clip as clip_mode
from scjd_core.pipeline.live import LIVE_LOOKAHEAD
from scjd_core.pipeline.live import iter_live as live_mode
from scjd_core.pipeline.results import ClipResult, collect_results
from scjd_core.types import FrameResult

DetectorFactory = Callable[[], "object"]

#: Frames lifted together in clip mode, at least (so per-frame backends are batched too).
MIN_CLIP_WINDOW = 64


class Cancelled(Exception):
    """Raised by :meth:`Pipeline.process` when its ``cancel`` event was set."""


def _default_detector():
    from scjd_core.detect import MediaPipeDetector

    return MediaPipeDetector()


class Pipeline:
    """Source -> detector -> 3D backends.

    Args:
        detector: a callable returning a fresh 2D detector (one per run, since trackers
            keep state); the MediaPipe detector by default. For an input opened with
            :func:`scjd_core.inputs.open_input`, use :meth:`Input.pipeline
            <scjd_core.inputs.Input.pipeline>`, which brings the input's own detector.
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
        engine: str = "auto",
    ) -> Pipeline:
        """Build a pipeline from backend names (``teacher``, ``student``, ``mediapipe``, ``all``).

        Args:
            backends: the names (a list, or one comma-separated string).
            device: ``auto``, ``cpu`` or ``cuda``.
            checkpoints: backend name -> checkpoint path (None: the shipped weights).
            detector: the 2D detector factory (default: MediaPipe).
            engine: the models' inference engine: ``auto`` (time PyTorch and ONNX Runtime
                here, keep the faster; what ``scjd process`` and the viewer use by
                default), ``torch`` or ``onnx``.
        """
        from scjd_core.backends.registry import create_backends, parse_backends

        names = parse_backends(backends)
        return cls(detector=detector, backends=create_backends(names, device, checkpoints, engine=engine))

    @property
    def window(self) -> int:
        """Frames per lifting window: the widest backend's window (1 without backends)."""
        return max([b.window for b in self.backends] + [1])

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
        """Process a clip, yielding one :class:`FrameResult` per frame, in order (see
        :mod:`scjd_core.pipeline.clip`).

        Args:
            source: a frame source (:func:`scjd_core.sources.open_source`, or an
                :class:`~scjd_core.inputs.Input`).
            attention: also compute the backends' attention maps.
            keep_images: attach each frame's image to its result.
            cancel: when set, processing stops after the current frame.
            pipelined: decode and lift in background threads (same results either way).
            window: frames lifted together (default: the widest backend window, at
                least :data:`MIN_CLIP_WINDOW` so per-frame backends are batched too).

        Raises:
            NoPersonError: when nobody is found in any frame.
        """
        return clip_mode(
            self.backends,
            self.detector_factory,
            source,
            size=window or max(self.window, MIN_CLIP_WINDOW),
            attention=attention,
            keep_images=keep_images,
            cancel=cancel,
            pipelined=pipelined,
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

    def iter_live(
        self,
        source,
        *,
        lookahead: int = LIVE_LOOKAHEAD,
        attention: bool = False,
        keep_images: bool = True,
        cancel: threading.Event | None = None,
        required: Sequence[str] = ("student",),
        frame_budget_s: float | None = None,
    ) -> Iterator[FrameResult]:
        """Process a live source: one result per new frame, ``lookahead`` frames behind it
        (see :mod:`scjd_core.pipeline.live`).

        Each new frame lifts one window whose last ``lookahead`` frames come after the
        frame shown, so a windowed model sees a little of the future and the result is
        at most ``lookahead`` frames late. ``latency_s`` is capture -> result ready.

        The backends named in ``required`` (or the first backend, when none of them is
        present) and the free ones (ground truth, MediaPipe's own 3D) run on every
        frame; the others (the teacher) only when they fit in the frame budget, and at
        least once a second (see :class:`~scjd_core.live_budget.LiveBudget`). A result
        whose ``poses`` lacks a backend means that backend was skipped to keep up
        (:func:`collect_results` fills such frames from their neighbours).

        Args:
            frame_budget_s: time one frame may take (default 1 / the source's fps).
        """
        return live_mode(
            self.backends,
            self.detector_factory,
            source,
            size=self.window,
            lookahead=lookahead,
            attention=attention,
            keep_images=keep_images,
            cancel=cancel,
            required=required,
            frame_budget_s=frame_budget_s,
        )
