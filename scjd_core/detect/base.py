"""The 2D-detector interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from types import TracebackType

import numpy as np

from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Detection2D, Frame


def empty_detection(index: int, time_s: float) -> Detection2D:
    """The result for a frame where nobody was found: zero keypoints, zero confidence."""
    return Detection2D(
        index=index,
        time_s=time_s,
        keypoints=np.zeros((NUM_JOINTS, 2), dtype=np.float32),
        confidence=np.zeros(NUM_JOINTS, dtype=np.float32),
        found=False,
    )


class Detector2D(ABC):
    """Finds one person's 17 joints (pixels + confidence) in a frame.

    Detectors may keep state between frames (trackers), so feed one clip's frames in
    order and use a fresh detector (or :meth:`reset`) for the next clip. Use it as a
    context manager, or call :meth:`close` when done.

    Attributes:
        name: short name recorded in results and file metadata.
    """

    name: str = "base"

    @abstractmethod
    def detect(self, frame: Frame) -> Detection2D:
        """Detect the person in ``frame``; ``found=False`` (zeros) when there is nobody."""

    def reset(self) -> None:
        """Forget any tracking state (call before feeding an unrelated clip).

        Stateless detectors have nothing to forget; trackers override this.
        """
        return None

    def close(self) -> None:
        """Release native resources; the detector is unusable afterwards.

        Detectors that hold no native resources have nothing to release.
        """
        return None

    def __enter__(self) -> Detector2D:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def detect_all(
    detector: Detector2D,
    frames: Iterable[Frame],
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[Detection2D]:
    """Run ``detector`` over ``frames`` (e.g. a frame source) and collect the detections.

    Args:
        detector: the 2D detector.
        frames: the frames, in order.
        limit: stop after this many frames (all when ``None``).
        on_progress: called with the number of frames done after each frame.
    """
    out: list[Detection2D] = []
    for frame in frames:
        if limit is not None and len(out) >= limit:
            break
        out.append(detector.detect(frame))
        if on_progress is not None:
            on_progress(len(out))
    return out
