"""The frame-source interface and helpers shared by the concrete sources."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import ModuleType, TracebackType

from scjd_core.errors import MissingDependencyError
from scjd_core.types import Frame, SourceInfo

#: Frame rate assumed when a container does not state one.
DEFAULT_FPS: float = 30.0


def quiet_native_video_logs() -> None:
    """Keep FFmpeg's and OpenCV's own log lines (``[h264 @ 0x...] error while decoding``,
    ``[ WARN:0@...]``) off the terminal: SCJD reports decoding problems itself.

    Sets ``OPENCV_FFMPEG_LOGLEVEL`` (FFmpeg's ``av_log`` level, read when OpenCV first
    starts FFmpeg) and ``OPENCV_LOG_LEVEL`` unless they are set already, or
    ``SCJD_NATIVE_LOGS=1`` asks to see everything.
    """
    if os.environ.get("SCJD_NATIVE_LOGS") == "1":
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def import_cv2() -> ModuleType:
    """Import OpenCV lazily (with FFmpeg's log lines turned off, see :func:`quiet_native_video_logs`).

    Raises:
        MissingDependencyError: naming the install command when OpenCV is absent.
    """
    quiet_native_video_logs()
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - opencv is a core dependency
        raise MissingDependencyError(
            "OpenCV is not installed (needed to read videos and images): pip install opencv-python"
        ) from exc
    return cv2


def valid_fps(value: float, default: float = DEFAULT_FPS) -> float:
    """``value`` when it is a usable frame rate, else ``default``."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return default
    return fps if 0.0 < fps < 1000.0 else default


class FrameSource(ABC):
    """A stream of decoded frames: a video file, an image folder, a webcam.

    Use it as a context manager (``with open_source(spec) as src:``) and iterate it for
    :class:`~scjd_core.types.Frame` objects. Every frame carries its index, its time in
    the stream (``time_s``) and ``capture_time`` (``time.perf_counter()`` when it was
    read), which live mode uses to measure latency.

    Attributes:
        info: what the source knows about itself (fps, size, frame count or ``None``).
    """

    info: SourceInfo

    def __init__(self) -> None:
        self._closed = False

    @abstractmethod
    def _frames(self) -> Iterator[Frame]:
        """Yield the frames (called once per iteration)."""

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise RuntimeError(f"frame source {self.info.name} is closed")
        return self._frames()

    def close(self) -> None:
        """Release the underlying file or device; iterating afterwards is an error."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        return (
            f"{type(self).__name__}({i.name!r}, {i.width}x{i.height}, {i.fps:g} fps, "
            f"{i.frame_count if i.frame_count is not None else '?'} frames)"
        )
