"""Synthetic detector noise: magnitudes and structure as configured."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scjd_core.skeleton import JOINT_INDEX
from training.data.noise import SWAP_LIMBS, DetectorNoise, apply_noise, ou_process, smooth_noise

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
    cfg = dataclasses.replace(DetectorNoise.v1(), missing_prob=0.0, drop_prob=0.0)
    out, conf = apply_noise(kp, np.random.default_rng(7), BODY, cfg)
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


# --- v1: the hand-set defaults, frozen -------------------------------------------------

V1_VALUES = {
    "jitter": 0.008,
    "drift": 0.012,
    "drift_tau": 10.0,
    "joint_scale": {
        "left_wrist": 1.6,
        "right_wrist": 1.6,
        "left_elbow": 1.25,
        "right_elbow": 1.25,
        "left_ankle": 1.3,
        "right_ankle": 1.3,
        "head": 1.2,
    },
    "drop_prob": 0.01,
    "drop_run": 4.0,
    "drop_offset": 0.15,
    "outlier_prob": 0.003,
    "outlier_offset": 0.25,
    "outlier_conf": 0.4,
    "missing_prob": 0.01,
    "missing_run": 3.0,
    "conf_max": 1.0,
    "conf_error_scale": 0.5,
    "conf_noise": 0.03,
}


def test_v1_equals_the_old_defaults():
    v1 = dataclasses.asdict(DetectorNoise.v1())
    for name, value in V1_VALUES.items():
        assert v1[name] == value, name
    # the components added since are off, and the old jitter/drift model is used
    assert v1["swap_prob"] == 0.0 and v1["conf_dip"] == 0.0
    assert v1["drift_order"] == 1 and v1["jitter_joint_scale"] is None
    assert DetectorNoise.v1() != DetectorNoise()  # the defaults have moved on


def test_v1_reproduces_the_old_noise_draw_for_draw():
    """Figures computed with the code as it was before the calibration (same seed, same input)."""
    rng = np.random.default_rng(2024)
    kp = rng.uniform(100, 900, size=(1, 17, 2)) + np.cumsum(rng.normal(0, 2.0, size=(60, 1, 2)), axis=0)
    out, conf = apply_noise(kp, np.random.default_rng(7), 300.0, DetectorNoise.v1())
    assert float(np.float64(out).sum()) == pytest.approx(904970.736114502, rel=1e-9)
    assert float(np.float64(conf).sum()) == pytest.approx(915.7315223179758, rel=1e-9)
    assert float(out[10, 3, 0]) == pytest.approx(162.48760986328125, rel=1e-7)
    assert float(conf[10, 3]) == pytest.approx(0.9732649922370911, rel=1e-7)


def test_v1_and_none_are_fresh_copies():
    a, b = DetectorNoise.v1(), DetectorNoise.v1()
    a.joint_scale["pelvis"] = 9.0
    assert "pelvis" not in b.joint_scale
    assert "pelvis" not in DetectorNoise.v1().joint_scale


# --- the calibrated defaults and the components added with them -----------------------


def _rows(frames: int) -> np.ndarray:
    """Clean keypoints with left and right joints far apart (so swaps are visible)."""
    rng = np.random.default_rng(11)
    base = rng.uniform(100, 900, size=(1, 17, 2))
    return base + np.cumsum(rng.normal(0, 1.0, size=(frames, 1, 2)), axis=0)


def test_defaults_are_finite_and_in_range():
    kp = _rows(400)
    out, conf = apply_noise(kp, np.random.default_rng(20), BODY, DetectorNoise())
    assert np.isfinite(out).all() and np.isfinite(conf).all()
    assert ((conf >= 0) & (conf <= 1)).all()
    assert np.median(conf) > 0.98  # MediaPipe: 0.996-0.999
    # frame-to-frame jitter is small (MediaPipe: a few hundredths of a percent of the body)
    trusted = (conf > 0.5).all(axis=1)
    err = (out - kp)[trusted] / BODY
    assert np.median(np.abs(np.diff(err[:, JOINT_INDEX["pelvis"]], axis=0))) < 0.002


def test_swap_rate_matches_its_parameter():
    kp = _rows(3000)
    cfg = _only(swap_prob=0.05, swap_run=4.0, swap_conf=0.6)
    out, conf = apply_noise(kp, np.random.default_rng(21), BODY, cfg)
    for left_names, right_names in SWAP_LIMBS:
        left = [JOINT_INDEX[n] for n in left_names]
        right = [JOINT_INDEX[n] for n in right_names]
        swapped = np.all(np.isclose(out[:, left], kp[:, right]) & np.isclose(out[:, right], kp[:, left]), axis=(1, 2))
        kept = np.all(np.isclose(out[:, left], kp[:, left]) & np.isclose(out[:, right], kp[:, right]), axis=(1, 2))
        assert (swapped | kept).all()  # a limb is swapped as a whole, or not at all
        assert swapped.mean() == pytest.approx(0.05, abs=0.015)
        assert (swapped[1:] & swapped[:-1]).sum() / swapped.sum() > 0.5  # in runs
        assert conf[swapped][:, left + right].min() >= 0.6 - 1e-6  # a little lower, never below swap_conf
        assert (conf[kept][:, left + right] == 1.0).all()
    trunk = [JOINT_INDEX[n] for n in ("pelvis", "spine", "thorax", "neck", "head")]
    np.testing.assert_allclose(out[:, trunk], kp[:, trunk], rtol=1e-6)


def test_second_order_drift_is_smooth():
    kp = _clean(2000)
    err = {}
    for order in (1, 2):
        cfg = _only(drift=0.02, drift_tau=10.0, drift_order=order)
        out, _ = apply_noise(kp, np.random.default_rng(22), BODY, cfg)
        err[order] = (out - kp) / BODY
        assert err[order].std() == pytest.approx(0.02, rel=0.2)
    d2 = {k: np.diff(e, n=2, axis=0).std() for k, e in err.items()}
    assert d2[2] < 0.1 * d2[1]  # almost no frame-to-frame jitter


def test_smooth_noise_is_stationary_unit_variance():
    x = smooth_noise(np.random.default_rng(23), (120, 4000), tau=10.0, order=2)
    assert x[0].std() == pytest.approx(1.0, rel=0.08)
    assert x[-1].std() == pytest.approx(1.0, rel=0.08)
    lag1 = np.corrcoef(x[1:].ravel(), x[:-1].ravel())[0, 1]
    assert lag1 > np.exp(-1 / 10.0)  # smoother than the first-order process


def test_jitter_joint_scale_is_separate_from_the_drift_scale():
    kp = _clean(1500)
    cfg = _only(jitter=0.01, jitter_joint_scale={"left_wrist": 3.0}, joint_scale={"left_wrist": 0.5}, drift_order=2)
    out, _ = apply_noise(kp, np.random.default_rng(24), BODY, cfg)
    std = ((out - kp) / BODY).std(axis=(0, 2))
    assert std[JOINT_INDEX["left_wrist"]] == pytest.approx(0.03, rel=0.1)
    assert std[JOINT_INDEX["pelvis"]] == pytest.approx(0.01, rel=0.1)


def test_confidence_dips_are_slow_and_per_joint():
    kp = _clean(2000)
    cfg = _only(conf_dip=0.1, conf_dip_tau=20.0, conf_dip_shape=1.0, conf_joint_scale={"pelvis": 0.0})
    out, conf = apply_noise(kp, np.random.default_rng(25), BODY, cfg)
    np.testing.assert_allclose(out, kp.astype(np.float32))  # positions untouched
    assert (conf[:, JOINT_INDEX["pelvis"]] == 1.0).all()
    wrist = conf[:, JOINT_INDEX["left_wrist"]]
    assert ((conf >= 0) & (conf <= 1)).all()
    assert (1.0 - conf[:, 1:]).mean() == pytest.approx(0.1 * np.sqrt(2 / np.pi), rel=0.15)  # E|z| of a half-normal
    assert np.corrcoef(wrist[1:], wrist[:-1])[0, 1] > 0.8  # |z| of an OU process with tau 20: ~0.88


def test_drift_order_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="drift_order"):
        DetectorNoise(drift_order=0)
    with pytest.raises(ValueError, match="drift_order"):
        DetectorNoise(drift_order=1.5)
