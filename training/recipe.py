"""The full recipe: teacher, the six student variants, evaluation, model card.

Stages (each resumable with ``--resume``: a finished stage is skipped, an interrupted one
continues from its ``state.pt``):

1. teacher -> ``OUT/teacher`` (shipped);
2. six students trained in lockstep from the frozen teacher on the same batches:
   ``scjd`` -> ``OUT/student`` (shipped), and the ablations ``no-distill`` (all λ = 0),
   ``no-djed``, ``no-ajad``, ``no-tcd`` and ``central-k`` -> ``RUNS/students/`` (not shipped);
3. evaluation of all seven on the held-out clips -> ``RUNS/results.json`` and the model card.

Optional stage (``--mlp-minutes M``): the frame-wise MLP reference -> ``RUNS/mlp``. The evaluation
scores on the fixed sequence file ``tests/data/eval/hdm05_dg_v1.npz`` when there is one (``--sequences``),
and adds the reference rows: the training mean pose, and the MLP whenever ``RUNS/mlp`` exists.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.common import LIMB_SCALE_STD
from training.eval_report import summary, write_results
from training.evaluate import EvalOptions, evaluate
from training.loop import LoopConfig
from training.losses import DistillConfig
from training.mocap_data import DEFAULT_CACHE, load_mocap_data
from training.model_card import write_model_card
from training.sequences import default_sequences_file
from training.train_student import StudentSpec, train_students
from training.train_teacher import RunOptions, train_teacher

#: name -> (λ overrides, sampling) of the six student variants.
VARIANTS: dict[str, tuple[dict[str, float], str]] = {
    "scjd": ({}, "strided"),
    "no-distill": ({"lambda_djed": 0.0, "lambda_ajad": 0.0, "lambda_tcd": 0.0}, "strided"),
    "no-djed": ({"lambda_djed": 0.0}, "strided"),
    "no-ajad": ({"lambda_ajad": 0.0}, "strided"),
    "no-tcd": ({"lambda_tcd": 0.0}, "strided"),
    "central-k": ({}, "central"),
}


@dataclass
class RecipeOptions:
    """Everything the recipe needs (the CLI fills it).

    Attributes:
        out: folder of the shipped ``teacher`` and ``student`` checkpoints.
        runs: folder of logs, training states, ablation checkpoints and results.
        teacher_loop: optimisation settings of the teacher.
        student_loop: optimisation settings of the students.
        teacher_model: registered teacher name; teacher_overrides: its config overrides.
        student_model: registered student name; student_overrides: its config overrides.
        distill: the SCJD loss weights (the ablations zero one of them).
        data: mocap folder; cache: parsed-mocap cache.
        device: training device.
        val_windows: validation windows.
        eval_windows: evaluation windows; eval_seed: their seed.
        latency_repeats: timed forwards per model.
        model_card: where to write the card (None = do not write).
        results: results JSON path (None = ``runs/results.json``).
        resume: skip finished stages and continue interrupted ones.
        evaluate: run stage 3 (False: train only and return ``{}``).
        teacher_init: a teacher checkpoint of the same configuration that the teacher stage
            continues (a warm restart of the schedule) instead of starting from scratch.
        student_init: a finished recipe's output root (``OUT`` of ``scripts/train_cuda.sh``: ``models/``,
            ``runs/students/``) whose six students this recipe continues training (fine-tuning).
        student_from_teacher: start the six students from the teacher's weights
            (:func:`scjd_core.models.grow.load_from_teacher`; the students need its width).
        student_teacher_blocks: the teacher's block pairs they copy (None: the default spread).
        progress: progress bars.
        command: the command line (kept in the metadata).
        sequences: evaluation sequence file (default: the shipped one when it exists; None =
            random windows of the held-out clips).
        mlp_minutes: train the frame-wise MLP reference for this many minutes (0 = skip).
        limb_scale_std: per-bone length augmentation of the teacher's and students' training windows.
        speed_jitter: playback-speed augmentation of the teacher's and students' training windows.
    """

    out: Path = Path("assets/models")
    runs: Path = Path("runs/recipe")
    teacher_loop: LoopConfig = field(default_factory=LoopConfig)
    student_loop: LoopConfig = field(default_factory=LoopConfig)
    teacher_model: str = "teacher-s"
    teacher_overrides: dict[str, Any] = field(default_factory=dict)
    student_model: str = "student-s"
    student_overrides: dict[str, Any] = field(default_factory=dict)
    distill: DistillConfig = field(default_factory=DistillConfig)
    data: str | None = None
    cache: Path | None = DEFAULT_CACHE
    device: str = "auto"
    val_windows: int = 256
    eval_windows: int = 256
    eval_seed: int = 2025
    latency_repeats: int = 30
    model_card: Path | None = Path("assets/MODEL_CARD.md")
    results: Path | None = None
    resume: bool = False
    teacher_init: Path | None = None
    student_init: Path | None = None
    student_from_teacher: bool = False
    student_teacher_blocks: tuple[int, ...] | None = None
    evaluate: bool = True
    progress: bool = True
    command: list[str] = field(default_factory=list)
    sequences: Path | None = field(default_factory=default_sequences_file)
    mlp_minutes: float = 0.0
    limb_scale_std: float = LIMB_SCALE_STD
    speed_jitter: float = 0.0


def _finished(path: Path, steps: int | None) -> bool:
    """Whether ``path`` is a checkpoint of a finished run of ``steps`` steps (None: of a time budget)."""
    from scjd_core.errors import CheckpointError
    from scjd_core.models import checkpoint_paths, read_checkpoint_meta

    if not checkpoint_paths(path)[0].is_file():
        return False
    try:
        tr = read_checkpoint_meta(path).get("training", {})
    except CheckpointError:
        return False
    return bool(tr.get("finished")) and (steps is None or int(tr.get("steps_done", -1)) == steps)


def _planned_steps(loop: LoopConfig) -> int | None:
    """The step count a finished stage must show (None for a time-budgeted stage)."""
    return None if loop.minutes > 0 else loop.steps


def _length(loop: LoopConfig) -> str:
    return f"{loop.minutes:g} min budget" if loop.minutes > 0 else f"{loop.steps} steps"


def _resume_flag(opts: RecipeOptions, run_dir: Path) -> str | None:
    return "auto" if opts.resume and (run_dir / "state.pt").is_file() else None


def student_specs(opts: RecipeOptions) -> list[StudentSpec]:
    """The six student variants with their output paths."""
    specs = []
    for name, (lambdas, sampling) in VARIANTS.items():
        out = opts.out / "student" if name == "scjd" else opts.runs / "students" / name
        specs.append(
            StudentSpec(
                name=name,
                out=out,
                distill=dataclasses.replace(opts.distill, **lambdas),
                model=opts.student_model,
                sampling=sampling,
                overrides=dict(opts.student_overrides),
                init=_init_path(opts, name),
                init_state=Path(opts.student_init) / "runs" / "students" / "state.pt" if opts.student_init else None,
                from_teacher=opts.student_from_teacher,
                teacher_blocks=opts.student_teacher_blocks,
            )
        )
    return specs


def _init_path(opts: RecipeOptions, name: str) -> Path | None:
    """Where variant ``name`` starts from with ``student_init`` (the layout a recipe writes:
    ``models/student`` for scjd, ``runs/students/<name>`` for the others)."""
    if opts.student_init is None:
        return None
    root = Path(opts.student_init)
    return root / "models" / "student" if name == "scjd" else root / "runs" / "students" / name


def _mlp_stage(opts: RecipeOptions, mocap: Any, teacher_out: Path) -> tuple[Path | None, bool]:
    """Train the MLP reference when asked (and not already done); its checkpoint path if there is
    one, and whether no training ran."""
    from scjd_core.errors import CheckpointError
    from scjd_core.models import read_checkpoint_meta
    from training.mlp_training import MLPTrainOptions, train_mlp
    from training.reference import read_mlp_meta

    out = opts.runs / "mlp"
    trained = False
    if opts.mlp_minutes > 0:
        try:
            done = read_mlp_meta(out).get("training", {}).get("minutes") == opts.mlp_minutes
        except CheckpointError:
            done = False
        if done:
            print(f"[recipe] MLP reference already trained: {out}")
        else:
            print(f"[recipe] frame-wise MLP reference ({opts.mlp_minutes:g} min)")
            window = int(read_checkpoint_meta(teacher_out)["config"]["window"])
            train_mlp(
                MLPTrainOptions(
                    out=out, minutes=opts.mlp_minutes, window=window, data=opts.data, cache=opts.cache, mocap=mocap,
                    device=opts.device, progress=opts.progress, command=opts.command,
                )
            )  # fmt: skip
            trained = True
    return (out if Path(f"{out}.safetensors").is_file() else None), not trained


def _teacher_stage(opts: RecipeOptions, common: dict[str, Any]) -> Path:
    """Stage 1: train the teacher unless it is finished; its checkpoint path."""
    teacher_out = opts.out / "teacher"
    if _finished(teacher_out, _planned_steps(opts.teacher_loop)):
        print(f"[recipe] teacher already trained: {teacher_out}")
    else:
        print(f"[recipe] 1/3 teacher ({_length(opts.teacher_loop)})")
        run_dir = opts.runs / "teacher"
        train_teacher(
            RunOptions(out=teacher_out, run_dir=run_dir, resume=_resume_flag(opts, run_dir), **common),
            opts.teacher_loop,
            opts.teacher_model,
            opts.teacher_overrides,
            init=opts.teacher_init,
        )
    return teacher_out


def _students_stage(
    opts: RecipeOptions, specs: list[StudentSpec], common: dict[str, Any], teacher_out: Path, t0: float
) -> None:
    """Stage 2: train the six students ``specs`` in lockstep unless all are finished."""
    if all(_finished(s.out, _planned_steps(opts.student_loop)) for s in specs):
        print("[recipe] students already trained")
    else:
        print(
            f"[recipe] 2/3 six students in lockstep ({_length(opts.student_loop)}) "
            f"[{time.perf_counter() - t0:.0f} s so far]"
        )
        run_dir = opts.runs / "students"
        train_students(
            RunOptions(out=opts.out / "student", run_dir=run_dir, resume=_resume_flag(opts, run_dir), **common),
            opts.student_loop,
            teacher_out,
            specs,
        )


def _evaluate_stage(
    opts: RecipeOptions, mocap: Any, teacher_out: Path, specs: list[StudentSpec], mlp: Path | None
) -> dict[str, Any]:
    """Stage 3: evaluate all seven models and print the summary."""
    results = evaluate(
        EvalOptions(
            teacher=teacher_out,
            students=[(s.name, s.out) for s in specs],
            data=opts.data,
            windows=opts.eval_windows,
            batch_size=opts.student_loop.batch_size,
            seed=opts.eval_seed,
            device=opts.device,
            latency_repeats=opts.latency_repeats,
            cache=opts.cache,
            mocap=mocap,
            command=opts.command,
            sequences=opts.sequences,
            mlp=mlp,
        )
    )
    print(summary(results))
    return results


def _training_seconds(checkpoint: Path) -> float:
    """A training stage's wall time as its checkpoint records it (the loop's clock, which adds up
    across ``--resume``, so an interrupted and resumed stage counts all of its parts)."""
    from scjd_core.models import read_checkpoint_meta

    return float(read_checkpoint_meta(checkpoint).get("training", {}).get("wall_clock_s") or 0.0)


def run_recipe(opts: RecipeOptions) -> dict[str, Any]:
    """Train the teacher and the six students, evaluate all, write results and the model card.

    The results' ``meta.recipe`` records the wall time of each stage and of the whole recipe
    (``wall_clock_s``), so the card can state what the recipe took on this machine.

    Returns:
        The evaluation results (see :func:`training.evaluate.evaluate`).
    """
    t0 = time.perf_counter()
    specs = student_specs(opts)  # checks the students' options before any data is read
    mocap = load_mocap_data(opts.data, opts.cache, opts.progress)
    common = {
        "data": opts.data,
        "cache": opts.cache,
        "device": opts.device,
        "val_windows": opts.val_windows,
        "progress": opts.progress,
        "mocap": mocap,
        "command": opts.command,
        "limb_scale_std": opts.limb_scale_std,
        "speed_jitter": opts.speed_jitter,
    }
    data_s = time.perf_counter() - t0
    teacher_out = _teacher_stage(opts, common)
    _students_stage(opts, specs, common, teacher_out, t0)
    start = time.perf_counter()
    mlp, mlp_skipped = _mlp_stage(opts, mocap, teacher_out)
    mlp_s = 0.0 if mlp_skipped else time.perf_counter() - start
    if not opts.evaluate:
        print(f"[recipe] trained in {time.perf_counter() - t0:.0f} s; evaluation skipped (--no-eval)")
        return {}
    print(f"[recipe] 3/3 evaluation [{time.perf_counter() - t0:.0f} s so far]")
    start = time.perf_counter()
    results = _evaluate_stage(opts, mocap, teacher_out, specs, mlp)
    stages = {
        "data": data_s,
        "teacher": _training_seconds(teacher_out),
        "students": _training_seconds(specs[0].out),
        "mlp": mlp_s,
        "evaluation": time.perf_counter() - start,
    }
    results["meta"]["recipe"] = {
        "wall_clock_s": sum(stages.values()),
        "stages_s": stages,
        "resumed": opts.resume,
        "command": " ".join(opts.command),
    }
    write_results(results, opts.results or opts.runs / "results.json")
    if opts.model_card is not None:
        write_model_card(results, opts.model_card)
    print(f"[recipe] done in {time.perf_counter() - t0:.0f} s ({sum(stages.values()) / 60:.1f} min in all stages)")
    return results
