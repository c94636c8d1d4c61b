"""Student distillation from a frozen teacher checkpoint (METHOD.md, Losses).

Each step: one batch of dense windows, one draw of the sampling phase, one forward of
the frozen teacher (only when some student distils), then every student reads its
``K`` frames, predicts them and (upsampled) all ``T`` frames, and minimises
``L_pose + λ1·L_DJED + λ2·L_AJAD + λ3·L_TCD`` (:class:`training.losses.DistillLoss`).
Several students can train in lockstep on the same batches (the recipe's ablations).

Sampling phase: strided students draw one phase per step, uniform over the ``s``
consecutive shifts ``-(s-1)//2 ... s//2`` (together they reach every frame); the
central-K student always reads the ``K`` central frames (phase 0), as it does at
inference. Validation and evaluation use phase 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scjd_core.errors import InputError
from training.common import load_init_weights, load_train_state, seed_everything
from training.loop import LoopConfig, LoopResult, Member, predict_dense
from training.losses import DistillConfig, DistillLoss
from training.mocap_data import portable_path
from training.train_teacher import RunOptions, resolve, run_loop


@dataclass
class StudentSpec:
    """One student to train.

    Attributes:
        name: row name (``scjd``, ``no-distill``, ``no-djed``, ...).
        out: checkpoint path.
        distill: loss weights and options.
        model: registered student name.
        sampling: ``"strided"`` (SCJD) or ``"central"`` (K central frames).
        overrides: further config fields of the student.
        init: a student checkpoint to start from (fine-tuning, e.g. a GPU run continued on
            another machine); its config must be the one ``model``/``overrides`` give (or a
            shallower one, grown: :func:`training.common.load_init_weights`).
        init_state: the training-state file (``state.pt``) of the run that made ``init``: its
            distillation modules for this variant (the DJED projection, the loss balance) are
            carried on, instead of a fresh projection that the student's embeddings would
            first be pulled towards. Ignored when absent or not matching.
        from_teacher: start from the frozen teacher's weights instead of a random
            initialisation (:func:`scjd_core.models.grow.load_from_teacher`: the student has the
            teacher's width and copies its embeddings, head and these block pairs).
        teacher_blocks: the teacher's block pairs to copy (None: the first, the last and
            evenly spaced ones between).
    """

    name: str
    out: Path
    distill: DistillConfig = field(default_factory=DistillConfig)
    model: str = "student-s"
    sampling: str = "strided"
    overrides: dict[str, Any] = field(default_factory=dict)
    init: Path | None = None
    init_state: Path | None = None
    from_teacher: bool = False
    teacher_blocks: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.from_teacher and self.init is not None:
            raise InputError(
                f"student {self.name}: starting from the teacher makes a new student, an init checkpoint "
                "continues a trained one: give one of them (--student-from-teacher or --student-init)"
            )


def step_phase(seed: int, step: int, stride: int) -> int:
    """The sampling phase of a training step: uniform over ``-(s-1)//2 ... s//2``, a function of (seed, step)."""
    rng = np.random.default_rng([seed, 7, step])
    return int(rng.integers(-((stride - 1) // 2), stride // 2 + 1))


def student_phase(model: nn.Module, seed: int, step: int) -> int:
    """The sampling phase a student reads at a training step (central students: always phase 0)."""
    cfg = model.config
    return step_phase(seed, step, cfg.stride) if cfg.sampling == "strided" else 0


def load_teacher(path: str | Path, device: torch.device) -> tuple[nn.Module, dict[str, Any]]:
    """Load a frozen teacher checkpoint (eval mode, no gradients).

    Raises:
        CheckpointError: for a bad file; InputError when it is not a teacher.
    """
    from scjd_core.models import load_checkpoint

    teacher, meta = load_checkpoint(path, device=device)
    if meta["kind"] != "teacher":
        raise InputError(f"--teacher {path} is a {meta['kind']} checkpoint: pass a teacher checkpoint")
    teacher.requires_grad_(False)
    return teacher.eval(), meta


def _student_member(spec: StudentSpec, teacher: nn.Module, device: torch.device, seed: int) -> Member:
    from scjd_core.models import create_model, model_kind
    from scjd_core.models.grow import load_from_teacher

    torch.manual_seed(seed)  # every student starts from the same initialisation
    net = create_model(spec.model, **{**spec.overrides, "sampling": spec.sampling})
    if model_kind(net) != "student":
        raise InputError(f"--model {spec.model} is not a student: choose student-s, student-m or student-tiny")
    if net.config.window != teacher.config.window:
        raise InputError(
            f"student window T={net.config.window} differs from the teacher's T={teacher.config.window}: "
            "train both with the same window"
        )
    started = load_init_weights(net, spec.init, "student", spec.model) if spec.init is not None else {"init": None}
    if spec.from_teacher:
        try:
            blocks = load_from_teacher(net, teacher, spec.teacher_blocks)
        except ValueError as exc:
            hint = "choose a student of the teacher's dim, heads and window"
            raise InputError(f"--from-teacher: {exc} ({hint})") from None
        started["from_teacher_blocks"] = list(blocks)
    loss = DistillLoss(spec.distill, student_dim=net.config.dim, teacher_dim=teacher.config.dim).to(device)
    if spec.init is not None and spec.init_state is not None and carry_distill_state(loss, spec.init_state, spec.name):
        started["init_distill_state"] = portable_path(spec.init_state)
    keep_attention = spec.distill.lambda_ajad > 0

    def loss_fn(model: nn.Module, batch: dict[str, Tensor], shared: dict) -> dict[str, Tensor]:
        phase = student_phase(model, seed, shared["step"])
        out = model.forward_dense(batch["inputs"], phase=phase, return_attention=keep_attention)
        return loss(out, shared.get("teacher"), batch["target"], out.indices)

    meta = {
        "command": "student",
        "model": spec.model,
        "model_overrides": dict(spec.overrides),
        "sampling": spec.sampling,
        "distill": spec.distill.to_dict(),
        "variant": spec.name,
        **started,
    }
    return Member(spec.name, net, loss_fn, predict_dense, Path(spec.out), extra=loss, meta=meta)


def carry_distill_state(loss: nn.Module, state_file: Path, name: str) -> bool:
    """Load member ``name``'s distillation modules from a run's ``state.pt`` into ``loss``.

    Returns:
        True when they were loaded; False when the file, the member or matching tensors are
        missing (a run of other options): the modules then start fresh.
    """
    if not Path(state_file).is_file():
        return False
    extra = load_train_state(state_file).get("members", {}).get(name, {}).get("extra")
    own = loss.state_dict()
    if not extra or set(extra) != set(own) or any(extra[k].shape != own[k].shape for k in own):
        return False
    loss.load_state_dict(extra)
    return True


def train_students(opts: RunOptions, cfg: LoopConfig, teacher_path: str | Path, specs: list[StudentSpec]) -> LoopResult:
    """Distil one or several students from a frozen teacher, in lockstep on the same batches.

    Args:
        opts: data, run folder, device, resume (``opts.out`` is unused: each spec has its ``out``).
        cfg: steps, batch size, learning rate, ... (shared by all students).
        teacher_path: the frozen teacher's checkpoint.
        specs: the students (distinct names).

    Returns:
        The loop's summary (best validation MPJPE per student, wall-clock time).
    """
    from scjd_core.models import read_checkpoint_meta

    device, mocap = resolve(opts)
    teacher, _ = load_teacher(teacher_path, device)
    seed_everything(cfg.seed)
    members = [_student_member(spec, teacher, device, cfg.seed) for spec in specs]
    need_teacher = any(s.distill.distills for s in specs)
    need_maps = any(s.distill.lambda_ajad > 0 for s in specs)

    def shared_fn(batch: dict[str, Tensor], step: int) -> dict[str, Any]:
        shared: dict[str, Any] = {"step": step}
        if need_teacher:
            with torch.no_grad(), cfg.autocast_inference(device):
                # no test-time flip: the targets are the teacher's direct pass, at half the cost
                out = teacher.forward_dense(batch["inputs"], return_attention=need_maps, flip=False)
            # the targets in fp32, whatever the forward ran in
            shared["teacher"] = dataclasses.replace(
                out,
                pose=out.pose.float(),
                attention=[a.float() for a in out.attention],
                embedding=out.embedding.float(),
            )
        return shared

    recipe = {
        "teacher": str(teacher_path),
        "teacher_sha256": read_checkpoint_meta(teacher_path)["sha256"],
        "teacher_config": teacher.config.to_dict(),
        "trained_in_lockstep_with": [s.name for s in specs],
        "phase": "strided: uniform per step over the stride's shifts; central: 0",
    }
    return run_loop(members, opts, cfg, device, mocap, teacher.config.window, shared_fn, recipe)
