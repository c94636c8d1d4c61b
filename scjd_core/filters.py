"""Temporal smoothing of 3D pose sequences.

Two filters, for two situations:

* :func:`butterworth` — offline, zero-phase (forward-backward) low-pass for whole clips:
  no lag at all, the right choice for exports.
* :class:`OneEuroFilter` — streaming (causal) adaptive low-pass (Casiez et al., CHI 2012)
  for live use: strong smoothing when a joint is still, little lag when it moves fast.

:func:`smooth_clip` picks one by name (``"none"``, ``"butterworth"``, ``"oneeuro"``).
"""

from __future__ import annotations

import math

import numpy as np

#: Names accepted by :func:`smooth_clip` (e.g. for a command-line ``choices=``).
SMOOTHING_METHODS: tuple[str, ...] = ("none", "butterworth", "oneeuro")


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass with ``cutoff_hz`` sampled every ``dt``."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Streaming One-Euro filter, applied independently to every joint coordinate.

    The cutoff of each coordinate's low-pass rises with its (filtered) speed:
    ``cutoff = min_cutoff + beta * |dx/dt|``. Units: hertz for the cutoffs, and since
    poses are in metres, ``beta`` is in hertz per (metre per second).

    Args:
        min_cutoff: cutoff (Hz) when the joint is still; lower = smoother, more lag.
        beta: how fast the cutoff rises with speed; higher = less lag on fast motion.
        d_cutoff: cutoff (Hz) of the low-pass applied to the speed estimate.

    The defaults suit poses in metres at 25-60 fps: on a still pose with 1 cm of
    jitter they leave about 4 mm, and a 1 Hz, 10 cm swing lags by about one frame at
    30 fps.

    Example:
        >>> f = OneEuroFilter()
        >>> smoothed = [f(pose, t) for pose, t in zip(poses, times)]
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 5.0, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("OneEuroFilter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next call starts a new stream."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, pose: np.ndarray, t: float) -> np.ndarray:
        """Filter one sample.

        Args:
            pose: the new sample, e.g. ``(17, 3)`` (any shape, fixed over the stream).
            t: its timestamp in seconds (increasing).

        Returns:
            The filtered sample, same shape, float64. A sample whose timestamp is not
            later than the previous one returns the previous output unchanged.
        """
        x = np.asarray(pose, dtype=np.float64)
        if self._x is None or self._t is None or self._dx is None:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        if x.shape != self._x.shape:
            raise ValueError(f"OneEuroFilter got shape {x.shape} after {self._x.shape}: call reset() first")
        dt = float(t) - self._t
        if dt <= 0:
            return self._x.copy()
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._t = float(t)
        return self._x.copy()


def butterworth(poses: np.ndarray, fps: float, cutoff_hz: float = 6.0, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass along time (``scipy.signal.sosfiltfilt``).

    Args:
        poses: ``(F, 17, 3)`` (any ``(F, ...)``) samples at ``fps``.
        fps: sampling rate in frames per second.
        cutoff_hz: -3 dB frequency of the single pass (the forward-backward pass
            squares the response, so the clip's cutoff is a little lower).
        order: filter order of the single pass.

    Returns:
        Filtered copy, float64. Clips of fewer than 2 frames, and cutoffs at or above
        the Nyquist frequency (nothing to remove), come back unchanged. Clips too short
        for scipy's default edge padding are padded as much as they allow.
    """
    from scipy.signal import butter, sosfiltfilt

    x = np.asarray(poses, dtype=np.float64)
    if fps <= 0 or cutoff_hz <= 0:
        raise ValueError(f"butterworth needs fps > 0 and cutoff_hz > 0 (got {fps}, {cutoff_hz})")
    if x.shape[0] < 2 or cutoff_hz >= fps / 2.0:
        return x.copy()
    sos = butter(order, cutoff_hz, btype="low", fs=fps, output="sos")
    # scipy's default padlen for sosfiltfilt (see its docs); shorter clips get less.
    zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    default_padlen = 3 * (2 * len(sos) + 1 - zeros)
    padlen = min(default_padlen, x.shape[0] - 1)
    return sosfiltfilt(sos, x, axis=0, padlen=padlen)


def one_euro_clip(
    poses: np.ndarray, times: np.ndarray, min_cutoff: float = 1.0, beta: float = 5.0, d_cutoff: float = 1.0
) -> np.ndarray:
    """Run a fresh :class:`OneEuroFilter` over a whole clip (causal, as live would)."""
    x = np.asarray(poses, dtype=np.float64)
    f = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
    out = np.empty_like(x)
    for i, t in enumerate(np.asarray(times, dtype=np.float64)):
        out[i] = f(x[i], float(t))
    return out


def smooth_clip(poses: np.ndarray, fps: float, method: str = "none", **options: float) -> np.ndarray:
    """Smooth a clip ``(F, 17, 3)`` with the named method.

    Args:
        poses: the clip, sampled at ``fps``.
        fps: frames per second.
        method: ``"none"`` (copy), ``"butterworth"`` (zero-phase, see :func:`butterworth`)
            or ``"oneeuro"`` (causal, see :class:`OneEuroFilter`).
        **options: passed to the filter (``cutoff_hz``/``order``, or
            ``min_cutoff``/``beta``/``d_cutoff``).

    Returns:
        Smoothed copy, float64.

    Raises:
        ValueError: for an unknown method (the message lists the valid ones).
    """
    x = np.asarray(poses, dtype=np.float64)
    if method == "none":
        return x.copy()
    if method == "butterworth":
        return butterworth(x, fps, **options)
    if method == "oneeuro":
        if fps <= 0:
            raise ValueError(f"oneeuro smoothing needs fps > 0 (got {fps})")
        return one_euro_clip(x, np.arange(x.shape[0]) / float(fps), **options)
    raise ValueError(f"unknown smoothing {method!r}: choose one of {', '.join(SMOOTHING_METHODS)}")
