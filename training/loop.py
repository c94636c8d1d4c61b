"""The training loop shared by the teacher and the students.

One loop trains one or several *members* in lockstep: every step draws one batch
(a pure function of ``seed`` and the step, so runs are reproducible and resumable),
lets the caller compute what the members share (the frozen teacher's forward, the
sampling phase), then steps each member's own optimizer. Training the recipe's six
students together therefore costs one data batch and one teacher forward per step
instead of six, and every student sees exactly the same data (a fair ablation).

The loop avoids per-step host syncs: losses are accumulated on the device and read
(``.item()``) only every ``log_every`` steps and at validation.

Under ``torchrun`` (:mod:`training.distributed`) every rank runs this loop on its share of
each global batch, each member trains through a ``DistributedDataParallel`` wrapper, and
only rank 0 validates, logs and writes checkpoints and ``state.pt``.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from scjd_core.errors import CheckpointError, ScjdError
from training import distributed
from training.common import MetricsLog, load_train_state, rng_state, save_train_state, set_rng_state


@dataclass
class LoopConfig:
    """Optimisation and bookkeeping settings (the CLI's knobs).

    Attributes:
        steps: total optimisation steps.
        batch_size: windows per step.
        lr: peak learning rate (AdamW).
        weight_decay: AdamW weight decay.
        warmup: linear warm-up steps before the cosine decay.
        min_lr_ratio: final learning rate as a fraction of ``lr``.
        grad_clip: max global gradient norm (0 = no clipping).
        val_every: validate (and save the training state) every this many steps; the
            last step always validates.
        log_every: read the running losses back every this many steps.
        seed: seed of the data, the sampling phases and the initialisation.
        workers: DataLoader worker processes making batches (0 = in the main process).
        minutes: wall-clock budget of the run (0 = none): the loop measures its own speed
            (steps and validations per second) and sets ``steps`` so the run ends within the
            budget; the cosine schedule follows the re-estimated length. The steps actually
            run are recorded, so a resumed run keeps them.
        ema: decay of an exponential moving average of the weights (0 = off); validation,
            the best checkpoint and the shipped weights then use the averaged model.
        amp: ``"auto"`` (bf16 autocast on CUDA, fp32 on CPU, where bf16 measured slower),
            ``"bf16"`` or ``"off"``.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup: int = 50
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    val_every: int = 200
    log_every: int = 25
    seed: int = 0
    workers: int = 0
    minutes: float = 0.0
    ema: float = 0.0
    amp: str = "auto"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch size must be >= 1, got {self.steps} and {self.batch_size}")
        if self.lr <= 0 or self.val_every < 1 or self.log_every < 1 or self.warmup < 0:
            raise ValueError("lr must be > 0, val_every and log_every >= 1, warmup >= 0")
        if self.minutes < 0 or not 0.0 <= self.ema < 1.0:
            raise ValueError(f"minutes must be >= 0 and ema in [0, 1), got {self.minutes} and {self.ema}")
        if self.amp not in ("auto", "bf16", "off"):
            raise ValueError(f"amp must be auto, bf16 or off, got {self.amp!r}")

    def autocast(self, device: torch.device) -> Any:
        """The autocast context of a training forward on ``device`` (see ``amp``)."""
        use = self.amp == "bf16" or (self.amp == "auto" and device.type == "cuda")
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=use)

    def autocast_inference(self, device: torch.device) -> Any:
        """The autocast context of a no-gradient forward (the frozen teacher): bf16 unless ``amp="off"``.

        Unlike training steps, the teacher's inference forward is faster in bf16 on this project's
        CPU too (AVX-512 BF16: 49 vs 76 ms per 81-frame window of the shipped teacher); its outputs
        are distillation targets, where bf16's ~1 mm differences do not matter.
        """
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.amp != "off")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for metadata)."""
        return asdict(self)


def steps_within_budget(step: int, elapsed: float, budget_s: float, since_step: int, since_s: float) -> int | None:
    """The total step count that ends a run at ``budget_s`` seconds, at the speed measured
    between ``(since_step, since_s)`` and now (``step`` done after ``elapsed`` seconds; the
    time includes validations). At least one more step; None when no speed can be measured yet."""
    run_steps, run_time = step - since_step, elapsed - since_s
    if run_steps < 1 or run_time <= 0:
        return None
    return max(step + 1, step + int((budget_s - elapsed) * run_steps / run_time))


def cosine_with_warmup(step: int, steps: int, warmup: int, min_ratio: float) -> float:
    """Learning-rate factor: linear warm-up to 1 over ``warmup`` steps, then cosine down to ``min_ratio``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    span = max(steps - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class Member:
    """One model trained by the loop.

    Attributes:
        name: row name (``teacher``, ``scjd``, ``no-distill``, ...).
        model: the network being trained.
        loss_fn: ``(model, batch, shared) -> dict`` of scalar tensors, ``"loss"`` the total.
        predict: ``(model, inputs) -> (B, T, 17, 3)`` dense poses, for validation.
        out: where the best checkpoint goes (``save_checkpoint`` path).
        extra: modules trained with the model but not shipped (the DJED projection).
        meta: facts stored in the checkpoint's ``training`` dict.
    """

    name: str
    model: nn.Module
    loss_fn: Callable[[nn.Module, dict, dict], dict[str, Tensor]]
    predict: Callable[[nn.Module, Tensor], Tensor]
    out: Path
    extra: nn.Module | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    optimizer: torch.optim.Optimizer | None = None
    scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
    best: float = math.inf
    best_step: int = -1
    best_weights: dict[str, Tensor] = field(default_factory=dict)
    sums: dict[str, Tensor] = field(default_factory=dict)
    ema: torch.optim.swa_utils.AveragedModel | None = None

    @property
    def eval_model(self) -> nn.Module:
        """The model validated and shipped: the weight average when EMA is on, else the model."""
        return self.ema.module if self.ema is not None else self.model

    def parameters(self) -> list[nn.Parameter]:
        """Trainable parameters of the model and its extra modules."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        if self.extra is not None:
            params += [p for p in self.extra.parameters() if p.requires_grad]
        return params

    def build_optimizer(self, cfg: LoopConfig) -> None:
        """AdamW (no decay on biases, norms and embeddings) + cosine schedule with warm-up."""
        named = list(self.model.named_parameters())
        if self.extra is not None:
            named += [(f"extra.{n}", p) for n, p in self.extra.named_parameters()]
        decay = [p for n, p in named if p.requires_grad and p.ndim >= 2 and "pos" not in n]
        keep = [p for n, p in named if p.requires_grad and not (p.ndim >= 2 and "pos" not in n)]
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": keep, "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: cosine_with_warmup(s, cfg.steps, cfg.warmup, cfg.min_lr_ratio)
        )
        if cfg.ema > 0:
            avg = torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema)
            self.ema = torch.optim.swa_utils.AveragedModel(self.model, multi_avg_fn=avg, use_buffers=True)

    def state(self) -> dict[str, Any]:
        """Everything needed to resume this member."""
        return {
            "model": self.model.state_dict(),
            "extra": self.extra.state_dict() if self.extra is not None else {},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "best": self.best,
            "best_step": self.best_step,
            "best_weights": self.best_weights,
            "ema": self.ema.state_dict() if self.ema is not None else {},
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` output."""
        self.model.load_state_dict(state["model"])
        if self.extra is not None:
            self.extra.load_state_dict(state["extra"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.best, self.best_step = float(state["best"]), int(state["best_step"])
        self.best_weights = dict(state["best_weights"])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])

    def best_model(self) -> nn.Module:
        """A copy of the model holding the weights of the best validation step."""
        model = copy.deepcopy(self.eval_model)
        if self.best_weights:
            model.load_state_dict(self.best_weights)
        return model.eval()


class _Trainable(nn.Module):
    """A member's model and extra modules as one module whose forward is the member's loss.

    This is what ``DistributedDataParallel`` wraps: every trained parameter (the DJED
    projection too) takes part in the gradient averaging, while ``loss_fn`` still receives
    the plain model (its ``config``, ``sample_indices``, ...).
    """

    def __init__(self, member: Member) -> None:
        super().__init__()
        self.model = member.model
        self.extra = member.extra
        self.loss_fn = member.loss_fn

    def forward(self, batch: dict[str, Tensor], shared: dict) -> dict[str, Tensor]:
        return self.loss_fn(self.model, batch, shared)


def predict_dense(model: nn.Module, inputs: Tensor) -> Tensor:
    """Dense ``(B, T, 17, 3)`` poses of any lifter (teacher, or student at phase 0) from whole windows.

    The ``predict`` of every member (validation).
    """
    return model.forward_dense(inputs, return_attention=False).pose


@torch.no_grad()
def validate(member: Member, batches: Sequence[dict[str, Tensor]], device: torch.device) -> float:
    """MPJPE (mm) of ``member`` over all frames of the fixed validation batches."""
    model = member.eval_model
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=device, dtype=torch.float64)
    count = 0
    for batch in batches:
        pred = member.predict(model, batch["inputs"].to(device)).float()
        err = torch.linalg.vector_norm(pred - batch["target"].to(device), dim=-1)
        total += err.sum(dtype=torch.float64)
        count += err.numel()
    model.train(was_training)
    return float(total.item()) / max(count, 1) * 1000.0


