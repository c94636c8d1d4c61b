"""Measure MediaPipe's real 2D behaviour and the synthetic detector noise side by side.

``training/data/noise.py`` turns projected mocap into detector-like 2D for training. This
script measures what MediaPipe really does, so the noise model can be fitted to it:

* **real**: the project's detector (:class:`scjd_core.detect.MediaPipeDetector` as the
  product creates it: tracking mode, ``model_complexity=1``, MediaPipe's landmark smoothing
  on) over each video, mapped to the 17 joints; for reference also with MediaPipe's
  landmark smoothing off;
* **synthetic**: :class:`training.data.MocapWindowDataset` windows (current defaults, exact
  2D) made noisy by :func:`training.data.noise.apply_noise` at the training rate (30 fps),
  then resampled to each video's frame rate and cut to about the same duration, once with
  :meth:`DetectorNoise.v1` ("before", the hand-set values) and once with the current
  :class:`DetectorNoise` defaults ("after").

The same measurements run on both, per joint group, with lengths in body-size units (the
larger side of the 17 keypoints' bounding box in that frame, the unit of ``noise.py``):

(a) **jitter**: the robust standard deviation of the residual after a zero-phase low-pass
    (4th-order Butterworth, cut-off ``--cutoff`` Hz, default 4 Hz or 0.4 x Nyquist), of
    second differences / sqrt(6) (white noise of std s gives s), and the power spectrum of
    the trajectories (band powers, log-log slope above the cut-off: 0 = white, -2 =
    random walk / low-passed, share of power above the cut-off). Both include the motion;
    for synthetic data the same figures of the exact 2D (motion only) and of the noise
    alone are given too;
(b) **confidence** per joint (median, 5th and 1st percentile, lag-1 autocorrelation);
(c) **drop-outs**: joint-frames with confidence < 0.5, and frames without a person: rate
    and mean run length;
(d) **left/right swaps**: a pair of left/right joints is exchanged between two frames when
    crossing the labels fits the motion much better than keeping them (and the two joints
    are not close together); frames in the minority labelling of a pair are swapped.

Usage::

    python scripts/calibrate_noise.py [--videos A.mp4 B.mp4] [--mocap DIR] [--windows 300]

It writes ``docs/noise_calibration.json`` (every figure, the versions, the command) and
``docs/noise_calibration.md`` (tables and method). MediaPipe's outputs are cached under
``runs/noise-calibration/`` (git-ignored), so a rerun takes about a minute on a CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT_DIR = Path(__file__).resolve().parents[1]
if str(ROOT_DIR) not in sys.path:  # run as `python scripts/calibrate_noise.py` from anywhere
    sys.path.insert(0, str(ROOT_DIR))

from scjd_core.errors import ScjdError  # noqa: E402
from scjd_core.skeleton import NUM_JOINTS, denormalize_screen  # noqa: E402
from training.noise_report import json_text, markdown, summary_table  # noqa: E402
from training.noise_stats import (  # noqa: E402
    LOW_CONF,
    SWAP_MIN_SEP,
    SWAP_RATIO,
    Tracks,
    body_size,
    cutoff_hz,
    measure,
    smoothing_effect,
)

SHARED = ROOT_DIR.parent / "shared" / "data"
DEFAULT_VIDEOS = [SHARED / "video" / "pose_squats.mp4", SHARED / "video" / "pose_1.mp4"]
CACHE_DIR = ROOT_DIR / "runs" / "noise-calibration"
TRAIN_FPS = 30.0  # the lifters' rate; synthetic noise is made at this rate
CACHE_VERSION = 1

# --------------------------------------------------------------------------------------
# Inputs: sequences of 2D keypoints as the lifter would get them
# --------------------------------------------------------------------------------------


def _cache_key(path: Path, options: dict[str, Any]) -> str:
    import mediapipe

    stat = path.stat()
    key = f"{CACHE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{mediapipe.__version__}|"
    key += json.dumps(options, sort_keys=True)
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def detect_video(path: Path, cache_dir: Path, smooth: bool = True) -> tuple[Tracks, dict[str, Any]]:
    """MediaPipe on every frame of ``path`` (cached), as one sequence, plus facts about the run.

    Raises:
        ScjdError: when the video is missing or unreadable, or MediaPipe is not installed.
    """
    from scjd_core.detect import MediaPipeDetector
    from scjd_core.sources import VideoFileSource

    if not path.is_file():
        raise ScjdError(
            f"video not found: {path}: the calibration needs the clips of ../shared/data/video "
            "(or pass --videos with clips of one person)"
        )
    with MediaPipeDetector(smooth_landmarks=smooth) as detector:
        options = dict(detector.options)
    cached = cache_dir / f"{path.stem}-{_cache_key(path, options)}.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as data:
            info = json.loads(str(data["info"]))
            tracks = Tracks(data["keypoints"][None], data["confidence"][None], data["found"][None], info["fps"])
        info["cached"] = True
        return tracks, info

    from tqdm import tqdm

    with VideoFileSource(path) as source, MediaPipeDetector(smooth_landmarks=smooth) as detector:
        src = source.info
        dets = []
        start = time.perf_counter()
        label = f"{path.name} ({'smoothed' if smooth else 'raw'})"
        for frame in tqdm(source, total=src.frame_count, desc=label, unit="frame", leave=False):
            dets.append(detector.detect(frame))
        ms = 1000.0 * (time.perf_counter() - start) / max(len(dets), 1)
    if not dets:
        raise ScjdError(f"{path} yielded no frames: check the video")
    keypoints = np.stack([d.keypoints for d in dets]).astype(np.float64)
    confidence = np.stack([d.confidence for d in dets]).astype(np.float64)
    found = np.array([d.found for d in dets], dtype=bool)
    info = {
        "file": path.name,
        "fps": float(src.fps),
        "width": int(src.width),
        "height": int(src.height),
        "frames": len(dets),
        "detected_frames": int(found.sum()),
        "ms_per_frame": round(ms, 1),
        "detector_options": options,
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".part.npz")
    np.savez(tmp, keypoints=keypoints, confidence=confidence, found=found, info=json.dumps(info))
    tmp.replace(cached)
    info["cached"] = False
    return Tracks(keypoints[None], confidence[None], found[None], info["fps"]), info


def synthetic_tracks(
    clips: list, fps: float, frames: int, windows: int, seed: int, configs: dict[str, Any]
) -> tuple[dict[str, Tracks], dict[str, Any]]:
    """Noisy mocap windows at ``fps``: exact 2D at 30 fps, every ``30 / fps``-th frame kept, then noised.

    The noise is added after resampling, frame by frame, because MediaPipe's own temporal
    filtering works per frame: its legacy API stamps frame ``i`` at ``i x 33.3 ms`` whatever
    the video's rate, so its noise has the same frame-to-frame structure at 5 and 30 fps.
    Only clips long enough for the window are used (no padded, frozen frames). Every
    configuration in ``configs`` (name -> :class:`DetectorNoise`) noises the same windows.
    """
    from tqdm import tqdm

    from training.data import DetectorNoise, MocapWindowDataset, apply_noise

    step = max(1, round(TRAIN_FPS / fps))
    length = (frames - 1) * step + 1
    usable = [c for c in clips if len(c.joints) >= length]
    if not usable:
        raise ScjdError(f"no mocap clip has the {length} frames a {frames}-frame window at {fps:g} fps needs")
    dataset = MocapWindowDataset(
        usable, window=length, samples=windows, seed=seed, noise=DetectorNoise.none(), flip_prob=0.0, train=False
    )
    clean = np.empty((windows, frames, NUM_JOINTS, 2))
    noisy = {name: np.empty_like(clean) for name in configs}
    conf = {name: np.empty((windows, frames, NUM_JOINTS)) for name in configs}
    for i in tqdm(range(windows), desc=f"synthetic @ {TRAIN_FPS / step:g} fps", unit="window", leave=False):
        item = dataset[i]
        camera = item["camera"].numpy()
        clean[i] = denormalize_screen(item["inputs"][::step, :, :2].numpy(), int(camera[4]), int(camera[5]))
        size = body_size(clean[i])  # the unit the dataset hands apply_noise
        for k, (name, cfg) in enumerate(configs.items()):
            noisy[name][i], conf[name][i] = apply_noise(clean[i], np.random.default_rng([seed, i, k]), size, cfg)
    out = {}
    for name in configs:
        found = conf[name].max(axis=-1) > 0  # a missing frame has confidence 0 everywhere
        out[name] = Tracks(noisy[name], conf[name], found, TRAIN_FPS / step, clean)
    info = {
        "windows": windows,
        "frames": frames,
        "fps": TRAIN_FPS / step,
        "mocap_fps": TRAIN_FPS,
        "frames_at_mocap_fps": length,
        "clips_used": len(usable),
        "noise_added": "after resampling, per frame",
    }
    return out, info


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def load_mocap(root: Path, files: int, cache: Path) -> tuple[list, int]:
    """``files`` mocap files spread evenly over ``root`` (all when 0), at 30 fps, glitches cut."""
    from scjd_core.mocap import find_mocap_files
    from training.data import load_clips

    if not root.is_dir():
        raise ScjdError(f"mocap folder not found: {root}: pass --mocap with a folder of .bvh / .amc files")
    paths = find_mocap_files(root)
    if not paths:
        raise ScjdError(f"no .bvh or .amc files under {root}: pass --mocap with a folder of mocap files")
    if 0 < files < len(paths):
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, files).round().astype(int)]
    return load_clips(paths, fps=TRAIN_FPS, cache_dir=cache, progress=True), len(paths)


def versions() -> dict[str, str]:
    """Versions of what produced the figures."""
    import mediapipe
    import scipy

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "python": platform.python_version(),
        "mediapipe": mediapipe.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "git": commit,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every video and its synthetic counterparts; returns the JSON-ready results."""
    from training.data import DetectorNoise

    configs = {"synthetic_before": DetectorNoise.v1(), "synthetic_after": DetectorNoise()}
    clips, n_files = load_mocap(Path(args.mocap), args.mocap_files, Path(args.mocap_cache))
    results: dict[str, Any] = {
        "command": " ".join(["python", "scripts/calibrate_noise.py", *(shlex.quote(a) for a in args.argv)]),
        "versions": versions(),
        "settings": {
            "low_confidence": LOW_CONF,
            "swap_ratio": SWAP_RATIO,
            "swap_min_separation": SWAP_MIN_SEP,
            "cutoff_hz_requested": args.cutoff,
            "seconds": args.seconds,
            "mocap_files": n_files,
            "mocap_clips": len(clips),
            "seed": args.seed,
        },
        "noise": {name: _noise_dict(cfg) for name, cfg in configs.items()},
        "clips": {},
    }
    for video in args.videos:
        path = Path(video)
        real, info = detect_video(path, Path(args.cache))
        print(f"{path.name}: MediaPipe {'from the cache' if info.pop('cached') else 'run'}", file=sys.stderr)
        fc = cutoff_hz(real.fps, args.cutoff)
        entry: dict[str, Any] = {"video": info, "cutoff_hz": fc, "real": measure(real, fc)}
        if not args.no_raw:
            raw, raw_info = detect_video(path, Path(args.cache), smooth=False)
            raw_info.pop("cached")
            entry["real_unsmoothed"] = measure(raw, fc)
            entry["video_unsmoothed"] = raw_info
            entry["smoothing_effect"] = smoothing_effect(real, raw)
        frames = min(real.keypoints.shape[1], int(round(args.seconds * real.fps)) + 1)
        synthetic, syn_info = synthetic_tracks(clips, real.fps, frames, args.windows, args.seed, configs)
        entry["synthetic"] = syn_info
        for name, tracks in synthetic.items():
            entry[name] = measure(tracks, cutoff_hz(tracks.fps, args.cutoff))
        results["clips"][path.stem] = entry
    return results


