"""Synthetic detector noise: magnitudes and structure as configured."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from training.data.noise import DetectorNoise, apply_noise, ou_process

BODY = 400.0  # body size in pixels


def _clean(frames: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(123)
    base = rng.uniform(100, 900, size=(1, 17, 2))
    drift = np.cumsum(rng.normal(0, 2.0, size=(frames, 1, 2)), axis=0)  # the person moves
    return base + drift


def _only(**kwargs) -> DetectorNoise:
    return dataclasses.replace(DetectorNoise.none(), **kwargs)


def test_none_is_identity():
    kp = _clean(50)
    out, conf = apply_noise(kp, np.random.default_rng(0), BODY, DetectorNoise.none())
    assert out.dtype == np.float32 and conf.dtype == np.float32
    assert out.shape == (50, 17, 2) and conf.shape == (50, 17)
    np.testing.assert_allclose(out, kp.astype(np.float32))
    assert (conf == 1.0).all()


def test_jitter_magnitude_scales_with_body_size():
    kp = _clean()
    for body in (200.0, 800.0):
        out, _ = apply_noise(kp, np.random.default_rng(1), body, _only(jitter=0.02))
        err = (out - kp) / body
        assert err.std() == pytest.approx(0.02, rel=0.05)
        assert abs(np.corrcoef(err[1:, :, 0].ravel(), err[:-1, :, 0].ravel())[0, 1]) < 0.05  # white


def test_joint_scale_makes_extremities_noisier():
    kp = _clean()
    cfg = _only(jitter=0.01, joint_scale={"left_wrist": 2.0})
    out, _ = apply_noise(kp, np.random.default_rng(2), BODY, cfg)
    std = ((out - kp) / BODY).std(axis=(0, 2))
    assert std[13] == pytest.approx(0.02, rel=0.1)  # left_wrist
    assert std[0] == pytest.approx(0.01, rel=0.1)


def test_drift_is_temporally_correlated():
    kp = _clean()
    out, _ = apply_noise(kp, np.random.default_rng(3), BODY, _only(drift=0.02, drift_tau=10.0))
    err = (out - kp) / BODY
    assert err.std() == pytest.approx(0.02, rel=0.15)
    lag1 = np.corrcoef(err[1:].ravel(), err[:-1].ravel())[0, 1]
    assert lag1 == pytest.approx(np.exp(-1 / 10.0), abs=0.03)


def test_ou_process_is_stationary_unit_variance():
    x = ou_process(np.random.default_rng(4), (200, 2000), tau=5.0)
    assert x[0].std() == pytest.approx(1.0, rel=0.08)  # already stationary at t = 0
    assert x[-1].std() == pytest.approx(1.0, rel=0.08)


def test_dropped_joints_have_zero_confidence_and_moved_coordinates():
    kp = _clean()
    out, conf = apply_noise(kp, np.random.default_rng(5), BODY, _only(drop_prob=0.05, drop_run=3.0))
    dropped = conf == 0
    assert dropped.mean() == pytest.approx(0.05, abs=0.015)
    moved = np.linalg.norm(out - kp, axis=-1) > 1e-3
    np.testing.assert_array_equal(moved, dropped)
    # runs: a dropped joint is usually dropped in the next frame too
    assert (dropped[1:] & dropped[:-1]).sum() / dropped.sum() > 0.4


def test_outliers_are_large_and_have_low_confidence():
    kp = _clean()
    cfg = _only(outlier_prob=0.02, outlier_offset=0.3, outlier_conf=0.4, conf_error_scale=0.1, conf_max=0.95)
    out, conf = apply_noise(kp, np.random.default_rng(6), BODY, cfg)
    err = np.linalg.norm(out - kp, axis=-1) / BODY
    outlier = err > 0.1
    assert outlier.mean() == pytest.approx(0.02, abs=0.006)
    assert err[outlier].min() >= 0.15 - 1e-6 and err[outlier].max() <= 0.45 + 1e-6
    assert conf[outlier].max() <= 0.4
    np.testing.assert_allclose(conf[~outlier], 0.95, rtol=1e-6)


def test_confidence_falls_with_error():
    kp = _clean()
    out, conf = apply_noise(kp, np.random.default_rng(7), BODY, DetectorNoise(missing_prob=0.0, drop_prob=0.0))
    err = np.linalg.norm(out - kp, axis=-1) / BODY
    assert ((conf >= 0) & (conf <= 1)).all()
    assert np.corrcoef(err.ravel(), conf.ravel())[0, 1] < -0.5


def test_missing_frames_are_interpolated_with_zero_confidence():
    kp = _clean(2000)
    out, conf = apply_noise(kp, np.random.default_rng(8), BODY, _only(missing_prob=0.05, missing_run=3.0))
    missing = (conf == 0).all(axis=1)
    assert (conf[~missing] == 1).all()
    assert missing.mean() == pytest.approx(0.05, abs=0.02)
    kept = np.flatnonzero(~missing)
    for t in np.flatnonzero(missing):
        before, after = kept[kept < t], kept[kept > t]
        if len(before) and len(after):
            a, b = before[-1], after[0]
            expect = kp[a] + (t - a) / (b - a) * (kp[b] - kp[a])
        else:
            expect = kp[before[-1]] if len(before) else kp[after[0]]
        np.testing.assert_allclose(out[t], expect, rtol=1e-5, atol=1e-3)


def test_per_frame_body_size():
    kp = _clean(1000)
    body = np.where(np.arange(1000) < 500, 100.0, 1000.0)
    out, _ = apply_noise(kp, np.random.default_rng(9), body, _only(jitter=0.01))
    err = np.abs(out - kp)
    assert err[500:].mean() / err[:500].mean() == pytest.approx(10.0, rel=0.15)
