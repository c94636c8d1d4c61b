"""Command line: ``python -m training teacher|student|evaluate|recipe ...``.

Examples::

    python -m training teacher --out assets/models/teacher --steps 2000 --batch-size 32
    python -m training student --teacher assets/models/teacher --out assets/models/student \\
        --lambda-djed 1 --lambda-ajad 1 --lambda-tcd 1 --sampling strided --steps 2000
    python -m training evaluate --teacher assets/models/teacher \\
        --students scjd=assets/models/student nodistill=runs/nd --json results.json
    python -m training recipe --out assets/models --steps-teacher 1500 --steps-student 1500
    python -m training sequences --out tests/data/eval/hdm05_dg_v1.npz --split test --noise v1 --overwrite
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
import os
import sys
from pathlib import Path
from typing import Any

from scjd_core.errors import ScjdError
from training import distributed
from training.cli_options import (
    build_parser,
    distill_config,
    from_teacher_option,
    key_values,
    loop_config,
    name_paths,
)


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
        speed_jitter=a.speed_jitter,
    )  # fmt: skip
    overrides = key_values(a.model_arg, "--model-arg")
    _model_checked(a.model, overrides, "--model")
    loop = _checked(lambda: loop_config(a), "training options")
    distributed.shard_bounds(loop.batch_size)  # under torchrun: fail before loading data
    if a.command == "teacher":
        res = train_teacher(opts, loop, a.model, overrides, init=a.init)
    else:
        distill = _checked(lambda: distill_config(a), "distillation options")
        from_teacher, blocks = from_teacher_option(a.from_teacher)
        spec = StudentSpec(
            a.name, a.out, distill, a.model, a.sampling, overrides, from_teacher=from_teacher, teacher_blocks=blocks
        )
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
    from training.mocap_data import load_mocap_data, write_mocap_pack

    mocap = load_mocap_data(a.data, cache, progress)
    path = write_mocap_pack(mocap, a.out)
    size = path.stat().st_size / 2**20
    print(f"wrote {path} ({size:.1f} MiB): " + ", ".join(f"{k} {len(v)} clips" for k, v in mocap.splits.items()))


def _run_mlp(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.mlp_training import MLPTrainOptions, train_mlp

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

    recorded = [arg for arg in command if arg != "--overwrite"]  # not the file's content: same bytes either way
    seqs = generate(
        a.out, a.data, a.split, a.sequences, a.frames, a.seed, a.noise, cache, progress, recorded, a.overwrite
    )
    d = seqs.describe()
    print(
        f"wrote {a.out} ({a.out.stat().st_size / 1e6:.1f} MB): {d['sequences']} sequences x {d['frames']} frames "
        f"= {d['total_frames']} frames of '{a.split}' (subjects {', '.join(d['subjects'])}), noise {a.noise}, "
        f"{d['padded_fraction']:.0%} padding; sha256 {d['sha256']}"
    )


def _results_json(path: Path | None, flag: str, need_recipe: bool = False) -> dict[str, Any] | None:
    """Read a results JSON given to ``flag`` before the evaluation runs, so a bad file fails fast."""
    from training.model_card import read_results

    return None if path is None else read_results(path, flag, recipe=need_recipe)


def _run_evaluate(a: argparse.Namespace, command: list[str], cache: Path | None, progress: bool) -> None:
    from training.eval_report import summary, write_results
    from training.evaluate import EvalOptions, evaluate
    from training.model_card import write_model_card

    extra = _results_json(a.card_extra, "--card-extra")
    recipe_run = _results_json(a.card_recipe, "--card-recipe", need_recipe=True)

    students = name_paths(a.students, "--students")
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

    t_over = key_values(a.teacher_arg, "--teacher-arg")
    s_over = key_values(a.student_arg, "--student-arg")
    _model_checked(a.teacher_model, t_over, "--teacher-model")
    _model_checked(a.student_model, s_over, "--student-model")
    distributed.shard_bounds(a.teacher_batch_size, flag="--teacher-batch-size")
    distributed.shard_bounds(a.student_batch_size, flag="--student-batch-size")
    from_teacher = from_teacher_option(a.student_from_teacher)
    run_recipe(
        RecipeOptions(
            out=a.out, runs=a.runs, teacher_loop=_checked(lambda: loop_config(a, "teacher-"), "teacher options"),
            student_loop=_checked(lambda: loop_config(a, "student-"), "student options"),
            teacher_model=a.teacher_model, teacher_overrides=t_over, student_model=a.student_model,
            student_overrides=s_over, distill=_checked(lambda: distill_config(a), "distillation options"),
            data=a.data, cache=cache, device=a.device, val_windows=a.val_windows,
            eval_windows=a.eval_windows, eval_seed=a.eval_seed, latency_repeats=a.latency_repeats,
            model_card=a.model_card, results=a.results, resume=a.resume, progress=progress,
            evaluate=not a.no_eval and distributed.is_main(),  # under torchrun: the ranks train, rank 0 evaluates
            teacher_init=a.teacher_init, student_init=a.student_init, limb_scale_std=a.limb_scale_std,
            student_from_teacher=from_teacher[0], student_teacher_blocks=from_teacher[1],
            speed_jitter=a.speed_jitter, command=command, mlp_minutes=a.mlp_minutes if distributed.is_main() else 0.0,
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