def _noise_dict(cfg: Any) -> dict[str, Any]:
    out = asdict(cfg)
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    """Measure, then write the JSON and the Markdown report."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", nargs="+", default=[str(v) for v in DEFAULT_VIDEOS], help="clips of one person")
    parser.add_argument("--mocap", default=str(SHARED / "mocap"), help="folder of .bvh / .amc files")
    parser.add_argument("--mocap-files", type=int, default=0, help="use this many files, spread out (0 = all)")
    parser.add_argument("--mocap-cache", default=str(ROOT_DIR / "runs" / "mocap-cache"), help="parsed-mocap cache")
    parser.add_argument("--cache", default=str(CACHE_DIR), help="where MediaPipe's outputs are cached")
    parser.add_argument("--windows", type=int, default=300, help="synthetic windows per video")
    parser.add_argument("--seconds", type=float, default=4.0, help="longest synthetic window, seconds")
    parser.add_argument("--cutoff", type=float, default=4.0, help="low-pass cut-off, Hz (at most 0.4 x Nyquist)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic windows")
    parser.add_argument("--no-raw", action="store_true", help="skip the reference run with MediaPipe's smoothing off")
    parser.add_argument("--json", default=str(ROOT_DIR / "docs" / "noise_calibration.json"), help="output JSON")
    parser.add_argument("--markdown", default=str(ROOT_DIR / "docs" / "noise_calibration.md"), help="output report")
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        results = run(args)
    except ScjdError as exc:
        print(f"calibrate_noise: error: {exc}", file=sys.stderr)
        return 2
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json_text(results))
    report = markdown(results)
    Path(args.markdown).write_text(report)
    print(summary_table(results))
    print(f"wrote {args.json} and {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
