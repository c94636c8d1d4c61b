"""Synthetic 2D detector noise: what MediaPipe's keypoints look like next to ground truth.

Projected mocap is perfect; a real detector is not. :func:`apply_noise` turns exact
pixel keypoints into detector-like ones, with a per-joint confidence in [0, 1]:

* **jitter** - independent per-frame Gaussian noise, scaled to the body size;
* **drift** - a temporally correlated offset per joint: white noise through ``drift_order``
  first-order low-pass filters with time constant ``drift_tau`` (order 1 = an
  Ornstein-Uhlenbeck process, a leaky random walk; order 2 = a smooth wander);
* **dropped joints** - short runs where a joint is lost: confidence 0, coordinates
  perturbed by a large offset (the detector's guess is garbage);
* **outliers** - rare large offsets (a mislocated joint) with low confidence;
* **left/right swaps** - short runs where a left and a right limb (hip-knee-ankle or
  shoulder-elbow-wrist) are exchanged, confidences along, a little lowered;
* **missing frames** - short runs where nobody was found: confidence 0 everywhere and
  coordinates linearly interpolated between the neighbouring frames, which is what the
  runtime gap filler hands the lifter.

The confidence of a visible joint decays with its error (``exp(-error / conf_error_scale)``
in body-size units), dips slowly per joint (``conf_dip``: MediaPipe's visibility of the
limbs wanders) and gets a little white noise.

Calibration (``python scripts/calibrate_noise.py``, report in ``docs/noise_calibration.md``):
MediaPipe 0.10.21 as the product runs it (tracking mode, model complexity 1, landmark
smoothing on) on the two clips of ``../shared/data/video`` (a real person squatting, 5 fps;
a rendered dancer, 30 fps), against projected mocap windows through this module, measured
the same way in body-size units:

* jitter (robust std of the residual above 4 Hz / 0.4 x Nyquist) is 0.03 % of the body
  on the 30 fps clip and 0.03 % at the static ankles of the squats (wrists 0.17 %,
  elbows 0.11 %); the v1 defaults gave 0.7-1.2 %, these give 0.05 %;
* the real noise is low-pass: its spectrum above the cut-off falls with a log-log slope
  of -1.8 (30 fps) and holds 0.05 % of the power (v1: slope -0.4, 1.7 %; now -1.1,
  0.25 %), hence the second-order drift (MediaPipe smooths per frame, whatever the fps);
* confidence: median 0.996-0.999, 5th percentile 0.85-0.89, 1st 0.77-0.84, trunk
  0.998-1.000, knees/ankles/wrists lowest, smooth in time (lag-1 autocorrelation
  0.94-0.99). v1: 0.96 / 0.89 / 0.00, white; these: 0.996 / 0.89 / 0.77, 0.76-0.87;
* no drop-outs (confidence < 0.5), missing frames, large jumps or left/right swaps in the
  185 frames: their rates are set at about what two short clips can exclude.

The drift's size (1.2 % of the body) is not observable without ground truth and is kept
from v1; :meth:`DetectorNoise.v1` keeps every hand-set value of the first version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from scjd_core.skeleton import JOINT_INDEX, NUM_JOINTS

#: The per-joint multipliers of :meth:`DetectorNoise.v1` (frozen).
V1_JOINT_SCALE: dict[str, float] = {
    "left_wrist": 1.6,
    "right_wrist": 1.6,
    "left_elbow": 1.25,
    "right_elbow": 1.25,
    "left_ankle": 1.3,
    "right_ankle": 1.3,
    "head": 1.2,
}

#: Multiplier of the drift per joint (the slow error; MediaPipe's limbs err more than its trunk). The
#: drift cannot be measured without ground truth, so it keeps v1's values (a copy: v1 stays frozen).
DEFAULT_JOINT_SCALE: dict[str, float] = dict(V1_JOINT_SCALE)

#: Multiplier of the frame-to-frame jitter per joint (fitted: wrists and elbows jitter most).
DEFAULT_JITTER_JOINT_SCALE: dict[str, float] = {
    "left_wrist": 8.0,
    "right_wrist": 8.0,
    "left_elbow": 5.0,
    "right_elbow": 5.0,
    "left_knee": 2.0,
    "right_knee": 2.0,
}

#: Multiplier of the confidence dips per joint (fitted: the trunk's confidence hardly moves,
#: the limbs' dips by a few percent, ankles, knees and wrists most).
DEFAULT_CONF_JOINT_SCALE: dict[str, float] = {
    "pelvis": 0.02,
    "right_hip": 0.02,
    "left_hip": 0.02,
    "spine": 0.02,
    "thorax": 0.02,
    "neck": 0.02,
    "head": 0.05,
    "left_shoulder": 0.02,
    "right_shoulder": 0.02,
    "left_elbow": 0.7,
    "right_elbow": 0.7,
    "left_wrist": 1.0,
    "right_wrist": 1.0,
    "left_knee": 1.0,
    "right_knee": 1.0,
    "left_ankle": 1.3,
    "right_ankle": 1.3,
}

#: Limbs that can be swapped as a whole: (left joints, right joints) by name.
SWAP_LIMBS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle")),
    (("left_shoulder", "left_elbow", "left_wrist"), ("right_shoulder", "right_elbow", "right_wrist")),
)


def _joint_vector(values: dict[str, float]) -> np.ndarray:
    out = np.ones(NUM_JOINTS)
    for name, value in values.items():
        out[JOINT_INDEX[name]] = value
    return out


@dataclass(frozen=True)
class DetectorNoise:
    """Magnitudes of the synthetic detector noise (lengths are fractions of the body size).

    Defaults are fitted to MediaPipe by ``scripts/calibrate_noise.py`` (see the module
    docstring); :meth:`v1` gives the first, hand-set values and :meth:`none` no noise.

    Attributes:
        jitter: standard deviation of the white per-frame noise.
        jitter_joint_scale: multiplier of the jitter per joint name (others 1); ``None``
            uses ``joint_scale`` (as :meth:`v1` does).
        drift: standard deviation of the temporally correlated offset.
        drift_tau: time constant of the drift, frames.
        drift_order: 1 = an Ornstein-Uhlenbeck process (first-order low-pass of white
            noise, spectrum falling as f^-2); 2 = two such filters in a row (f^-4: a smooth
            wander with almost no frame-to-frame jitter), each order normalised to ``drift``.
        joint_scale: multiplier of the drift per joint name (others 1), and of the jitter
            when ``jitter_joint_scale`` is ``None``.
        drop_prob: fraction of joint-frames that are dropped.
        drop_run: mean length of a run of dropped frames of one joint.
        drop_offset: standard deviation of the perturbation of a dropped joint.
        outlier_prob: fraction of joint-frames that are outliers.
        outlier_offset: mean size of an outlier's offset.
        outlier_conf: upper bound of an outlier's confidence (drawn uniformly below it).
        missing_prob: fraction of frames in which nobody was found.
        missing_run: mean length of a run of missing frames.
        swap_prob: fraction of limb-frames (a leg or an arm in one frame) in which the
            left and right limb are exchanged (hip, knee and ankle, or shoulder, elbow and
            wrist, with their confidences), in runs.
        swap_run: mean length of a run of swapped frames.
        swap_conf: a swapped joint's confidence is multiplied by a factor drawn uniformly
            in ``[swap_conf, 1]``.
        conf_max: confidence of a joint with no error.
        conf_error_scale: error at which the confidence has fallen by a factor ``e``.
        conf_noise: standard deviation of the white noise added to the confidence.
        conf_dip: size of the slow confidence dips: ``conf_dip * conf_joint_scale * |z|^conf_dip_shape``
            is subtracted, ``z`` a unit-variance Ornstein-Uhlenbeck process per joint.
        conf_dip_tau: time constant of ``z``, frames.
        conf_dip_shape: exponent of ``|z|`` (1 = half-normal dips, larger = rarer, deeper ones).
        conf_joint_scale: multiplier of ``conf_dip`` per joint name (others 1).
    """

    jitter: float = 0.00015
    jitter_joint_scale: dict[str, float] | None = field(default_factory=lambda: dict(DEFAULT_JITTER_JOINT_SCALE))
    drift: float = 0.012
    drift_tau: float = 15.0
    drift_order: int = 2
    joint_scale: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_JOINT_SCALE))
    drop_prob: float = 0.001
    drop_run: float = 4.0
    drop_offset: float = 0.15
    outlier_prob: float = 0.0002
    outlier_offset: float = 0.15
    outlier_conf: float = 0.4
    missing_prob: float = 0.005
    missing_run: float = 3.0
    swap_prob: float = 0.002
    swap_run: float = 5.0
    swap_conf: float = 0.6
    conf_max: float = 1.0
    conf_error_scale: float = 10.0
    conf_noise: float = 0.001
    conf_dip: float = 0.05
    conf_dip_tau: float = 20.0
    conf_dip_shape: float = 1.5
    conf_joint_scale: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CONF_JOINT_SCALE))

    def __post_init__(self) -> None:
        if int(self.drift_order) != self.drift_order or self.drift_order < 1:
            raise ValueError(f"drift_order must be a positive integer, got {self.drift_order}")

    @classmethod
    def v1(cls) -> DetectorNoise:
        """The first, hand-set defaults (before ``scripts/calibrate_noise.py``), frozen.

        Use it to regenerate data made with that noise (e.g. a fixed evaluation file):
        with these values :func:`apply_noise` draws the same random numbers, in the same
        order, as it did then, so a given generator state gives the same output.
        """
        return cls(
            jitter=0.008,
            jitter_joint_scale=None,
            drift=0.012,
            drift_tau=10.0,
            drift_order=1,
            joint_scale=dict(V1_JOINT_SCALE),
            drop_prob=0.01,
            drop_run=4.0,
            drop_offset=0.15,
            outlier_prob=0.003,
            outlier_offset=0.25,
            outlier_conf=0.4,
            missing_prob=0.01,
            missing_run=3.0,
            swap_prob=0.0,
            conf_max=1.0,
            conf_error_scale=0.5,
            conf_noise=0.03,
            conf_dip=0.0,
            conf_joint_scale={},
        )

    @classmethod
    def none(cls) -> DetectorNoise:
        """No noise at all: keypoints unchanged, confidence 1 everywhere."""
        return cls(
            jitter=0.0,
            jitter_joint_scale=None,
            drift=0.0,
            drift_order=1,
            joint_scale={},
            drop_prob=0.0,
            outlier_prob=0.0,
            missing_prob=0.0,
            swap_prob=0.0,
            conf_max=1.0,
            conf_error_scale=np.inf,
            conf_noise=0.0,
            conf_dip=0.0,
            conf_joint_scale={},
        )

    @functools.cached_property
    def scale_vector(self) -> np.ndarray:
        """Per-joint multiplier ``(17,)`` of the drift (and of the jitter when ``jitter_joint_scale`` is None)."""
        return _joint_vector(self.joint_scale)

    @functools.cached_property
    def jitter_scale_vector(self) -> np.ndarray:
        """Per-joint multiplier ``(17,)`` of the jitter."""
        return self.scale_vector if self.jitter_joint_scale is None else _joint_vector(self.jitter_joint_scale)

    @functools.cached_property
    def conf_scale_vector(self) -> np.ndarray:
        """Per-joint multiplier ``(17,)`` of the confidence dips."""
        return _joint_vector(self.conf_joint_scale)


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
def _cascade_gain(tau: float, order: int) -> float:
    """Stationary standard deviation of ``order`` unit-variance OU recursions in a row."""
    a = float(np.exp(-1.0 / max(tau, 1e-6)))
    impulse = np.zeros(int(40 * order * max(tau, 1.0)) + 64)
    impulse[0] = 1.0
    for _ in range(order):
        impulse = lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], impulse)
    return float(np.sqrt((impulse**2).sum()))


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], tau: float, order: int = 1) -> np.ndarray:
    """Stationary unit-variance noise along axis 0: ``order`` OU low-pass filters in a row.

    ``order=1`` is :func:`ou_process`. Higher orders run the recursion of
    :func:`ou_process` ``order`` times over white noise (spectrum falling as
    ``f^(-2 order)``) after a burn-in of ``8 order tau`` frames, so every frame is
    (very nearly) stationary.
    """
    if order <= 1:
        return ou_process(rng, shape, tau)
    a = float(np.exp(-1.0 / max(tau, 1e-6)))
    burn = int(np.ceil(8 * order * max(tau, 1.0)))
    x = rng.standard_normal((shape[0] + burn, int(np.prod(shape[1:], dtype=int))))
    for _ in range(order):
        x = lfilter([np.sqrt(1.0 - a * a)], [1.0, -a], x, axis=0)
    return (x[burn:] / _cascade_gain(float(tau), int(order))).reshape(shape)


def _swap_limbs(rng: np.random.Generator, out: np.ndarray, conf: np.ndarray, cfg: DetectorNoise) -> None:
    """Exchange left and right limbs in runs of frames (in place), lowering their confidence."""
    frames = out.shape[0]
    swapped = _runs(rng, (frames, len(SWAP_LIMBS)), cfg.swap_prob, cfg.swap_run)
    for k, (left_names, right_names) in enumerate(SWAP_LIMBS):
        t = np.flatnonzero(swapped[:, k])
        if len(t) == 0:
            continue
        left = np.array([JOINT_INDEX[n] for n in left_names])
        right = np.array([JOINT_INDEX[n] for n in right_names])
        both = np.concatenate([left, right])
        mirrored = np.concatenate([right, left])
        out[t[:, None], both] = out[t[:, None], mirrored]
        factor = rng.uniform(cfg.swap_conf, 1.0, (len(t), len(both)))
        conf[t[:, None], both] = conf[t[:, None], mirrored] * factor


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

    if cfg.drift_order == 1 and cfg.jitter_joint_scale is None:  # v1: one product for both
        if cfg.jitter > 0 or cfg.drift > 0:  # in body-size units: white jitter + OU drift
            mix = _offset_filter(frames, float(cfg.drift_tau), float(cfg.jitter), float(cfg.drift))
            white = rng.standard_normal((2 * frames + 1, joints * 2))
            offset = (mix @ white).reshape(kp.shape) * scale
        else:
            offset = np.zeros_like(kp)
    else:
        offset = np.zeros_like(kp)
        if cfg.jitter > 0:
            offset += cfg.jitter * rng.standard_normal(kp.shape) * cfg.jitter_scale_vector[None, :, None]
        if cfg.drift > 0:
            offset += cfg.drift * smooth_noise(rng, kp.shape, float(cfg.drift_tau), int(cfg.drift_order)) * scale

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
    if cfg.conf_dip > 0:  # slow, joint-dependent dips (MediaPipe's visibility)
        z = np.abs(ou_process(rng, (frames, joints), float(cfg.conf_dip_tau)))
        conf -= cfg.conf_dip * cfg.conf_scale_vector[None, :] * z**cfg.conf_dip_shape
    if n_out:
        conf[outlier] = np.minimum(conf[outlier], rng.uniform(0.0, cfg.outlier_conf, n_out))

    dropped = _runs(rng, (frames, joints), cfg.drop_prob, cfg.drop_run)
    n_drop = int(dropped.sum())
    if n_drop:
        offset[dropped] += cfg.drop_offset * rng.standard_normal((n_drop, 2))
        conf[dropped] = 0.0

    out = kp + offset * size
    if cfg.swap_prob > 0:
        _swap_limbs(rng, out, conf, cfg)
    missing = _runs(rng, (frames,), cfg.missing_prob, cfg.missing_run)
    if missing.any():
        out = _interpolate_missing(out, missing)
        conf[missing] = 0.0
    return out.astype(np.float32), np.clip(conf, 0.0, 1.0).astype(np.float32)
