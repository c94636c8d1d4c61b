"""Transport controls: play/pause, step, timeline, frame/time readout, speed, loop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0)


class Transport(QWidget):
    """The transport bar. It owns no timing: the window plays, this widget shows and asks.

    Signals:
        seek(int): the user moved the timeline to a frame.
        step(int): step by +1 / -1 frames.
        playToggled(bool): play (True) or pause (False) was asked for.
    """

    seek = Signal(int)
    step = Signal(int)
    playToggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.play_button = QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("play / pause (space)")
        self.play_button.toggled.connect(self._on_play)
        self.back_button = QToolButton()
        self.back_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward))
        self.back_button.setToolTip("previous frame (←)")
        self.back_button.clicked.connect(lambda: self.step.emit(-1))
        self.fwd_button = QToolButton()
        self.fwd_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward))
        self.fwd_button.setToolTip("next frame (→)")
        self.fwd_button.clicked.connect(lambda: self.step.emit(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self.seek.emit)
        self.readout = QLabel("0 / 0   0.00 s")
        self.readout.setMinimumWidth(150)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("playback speed")
        self.loop = QCheckBox("loop")
        self.loop.setChecked(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.back_button, self.play_button, self.fwd_button):
            layout.addWidget(w)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.speed)
        layout.addWidget(self.loop)

    def _on_play(self, on: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.playToggled.emit(on)

    @property
    def playing(self) -> bool:
        """Whether playback is on."""
        return self.play_button.isChecked()

    def set_playing(self, on: bool) -> None:
        """Switch play on or off (emits ``playToggled`` when it changes)."""
        self.play_button.setChecked(on)

    @property
    def rate(self) -> float:
        """The chosen playback speed factor."""
        return float(self.speed.currentData())

    def set_length(self, frames: int) -> None:
        """Number of frames in the timeline (0 for an unknown length)."""
        self.slider.setRange(0, max(frames - 1, 0))

    def show_position(self, frame: int, time_s: float, total: int | None) -> None:
        """Move the slider (without emitting ``seek``) and update the readout."""
        self.slider.blockSignals(True)
        if frame > self.slider.maximum():
            self.slider.setMaximum(frame)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        count = "?" if total is None else str(total)
        self.readout.setText(f"{frame + 1} / {count}   {time_s:6.2f} s")
