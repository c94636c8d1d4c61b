"""A synthetic 2D pose stream: plausible input for timing lifters without a video.

Used by :func:`scjd_core.backends.onnx_backend.time_lift` (the engine choice times both
engines on it), by the benchmarks in :mod:`scjd_core.bench` and by tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Pose2DSequence

#: Image size of the synthetic stream (pixels).
SYNTHETIC_SIZE = (1280, 720)


def synthetic_stream(frames: int, fps: float = 30.0, chunk: int = 1000, seed: int = 0) -> Iterator[Pose2DSequence]:
    """A plausible-looking synthetic 2D stream, generated chunk by chunk (never held whole).

    A fixed standing skeleton whose joints sway with slow, per-joint sinusoids, full
    confidence. Lifting speed does not depend on the values; this only avoids degenerate
    (constant) input.

    Args:
        frames: total frames.
        fps: frame rate (sets the timestamps).
        chunk: frames per yielded sequence.
        seed: seed of the per-joint phases and amplitudes.
    """
    width, height = SYNTHETIC_SIZE
    rng = np.random.default_rng(seed)
    base = np.stack([width / 2 + rng.uniform(-80, 80, NUM_JOINTS), np.linspace(150, 600, NUM_JOINTS)], -1)
    amp = rng.uniform(5, 40, (NUM_JOINTS, 2))
    phase = rng.uniform(0, 2 * np.pi, (NUM_JOINTS, 2))
    for start in range(0, frames, chunk):
        n = min(chunk, frames - start)
        t = (start + np.arange(n)) / fps
        kp = base + amp * np.sin(2 * np.pi * 0.7 * t[:, None, None] + phase)
        yield Pose2DSequence(
            keypoints=kp.astype(np.float32),
            confidence=np.ones((n, NUM_JOINTS), np.float32),
            found=np.ones(n, bool),
            filled=np.zeros(n, bool),
            times=t,
            width=width,
            height=height,
            fps=fps,
        )
