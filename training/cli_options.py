"""The ``python -m training`` command line's options: the parser and the configs read from it.

:func:`build_parser` builds every subcommand's options; :func:`loop_config` and
:func:`distill_config` turn parsed options into a :class:`~training.loop.LoopConfig` and a
:class:`~training.losses.DistillConfig`. The commands themselves are in ``training/__main__.py``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scjd_core.errors import ScjdError
from training.common import LIMB_SCALE_STD
from training.data.mocap_dataset import MAX_LIMB_SCALE_STD, MAX_SPEED_JITTER
from training.loop import LoopConfig
from training.losses import DistillConfig
from training.mocap_data import DEFAULT_CACHE


def key_values(items: list[str] | None, flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` items (``--model-arg``) -> a dict, each value read as JSON when it parses, else a string."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ScjdError(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def name_paths(items: list[str] | None, flag: str) -> list[tuple[str, Path]]:
    """``NAME=PATH`` items (``--students``, the check scripts' ``--models``) as ``(name, path)`` pairs."""
    pairs = []
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ScjdError(f"{flag} expects NAME=PATH, got {item!r}")
        pairs.append((name, Path(path)))
    return pairs


def add_lifters_on_file(p: argparse.ArgumentParser, json_help: str = "write the figures here") -> None:
    """The check scripts' inputs and output: ``--sequences`` (default: the shipped held-out file),
    ``--models NAME=PATH ...`` (default: the shipped teacher and student; see :func:`load_lifters`)
    and ``--json F`` (see :func:`write_check_json`)."""
    from training.sequences import DEFAULT_FILE

    p.add_argument("--sequences", default=str(DEFAULT_FILE), help="fixed sequence file to lift")
    p.add_argument(
        "--models",
        nargs="+",
        default=["teacher=assets/models/teacher", "student=assets/models/student"],
        help="NAME=PATH items, each a checkpoint",
    )
    p.add_argument("--json", type=Path, help=json_help)


def write_check_json(args: argparse.Namespace, models: dict[str, Any], **extra: Any) -> None:
    """With ``--json F``: write ``{"sequences": ..., **extra, "models": models}`` to ``F``, indented."""
    if args.json:
        text = json.dumps({"sequences": args.sequences, **extra, "models": models}, indent=2)
        args.json.write_text(text + "\n", encoding="utf-8")


def load_lifters(items: list[str] | None, flag: str = "--models") -> list[tuple[str, Any]]:
    """``NAME=PATH`` checkpoint items loaded as ``(name, model)`` pairs (eval mode, CPU).

    Raises:
        ScjdError: for a malformed item or a checkpoint that does not load.
    """
    from scjd_core.models import load_checkpoint

    return [(name, load_checkpoint(path)[0]) for name, path in name_paths(items, flag)]


def load_lifters_on_file(args: argparse.Namespace) -> tuple[Any, list[tuple[str, Any]]]:
    """The sequence file and the lifters named by :func:`add_lifters_on_file`'s options.

    Returns:
        ``(EvalSequences, [(name, model), ...])``.

    Raises:
        ScjdError: for a bad sequence file, a malformed item or a checkpoint that does not load.
    """
    from training.sequences import load_sequences

    return load_sequences(args.sequences), load_lifters(args.models)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="mocap folder (default: $SCJD_MOCAP or ../shared/data/mocap)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="parsed-mocap cache folder")
    p.add_argument("--no-cache", action="store_true", help="do not cache parsed mocap")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_loop(p: argparse.ArgumentParser, prefix: str = "", steps: int = 1000) -> None:
    d = LoopConfig()
    who = prefix.rstrip("-")
    alias = (lambda flag: [f"--{flag}-{who}"]) if who else (lambda flag: [])  # --steps-teacher = --teacher-steps
    p.add_argument(f"--{prefix}steps", *alias("steps"), type=int, default=steps, help="optimisation steps")
    p.add_argument(
        f"--{prefix}batch-size", *alias("batch-size"), type=int, default=d.batch_size, help="windows per step"
    )
    p.add_argument(f"--{prefix}lr", type=float, default=d.lr, help="peak learning rate")
    p.add_argument(f"--{prefix}warmup", type=int, default=d.warmup, help="warm-up steps")
    p.add_argument(f"--{prefix}weight-decay", type=float, default=d.weight_decay)
    p.add_argument(f"--{prefix}grad-clip", type=float, default=d.grad_clip, help="max gradient norm, 0 = off")
    p.add_argument(
        f"--{prefix}minutes",
        *alias("minutes"),
        type=float,
        default=d.minutes,
        help="wall-clock budget: the run measures its speed and sets its step count to fit (0 = use the steps)",
    )
    p.add_argument(f"--{prefix}ema", type=float, default=d.ema, help="EMA decay of the weights (0 = off)")
    p.add_argument(
        f"--{prefix}amp", choices=("auto", "bf16", "off"), default=d.amp, help="bf16 autocast (auto: on CUDA only)"
    )


def loop_config(a: argparse.Namespace, prefix: str = "") -> LoopConfig:
    """The training loop's settings from parsed options (``prefix``: ``teacher-`` / ``student-`` in the recipe)."""
    g = lambda name: getattr(a, prefix.replace("-", "_") + name)  # noqa: E731
    return LoopConfig(
        steps=g("steps"),
        batch_size=g("batch_size"),
        lr=g("lr"),
        warmup=g("warmup"),
        weight_decay=g("weight_decay"),
        grad_clip=g("grad_clip"),
        minutes=g("minutes"),
        ema=g("ema"),
        amp=g("amp"),
        val_every=a.val_every,
        log_every=a.log_every,
        seed=a.seed,
        workers=a.workers,
    )


def _fraction_upto(high: float, example: str) -> Callable[[str], float]:
    """An argparse type: a float in ``[0, high]``; ``example`` explains a value in the error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not 0.0 <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [0, {high}] ({example}), got {value}")
        return value

    return parse


#: ``--limb-scale-std``: beyond MAX_LIMB_SCALE_STD limbs would be scaled past ±45 %.
_limb_scale_std = _fraction_upto(MAX_LIMB_SCALE_STD, "0.1 = a bone's length varies by 10 %")
_speed_jitter = _fraction_upto(MAX_SPEED_JITTER, "0.25 = speeds from 0.8x to 1.25x")


def teacher_blocks_arg(text: str) -> tuple[int, ...] | str:
    """An argparse type for ``--from-teacher``: ``"auto"`` (kept as the string) or block indices ``"0,3"``."""
    from scjd_core.models.grow import parse_teacher_blocks

    try:
        blocks = parse_teacher_blocks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return "auto" if blocks is None else blocks


def from_teacher_option(value: tuple[int, ...] | str | None) -> tuple[bool, tuple[int, ...] | None]:
    """``--from-teacher``'s value -> ``(start from the teacher, its block pairs or None for the default)``."""
    if value is None:
        return False, None
    return True, (None if value == "auto" else tuple(value))


def _add_from_teacher(p: argparse.ArgumentParser, flag: str, who: str) -> None:
    p.add_argument(
        flag,
        nargs="?",
        const="auto",
        type=teacher_blocks_arg,
        metavar="BLOCKS",
        help=f"start {who} from the teacher's weights: its embeddings, head and these block pairs ('0,3'; "
        "default auto = the first, the last and evenly spaced ones between); the student needs the teacher's "
        "dim, heads and window (e.g. --model student-m)",
    )


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=200, help="validate and save state every N steps")
    p.add_argument("--val-windows", type=int, default=256, help="fixed validation windows")
    p.add_argument("--log-every", type=int, default=25, help="log the losses every N steps")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument(
        "--limb-scale-std",
        type=_limb_scale_std,
        default=LIMB_SCALE_STD,
        help="std of the per-bone length factor of training and validation windows (body proportions)",
    )
    p.add_argument(
        "--speed-jitter",
        type=_speed_jitter,
        default=0.0,
        help="playback-speed augmentation of the training windows: speeds log-uniform in "
        "[1/(1+J), 1+J] from a random sub-frame start (0 = off; e.g. 0.25)",
    )


