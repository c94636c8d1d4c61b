"""Filling the frames where nobody was detected."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scjd_core.errors import InputError, NoPersonError
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Detection2D, Pose2DSequence, SourceInfo


def _interpolate(values: np.ndarray, have: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fill rows of ``values (F, ...)`` where ``have`` is False by linear interpolation over ``x``.

    Rows before the first / after the last known row hold that row's value.
    """
    if have.all():
        return values.copy()
    flat = values.reshape(len(values), -1).astype(np.float64)
    known = np.flatnonzero(have)
    out = np.empty_like(flat)
    for col in range(flat.shape[1]):
        out[:, col] = np.interp(x, x[known], flat[known, col])
    return out.reshape(values.shape).astype(values.dtype)


def fill_gaps(detections: Sequence[Detection2D], info: SourceInfo) -> Pose2DSequence:
    """Assemble per-frame detections into a gap-free :class:`Pose2DSequence`.

    Frames where nobody was found get keypoints (and world joints) linearly interpolated
    between the nearest frames with a person, over the frames' timestamps (or their
    order, when timestamps do not increase); before the first and after the last
    detection the nearest detected pose is held. Filled frames are flagged in
    ``filled`` and get confidence 0, the lifters' convention for joints not seen.

    ``world`` is filled the same way over the frames that have world joints; it is
    ``None`` when no detection has any.

    Args:
        detections: one detection per frame, in frame order.
        info: the source the frames came from (size, fps, name).

    Returns:
        The sequence (``meta`` records the source name and the counts).

    Raises:
        NoPersonError: when nobody was found in any frame.
        InputError: when ``detections`` is empty.
    """
    n = len(detections)
    if n == 0:
        raise InputError(f"{info.name} has no frames to detect a person in: check the input")
    found = np.array([d.found for d in detections], dtype=bool)
    if not found.any():
        raise NoPersonError(
            f"no person was detected in any of the {n} frames of {info.name}: make sure one whole "
            "person is visible, large enough and well lit, or try another clip"
        )
    times = np.array([d.time_s for d in detections], dtype=np.float64)
    x = times if n < 2 or np.all(np.diff(times) > 0) else np.arange(n, dtype=np.float64)
    keypoints = np.stack([np.asarray(d.keypoints, dtype=np.float32) for d in detections])
    confidence = np.stack([np.asarray(d.confidence, dtype=np.float32) for d in detections])
    keypoints = _interpolate(keypoints, found, x)
    confidence[~found] = 0.0

    world = None
    has_world = np.array([d.found and d.world is not None for d in detections], dtype=bool)
    if has_world.any():
        world = np.zeros((n, NUM_JOINTS, 3), dtype=np.float32)
        for i in np.flatnonzero(has_world):
            world[i] = detections[i].world
        world = _interpolate(world, has_world, x)

    boxes = None
    if any(d.box is not None for d in detections):  # a chosen person was followed: keep the crops
        boxes = np.stack([np.full(4, np.nan, np.float32) if d.box is None else d.box for d in detections])
    return Pose2DSequence(
        keypoints=keypoints,
        confidence=confidence,
        found=found,
        filled=~found,
        times=times,
        width=info.width,
        height=info.height,
        fps=info.fps,
        world=world,
        meta={"source": info.name, "frames": n, "detected": int(found.sum()), "filled": int((~found).sum())},
        boxes=boxes,
    )
