"""2D keypoint files (``.npz`` / ``.csv``) as viewer inputs.

The core's :class:`~scjd_core.detect.KeypointFileDetector` serves the file's keypoints
to the pipeline in place of MediaPipe; :class:`KeypointCanvasSource` gives the pipeline
one blank frame per row (the file has no images), so the video panel shows the 2D
skeleton on a plain canvas and everything else runs exactly as for a video.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np

from scjd_core.detect import KeypointFileDetector
from scjd_core.types import Frame, SourceInfo

#: Suffixes of the 2D keypoint files the core reads.
KEYPOINT_SUFFIXES = (".npz", ".csv")
#: Grey level of the blank canvas.
CANVAS_LEVEL = 40


def is_keypoint_file(spec: str) -> bool:
    """Whether ``spec`` names a 2D keypoint file (by its suffix)."""
    return Path(spec).suffix.lower() in KEYPOINT_SUFFIXES


def keypoint_detector(spec: str):
    """A detector factory for the pipeline that serves the file's keypoints."""
    return partial(KeypointFileDetector, spec)


class KeypointCanvasSource:
    """Blank frames, one per row of a keypoint file, sized as the file says.

    Raises:
        InputError: (from the core) when the file is missing, malformed, or gives no
            image size.
    """

    def __init__(self, spec: str) -> None:
        detector = KeypointFileDetector(spec)
        self.info: SourceInfo = detector.info
        self._count = len(detector)

    def __iter__(self) -> Iterator[Frame]:
        canvas = np.full((self.info.height, self.info.width, 3), CANVAS_LEVEL, np.uint8)
        for i in range(self._count):
            yield Frame(i, i / self.info.fps, canvas, time.perf_counter())

    def close(self) -> None:
        """Nothing to release (for the source protocol)."""
