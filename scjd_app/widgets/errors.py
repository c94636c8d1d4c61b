"""The per-joint error panel: this frame's per-joint distances and the mean over time."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from scjd_app.widgets.attention import RotatedLabelAxis
from scjd_app.widgets.palette import BACKGROUND, ERROR_SCALE_MM, error_colors, model_color, short_joint_name
from scjd_core.skeleton import NUM_JOINTS


def _rgb(name: str) -> tuple[int, int, int]:
    r, g, b, _ = model_color(name)
    return int(r * 255), int(g * 255), int(b * 255)


class ErrorPanel(QWidget):
    """Horizontal bars (one per joint, mm) for the current frame, and a curve over time.

    Two sources are supported: the teacher-student distance (one series), or each
    model's error against ground truth (one series per model) when the input has it.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.bars_plot = pg.PlotItem(axisItems={"bottom": RotatedLabelAxis()})
        self.graphics.addItem(self.bars_plot, row=0, col=0)
        self.bars_plot.setTitle("per-joint distance, this frame", size="10pt")
        self.bars_plot.setLabel("left", "mm (root-aligned)")
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.hideButtons()
        self.bars_plot.getAxis("bottom").setTicks([[(i, short_joint_name(i)) for i in range(NUM_JOINTS)]])
        self.bars_plot.setXRange(-0.6, NUM_JOINTS - 0.4, padding=0)
        self.bars_plot.showGrid(y=True, alpha=0.25)
        self.legend = self.bars_plot.addLegend(offset=(-10, 10))
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.curve_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=1)
        self.curve_plot.setTitle("mean over joints, per frame", size="10pt")
        self.curve_plot.setLabel("bottom", "frame")
        self.curve_plot.setLabel("left", "mm")
        self.curve_plot.showGrid(x=True, y=True, alpha=0.25)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((255, 200, 60), width=2))
        self.curve_plot.addItem(self.cursor)
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.summary = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.graphics, 1)
        self.values: dict[str, np.ndarray] = {}
        self.scale_mm = ERROR_SCALE_MM
        self._layout_key: tuple = ()
        self._y_top = 0.0

    def _bar_item(self, name: str, slot: int, slots: int) -> pg.BarGraphItem:
        width = 0.8 / slots
        item = self.bars.get(name)
        if item is None:
            item = pg.BarGraphItem(x=np.arange(NUM_JOINTS), y0=np.zeros(NUM_JOINTS), width=width, height=0)
            item.setOpts(brush=pg.mkBrush(*_rgb(name)), pen=pg.mkPen(None))
            self.bars[name] = item
            self.bars_plot.addItem(item)
            self.legend.addItem(item, name)
        return item

    def _place_bars(self, names: list[str]) -> None:
        """Side-by-side slots for the series (only when the set of series changes: each
        ``setOpts`` redraws the bars' picture)."""
        key = tuple(names)
        if key == self._layout_key:
            return
        self._layout_key = key
        width = 0.8 / max(len(names), 1)
        for slot, name in enumerate(names):
            offset = (slot - (len(names) - 1) / 2) * width
            self._bar_item(name, slot, len(names)).setOpts(x=np.arange(NUM_JOINTS) + offset, width=width)
        for name, item in self.bars.items():
            if name not in key:
                item.setOpts(height=np.zeros(NUM_JOINTS))
        self.legend.setVisible(len(names) > 1)

    def set_scale(self, scale_mm: float) -> None:
        """The error (mm) drawn full red, as in the 3D views."""
        self.scale_mm = float(scale_mm)

    def set_errors(self, series: dict[str, np.ndarray], what: str = "teacher vs student") -> None:
        """Show this frame's per-joint errors: series name -> ``(17,)`` mm (may be empty)."""
        self.values = {k: np.asarray(v, dtype=np.float64) for k, v in series.items()}
        self._place_bars(list(self.values))
        for name, values in self.values.items():
            item = self.bars[name]
            if len(self.values) == 1:  # one series: bars coloured like the 3D joints
                colors = error_colors(values, "byte", self.scale_mm)
                item.setOpts(height=values, brushes=[pg.mkBrush(*(int(v) for v in c)) for c in colors])
            else:
                item.setOpts(height=values, brushes=None)
        top = max([float(v.max()) for v in self.values.values()] + [10.0]) * (1.3 if len(self.values) > 1 else 1.08)
        if not (0.6 * self._y_top <= top <= self._y_top):  # rescale the axis only when it must change much
            self._y_top = top * 1.15
            self.bars_plot.setYRange(0, self._y_top, padding=0)
        if len(self.values) == 1:
            (v,) = self.values.values()
            self.summary.setText(f"{what}: mean {v.mean():.1f} mm, max {v.max():.1f} mm (this frame)")
        elif self.values:
            text = "   ".join(f"{k}: mean {v.mean():.1f} mm, max {v.max():.1f} mm" for k, v in self.values.items())
            self.summary.setText(f"{what} — {text}")
        else:
            self.summary.setText(f"{what} — not available for this frame (needs both models)")

    def set_curves(self, curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """The mean error over time: series name -> (frame indices, mm)."""
        for name, (frames, values) in curves.items():
            curve = self.curves.get(name)
            if curve is None:
                color = (235, 235, 235) if len(curves) == 1 else _rgb(name)
                curve = self.curve_plot.plot([], [], pen=pg.mkPen(color, width=2))
                self.curves[name] = curve
            curve.setData(np.asarray(frames, dtype=np.float64), np.asarray(values, dtype=np.float64))

    def set_cursor(self, frame: int) -> None:
        """Move the time cursor to ``frame``."""
        self.cursor.setValue(frame)
