"""MediaPipe's own 3D (world landmarks) as a lifting backend, for comparison."""

from __future__ import annotations

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.errors import InputError
from scjd_core.skeleton import ROOT
from scjd_core.types import Lift3D, Pose2DSequence


class MediaPipeWorldBackend(LiftingBackend):
    """Returns the 3D that MediaPipe Pose estimated itself, frame by frame.

    It does no computation: :class:`~scjd_core.detect.MediaPipeDetector` already mapped
    MediaPipe's world landmarks onto the 17 joints in camera axes (x right, y down,
    z away; metres), and :func:`~scjd_core.detect.fill_gaps` filled the missing frames.
    Useful as the baseline the SCJD lifters are compared against.
    """

    name = "mediapipe"
    window = 1
    device = "cpu"
    free = True

    def lift(self, seq: Pose2DSequence, attention: bool = False) -> Lift3D:
        """Return ``seq.world`` root-relative (no attention maps: MediaPipe exposes none).

        Raises:
            InputError: when the sequence has no world landmarks (e.g. it came from a
                keypoint file or another 2D detector).
        """
        if seq.world is None:
            raise InputError(
                "the 'mediapipe' 3D backend needs MediaPipe world landmarks, which this input does not "
                "have (keypoint files and other detectors give 2D only): use the student or teacher backend"
            )
        world = np.asarray(seq.world, dtype=np.float32)
        if world.shape != (len(seq), seq.keypoints.shape[1], 3):
            raise ValueError(f"world landmarks have shape {world.shape}, expected ({len(seq)}, 17, 3)")
        return Lift3D(poses=world - world[:, ROOT : ROOT + 1])
