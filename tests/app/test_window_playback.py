"""Playback, keyboard shortcuts and live dropping with a synthetic pipeline (no models: fast)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from scjd_app.window import MainWindow
from scjd_app.worker import Job
from tests.app.fakes import FakePipeline, FakeSource

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = MainWindow(
        Job(source=""), pipeline_factory=lambda job: FakePipeline(), source_factory=lambda job: FakeSource(40)
    )
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_input("synthetic")
    qtbot.waitUntil(lambda: not win.processing, timeout=10_000)
    return win


def test_playback_advances_and_loops(qtbot, window):
    assert window.transport.playing  # opening a clip starts playback
    start = window.position
    qtbot.wait(300)
    assert window.position != start
    window.seek(39)
    qtbot.waitUntil(lambda: window.position < 20, timeout=3000)  # looped to the start
    window.transport.loop.setChecked(False)
    window.seek(38)
    qtbot.waitUntil(lambda: not window.transport.playing, timeout=3000)  # stops at the end
    assert window.position == 39


def _press(window, key) -> None:
    """Trigger the window's action bound to ``key`` (Xvfb has no window manager to focus windows)."""
    (action,) = [a for a in window.actions() if a.shortcut() == QKeySequence(key)]
    assert action.shortcutContext() == Qt.ShortcutContext.WindowShortcut
    action.trigger()


def test_keyboard_shortcuts(window):
    window.transport.set_playing(False)
    window.seek(10)
    _press(window, Qt.Key.Key_Right)
    assert window.position == 11 and not window.transport.playing
    _press(window, Qt.Key.Key_Left)
    _press(window, Qt.Key.Key_Left)
    assert window.position == 9
    _press(window, Qt.Key.Key_End)
    assert window.position == 39
    _press(window, Qt.Key.Key_Home)
    assert window.position == 0
    _press(window, Qt.Key.Key_Space)
    assert window.transport.playing


def test_missing_frames_show_no_person_and_3d_views_follow_the_timeline(qtbot, window):
    window.transport.set_playing(False)
    window.seek(7)  # the fake pipeline finds nobody in frames 7, 17, ...
    assert window.video.note.isVisible()
    window.seek(8)
    assert not window.video.note.isVisible()
    a = window.student_view.pose_display.copy()
    window.seek(20)
    assert not np.allclose(a, window.student_view.pose_display)


def test_live_mode_keeps_only_the_newest_result(qtbot):
    win = MainWindow(
        Job(source=""),
        pipeline_factory=lambda job: FakePipeline(),
        source_factory=lambda job: FakeSource(60, delay_s=0.002),
    )
    qtbot.addWidget(win)
    win.show()
    assert win.open_input("synthetic-live", live=True)
    worker = win.worker
    assert worker.wait(10_000)  # the GUI thread is stuck meanwhile: nothing is drained or drawn
    assert len(worker.mailbox._items) == 1 and worker.mailbox.dropped == 59
    qtbot.waitUntil(lambda: win.drawn is not None and win.drawn.index == 59, timeout=3000)
    assert len(win.cache) == 1  # the stale frames never reached the GUI


def test_with_ground_truth_the_error_panel_shows_each_model_against_it(qtbot):
    from scjd_core.compare import per_joint_distance_mm

    win = MainWindow(
        Job(source=""), pipeline_factory=lambda job: FakePipeline(truth=True), source_factory=lambda job: FakeSource(12)
    )
    qtbot.addWidget(win)
    win.show()
    assert win.open_input("dataset")
    qtbot.waitUntil(lambda: not win.processing, timeout=10_000)
    win.transport.set_playing(False)
    win.seek(5)
    poses = win.cache.get(5).result.poses
    assert set(win.errors.values) == {"teacher", "student"}
    for name in ("teacher", "student"):
        expected = per_joint_distance_mm(poses[name], poses["ground_truth"])
        np.testing.assert_allclose(win.errors.values[name], expected)
    assert "ground truth" in win.errors.summary.text()
    assert set(win.errors.curves) == {"teacher", "student"}
    frames, means = win.errors.curves["student"].getData()
    assert len(frames) == 12
    np.testing.assert_allclose(means[5], per_joint_distance_mm(poses["student"], poses["ground_truth"]).mean())
    assert win.teacher_view.overlay.visible()  # the truth drawn as the third skeleton
