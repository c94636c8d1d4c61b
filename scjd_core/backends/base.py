"""The 3D-backend interface: every lifter (MediaPipe world, teacher, student) has it."""

from __future__ import annotations

from abc import ABC, abstractmethod

from scjd_core.types import Lift3D, Pose2DSequence


class LiftingBackend(ABC):
    """Turns a 2D pose sequence into root-relative camera-frame 3D poses.

    Attributes:
        name: short name used on the command line and in file names.
        window: frames of context one output needs (1 for per-frame backends).
        device: ``"cpu"`` or ``"cuda"``.
        free: it computes nothing (it hands on 3D the input or the detector already has:
            MediaPipe's own 3D, a mocap file's ground truth), so live mode runs it on every
            frame and ``scjd process`` reports no speed for it.
    """

    name: str = "base"
    window: int = 1
    device: str = "cpu"
    free: bool = False

    @abstractmethod
    def lift(self, seq: Pose2DSequence, attention: bool = False) -> Lift3D:
        """Lift a run of frames: a whole clip (offline, batched) or one window (streaming).

        Windowed models cover ``seq`` with windows of :attr:`window` frames (edge frames
        replicated), so a sequence of exactly ``window`` frames costs one forward pass.

        Args:
            seq: the clip's 2D poses (gaps already filled).
            attention: also return the spatial attention maps, when the model has them.
        """

    def describe(self) -> dict:
        """Facts for ``scjd info`` and file metadata."""
        return {"name": self.name, "window": self.window, "device": self.device}
