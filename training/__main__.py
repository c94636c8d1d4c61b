"""Command line: ``python -m training teacher|student|evaluate|recipe ...``.

Examples::

    python -m training teacher --out assets/models/teacher --steps 2000 --batch-size 32
    python -m training student --teacher assets/models/teacher --out assets/models/student \\
        --lambda-djed 1 --lambda-ajad 1 --lambda-tcd 1 --sampling strided --steps 2000
    python -m training evaluate --teacher assets/models/teacher \\
        --students scjd=assets/models/student nodistill=runs/nd --json results.json
    python -m training recipe --out assets/models --steps-teacher 1500 --steps-student 1500
    python -m training sequences --out tests/data/eval/hdm05_dg_v1.npz --split test --noise v1
    python -m training mlp --out runs/recipe/mlp --minutes 10
    python -m training card --results runs/results.json --card-recipe runs/cpu_recipe/runs/results.json
    python -m training evaluate --teacher assets/models/teacher --students scjd=assets/models/student \\
        --sequences tests/data/eval/hdm05_dg_v1.npz --mlp runs/recipe/mlp

User mistakes (missing data, bad checkpoints, unwritable folders) print one line and
exit with a non-zero status.

``teacher``, ``student`` and ``recipe`` also run data-parallel under ``torchrun`` (one
process per GPU, ``--batch-size`` being the global batch; see :mod:`training.distributed`)::

    torchrun --nproc_per_node 8 -m training recipe --device cuda --teacher-batch-size 256
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from scjd_core.errors import ScjdError
from training import distributed
from training.common import DEFAULT_CACHE, LIMB_SCALE_STD
from training.loop import LoopConfig
from training.losses import DistillConfig


def _key_values(items: list[str] | None, flag: str) -> dict[str, Any]:
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


def _loop_config(a: argparse.Namespace, prefix: str = "") -> LoopConfig:
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


def _limb_scale_std(text: str) -> float:
    """``--limb-scale-std``: a float in [0, 0.15] (beyond that, limbs would be scaled past ±45 %)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 0.15:
        raise argparse.ArgumentTypeError(f"must be in [0, 0.15] (0.1 = a bone's length varies by 10 %), got {value}")
    return value


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
        help="std of the per-bone length factor of training windows (body-proportion augmentation)",
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


def _distill_config(a: argparse.Namespace) -> DistillConfig:
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
    s.add_argument("--model", default="student-s", help="registered student (student-s, student-tiny)")
    s.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="config override, repeatable")
    s.add_argument("--sampling", choices=("strided", "central"), default="strided")
    s.add_argument("--resume", nargs="?", const="auto", help="continue from a state.pt (default: the run dir's)")
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


def _checked(build: Any, what: str) -> Any:
    """Call ``build()``; a ValueError/KeyError/TypeError from a config becomes a one-line ScjdError."""
    try:
        return build()
    except (ValueError, KeyError, TypeError) as exc:
        raise ScjdError(f"bad {what}: {exc.args[0] if exc.args else exc}") from None


def _model_checked(name: str, overrides: dict[str, Any], flag: str) -> None:
    from scjd_core.models import model_config

    _checked(lambda: model_config(name, **overrides), f"{flag} / model options")


