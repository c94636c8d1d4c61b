"""Menus and toolbar of the main window, and the dialogs behind them.

The menus know the window only through :class:`ViewerWindow`, the part of it they use
(public methods and attributes), so this module does not import the window's module
and the window's private drawing stays its own.
"""

from __future__ import annotations

import glob
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QMenu,
    QMessageBox,
)

from scjd_app.widgets.palette import NICE_SCALES_MM
from scjd_core.skeleton import HEIGHT_RANGE_M


class ViewerWindow(Protocol):
    """What the menus need from the main window (a ``QMainWindow``)."""

    defaults: Any  # the job template (scjd_app.worker.Job)
    worker: Any  # the running PipelineWorker, or None
    teacher_view: Any
    student_view: Any
    smoothing: bool

    def menuBar(self) -> Any: ...
    def addToolBar(self, title: str) -> Any: ...
    def screenshot(self) -> Any: ...
    def close(self) -> bool: ...
    def show_error(self, message: str) -> None: ...
    def open_input(self, spec: str, live: bool = False, roi: tuple[float, ...] | None = None) -> bool: ...
    def redraw(self) -> None: ...
    def choose_person(self) -> bool: ...
    def follow_anyone(self) -> None: ...
    def frame_skeletons(self) -> None: ...
    def choose_error_scale(self, scale_mm: float | None) -> None: ...
    def export(
        self, out_dir: Any, stem: str, formats: Any, backends: Any, height_m: float | None = None
    ) -> list[Path]: ...


VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)"
SEQUENCE_FILTER = (
    "Sequences (*.npz *.csv *.bvh *.amc);;2D keypoint files (*.npz *.csv);;"
    "Motion capture with ground truth (*.bvh *.amc);;All files (*)"
)
EXPORT_FORMATS = {"BVH": "bvh", "CSV": "csv", "JSON": "json"}
EXPORT_MODELS = {"teacher and student": ("teacher", "student"), "teacher": ("teacher",), "student": ("student",)}


def available_webcams() -> list[int]:
    """Webcam indices this machine has (Linux: ``/dev/video*``; elsewhere Qt's list)."""
    if sys.platform.startswith("linux"):
        found = {int(m.group(1)) for p in glob.glob("/dev/video*") if (m := re.search(r"video(\d+)$", p))}
        return sorted(found)
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return []
    return list(range(len(QMediaDevices.videoInputs())))


def _action(window: ViewerWindow, text: str, slot, shortcut: str | None = None) -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    return action


