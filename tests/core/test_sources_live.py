"""LivePacedSource: real-time pacing, and dropping frames for a slow consumer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from scjd_core.sources import LivePacedSource, open_source
from scjd_core.sources.base import FrameSource
from scjd_core.types import Frame, SourceInfo
from tests.core.test_sources import write_video


class ListSource(FrameSource):
    """``count`` tiny frames at ``fps``; ``on_read`` runs before each frame is produced."""

    def __init__(self, count: int, fps: float, on_read: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.info = SourceInfo("fake", "video", fps, 4, 4, count)
        self.on_read = on_read

    def _frames(self) -> Iterator[Frame]:
        for i in range(self.info.frame_count or 0):
            if self.on_read is not None:
                self.on_read()
            yield Frame(i, i / self.info.fps, np.zeros((4, 4, 3), np.uint8), 0.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept += seconds
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_fast_consumer_gets_every_frame_on_time_fake_clock() -> None:
    clock = FakeClock()
    live = LivePacedSource(ListSource(5, fps=10.0), clock=clock, sleep=clock.sleep)
    released = [(f.index, f.capture_time - 100.0) for f in live]
    assert [i for i, _ in released] == [0, 1, 2, 3, 4]
    assert [t for _, t in released] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert live.dropped == 0 and live.delivered == 5


def test_slow_consumer_drops_stale_frames_fake_clock() -> None:
    clock = FakeClock()
    live = LivePacedSource(ListSource(10, fps=10.0), clock=clock, sleep=clock.sleep)
    delivered = []
    for frame in live:
        delivered.append(frame.index)
        clock.advance(0.25)  # the consumer needs 2.5 frame periods per frame
    # At t = 0.25 frame 2 (t = 0.2) is the newest due, at 0.5 frame 5, at 0.75 frame 7,
    # and at 1.0 frame 9 (the last one, delivered when the clip ends).
    assert delivered == [0, 2, 5, 7, 9]
    assert live.dropped == 5 and live.delivered + live.dropped == 10


def test_decoding_slower_than_real_time_still_delivers_fake_clock() -> None:
    clock = FakeClock()
    live = LivePacedSource(
        ListSource(20, fps=10.0, on_read=lambda: clock.advance(0.15)), clock=clock, sleep=clock.sleep
    )
    delivered = [f.index for f in live]
    # Catching up is impossible (0.15 s to read a 0.1 s frame): frames keep coming out
    # instead of the source skipping to the end of the clip.
    assert len(delivered) >= 8
    assert delivered == sorted(delivered) and delivered[-1] == 19
    assert live.dropped + live.delivered == 20


def test_real_time_pacing_with_a_video(tmp_path: Path) -> None:
    fps = 20.0
    video = write_video(tmp_path / "clip.mp4", 8, fps=fps)
    live = open_source(video, live=True)
    assert live.info.kind == "live" and live.info.fps == fps
    start = time.perf_counter()
    frames = list(live)
    elapsed = time.perf_counter() - start
    assert [f.index for f in frames] == list(range(8))
    assert live.dropped == 0
    first = frames[0].capture_time
    for f in frames:  # never released before its time (small slack for clock granularity)
        assert f.capture_time - first >= f.time_s - 0.005
    assert elapsed >= 7 / fps - 0.01  # the 8 frames span 0.35 s
    assert elapsed < 5.0  # generous: loaded CI machines


def test_real_time_dropping_with_a_slow_consumer(tmp_path: Path) -> None:
    fps = 20.0
    video = write_video(tmp_path / "clip.mp4", 20, fps=fps)  # 1 s of video
    delivered = []
    with open_source(video, live=True) as live:
        start = None
        for frame in live:
            start = frame.capture_time if start is None else start
            due = int((frame.capture_time - start) * fps + 1e-6)
            delivered.append((frame.index, due))
            time.sleep(0.15)  # three frame periods of "work"
    indices = [i for i, _ in delivered]
    assert indices == sorted(set(indices))
    assert 0 < live.dropped and live.delivered + live.dropped == 20
    assert len(indices) < 20
    for index, due in delivered:  # the newest due frame is delivered, not an old one
        assert index >= min(due, 19) - 2  # after the last frame (19) is due, nothing newer exists
    assert live.closed and live.inner.closed