def _add_distill(p: argparse.ArgumentParser) -> None:
    d = DistillConfig()
    p.add_argument("--lambda-djed", type=float, default=d.lambda_djed, help="DJED weight (0 = off)")
    p.add_argument("--lambda-ajad", type=float, default=d.lambda_ajad, help="AJAD weight (0 = off)")
    p.add_argument("--lambda-tcd", type=float, default=d.lambda_tcd, help="TCD weight (0 = off)")
    p.add_argument("--djed-temperature", type=float, default=d.djed_temperature, help="metres")
    p.add_argument("--ajad-mode", choices=("kl", "mse"), default=d.ajad_mode)
    p.add_argument("--ajad-hops", type=int, default=d.ajad_hops)
    p.add_argument("--ajad-off-weight", type=float, default=d.ajad_off_weight, help="0 = adjacent pairs only")
    p.add_argument("--tcd-velocity-weight", type=float, default=d.tcd_velocity_weight)
    p.add_argument(
        "--no-balance", action="store_true", help="use the raw λ (default: each term rescaled to λ × |L_pose|)"
    )


def distill_config(a: argparse.Namespace) -> DistillConfig:
    """The distillation losses' settings from parsed options."""
    return DistillConfig(
        lambda_djed=a.lambda_djed,
        lambda_ajad=a.lambda_ajad,
        lambda_tcd=a.lambda_tcd,
        djed_temperature=a.djed_temperature,
        ajad_mode=a.ajad_mode,
        ajad_hops=a.ajad_hops,
        ajad_off_weight=a.ajad_off_weight,
        tcd_velocity_weight=a.tcd_velocity_weight,
        balance=not a.no_balance,
    )


