"""Teacher training: MPJPE on all ``T`` frames of the dense window (AdamW, cosine LR, clipping).

Also holds what the teacher and student commands share: :class:`RunOptions` (where the
data, outputs and device are), data set-up and the checkpoint writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from scjd_core.errors import InputError
from training import distributed
from training.common import (
    LIMB_SCALE_STD,
    fixed_batches,
    hardware_info,
    load_init_weights,
    seed_everything,
    train_batches,
    training_noise,
)
from training.loop import LoopConfig, LoopResult, Member, TrainingLoop, predict_dense
from training.losses import mpjpe_loss
from training.mocap_data import DEFAULT_CACHE, DEFAULT_FPS, MocapData, data_licences, load_mocap_data

SPLIT_RULE = (
    "by subject/recording, never by frame: test = every clip of HDM05 actor dg (held out); "
    "val = the first CMU recording of each action folder; train = the rest"
)


@dataclass
class RunOptions:
    """Where a training run reads and writes, and on what.

    Attributes:
        out: checkpoint path of the trained model (``.safetensors`` + ``.json``).
        run_dir: folder for the metrics log and ``state.pt``.
        data: mocap folder (None = ``$SCJD_MOCAP`` or ``../shared/data/mocap``).
        cache: cache folder of parsed mocap (None = no cache).
        device: ``auto``, ``cpu`` or ``cuda``.
        resume: training-state file to continue from (``"auto"`` = ``run_dir/state.pt``).
        val_windows: number of fixed validation windows.
        progress: show a progress bar.
        mocap: already loaded data (skips loading; used by the recipe and tests).
        command: the command line, kept in the checkpoint's metadata.
        limb_scale_std: per-bone length variation of the training and validation windows.
        speed_jitter: playback-speed augmentation of the training windows (0 = off).
    """

    out: Path
    run_dir: Path
    data: str | None = None
    cache: Path | None = DEFAULT_CACHE
    device: str = "auto"
    resume: str | None = None
    val_windows: int = 256
    progress: bool = True
    mocap: MocapData | None = None
    command: list[str] = field(default_factory=list)
    limb_scale_std: float = LIMB_SCALE_STD
    speed_jitter: float = 0.0


def resolve(opts: RunOptions) -> tuple[torch.device, MocapData]:
    """The torch device (``cuda:LOCAL_RANK`` under ``torchrun``) and the loaded, split mocap data of a run."""
    from scjd_core.device import torch_device

    device = distributed.local_device(torch_device(opts.device))
    progress = opts.progress and distributed.is_main()
    mocap = opts.mocap if opts.mocap is not None else load_mocap_data(opts.data, opts.cache, progress)
    if not mocap.splits["train"]:
        raise InputError(f"no training clips in {mocap.root}: point --data at a folder of mocap files")
    return device, mocap


def validation_batches(
    mocap: MocapData, window: int, opts: RunOptions, cfg: LoopConfig
) -> tuple[list[dict[str, Tensor]], str]:
    """Fixed validation batches (the ``val`` split; the train clips with another seed if it is empty).

    The windows vary the bodies' proportions as the run's training windows do
    (``opts.limb_scale_std``): the held-out people are new bodies, and the validation clips
    share their skeleton with training clips, so without it validation could not tell a model
    that reads proportions from the 2D from one that recalls the training actors'.
    """
    clips, name = mocap.splits["val"], "val"
    if not clips:
        clips, name = mocap.splits["train"], "train (no val clips)"
    batches = fixed_batches(
        clips,
        window,
        opts.val_windows,
        cfg.batch_size,
        seed=cfg.seed + 10_007,
        noise=training_noise(),
        limb_scale_std=opts.limb_scale_std,
    )
    return batches, name


def checkpoint_saver(
    opts: RunOptions, mocap: MocapData, cfg: LoopConfig, device: torch.device, recipe: dict[str, Any]
) -> Callable[[Member, dict[str, Any]], None]:
    """The loop's ``save_fn``: writes ``member.best_model()`` with its metadata to ``member.out``."""
    from scjd_core.models import save_checkpoint

    hardware = hardware_info(device)

    def save(member: Member, info: dict[str, Any]) -> None:
        training = {
            "data": mocap.describe(),
            "licences": data_licences(mocap),
            "split": SPLIT_RULE,
            "recipe": {**recipe, **member.meta, "loop": cfg.to_dict()},
            "hardware": hardware,
            "wall_clock_s": round(float(info["wall_clock_s"]), 1),
            "steps_done": int(info["step"]),
            "best_step": int(info["best_step"]),
            "finished": bool(info["final"]),
            "command": list(opts.command),
        }
        metrics = {"val_mpjpe_mm": round(float(info["val_mpjpe_mm"]), 2), "val_split": recipe["val_split"]}
        save_checkpoint(member.best_model(), member.out, {"training": training, "metrics": metrics})

    return save


