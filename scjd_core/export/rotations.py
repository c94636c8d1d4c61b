"""Batched rotation helpers for solving joint rotations from positions."""

from __future__ import annotations

import warnings

import numpy as np

_EPS = 1e-12


def unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of ``v (..., 3)`` and a mask of the ones that had a length."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = n[..., 0] > _EPS
    return np.where(ok[..., None], v / np.where(ok[..., None], n, 1.0), 0.0), ok


def _perpendicular(a: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to each unit vector of ``a (F, 3)``."""
    helper = np.zeros_like(a)
    helper[np.arange(a.shape[0]), np.argmin(np.abs(a), axis=-1)] = 1.0
    return unit(np.cross(a, helper))[0]


def _arc_quat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quaternions (x, y, z, w) of the shortest arcs ``a -> b`` (unit, not antiparallel)."""
    q = np.concatenate([np.cross(a, b), 1.0 + np.sum(a * b, axis=-1, keepdims=True)], axis=-1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(F, 3, 3)`` turning unit vectors ``a`` onto ``b`` by the shortest arc.

    ``a`` may be one vector ``(3,)`` or ``(F, 3)``; ``b`` is ``(F, 3)``. Where ``b`` is zero
    (no direction) the identity is returned. Where ``b`` is (almost) exactly opposite to
    ``a`` the shortest arc is not unique: the rotation is 180° about an axis
    perpendicular to ``a``, followed by the tiny arc that remains, so ``a`` still lands
    exactly on ``b``.
    """
    from scipy.spatial.transform import Rotation

    b, ok = unit(np.asarray(b, dtype=np.float64))
    a = np.broadcast_to(unit(np.asarray(a, dtype=np.float64))[0], b.shape).copy()
    b = np.where(ok[..., None], b, a)
    flipped = 1.0 + np.sum(a * b, axis=-1) < 1e-9
    quat = np.empty(b.shape[:-1] + (4,))
    quat[~flipped] = _arc_quat(a[~flipped], b[~flipped])
    if flipped.any():
        half_turn = Rotation.from_rotvec(np.pi * _perpendicular(a[flipped]))
        rest = Rotation.from_quat(_arc_quat(-a[flipped], b[flipped]))
        quat[flipped] = (rest * half_turn).as_quat()
    return Rotation.from_quat(quat.reshape(-1, 4)).as_matrix().reshape(b.shape[:-1] + (3, 3))


def best_fit_rotation(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per frame, the rotation ``R`` that best maps ``rest`` directions onto ``target`` ones (Kabsch).

    Args:
        rest: ``(K, 3)`` unit directions in the rest pose.
        target: ``(F, K, 3)`` unit directions to reach.

    Returns:
        ``(F, 3, 3)`` proper rotations minimising ``sum_k |R rest_k - target_k|^2``.
    """
    h = np.einsum("ki,fkj->fij", rest, target)  # sum_k rest_k target_k^T
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("fji,fkj->fik", vt, u)))
    d = np.where(d == 0, 1.0, d)
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = d
    return np.einsum("fji,fjk,flk->fil", vt, fix, u)  # V diag(1, 1, d) U^T


def matrices_to_zxy_degrees(mats: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` -> intrinsic Z-X-Y Euler angles in degrees ``(..., 3)``.

    The angles ``(z, x, y)`` satisfy ``M = Rz(z) @ Rx(x) @ Ry(y)``: the BVH channel order
    ``Zrotation Xrotation Yrotation``.
    """
    from scipy.spatial.transform import Rotation

    flat = mats.reshape(-1, 3, 3)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gimbal lock detected")
        angles = Rotation.from_matrix(flat).as_euler("ZXY", degrees=True)
    return angles.reshape(mats.shape[:-2] + (3,))
