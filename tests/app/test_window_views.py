"""The 3D panes' framing, the error colour scale and legend, slow panels, live-mode export.

Synthetic pipeline (no models): fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from scjd_app.widgets.palette import NICE_SCALES_MM, auto_error_scale
from scjd_app.widgets.skeleton3d import fit_distance
from scjd_app.window import MainWindow
from scjd_app.worker import Job
from scjd_core.export import read_csv
from tests.app.fakes import FakePipeline, FakeSource, fake_result

pytestmark = pytest.mark.gui


def _window(qtbot, pipeline, n=40, live=False, delay_s=0.0) -> MainWindow:
    win = MainWindow(
        Job(source=""), pipeline_factory=lambda job: pipeline, source_factory=lambda job: FakeSource(n, delay_s=delay_s)
    )
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_input("synthetic", live=live)
    qtbot.waitUntil(lambda: not win.processing, timeout=10_000)
    return win


class TeacherSkipping(FakePipeline):
    """Live mode where the teacher did not fit in the frame budget on every third frame."""

    def iter_live(self, source, *, lookahead=4, attention=False, keep_images=True, cancel=None):
        for frame in source:
            res = fake_result(frame.index, source.info.fps)
            if frame.index % 3 == 1:
                del res.poses["teacher"]
                del res.attention["teacher"]
            yield res


def test_live_export_when_the_teacher_skipped_frames(qtbot, tmp_path, no_dialogs):
    win = _window(qtbot, TeacherSkipping(), n=30, live=True, delay_s=0.03)
    frames = win.cache.frames()
    assert len(frames) >= 10 and any("teacher" not in f.result.poses for f in frames)
    written = win.export(tmp_path, "live", ("csv",), ("teacher", "student"))
    assert no_dialogs == [] and [p.name for p in written] == ["live.teacher.csv", "live.student.csv"]
    _frames, _times, teacher = read_csv(tmp_path / "live.teacher.csv")
    assert teacher.shape == (len(frames), 17, 3) and np.isfinite(teacher).all()  # skipped frames filled


def test_error_colours_scale_to_the_clip_or_to_a_chosen_value(qtbot):
    win = _window(qtbot, FakePipeline())
    curves = win.cache.mean_error_curves()
    (_idx, values) = curves["teacher vs student"]
    auto = auto_error_scale(values)
    assert auto in NICE_SCALES_MM and auto >= np.percentile(values, 90)
    assert win.teacher_view.scale_mm == win.student_view.scale_mm == win.errors.scale_mm == auto
    assert win.view_legend.bar.text() == f"0 → {auto:.0f} mm (auto)"
    win.choose_error_scale(200.0)
    assert win.teacher_view.scale_mm == 200.0 and win.view_legend.bar.text() == "0 → 200 mm"
    win.choose_error_scale(None)
    assert win.student_view.scale_mm == auto
    assert "white: the other model" in win.view_legend.text()


def test_auto_scale_rounds_up_to_a_nice_value():
    assert auto_error_scale(np.zeros(0)) == 80.0
    assert auto_error_scale(np.array([10.0, 20.0, 30.0])) == 50.0
    assert auto_error_scale(np.full(50, 120.0)) == 150.0
    assert auto_error_scale(np.full(5, 9000.0)) == NICE_SCALES_MM[-1]


def test_3d_views_frame_the_skeleton_until_the_user_zooms(qtbot):
    win = _window(qtbot, FakePipeline())
    win.transport.set_playing(False)
    win.seek(12)  # paused: framed at once
    view = win.teacher_view.view
    pts = np.concatenate([win.teacher_view.pose_display, win.student_view.pose_display])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    want = fit_distance(hi - lo, view.width(), view.height(), view.opts["fov"])
    assert view.opts["distance"] == pytest.approx(want, rel=1e-6)
    assert view.opts["center"].z() == pytest.approx((lo[2] + hi[2]) / 2)
    view.auto_fit = False  # what a wheel zoom does
    view.opts["distance"] = 9.0
    win.seek(20)
    assert view.opts["distance"] == 9.0  # the user's zoom stays
    win.frame_skeletons()
    assert view.opts["distance"] == pytest.approx(want, rel=0.2)


def test_slow_panels_are_throttled_while_playing_but_follow_every_step(qtbot, monkeypatch):
    win = _window(qtbot, FakePipeline(), n=120)
    calls = []
    monkeypatch.setattr(win.errors, "set_errors", lambda *a, **k: calls.append(1))
    win.transport.set_playing(False)
    for i in range(5):
        win.seek(i)
    assert len(calls) == 5  # paused: every frame shown gets its bars
    calls.clear()
    drawn = len(win._draw_times)
    win.seek(0)
    win.transport.set_playing(True)
    qtbot.wait(1000)
    frames = len(win._draw_times) - drawn
    assert frames > 15 and len(calls) <= 12  # at most ~10 a second while playing


def test_the_other_models_ghost_is_drawn_visibly(qtbot):
    win = _window(qtbot, FakePipeline())
    win.seek(5)
    ghost = win.teacher_view.ghost
    assert ghost.visible() and np.asarray(ghost.color)[3] >= 0.5
    assert ghost.pos is not None and len(ghost.pos) > 0
