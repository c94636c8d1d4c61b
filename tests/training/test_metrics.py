"""Metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from training.metrics import joint_errors, mpjpe, mpjve, p_mpjpe, per_joint_mpjpe, procrustes_align


def test_mpjpe_hand_computed_in_mm() -> None:
    target = np.zeros((1, 2, 3))
    pred = np.array([[[0.003, 0.004, 0.0], [0.0, 0.0, 0.001]]])  # 5 mm and 1 mm off
    assert mpjpe(pred, target) == pytest.approx(3.0)
    assert mpjpe(pred, target, scale=1.0) == pytest.approx(0.003)
    np.testing.assert_allclose(joint_errors(pred, target), [[5.0, 1.0]])


def test_per_joint_mpjpe_averages_leading_axes() -> None:
    target = np.zeros((2, 3, 2, 3))
    pred = target.copy()
    pred[0, :, 1, 0] = 0.010  # joint 1 is 10 mm off in half of the windows
    np.testing.assert_allclose(per_joint_mpjpe(pred, target), [0.0, 5.0])


def test_p_mpjpe_of_rotated_scaled_translated_copy_is_zero() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(5, 17, 3))
    rot = Rotation.random(5, random_state=1).as_matrix()
    pred = 1.7 * np.einsum("nij,nkj->nki", rot, target) + rng.normal(size=(5, 1, 3))
    assert mpjpe(pred, target) > 100.0
    assert p_mpjpe(pred, target) == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(procrustes_align(pred, target), target, atol=1e-9)


def test_p_mpjpe_does_not_undo_a_mirror_image() -> None:
    target = np.random.default_rng(2).normal(size=(1, 17, 3))
    mirrored = target * np.array([-1.0, 1.0, 1.0])  # a reflection is not a similarity
    assert p_mpjpe(mirrored, target, scale=1.0) > 0.05


def test_p_mpjpe_is_at_most_mpjpe_and_handles_time_axis() -> None:
    rng = np.random.default_rng(3)
    target = rng.normal(size=(2, 4, 17, 3))
    pred = target + 0.01 * rng.normal(size=target.shape)
    assert procrustes_align(pred, target).shape == pred.shape
    assert 0 < p_mpjpe(pred, target) <= mpjpe(pred, target)


def test_mpjve_hand_computed() -> None:
    target = np.zeros((1, 3, 1, 3))
    pred = np.zeros((1, 3, 1, 3))
    pred[0, 1, 0, 0] = 0.002  # a 2 mm blip in the middle frame: velocity error 2 mm twice
    assert mpjve(pred, target) == pytest.approx(2.0)
    assert mpjve(pred + 0.5, target) == pytest.approx(mpjve(pred, target))  # offsets don't count


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="differs"):
        mpjpe(np.zeros((2, 17, 3)), np.zeros((3, 17, 3)))
    with pytest.raises(ValueError, match="T>=2"):
        mpjve(np.zeros((1, 17, 3)), np.zeros((1, 17, 3)))
