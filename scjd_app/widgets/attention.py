"""The attention panel: 17x17 spatial attention of teacher and student, and their difference."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from scjd_app.widgets.palette import BACKGROUND, short_joint_name
from scjd_core.skeleton import NUM_JOINTS, adjacency

_TICKS = [[(i + 0.5, short_joint_name(i)) for i in range(NUM_JOINTS)]]
MEAN = -1  # combo-box data for "mean over layers / heads"
_LEGEND = "rows: query joint · columns: key joint · □ bone-adjacent pair"


class RotatedLabelAxis(pg.AxisItem):
    """A bottom axis whose tick labels are written vertically (long joint names fit)."""

    def __init__(self, height: int | None = None, **kwargs) -> None:
        super().__init__("bottom", **kwargs)
        if height is None:  # room for the longest joint name
            metrics = QFontMetrics(tick_font())
            height = max(metrics.horizontalAdvance(short_joint_name(i)) for i in range(NUM_JOINTS)) + 12
        self._label_height = height
        self.setStyle(
            hideOverlappingLabels=False,
            autoExpandTextSpace=False,
            autoReduceTextSpace=False,
            tickTextHeight=height,
            tickFont=tick_font(),
        )

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        super().drawPicture(p, axisSpec, tickSpecs, [])
        p.setPen(self.textPen())
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        for rect, _flags, text in textSpecs:
            p.save()
            p.translate(QPointF(rect.center().x(), rect.top()))
            p.rotate(-90)
            box = QRectF(-self._label_height + 4, -rect.height() / 2, self._label_height - 6, rect.height())
            p.drawText(box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            p.restore()


def tick_font() -> QFont:
    """The small font of joint-name tick labels."""
    font = QFont()
    font.setPointSize(8)
    return font


_RECT = QRectF(0, 0, NUM_JOINTS, NUM_JOINTS)


def _heatmap_plot(title: str, mark_color: tuple[int, ...]) -> tuple[pg.PlotItem, pg.ImageItem]:
    plot = pg.PlotItem(axisItems={"bottom": RotatedLabelAxis()})
    plot.setTitle(title, size="10pt")
    plot.getViewBox().invertY(True)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    for name in ("left", "bottom"):
        plot.getAxis(name).setTicks(_TICKS)
    plot.getAxis("left").setStyle(hideOverlappingLabels=False, tickFont=tick_font())
    # The rect is given with every setImage: set on an empty ImageItem it scales by the
    # image size it does not know yet, and a later 17x17 image then shows one pixel.
    image = pg.ImageItem(axisOrder="row-major")
    plot.addItem(image)
    # adjacent pairs (bones) marked with small outlined squares
    adj = np.argwhere(adjacency(hops=1, self_loops=False))
    marks = pg.ScatterPlotItem(
        x=adj[:, 1] + 0.5, y=adj[:, 0] + 0.5, symbol="s", size=5, pen=pg.mkPen(*mark_color), brush=None
    )
    plot.addItem(marks)
    plot.setRange(QRectF(0, 0, NUM_JOINTS, NUM_JOINTS), padding=0.0)
    return plot, image


def select_map(attention: np.ndarray, layer: int, head: int) -> np.ndarray:
    """One ``(17, 17)`` map from ``(layers, heads, 17, 17)``: a layer (or mean), a head (or mean)."""
    att = np.asarray(attention, dtype=np.float64)
    att = att.mean(axis=0) if layer == MEAN else att[min(layer, att.shape[0] - 1)]
    return att.mean(axis=0) if head == MEAN else att[min(head, att.shape[0] - 1)]


class AttentionPanel(QWidget):
    """Teacher and student attention for the current frame, and student minus teacher.

    Each model has its own layer and head selectors (the two models differ in depth and
    heads); "mean" averages over layers or heads.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        titles = {"teacher": "teacher", "student": "student", "difference": "student − teacher"}
        for col, key in enumerate(titles):
            plot, image = _heatmap_plot(titles[key], (40, 40, 40, 200) if key == "difference" else (255, 255, 255, 170))
            self.graphics.addItem(plot, row=0, col=col)
            self.plots[key], self.images[key] = plot, image
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap="viridis", width=12, interactive=False)
        self.colorbar.setImageItem([self.images["teacher"], self.images["student"]])
        self.graphics.addItem(self.colorbar, row=0, col=3)
        self.diff_bar = pg.ColorBarItem(values=(-0.5, 0.5), colorMap="CET-D1", width=12, interactive=False)
        self.diff_bar.setImageItem(self.images["difference"])
        self.graphics.addItem(self.diff_bar, row=0, col=4)
        grid = self.graphics.ci.layout
        for col in range(5):
            grid.setColumnStretchFactor(col, 1 if col < 3 else 0)
        for plot in self.plots.values():
            plot.setPreferredWidth(300)
        self.selectors: dict[str, tuple[QComboBox, QComboBox]] = {}
        controls = QHBoxLayout()
        for key in ("teacher", "student"):
            layer, head = QComboBox(), QComboBox()
            for box in (layer, head):
                box.currentIndexChanged.connect(self._redraw)
            controls.addWidget(QLabel(f"{key}: block"))
            controls.addWidget(layer)
            controls.addWidget(QLabel("head"))
            controls.addWidget(head)
            controls.addSpacing(18)
            self.selectors[key] = (layer, head)
        controls.addStretch(1)
        self.note = QLabel("")
        controls.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)
        self._attention: dict[str, np.ndarray] = {}
        self._shapes: dict[str, tuple[int, int]] = {}
        self.shown: dict[str, np.ndarray] = {}

    def _fill_selectors(self, key: str, layers: int, heads: int) -> None:
        layer_box, head_box = self.selectors[key]
        for box, count, label in ((layer_box, layers, "block"), (head_box, heads, "head")):
            box.blockSignals(True)
            box.clear()
            box.addItem("mean", MEAN)
            for i in range(count):
                box.addItem(f"{i + 1}", i)
            box.setCurrentIndex(count if label == "block" else 0)  # last block, mean of heads
            box.blockSignals(False)

    def set_attention(self, attention: dict[str, np.ndarray]) -> None:
        """Show a frame's attention: backend name -> ``(layers, heads, 17, 17)``."""
        self._attention = attention
        for key in ("teacher", "student"):
            if key in attention:
                shape = tuple(attention[key].shape[:2])
                if self._shapes.get(key) != shape:
                    self._shapes[key] = shape
                    self._fill_selectors(key, *shape)
        self._redraw()

    def _redraw(self) -> None:
        self.shown = {}
        for key in ("teacher", "student"):
            layer_box, head_box = self.selectors[key]
            att = self._attention.get(key)
            if att is None:
                self.images[key].clear()
                continue
            layer = layer_box.currentData() if layer_box.count() else MEAN
            head = head_box.currentData() if head_box.count() else MEAN
            self.shown[key] = select_map(att, layer, head)
        # one colour scale for both models (0 .. the larger peak), a symmetric one for the difference
        top = max([float(m.max()) for m in self.shown.values()] + [3.0 / NUM_JOINTS])  # uniform looks dim
        self.colorbar.setLevels((0.0, top))
        for key, values in self.shown.items():
            self.images[key].setImage(values, autoLevels=False, levels=(0.0, top), rect=_RECT)
        if "teacher" in self.shown and "student" in self.shown:
            diff = self.shown["student"] - self.shown["teacher"]
            self.shown["difference"] = diff
            span = max(float(np.abs(diff).max()), 0.05)
            self.diff_bar.setLevels((-span, span))
            self.images["difference"].setImage(diff, autoLevels=False, levels=(-span, span), rect=_RECT)
        else:
            self.images["difference"].clear()
        missing = [k for k in ("teacher", "student") if k not in self._attention]
        self.note.setText(f"no attention from {' or '.join(missing)}" if missing else _LEGEND)
