"""The video panel: the current frame with the 2D skeleton drawn over it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from scjd_app.widgets.palette import BACKGROUND, confidence_brushes
from scjd_app.worker import ViewFrame
from scjd_core.skeleton import BONES

_BONE_INDEX = np.array(BONES, dtype=np.int64).reshape(-1)


class VideoPanel(pg.GraphicsLayoutWidget):
    """Frame image, 2D bones and joints coloured by the detector's confidence.

    Items are created once; :meth:`show_frame` only calls ``setData``/``setImage``.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setMinimumSize(240, 200)
        self.view: pg.ViewBox = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.bones = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 200), width=2), connect="pairs")
        self.joints = pg.ScatterPlotItem(size=9, pen=pg.mkPen("k", width=1))
        self.note = pg.TextItem("", color=(255, 210, 80), anchor=(0.5, 0.5), fill=(0, 0, 0, 160))
        self.note.setZValue(10)
        self.note.setVisible(False)
        for item in (self.image, self.bones, self.joints, self.note):
            self.view.addItem(item)
        self.frame_size: tuple[int, int] = (0, 0)
        self.current: ViewFrame | None = None

    def show_frame(self, frame: ViewFrame | None) -> None:
        """Draw ``frame`` (None clears the panel)."""
        self.current = frame
        if frame is None:
            self.bones.setData([], [])
            self.joints.setData([], [])
            self.note.setVisible(False)
            return
        res = frame.result
        rgb = frame.image_rgb()
        width, height = frame.width, frame.height
        if rgb is not None:
            self.image.setImage(rgb, autoLevels=False, levels=(0, 255))
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

    def overlay_points(self) -> np.ndarray:
        """``(N, 2)`` joint positions currently drawn (empty when none): for tests."""
        x, y = self.joints.getData()
        if x is None or len(x) == 0:
            return np.zeros((0, 2))
        return np.stack([x, y], axis=1)