def _run_train(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    """``teacher`` and ``student``."""
    from training.train_student import StudentSpec, train_students
    from training.train_teacher import RunOptions, train_teacher

    run_dir = a.run_dir or Path("runs") / a.out.name
    opts = RunOptions(
        out=a.out, run_dir=run_dir, data=a.data, cache=cache, device=a.device, resume=a.resume,
        val_windows=a.val_windows, progress=progress, command=command, limb_scale_std=a.limb_scale_std,
    )  # fmt: skip
    overrides = _key_values(a.model_arg, "--model-arg")
    _model_checked(a.model, overrides, "--model")
    loop = _checked(lambda: _loop_config(a), "training options")
    distributed.shard_bounds(loop.batch_size)  # under torchrun: fail before loading data
    if a.command == "teacher":
        res = train_teacher(opts, loop, a.model, overrides, init=a.init)
    else:
        distill = _checked(lambda: _distill_config(a), "distillation options")
        spec = StudentSpec(a.name, a.out, distill, a.model, a.sampling, overrides)
        res = train_students(opts, loop, a.teacher, [spec])
    for name, best in res.best.items():
        print(
            f"{name}: best val MPJPE {best:.1f} mm at step {res.best_step[name]}; "
            f"{res.wall_clock_s / 60:.1f} min; checkpoint {a.out}"
        )


def _run_curves(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.curves import plot_curves

    print(f"wrote {plot_curves(a.runs, a.out, a.title)}")


def _run_card(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.model_card import write_model_card

    results = _results_json(a.results, "--results")
    extra = _results_json(a.card_extra, "--card-extra")
    recipe_run = _results_json(a.card_recipe, "--card-recipe", need_recipe=True)
    print(f"wrote {write_model_card(results, a.out, extra=extra, recipe_run=recipe_run)}")


def _run_pack_mocap(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.common import load_mocap_data, write_mocap_pack

    mocap = load_mocap_data(a.data, cache, progress)
    path = write_mocap_pack(mocap, a.out)
    size = path.stat().st_size / 2**20
    print(f"wrote {path} ({size:.1f} MiB): " + ", ".join(f"{k} {len(v)} clips" for k, v in mocap.splits.items()))


def _run_mlp(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.reference import MLPTrainOptions, train_mlp

    tr = train_mlp(
        MLPTrainOptions(
            out=a.out, minutes=a.minutes, max_steps=a.steps, window=a.window, batch_windows=a.batch_windows,
            frames_per_window=a.frames_per_window, lr=a.lr, seed=a.seed, noise=a.noise, val_windows=a.val_windows,
            data=a.data, cache=cache, device=a.device, progress=progress, command=command,
        )
    )  # fmt: skip
    print(f"mlp: {tr['steps_done']} steps in {tr['wall_clock_s'] / 60:.1f} min; checkpoint {a.out}")


def _run_sequences(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.sequences import generate

    seqs = generate(a.out, a.data, a.split, a.sequences, a.frames, a.seed, a.noise, cache, progress, command)
    d = seqs.describe()
    print(
        f"wrote {a.out} ({a.out.stat().st_size / 1e6:.1f} MB): {d['sequences']} sequences x {d['frames']} frames "
        f"= {d['total_frames']} frames of '{a.split}' (subjects {', '.join(d['subjects'])}), noise {a.noise}, "
        f"{d['padded_fraction']:.0%} padding; sha256 {d['sha256']}"
    )


def _student_paths(items: list[str]) -> list[tuple[str, Path]]:
    """``--students NAME=PATH ...`` as ``(name, path)`` pairs."""
    students = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ScjdError(f"--students expects NAME=PATH, got {item!r}")
        students.append((name, Path(path)))
    return students


def _results_json(path: Path | None, flag: str, need_recipe: bool = False) -> dict[str, Any] | None:
    """Read a results JSON given to ``flag`` before the evaluation runs, so a bad file fails fast."""
    from training.model_card import read_results

    return None if path is None else read_results(path, flag, recipe=need_recipe)


def _run_evaluate(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.evaluate import EvalOptions, evaluate, summary, write_results
    from training.model_card import write_model_card

    extra = _results_json(a.card_extra, "--card-extra")
    recipe_run = _results_json(a.card_recipe, "--card-recipe", need_recipe=True)

    students = _student_paths(a.students)
    results = evaluate(
        EvalOptions(
            teacher=a.teacher, students=students, data=a.data, split=a.split, windows=a.windows,
            batch_size=a.batch_size, seed=a.seed, device=a.device, latency_repeats=a.latency_repeats,
            cache=cache, command=command, sequences=a.sequences, mlp=a.mlp, mean_pose=not a.no_mean_pose,
        )
    )  # fmt: skip
    print(summary(results))
    if a.json:
        write_results(results, a.json)
    if a.model_card:
        write_model_card(results, a.model_card, extra=extra, recipe_run=recipe_run)
    if a.stamp:
        _stamp(results)


def _stamp(results: dict) -> None:
    """Record the held-out figures of an evaluation on a sequence file in the checkpoints."""
    from scjd_core.models.checkpoint import record_metrics

    seqs = results["meta"].get("sequences")
    if not seqs:
        raise SystemExit("--stamp needs --sequences FILE: only a fixed file's figures are worth recording")
    test_set = f"{Path(seqs['file']).name} (sha256 {seqs['sha256'][:12]}): {seqs['sequences']} sequences of "
    test_set += (
        f"{seqs['frames']} frames of {', '.join(seqs.get('subjects', []))}, held out, {seqs.get('noise')} 2D noise"
    )
    for row in results["rows"]:
        record_metrics(
            row["checkpoint"],
            {
                "test_mpjpe_mm": round(row["mpjpe_mm"], 2),
                "test_p_mpjpe_mm": round(row["p_mpjpe_mm"], 2),
                "test_set": test_set,
            },
        )
        print(f"recorded {row['mpjpe_mm']:.1f} mm in {row['checkpoint']}.json")


def _run_recipe(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.recipe import RecipeOptions, run_recipe

    t_over = _key_values(a.teacher_arg, "--teacher-arg")
    s_over = _key_values(a.student_arg, "--student-arg")
    _model_checked(a.teacher_model, t_over, "--teacher-model")
    _model_checked(a.student_model, s_over, "--student-model")
    distributed.shard_bounds(a.teacher_batch_size, flag="--teacher-batch-size")
    distributed.shard_bounds(a.student_batch_size, flag="--student-batch-size")
    run_recipe(
        RecipeOptions(
            out=a.out, runs=a.runs, teacher_loop=_checked(lambda: _loop_config(a, "teacher-"), "teacher options"),
            student_loop=_checked(lambda: _loop_config(a, "student-"), "student options"),
            teacher_model=a.teacher_model, teacher_overrides=t_over, student_model=a.student_model,
            student_overrides=s_over, distill=_checked(lambda: _distill_config(a), "distillation options"),
            data=a.data, cache=cache, device=a.device, val_windows=a.val_windows,
            eval_windows=a.eval_windows, eval_seed=a.eval_seed, latency_repeats=a.latency_repeats,
            model_card=a.model_card, results=a.results, resume=a.resume, progress=progress,
            evaluate=not a.no_eval and distributed.is_main(),  # under torchrun: the ranks train, rank 0 evaluates
            teacher_init=a.teacher_init, student_init=a.student_init, limb_scale_std=a.limb_scale_std,
            command=command, mlp_minutes=a.mlp_minutes if distributed.is_main() else 0.0,
            **({} if a.sequences is None else {"sequences": None if a.sequences == "none" else Path(a.sequences)}),
        )
    )  # fmt: skip


#: Subcommand -> its handler ``(args, command line, cache, progress)``; any other command is the recipe.
_HANDLERS = {
    "teacher": _run_train,
    "student": _run_train,
    "curves": _run_curves,
    "card": _run_card,
    "pack-mocap": _run_pack_mocap,
    "mlp": _run_mlp,
    "sequences": _run_sequences,
    "evaluate": _run_evaluate,
}


def _run(a: argparse.Namespace, argv: list[str]) -> None:
    command = ["python", "-m", "training", *argv]
    cache = None if getattr(a, "no_cache", False) else getattr(a, "cache", None)
    progress = not getattr(a, "quiet", False) and distributed.is_main()  # under torchrun: rank 0's bars only
    _HANDLERS.get(a.command, _run_recipe)(a, command, cache, progress)


#: Commands that train data-parallel under ``torchrun`` (see :mod:`training.distributed`).
_DATA_PARALLEL = ("teacher", "student", "recipe")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 0) > 0:
        import torch

        torch.set_num_threads(args.threads)
    created = False
    try:
        if args.command in _DATA_PARALLEL:
            created = distributed.init(args.device)  # under torchrun: join the process group
        elif distributed.env_world_size() > 1:
            raise ScjdError(f"`{args.command}` runs as one process: start it with python, not torchrun")
        with contextlib.ExitStack() as stack:
            if not distributed.is_main():  # under torchrun only rank 0 prints its report
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            _run(args, argv)
    except ScjdError as exc:
        if distributed.is_main() or distributed.local_rank() == 0:  # one line per machine
            who = "" if distributed.is_main() else f" (rank {distributed.rank()})"
            print(f"error{who}: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        if created:
            distributed.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
