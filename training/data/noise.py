"""Synthetic 2D detector noise: what MediaPipe's keypoints look like next to ground truth.

Projected mocap is perfect; a real detector is not. :func:`apply_noise` turns exact
pixel keypoints into detector-like ones, with a per-joint confidence in [0, 1]:

* **jitter** - independent per-frame Gaussian noise, scaled to the body size;
* **drift** - a temporally correlated offset per joint (an Ornstein-Uhlenbeck process,
  i.e. a leaky random walk = low-pass filtered white noise, with time constant ``drift_tau``);
* **dropped joints** - short runs where a joint is lost: confidence 0, coordinates
  perturbed by a large offset (the detector's guess is garbage);
* **outliers** - rare large offsets (a swapped or mislocated joint) with low confidence;
* **missing frames** - short runs where nobody was found: confidence 0 everywhere and
  coordinates linearly interpolated between the neighbouring frames, which is what the
  runtime gap filler hands the lifter.

The confidence of a visible joint decays with its error (``exp(-error / conf_error_scale)``
in body-size units) plus a little noise, so the network can learn to trust it.

Defaults were matched to MediaPipe 0.10.21 (model complexity 1, tracking mode) on the two
demo clips of ``../shared/data/video``: its per-joint confidence (lowest landmark
visibility) has a median of 0.996-0.999 and a 5th percentile of 0.85-0.89, and its
frame-to-frame jitter (second differences, an upper bound since they include motion) is
at most 0.03-1.6 % of the body height per joint (wrists the worst). The defaults give a
median confidence of about 0.96, a 5th percentile of about 0.89, and jitter of 0.8 %
(1.3 % at the wrists) plus the slow drift.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS

#: Detectors are less precise on the extremities than on the trunk.
DEFAULT_JOINT_SCALE: dict[str, float] = {
    "left_wrist": 1.6,
    "right_wrist": 1.6,
    "left_elbow": 1.25,
    "right_elbow": 1.25,
    "left_ankle": 1.3,
    "right_ankle": 1.3,
    "head": 1.2,
}


@dataclass(frozen=True)
class DetectorNoise:
    """Magnitudes of the synthetic detector noise (lengths are fractions of the body size).

    Attributes:
        jitter: standard deviation of the per-frame noise.
        drift: standard deviation of the temporally correlated offset.
        drift_tau: time constant of the drift, frames.
        joint_scale: multiplier of jitter and drift per joint name (others 1).
        drop_prob: fraction of joint-frames that are dropped.
        drop_run: mean length of a run of dropped frames of one joint.
        drop_offset: standard deviation of the perturbation of a dropped joint.
        outlier_prob: fraction of joint-frames that are outliers.
        outlier_offset: mean size of an outlier's offset.
        outlier_conf: upper bound of an outlier's confidence (drawn uniformly below it).
        missing_prob: fraction of frames in which nobody was found.
        missing_run: mean length of a run of missing frames.
        conf_max: confidence of a joint with no error.
        conf_error_scale: error at which the confidence has fallen by a factor ``e``.
        conf_noise: standard deviation of the noise added to the confidence.
    """

    jitter: float = 0.008
    drift: float = 0.012
    drift_tau: float = 10.0
    joint_scale: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_JOINT_SCALE))
    drop_prob: float = 0.01
    drop_run: float = 4.0
    drop_offset: float = 0.15
    outlier_prob: float = 0.003
    outlier_offset: float = 0.25
    outlier_conf: float = 0.4
    missing_prob: float = 0.01
    missing_run: float = 3.0
    conf_max: float = 1.0
    conf_error_scale: float = 0.5
    conf_noise: float = 0.03

    @classmethod
    def none(cls) -> DetectorNoise:
        """No noise at all: keypoints unchanged, confidence 1 everywhere."""
        return cls(
            jitter=0.0,
            drift=0.0,
            joint_scale={},
            drop_prob=0.0,
            outlier_prob=0.0,
            missing_prob=0.0,
            conf_max=1.0,
            conf_error_scale=np.inf,
            conf_noise=0.0,
        )

    @functools.cached_property
    def scale_vector(self) -> np.ndarray:
        """Per-joint multiplier ``(17,)`` of jitter and drift."""
        out = np.ones(NUM_JOINTS)
        for name, value in self.joint_scale.items():
            out[JOINT_INDEX[name]] = value
        return out


def _runs(rng: np.random.Generator, shape: tuple[int, ...], prob: float, mean_len: float) -> np.ndarray:
    """Boolean mask along axis 0 made of runs covering about ``prob`` of the entries.

    Runs start at random entries with probability ``prob / mean_len`` each and last a
    geometric number of frames with mean ``mean_len`` (so overlaps make the covered
    fraction slightly lower than ``prob`` when it is large).
    """
    mask = np.zeros(shape, dtype=bool)
    if prob <= 0.0:
        return mask
    mean_len = max(mean_len, 1.0)
    count = int(rng.binomial(mask.size, min(prob / mean_len, 1.0)))
    if count == 0:
        return mask
    starts = np.unravel_index(rng.integers(0, mask.size, count), shape)
    lengths = rng.geometric(1.0 / mean_len, size=count)
    for k in range(count):
        t = starts[0][k]
        mask[(slice(t, t + lengths[k]), *(idx[k] for idx in starts[1:]))] = True
    return mask


@functools.lru_cache(maxsize=32)
def _ou_filter(frames: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Impulse-response matrix ``(T, T)`` of the OU recursion and the decay ``(T,)`` of its start."""
    a = float(np.exp(-1.0 / max(tau, 1e-6)))
    response = lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], np.eye(frames), axis=0)
    return response, a ** np.arange(1, frames + 1)