def build_menus(window: ViewerWindow) -> None:
    """Create the File, View and Export menus and the toolbar of ``window``."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    open_video = _action(window, "Open &video…", lambda: open_video_dialog(window), "Ctrl+O")
    open_folder = _action(window, "Open image &folder…", lambda: open_folder_dialog(window))
    open_seq = _action(window, "Open 2D/3D &sequence file…", lambda: open_sequence_dialog(window))
    file_menu.addActions([open_video, open_folder, open_seq])
    cams = file_menu.addMenu("Open &webcam")
    cams.aboutToShow.connect(lambda: _fill_webcam_menu(window, cams))
    _fill_webcam_menu(window, cams)
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "Choose &teacher checkpoint…", lambda: choose_checkpoint(window, "teacher")))
    file_menu.addAction(_action(window, "Choose &student checkpoint…", lambda: choose_checkpoint(window, "student")))
    file_menu.addSeparator()
    shot = _action(window, "Save &screenshot…", lambda: screenshot_dialog(window), "Ctrl+Shift+S")
    file_menu.addAction(shot)
    file_menu.addAction(_action(window, "&Quit", window.close, "Ctrl+Q"))

    view_menu = bar.addMenu("&View")
    smooth = QAction("&Smoothing (exports)", window, checkable=True)
    smooth.setToolTip("zero-phase Butterworth smoothing of the exported 3D")
    smooth.toggled.connect(lambda on: setattr(window, "smoothing", on))
    ghost = QAction("&Ghost of the other model", window, checkable=True, checked=True)
    ghost.toggled.connect(lambda on: _set_overlay(window, "show_ghost", on))
    third = QAction("&Third source (MediaPipe / ground truth)", window, checkable=True, checked=True)
    third.toggled.connect(lambda on: _set_overlay(window, "show_overlay", on))
    follow = QAction("&Follow the skeleton (3D views)", window, checkable=True, checked=True)
    follow.setToolTip("keep the 3D views centred on the skeleton as it moves over the floor")
    follow.toggled.connect(lambda on: _set_overlay(window, "follow", on))
    view_menu.addActions([smooth, ghost, third, follow])
    frame = _action(window, "&Frame the skeletons (3D views)", window.frame_skeletons, "F")
    frame.setToolTip("fit the 3D views to the skeletons again (zooming with the wheel stops the automatic fit)")
    view_menu.addAction(frame)
    _add_scale_menu(window, view_menu.addMenu("Joint &error colours"))
    _add_lookahead_menu(window, view_menu.addMenu("Live &look-ahead"))
    window.smoothing_action = smooth
    window.follow_action = follow

    person_menu = bar.addMenu("&Person")
    choose = _action(window, "&Choose the person to follow…", window.choose_person, "Ctrl+P")
    choose.setToolTip("click one of the people found, or drag a box around the person to follow")
    person_menu.addAction(choose)
    person_menu.addAction(_action(window, "&Follow whoever is found first", window.follow_anyone))
    window.choose_action = choose

    export_menu = bar.addMenu("&Export")
    export = _action(window, "&Export 3D (BVH / CSV / JSON)…", lambda: export_dialog(window), "Ctrl+E")
    export_menu.addAction(export)

    tools = window.addToolBar("main")
    tools.setMovable(False)
    tools.addActions([open_video, choose, export, shot])


def _add_scale_menu(window: ViewerWindow, menu: QMenu) -> None:
    """Automatic, or a fixed error (mm) at which the joint colours turn full red."""
    group = QActionGroup(window)
    choices: list[tuple[str, float | None]] = [("&Automatic (the clip's 90th percentile)", None)]
    choices += [(f"{mm:.0f} mm", mm) for mm in NICE_SCALES_MM]
    for text, mm in choices:
        action = QAction(text, window, checkable=True, checked=mm is None)
        action.triggered.connect(lambda _on=False, mm=mm: window.choose_error_scale(mm))
        group.addAction(action)
        menu.addAction(action)


#: The look-aheads the View menu offers for live mode (frames).
LOOKAHEADS = (0, 1, 2, 4, 8)


def _add_lookahead_menu(window: ViewerWindow, menu: QMenu) -> None:
    """Live mode's look-ahead: frames of the future the models see, one frame time of latency each."""
    group = QActionGroup(window)
    for frames in LOOKAHEADS:
        action = QAction(f"{frames} frame{'s' if frames != 1 else ''}", window, checkable=True)
        action.setChecked(frames == window.defaults.lookahead)
        action.triggered.connect(lambda _on=False, k=frames: set_lookahead(window, k))
        group.addAction(action)
        menu.addAction(action)


def set_lookahead(window: ViewerWindow, frames: int) -> None:
    """Use ``frames`` of look-ahead in live mode (restarts a live input with it)."""
    window.defaults = replace(window.defaults, lookahead=int(frames))
    worker = window.worker
    if worker is not None and worker.job.live:
        window.open_input(worker.job.source, live=True, roi=worker.job.roi)


def _set_overlay(window: ViewerWindow, attr: str, on: bool) -> None:
    for panel in (window.teacher_view, window.student_view):
        setattr(panel, attr, on)
    window.redraw()


def _fill_webcam_menu(window: ViewerWindow, menu: QMenu) -> None:
    menu.clear()
    cams = available_webcams()
    if not cams:
        none = menu.addAction("No webcam found")
        none.triggered.connect(
            lambda: window.show_error("no webcam was found: connect a camera (or check its permissions)")
        )
        return
    for index in cams:
        menu.addAction(f"Webcam {index}", lambda i=index: window.open_input(f"webcam:{i}", live=True))


