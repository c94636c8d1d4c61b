"""Training the frame-wise MLP reference row (:class:`training.reference.FrameMLP`).

A wall-clock budget (10 minutes by default), AdamW with warm-up and cosine decay on the MPJPE
of frames drawn from the teacher's own training windows (random cameras and detector noise,
fresh each step), validation on fixed val-split windows every ``val_every_s`` seconds keeping
the best weights. The model, its checkpoint format and its evaluation row live in
:mod:`training.reference`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from scjd_core.errors import InputError
from training.reference import FrameMLP, MLPConfig, predict_frames, save_mlp


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
    from training.mocap_data import load_mocap_data

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
    from training.common import hardware_info
    from training.mocap_data import data_licences
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
