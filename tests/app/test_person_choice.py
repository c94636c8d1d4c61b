"""Choosing the person in the viewer: offered boxes, a dragged box, the tracked crop drawn.

Runs the real pipeline (MediaPipe and the student) on a two-person clip made from the
shipped demo footage (``scripts/roi_check.py``), and drives the video panel with real
mouse events.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from scjd_app.window import MainWindow
from scjd_app.worker import Job
from tests.app.e2e import model_checkpoints, wait_until
from tests.scripts import load_script

pytestmark = [pytest.mark.gui, pytest.mark.slow]

HALF = 576  # the left dancer's clip is 576 pixels wide


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    pytest.importorskip("mediapipe")
    module = load_script("roi_check")
    return module.make_two_person_clip(tmp_path_factory.mktemp("two"), frames=30)["two_people"]


@pytest.fixture(scope="module")
def window(qapp, clip, tmp_path_factory):
    job = Job(
        source="", backends=("student",), device="cpu", checkpoints=model_checkpoints(tmp_path_factory.mktemp("c"))
    )
    win = MainWindow(job)
    win.resize(1280, 800)
    win.show()
    assert win.open_input(str(clip))
    assert wait_until(qapp, lambda: not win.processing, timeout_s=120)
    yield win
    win.close()
    win.deleteLater()
    qapp.processEvents()


def _keypoints(win) -> np.ndarray:
    return np.stack([f.result.keypoints for f in win.cache.frames()])


def _widget_point(win, x: float, y: float) -> QPoint:
    """Where frame pixel ``(x, y)`` is on the video panel's viewport."""
    scene = win.video.view.mapViewToScene(QPointF(x, y))
    return win.video.mapFromScene(scene)


def _mouse(widget, kind, pos: QPoint, buttons) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)


def _drag(qapp, widget, start: QPoint, end: QPoint) -> None:
    left = Qt.MouseButton.LeftButton
    _mouse(widget, QEvent.Type.MouseButtonPress, start, left)
    for t in np.linspace(0.1, 1.0, 8):
        p = QPoint(round(start.x() + t * (end.x() - start.x())), round(start.y() + t * (end.y() - start.y())))
        _mouse(widget, QEvent.Type.MouseMove, p, left)
        qapp.processEvents()
    _mouse(widget, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    qapp.processEvents()


def _side(kp: np.ndarray) -> str:
    """Which dancer every frame's skeleton is on: "left", "right" or "both"."""
    x = kp[:, :, 0]
    return "left" if (x < HALF).all() else "right" if (x > HALF).all() else "both"


def test_without_a_choice_mediapipe_follows_one_dancer(window):
    assert window.worker.job.roi is None
    assert window.video.tracked_box() is None
    assert _side(_keypoints(window)) in ("left", "right")  # one of them, not the user's choice


def test_click_an_offered_box_follows_that_person(qapp, window):
    plain = _side(_keypoints(window))
    assert window.choose_person()
    assert window.video.choosing
    boxes = window.video.candidates
    assert len(boxes) == 2 and boxes[0].x < HALF < boxes[1].x
    other = boxes[1] if plain == "left" else boxes[0]  # the dancer MediaPipe did not take
    QTest.mouseClick(window.video.viewport(), Qt.MouseButton.LeftButton, pos=_widget_point(window, *other.center))
    qapp.processEvents()
    assert not window.video.choosing
    assert window.worker.job.roi == pytest.approx((other.x, other.y, other.w, other.h), abs=1e-3)
    assert wait_until(qapp, lambda: not window.processing, timeout_s=120)
    kp = _keypoints(window)
    assert len(kp) == 30 and _side(kp) == ("right" if plain == "left" else "left")  # every frame
    window.seek(10)
    qapp.processEvents()
    drawn = window.video.tracked_box()
    assert drawn is not None and drawn.iou(other) > 0.3
    assert drawn.contains(*window.cache.get(10).result.keypoints.mean(axis=0))


def test_drag_a_box_around_the_other_person(qapp, window):
    chosen = _side(_keypoints(window))
    assert window.choose_person()
    target = window.video.candidates[1 if chosen == "left" else 0].grown(0.1)
    start = _widget_point(window, target.x, target.y)
    end = _widget_point(window, target.x + target.w, target.y + target.h)
    _drag(qapp, window.video.viewport(), start, end)
    assert not window.video.choosing
    x, y, w, h = window.worker.job.roi
    assert abs(x - target.x) < 8 and abs(y - target.y) < 8 and abs(w - target.w) < 12 and abs(h - target.h) < 12
    assert wait_until(qapp, lambda: not window.processing, timeout_s=120)
    assert _side(_keypoints(window)) == ("right" if chosen == "left" else "left")


def test_escape_cancels_the_choice_and_follow_anyone_forgets_it(qapp, window):
    roi = window.worker.job.roi
    assert window.choose_person()
    window.activateWindow()
    assert wait_until(qapp, window.isActiveWindow, timeout_s=5)
    QTest.keyClick(window.video, Qt.Key.Key_Escape)
    qapp.processEvents()
    assert not window.video.choosing and window.worker.job.roi == roi
    window.follow_anyone()
    assert window.worker.job.roi is None
    assert wait_until(qapp, lambda: not window.processing, timeout_s=120)


def test_a_box_outside_the_frame_is_an_error_dialog(window, no_dialogs, clip):
    assert not window.open_input(str(clip), roi=(5000.0, 10.0, 50.0, 50.0))
    assert no_dialogs and "outside the 1152x576 image" in no_dialogs[-1][1]
