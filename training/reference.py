"""Reference lifters that keep the evaluation table honest (METHOD.md).

* **mean pose** (``mean-pose``): the canonical mean root-relative camera-frame pose of the
  training split, predicted for every frame. Computed on the fly, deterministically, from
  fixed training windows seen by the same virtual cameras as the teacher's (cheap: about a
  second). Any lifter worth its compute must be far below it.
* **frame-wise MLP** (``mlp-<minutes>min``): a residual MLP in the style of Martinez et al.
  (2017) that lifts each frame on its own (no temporal context): 17 x 3 normalised inputs
  (x, y, confidence) -> Linear 512 -> two residual blocks (Linear-Norm-ReLU-Dropout, twice)
  -> Linear 51, root-relative. Trained for a wall-clock budget (10 minutes by default) with
  AdamW on the MPJPE of frames drawn from the training windows the teacher is trained on
  (:class:`~training.data.MocapWindowDataset`, train split, random cameras and detector noise,
  fresh each step). The teacher and the students must beat it clearly.

Checkpoints are ``NAME.safetensors`` + ``NAME.json`` like the lifters' (weights never
unpickled), but of kind ``frame-mlp``: only :func:`load_mlp` reads them.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from scjd_core.atomic import atomic_write
from scjd_core.errors import CheckpointError, InputError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, ROOT

MLP_KIND = "frame-mlp"
MLP_FORMAT = 1
#: Fixed training windows the mean pose is averaged over (window frames, windows, seed).
MEAN_POSE_WINDOW, MEAN_POSE_WINDOWS, MEAN_POSE_SEED = 27, 1024, 0


def mean_pose(
    clips: list,
    windows: int = MEAN_POSE_WINDOWS,
    window: int = MEAN_POSE_WINDOW,
    seed: int = MEAN_POSE_SEED,
    camera: Any = None,
) -> np.ndarray:
    """The mean root-relative camera-frame pose ``(17, 3)`` float32 of fixed training windows.

    Windows ``0 .. windows-1`` of ``MocapWindowDataset(clips, window, seed=seed, train=False)``:
    the same bodies, virtual cameras and mirrors as training draws (the 2D noise plays no role).
    """
    from training.data import DetectorNoise, MocapWindowDataset

    ds = MocapWindowDataset(
        clips, window=window, samples=windows, seed=seed, noise=DetectorNoise.none(), camera=camera, train=False
    )
    total = np.zeros((NUM_JOINTS, 3), np.float64)
    for i in range(windows):
        total += ds.raw_item(i)["target"].sum(axis=0, dtype=np.float64)
    out = (total / (windows * window)).astype(np.float32)
    out[ROOT] = 0.0
    return out


@dataclass
class MLPConfig:
    """Architecture of the frame-wise MLP.

    Attributes:
        hidden: width of every hidden layer.
        blocks: residual blocks.
        dropout: dropout probability.
        norm: ``"layer"`` (LayerNorm) or ``"batch"`` (BatchNorm, Martinez et al.'s choice).
        test_flip: in eval mode, average with the mirrored frame's mirrored-back pose, as the
            teacher and the student do (``scjd_core.models.config``), so the reference row is
            scored like them.
    """

    hidden: int = 512
    blocks: int = 2
    dropout: float = 0.1
    norm: str = "layer"
    test_flip: bool = True

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.blocks < 0 or not 0.0 <= self.dropout < 1.0 or self.norm not in ("layer", "batch"):
            raise ValueError(f"bad MLP config {self}")


def _unit(dim: int, cfg: MLPConfig) -> list[nn.Module]:
    norm = nn.LayerNorm(dim) if cfg.norm == "layer" else nn.BatchNorm1d(dim)
    return [nn.Linear(dim, dim), norm, nn.ReLU(), nn.Dropout(cfg.dropout)]


class ResidualBlock(nn.Module):
    """``x + (Linear-Norm-ReLU-Dropout) x 2``."""

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(*_unit(cfg.hidden, cfg), *_unit(cfg.hidden, cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class FrameMLP(nn.Module):
    """Frame-wise lifter: ``(..., 17, 3)`` normalised 2D + confidence -> ``(..., 17, 3)`` root-relative metres."""

    kind = MLP_KIND

    def __init__(self, config: MLPConfig | None = None) -> None:
        super().__init__()
        self.config = config or MLPConfig()
        h = self.config.hidden
        norm = nn.LayerNorm(h) if self.config.norm == "layer" else nn.BatchNorm1d(h)
        self.inp = nn.Sequential(nn.Linear(NUM_JOINTS * 3, h), norm, nn.ReLU(), nn.Dropout(self.config.dropout))
        self.blocks = nn.Sequential(*(ResidualBlock(self.config) for _ in range(self.config.blocks)))
        self.out = nn.Linear(h, NUM_JOINTS * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.test_flip and not self.training:
            from scjd_core.models.output import mean_with_mirrored, mirror

            both = self._lift(torch.stack([x, mirror(x)]))
            return mean_with_mirrored(both[0], both[1])
        return self._lift(x)

    def _lift(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-2]
        y = self.out(self.blocks(self.inp(x.reshape(-1, NUM_JOINTS * 3)))).reshape(*lead, NUM_JOINTS, 3)
        return y - y[..., ROOT : ROOT + 1, :]


class WindowAdapter(nn.Module):
    """Lets a frame-wise model be timed like a lifter: ``forward_dense(window, return_attention=False).pose``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, window: torch.Tensor, return_attention: bool = False) -> SimpleNamespace:
        return SimpleNamespace(pose=self.model(window), attention=None)

    def forward_dense(self, window: torch.Tensor, phase: int = 0, return_attention: bool = False) -> SimpleNamespace:
        """The lifters' call (:meth:`scjd_core.models.Teacher.forward_dense`): every frame on its own."""
        return self(window, return_attention=return_attention)


