"""Inputs of the CUDA benchmark: real (the demo clip's MediaPipe keypoints) and synthetic windows."""

from __future__ import annotations

from typing import Any

from scjd_core.bench.cuda.settings import KEYPOINTS


def realistic_windows(window: int, limit: int) -> Any:
    """Up to ``limit`` normalised windows ``(n, T, 17, 3)`` of the demo clip's MediaPipe keypoints.

    Sliding windows spread evenly over the 120-frame clip (edge-padded when it is shorter
    than a window). ``None`` when the keypoint file is not there (installed package).
    """
    import numpy as np

    from scjd_core.types import Pose2DSequence

    if limit <= 0 or not KEYPOINTS.is_file():
        return None
    with np.load(KEYPOINTS, allow_pickle=False) as data:
        kp, conf = data["keypoints"].astype(np.float32), data["confidence"].astype(np.float32)
        width, height, fps = int(data["width"]), int(data["height"]), float(data["fps"])
    n = kp.shape[0]
    seq = Pose2DSequence(kp, conf, conf.max(axis=1) > 0, np.zeros(n, bool), np.arange(n) / fps, width, height, fps)
    x = seq.normalized().astype(np.float32)
    if n < window:
        x = np.pad(x, ((0, window - n), (0, 0), (0, 0)), mode="edge")
    starts = np.unique(np.linspace(0, x.shape[0] - window, num=min(limit, x.shape[0] - window + 1)).astype(int))
    return np.stack([x[s : s + window] for s in starts])


def realistic_window_sequence(window: int) -> Any:
    """The first ``window`` frames of the demo clip's keypoints as a Pose2DSequence (synthetic if absent)."""
    import numpy as np

    from scjd_core.synthetic import synthetic_stream
    from scjd_core.types import Pose2DSequence, slice_sequence

    if not KEYPOINTS.is_file():
        return next(synthetic_stream(window, chunk=window))
    with np.load(KEYPOINTS, allow_pickle=False) as data:
        kp, conf = data["keypoints"].astype(np.float32), data["confidence"].astype(np.float32)
        width, height, fps = int(data["width"]), int(data["height"]), float(data["fps"])
    if kp.shape[0] < window:
        pad = window - kp.shape[0]
        kp = np.concatenate([kp, np.repeat(kp[-1:], pad, 0)])
        conf = np.concatenate([conf, np.repeat(conf[-1:], pad, 0)])
    n = kp.shape[0]
    seq = Pose2DSequence(kp, conf, conf.max(axis=1) > 0, np.zeros(n, bool), np.arange(n) / fps, width, height, fps)
    return slice_sequence(seq, 0, window)


def synthetic_windows(window: int, count: int, seed: int = 0) -> Any:
    """``count`` normalised synthetic windows ``(count, T, 17, 3)`` float32."""
    import numpy as np

    from scjd_core.synthetic import synthetic_stream

    seq = next(synthetic_stream(window * count, chunk=window * count, seed=seed))
    return seq.normalized().astype(np.float32).reshape(count, window, *seq.keypoints.shape[1:2], 3)