def ou_process(rng: np.random.Generator, shape: tuple[int, ...], tau: float) -> np.ndarray:
    """Stationary unit-variance Ornstein-Uhlenbeck noise along axis 0 (time constant ``tau`` frames).

    ``x[t] = a x[t-1] + sqrt(1 - a^2) e[t]`` with ``a = exp(-1 / tau)``, started from the
    stationary distribution, so every frame has unit variance and neighbouring frames
    correlate by ``a``.
    """
    response, decay = _ou_filter(int(shape[0]), float(tau))
    white = rng.standard_normal((shape[0] + 1, int(np.prod(shape[1:], dtype=int))))
    out = response @ white[1:] + decay[:, None] * white[:1]
    return out.reshape(shape)


@functools.lru_cache(maxsize=32)
def _offset_filter(frames: int, tau: float, jitter: float, drift: float) -> np.ndarray:
    """``(T, 2T + 1)`` matrix turning white noise into jitter + OU drift in one product."""
    response, decay = _ou_filter(frames, tau)
    return np.concatenate([jitter * np.eye(frames), drift * decay[:, None], drift * response], axis=1)


def _interpolate_missing(kp: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Replace the frames flagged in ``missing`` by linear interpolation between the others."""
    keep = np.flatnonzero(~missing)
    if len(keep) == 0 or len(keep) == len(missing):
        return kp
    frames = np.arange(len(missing))
    # Index (into ``keep``) of the next kept frame; before the first / after the last
    # kept frame the nearest one is replicated, as np.interp does.
    right = np.clip(np.searchsorted(keep, frames), 0, len(keep) - 1)
    left = np.clip(right - 1, 0, len(keep) - 1)
    left = np.where(keep[right] == frames, right, left)
    t0, t1 = keep[left], keep[right]
    span = np.maximum(t1 - t0, 1)
    w = np.clip((frames - t0) / span, 0.0, 1.0)[:, None, None]
    return (1.0 - w) * kp[t0] + w * kp[t1]


def apply_noise(
    kp_px: np.ndarray,
    rng: np.random.Generator,
    body_size_px: float | np.ndarray,
    noise: DetectorNoise | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Make exact keypoints look like a 2D detector's output.

    Args:
        kp_px: ``(T, 17, 2)`` exact pixel keypoints.
        rng: random generator.
        body_size_px: the body size in pixels (the bounding box height of an upright
            person), a scalar or one value per frame ``(T,)``.
        noise: magnitudes; defaults to :class:`DetectorNoise`.

    Returns:
        ``(keypoints (T, 17, 2) float32 pixels, confidence (T, 17) float32 in [0, 1])``.
    """
    cfg = noise or DetectorNoise()
    kp = np.asarray(kp_px, dtype=np.float64)
    frames, joints = kp.shape[:2]
    size = np.broadcast_to(np.asarray(body_size_px, dtype=np.float64), (frames,))[:, None, None]
    scale = cfg.scale_vector[None, :, None]

    if cfg.jitter > 0 or cfg.drift > 0:  # in body-size units: white jitter + OU drift
        mix = _offset_filter(frames, float(cfg.drift_tau), float(cfg.jitter), float(cfg.drift))
        white = rng.standard_normal((2 * frames + 1, joints * 2))
        offset = (mix @ white).reshape(kp.shape) * scale
    else:
        offset = np.zeros_like(kp)

    outlier = _runs(rng, (frames, joints), cfg.outlier_prob, 1.0)  # isolated joint-frames
    n_out = int(outlier.sum())
    if n_out:
        angle = rng.uniform(0.0, 2 * np.pi, n_out)
        radius = cfg.outlier_offset * rng.uniform(0.5, 1.5, n_out)
        offset[outlier] += radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)

    if np.isfinite(cfg.conf_error_scale) and cfg.conf_error_scale > 0:
        error = np.hypot(offset[..., 0], offset[..., 1])
        conf = cfg.conf_max * np.exp(-error / cfg.conf_error_scale)
    else:
        conf = np.full((frames, joints), cfg.conf_max)
    if cfg.conf_noise > 0:
        conf += cfg.conf_noise * rng.standard_normal(conf.shape)
    if n_out:
        conf[outlier] = np.minimum(conf[outlier], rng.uniform(0.0, cfg.outlier_conf, n_out))

    dropped = _runs(rng, (frames, joints), cfg.drop_prob, cfg.drop_run)
    n_drop = int(dropped.sum())
    if n_drop:
        offset[dropped] += cfg.drop_offset * rng.standard_normal((n_drop, 2))
        conf[dropped] = 0.0

    out = kp + offset * size
    missing = _runs(rng, (frames,), cfg.missing_prob, cfg.missing_run)
    if missing.any():
        out = _interpolate_missing(out, missing)
        conf[missing] = 0.0
    return out.astype(np.float32), np.clip(conf, 0.0, 1.0).astype(np.float32)
