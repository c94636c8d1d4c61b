"""Pose-accuracy metrics (numpy): MPJPE, P-MPJPE, MPJVE, per-joint MPJPE.

Inputs are positions in metres, ``(..., J, 3)`` (``(..., T, J, 3)`` for velocities);
results are in millimetres by default (``scale=1000``), the unit the tables report.

P-MPJPE aligns each predicted frame to its ground truth with the best similarity
transform (rotation, uniform scale, translation; Umeyama / Kabsch with the reflection
case excluded) before measuring. It is done with one *batched* SVD over all frames
rather than :func:`scipy.linalg.orthogonal_procrustes`, which solves one frame per call
(a Python loop over tens of thousands of frames), may return a reflection, and does not
give the scale or translation; the batched form is the standard Human3.6M protocol
(VideoPose3D's ``p_mpjpe``).
"""

from __future__ import annotations

import numpy as np

MM: float = 1000.0


def _check(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    if pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(f"poses must be (..., J, 3), got {pred.shape}")
    return pred, target


def joint_errors(pred: np.ndarray, target: np.ndarray, scale: float = MM) -> np.ndarray:
    """Euclidean error of every joint of every pose, ``(..., J)``, times ``scale``."""
    pred, target = _check(pred, target)
    return np.linalg.norm(pred - target, axis=-1) * scale


def mpjpe(pred: np.ndarray, target: np.ndarray, scale: float = MM) -> float:
    """Mean per-joint position error over all joints and poses (mm by default)."""
    return float(joint_errors(pred, target, scale).mean())


def per_joint_mpjpe(pred: np.ndarray, target: np.ndarray, scale: float = MM) -> np.ndarray:
    """MPJPE of each joint, ``(J,)``, averaged over every leading axis."""
    err = joint_errors(pred, target, scale)
    return err.reshape(-1, err.shape[-1]).mean(axis=0)


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Align each pose of ``pred`` to ``target`` by the best similarity transform.

    Args:
        pred: ``(..., J, 3)``.
        target: ``(..., J, 3)``.

    Returns:
        ``pred`` rotated, uniformly scaled and translated, same shape, float64.
    """
    pred, target = _check(pred, target)
    shape = pred.shape
    p = pred.reshape(-1, shape[-2], 3)
    t = target.reshape(-1, shape[-2], 3)
    mu_p = p.mean(axis=1, keepdims=True)
    mu_t = t.mean(axis=1, keepdims=True)
    p0 = p - mu_p
    t0 = t - mu_t
    norm_p = np.sqrt((p0**2).sum(axis=(1, 2), keepdims=True))
    norm_t = np.sqrt((t0**2).sum(axis=(1, 2), keepdims=True))
    norm_p = np.maximum(norm_p, 1e-12)
    norm_t = np.maximum(norm_t, 1e-12)
    p0 = p0 / norm_p
    t0 = t0 / norm_t
    h = np.matmul(np.swapaxes(t0, 1, 2), p0)  # (N, 3, 3)
    u, s, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, 1, 2)
    r = np.matmul(v, np.swapaxes(u, 1, 2))
    # Exclude reflections: flip the least significant singular direction where det(R) < 0.
    sign = np.sign(np.linalg.det(r))[:, None]
    v[:, :, -1] *= sign
    s[:, -1] *= sign[:, 0]
    r = np.matmul(v, np.swapaxes(u, 1, 2))
    trace = s.sum(axis=1)[:, None, None]
    a = trace * norm_t / norm_p  # scale
    aligned = a * np.matmul(p - mu_p, r) + mu_t
    return aligned.reshape(shape)


def p_mpjpe(pred: np.ndarray, target: np.ndarray, scale: float = MM) -> float:
    """MPJPE after per-pose similarity (Procrustes) alignment (mm by default)."""
    return mpjpe(procrustes_align(pred, target), target, scale)


def mpjve(pred: np.ndarray, target: np.ndarray, scale: float = MM) -> float:
    """Mean per-joint velocity error: MPJPE of first differences over time.

    Args:
        pred: ``(..., T, J, 3)`` with time on axis -3 (``T >= 2``).
        target: same shape.
        scale: unit factor (mm per metre by default); the result is per frame step.
    """
    pred, target = _check(pred, target)
    if pred.ndim < 3 or pred.shape[-3] < 2:
        raise ValueError(f"velocity error needs (..., T>=2, J, 3), got {pred.shape}")
    return mpjpe(np.diff(pred, axis=-3), np.diff(target, axis=-3), scale)
