"""A live camera through OpenCV."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from scjd_core.errors import InputError
from scjd_core.native_stderr import filtered_stderr
from scjd_core.sources.base import FrameSource, import_cv2, valid_fps
from scjd_core.types import Frame, SourceInfo


def _open_capture(index: int) -> Any:
    """Open camera ``index`` with OpenCV (a seam for tests), buffering one frame only.

    Drivers queue several frames by default (V4L2: 4); a consumer slower than the camera
    would then get frames that waited in that queue, adding up to 4 frame times of
    latency. With a one-frame buffer each read gives the newest frame (where the backend
    supports ``CAP_PROP_BUFFERSIZE``; others ignore it).
    """
    cv2 = import_cv2()
    cap = cv2.VideoCapture(index)
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return cap


def _read_with_timeout(cap: Any, timeout_s: float) -> tuple[bool, np.ndarray | None, bool]:
    """``cap.read()`` that gives up after ``timeout_s``; returns ``(ok, image, timed_out)``."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.extend(cap.read()), daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return False, None, True
    ok, image = (result + [False, None])[:2]
    return bool(ok), image, False


class WebcamSource(FrameSource):
    """Frames from camera ``index`` as they arrive; ``time_s`` counts from the first frame.

    The camera is opened and a first frame is read when the source is created, so a
    missing or busy camera is reported at once (OpenCV's own probing warnings are kept
    off the terminal). The stream ends when the camera stops delivering frames.

    Args:
        index: the camera number (0 is the system's default camera).
        open_timeout_s: how long to wait for the first frame before giving up.

    Raises:
        InputError: when no camera has that index, it is busy, or it sends no frame.
    """

    def __init__(self, index: int = 0, open_timeout_s: float = 5.0) -> None:
        super().__init__()
        if index < 0:
            raise InputError(f"webcam index must be 0 or more, got {index}: use webcam:0 for the first camera")
        self.index = int(index)
        with filtered_stderr():
            cap = _open_capture(self.index)
            opened = bool(cap.isOpened())
            ok, image, timed_out = _read_with_timeout(cap, open_timeout_s) if opened else (False, None, False)
        if not opened or not ok or image is None:
            if not timed_out:
                cap.release()
            if not opened:
                problem = "no camera with that index, or it is in use by another program"
            elif timed_out:
                problem = f"it sent no frame within {open_timeout_s:g} s"
            else:
                problem = "it opened but sent no frame"
            raise InputError(
                f"webcam {self.index} could not be opened ({problem}): check that the camera is "
                "connected and free, or try another index such as webcam:0"
            )
        cv2 = import_cv2()
        self._cap: Any = cap
        self._first: np.ndarray | None = image
        self.info = SourceInfo(
            name=f"webcam:{self.index}",
            kind="webcam",
            fps=valid_fps(cap.get(cv2.CAP_PROP_FPS)),
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            frame_count=None,
        )
        self._index = 0
        self._t0: float | None = None

    def _frames(self) -> Iterator[Frame]:
        while not self._closed:
            if self._first is not None:
                image, self._first = self._first, None
                ok = True
            else:
                ok, image = self._cap.read()
            if not ok or image is None:
                return
            now = time.perf_counter()
            if self._t0 is None:
                self._t0 = now
            yield Frame(self._index, now - self._t0, image, now)
            self._index += 1

    def close(self) -> None:
        """Release the camera."""
        if not self._closed:
            self._cap.release()
        super().close()
