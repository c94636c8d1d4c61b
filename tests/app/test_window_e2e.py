"""The window on the real pipeline and the bundled demo clip (one processing run per module)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from scjd_app import menus
from scjd_app.window import MainWindow
from scjd_core.compare import teacher_student_error
from scjd_core.export import read_bundle, read_csv
from scjd_core.skeleton import NUM_JOINTS
from tests.app.e2e import DEMO_CLIP, demo_job, wait_until

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """The window after it has processed the whole demo clip."""
    win = MainWindow(demo_job(tmp_path_factory.mktemp("ckpt")))
    win.resize(1280, 800)
    win.show()
    assert win.open_input(str(DEMO_CLIP))
    assert wait_until(qapp, lambda: not win.processing, timeout_s=240), "demo clip not processed in time"
    qapp.processEvents()
    win.transport.set_playing(False)
    yield win
    win.close()
    win.deleteLater()
    qapp.processEvents()


def _show(qapp, win, index):
    win.seek(index)
    qapp.processEvents()
    return win.cache.get(index)


def test_window_processes_the_demo_clip(window):
    info = window.worker.info
    assert info.frame_count == 120
    assert len(window.cache) == info.frame_count == window.cache.contiguous()
    assert window.progress.isHidden()
    assert not window.worker.isRunning()
    first = window.cache.get(0).result
    assert set(first.poses) == {"teacher", "student", "mediapipe"}
    assert window.cache.get(0).jpeg is not None
    assert "device cpu" in window.stats.text()


def test_timeline_moves_the_2d_overlay_and_both_3d_views(qapp, window):
    _show(qapp, window, 10)
    before = (
        window.video.overlay_points().copy(),
        window.teacher_view.bones.pos.copy(),
        window.student_view.bones.pos.copy(),
    )
    frame = _show(qapp, window, 90)
    after = (window.video.overlay_points(), window.teacher_view.bones.pos, window.student_view.bones.pos)
    for a, b in zip(before, after):
        assert a.shape == b.shape and not np.allclose(a, b)
    np.testing.assert_allclose(after[0], frame.result.keypoints, rtol=1e-5)
    assert window.transport.slider.value() == 90
    assert window.transport.readout.text().startswith("91 / 120")
    window.step(1)  # the arrow-key step
    assert window.position == 91 and window.transport.slider.value() == 91


def test_attention_panel_shows_row_stochastic_maps(qapp, window):
    window.tabs.setCurrentWidget(window.attention)
    frame = _show(qapp, window, 50)
    shown = window.attention.shown
    for key in ("teacher", "student"):
        assert shown[key].shape == (NUM_JOINTS, NUM_JOINTS)
        np.testing.assert_allclose(shown[key].sum(axis=1), 1.0, atol=1e-4)
        att = frame.result.attention[key]  # (layers, heads, 17, 17)
        np.testing.assert_allclose(shown[key], att[-1].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(shown["difference"], shown["student"] - shown["teacher"])
    window.tabs.setCurrentWidget(window.errors)


def test_error_panel_equals_the_core_teacher_student_distance(qapp, window):
    window.tabs.setCurrentWidget(window.errors)
    for index in (5, 70):
        frame = _show(qapp, window, index)
        expected = teacher_student_error(frame.result)
        shown = window.errors.values["teacher vs student"]
        np.testing.assert_allclose(shown, expected, rtol=1e-6)
        np.testing.assert_allclose(window.errors.bars["teacher vs student"].opts["height"], expected, rtol=1e-6)
        assert window.errors.cursor.value() == index
    frames, curve = window.errors.curves["teacher vs student"].getData()
    assert len(frames) == 120
    np.testing.assert_allclose(curve[70], teacher_student_error(window.cache.get(70).result).mean(), rtol=1e-6)


def test_export_writes_files_the_core_reads_back(window, tmp_path, no_dialogs):
    written = window.export(tmp_path, "demo", ("csv",), ("teacher", "student"))
    written += window.export(tmp_path, "demo", ("json",), ("teacher", "student"))
    written += window.export(tmp_path, "demo", ("bvh",), ("student",))
    assert no_dialogs == []
    names = sorted(p.name for p in written)
    assert names == ["demo.json", "demo.student.bvh", "demo.student.csv", "demo.teacher.csv"]
    frames, times, poses = read_csv(tmp_path / "demo.teacher.csv")
    assert poses.shape == (120, NUM_JOINTS, 3) and np.all(np.isfinite(poses))
    np.testing.assert_allclose(times, [window.cache.get(i).result.time_s for i in range(120)], atol=1e-6)
    bundle = read_bundle(tmp_path / "demo.json")
    assert bundle["meta"]["frames"] == 120
    np.testing.assert_allclose(
        bundle["poses_camera"]["student"][33], window.cache.get(33).result.poses["student"], atol=1e-6
    )
    assert (tmp_path / "demo.student.bvh").read_text().startswith("HIERARCHY")


def test_export_dialog_scales_the_skeleton_to_the_persons_height(window, tmp_path, no_dialogs, monkeypatch):
    """Export → person's height: unknown by default (the lifter's size); a height scales the exported skeleton."""
    from PySide6.QtWidgets import QDialog, QFileDialog

    from scjd_core.skeleton import standing_height

    dialog = menus.ExportDialog(window)
    assert dialog.choice() == ("bvh", ("teacher", "student"), None)
    assert dialog.height_m.text() == "unknown"
    dialog.format.setCurrentText("CSV")
    dialog.models.setCurrentText("student")
    dialog.height_m.setValue(1.62)
    assert dialog.choice() == ("csv", ("student",), 1.62)

    chosen = {"value": 1.62}

    def accept(self):
        self.format.setCurrentText("CSV")
        self.models.setCurrentText("student")
        self.height_m.setValue(chosen["value"])
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(menus.ExportDialog, "exec", accept)
    heights = {}
    for name, value in (("short", 1.62), ("own", 0.0)):
        chosen["value"] = value
        target = tmp_path / name / "demo.csv"
        target.parent.mkdir()
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, target=target, **k: (str(target), ""))
        menus.export_dialog(window)
        heights[name] = standing_height(read_csv(target.parent / "demo.student.csv")[2])
    assert [kind for kind, _ in no_dialogs] == ["information", "information"]
    assert heights["short"] == pytest.approx(1.62, abs=2e-3)
    assert abs(heights["own"] - 1.62) > 0.05  # unknown: the lifter's own size


def test_3d_views_show_the_skeleton_moving_over_the_floor_with_a_trace(qapp, window, tmp_path):
    from scjd_app.widgets.skeleton3d import world_to_display
    from scjd_app.window import TRACE_FRAMES
    from scjd_core.outputs import world_poses
    from scjd_core.pipeline import collect_results

    assert set(window.world) == {"teacher", "student"}
    clip = collect_results([f.result for f in window.cache.frames()], window.worker.info, window.worker.backends, 0.0)
    for name in ("teacher", "student"):  # the same world poses as the export
        np.testing.assert_allclose(window.world[name], world_poses(clip, name), atol=1e-6)
    for index in (5, 110):
        _show(qapp, window, index)
        for name, view in (("teacher", window.teacher_view), ("student", window.student_view)):
            np.testing.assert_allclose(view.pose_display, world_to_display(window.world[name][index]), atol=1e-6)
            assert view.trace.visible() and len(view.trace.pos) == min(index, TRACE_FRAMES) + 1
            np.testing.assert_allclose(view.trace.pos[-1, :2], view.pose_display[0, :2], atol=1e-6)
    centre = window.student_view.view.opts["center"]
    assert (centre.x(), centre.y()) == pytest.approx(tuple(window.student_view.pose_display[0, :2]))  # followed
    window.follow_action.setChecked(False)  # View > Follow the skeleton: off
    _show(qapp, window, 20)
    assert window.student_view.view.opts["center"].y() == pytest.approx(centre.y())  # the view stays
    window.follow_action.setChecked(True)
    lowest = np.minimum(window.world["student"][..., 3, 1], window.world["student"][..., 6, 1])
    assert np.percentile(lowest, 5) > 0.0 and np.percentile(lowest, 50) < 0.2  # feet on the floor
    window.screenshot().save(str(tmp_path / "trace.png"))


def test_opening_a_non_video_shows_an_error_and_keeps_the_clip(qapp, window, tmp_path, no_dialogs):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    assert window.open_input(str(bogus)) is False
    assert wait_until(qapp, lambda: len(no_dialogs) > 0 or not window.processing, timeout_s=30)
    missing = tmp_path / "nothing_here.mp4"
    assert window.open_input(str(missing)) is False
    assert len(no_dialogs) == 2 and all(kind == "critical" for kind, _ in no_dialogs)
    assert "not found" in no_dialogs[1][1]
    assert len(window.cache) == 120  # the demo clip is still loaded and usable
    frame = _show(qapp, window, 40)
    np.testing.assert_allclose(window.video.overlay_points(), frame.result.keypoints, rtol=1e-5)


def test_missing_webcam_shows_an_error(qapp, window, no_dialogs, monkeypatch):
    assert window.open_input("webcam:97", live=True) is False
    assert len(no_dialogs) == 1 and "webcam 97" in no_dialogs[0][1]
    monkeypatch.setattr(menus, "available_webcams", list)  # a machine with no camera
    menu = menus.QMenu()
    menus._fill_webcam_menu(window, menu)
    (action,) = menu.actions()
    assert action.text() == "No webcam found"
    action.trigger()
    assert "no webcam was found" in no_dialogs[1][1]
    assert len(window.cache) == 120 and window.worker.info.frame_count == 120


def test_closing_during_processing_stops_the_worker(qapp, tmp_path):
    win = MainWindow(demo_job(tmp_path))
    win.show()
    assert win.open_input(str(DEMO_CLIP))
    worker = win.worker
    assert wait_until(qapp, lambda: worker.isRunning(), timeout_s=10)
    win.close()
    assert win.worker is None
    assert worker.isFinished() and not worker.isRunning()
    assert worker.cancel_event.is_set()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("scjd-")]
    win.deleteLater()
    qapp.processEvents()


def test_live_mode_draws_the_newest_frame_and_measures_latency(qapp, tmp_path):
    win = MainWindow(demo_job(tmp_path))
    win.show()
    assert win.open_input(str(DEMO_CLIP), live=True)
    assert win.worker.mailbox._items.maxlen == 1
    assert wait_until(qapp, lambda: len(win.latencies_ms) >= 5, timeout_s=60)
    assert win.position == win.cache.newest.index
    assert all(0 < ms < 10_000 for ms in win.latencies_ms)
    assert "latency" in win.stats.text()
    win.close()
    assert win.worker is None
    win.deleteLater()
    qapp.processEvents()


def test_a_2d_keypoint_file_runs_through_the_pipeline(qapp, tmp_path, no_dialogs):
    from dataclasses import replace

    from tests.app.fakes import STANDING

    n = 24
    kp = np.stack([200 + STANDING[:, :2] * 150 + [2 * i, 0] for i in range(n)]).astype(np.float32)
    path = tmp_path / "walk.npz"
    np.savez(path, keypoints=kp, confidence=np.ones((n, NUM_JOINTS), np.float32), width=640, height=480, fps=25.0)
    job = demo_job(tmp_path)
    win = MainWindow(replace(job, backends=("teacher", "student")))
    win.show()
    assert win.open_input(str(path)), no_dialogs
    assert wait_until(qapp, lambda: not win.processing, timeout_s=60)
    assert no_dialogs == [] and len(win.cache) == n
    assert win.worker.info.kind == "keypoints"
    win.transport.set_playing(False)
    win.seek(12)
    qapp.processEvents()
    np.testing.assert_allclose(win.video.overlay_points(), kp[12], rtol=1e-5)
    assert win.drawn.jpeg is not None and (win.drawn.width, win.drawn.height) == (640, 480)
    assert set(win.drawn.result.poses) == {"teacher", "student"}
    win.close()
    win.deleteLater()
    qapp.processEvents()


def test_a_mocap_sequence_shows_each_models_error_against_ground_truth(qapp, tmp_path, no_dialogs):
    from dataclasses import replace

    from scjd_core.compare import errors_against_truth
    from tests.training.mini_mocap import write_bvh
    from training.data.synthetic import walking_joints

    path = write_bvh(tmp_path / "walk_1.bvh", walking_joints(30, 30.0, 1.3, 0.0))
    win = MainWindow(replace(demo_job(tmp_path), backends=("teacher", "student")))
    win.show()
    assert win.open_input(str(path)), no_dialogs
    assert wait_until(qapp, lambda: not win.processing, timeout_s=60)
    assert no_dialogs == [] and len(win.cache) == 30
    win.transport.set_playing(False)
    win.seek(15)
    qapp.processEvents()
    res = win.drawn.result
    assert set(res.poses) == {"teacher", "student", "ground_truth"}
    expected = errors_against_truth(res)
    assert set(expected) == {"teacher", "student"}
    assert "ground truth" in win.errors.summary.text()
    assert win.view_legend.text().endswith("green lines: ground truth")
    for name, values in expected.items():
        np.testing.assert_allclose(win.errors.values[name], values, rtol=1e-5)
    win.close()
    win.deleteLater()
    qapp.processEvents()
