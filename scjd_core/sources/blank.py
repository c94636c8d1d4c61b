"""Blank frames for clips that have no images (2D keypoint files, mocap clips)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from scjd_core.sources.base import FrameSource
from scjd_core.types import Frame, SourceInfo

#: Grey level of the blank canvas (dark, so a skeleton drawn on it stands out).
CANVAS_LEVEL = 40


class BlankFrameSource(FrameSource):
    """One blank frame per frame of a clip that has no images, sized as the clip says.

    The pipeline runs on these exactly as on a video: the detector serving the clip's
    keypoints (:class:`~scjd_core.detect.KeypointDetector`) reads each frame's index, and
    the viewer draws the 2D skeleton on the plain canvas. Frame ``i`` is at ``i / fps``.
    The canvas is one read-only image shared by every frame (nothing is decoded).

    Args:
        info: the clip's frame rate, size and frame count (which must be known).
    """

    def __init__(self, info: SourceInfo) -> None:
        super().__init__()
        if info.frame_count is None:
            raise ValueError("a blank source needs the clip's frame count")
        self.info = info
        self._canvas = np.full((info.height, info.width, 3), CANVAS_LEVEL, np.uint8)
        self._canvas.flags.writeable = False

    def _frames(self) -> Iterator[Frame]:
        for i in range(self.info.frame_count or 0):
            yield Frame(i, i / self.info.fps, self._canvas, time.perf_counter())
