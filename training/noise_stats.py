"""Measurements of a 2D keypoint detector's behaviour over time, in body-size units.

What ``scripts/calibrate_noise.py`` measures on MediaPipe's output and on the synthetic
detector noise alike (the method is in that script's docstring and in
``docs/noise_calibration.md``): jitter and its spectrum, per-joint confidence, drop-out
runs and left/right swaps, per joint group. Pure functions of arrays: no detector, no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import butter, periodogram, sosfiltfilt

from scjd_core.skeleton import JOINT_INDEX, JOINT_NAMES, LEFT, NUM_JOINTS, RIGHT

LOW_CONF = 0.5  # a joint below this confidence counts as dropped
SWAP_RATIO = 0.5  # crossing the labels must cost less than this fraction of keeping them
SWAP_MIN_SEP = 0.05  # ... and the two joints must be at least this far apart (body sizes)

GROUPS: dict[str, list[str]] = {
    "pelvis+hips": ["pelvis", "left_hip", "right_hip"],
    "spine+thorax": ["spine", "thorax"],
    "neck+head": ["neck", "head"],
    "shoulders": ["left_shoulder", "right_shoulder"],
    "elbows": ["left_elbow", "right_elbow"],
    "wrists": ["left_wrist", "right_wrist"],
    "knees": ["left_knee", "right_knee"],
    "ankles": ["left_ankle", "right_ankle"],
}
GROUP_INDEX = {name: [JOINT_INDEX[j] for j in joints] for name, joints in GROUPS.items()}
GROUP_INDEX["all"] = list(range(NUM_JOINTS))
#: Left/right joint pairs by limb name (``shoulder``: left_shoulder, right_shoulder, ...).
PAIRS = {JOINT_NAMES[left].removeprefix("left_"): (left, right) for left, right in zip(LEFT, RIGHT, strict=True)}


@dataclass
class Tracks:
    """``N`` sequences of ``F`` frames of 17 keypoints.

    Attributes:
        keypoints: ``(N, F, 17, 2)`` pixels (frames without a person: anything).
        confidence: ``(N, F, 17)`` in [0, 1] (0 where nobody was found).
        found: ``(N, F)`` a person was detected (synthetic: the frame is not a missing one).
        fps: frame rate.
        clean: ``(N, F, 17, 2)`` the exact keypoints, synthetic data only.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    found: np.ndarray
    fps: float
    clean: np.ndarray | None = None


def body_size(keypoints: np.ndarray) -> np.ndarray:
    """Larger side of the keypoints' bounding box ``(..., F)`` (>= 1 px), as ``noise.py`` uses."""
    extent = keypoints.max(axis=-2) - keypoints.min(axis=-2)
    return np.maximum(extent.max(axis=-1), 1.0)


def fill_missing(keypoints: np.ndarray, have: np.ndarray) -> np.ndarray:
    """Linear interpolation over the frames not in ``have`` (nearest held at the ends).

    ``have`` is ``(N, F)`` (whole frames, e.g. where a person was found) or ``(N, F, 17)``
    (per joint, e.g. the joints the lifter can trust).
    """
    out = keypoints.copy()
    frames = np.arange(keypoints.shape[1])
    mask = have if have.ndim == 3 else np.repeat(have[..., None], keypoints.shape[2], axis=2)
    for n, j in zip(*np.nonzero(~mask.all(axis=1) & mask.any(axis=1))):
        ok = mask[n, :, j]
        for col in range(keypoints.shape[-1]):
            out[n, :, j, col] = np.interp(frames, frames[ok], keypoints[n, ok, j, col])
    return out


def robust_std(values: np.ndarray) -> float:
    """1.4826 x median absolute value (a zero-mean Gaussian's std, ignoring outliers)."""
    values = np.asarray(values).ravel()
    return float(1.4826 * np.median(np.abs(values))) if values.size else float("nan")


def cutoff_hz(fps: float, requested: float) -> float:
    """The low-pass cut-off used at ``fps``: ``requested``, at most 0.4 x Nyquist."""
    return float(min(requested, 0.4 * fps / 2.0))


def jitter_stats(kp: np.ndarray, trusted: np.ndarray, size: np.ndarray, fps: float, fc: float) -> dict[str, dict]:
    """High-pass residual and second differences per group (percent of the body size).

    Only joint-frames in ``trusted`` ``(N, F, 17)`` count (the others are interpolated
    over first, so they do not disturb the filter).
    """
    sos = butter(4, fc / (fps / 2.0), output="sos")
    filled = fill_missing(kp, trusted)
    residual = (filled - sosfiltfilt(sos, filled, axis=1)) / size[..., None, None]
    d2 = (filled[:, :-2] - 2 * filled[:, 1:-1] + filled[:, 2:]) / size[:, 1:-1, None, None]
    d2_ok = trusted[:, :-2] & trusted[:, 1:-1] & trusted[:, 2:]
    out = {}
    for group, idx in GROUP_INDEX.items():
        r = residual[:, :, idx][trusted[:, :, idx]]
        d = d2[:, :, idx][d2_ok[:, :, idx]]
        out[group] = {
            "highpass_std_pct": 100 * robust_std(r),
            "highpass_rms_pct": 100 * float(np.sqrt(np.mean(r**2))) if r.size else float("nan"),
            "d2_std_pct": 100 * robust_std(d) / np.sqrt(6.0),
            "d2_rms_pct": 100 * float(np.sqrt(np.mean(d**2) / 6.0)) if d.size else float("nan"),
            "d2_max_pct": 100 * float(np.abs(d).max()) if d.size else float("nan"),  # jumps, outliers
        }
    return out


