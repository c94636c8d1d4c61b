"""The GUI thread's store of processed frames, by frame index."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from scjd_app.worker import ViewFrame


class ResultCache:
    """Processed frames by index, plus the per-frame mean teacher-student error.

    Args:
        capacity: frames kept; the oldest are evicted beyond it (live mode). None keeps
            every frame (clip mode: scrubbing must never wait on a model).
    """

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity
        self._frames: OrderedDict[int, ViewFrame] = OrderedDict()
        self._mean_error: dict[str, dict[int, float]] = {}
        self.newest: ViewFrame | None = None

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def clear(self) -> None:
        """Forget every frame."""
        self._frames.clear()
        self._mean_error.clear()
        self.newest = None

    def add(self, frame: ViewFrame) -> None:
        """Store a frame (replacing one with the same index)."""
        self._frames[frame.index] = frame
        self._frames.move_to_end(frame.index)
        for name, values in frame.errors.items():
            self._mean_error.setdefault(name, {})[frame.index] = float(np.mean(values))
        self.newest = frame
        if self.capacity is not None:
            while len(self._frames) > self.capacity:
                old, _ = self._frames.popitem(last=False)
                for series in self._mean_error.values():
                    series.pop(old, None)

    def get(self, index: int) -> ViewFrame | None:
        """The frame at ``index``, or None when it is not processed (or was evicted)."""
        return self._frames.get(index)

    def nearest(self, index: int) -> ViewFrame | None:
        """The processed frame at ``index`` or, failing that, the closest one before it."""
        frame = self._frames.get(index)
        if frame is not None or not self._frames:
            return frame
        earlier = [i for i in self._frames if i <= index]
        return self._frames[max(earlier)] if earlier else None

    def contiguous(self) -> int:
        """How many frames from 0 on are processed without a gap."""
        n = 0
        while n in self._frames:
            n += 1
        return n

    def indices(self) -> list[int]:
        """Processed frame indices, sorted."""
        return sorted(self._frames)

    def frames(self) -> list[ViewFrame]:
        """Processed frames in index order."""
        return [self._frames[i] for i in sorted(self._frames)]

    def mean_error_curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per error series, ``(frame indices, mean over joints in mm)`` of the frames that have it."""
        out = {}
        for name, series in self._mean_error.items():
            idx = np.array(sorted(series), dtype=np.int64)
            out[name] = (idx, np.array([series[i] for i in idx], dtype=np.float64))
        return out
