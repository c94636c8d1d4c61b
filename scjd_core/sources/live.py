"""Replaying a recorded clip as if it were a live camera."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

from scjd_core.sources.base import FrameSource
from scjd_core.types import Frame


class LivePacedSource(FrameSource):
    """Plays a recorded source at its real frame rate, the way a camera would deliver it.

    Frame ``i`` is released no earlier than ``time_s`` after the first frame. When the
    consumer is slower than the clip, the frames whose time has passed are **dropped**
    and the newest due frame is delivered instead (as a camera does): :attr:`dropped`
    counts them. Every delivered frame's ``capture_time`` is the moment it was released,
    so ``perf_counter() - capture_time`` is the consumer's latency. If decoding itself is
    slower than real time, the newest frame decoded so far is delivered rather than
    waiting for a catch-up that would never come.

    Args:
        source: any :class:`FrameSource` with timestamps (``open_source(path, live=True)``
            opens a video file or image folder this way).
        clock: the time function (seconds); injectable for tests.
        sleep: the sleep function matching ``clock``.
    """

    def __init__(
        self,
        source: FrameSource,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.inner = source
        self.info = dataclasses.replace(source.info, kind="live")
        self._clock = clock
        self._sleep = sleep
        self.dropped = 0
        self.delivered = 0

    def _frames(self) -> Iterator[Frame]:
        self.dropped = 0
        self.delivered = 0
        period = 1.0 / self.info.fps
        start: float | None = None
        late: Frame | None = None  # newest overdue frame not delivered yet
        late_lag = 0.0
        for frame in self.inner:
            if start is None:
                start = self._clock() - frame.time_s
            now = self._clock() - start
            lag = now - frame.time_s
            overdue = frame.time_s + period <= now  # its successor is already due
            catching_up = late is None or lag < late_lag
            if overdue and catching_up:
                if late is not None:
                    self.dropped += 1
                late, late_lag = frame, lag
                continue
            if late is not None:
                self.dropped += 1
                late = None
            if frame.time_s > now:
                self._sleep(frame.time_s - now)
            yield self._release(frame)
        if late is not None:
            yield self._release(late)

    def _release(self, frame: Frame) -> Frame:
        self.delivered += 1
        return dataclasses.replace(frame, capture_time=self._clock())

    def close(self) -> None:
        """Close the replayed source."""
        self.inner.close()
        super().close()
