"""Evaluation: teacher and students on the same held-out inputs, one table.

Every row sees exactly the same inputs, from one of two sources:

* a **sequence file** (``--sequences FILE``, see :mod:`training.sequences`): fixed 2D pixels +
  confidence, image sizes and 3D, written once, so the figures cannot move when the noise or
  camera model changes. Each sequence is normalised with its own image size and lifted with
  each model's own window ``T`` exactly as :meth:`scjd_core.backends.lifter.ModelBackend.lift`
  lifts a clip (non-overlapping windows, the last one edge-padded; the tests check that the
  poses are the same); every frame is scored.
* **random windows** (no ``--sequences``): fixed windows of the held-out clips (HDM05 actor
  ``dg`` by default, or every clip of a folder given with ``--data``), filmed by the same
  random virtual cameras with the same synthetic detector noise (today's defaults, a fixed
  seed). The teacher reads each dense window; a student reads its sparse sample of the same
  window (phase 0) and is scored on all ``T`` frames of its upsampled output.

Reported per row: MPJPE, P-MPJPE, MPJVE (mm), per-joint MPJPE, parameters, FLOPs per
output frame, CPU latency per window and per frame (see :mod:`training.benchmark`).
With a sequence file, also the global motion of :mod:`scjd_core.trajectory` on the
model's output (:func:`global_motion`): the root trajectory error (mm, camera frame, after
one global scale per sequence; only for files that store each sequence's camera and root)
and the foot skate (mm per frame, after ground contact).
Two reference rows (``references`` in the results, see :mod:`training.reference`) keep
the table honest: the training split's mean pose, and a frame-wise MLP (``--mlp``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scjd_core.errors import InputError
from scjd_core.skeleton import JOINT_NAMES
from training.benchmark import cost_figures, cpu_latencies_ms, latency_setup
from training.common import fixed_batches, hardware_info
from training.metrics import mpjpe, mpjve, p_mpjpe, per_joint_mpjpe
from training.mocap_data import DEFAULT_CACHE, MocapData, load_mocap_data
from training.sequences import EvalSequences, load_sequences

#: Name of the mean-pose reference row.
MEAN_POSE_ROW = "mean-pose"


@dataclass
class EvalOptions:
    """What to evaluate and how.

    Attributes:
        teacher: teacher checkpoint.
        students: ``(name, checkpoint)`` pairs, in table order.
        data: mocap folder (None = the default mocap data).
        split: ``auto`` (held-out test clips, or every clip when there are none), ``test``,
            ``val``, ``train`` or ``all``.
        windows: number of evaluation windows.
        batch_size: windows per forward.
        seed: seed of the windows, cameras and noise.
        device: where accuracy is computed (latency is always CPU).
        latency_repeats: timed forwards per model.
        latency_warmup: untimed forwards first.
        cache: parsed-mocap cache folder.
        mocap: already loaded data (skips loading).
        command: the command line, kept in the results.
        sequences: a fixed sequence file to score on instead of random windows (then
            ``data``/``split``/``windows``/``seed`` only serve the mean-pose reference).
        mlp: frame-wise MLP checkpoint (:mod:`training.reference`) for its reference row.
        mean_pose: add the training split's mean pose as a reference row (needs the mocap
            data; skipped with a note when there is none and a sequence file is used).
    """

    teacher: Path
    students: list[tuple[str, Path]] = field(default_factory=list)
    data: str | None = None
    split: str = "auto"
    windows: int = 256
    batch_size: int = 32
    seed: int = 2025
    device: str = "auto"
    latency_repeats: int = 30
    latency_warmup: int = 5
    cache: Path | None = DEFAULT_CACHE
    mocap: MocapData | None = None
    command: list[str] = field(default_factory=list)
    sequences: Path | None = None
    mlp: Path | None = None
    mean_pose: bool = True


def _predict(model: torch.nn.Module, batches: list[dict], device: torch.device) -> np.ndarray:
    outs = []
    with torch.inference_mode():
        for batch in batches:
            window = batch["inputs"].to(device)
            outs.append(model.forward_dense(window, return_attention=False).pose.float().cpu())
    return torch.cat(outs).numpy()


def sequence_windows(inputs: np.ndarray, window: int) -> np.ndarray:
    """``(N, F, 17, 3)`` -> ``(N * ceil(F / T), T, 17, 3)``: each sequence cut as ModelBackend.lift cuts a clip.

    Non-overlapping windows of ``T = window`` frames from each sequence's first frame; the last
    window of a sequence is padded by repeating that sequence's last frame (never another's).
    """
    n, f = inputs.shape[:2]
    per = -(-f // window)
    padded = np.pad(inputs, ((0, 0), (0, per * window - f), (0, 0), (0, 0)), mode="edge")
    return padded.reshape(n * per, window, *inputs.shape[2:])


def lift_sequences(
    model: torch.nn.Module, seqs: EvalSequences, device: torch.device, batch_size: int = 256
) -> np.ndarray:
    """Lift every sequence as :meth:`ModelBackend.lift` lifts a clip -> ``(N, F, 17, 3)`` float32.

    Each sequence is normalised with its own image size and covered with non-overlapping
    windows of the model's ``T``, the last one padded by repeating the sequence's last frame
    (:func:`sequence_windows`); the windows of all sequences are batched together, which
    gives the same poses as lifting the sequences one by one, many times faster.
    """
    windows = sequence_windows(seqs.normalized(), int(model.config.window))
    poses = lift_window_batches(model, windows, device, batch_size).reshape(len(seqs), -1, *windows.shape[2:])
    return np.ascontiguousarray(poses[:, : seqs.frames], dtype=np.float32)


def lift_window_batches(
    model: torch.nn.Module, windows: np.ndarray, device: torch.device, batch_size: int = 256
) -> np.ndarray:
    """Poses ``(W, T, 17, 3)`` float32 of normalised windows ``(W, T, 17, 3)``, ``batch_size`` per forward."""
    dtype = next(model.parameters()).dtype
    outs = []
    with torch.inference_mode():
        for start in range(0, len(windows), batch_size):
            chunk = torch.from_numpy(np.ascontiguousarray(windows[start : start + batch_size]))
            outs.append(model.forward_dense(chunk.to(device, dtype=dtype), return_attention=False).pose.float().cpu())
    return torch.cat(outs).numpy()


def score(pred: np.ndarray, target: np.ndarray, padded: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy figures (mm) of predictions ``(N, T, 17, 3)`` against ``target``.

    With a ``padded (N, T)`` mask, ``mpjpe_unpadded_mm`` is the MPJPE of the other frames.
    """
    joints = per_joint_mpjpe(pred, target)
    out = {
        "mpjpe_mm": mpjpe(pred, target),
        "p_mpjpe_mm": p_mpjpe(pred, target),
        "mpjve_mm": mpjve(pred, target),
        "per_joint_mm": {name: float(v) for name, v in zip(JOINT_NAMES, joints, strict=True)},
    }
    if padded is not None and (~padded).any():
        out["mpjpe_unpadded_mm"] = mpjpe(pred[~padded], target[~padded])
    return out


