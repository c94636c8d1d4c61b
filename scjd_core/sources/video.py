"""Video files, decoded with OpenCV (FFmpeg)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scjd_core.errors import DamagedVideoError, InputError
from scjd_core.native_stderr import filtered_stderr
from scjd_core.sources.base import DEFAULT_FPS, FrameSource, import_cv2
from scjd_core.types import Frame, SourceInfo

_CONVERT_HINT = "convert it to MP4 (H.264), e.g. `ffmpeg -i INPUT -c:v libx264 OUTPUT.mp4`"


def check_input_file(path: Path, what: str) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, readable regular file."""
    if not path.exists():
        raise InputError(f"{what} not found: {path}: check the path and the file name")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a {what}: give a file (or pass the folder as an image folder)")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read {what} {path}: permission denied; check the file's permissions")


#: Frame rates a container may state and be taken as given; outside it ``fps`` is needed.
MIN_FPS: float = 1.0
MAX_FPS: float = 10000.0
#: Failed reads in a row tolerated (reading past damaged packets) while frames remain.
MAX_FAILED_READS = 64


def missing_frames_allowed(expected: int) -> int:
    """Frames a pass may lack before the video counts as damaged (containers that store no
    frame count give OpenCV an estimate from the duration, which can be one frame off)."""
    return max(1, round(0.01 * expected))


class VideoFileSource(FrameSource):
    """Frames of a video file, in order, each with its timestamp from the container.

    The file is probed when the source is created (it must open and yield a first
    frame), so problems surface before any processing starts. Each iteration starts
    again from the first frame.

    * **Time**: ``time_s`` is the frame's presentation time in the container, relative to
      the first frame, so variable-frame-rate videos get their real times;
      ``info.fps`` is the rate the container states (for a variable rate, the average).
      A stated rate outside ``MIN_FPS``-``MAX_FPS`` is refused (pass ``fps``), never
      replaced; a missing one is taken as 30 fps with a warning in :attr:`warnings`.
      With ``fps`` given, it is used as is and ``time_s = index / fps``.
    * **Damage**: reading goes on past packets that fail to decode. When a pass ends
      with fewer frames than the container lists, :class:`DamagedVideoError` is raised
      at the end of the pass (naming the frames read and expected), or, with
      ``allow_partial``, :attr:`partial` records ``(read, expected)`` and a warning is
      added to :attr:`warnings`.
    * FFmpeg's own messages are switched off (``SCJD_NATIVE_LOGS=1`` shows them).

    Args:
        path: the video file (anything OpenCV's FFmpeg build decodes: mp4, avi, mov, mkv...).
        fps: the frame rate to use instead of the container's (any positive number).
        allow_partial: accept a video that decodes only in part.

    Raises:
        InputError: when the file is missing, unreadable, not a video, has no frames, or
            states an unusable frame rate (and ``fps`` is not given).

    Attributes:
        warnings: messages for the user (missing frame rate, partial decode).
        partial: ``(frames read, frames expected)`` after a pass that came up short.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float | None = None, allow_partial: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.allow_partial = allow_partial
        self.warnings: list[str] = []
        self.partial: tuple[int, int] | None = None
        check_input_file(self.path, "video file")
        cv2 = import_cv2()
        cap = self._open()
        try:
            with filtered_stderr():
                ok, image = cap.read()
            if not ok or image is None:
                raise InputError(
                    f"video {self.path.name} contains no frames (empty, truncated or damaged): "
                    f"re-export or re-download it, or {_CONVERT_HINT}"
                )
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            stated = cap.get(cv2.CAP_PROP_FPS)
        finally:
            cap.release()
        rate, self._container_times = self._frame_rate(stated, fps)
        self.info = SourceInfo(
            name=self.path.name,
            kind="video",
            fps=rate,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            frame_count=count if count > 0 else None,
        )
        self._cap: Any = None

    def _frame_rate(self, stated: float, given: float | None) -> tuple[float, bool]:
        """The frame rate to use, and whether frame times come from the container."""
        name = self.path.name
        if given is not None:
            rate = float(given)
            if not (math.isfinite(rate) and rate > 0):
                raise InputError(f"the frame rate must be a positive number of frames per second, got {given!r}")
            return rate, False
        try:
            rate = float(stated)
        except (TypeError, ValueError):
            rate = 0.0
        if not math.isfinite(rate) or rate <= 0:
            self.warnings.append(
                f"video {name} does not state its frame rate: {DEFAULT_FPS:g} fps is assumed for the BVH "
                "frame time and smoothing (frame times come from the video); pass --fps N to set it"
            )
            return DEFAULT_FPS, True
        if not MIN_FPS <= rate <= MAX_FPS:
            raise InputError(
                f"video {name} states a frame rate of {rate:g} fps, outside the {MIN_FPS:g}-{MAX_FPS:g} fps "
                f"taken as given: pass the real rate with --fps N (or --fps {rate:g} to use it anyway)"
            )
        return rate, True

    def _open(self) -> Any:
        cv2 = import_cv2()
        with filtered_stderr():
            cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise InputError(
                f"cannot open {self.path.name} as a video: it is not a video file, or it is damaged, "
                f"or its codec is not supported: {_CONVERT_HINT}"
            )
        return cap

    def _frames(self) -> Iterator[Frame]:
        cv2 = import_cv2()
        cap = self._open()
        self._cap = cap
        fps = self.info.fps
        expected = self.info.frame_count
        index = 0
        failed = 0
        first_ms: float | None = None
        last_time = -math.inf
        try:
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    failed += 1
                    # Past the listed frames, or too many failures in a row: the end.
                    if expected is None or index >= expected or failed > MAX_FAILED_READS:
                        break
                    continue  # a damaged packet: try the next one
                failed = 0
                time_s = index / fps
                if self._container_times:
                    ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                    if first_ms is None:
                        first_ms = ms
                    stamp = (ms - first_ms) / 1000.0
                    # a container without usable times (or a broken one): count frames instead
                    time_s = stamp if math.isfinite(stamp) and stamp > last_time else last_time + 1.0 / fps
                    if index == 0:
                        time_s = 0.0
                last_time = time_s
                yield Frame(index, time_s, image, time.perf_counter())
                index += 1
        finally:
            cap.release()
            if self._cap is cap:
                self._cap = None
        if expected is not None and expected - index > missing_frames_allowed(expected):
            self._came_up_short(index, expected, last_time)

    def _came_up_short(self, read: int, expected: int, last_time: float) -> None:
        self.partial = (read, expected)
        what = (
            f"video {self.path.name} is damaged or cut off: {read} of the {expected} frames its container "
            f"lists could be decoded (the last at {max(last_time, 0.0):.2f} s)"
        )
        if not self.allow_partial:
            raise DamagedVideoError(
                f"{what}: re-export or re-download it, or pass --allow-partial to use the {read} frames that decode"
            )
        self.warnings.append(f"{what}; using those {read} frames (--allow-partial)")

    def close(self) -> None:
        """Release the decoder (if a pass over the file is in progress)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        super().close()
