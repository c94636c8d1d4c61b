"""The pipeline: windows, gaps, ordering, pipelined == sequential, live look-ahead, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from scjd_core.backends.lifter import ModelBackend
from scjd_core.detect import KeypointFileDetector
from scjd_core.errors import NoPersonError
from scjd_core.models import create_model
from scjd_core.pipeline import Cancelled, Pipeline
from scjd_core.sources import open_source

W, H, F = 64, 48, 40


def _write_video(path, frames=F):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (W, H))
    for i in range(frames):
        writer.write(np.full((H, W, 3), (i * 5) % 255, np.uint8))
    writer.release()
    return path


def _keypoints(path, missing=()):
    rng = np.random.default_rng(1)
    base = rng.uniform([10, 5], [W - 10, H - 5], size=(17, 2))
    t = np.arange(F)[:, None, None]
    kp = base[None] + 3 * np.sin(t / 5.0 + np.arange(17)[None, :, None])
    conf = np.ones((F, 17))
    kp[list(missing)] = np.nan
    np.savez(path, keypoints=kp.astype(np.float32), confidence=conf, width=W, height=H, fps=10.0)
    return path


@pytest.fixture
def clip(tmp_path):
    return _write_video(tmp_path / "v.mp4"), tmp_path


def _pipeline(kp_path, names=("student",)):
    torch.manual_seed(0)
    backends = [
        ModelBackend(create_model(f"{n}-tiny").eval(), device="cpu", name=n) for n in names
    ]  # real models, untrained weights: plumbing is what is tested here
    return Pipeline(detector=lambda: KeypointFileDetector(kp_path), backends=backends)


def test_results_in_order_and_first_windows_without_anybody(clip):
    video, tmp = clip
    kp = _keypoints(tmp / "k.npz", missing=range(0, 20))  # nobody in the first two 9-frame windows
    pipe = _pipeline(kp, ("teacher", "student"))
    with open_source(str(video)) as src:
        results = list(pipe.iter_clip(src, window=9))
    assert [r.index for r in results] == list(range(F))
    assert not any(r.found for r in results[:20]) and all(r.found for r in results[20:])
    assert all(r.filled for r in results[:20])
    for r in results:
        assert set(r.poses) == {"teacher", "student"}
        assert r.poses["student"].shape == (17, 3) and np.isfinite(r.poses["student"]).all()
        assert np.allclose(r.poses["teacher"][0], 0)  # root-relative


def test_pipelined_equals_sequential_and_process_matches_stream(clip):
    video, tmp = clip
    kp = _keypoints(tmp / "k.npz", missing=[3, 4, 30])
    pipe = _pipeline(kp)
    with open_source(str(video)) as src:
        a = pipe.process(src, attention=True, pipelined=True)
    with open_source(str(video)) as src:
        b = pipe.process(src, attention=True, pipelined=False)
    assert len(a) == len(b) == F
    assert np.array_equal(a.lifts["student"].poses, b.lifts["student"].poses)
    assert np.array_equal(a.seq.keypoints, b.seq.keypoints)
    att = a.lifts["student"].attention
    assert att is not None and np.allclose(att.sum(-1), 1, atol=1e-4)
    f = a.frame(7)
    assert np.array_equal(f.poses["student"], a.lifts["student"].poses[7])
    assert a.detection_rate == pytest.approx((F - 3) / F)
    assert {"decode", "detect", "student", "total"} <= set(a.timings)


def test_nobody_anywhere_raises(clip):
    video, tmp = clip
    kp = _keypoints(tmp / "k.npz", missing=range(F))
    with open_source(str(video)) as src, pytest.raises(NoPersonError):
        _pipeline(kp).process(src)


def test_cancel_stops_processing(clip):
    video, tmp = clip
    kp = _keypoints(tmp / "k.npz")
    cancel = threading.Event()
    cancel.set()
    with open_source(str(video)) as src, pytest.raises(Cancelled):
        _pipeline(kp).process(src, cancel=cancel)


def test_live_gives_every_frame_with_bounded_lookahead(clip):
    video, tmp = clip
    kp = _keypoints(tmp / "k.npz", missing=[10])
    pipe = _pipeline(kp)
    with open_source(str(video)) as src:
        live = list(pipe.iter_live(src, lookahead=3, keep_images=True))
    assert [r.index for r in live] == list(range(F))
    assert all(r.image is not None and r.latency_s is not None for r in live)
    assert all(np.isfinite(r.poses["student"]).all() for r in live)
    assert live[10].filled


def test_live_runs_the_teacher_only_when_it_fits_the_frame_budget(clip, monkeypatch):
    from scjd_core import live_budget

    # The forced-refresh interval grows with the teacher's measured cost (1 s for a cost under 50 ms):
    # let any cost count as cheap, so the interval is 1 s of stream time on a loaded machine too.
    monkeypatch.setattr(live_budget, "MAX_FORCED_SHARE", 1.0)
    video, tmp = clip
    pipe = _pipeline(_keypoints(tmp / "k.npz"), ("teacher", "student"))
    with open_source(str(video)) as src:  # 10 fps: a 1e-9 s budget never fits the teacher
        tight = list(pipe.iter_live(src, lookahead=2, frame_budget_s=1e-9))
    assert all("student" in r.poses for r in tight)
    with_teacher = [r.index for r in tight if "teacher" in r.poses]
    assert with_teacher[0] == 0  # unknown cost: tried once, then only when overdue (1 s = 10 frames)
    assert 3 <= len(with_teacher) <= 5 and all(b - a >= 9 for a, b in zip(with_teacher, with_teacher[1:]))
    with open_source(str(video)) as src:
        roomy = list(pipe.iter_live(src, lookahead=2, frame_budget_s=10.0))
    assert all({"teacher", "student"} <= set(r.poses) for r in roomy)


def test_live_budget_decisions():
    from scjd_core.live_budget import LiveBudget

    budget = LiveBudget(period_s=0.1, required=["student"], refresh_s=1.0)
    assert budget.choose(["teacher", "student"], 0.0) == ["teacher", "student"]
    budget.record("teacher", 0.08, 0.0)
    budget.record_base(0.05)  # 0.05 s spare: the 0.08 s teacher no longer fits...
    assert budget.choose(["teacher", "student"], 0.5) == ["student"]
    assert budget.choose(["teacher", "student"], 1.0) == ["teacher", "student"]  # ...until overdue


def test_live_results_missing_the_teacher_on_some_frames_collect_and_export(clip):
    """Live mode skips the teacher on most frames; the clip fills them from the nearest frame it ran on."""
    from types import SimpleNamespace

    from scjd_core.outputs import export_clip
    from scjd_core.pipeline import collect_results

    video, tmp = clip
    pipe = _pipeline(_keypoints(tmp / "k.npz"), ("teacher", "student"))
    with open_source(str(video)) as src:  # a budget the teacher never fits: it runs about once a second
        results = list(pipe.iter_live(src, lookahead=2, frame_budget_s=1e-9))
    ran = np.array(["teacher" in r.poses for r in results])
    assert ran.any() and not ran.all()
    ghost = SimpleNamespace(name="ghost")  # a backend that ran on no frame at all is left out
    collected = collect_results(results, src.info, [*pipe.backends, ghost], total_s=0.0)
    assert set(collected.lifts) == {"teacher", "student"} and len(collected) == F
    np.testing.assert_array_equal(collected.lift_filled["teacher"], ~ran)
    assert "student" not in collected.lift_filled
    have = np.flatnonzero(ran)
    for i, res in enumerate(results):
        nearest = have[np.argmin(np.abs(have - i))]  # argmin takes the earlier one on a tie
        np.testing.assert_array_equal(collected.lifts["teacher"].poses[i], results[nearest].poses["teacher"])
        np.testing.assert_array_equal(collected.lifts["student"].poses[i], res.poses["student"])
    assert collected.timings["teacher"] > 0
    written = export_clip(collected, tmp / "out", ["csv", "json"], "live", ["teacher", "student"])
    assert sorted(p.name for p in written) == ["live.json", "live.student.csv", "live.teacher.csv"]


def test_one_frame_result_builder_keeps_the_tracked_box():
    from scjd_core.pipeline.results import frame_result, nobody_sequence
    from scjd_core.types import Lift3D, SourceInfo

    info = SourceInfo("x", "video", 10.0, W, H, 3)
    empty = frame_result(nobody_sequence(info, 0.5, np.array([1, 2, 3, 4])), 0, {}, index=5)
    assert (empty.index, empty.time_s, empty.found, empty.filled, empty.poses) == (5, 0.5, False, False, {})
    np.testing.assert_array_equal(empty.box, [1, 2, 3, 4])
    seq = nobody_sequence(info, 0.2)
    lift = Lift3D(poses=np.ones((1, 17, 3), np.float32), attention=np.ones((1, 2, 4, 17, 17), np.float32))
    res = frame_result(seq, 0, {"student": lift}, timings_ms={"student": 1.0})
    assert res.box is None and res.poses["student"].shape == (17, 3) and res.attention["student"].shape[0] == 2