def _add_teacher_parser(sub: Any) -> None:
    t = sub.add_parser("teacher", help="train the dense teacher")
    t.add_argument("--out", type=Path, default=Path("assets/models/teacher"), help="checkpoint path")
    t.add_argument("--run-dir", type=Path, help="logs and training state (default runs/<out name>)")
    t.add_argument("--model", default="teacher-s", help="registered teacher (teacher-s, teacher-tiny)")
    t.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="config override, repeatable")
    t.add_argument("--resume", nargs="?", const="auto", help="continue from a state.pt (default: the run dir's)")
    t.add_argument("--init", type=Path, help="start from this teacher checkpoint (same model and options)")
    for add in (_add_common, _add_run, _add_loop):
        add(t)


def _add_student_parser(sub: Any) -> None:
    s = sub.add_parser("student", help="distil a student from a frozen teacher")
    s.add_argument("--teacher", type=Path, required=True, help="frozen teacher checkpoint")
    s.add_argument("--out", type=Path, default=Path("assets/models/student"), help="checkpoint path")
    s.add_argument("--name", default="scjd", help="name of the student in logs")
    s.add_argument("--run-dir", type=Path, help="logs and training state (default runs/<out name>)")
    s.add_argument("--model", default="student-s", help="registered student (student-s, student-m, student-tiny)")
    s.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="config override, repeatable")
    s.add_argument("--sampling", choices=("strided", "central"), default="strided")
    s.add_argument("--resume", nargs="?", const="auto", help="continue from a state.pt (default: the run dir's)")
    _add_from_teacher(s, "--from-teacher", "the student")
    for add in (_add_common, _add_run, _add_loop, _add_distill):
        add(s)


def _add_evaluate_parser(sub: Any) -> None:
    e = sub.add_parser("evaluate", help="evaluate a teacher and students on held-out data")
    e.add_argument("--teacher", type=Path, required=True)
    e.add_argument("--students", nargs="*", default=[], metavar="NAME=PATH", help="student checkpoints")
    e.add_argument("--split", choices=("auto", "test", "val", "train", "all"), default="auto")
    e.add_argument("--windows", type=int, default=256, help="evaluation windows")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--seed", type=int, default=2025)
    e.add_argument("--latency-repeats", type=int, default=30)
    e.add_argument("--json", type=Path, help="write all results here")
    e.add_argument("--model-card", type=Path, help="write a model card (e.g. assets/MODEL_CARD.md)")
    e.add_argument(
        "--card-extra", type=Path, help="results JSON of the same models on other inputs, added to the model card"
    )
    e.add_argument(
        "--card-recipe",
        type=Path,
        help="results JSON of a whole recipe run (scripts/train_cpu.sh), added to the model card with its wall time",
    )
    e.add_argument("--sequences", type=Path, help="score on this fixed sequence file instead of random windows")
    e.add_argument("--mlp", type=Path, help="frame-wise MLP checkpoint (python -m training mlp) for a reference row")
    e.add_argument("--no-mean-pose", action="store_true", help="leave out the mean-pose reference row")
    e.add_argument(
        "--stamp",
        action="store_true",
        help="with --sequences: record each model's MPJPE on the file in its checkpoint JSON "
        "(metrics.test_mpjpe_mm, shown by `scjd info`)",
    )
    _add_common(e)


def _add_curves_parser(sub: Any) -> None:
    c = sub.add_parser("curves", help="learning curves (validation MPJPE vs step and minutes) as a PNG")
    c.add_argument("--runs", type=Path, default=Path("runs/recipe"), help="a recipe's run folder")
    c.add_argument("--out", type=Path, default=Path("docs/learning_curves.png"))
    c.add_argument("--title", default="")


def _add_card_parser(sub: Any) -> None:
    c = sub.add_parser("card", help="write the model card from results JSONs, without evaluating again")
    c.add_argument("--results", type=Path, required=True, help="results JSON (evaluate --json, or a recipe's)")
    c.add_argument("--out", type=Path, default=Path("assets/MODEL_CARD.md"), help="model card to write")
    c.add_argument("--card-extra", type=Path, help="results JSON of the same models on other inputs")
    c.add_argument("--card-recipe", type=Path, help="results JSON of a whole recipe run (scripts/train_cpu.sh)")


