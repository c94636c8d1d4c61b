"""Finding the people in a frame, so the user can choose one (``scjd people``, the viewer).

MediaPipe Pose finds one person per image. To list several, :func:`find_people` runs it
in single-image mode, records the person it found, paints that person's box over with
grey and runs it again, until nobody more is found (or ``max_people``), on the whole
frame and then on square tiles of it (:func:`search_regions`: MediaPipe's person detector
sees a small square image, where people in a wide frame are small). It needs no model
beyond the one MediaPipe ships, so it works offline. People hidden behind the box of
someone found earlier (heavy overlap) can be missed; draw a box by hand for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scjd_core.detect.base import Detector2D
from scjd_core.detect.roi import MIN_SIDE, Box, person_box, shift_detection
from scjd_core.types import Frame

#: Fraction of a found person's box painted over (beyond the box) before looking again.
MASK_MARGIN = 0.05
#: Grey used to paint over people already found.
MASK_VALUE = 114


@dataclass(frozen=True)
class PersonCandidate:
    """A person found in a frame.

    Attributes:
        box: the box around their visible landmarks (pixels).
        score: MediaPipe's mean landmark visibility in [0, 1].
    """

    box: Box
    score: float


def _static_detector() -> Detector2D:
    from scjd_core.detect.mediapipe_pose import MediaPipeDetector

    return MediaPipeDetector(static_image_mode=True, smooth_landmarks=False)


def search_regions(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """``x0, y0, x1, y1`` regions searched: the whole image, then square tiles with half
    overlap along the longer side (MediaPipe's person detector sees a small square image,
    so a person in a wide frame is easier to find in a tile)."""
    regions = [(0, 0, width, height)]
    side = min(width, height)
    long_side = max(width, height)
    if long_side > 1.2 * side:
        steps = int(np.ceil((long_side - side) / (side / 2))) + 1
        for k in range(steps):
            start = int(round(min(k * side / 2, long_side - side)))
            regions.append((start, 0, start + side, height) if width >= height else (0, start, width, start + side))
    return regions


def find_people(
    image: np.ndarray,
    max_people: int = 6,
    detector_factory: Callable[[], Detector2D] = _static_detector,
) -> list[PersonCandidate]:
    """The people in ``image`` (BGR), left to right.

    Each region of :func:`search_regions` is searched in turn: a person found is recorded
    and painted over, and the region is searched again, until nobody more is found there.

    Args:
        image: ``(H, W, 3)`` uint8 BGR frame.
        max_people: stop after this many.
        detector_factory: a fresh single-image 2D detector (MediaPipe by default).
    """
    height, width = image.shape[:2]
    work = np.array(image, copy=True)
    found: list[PersonCandidate] = []
    with detector_factory() as detector:
        for x0, y0, x1, y1 in search_regions(width, height):
            while len(found) < max_people:
                crop = np.ascontiguousarray(work[y0:y1, x0:x1])
                det = shift_detection(detector.detect(Frame(0, 0.0, crop, 0.0)), x0, y0)
                detector.reset()
                box = person_box(det)
                box = None if box is None else box.clipped(width, height)
                if box is None or box.w < MIN_SIDE or box.h < MIN_SIDE:
                    break
                if any(box.iou(c.box) > 0.5 for c in found):  # painting over did not hide them
                    break
                visibility = det.landmarks[:, 3] if det.landmarks is not None else det.confidence
                found.append(PersonCandidate(box=box, score=float(np.mean(visibility))))
                bx0, by0, bx1, by1 = box.grown(MASK_MARGIN).pixel_bounds(width, height)
                work[by0:by1, bx0:bx1] = MASK_VALUE
    return sorted(found, key=lambda c: c.box.x)
