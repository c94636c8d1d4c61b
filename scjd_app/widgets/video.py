"""The video panel: the current frame with the 2D skeleton drawn over it.

It is also where the user chooses the person to follow (:meth:`VideoPanel.begin_choice`):
the people found in the frame are offered as numbered boxes to click, or a box is
dragged around the wanted person; :attr:`VideoPanel.personChosen` then carries the box in
full-frame pixels. While a chosen person is followed, the crop the detector searched is
drawn around them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem

from scjd_app.widgets.palette import BACKGROUND, confidence_brushes
from scjd_app.worker import ViewFrame
from scjd_core.detect.roi import MIN_SIDE, Box
from scjd_core.skeleton import BONES

_BONE_INDEX = np.array(BONES, dtype=np.int64).reshape(-1)
#: Colour of the tracked person's box and of the offered boxes.
TRACK_COLOR = (255, 200, 60)
OFFER_COLOR = (90, 200, 255)
CHOICE_HINT = "click a person's box, or drag a box around them (Esc: cancel)"
NOBODY_HINT = "nobody found: drag a box around the person (Esc: cancel)"


def _rect_item(color: tuple[int, int, int], width: float = 2.0, dashed: bool = False) -> QGraphicsRectItem:
    item = QGraphicsRectItem()
    pen = pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    item.setPen(pen)
    item.setZValue(5)
    item.setVisible(False)
    return item


class _FrameImage(pg.ImageItem):
    """The frame image; in choice mode it turns clicks and drags into a chosen box."""

    def __init__(self, panel: VideoPanel) -> None:
        super().__init__(axisOrder="row-major")
        self._panel = panel

    def mouseClickEvent(self, ev) -> None:
        if not self._panel.choosing or ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        self._panel.click_at(self._panel.view.mapSceneToView(ev.scenePos()))

    def mouseDragEvent(self, ev) -> None:
        if not self._panel.choosing or ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        view = self._panel.view
        self._panel.drag_to(
            view.mapSceneToView(ev.buttonDownScenePos()), view.mapSceneToView(ev.scenePos()), ev.isFinish()
        )


class VideoPanel(pg.GraphicsLayoutWidget):
    """Frame image, 2D bones and joints coloured by the detector's confidence.

    Items are created once; :meth:`show_frame` only calls ``setData``/``setImage``.

    Signals:
        personChosen(Box): in choice mode, the box clicked or dragged (full-frame pixels).
    """

    personChosen = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setMinimumSize(240, 200)
        self.view: pg.ViewBox = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(x=False, y=False)
        self.image = _FrameImage(self)
        self.bones = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 200), width=2), connect="pairs")
        self.joints = pg.ScatterPlotItem(size=9, pen=pg.mkPen("k", width=1))
        self.note = pg.TextItem("", color=(255, 210, 80), anchor=(0.5, 0.5), fill=(0, 0, 0, 160))
        self.note.setZValue(10)
        self.note.setVisible(False)
        self.tracked = _rect_item(TRACK_COLOR)
        self.rubber = _rect_item((255, 255, 255), dashed=True)
        for item in (self.image, self.bones, self.joints, self.note, self.tracked, self.rubber):
            self.view.addItem(item)
        self.frame_size: tuple[int, int] = (0, 0)
        self.current: ViewFrame | None = None
        self.choosing = False
        self.candidates: list[Box] = []
        self._offers: list[tuple[QGraphicsRectItem, pg.TextItem]] = []

    def show_frame(self, frame: ViewFrame | None) -> None:
        """Draw ``frame`` (None clears the panel); ignored while the user is choosing a person."""
        if self.choosing:
            return
        self.current = frame
        self._show_tracked(None if frame is None else frame.result.box)
        if frame is None:
            self.bones.setData([], [])
            self.joints.setData([], [])
            self.note.setVisible(False)
            return
        res = frame.result
        rgb = frame.image_rgb()
        width, height = frame.width, frame.height
        if rgb is not None:
            self.image.setImage(rgb, autoLevels=False, levels=None)  # uint8 RGB as is: no rescaling pass
            self.image.setRect(QRectF(0, 0, width, height))
        if (width, height) != self.frame_size and width and height:
            self.frame_size = (width, height)
            self.view.setRange(QRectF(0, 0, width, height), padding=0.0)
        if res.found or res.filled:
            kp = np.asarray(res.keypoints, dtype=np.float64)
            pts = kp[_BONE_INDEX]
            self.bones.setData(pts[:, 0], pts[:, 1])
            self.joints.setData(kp[:, 0], kp[:, 1], brush=confidence_brushes(res.confidence))
        else:
            self.bones.setData([], [])
            self.joints.setData([], [])
        if not res.found:
            text = "no person found (gap filled)" if res.filled else "no person found"
            self.note.setText(text)
            self.note.setPos(width / 2 if width else 0, height / 2 if height else 0)
        self.note.setVisible(not res.found)

    def _show_tracked(self, box) -> None:
        if box is None or not np.isfinite(np.asarray(box, dtype=np.float64)).all():
            self.tracked.setVisible(False)
            return
        x, y, w, h = (float(v) for v in box)
        self.tracked.setRect(QRectF(x, y, w, h))
        self.tracked.setVisible(True)

    def tracked_box(self) -> Box | None:
        """The tracked person's box drawn now (None when none is): for tests."""
        if not self.tracked.isVisible():
            return None
        r = self.tracked.rect()
        return Box(r.x(), r.y(), r.width(), r.height())

    # ------------------------------------------------------------------ choosing a person
    def begin_choice(self, rgb: np.ndarray | None, width: int, height: int, candidates: Sequence[Box]) -> None:
        """Show a frame (``rgb``, any size, stretched over ``width`` x ``height`` pixels) with
        the people found in it as numbered boxes, and wait for a click or a drag."""
        self.end_choice()
        self.choosing = True
        self.candidates = list(candidates)
        if rgb is not None:
            self.image.setImage(rgb, autoLevels=False, levels=None)  # uint8 RGB as is: no rescaling pass
            self.image.setRect(QRectF(0, 0, width, height))
        self.frame_size = (width, height)
        self.view.setRange(QRectF(0, 0, width, height), padding=0.0)
        self.bones.setData([], [])
        self.joints.setData([], [])
        self.tracked.setVisible(False)
        for k, box in enumerate(self.candidates, 1):
            rect = _rect_item(OFFER_COLOR, width=3)
            rect.setRect(QRectF(box.x, box.y, box.w, box.h))
            rect.setVisible(True)
            label = pg.TextItem(str(k), color=(0, 0, 0), fill=OFFER_COLOR, anchor=(0, 0))
            label.setPos(box.x, box.y)
            label.setZValue(6)
            self.view.addItem(rect)
            self.view.addItem(label)
            self._offers.append((rect, label))
        self.note.setText(CHOICE_HINT if self.candidates else NOBODY_HINT)
        self.note.setPos(width / 2, max(height * 0.06, 12))
        self.note.setVisible(True)

    def end_choice(self) -> None:
        """Leave choice mode (the offered boxes go)."""
        for rect, label in self._offers:
            self.view.removeItem(rect)
            self.view.removeItem(label)
        self._offers.clear()
        self.candidates = []
        self.rubber.setVisible(False)
        if self.choosing:
            self.note.setVisible(False)
        self.choosing = False

    def click_at(self, point: QPointF) -> None:
        """Choice mode: a click on an offered box chooses it (the smallest, where boxes overlap)."""
        x, y = point.x(), point.y()
        hits = [b for b in self.candidates if b.contains(x, y)]
        if hits:
            self.personChosen.emit(min(hits, key=lambda b: b.w * b.h))

    def drag_to(self, start: QPointF, end: QPointF, finished: bool) -> None:
        """Choice mode: a drag from ``start`` to ``end`` (view pixels) draws the box; at the end it is chosen."""
        x0, x1 = sorted((start.x(), end.x()))
        y0, y1 = sorted((start.y(), end.y()))
        width, height = self.frame_size
        box = Box(x0, y0, max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)).clipped(width, height)
        if box is None:
            self.rubber.setVisible(False)
            return
        self.rubber.setRect(QRectF(box.x, box.y, box.w, box.h))
        self.rubber.setVisible(True)
        if finished:
            self.rubber.setVisible(False)
            if box.w >= MIN_SIDE and box.h >= MIN_SIDE and math.isfinite(box.w * box.h):
                self.personChosen.emit(box)

    def overlay_points(self) -> np.ndarray:
        """``(N, 2)`` joint positions currently drawn (empty when none): for tests."""
        x, y = self.joints.getData()
        if x is None or len(x) == 0:
            return np.zeros((0, 2))
        return np.stack([x, y], axis=1)