def flops_per_frame(model: nn.Module) -> float:
    """FLOPs of lifting one frame, counted by :class:`torch.utils.flop_counter.FlopCounterMode`."""
    from torch.utils.flop_counter import FlopCounterMode

    cpu = copy.deepcopy(model).to("cpu").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        cpu(torch.zeros(1, NUM_JOINTS, 3))
    return float(counter.get_total_flops())


def predict_frames(model: nn.Module, inputs: np.ndarray, device: torch.device, batch: int = 8192) -> np.ndarray:
    """Lift every frame of ``inputs (..., 17, 3)`` (normalised) -> ``(..., 17, 3)`` float32."""
    flat = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32).reshape(-1, NUM_JOINTS, 3))
    outs = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(flat), batch):
            outs.append(model(flat[start : start + batch].to(device)).float().cpu())
    return torch.cat(outs).numpy().reshape(inputs.shape)


def _paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    from scjd_core.models import checkpoint_paths

    return checkpoint_paths(path)


def save_mlp(model: FrameMLP, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``path.safetensors`` + ``path.json`` atomically (weights first)."""
    from safetensors.torch import save as save_tensors

    weights_path, json_path = _paths(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    blob = save_tensors(tensors, metadata={"kind": MLP_KIND, "format_version": str(MLP_FORMAT)})
    record = {
        "format_version": MLP_FORMAT,
        "kind": MLP_KIND,
        "config": dataclasses.asdict(model.config),
        "joints": list(JOINT_NAMES),
        "parents": list(PARENTS),
        "input": {
            "shape": "(..., 17, 3): one frame",
            "normalization": "x/w*2-1, y/w*2-h/w, confidence (scjd_core.skeleton.normalize_screen)",
        },
        "output": {"shape": "(..., 17, 3)", "frame": "camera", "unit": "metre", "root_relative": True},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        **(meta or {}),
        "weights_file": weights_path.name,
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    with atomic_write(weights_path, "wb", overwrite=True) as fh:
        fh.write(blob)
    with atomic_write(json_path, "w", overwrite=True) as fh:
        fh.write(json.dumps(record, indent=2) + "\n")
    return weights_path, json_path


def read_mlp_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON of a frame-wise MLP checkpoint.

    Raises:
        CheckpointError: missing, not JSON, or not a frame-wise MLP.
    """
    _, json_path = _paths(path)
    if not json_path.is_file():
        raise CheckpointError(
            f"MLP description {json_path} not found: "
            f"train one with `python -m training mlp --out {json_path.with_suffix('')}`"
        )
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"MLP description {json_path} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("kind") != MLP_KIND or meta.get("format_version") != MLP_FORMAT:
        raise CheckpointError(f"{json_path} is not a frame-wise MLP checkpoint (kind {MLP_KIND}, format {MLP_FORMAT})")
    if meta.get("joints") != list(JOINT_NAMES):
        raise CheckpointError(f"{json_path}: the MLP was made for another skeleton")
    return meta


def load_mlp(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[FrameMLP, dict[str, Any]]:
    """Rebuild a frame-wise MLP from its checkpoint, verified, in eval mode.

    Raises:
        CheckpointError: naming the file: missing, corrupt, modified (sha256) or not fitting its config.
    """
    from safetensors.torch import load as load_tensors

    weights_path, json_path = _paths(path)
    if not weights_path.is_file():
        raise CheckpointError(
            f"MLP weights {weights_path} not found: "
            f"train them with `python -m training mlp --out {weights_path.with_suffix('')}`"
        )
    meta = read_mlp_meta(path)
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise CheckpointError(f"MLP weights {weights_path} do not match the sha256 in {json_path.name}: re-train them")
    try:
        model = FrameMLP(MLPConfig(**meta["config"]))
        model.load_state_dict(load_tensors(blob), strict=True)
    except Exception as exc:  # bad config, corrupt bytes, shape mismatch
        raise CheckpointError(f"{weights_path} does not load as a frame-wise MLP ({exc})") from None
    from scjd_core.device import torch_device

    return model.to(torch_device(device)).eval(), meta


@dataclass
class MLPTrainOptions:
    """How to train the frame-wise MLP.

    Attributes:
        out: checkpoint path (without extension).
        minutes: wall-clock budget.
        max_steps: stop after this many steps even within the budget (0 = no limit; tests).
        window: frames per training window (the teacher's T).
        batch_windows: training windows drawn per step.
        frames_per_window: frames taken at random from each window (batch = their product).
        lr: peak AdamW learning rate (linear warm-up, then cosine over the budget).
        weight_decay: AdamW weight decay.
        warmup: warm-up steps.
        grad_clip: max gradient norm (0 = off).
        seed: seed of the windows, the frame choice and the initial weights.
        noise: detector noise of the training (and validation) windows: ``training`` = what the
            teacher trains on (``training.common.training_noise()`` when it exists, else the
            :class:`~training.data.noise.DetectorNoise` defaults), or a preset of
            :func:`training.sequences.noise_preset` (``v1``, ``default``).
        val_windows: fixed validation windows (val split) scored to keep the best weights.
        val_every_s: seconds between validations.
        config: the architecture.
        data: mocap folder; cache: parsed-mocap cache; mocap: already loaded data.
        device: training device.
        progress: progress bar.
        command: the command line (kept in the checkpoint).
    """

    out: Path = Path("runs/recipe/mlp")
    minutes: float = 10.0
    max_steps: int = 0
    window: int = 81
    batch_windows: int = 32
    frames_per_window: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    grad_clip: float = 1.0
    seed: int = 0
    noise: str = "training"
    val_windows: int = 64
    val_every_s: float = 30.0
    config: MLPConfig = field(default_factory=MLPConfig)
    data: str | None = None
    cache: Path | None = None
    mocap: Any = None
    device: str = "auto"
    progress: bool = True
    command: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Raises InputError for a run without a budget or with non-positive sizes."""
        if self.minutes <= 0 and self.max_steps <= 0:
            raise InputError("give the MLP a budget: --minutes > 0 (or --steps > 0)")
        if self.window < 1 or self.batch_windows < 1 or not 1 <= self.frames_per_window:
            raise InputError("--window, --batch-windows and --frames-per-window must be positive")


def _lr_factor(step: int, progress: float, warmup: int, floor: float = 0.05) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def training_noise_models(name: str = "training") -> tuple:
    """The noise models of :attr:`MLPTrainOptions.noise` (a tuple: each window draws one)."""
    if name == "training":
        from training import common

        make = getattr(common, "training_noise", None)  # the teacher's noise mixture, where there is one
        if make is not None:
            return tuple(make())
        name = "default"
    from training.sequences import noise_preset

    try:
        return (noise_preset(name),)
    except ValueError as exc:
        raise InputError(f"{exc}, or 'training'") from None


def _val_mpjpe(model: nn.Module, batches: list[dict], device: torch.device) -> float:
    from training.metrics import mpjpe

    pred = predict_frames(model, torch.cat([b["inputs"] for b in batches]).numpy(), device)
    target = torch.cat([b["target"] for b in batches]).numpy()
    model.train()
    return mpjpe(pred, target)


def train_mlp(opts: MLPTrainOptions) -> dict[str, Any]:
    """Train the frame-wise MLP for ``opts.minutes`` and save the best (validation) weights.

    Returns:
        The ``training`` facts written to the checkpoint's JSON (steps, losses, times, ...).

    Raises:
        InputError: for missing data or bad options; OutputError when ``out`` cannot be written.
    """
    from scjd_core.device import torch_device
    from training.common import load_mocap_data

    opts.check()
    t_load = time.perf_counter()
    mocap = opts.mocap if opts.mocap is not None else load_mocap_data(opts.data, opts.cache, opts.progress)
    train_clips = mocap.clips("train")
    device = torch_device(opts.device)
    model, optim, models, ds, val = _mlp_setup(opts, mocap, train_clips, device)
    pick = torch.Generator().manual_seed(opts.seed)
    frames, budget = min(opts.frames_per_window, opts.window), opts.minutes * 60.0  # budget in seconds
    bar = _progress_bar(opts, budget)
    best = _BestWeights()
    step, loss_avg, last_val = 0, None, time.perf_counter()
    t0, data_s = time.perf_counter(), 0.0
    while True:
        elapsed = time.perf_counter() - t0
        progress = max(elapsed / budget if budget > 0 else 0.0, step / opts.max_steps if opts.max_steps else 0.0)
        if progress >= 1.0:
            break
        td = time.perf_counter()
        x, y = _frame_batch(ds, step, opts, pick, frames, device)
        data_s += time.perf_counter() - td
        value = _mlp_step(model, optim, x, y, opts.lr * _lr_factor(step, progress, opts.warmup), opts.grad_clip)
        step += 1
        loss_avg = value if loss_avg is None else 0.98 * loss_avg + 0.02 * value
        now = time.perf_counter()
        if val and now - last_val >= opts.val_every_s:
            last_val = now
            best.validate(model, val, device, step, now - t0, loss_avg, keep_weights=True)
        if bar is not None:
            _show_progress(bar, min(int(now - t0), bar.total) if budget > 0 else step, step, loss_avg, best.score)
    wall = time.perf_counter() - t0
    if val:  # the final weights are the model's own: nothing to copy when they are the best
        best.validate(model, val, device, step, wall, loss_avg, keep_weights=False)
    if best.state is not None:
        model.load_state_dict(best.state)
    if bar is not None:
        bar.close()
    run = {
        "steps_done": step,
        "frames_seen": step * opts.batch_windows * frames,
        "wall_clock_s": wall,
        "data_s": data_s,
        "load_s": t0 - t_load,
        "best_step": best.step,
    }
    training = _mlp_facts(opts, run, models, best.history, mocap, device)
    metrics = {"val_mpjpe_mm": best.score if math.isfinite(best.score) else None, "train_mpjpe_mm": loss_avg}
    save_mlp(model.cpu(), opts.out, {"training": training, "metrics": metrics})
    return training


def _progress_bar(opts: MLPTrainOptions, budget: float) -> Any:
    """A tqdm bar of the run's seconds (or steps, without a time budget); None without ``opts.progress``."""
    if not opts.progress:
        return None
    from tqdm import tqdm

    total = round(budget) if budget > 0 else opts.max_steps
    return tqdm(total=total, unit="s" if budget > 0 else "step", desc="mlp", dynamic_ncols=True)


def _show_progress(bar: Any, shown: int, step: int, loss_avg: float, best: float) -> None:
    """Move ``bar`` to ``shown`` (seconds or steps) with the step, loss and best score beside it."""
    if shown != bar.n:
        bar.n = shown
        bar.set_postfix(step=step, loss_mm=f"{loss_avg:.1f}", val_mm=f"{best:.1f}", refresh=False)
        bar.refresh()


def _mlp_setup(
    opts: MLPTrainOptions, mocap: Any, train_clips: list, device: torch.device
) -> tuple[FrameMLP, torch.optim.Optimizer, tuple, Any, list[dict]]:
    """A run's seeded model and optimiser, its noise models, training window dataset and validation batches."""
    from training.common import fixed_batches
    from training.data import MocapWindowDataset

    torch.manual_seed(opts.seed)
    model = FrameMLP(opts.config).to(device).train()
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    models = training_noise_models(opts.noise)
    noise = models[0] if len(models) == 1 else list(models)
    ds = MocapWindowDataset(
        train_clips, window=opts.window, samples=opts.batch_windows, seed=opts.seed, noise=noise, train=True
    )
    val_clips = mocap.splits.get("val") or []
    val = fixed_batches(val_clips, opts.window, opts.val_windows, 32, seed=2025, noise=noise) if val_clips else []
    return model, optim, models, ds, val


@dataclass
class _BestWeights:
    """The validation history of an MLP run and its best score, step and weights so far."""

    score: float = math.inf
    step: int = 0
    state: dict[str, torch.Tensor] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def validate(
        self,
        model: nn.Module,
        val: list[dict],
        device: torch.device,
        step: int,
        time_s: float,
        loss_avg: float | None,
        keep_weights: bool,
    ) -> None:
        """Score ``model`` on ``val``; a new best is remembered (with a copy of its weights if ``keep_weights``)."""
        score = _val_mpjpe(model, val, device)
        self.history.append(
            {"step": step, "time_s": round(time_s, 1), "train_mpjpe_mm": loss_avg, "val_mpjpe_mm": score}
        )
        if score < self.score:
            self.score, self.step = score, step
            self.state = copy.deepcopy(model.state_dict()) if keep_weights else None


def _frame_batch(
    ds: Any, step: int, opts: MLPTrainOptions, pick: torch.Generator, frames: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets ``(batch_windows, frames, 17, 3)`` of a step: random frames of fresh windows."""
    ds.set_epoch(step)
    items = [ds[i] for i in range(opts.batch_windows)]
    x = torch.stack([it["inputs"] for it in items])
    y = torch.stack([it["target"] for it in items])
    idx = torch.argsort(torch.rand(opts.batch_windows, opts.window, generator=pick), dim=1)[:, :frames]
    rows = torch.arange(opts.batch_windows)[:, None]
    return x[rows, idx].to(device), y[rows, idx].to(device)


def _mlp_step(
    model: nn.Module, optim: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, lr: float, grad_clip: float
) -> float:
    """One optimiser step on MPJPE at learning rate ``lr``; returns the loss in mm."""
    for group in optim.param_groups:
        group["lr"] = lr
    loss = torch.linalg.vector_norm(model(x) - y, dim=-1).mean()
    optim.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optim.step()
    return float(loss.detach()) * 1000.0


def _mlp_facts(
    opts: MLPTrainOptions, run: dict[str, Any], models: tuple, history: list, mocap: Any, device: torch.device
) -> dict[str, Any]:
    """The ``training`` facts of an MLP checkpoint; ``run``: steps, frames, times and best step of the run."""
    from training.common import data_licences, hardware_info
    from training.sequences import _jsonable

    return {
        "finished": True,
        "minutes": opts.minutes,
        "max_steps": opts.max_steps,
        **run,
        "options": {
            f.name: getattr(opts, f.name)
            for f in dataclasses.fields(opts)
            if f.name not in ("out", "mocap", "command", "cache", "config", "progress")
        },
        "config": dataclasses.asdict(opts.config),
        "loss": "MPJPE (mean Euclidean joint error, metres) over the sampled frames",
        "optimiser": "AdamW, linear warm-up then cosine decay over the wall-clock budget, grad-norm clipping",
        "samples": "frames drawn at random from MocapWindowDataset(train split, window, train=True) windows: "
        "random clips, bodies, virtual cameras, detector noise and mirrors, fresh each step",
        "noise": opts.noise,
        "noise_models": [_jsonable(dataclasses.asdict(m)) for m in models],
        "history": history,
        "hardware": hardware_info(device),
        "data": mocap.describe(),
        "licences": data_licences(mocap),
        "command": list(opts.command),
    }


def mlp_row_name(meta: dict[str, Any]) -> str:
    """``mlp-<minutes>min`` (``mlp-<steps>steps`` for a run cut by a step limit only)."""
    tr = meta.get("training", {})
    minutes = tr.get("minutes") or 0
    return f"mlp-{minutes:g}min" if minutes > 0 else f"mlp-{tr.get('steps_done', 0)}steps"