def run_loop(
    members: list[Member],
    opts: RunOptions,
    cfg: LoopConfig,
    device: torch.device,
    mocap: MocapData,
    window: int,
    shared_fn: Callable[[dict[str, Tensor], int], dict[str, Any]],
    recipe: dict[str, Any],
) -> LoopResult:
    """Validation data, loop, optional resume, batches, run: the common tail of both commands.

    Under ``torchrun`` each rank trains on its share of every global batch (see :mod:`training.distributed`).
    """
    rank, world = distributed.rank(), distributed.world_size()
    distributed.shard_bounds(cfg.batch_size, rank, world)  # a batch that does not split fails here, early
    val, val_name = validation_batches(mocap, window, opts, cfg)
    recipe = {
        **recipe,
        "val_split": val_name,
        "val_windows": opts.val_windows,
        "processes": world,
        "fps": DEFAULT_FPS,
        "noise": "each window draws DetectorNoise() (fitted to MediaPipe) or DetectorNoise.v1() (noisier)",
        "limb_scale_std": opts.limb_scale_std,
        **({"speed_jitter": opts.speed_jitter} if opts.speed_jitter else {}),
    }
    save = checkpoint_saver(opts, mocap, cfg, device, recipe)
    loop = TrainingLoop(members, cfg, device, opts.run_dir, val, shared_fn, save)
    if opts.resume:
        loop.resume(None if opts.resume == "auto" else opts.resume)
    stop = None if cfg.minutes > 0 else cfg.steps  # a budgeted run decides its length as it goes
    batches = train_batches(
        mocap.splits["train"],
        window,
        cfg.batch_size,
        cfg.seed,
        loop.start_step,
        stop,
        cfg.workers,
        rank,
        world,
        limb_scale_std=opts.limb_scale_std,
        speed_jitter=opts.speed_jitter,
    )
    return loop.run(batches, progress=opts.progress)


def _teacher_loss(model: nn.Module, batch: dict[str, Tensor], shared: dict) -> dict[str, Tensor]:
    out = model.forward_dense(batch["inputs"], return_attention=False)
    return {"loss": mpjpe_loss(out.pose, batch["target"])}


def train_teacher(
    opts: RunOptions,
    cfg: LoopConfig,
    model: str = "teacher-s",
    overrides: dict[str, Any] | None = None,
    init: str | Path | None = None,
) -> LoopResult:
    """Train a teacher (MPJPE on all T frames) and save its best checkpoint to ``opts.out``.

    Args:
        opts: data, outputs, device, resume.
        cfg: steps, batch size, learning rate, ... .
        model: registered teacher name (``teacher-s``, ``teacher-tiny``).
        overrides: config fields replacing the named size's values (e.g. ``{"window": 27}``).
        init: a teacher checkpoint of the same configuration to start from (a finished run
            trained longer, e.g. with a warm restart of the schedule on a faster machine).

    Returns:
        The loop's summary (best validation MPJPE in mm, wall-clock time).
    """
    from scjd_core.models import create_model, model_kind

    overrides = dict(overrides or {})
    seed_everything(cfg.seed)
    net = create_model(model, **overrides)
    if model_kind(net) != "teacher":
        raise InputError(f"--model {model} is not a teacher: choose teacher-s or teacher-tiny")
    started = load_init_weights(net, init, "teacher", model) if init is not None else {"init": None}
    device, mocap = resolve(opts)
    member = Member("teacher", net, _teacher_loss, predict_dense, Path(opts.out))
    recipe = {
        "command": "teacher",
        "model": model,
        "model_overrides": overrides,
        "loss": "MPJPE, all T frames",
        **started,
    }
    return run_loop([member], opts, cfg, device, mocap, net.config.window, lambda batch, step: {}, recipe)
