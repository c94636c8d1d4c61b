"""Panels, cache and mailbox on synthetic results (fast; the end-to-end tests use the real pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_app.cache import ResultCache
from scjd_app.widgets.attention import MEAN, AttentionPanel, select_map
from scjd_app.widgets.errors import ErrorPanel
from scjd_app.widgets.skeleton3d import Skeleton3DPanel, camera_to_display, link_cameras
from scjd_app.widgets.video import VideoPanel
from scjd_app.worker import Mailbox, make_view_frame
from scjd_core.compare import per_joint_distance_mm, teacher_student_error
from scjd_core.skeleton import JOINT_INDEX
from tests.app.fakes import STANDING, fake_result

pytestmark = pytest.mark.gui


def test_view_frame_keeps_result_without_image_and_core_error():
    res = fake_result(3)
    frame = make_view_frame(res)
    assert frame.result.image is None and frame.jpeg is not None
    assert (frame.width, frame.height) == (320, 240)
    assert frame.image_rgb().shape == (240, 320, 3)
    np.testing.assert_allclose(frame.error_mm, teacher_student_error(res))
    assert frame.error_mm[0] == 0.0 and frame.error_mm.max() > 0


def test_mailbox_live_keeps_only_newest_and_coalesces_notifications():
    box = Mailbox(maxlen=1)
    frames = [make_view_frame(fake_result(i, image=False)) for i in range(5)]
    notes = [box.put(f) for f in frames]
    assert notes == [True, False, False, False, False]  # one signal until drained
    assert [f.index for f in box.drain()] == [4]
    assert box.dropped == 4
    assert box.put(frames[0]) is True


def test_mailbox_clip_keeps_everything_in_order():
    box = Mailbox()
    for i in range(7):
        box.put(make_view_frame(fake_result(i, image=False)))
    assert [f.index for f in box.drain()] == list(range(7))
    assert box.drain() == []


def test_cache_contiguous_nearest_capacity_and_curve():
    cache = ResultCache(capacity=4)
    for i in (0, 1, 2, 4, 5):
        cache.add(make_view_frame(fake_result(i, image=False)))
    assert 0 not in cache and len(cache) == 4  # oldest evicted
    cache = ResultCache()
    for i in (0, 1, 2, 4):
        cache.add(make_view_frame(fake_result(i, image=False)))
    assert cache.contiguous() == 3
    assert cache.nearest(3).index == 2
    idx, mean = cache.mean_error_curves()["teacher vs student"]
    assert list(idx) == [0, 1, 2, 4]
    np.testing.assert_allclose(mean[1], teacher_student_error(fake_result(1)).mean())


def test_display_transform_is_upright_rotation():
    shown = camera_to_display(STANDING)
    head, pelvis, ankle = (shown[JOINT_INDEX[n]] for n in ("head", "pelvis", "right_ankle"))
    assert head[2] > pelvis[2] > ankle[2]  # camera y-down becomes display z-up
    rot = camera_to_display(np.eye(3))
    np.testing.assert_allclose(rot @ rot.T, np.eye(3))
    assert np.linalg.det(rot) == pytest.approx(1.0)


def test_video_panel_draws_overlay_and_no_person_note(qtbot):
    panel = VideoPanel()
    qtbot.addWidget(panel)
    res = fake_result(2)
    panel.show_frame(make_view_frame(res))
    np.testing.assert_allclose(panel.overlay_points(), res.keypoints, rtol=1e-5)
    assert not panel.note.isVisible()
    panel.show_frame(make_view_frame(fake_result(7, found=False)))
    assert panel.note.isVisible() and "no person" in panel.note.toPlainText()
    assert len(panel.overlay_points()) == 0


def test_skeleton_panel_updates_items_in_place_and_cameras_link(qtbot):
    a, b = Skeleton3DPanel("teacher", "t"), Skeleton3DPanel("student", "s")
    for w in (a, b):
        qtbot.addWidget(w)
    link_cameras(a.view, b.view)
    bones, joints = a.bones, a.joints
    res = fake_result(1)
    a.set_pose(res.poses["teacher"], teacher_student_error(res), ghost=res.poses["student"])
    first = a.bones.pos.copy()
    a.set_pose(fake_result(9).poses["teacher"])
    assert a.bones is bones and a.joints is joints  # never re-created
    assert not np.allclose(first, a.bones.pos)
    assert a.pose_display[:, 2].min() == pytest.approx(0.0)  # standing on the floor
    a.view.orbit(30, 10)
    assert b.view.opts["azimuth"] == a.view.opts["azimuth"]
    assert b.view.opts["elevation"] == a.view.opts["elevation"]
    b.view.setCameraPosition(distance=7.0)
    assert a.view.opts["distance"] == 7.0


def test_attention_panel_maps_are_row_stochastic_and_selectable(qtbot):
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    res = fake_result(4)
    panel.set_attention(res.attention)
    for key in ("teacher", "student"):
        np.testing.assert_allclose(panel.shown[key].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(panel.shown["difference"], panel.shown["student"] - panel.shown["teacher"])
    np.testing.assert_allclose(panel.shown["teacher"], res.attention["teacher"][-1].mean(axis=0), rtol=1e-6)
    layer, head = panel.selectors["teacher"]
    assert layer.count() == 5 and head.count() == 9  # mean + 4 blocks, mean + 8 heads
    layer.setCurrentIndex(layer.findData(1))
    head.setCurrentIndex(head.findData(2))
    np.testing.assert_allclose(panel.shown["teacher"], res.attention["teacher"][1, 2], rtol=1e-6)
    np.testing.assert_allclose(select_map(res.attention["student"], MEAN, MEAN).sum(axis=1), 1.0, rtol=1e-5)


def test_error_panel_shows_the_given_values(qtbot):
    panel = ErrorPanel()
    qtbot.addWidget(panel)
    res = fake_result(5)
    err = per_joint_distance_mm(res.poses["teacher"], res.poses["student"])
    panel.set_errors({"teacher vs student": err})
    np.testing.assert_allclose(panel.bars["teacher vs student"].opts["height"], err)
    assert f"{err.mean():.1f} mm" in panel.summary.text()
    panel.set_errors({})
    assert "not available" in panel.summary.text()


def test_attention_heatmaps_cover_the_17x17_grid_one_cell_per_joint_pair(qtbot):
    """Regression: a rect set before the first image made one pixel fill the whole plot."""
    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.set_attention(fake_result(4).attention)
    for key in ("teacher", "student", "difference"):
        item = panel.images[key]
        assert item.image.shape == (17, 17)
        rect = item.mapRectToParent(item.boundingRect())
        assert (rect.x(), rect.y(), rect.width(), rect.height()) == pytest.approx((0, 0, 17, 17))


def test_skeleton_panel_draws_world_poses_where_they_are_with_a_fading_trace(qtbot):
    from scjd_app.widgets.skeleton3d import FOLLOW_HEIGHT_M, TRACE_HEIGHT_M, world_to_display
    from scjd_core.skeleton import ROOT

    panel = Skeleton3DPanel("student", "s")
    qtbot.addWidget(panel)
    res = fake_result(3)
    rel = res.poses["student"] * np.array([1.0, -1.0, -1.0])  # camera axes -> world axes (y up)
    world = rel - rel[ROOT] + np.array([1.5, 0.9, -2.0])  # the root 1.5 m right, 2 m away
    path = np.column_stack([np.linspace(0.0, 1.5, 30), np.full(30, 0.9), np.linspace(0.0, -2.0, 30)])
    panel.set_pose(res.poses["student"], world=world, trace=path, ghost=res.poses["teacher"])
    np.testing.assert_allclose(panel.pose_display, world_to_display(world))
    np.testing.assert_allclose(panel.pose_display[ROOT], [1.5, 2.0, 0.9])  # display: z up, y away
    centre = panel.view.opts["center"]
    assert (centre.x(), centre.y(), centre.z()) == pytest.approx((1.5, 2.0, FOLLOW_HEIGHT_M))  # the view follows
    shift = panel.grid.transform().column(3)
    assert (shift.x(), shift.y(), shift.z()) == pytest.approx((1.5, 2.0, 0.0))  # the floor grid under it
    assert panel.trace.visible()
    np.testing.assert_allclose(panel.trace.pos[:, 2], TRACE_HEIGHT_M)  # on the floor
    np.testing.assert_allclose(panel.trace.pos[-1, :2], [1.5, 2.0])
    alpha = np.asarray(panel.trace.color)[:, 3]
    assert alpha[0] == pytest.approx(0.0) and np.all(np.diff(alpha) > 0)  # fading into the past
    ghost = panel.ghost.pos.reshape(-1, 3)
    assert np.abs(ghost.mean(axis=0)[:2] - [1.5, 2.0]).max() < 0.5  # the ghost stands with it
    panel.follow = False
    panel.set_pose(res.poses["student"], world=world + [1.0, 0.0, 0.0], trace=path)
    assert panel.view.opts["center"].x() == pytest.approx(1.5)  # not followed any more
    panel.set_pose(res.poses["student"])  # root-relative again (e.g. live): no trace
    assert not panel.trace.visible()
    assert panel.pose_display[:, 2].min() == pytest.approx(0.0)
    assert panel.grid.transform().column(3).x() == pytest.approx(0.0)
