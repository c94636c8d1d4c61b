"""fill_gaps: interpolation across frames where nobody was found."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.detect import empty_detection, fill_gaps
from scjd_core.errors import InputError, NoPersonError
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Detection2D, SourceInfo

INFO = SourceInfo("clip.mp4", "video", 10.0, 640, 480, None)


def person(index: int, value: float, conf: float = 0.9, world: bool = True, time_s: float | None = None):
    kp = np.full((NUM_JOINTS, 2), value, np.float32)
    kp[:, 1] += 100.0
    w = np.full((NUM_JOINTS, 3), value / 1000.0, np.float32) if world else None
    return Detection2D(
        index=index,
        time_s=index / 10.0 if time_s is None else time_s,
        keypoints=kp,
        confidence=np.full(NUM_JOINTS, conf, np.float32),
        found=True,
        world=w,
    )


def nobody(index: int, time_s: float | None = None) -> Detection2D:
    return empty_detection(index, index / 10.0 if time_s is None else time_s)


def test_interior_gap_is_interpolated_linearly() -> None:
    dets = [person(0, 10.0), nobody(1), nobody(2), nobody(3), person(4, 50.0, conf=0.7)]
    seq = fill_gaps(dets, INFO)
    assert len(seq) == 5
    assert seq.keypoints[:, 0, 0] == pytest.approx([10, 20, 30, 40, 50])
    assert seq.keypoints[:, 5, 1] == pytest.approx([110, 120, 130, 140, 150])
    assert seq.filled.tolist() == [False, True, True, True, False]
    assert seq.found.tolist() == [True, False, False, False, True]
    assert seq.confidence[:, 0] == pytest.approx([0.9, 0, 0, 0, 0.7])
    assert seq.world is not None
    assert seq.world[:, 3, 2] == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    assert seq.times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert (seq.width, seq.height, seq.fps) == (640, 480, 10.0)
    assert seq.meta == {"source": "clip.mp4", "frames": 5, "detected": 2, "filled": 3}
    assert seq.keypoints.dtype == np.float32 and seq.confidence.dtype == np.float32


def test_ends_hold_the_nearest_detection() -> None:
    dets = [nobody(0), nobody(1), person(2, 30.0), person(3, 40.0), nobody(4)]
    seq = fill_gaps(dets, INFO)
    assert seq.keypoints[:, 0, 0] == pytest.approx([30, 30, 30, 40, 40])
    assert seq.filled.tolist() == [True, True, False, False, True]
    assert seq.confidence[[0, 1, 4]].max() == 0.0


def test_interpolation_follows_timestamps() -> None:
    # A live stream that dropped frames: the gap spans uneven time.
    dets = [person(0, 0.0, time_s=0.0), nobody(1, time_s=0.1), person(2, 40.0, time_s=0.4)]
    seq = fill_gaps(dets, INFO)
    assert seq.keypoints[1, 0, 0] == pytest.approx(10.0)


def test_non_increasing_timestamps_fall_back_to_frame_order() -> None:
    dets = [person(0, 0.0, time_s=0.0), nobody(1, time_s=0.0), person(2, 40.0, time_s=0.0)]
    seq = fill_gaps(dets, INFO)
    assert seq.keypoints[1, 0, 0] == pytest.approx(20.0)


def test_world_is_none_without_world_landmarks() -> None:
    seq = fill_gaps([person(0, 1.0, world=False), nobody(1)], INFO)
    assert seq.world is None


def test_world_gaps_use_only_frames_with_world() -> None:
    dets = [person(0, 10.0), person(1, 20.0, world=False), person(2, 30.0)]
    seq = fill_gaps(dets, INFO)
    assert seq.world is not None
    assert seq.world[1, 0, 0] == pytest.approx(0.02)
    assert not seq.filled.any()


def test_nobody_anywhere_raises_no_person_error() -> None:
    with pytest.raises(NoPersonError, match=r"no person was detected in any of the 3 frames of clip\.mp4: "):
        fill_gaps([nobody(0), nobody(1), nobody(2)], INFO)


def test_no_frames_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no frames"):
        fill_gaps([], INFO)


def test_inputs_are_not_modified() -> None:
    dets = [person(0, 10.0), nobody(1), person(2, 30.0)]
    fill_gaps(dets, INFO)
    assert dets[1].keypoints.max() == 0.0 and dets[0].keypoints[0, 0] == 10.0


def test_normalized_input_has_zero_confidence_on_filled_frames() -> None:
    seq = fill_gaps([person(0, 320.0), nobody(1), person(2, 320.0)], INFO)
    x = seq.normalized()
    assert x.shape == (3, NUM_JOINTS, 3)
    assert x[1, :, 2].max() == 0.0 and x[0, :, 2].min() == pytest.approx(0.9)
    assert x[:, 0, 0] == pytest.approx([0.0, 0.0, 0.0])  # x = 320 is the centre of 640
