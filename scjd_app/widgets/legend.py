"""The colour legend under the 3D views: the error scale as a gradient bar, and what the lines are."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from scjd_app.widgets.palette import ERROR_SCALE_MM, error_gradient_stops


class GradientBar(QWidget):
    """A horizontal bar in the error colours, labelled ``0`` and ``N mm`` at its ends."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.scale_mm = ERROR_SCALE_MM
        self.auto = True
        self.setMinimumWidth(180)
        self.setFixedHeight(18)

    def sizeHint(self) -> QSize:
        return QSize(220, 18)

    def set_scale(self, scale_mm: float, auto: bool) -> None:
        """Show the scale (mm at full red) and whether it was chosen automatically."""
        if (scale_mm, auto) != (self.scale_mm, self.auto):
            self.scale_mm, self.auto = float(scale_mm), auto
            self.update()

    def text(self) -> str:
        """The bar's labels as text (for tests and tooltips)."""
        return f"0 → {self.scale_mm:.0f} mm{' (auto)' if self.auto else ''}"

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        left, right = "0", f"{self.scale_mm:.0f} mm{' auto' if self.auto else ''}"
        lw, rw = metrics.horizontalAdvance(left) + 6, metrics.horizontalAdvance(right) + 6
        bar = QRectF(lw, 4, max(self.width() - lw - rw, 10), self.height() - 8)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for pos, rgba in error_gradient_stops():
            gradient.setColorAt(pos, QColor(*rgba))
        painter.fillRect(bar, gradient)
        painter.setPen(QColor("#555"))
        painter.drawText(
            QRectF(0, 0, lw - 3, self.height()), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, left
        )
        painter.drawText(
            QRectF(bar.right() + 3, 0, rw, self.height()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            right,
        )
        painter.end()


class ViewLegend(QWidget):
    """``joints: [0 ▬▬▬ N mm] · white: other model · green lines: <overlay>``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.prefix = QLabel("joint error:")
        self.bar = GradientBar()
        self.rest = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(6)
        layout.addStretch(1)
        for w in (self.prefix, self.bar, self.rest):
            w.setStyleSheet("color: #555; font-size: 9pt;")
            layout.addWidget(w)
        layout.addStretch(1)
        self.set_overlay("MediaPipe", "teacher vs student")

    def set_overlay(self, overlay: str, what: str) -> None:
        """Name the third source (``MediaPipe`` or ``ground truth``) and what the colours measure."""
        self.prefix.setText(f"joints, {what}:")
        self.rest.setText(f"· white: the other model · green lines: {overlay}")

    def text(self) -> str:
        """The whole legend as one line (for tests)."""
        return f"{self.prefix.text()} {self.bar.text()} {self.rest.text()}"