def global_motion(pred: np.ndarray, seqs: EvalSequences) -> dict[str, Any]:
    """Root trajectory error and foot skate of predictions ``(N, F, 17, 3)`` on ``seqs``.

    Each sequence's root path is estimated from its 2D and the predicted 3D
    (:func:`scjd_core.trajectory.estimate_root_trajectory`) with the sequence's own camera
    when the file stores it, otherwise a 60° camera for its image size. Padded frames are
    left out of both figures.

    * ``root_mm``: mean distance (mm) between the estimated and the true camera-frame root,
      after scaling each sequence's estimate by the one factor that fits it best (least
      squares): monocular depth is known only up to scale. ``root_unscaled_mm`` without it,
      ``root_scale`` the median factor. ``None`` when the file has no ``root_3d``/``camera``.
    * ``foot_skate_mm``: mean horizontal move (mm per frame) of a foot in contact after
      :func:`scjd_core.trajectory.ground_contact` (world frame).
    """
    from scjd_core.trajectory import CameraIntrinsics, estimate_root_trajectory, foot_skate, ground_contact
    from scjd_core.world import camera_to_world, normalize_bone_lengths
    from training.sequences import FPS

    known = seqs.camera is not None and seqs.root_3d is not None
    errors, unscaled, scales, skates = [], [], [], []
    for i in range(len(seqs)):
        keep = ~seqs.padded[i] if seqs.padded is not None else np.ones(seqs.frames, bool)
        if keep.sum() < 2:
            continue
        poses = normalize_bone_lengths(pred[i].astype(np.float64))
        kp, conf = seqs.keypoints_2d[i, ..., :2], seqs.keypoints_2d[i, ..., 2]
        width, height = (int(v) for v in seqs.image_size[i])
        camera = CameraIntrinsics(*seqs.camera[i, :4], width, height) if seqs.camera is not None else None
        traj = estimate_root_trajectory(kp, conf, poses, width, height, FPS, camera=camera)
        if known:
            truth = seqs.root_3d[i].astype(np.float64)[keep]
            est = traj[keep]
            scale = float(np.sum(est * truth) / max(np.sum(est * est), 1e-12))
            errors.append(np.linalg.norm(scale * est - truth, axis=-1).mean())
            unscaled.append(np.linalg.norm(est - truth, axis=-1).mean())
            scales.append(scale)
        world, contacts = ground_contact(camera_to_world(poses, traj), FPS)
        skate = foot_skate(world, contacts & keep[:, None])
        if np.isfinite(skate):
            skates.append(skate)
    return {
        "root_mm": float(np.mean(errors) * 1000.0) if errors else None,
        "root_unscaled_mm": float(np.mean(unscaled) * 1000.0) if unscaled else None,
        "root_scale": float(np.median(scales)) if scales else None,
        "foot_skate_mm": float(np.mean(skates) * 1000.0) if skates else None,
    }


