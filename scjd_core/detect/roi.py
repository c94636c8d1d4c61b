"""Choosing the person: a region of interest on the first frame, followed through the clip.

MediaPipe Pose follows *one* person, whoever its person detector finds first. When
several people are in view, :class:`RoiDetector` makes that choice the user's: the user
gives a box around the wanted person on the first frame (``scjd process --roi X,Y,W,H``,
or a drag in the viewer), and the 2D detector then only ever sees a crop around that
person:

* frame 0: the crop is the user's box, grown by :data:`FIRST_MARGIN` on each side (a
  tight box still shows whole limbs);
* every later frame: the crop is the person's box in the previous frame (all of
  MediaPipe's landmarks, face, hands and feet included), grown by :data:`MARGIN` of its
  larger side on each side, so the crop follows the person as they move;
* after a miss the crop stays where the person was last seen and widens a little per
  missed frame (up to :data:`MAX_MISS_GROWTH` times the margin), so they are re-acquired
  there when they reappear;
* a detection whose centre is farther than :data:`MAX_JUMP` box sizes from where the
  person was is refused (counted as a miss, and the detector's own tracker restarted), so
  the track never jumps to somebody else who walks into the crop.

Each :class:`~scjd_core.types.Detection2D` carries the crop it was searched in as
``box`` (x, y, width, height in pixels of the full frame), which the viewer draws and
the bundle records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from scjd_core.detect.base import Detector2D, empty_detection
from scjd_core.errors import InputError
from scjd_core.types import Detection2D, Frame

#: The first crop: the user's box grown by this fraction of its size on each side.
FIRST_MARGIN = 0.10
#: Later crops: the person's last box grown by this fraction of its larger side on each side.
MARGIN = 0.20
#: After misses the margin grows by half of itself per missed frame, up to this factor.
MAX_MISS_GROWTH = 3.0
#: A detection more than this many (last) person-box sizes from the last position is refused.
MAX_JUMP = 0.5
#: Smallest box side accepted (pixels): below it no detector finds a body.
MIN_SIDE = 16.0
#: Landmarks with MediaPipe visibility at least this count towards the person's box.
MIN_VISIBILITY = 0.3

_HINT = "give X,Y,W,H in pixels of the first frame (left, top, width, height), e.g. --roi 40,20,300,560"


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: left ``x``, top ``y``, width ``w``, height ``h``."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def parse(cls, text: str, what: str = "the box") -> Box:
        """Read ``"X,Y,W,H"`` (numbers in pixels; spaces allowed); ``what`` names it in errors.

        Raises:
            InputError: not four finite numbers, or a width or height that is not positive.
        """
        parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise InputError(f"{what} {text!r} is not four numbers X,Y,W,H: {_HINT}")
        box = cls(*values)
        if box.w <= 0 or box.h <= 0:
            raise InputError(f"{what} {text!r} has zero or negative size (W={box.w:g}, H={box.h:g}): {_HINT}")
        return box

    @classmethod
    def from_array(cls, values) -> Box:
        """A box from ``(x, y, w, h)``."""
        x, y, w, h = (float(v) for v in values)
        return cls(x, y, w, h)

    def as_array(self) -> np.ndarray:
        """``(4,)`` float32 ``x, y, w, h``."""
        return np.array([self.x, self.y, self.w, self.h], dtype=np.float32)

    def text(self) -> str:
        """``"X,Y,W,H"`` rounded to whole pixels (what ``--roi`` takes)."""
        return ",".join(str(int(round(v))) for v in (self.x, self.y, self.w, self.h))

    @property
    def center(self) -> tuple[float, float]:
        """The box's centre ``(x, y)``."""
        return self.x + self.w / 2.0, self.y + self.h / 2.0

    @property
    def size(self) -> float:
        """The larger side."""
        return max(self.w, self.h)

    def grown(self, fraction_x: float, fraction_y: float | None = None) -> Box:
        """The box grown by ``fraction_x * w`` left and right, ``fraction_y * h`` above and below."""
        fy = fraction_x if fraction_y is None else fraction_y
        dx, dy = fraction_x * self.w, fy * self.h
        return Box(self.x - dx, self.y - dy, self.w + 2 * dx, self.h + 2 * dy)

    def padded(self, pixels: float) -> Box:
        """The box grown by ``pixels`` on every side."""
        return Box(self.x - pixels, self.y - pixels, self.w + 2 * pixels, self.h + 2 * pixels)

    def clipped(self, width: int, height: int) -> Box | None:
        """The part of the box inside a ``width`` x ``height`` image (None when none is)."""
        x0, y0 = max(self.x, 0.0), max(self.y, 0.0)
        x1, y1 = min(self.x + self.w, float(width)), min(self.y + self.h, float(height))
        if x1 <= x0 or y1 <= y0:
            return None
        return Box(x0, y0, x1 - x0, y1 - y0)

    def pixel_bounds(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Whole-pixel ``x0, y0, x1, y1`` covering the box, inside the image (at least 1 pixel)."""
        x0 = min(max(int(math.floor(self.x)), 0), width - 1)
        y0 = min(max(int(math.floor(self.y)), 0), height - 1)
        x1 = min(max(int(math.ceil(self.x + self.w)), x0 + 1), width)
        y1 = min(max(int(math.ceil(self.y + self.h)), y0 + 1), height)
        return x0, y0, x1, y1

    def contains(self, x: float, y: float) -> bool:
        """Is the point ``(x, y)`` inside the box (edges included)?"""
        return self.x <= x <= self.x + self.w and self.y <= y <= self.y + self.h

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other``."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


def check_roi(box: Box, width: int, height: int, what: str = "--roi") -> Box:
    """The ROI inside a ``width`` x ``height`` first frame (a box partly outside is cut to the image).

    Raises:
        InputError: the box lies outside the image, or what is left inside is too small.
    """
    inside = box.clipped(width, height)
    if inside is None:
        raise InputError(
            f"{what} {box.text()} lies outside the {width}x{height} image: give a box inside it, in pixels from "
            "the top-left corner (`scjd people INPUT` lists the people it finds, with their boxes)"
        )
    if inside.w < MIN_SIDE or inside.h < MIN_SIDE:
        raise InputError(
            f"{what} {box.text()} covers only {inside.w:.0f}x{inside.h:.0f} pixels of the {width}x{height} image: "
            f"draw the box around the whole person (at least {MIN_SIDE:.0f} pixels each way)"
        )
    return inside


def person_box(det: Detection2D) -> Box | None:
    """The box around a detected person: every visible landmark (or, without landmarks,
    every joint with some confidence); None when nobody was found."""
    if not det.found:
        return None
    if det.landmarks is not None:
        pts = np.asarray(det.landmarks, dtype=np.float64)
        use = pts[:, 3] >= MIN_VISIBILITY
        pts = pts[use if use.sum() >= 4 else slice(None), :2]
    else:
        conf = np.asarray(det.confidence, dtype=np.float64)
        kp = np.asarray(det.keypoints, dtype=np.float64)
        pts = kp[conf > 0] if (conf > 0).sum() >= 2 else kp
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return Box(float(lo[0]), float(lo[1]), max(float(hi[0] - lo[0]), 1.0), max(float(hi[1] - lo[1]), 1.0))


def shift_detection(det: Detection2D, dx: float, dy: float) -> Detection2D:
    """``det`` found in a crop whose top-left corner is at ``(dx, dy)``, in full-frame pixels."""
    if not det.found:
        return det
    offset = np.array([dx, dy], dtype=np.float32)
    landmarks = None
    if det.landmarks is not None:
        landmarks = np.array(det.landmarks, dtype=np.float32, copy=True)
        landmarks[:, :2] += offset
    return replace(det, keypoints=(np.asarray(det.keypoints, np.float32) + offset), landmarks=landmarks)


class RoiDetector(Detector2D):
    """Follows the person inside ``roi`` (first frame) with ``inner`` run on a crop around them.

    Args:
        inner: the 2D detector to run on the crops (MediaPipe in tracking mode for
            video); closed with this one.
        roi: the box around the wanted person on the first frame, inside the image
            (see :func:`check_roi`).

    Attributes:
        roi: the first frame's box.
        track: where the person was last seen (their box), or the ROI before that.
        misses: frames since the person was last seen.
    """

    def __init__(self, inner: Detector2D, roi: Box) -> None:
        self._inner = inner
        self.name = inner.name
        self.roi = roi
        self.track: Box = roi
        self.misses = 0
        self._started = False

    def search_box(self, width: int, height: int) -> Box:
        """The crop the next frame is searched in (full-frame pixels, inside the image)."""
        if not self._started:
            box = self.roi.grown(FIRST_MARGIN)
        else:
            grow = min(1.0 + 0.5 * self.misses, MAX_MISS_GROWTH)
            box = self.track.padded(MARGIN * grow * self.track.size)
        return box.clipped(width, height) or Box(0.0, 0.0, float(width), float(height))

    def detect(self, frame: Frame) -> Detection2D:
        """Detect the tracked person in ``frame``; ``box`` holds the crop searched."""
        height, width = frame.image.shape[:2]
        search = self.search_box(width, height)
        x0, y0, x1, y1 = search.pixel_bounds(width, height)
        crop = np.ascontiguousarray(frame.image[y0:y1, x0:x1])
        det = self._inner.detect(Frame(frame.index, frame.time_s, crop, frame.capture_time))
        det = shift_detection(det, x0, y0)
        searched = Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0)).as_array()
        person = person_box(det)
        if person is not None and self._plausible(person):
            self.track = person
            self.misses = 0
            self._started = True
            return replace(det, box=searched)
        if person is not None:  # somebody else: forget them so the tracker looks again
            self._inner.reset()
        self.misses += 1
        self._started = True
        return replace(empty_detection(frame.index, frame.time_s), box=searched)

    def _plausible(self, person: Box) -> bool:
        """Is ``person`` the one we follow: near where they were last seen?"""
        cx, cy = person.center
        if not self._started:  # the user's box: the person's centre must be inside it
            return self.roi.grown(FIRST_MARGIN).contains(cx, cy)
        px, py = self.track.center
        reach = MAX_JUMP * self.track.size * min(1.0 + 0.5 * self.misses, MAX_MISS_GROWTH)
        return math.hypot(cx - px, cy - py) <= reach

    def reset(self) -> None:
        """Start again from the ROI (for a new clip)."""
        self._inner.reset()
        self.track = self.roi
        self.misses = 0
        self._started = False

    def close(self) -> None:
        """Close the inner detector."""
        self._inner.close()
