"""The worker thread: drives the core pipeline and hands results to the GUI thread.

The worker never touches a widget. Each result is wrapped in an immutable
:class:`ViewFrame` (the core's :class:`~scjd_core.types.FrameResult` without its image,
a JPEG of the frame for display and the core's per-joint teacher-student error) and put
in a :class:`Mailbox`; the GUI thread is told with one coalesced ``ready`` signal and
drains the mailbox when it gets to it. In live mode the mailbox keeps only the newest
frame, so stale frames are dropped instead of queueing up.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QThread, Signal

from scjd_core.compare import errors_against_truth, teacher_student_error
from scjd_core.errors import ScjdError
from scjd_core.inputs import Input
from scjd_core.pipeline.live import LIVE_LOOKAHEAD
from scjd_core.types import FrameResult, SourceInfo

#: Longest side of the frames kept for display (pixels).
DISPLAY_SIZE = 640
#: JPEG quality of the frames kept for display.
JPEG_QUALITY = 85
#: Name of the error series when there is no ground truth.
TEACHER_VS_STUDENT = "teacher vs student"


@dataclass(frozen=True)
class Job:
    """What to process and how.

    Attributes:
        source: what :func:`scjd_core.inputs.open_input` opens: a video path, an image
            folder, ``webcam:N``, a 2D keypoint file or a mocap file.
        live: live mode (webcam or live-paced file): newest result drawn, stale dropped.
        backends: 3D backends to show (names for :meth:`Pipeline.from_names`); those that
            cannot run on an input (``mediapipe`` on a keypoint or mocap file) are left out.
        device: ``auto``, ``cpu`` or ``cuda``.
        engine: the models' inference engine, as ``scjd process --engine``: ``auto`` (time
            PyTorch and ONNX Runtime, keep the faster), ``torch`` or ``onnx``.
        checkpoints: backend name -> checkpoint path (None: the shipped weights).
        attention: ask the backends for their attention maps.
        lookahead: live mode's look-ahead in frames.
        options: extra keyword arguments for :meth:`Pipeline.from_names`.
        roi: the person to follow, ``(x, y, w, h)`` pixels on the first frame (the clip's,
            or for a webcam the frame it was chosen on); None: whoever MediaPipe finds.
    """

    source: str
    live: bool = False
    backends: tuple[str, ...] = ("teacher", "student")
    device: str = "auto"
    engine: str = "auto"
    checkpoints: tuple[tuple[str, str], ...] = ()
    attention: bool = True
    lookahead: int = LIVE_LOOKAHEAD
    options: tuple[tuple[str, object], ...] = ()
    roi: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class ViewFrame:
    """One frame as the viewer keeps it.

    Attributes:
        result: the core's result, with ``image`` dropped.
        jpeg: the frame downscaled to :data:`DISPLAY_SIZE` and JPEG-encoded (None when
            the source gave no image).
        width: the frame's width in pixels (before downscaling).
        height: the frame's height in pixels.
        error_mm: the core's per-joint teacher-student distance (mm), when both ran.
        errors: what the error panel shows, series name -> per-joint mm: each model
            against the ground truth when the frame has one, else the teacher-student
            distance (empty when neither applies).
        received_s: ``time.perf_counter()`` when the worker got the result.
    """

    result: FrameResult
    jpeg: bytes | None
    width: int
    height: int
    error_mm: np.ndarray | None
    errors: dict[str, np.ndarray] = field(default_factory=dict)
    received_s: float = field(default_factory=time.perf_counter)

    @property
    def index(self) -> int:
        """The frame number."""
        return self.result.index

    def image_rgb(self) -> np.ndarray | None:
        """Decode the display image as an ``(h, w, 3)`` RGB array."""
        if self.jpeg is None:
            return None
        import cv2

        bgr = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # a contiguous RGB copy, faster than a flipped view


def make_view_frame(result: FrameResult) -> ViewFrame:
    """Wrap a core result for display (runs on the worker thread)."""
    import cv2

    received = time.perf_counter()  # before the encoding: the latency shown includes it
    jpeg, width, height = None, 0, 0
    pair = teacher_student_error(result)
    if result.image is not None:
        height, width = result.image.shape[:2]
        scale = DISPLAY_SIZE / max(width, height)
        image = result.image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        jpeg = buf.tobytes() if ok else None
    return ViewFrame(
        result=replace(result, image=None),
        jpeg=jpeg,
        width=width,
        height=height,
        error_mm=pair,
        errors=errors_against_truth(result) or ({} if pair is None else {TEACHER_VS_STUDENT: pair}),
        received_s=received,
    )


class Mailbox:
    """A thread-safe hand-over box between the worker and the GUI thread.

    Args:
        maxlen: items kept; older ones are dropped (and counted) beyond it. None keeps
            everything (clip mode: every frame goes to the cache).
    """

    def __init__(self, maxlen: int | None = None) -> None:
        self._items: deque[ViewFrame] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._notified = False
        self.dropped = 0

    def put(self, item: ViewFrame) -> bool:
        """Add an item; True when the reader must be notified (nothing pending yet)."""
        with self._lock:
            if self._items.maxlen is not None and len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)
            notify = not self._notified
            self._notified = True
            return notify

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def drain(self) -> list[ViewFrame]:
        """Take every pending item (oldest first)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._notified = False
            return items