def _add_pack_mocap_parser(sub: Any) -> None:
    k = sub.add_parser("pack-mocap", help="write the parsed, split mocap to one .npz (--data FILE.npz reads it)")
    k.add_argument("--out", type=Path, default=Path("runs/mocap-pack.npz"), help="pack file")
    _add_common(k)


def _add_mlp_parser(sub: Any) -> None:
    m = sub.add_parser("mlp", help="train the frame-wise MLP reference for a wall-clock budget")
    m.add_argument("--out", type=Path, default=Path("runs/recipe/mlp"), help="checkpoint path (.safetensors + .json)")
    m.add_argument("--minutes", type=float, default=10.0, help="wall-clock training budget")
    m.add_argument("--steps", type=int, default=0, help="stop after this many steps (0 = only the budget)")
    m.add_argument("--window", type=int, default=81, help="frames of the training windows (the teacher's T)")
    m.add_argument("--batch-windows", type=int, default=32, help="training windows per step")
    m.add_argument("--frames-per-window", type=int, default=32, help="frames drawn from each window per step")
    m.add_argument("--lr", type=float, default=1e-3)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--noise", choices=("training", "v1", "default"), default="training", help="training: the teacher's")
    m.add_argument("--val-windows", type=int, default=64, help="fixed validation windows (best weights kept)")
    _add_common(m)


def _add_sequences_parser(sub: Any) -> None:
    q = sub.add_parser("sequences", help="write a fixed evaluation sequence file (2D pixels + 3D)")
    q.add_argument("--out", type=Path, required=True, help="sequence file (.npz) to write")
    q.add_argument("--split", choices=("test", "val", "train", "all"), default="test")
    q.add_argument("--sequences", type=int, default=256, help="number of sequences N")
    q.add_argument("--frames", type=int, default=81, help="frames per sequence F")
    q.add_argument("--seed", type=int, default=2025)
    q.add_argument("--noise", choices=("v1", "default"), default="v1", help="detector noise preset")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _add_common(q)


def _add_recipe_parser(sub: Any) -> None:
    r = sub.add_parser("recipe", help="teacher + six student variants + evaluation + model card")
    r.add_argument("--out", type=Path, default=Path("assets/models"), help="folder of the shipped checkpoints")
    r.add_argument("--runs", type=Path, default=Path("runs/recipe"), help="logs, states, ablations, results")
    r.add_argument("--teacher-model", default="teacher-s")
    r.add_argument("--teacher-arg", action="append", metavar="KEY=VALUE", help="teacher config override")
    r.add_argument("--student-model", default="student-s")
    r.add_argument("--student-arg", action="append", metavar="KEY=VALUE", help="student config override")
    r.add_argument("--eval-windows", type=int, default=256)
    r.add_argument("--eval-seed", type=int, default=2025)
    r.add_argument("--latency-repeats", type=int, default=30)
    r.add_argument("--model-card", type=Path, default=Path("assets/MODEL_CARD.md"))
    r.add_argument("--results", type=Path, help="results JSON (default RUNS/results.json)")
    r.add_argument("--resume", action="store_true", help="skip finished stages, continue interrupted ones")
    r.add_argument("--sequences", help="evaluation sequence file or 'none' (default: the shipped one)")
    r.add_argument("--mlp-minutes", type=float, default=0.0, help="train the frame-wise MLP reference (0 = skip)")
    r.add_argument("--no-eval", action="store_true", help="train only (evaluate later, e.g. on another machine)")
    r.add_argument(
        "--teacher-init",
        type=Path,
        help="continue this teacher checkpoint (same --teacher-model and options) instead of training from scratch",
    )
    r.add_argument(
        "--student-init",
        type=Path,
        help="continue the six students of a finished recipe (its OUT: models/student, runs/students/NAME)",
    )
    _add_from_teacher(r, "--student-from-teacher", "all six students")
    for add in (_add_common, _add_run, _add_distill):
        add(r)
    _add_loop(r, "teacher-")
    _add_loop(r, "student-")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m training`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m training", description="Train and evaluate SCJD lifters.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_teacher_parser,
        _add_student_parser,
        _add_evaluate_parser,
        _add_curves_parser,
        _add_card_parser,
        _add_pack_mocap_parser,
        _add_mlp_parser,
        _add_sequences_parser,
        _add_recipe_parser,
    ):
        add(sub)
    return parser