def spectrum_stats(kp: np.ndarray, trusted: np.ndarray, size: np.ndarray, fps: float, fc: float) -> dict[str, Any]:
    """Power spectrum of the trajectories (body sizes, Hann window, linear detrend), per group.

    Joint-frames not in ``trusted`` ``(N, F, 17)`` are interpolated over first.
    """
    filled = fill_missing(kp, trusted)
    scale = np.median(size, axis=1)[:, None, None, None]  # one size per sequence: no artefacts
    freqs, psd = periodogram(filled / scale, fs=fps, window="hann", detrend="linear", axis=1)
    psd = psd.mean(axis=(0, 3))  # (freqs, 17): mean over sequences and x/y
    edges = [e for e in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0) if e < fps / 2.0] + [fps / 2.0 + 1e-9]
    out: dict[str, Any] = {"freqs_hz": freqs.tolist(), "cutoff_hz": fc, "band_edges_hz": [round(e, 3) for e in edges]}
    df = freqs[1] - freqs[0]
    for group, idx in GROUP_INDEX.items():
        p = psd[:, idx].mean(axis=1)
        ac = freqs > 0
        high = freqs >= fc
        slope = np.polyfit(np.log10(freqs[high]), np.log10(np.maximum(p[high], 1e-30)), 1)[0] if high.sum() > 2 else 0
        bands = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = ac & (freqs >= lo) & (freqs < hi)
            bands.append(float(p[sel].sum() * df) if sel.any() else 0.0)
        out[group] = {
            "slope_above_cutoff": float(slope),
            "share_above_cutoff": float(p[high].sum() / max(p[ac].sum(), 1e-30)),
            "std_above_cutoff_pct": 100 * float(np.sqrt(p[high].sum() * df)),
            "band_power": bands,  # variance (body sizes^2) per band
            "psd": p.tolist() if group == "all" else None,
        }
        if out[group]["psd"] is None:
            del out[group]["psd"]
    return out


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True along the last axis, all series pooled."""
    flat = mask.reshape(-1, mask.shape[-1]).astype(np.int8)
    padded = np.pad(flat, ((0, 0), (1, 1)))
    d = np.diff(padded, axis=1)
    starts, stops = np.nonzero(d == 1), np.nonzero(d == -1)
    return stops[1] - starts[1]


def confidence_stats(conf: np.ndarray, found: np.ndarray) -> dict[str, dict]:
    """Confidence quantiles (all frames; 0 where nobody was found) and drop-out runs per group."""
    conf = np.where(found[..., None], conf, 0.0)
    low = conf < LOW_CONF
    out = {}
    for group, idx in GROUP_INDEX.items():
        c = conf[..., idx]
        pair = ~low[:, 1:, idx] & ~low[:, :-1, idx]  # both frames above LOW_CONF (no drop-out jumps)
        ok = ~low[..., idx]
        mean = (c * ok).sum(axis=1, keepdims=True) / np.maximum(ok.sum(axis=1, keepdims=True), 1)
        centred = c - mean
        num = (centred[:, 1:] * centred[:, :-1])[pair].sum()
        den = (0.5 * (centred[:, 1:] ** 2 + centred[:, :-1] ** 2))[pair].sum()
        runs = _runs(np.moveaxis(low[..., idx], 1, -1))
        out[group] = {
            "median": float(np.median(c)),
            "p5": float(np.percentile(c, 5)),
            "p1": float(np.percentile(c, 1)),
            "mean": float(c.mean()),
            "lag1_autocorr": float(num / den) if den > 0 else float("nan"),
            "low_rate": float(low[..., idx].mean()),
            "low_runs": int(len(runs)),
            "low_mean_run": float(runs.mean()) if len(runs) else 0.0,
        }
    missing = _runs(~found)
    out["frames_missing"] = {
        "rate": float((~found).mean()),
        "runs": int(len(missing)),
        "mean_run": float(missing.mean()) if len(missing) else 0.0,
    }
    return out


def swap_stats(kp: np.ndarray, found: np.ndarray, size: np.ndarray) -> dict[str, dict]:
    """Left/right swaps per joint pair, detected against the temporal neighbours."""
    ok = found[:, 1:] & found[:, :-1]
    scale = size[:, :-1]
    swapped_pairs = {}
    out: dict[str, dict] = {}
    for name, (left, right) in PAIRS.items():
        l0, l1 = kp[:, :-1, left], kp[:, 1:, left]
        r0, r1 = kp[:, :-1, right], kp[:, 1:, right]
        keep = np.linalg.norm(l1 - l0, axis=-1) + np.linalg.norm(r1 - r0, axis=-1)
        cross = np.linalg.norm(l1 - r0, axis=-1) + np.linalg.norm(r1 - l0, axis=-1)
        sep = np.minimum(np.linalg.norm(l0 - r0, axis=-1), np.linalg.norm(l1 - r1, axis=-1)) / scale
        event = ok & (cross < SWAP_RATIO * keep) & (sep > SWAP_MIN_SEP)
        parity = np.concatenate([np.zeros((kp.shape[0], 1), bool), np.cumsum(event, axis=1) % 2 == 1], axis=1)
        flip = parity.sum(axis=1) * 2 > parity.shape[1]  # the minority labelling is the swapped one
        swapped = (parity ^ flip[:, None]) & found
        swapped_pairs[name] = swapped
        runs = _runs(swapped)
        out[name] = {
            "events": int(event.sum()),
            "swapped_rate": float(swapped.sum() / max(found.sum(), 1)),
            "runs": int(len(runs)),
            "mean_run": float(runs.mean()) if len(runs) else 0.0,
        }
    count = sum(s.astype(int) for s in swapped_pairs.values())
    for label, min_pairs in (("any_pair", 1), ("most_pairs", 4)):
        mask = count >= min_pairs
        runs = _runs(mask)
        out[label] = {
            "swapped_rate": float(mask.sum() / max(found.sum(), 1)),
            "runs": int(len(runs)),
            "mean_run": float(runs.mean()) if len(runs) else 0.0,
        }
    return out


def measure(tracks: Tracks, fc: float) -> dict[str, Any]:
    """Every figure of one set of sequences.

    Jitter and spectra use the joint-frames the lifter can trust (a person found, the
    joint's confidence >= ``LOW_CONF``); drop-outs are counted separately.
    """
    filled = fill_missing(tracks.keypoints, tracks.found)
    size = body_size(filled)
    trusted = tracks.found[..., None] & (tracks.confidence >= LOW_CONF)
    out: dict[str, Any] = {
        "sequences": int(tracks.keypoints.shape[0]),
        "frames_per_sequence": int(tracks.keypoints.shape[1]),
        "fps": tracks.fps,
        "body_size_px_median": float(np.median(size)),
        "jitter": jitter_stats(filled, trusted, size, tracks.fps, fc),
        "spectrum": spectrum_stats(filled, trusted, size, tracks.fps, fc),
        "confidence": confidence_stats(tracks.confidence, tracks.found),
        "swaps": swap_stats(filled, tracks.found, size),
    }
    if tracks.clean is not None:
        everywhere = np.ones_like(trusted)
        noise_only = tracks.keypoints - tracks.clean
        out["jitter_motion_only"] = jitter_stats(tracks.clean, everywhere, size, tracks.fps, fc)
        out["jitter_noise_only"] = jitter_stats(noise_only, trusted, size, tracks.fps, fc)
        out["spectrum_motion_only"] = spectrum_stats(tracks.clean, everywhere, size, tracks.fps, fc)
        out["spectrum_noise_only"] = spectrum_stats(noise_only, trusted, size, tracks.fps, fc)
        out["clean_swaps"] = swap_stats(tracks.clean, everywhere[..., 0], size)["any_pair"]  # false alarms
    return out


def smoothing_effect(smoothed: Tracks, raw: Tracks) -> dict[str, dict]:
    """How far MediaPipe's landmark smoothing moves its output, per group (body sizes).

    ``rms_pct``: RMS of smoothed - raw; ``lag_frames``: the ``L`` of the least-squares fit
    ``smoothed - raw = -L x velocity`` (a pure delay of ``L`` frames gives ``L``);
    ``explained``: the share of the difference's variance that the delay explains.
    """
    both = smoothed.found[0] & raw.found[0]
    size = np.median(body_size(raw.keypoints[0][both]))
    diff = (smoothed.keypoints[0] - raw.keypoints[0])[both] / size
    velocity = (np.gradient(raw.keypoints[0], axis=0) / size)[both]
    out = {}
    for group, idx in GROUP_INDEX.items():
        d, v = diff[:, idx].ravel(), velocity[:, idx].ravel()
        lag = -float((d * v).sum() / max((v * v).sum(), 1e-30))
        rest = d + lag * v
        out[group] = {
            "rms_pct": 100 * float(np.sqrt((d**2).mean())),
            "velocity_rms_pct_per_frame": 100 * float(np.sqrt((v**2).mean())),
            "lag_frames": lag,
            "explained": float(1.0 - (rest**2).mean() / max((d**2).mean(), 1e-30)),
        }
    return out
