"""Video files, decoded with OpenCV (FFmpeg)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scjd_core.errors import InputError
from scjd_core.native_stderr import filtered_stderr
from scjd_core.sources.base import FrameSource, import_cv2, valid_fps
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


class VideoFileSource(FrameSource):
    """Frames of a video file, in order, with ``time_s = index / fps``.

    The file is probed when the source is created (it must open and yield a first
    frame), so problems surface before any processing starts. Each iteration starts
    again from the first frame.

    Args:
        path: the video file (anything OpenCV's FFmpeg build decodes: mp4, avi, mov, mkv...).

    Raises:
        InputError: when the file is missing, unreadable, not a video, or has no frames.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
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
            fps = valid_fps(cap.get(cv2.CAP_PROP_FPS))
        finally:
            cap.release()
        self.info = SourceInfo(
            name=self.path.name,
            kind="video",
            fps=fps,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            frame_count=count if count > 0 else None,
        )
        self._cap: Any = None

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
        cap = self._open()
        self._cap = cap
        fps = self.info.fps
        index = 0
        try:
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    return
                yield Frame(index, index / fps, image, time.perf_counter())
                index += 1
        finally:
            cap.release()
            if self._cap is cap:
                self._cap = None

    def close(self) -> None:
        """Release the decoder (if a pass over the file is in progress)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        super().close()
