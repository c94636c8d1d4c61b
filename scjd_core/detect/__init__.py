"""2D detection: detectors that find the 17 joints in frames, and gap filling.

``MediaPipeDetector`` imports mediapipe only when it is created, so importing this
package is cheap.
"""

from __future__ import annotations

from scjd_core.detect.base import Detector2D, detect_all, empty_detection
from scjd_core.detect.gaps import fill_gaps
from scjd_core.detect.keypoint_file import KEYPOINT_SUFFIXES, KeypointDetector, KeypointFileDetector
from scjd_core.detect.mediapipe_pose import MediaPipeDetector

__all__ = [
    "KEYPOINT_SUFFIXES",
    "Detector2D",
    "KeypointDetector",
    "KeypointFileDetector",
    "MediaPipeDetector",
    "detect_all",
    "empty_detection",
    "fill_gaps",
]
