"""Ground truth as a 3D stream beside the lifters, for inputs that carry it.

:func:`scjd_core.inputs.open_input` adds it for a mocap file (seen by a virtual camera,
:mod:`scjd_core.mocap.view`), so clip and live mode carry the true 3D of every frame
under the name ``ground_truth``, and the viewer and the export compare against it.
"""

from __future__ import annotations

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.types import Lift3D, Pose2DSequence


class GroundTruthBackend(LiftingBackend):
    """Returns the true 3D of the frames it is asked for (matched by timestamp).

    Args:
        truth: ``(F, 17, 3)`` camera-frame metres, root-relative.
        fps: frame rate of ``truth`` (frame ``i`` is at ``i / fps`` seconds).
    """

    name = "ground_truth"
    window = 1
    free = True

    def __init__(self, truth: np.ndarray, fps: float) -> None:
        self.truth = np.asarray(truth, dtype=np.float32)
        self.fps = float(fps)

    def lift(self, seq: Pose2DSequence, attention: bool = False) -> Lift3D:
        """The truth at ``seq``'s timestamps (no attention: ground truth has none)."""
        index = np.clip(np.rint(np.asarray(seq.times) * self.fps).astype(int), 0, len(self.truth) - 1)
        return Lift3D(poses=self.truth[index].copy())
