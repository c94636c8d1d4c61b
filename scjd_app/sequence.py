"""2D keypoint files (``.npz`` / ``.csv``) and mocap sequences as viewer inputs.

A motion-capture file (``.bvh``, or ``.amc`` with its ``.asf``) opens as a *dataset
sequence*: the core projects it through a fixed virtual camera
(:func:`scjd_core.mocap.view.view_mocap`), its 2D runs through the pipeline like a
keypoint file, and its true 3D comes along as the ``ground_truth`` backend, so the
error panel shows each model's error against ground truth.

The core's :class:`~scjd_core.detect.KeypointFileDetector` serves the file's keypoints
to the pipeline in place of MediaPipe; :class:`KeypointCanvasSource` gives the pipeline
one blank frame per row (the file has no images), so the video panel shows the 2D
skeleton on a plain canvas and everything else runs exactly as for a video.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from scjd_core.backends.ground_truth import GroundTruthBackend
from scjd_core.detect import KeypointFileDetector
from scjd_core.mocap.view import view_mocap, write_view_keypoints
from scjd_core.types import Frame, SourceInfo

#: Suffixes of the 2D keypoint files the core reads.
KEYPOINT_SUFFIXES = (".npz", ".csv")
#: Suffixes of the mocap files opened as sequences with ground truth.
MOCAP_SUFFIXES = (".bvh", ".amc")
#: Grey level of the blank canvas.
CANVAS_LEVEL = 40


def is_mocap_file(spec: str) -> bool:
    """Whether ``spec`` names a mocap file opened as a sequence with ground truth."""
    return Path(spec).suffix.lower() in MOCAP_SUFFIXES


def is_keypoint_file(spec: str) -> bool:
    """Whether ``spec`` names a 2D keypoint file, or a mocap file (served as one)."""
    return Path(spec).suffix.lower() in KEYPOINT_SUFFIXES or is_mocap_file(spec)


@lru_cache(maxsize=4)
def mocap_sequence(spec: str) -> tuple[str, GroundTruthBackend]:
    """The keypoint file (written once, in a temporary folder) and the ground truth of a mocap file."""
    view = view_mocap(spec)
    folder = Path(tempfile.mkdtemp(prefix="scjd-seq-"))
    path = write_view_keypoints(view, folder / f"{view.name}.npz")
    return str(path), GroundTruthBackend(view.truth, view.fps)


def keypoint_path(spec: str) -> str:
    """The keypoint file behind ``spec`` (the file itself, or a mocap file's projection)."""
    return mocap_sequence(spec)[0] if is_mocap_file(spec) else spec


def keypoint_detector(spec: str):
    """A detector factory for the pipeline that serves the file's keypoints."""
    return partial(KeypointFileDetector, keypoint_path(spec))


class KeypointCanvasSource:
    """Blank frames, one per row of a keypoint file, sized as the file says.

    Raises:
        InputError: (from the core) when the file is missing, malformed, or gives no
            image size.
    """

    def __init__(self, spec: str) -> None:
        detector = KeypointFileDetector(keypoint_path(spec))
        self.info: SourceInfo = detector.info
        self._count = len(detector)

    def __iter__(self) -> Iterator[Frame]:
        canvas = np.full((self.info.height, self.info.width, 3), CANVAS_LEVEL, np.uint8)
        for i in range(self._count):
            yield Frame(i, i / self.info.fps, canvas, time.perf_counter())

    def close(self) -> None:
        """Nothing to release (for the source protocol)."""