def default_pipeline(job: Job):
    """Load the 3D backends a job asks for, as ``scjd process`` does (same engine and device).

    The pipeline's detector and extra streams come from the input itself when the worker
    runs it (:meth:`scjd_core.inputs.Input.pipeline`), so one loaded pipeline serves every
    input opened with the same models.
    """
    from scjd_core.pipeline import Pipeline

    return Pipeline.from_names(
        backends=job.backends,
        device=job.device,
        checkpoints=dict(job.checkpoints) or None,
        engine=job.engine,
        **dict(job.options),
    )


def default_source(job: Job):
    """Open the input a job names (:func:`scjd_core.inputs.open_input`; raises the core's
    ``InputError`` when it cannot, e.g. a person's box outside the image)."""
    from scjd_core.detect.roi import Box
    from scjd_core.inputs import open_input

    roi = None if job.roi is None else Box(*job.roi)
    return open_input(job.source, live=job.live, roi=roi, roi_name="the person's box")


class PipelineWorker(QThread):
    """Runs one :class:`Job` through the core pipeline on its own thread.

    The source is opened by the caller (so a bad input is reported before the current
    clip is dropped); the worker reads it and closes it when the run ends.

    Signals:
        ready(): the mailbox has new frames (coalesced: one signal per drain).
        failed(str): a one-line message for the user (input, checkpoint, no person...).
        status(str): what the worker is doing (loading models, processing...).
        done(bool): the run ended; True when it was cancelled.
    """

    ready = Signal()
    failed = Signal(str)
    status = Signal(str)
    done = Signal(bool)

    def __init__(
        self,
        job: Job,
        source,
        pipeline_factory: Callable[[Job], object] = default_pipeline,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.job = job
        self.source = source
        self.info: SourceInfo = source.info
        self.mailbox = Mailbox(maxlen=1 if job.live else None)
        self.cancel_event = threading.Event()
        self.produced = 0
        self.device = job.device
        self.backends: list = []
        self._pipeline_factory = pipeline_factory

    def cancel(self) -> None:
        """Ask the run to stop after the current frame."""
        self.cancel_event.set()

    def stop(self, timeout_s: float = 20.0) -> bool:
        """Cancel and wait for the thread to end; True when it has ended."""
        self.cancel()
        return self.wait(int(timeout_s * 1000))

    def run(self) -> None:
        """Thread body: build the pipeline and stream the source's results."""
        try:
            self.status.emit("loading models…")
            pipeline = self._pipeline_factory(self.job)
            if isinstance(self.source, Input):  # its own detector and extra streams (ground truth)
                pipeline = self.source.pipeline(pipeline.backends)
            self.backends = list(pipeline.backends)
            self.device = ", ".join(sorted({getattr(b, "device", "?") for b in self.backends})) or "-"
            self.status.emit("live" if self.job.live else "processing…")
            self._stream(pipeline, self.source)
        except ScjdError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug, but the viewer must stay up and say what happened
            traceback.print_exc()
            self.failed.emit(f"processing failed: {type(exc).__name__}: {exc}")
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()
            self.done.emit(self.cancel_event.is_set())

    def _stream(self, pipeline, source) -> None:
        job = self.job
        if job.live:
            results = pipeline.iter_live(
                source, lookahead=job.lookahead, attention=job.attention, cancel=self.cancel_event
            )
        else:
            results = pipeline.iter_clip(source, attention=job.attention, keep_images=True, cancel=self.cancel_event)
        try:
            for result in results:
                if self.cancel_event.is_set():
                    break
                self.produced += 1
                if self.mailbox.put(make_view_frame(result)):
                    self.ready.emit()
        finally:
            results.close()