def _first_window(inputs: np.ndarray, window: int) -> torch.Tensor:
    """``(1, T, 17, 3)``: the first ``T`` frames of the first sequence (edge-padded when shorter)."""
    x = inputs[0, :window]
    x = np.pad(x, ((0, window - len(x)), (0, 0), (0, 0)), mode="edge")
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]


def _reference_rows(
    opts: EvalOptions,
    mocap: MocapData | None,
    inputs: np.ndarray,
    target: np.ndarray,
    padded: np.ndarray | None,
    device: torch.device,
    window: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The mean-pose and MLP rows (``references``) and facts about them for the meta."""
    from training.reference import (
        MEAN_POSE_SEED,
        MEAN_POSE_WINDOW,
        MEAN_POSE_WINDOWS,
        WindowAdapter,
        flops_per_frame,
        load_mlp,
        mean_pose,
        mlp_row_name,
        predict_frames,
    )

    rows, facts = [], {}
    if opts.mean_pose:
        train = mocap.splits.get("train") if mocap is not None else None
        if train:
            pose = mean_pose(train)
            row = {"name": MEAN_POSE_ROW, "kind": "reference", "checkpoint": None, "sha256": None}
            row.update(score(np.broadcast_to(pose, target.shape), target, padded))
            row.update(params=None, flops_per_frame=None, latency_window_ms=None, latency_frame_ms=None)
            row.update(frames_in=0, frames_out=1, sampling="none", pose=pose.round(5).tolist())
            rows.append(row)
            facts["mean_pose"] = (
                f"mean root-relative camera-frame pose of {MEAN_POSE_WINDOWS} fixed training windows of "
                f"{MEAN_POSE_WINDOW} frames (seed {MEAN_POSE_SEED}, default virtual cameras, mirrors)"
            )
        else:
            facts["mean_pose"] = "skipped: no training clips (mocap data) to average"
    if opts.mlp is not None:
        model, meta = load_mlp(opts.mlp, device)
        row = {"name": mlp_row_name(meta), "kind": "reference", "checkpoint": str(opts.mlp), "sha256": meta["sha256"]}
        row.update(score(predict_frames(model, inputs, device), target, padded))
        first = _first_window(inputs, window)
        latency = cpu_latencies_ms([WindowAdapter(model)], first, opts.latency_repeats, opts.latency_warmup)[0]
        row.update(
            params=int(sum(p.numel() for p in model.parameters())),
            flops_per_frame=flops_per_frame(model),
            latency_window_ms=latency,
            latency_frame_ms=latency / window,
            frames_in=1,
            frames_out=1,
            sampling="frame-wise",
            test_flip=bool(model.config.test_flip),
        )
        tr = meta.get("training", {})
        keys = ("minutes", "steps_done", "frames_seen", "wall_clock_s", "best_step", "noise")
        row["training"] = {k: tr.get(k) for k in keys}
        row["training"]["val_mpjpe_mm"] = meta.get("metrics", {}).get("val_mpjpe_mm")
        rows.append(row)
    return rows, facts


def evaluate(opts: EvalOptions) -> dict[str, Any]:
    """Evaluate the teacher and every student on the same inputs (a sequence file or random windows).

    Returns:
        ``{"meta": {...}, "joints": [...], "rows": [{name, kind, checkpoint, mpjpe_mm,
        p_mpjpe_mm, mpjve_mm, per_joint_mm, params, flops_per_frame, latency_window_ms,
        latency_frame_ms, frames_in, frames_out, sampling}, ...], "references": [...]}``;
        ``references`` holds the mean-pose and MLP rows (same keys; ``None`` for costs that do
        not apply).

    Raises:
        CheckpointError: for a bad checkpoint; InputError for a student whose window
            differs from the teacher's (random windows only), duplicate names, missing data
            or a bad sequence file.
    """
    from scjd_core.device import torch_device

    names = ["teacher"] + [n for n, _ in opts.students]
    if len(set(names)) != len(names):
        raise InputError(f"row names must be distinct (got {names}): use --students name=PATH with unique names")
    if MEAN_POSE_ROW in names or any(n.startswith("mlp-") for n in names):
        raise InputError(f"'{MEAN_POSE_ROW}' and 'mlp-*' name reference rows: give the students other names")
    device = torch_device(opts.device)
    seqs = load_sequences(opts.sequences) if opts.sequences is not None else None
    loaded = _load_models(opts, device, same_window=seqs is None)
    window = loaded[0][2].config.window
    mocap = opts.mocap
    if mocap is None and (seqs is None or opts.mean_pose):
        try:
            mocap = load_mocap_data(opts.data, opts.cache)
        except InputError:
            if seqs is None:
                raise
            print("note: no mocap data found, so no mean-pose reference row (pass --data to add it)")

    padded, clips = None, []
    if seqs is not None:
        inputs, target, padded = seqs.normalized(), seqs.poses_3d, seqs.padded
        predictions = [lift_sequences(model, seqs, device) for _, _, model, _ in loaded]
    else:
        clips = mocap.clips(opts.split)
        batches = fixed_batches(clips, window, opts.windows, opts.batch_size, opts.seed)
        inputs = torch.cat([b["inputs"] for b in batches]).numpy()
        target = torch.cat([b["target"] for b in batches]).numpy()
        predictions = [_predict(model, batches, device) for _, _, model, _ in loaded]
    rows = _model_rows(loaded, predictions, target, padded, seqs, _latencies(loaded, inputs, opts))
    references, facts = _reference_rows(opts, mocap, inputs, target, padded, device, window)
    meta = _results_meta(opts, mocap, seqs, clips, window)
    meta.update(
        references=facts,
        hardware=hardware_info(device),
        latency=latency_setup(opts.latency_repeats, opts.latency_warmup),
        command=list(opts.command),
    )
    return {"meta": meta, "joints": list(JOINT_NAMES), "rows": rows, "references": references}


def _load_models(opts: EvalOptions, device: torch.device, same_window: bool) -> list[tuple[str, Path, Any, dict]]:
    """``(name, path, model, meta)`` of the teacher then each student; ``same_window``: all must share its T."""
    from scjd_core.models import load_checkpoint

    models = [("teacher", Path(opts.teacher))] + [(n, Path(p)) for n, p in opts.students]
    loaded = []
    for name, path in models:
        model, meta = load_checkpoint(path, device=device)
        if name == "teacher" and meta["kind"] != "teacher":
            raise InputError(f"--teacher {path} is a {meta['kind']} checkpoint: pass the teacher checkpoint")
        loaded.append((name, path, model, meta))
    window = loaded[0][2].config.window
    if same_window:
        for name, path, model, _ in loaded[1:]:
            if model.config.window != window:
                raise InputError(
                    f"{name} ({path}) has window T={model.config.window} but the teacher has T={window}: "
                    "evaluate models made for the same window"
                )
    return loaded


def _latencies(loaded: list[tuple[str, Path, Any, dict]], inputs: np.ndarray, opts: EvalOptions) -> dict[int, float]:
    """CPU latency (ms per window) of each loaded model, by its index: one round-robin per window length."""
    latencies: dict[int, float] = {}
    for t in sorted({m.config.window for _, _, m, _ in loaded}):
        group = [i for i, (_, _, m, _) in enumerate(loaded) if m.config.window == t]
        times = cpu_latencies_ms(
            [loaded[i][2] for i in group], _first_window(inputs, t), opts.latency_repeats, opts.latency_warmup
        )
        latencies.update(zip(group, times, strict=True))
    return latencies


def _model_rows(
    loaded: list[tuple[str, Path, Any, dict]],
    predictions: list[np.ndarray],
    target: np.ndarray,
    padded: np.ndarray | None,
    seqs: EvalSequences | None,
    latencies: dict[int, float],
) -> list[dict[str, Any]]:
    """One results row per loaded model: accuracy, global motion (sequence files), cost figures."""
    rows = []
    for i, ((name, path, model, meta), pred) in enumerate(zip(loaded, predictions, strict=True)):
        row = {"name": name, "kind": meta["kind"], "checkpoint": str(path), "sha256": meta["sha256"]}
        row["checkpoint_meta"] = meta  # the card renders from the results alone, checkpoints gone or not
        row.update(score(pred, target, padded))
        if seqs is not None:
            row.update(global_motion(pred, seqs))
        row.update(cost_figures(model, latencies[i]))
        row["sampling"] = getattr(model.config, "sampling", "dense")
        row["test_flip"] = bool(getattr(model.config, "test_flip", False))
        rows.append(row)
    return rows


def _results_meta(
    opts: EvalOptions, mocap: Any, seqs: EvalSequences | None, clips: list, window: int
) -> dict[str, Any]:
    """The first facts of the results' ``meta``: date, data and the protocol (sequence file or random windows)."""
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": mocap.describe() if mocap is not None else None,
    }
    if seqs is not None:
        d = seqs.describe()
        meta.update(
            protocol="sequences",
            sequences=d,
            split=d["split"],
            subjects=d["subjects"],
            clips=seqs.meta.get("unique_clips"),
            frames=d["total_frames"],
            window=window,
            seed=d["seed"],
            inputs=f"fixed sequence file {d['file']} (sha256 {d['sha256']}): 2D pixels + confidence, image size, 3D",
            windowing="each sequence normalised with its image size and lifted like ModelBackend.lift: "
            "non-overlapping windows of the model's T, the last one edge-padded; every frame scored",
            global_motion=(
                "root_mm: camera-frame root trajectory error (scjd_core.trajectory, the sequence's own camera) "
                "after one least-squares scale per sequence; foot_skate_mm: mean horizontal move of a foot in "
                "contact per frame after ground contact; padded frames left out"
                if seqs.camera is not None and seqs.root_3d is not None
                else "root trajectory error skipped: this sequence file stores no camera / root_3d (written before "
                "they were added; regenerate it with `python -m training sequences`); foot_skate_mm: mean "
                "horizontal move of a foot in contact per frame after ground contact, root path from a 60-degree "
                "camera for the image size; padded frames left out"
            ),
        )
    else:
        split = opts.split if opts.split != "auto" else ("test" if mocap.splits["test"] else "all")
        meta.update(
            protocol="windows",
            split=split,
            subjects=sorted({str(c.subject) for c in clips}),
            clips=len(clips),
            windows=opts.windows,
            window=window,
            seed=opts.seed,
            inputs="virtual cameras + synthetic detector noise (training.data defaults), fixed seed",
        )
    return meta
