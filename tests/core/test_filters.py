"""Temporal filters: Butterworth (zero-phase, offline) and One-Euro (streaming)."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.filters import SMOOTHING_METHODS, OneEuroFilter, butterworth, one_euro_clip, smooth_clip

FPS = 30.0


def _sine_clip(frames: int = 240, freq: float = 0.5, amp: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(frames) / FPS
    clean = np.zeros((frames, 17, 3))
    clean[...] = (amp * np.sin(2 * np.pi * freq * t))[:, None, None]
    return t, clean


def _best_lag(filtered: np.ndarray, clean: np.ndarray, skip: int = 30, max_lag: int = 10) -> int:
    n = len(clean)
    errs = [np.abs(filtered[skip + s :] - clean[skip : n - s]).mean() for s in range(max_lag)]
    return int(np.argmin(errs))


def test_butterworth_removes_noise_and_keeps_slow_sine():
    t, clean = _sine_clip()
    rng = np.random.default_rng(0)
    noisy = clean + rng.normal(scale=0.01, size=clean.shape)
    out = butterworth(noisy, FPS, cutoff_hz=6.0)
    inner = slice(15, -15)
    residual = np.sqrt(((out - clean)[inner] ** 2).mean())
    # noise is 1 cm rms and white up to 15 Hz; a 6 Hz low-pass keeps ~40% of its band
    assert residual < 0.7 * 0.01
    slower = butterworth(noisy, FPS, cutoff_hz=2.0)
    assert np.sqrt(((slower - clean)[inner] ** 2).mean()) < 0.4 * 0.01
    # high frequencies (above 8 Hz) lose most of their energy
    spec_in = np.abs(np.fft.rfft(noisy - clean, axis=0))
    spec_out = np.abs(np.fft.rfft(out - clean, axis=0))
    high = np.fft.rfftfreq(len(t), 1 / FPS) > 8.0
    assert (spec_out[high] ** 2).sum() < 0.05 * (spec_in[high] ** 2).sum()
    # the slow sine keeps its amplitude and phase (zero-phase: no lag)
    assert np.abs(butterworth(clean, FPS) - clean)[inner].max() < 1e-3
    assert _best_lag(out, clean) == 0


@pytest.mark.parametrize("frames", [1, 2, 3, 5, 10, 15, 16])
def test_butterworth_handles_short_clips(frames):
    x = np.random.default_rng(frames).normal(size=(frames, 17, 3))
    out = butterworth(x, FPS)
    assert out.shape == x.shape and np.isfinite(out).all()
    if frames == 1:
        assert np.array_equal(out, x)


def test_butterworth_cutoff_above_nyquist_is_identity():
    x = np.random.default_rng(1).normal(size=(20, 17, 3))
    assert np.array_equal(butterworth(x, fps=10.0, cutoff_hz=6.0), x)


def test_one_euro_lag_is_small_and_jitter_reduced():
    t, clean = _sine_clip(frames=300, freq=1.0, amp=0.1)
    rng = np.random.default_rng(2)
    out = one_euro_clip(clean + rng.normal(scale=0.01, size=clean.shape), t)
    assert _best_lag(out, clean) <= 1  # <= 33 ms at 30 fps
    still = one_euro_clip(rng.normal(scale=0.01, size=clean.shape), t)
    assert still[30:].std() < 0.5 * 0.01


def test_one_euro_streaming_reset_and_bad_timestamps():
    f = OneEuroFilter()
    a, b = np.zeros((17, 3)), np.ones((17, 3))
    assert np.array_equal(f(a, 0.0), a)  # the first sample passes through
    out = f(b, 1 / FPS)
    assert 0 < out[0, 0] < 1
    assert np.array_equal(f(b * 5, 1 / FPS), out)  # repeated timestamp: previous output
    with pytest.raises(ValueError, match="reset"):
        f(np.zeros((16, 3)), 1.0)
    f.reset()
    assert np.array_equal(f(b, 10.0), b)


def test_one_euro_converges_to_constant():
    f = OneEuroFilter()
    target = np.full((17, 3), 0.3)
    f(np.zeros((17, 3)), 0.0)
    for i in range(1, 120):
        out = f(target, i / FPS)
    assert np.allclose(out, target, atol=1e-3)


def test_smooth_clip_dispatch():
    t, clean = _sine_clip(frames=60)
    noisy = clean + np.random.default_rng(3).normal(scale=0.01, size=clean.shape)
    none = smooth_clip(noisy, FPS, "none")
    assert np.array_equal(none, noisy) and none is not noisy
    assert np.allclose(smooth_clip(noisy, FPS, "butterworth"), butterworth(noisy, FPS))
    assert np.allclose(smooth_clip(noisy, FPS, "oneeuro"), one_euro_clip(noisy, t))
    assert SMOOTHING_METHODS == ("none", "butterworth", "oneeuro")
    with pytest.raises(ValueError, match="butterworth"):
        smooth_clip(noisy, FPS, "kalman")