@dataclass
class LoopResult:
    """What a finished run reports."""

    step: int
    wall_clock_s: float
    best: dict[str, float]
    best_step: dict[str, int]


class TrainingLoop:
    """Trains members in lockstep with periodic validation, checkpoints and a resumable state.

    Args:
        members: the models to train.
        cfg: optimisation settings.
        device: torch device.
        run_dir: folder for ``state.pt`` and the metrics logs (``train.csv``/``.jsonl``: losses,
            learning rate, gradient norm; ``val.csv``/``.jsonl``: validation MPJPE).
        val_batches: fixed validation batches.
        shared_fn: ``(batch, step) -> dict`` computed once per step for all members
            (e.g. the teacher's forward and the sampling indices).
        save_fn: ``(member, info) -> None`` writes ``member.best_model()`` as its checkpoint;
            ``info`` holds ``best_step``, ``val_mpjpe_mm``, ``step`` (steps done), ``wall_clock_s``
            and ``final`` (False while training, True once the run is over).
    """

    def __init__(
        self,
        members: Sequence[Member],
        cfg: LoopConfig,
        device: torch.device,
        run_dir: str | os.PathLike[str],
        val_batches: Sequence[dict[str, Tensor]],
        shared_fn: Callable[[dict[str, Tensor], int], dict[str, Any]],
        save_fn: Callable[[Member, dict[str, Any]], None],
    ) -> None:
        if not members or len({m.name for m in members}) != len(members):
            raise ValueError("members must be a non-empty list with distinct names")
        self.members = list(members)
        self.cfg = cfg
        self.device = device
        self.run_dir = Path(run_dir)
        self.state_path = self.run_dir / "state.pt"
        self.val_batches = val_batches
        self.shared_fn = shared_fn
        self.save_fn = save_fn
        self.main = distributed.is_main()  # rank 0 (or a single process) validates, logs and saves
        self.log = MetricsLog(self.run_dir, "train") if self.main else None
        self.val_log = MetricsLog(self.run_dir, "val") if self.main else None
        self.wrapped: dict[str, nn.Module] = {}  # member name -> its DDP wrapper (data-parallel runs)
        self.start_step = 0
        self.elapsed = 0.0
        for m in self.members:
            m.model.to(device).train()
            if m.extra is not None:
                m.extra.to(device).train()
            m.build_optimizer(cfg)

    def resume(self, path: str | os.PathLike[str] | None = None) -> int:
        """Load a training state (default ``run_dir/state.pt``); returns the step to continue from.

        Raises:
            CheckpointError: missing/unreadable state, or one made for other members.
        """
        path = Path(path) if path else self.state_path
        state = load_train_state(path)
        names = sorted(state.get("members", {}))
        if names != sorted(m.name for m in self.members):
            raise CheckpointError(
                f"training state {path} holds {names}, not {sorted(m.name for m in self.members)}: "
                "resume with the same command and options"
            )
        try:
            for m in self.members:
                m.load_state(state["members"][m.name])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(
                f"training state {path} does not fit these models ({exc}): resume with the same --model"
            ) from None
        set_rng_state(state["rng"])
        self.start_step = int(state["step"])
        self.elapsed = float(state["wall_clock_s"])
        if self.cfg.minutes > 0:  # a budgeted run keeps the length it had estimated
            self.cfg.steps = max(int(state.get("steps", self.cfg.steps)), self.start_step)
        return self.start_step

    def _save_state(self, step: int, elapsed: float) -> None:
        state = {
            "step": step,
            "steps": self.cfg.steps,
            "wall_clock_s": elapsed,
            "rng": rng_state(),
            "members": {m.name: m.state() for m in self.members},
        }
        save_train_state(self.state_path, state)

    def _train_step(self, member: Member, batch: dict, shared: dict) -> None:
        ddp = self.wrapped.get(member.name)
        with self.cfg.autocast(self.device):
            parts = ddp(batch, shared) if ddp is not None else member.loss_fn(member.model, batch, shared)
        member.optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        if self.cfg.grad_clip > 0:
            parts["grad_norm"] = torch.nn.utils.clip_grad_norm_(member.parameters(), self.cfg.grad_clip)
        member.optimizer.step()
        member.scheduler.step()
        if member.ema is not None:
            member.ema.update_parameters(member.model)
        for key, value in parts.items():
            value = value.detach()
            member.sums[key] = member.sums[key] + value if key in member.sums else value.clone()

    def _flush(self, step: int, count: int, elapsed: float, bar: Any, rate: float, frame_rate: float) -> None:
        """Write the running losses of the last ``count`` steps; ``rate`` / ``frame_rate`` = training
        windows / frames per second over them."""
        postfix = {"win/s": f"{rate:.0f}"}
        if distributed.is_active():  # log the global batch's losses: the mean of the ranks' (equal shares)
            keys = [(m, k) for m in self.members for k in sorted(m.sums)]
            means = distributed.mean_over_ranks(torch.stack([m.sums[k].float() for m, k in keys]))
            for (m, k), v in zip(keys, means.unbind(), strict=True):
                m.sums[k] = v
        for m in self.members:
            record = {
                "step": step,
                "member": m.name,
                "lr": m.scheduler.get_last_lr()[0],
                "time_s": elapsed,
                "windows_per_s": rate,
                "frames_per_s": frame_rate,
            }
            record.update({k: float(v.item()) / count for k, v in m.sums.items()})
            m.sums.clear()
            if not math.isfinite(record["loss"]):
                raise ScjdError(
                    f"{m.name}: the training loss became {record['loss']} at step {step}: "
                    "lower --lr or raise --grad-clip"
                )
            if self.log is not None:
                self.log.write(record)
            postfix[m.name] = f"{record['loss']:.4f}"
        bar.set_postfix(postfix, refresh=False)

    def _validate(self, step: int, elapsed: float) -> None:
        for m in self.members:
            val = validate(m, self.val_batches, self.device)
            self.val_log.write({"step": step, "member": m.name, "val_mpjpe_mm": val, "time_s": elapsed})
            if val < m.best:
                m.best, m.best_step = val, step
                weights = m.eval_model.state_dict()
                m.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
                self.save_fn(m, self._info(m, step, elapsed, final=False))

    @staticmethod
    def _info(m: Member, step: int, elapsed: float, final: bool) -> dict[str, Any]:
        return {
            "best_step": m.best_step,
            "val_mpjpe_mm": m.best,
            "step": step,
            "wall_clock_s": elapsed,
            "final": final,
        }

    def _budget_steps(self, step: int, elapsed: float) -> None:
        """Re-estimate ``cfg.steps`` so the run ends within ``cfg.minutes`` (see :class:`LoopConfig`).

        The speed is measured from the calibration step on (:attr:`_anchor`), so the start-up
        of the data workers and the first, slow GPU steps do not shorten the run. Data-parallel
        runs take rank 0's estimate on every rank (the ranks must run the same steps).
        """
        if self.cfg.minutes <= 0:
            return
        since_step, since_s = self._anchor if self._anchor is not None else (self.start_step, self.elapsed)
        estimate = steps_within_budget(step, elapsed, self.cfg.minutes * 60.0, since_step, since_s)
        self.cfg.steps = distributed.broadcast_int(self.cfg.steps if estimate is None else estimate)

    def run(self, batches: Iterator[dict[str, Tensor]], progress: bool = True) -> LoopResult:
        """Train from :attr:`start_step` to ``cfg.steps``; ``batches`` yields those steps' batches.

        With ``cfg.minutes`` set, ``batches`` must not end before the re-estimated step count
        (:func:`training.common.train_batches` with ``stop=None`` is endless).
        """
        from tqdm import tqdm

        cfg = self.cfg
        if distributed.is_active():  # gradient averaging over the ranks (the EMA keeps averaging m.model)
            self.wrapped = {m.name: distributed.wrap(_Trainable(m), self.device) for m in self.members}
        world = distributed.world_size()
        t0 = time.perf_counter() - self.elapsed
        progress = progress and self.main
        bar = tqdm(total=cfg.steps, initial=self.start_step, disable=not progress, unit="step", dynamic_ncols=True)
        pending = 0
        windows = frames = 0
        t_flush = time.perf_counter()
        step = self.start_step
        calibrate = self.start_step + 20  # first speed estimate of a budgeted run (after warm-up)
        self._anchor: tuple[int, float] | None = None
        while step < cfg.steps:
            step += 1
            batch = {k: v.to(self.device, non_blocking=True) for k, v in next(batches).items()}
            shared = self.shared_fn(batch, step - 1)
            for m in self.members:
                self._train_step(m, batch, shared)
            pending += 1
            windows += int(batch["inputs"].shape[0]) * world  # the global batch
            frames += int(batch["inputs"].shape[0] * batch["inputs"].shape[1]) * world
            bar.update(1)
            if step == calibrate:
                self._budget_steps(step, time.perf_counter() - t0)
                self._anchor = (step, time.perf_counter() - t0)  # later estimates: the speed from here on
                bar.total = cfg.steps
            last = step == cfg.steps
            if step % cfg.log_every == 0 or last:
                now = time.perf_counter()
                span = max(now - t_flush, 1e-9)
                self._flush(step, pending, now - t0, bar, windows / span, frames / span)
                pending, windows, frames, t_flush = 0, 0, 0, now
                if step > calibrate and not last:
                    self._budget_steps(step, now - t0)
                    bar.total = cfg.steps
            if step % cfg.val_every == 0 or last:
                elapsed = time.perf_counter() - t0
                if self.main:
                    self._validate(step, elapsed)
                    self._save_state(step, elapsed)
                distributed.barrier()  # the other ranks wait for rank 0's validation and state.pt
                if not last:
                    self._budget_steps(step, time.perf_counter() - t0)
                    bar.total = cfg.steps
                    t_flush = time.perf_counter()  # validation time is not training throughput
        bar.close()
        return self._finish(step, time.perf_counter() - t0)

    def _finish(self, step: int, elapsed: float) -> LoopResult:
        """Re-save every member with the final facts (total time, steps done) and sum the run up."""
        if self.main:
            for m in self.members:
                self.save_fn(m, self._info(m, step, elapsed, final=True))
        distributed.barrier()  # the checkpoints exist on every rank's return (the recipe loads the teacher next)
        self.wrapped = {}
        return LoopResult(
            step=step,
            wall_clock_s=elapsed,
            best={m.name: m.best for m in self.members},
            best_step={m.name: m.best_step for m in self.members},
        )