def open_video_dialog(window: ViewerWindow) -> None:
    """Ask for a video file and open it."""
    path, _ = QFileDialog.getOpenFileName(window, "Open video", "", VIDEO_FILTER)
    if path:
        window.open_input(path)


def open_folder_dialog(window: ViewerWindow) -> None:
    """Ask for a folder of images and open it."""
    path = QFileDialog.getExistingDirectory(window, "Open image folder")
    if path:
        window.open_input(path)


def open_sequence_dialog(window: ViewerWindow) -> None:
    """Ask for a 2D keypoint file (``.npz`` / ``.csv``) or a mocap file (``.bvh`` / ``.amc``) and open it."""
    path, _ = QFileDialog.getOpenFileName(window, "Open sequence file", "", SEQUENCE_FILTER)
    if path:
        window.open_input(path)


def choose_checkpoint(window: ViewerWindow, backend: str) -> None:
    """Ask for a checkpoint for ``backend`` and re-process the current input with it."""
    path, _ = QFileDialog.getOpenFileName(
        window, f"Choose {backend} checkpoint", "", "Checkpoints (*.safetensors);;All files (*)"
    )
    if not path:
        return
    ckpts = dict(window.defaults.checkpoints)
    ckpts[backend] = str(Path(path).with_suffix(""))
    window.defaults = replace(window.defaults, checkpoints=tuple(sorted(ckpts.items())))
    if window.worker is not None:
        window.open_input(window.worker.job.source, live=window.worker.job.live)


def screenshot_dialog(window: ViewerWindow) -> None:
    """Ask for a PNG path and save a screenshot of the window there."""
    path, _ = QFileDialog.getSaveFileName(window, "Save screenshot", "scjd.png", "PNG images (*.png)")
    if path and not window.screenshot().save(path):
        window.show_error(f"could not write {path}: choose a writable folder")


class ExportDialog(QDialog):
    """Pick the export format, the model(s) and, when known, the person's height."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export 3D")
        self.format = QComboBox()
        self.format.addItems(list(EXPORT_FORMATS))
        self.models = QComboBox()
        self.models.addItems(list(EXPORT_MODELS))
        low, high = HEIGHT_RANGE_M
        self.height_m = QDoubleSpinBox()
        self.height_m.setRange(low - 0.01, high)  # the lowest value reads "unknown"
        self.height_m.setDecimals(2)
        self.height_m.setSingleStep(0.01)
        self.height_m.setSuffix(" m")
        self.height_m.setSpecialValueText("unknown")
        self.height_m.setValue(self.height_m.minimum())
        self.height_m.setToolTip(
            "the person's standing height: the exported skeleton is scaled to it (one camera cannot tell a "
            "tall person far away from a short one near); unknown: an average adult's size"
        )
        form = QFormLayout(self)
        form.addRow("format", self.format)
        form.addRow("model", self.models)
        form.addRow("person's height", self.height_m)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def choice(self) -> tuple[str, tuple[str, ...], float | None]:
        """``(format, backends, height in metres or None)`` chosen."""
        height = self.height_m.value()
        known = None if height < HEIGHT_RANGE_M[0] else round(height, 2)
        return EXPORT_FORMATS[self.format.currentText()], EXPORT_MODELS[self.models.currentText()], known


def export_dialog(window: ViewerWindow) -> None:
    """Ask what to export and where, then export."""
    dialog = ExportDialog(window)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return
    fmt, backends, height_m = dialog.choice()
    name = window.worker.info.name if window.worker else "scjd"
    stem = Path(name).stem or "scjd"
    path, _ = QFileDialog.getSaveFileName(window, "Export to", f"{stem}.{fmt}", f"{fmt.upper()} (*.{fmt})")
    if not path:
        return
    out = Path(path)
    written = window.export(out.parent, out.name.split(".")[0], (fmt,), backends, height_m=height_m)
    if written:
        QMessageBox.information(window, "Export", "wrote\n" + "\n".join(str(p) for p in written))
