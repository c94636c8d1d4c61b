"""Write ``assets/MODEL_CARD.md`` from an evaluation results JSON and the checkpoints' metadata.

Every figure in the card is read from the results (see :mod:`training.evaluate`, :mod:`training.eval_report`) or from
the checkpoints' JSON (training data, split, recipe, hardware, time): nothing is typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError
from training.eval_report import all_rows, row_cells
from training.lineage import (
    checkpoint_meta,
    earlier_runs,
    merge_in_order,
    minutes_by_hardware,
    training_chain,
    where_trained,
)

_INTENDED_USE = (
    "2D-to-3D lifting of one person's body pose from ordinary video: MediaPipe Pose 2D keypoints "
    "(mapped to the 17-joint Human3.6M layout) in, root-relative 3D joint positions in the camera "
    "frame (metres) out. Research, hobby animation and motion analysis; not for medical, "
    "biometric or surveillance use."
)
_LIMITATIONS = [
    "Trained only on motion capture seen by *virtual* cameras with *synthetic* detector noise; "
    "real MediaPipe keypoints differ in ways the noise model only approximates.",
    "Small data (HDM05 + CMU subsets, a handful of people, one CMU skeleton for all CMU subjects) "
    "and a short training budget (see Training; the students' validation error was still falling fast "
    "when their budget ended): accuracy is far from published Human3.6M figures and is not comparable "
    "to them (different data, joint definitions and protocol).",
    "The models output root-relative poses at the scale of an average adult; the product adds the root's "
    "path from the 2D and the body's size (`scjd_core.trajectory`), which depends on the camera's field of view.",
    "One person per frame; poses rare in the data (lying, crawling, acrobatics) are less accurate.",
    "Body proportions lean towards the three training skeletons' even with the 10 % bone-length variation: "
    "on the held-out actor the thighs come out about 2 cm too long and the hips 2 cm too narrow, and the actor's "
    "true bone lengths would take the teacher's error down by a fifth (`docs/body_proportions.md`).",
]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def results_table(results: dict[str, Any]) -> str:
    """The evaluation table in Markdown (model rows, then the reference rows when there are any)."""
    rows = [row_cells(r) for r in all_rows(results)]
    header = [
        "model",
        "frames in/out",
        "MPJPE (mm)",
        "P-MPJPE (mm)",
        "MPJVE (mm)",
        "parameters",
        "MFLOPs / output frame",
        "CPU ms / window",
        "CPU ms / frame",
    ]
    return _md_table(header, rows)


def per_joint_table(results: dict[str, Any]) -> str:
    """Per-joint MPJPE (mm) in Markdown, one column per model."""
    header = ["joint", *(r["name"] for r in all_rows(results))]
    rows = [[j, *(f"{r['per_joint_mm'][j]:.1f}" for r in all_rows(results))] for j in results["joints"]]
    return _md_table(header, rows)


def _inputs_paragraph(m: dict[str, Any]) -> str:
    if m.get("protocol") == "sequences":
        d = m["sequences"]
        pad = d.get("padded_fraction")
        padding = f"; {pad:.0%} of the frames repeat a clip's first or last frame (clip shorter than F)" if pad else ""
        return (
            f"Inputs: the fixed sequence file `{d['file']}` (sha256 `{d['sha256']}`): {d['sequences']} sequences of "
            f"F={d['frames']} frames, {d['total_frames']} frames of the '{d['split']}' split (subjects: "
            f"{', '.join(d['subjects'])}), 2D pixels + confidence from virtual cameras with the '{d['noise']}' "
            f"synthetic detector noise (seed {d['seed']}), written once so that later changes of the noise or camera "
            f"model cannot move these figures{padding}. Each sequence is normalised with its own image size and "
            "lifted with each model's own window T as `ModelBackend.lift` lifts a clip (non-overlapping windows, "
            "the last one edge-padded); every frame is scored, and every row sees the same inputs. Students read "
            "their sparse sample of each window and are scored on all T frames of their upsampled output."
        )
    return (
        f"Inputs: {m['windows']} windows of T={m['window']} frames from the {m['clips']} '{m['split']}' clips "
        f"(subjects: {', '.join(m['subjects'])}), seen by random virtual cameras with synthetic detector "
        f"noise (seed {m['seed']}); every row sees the same inputs. Students read their sparse sample of "
        "each window and are scored on all T frames of their upsampled output."
    )


def _references_paragraph(results: dict[str, Any]) -> str:
    refs = results.get("references") or []
    facts = results["meta"].get("references") or {}
    parts = []
    for r in refs:
        if r["name"] == "mean-pose":
            how = facts.get("mean_pose", "mean pose of the training split")
            parts.append(f"*mean pose*: the {how}, predicted for every frame")
        elif r["name"].startswith("mlp-"):
            tr = r.get("training") or {}
            val = tr.get("val_mpjpe_mm")
            parts.append(
                "*frame-wise MLP* (`training/reference.py`, trained by `training/mlp_training.py`): one frame's "
                "17 × 3 normalised inputs → Linear 512 → "
                "two residual blocks → Linear 51, no temporal context, trained with AdamW on MPJPE for "
                f"{tr.get('minutes', '?')} min ({tr.get('steps_done', '?')} steps) on frames of the same training "
                "windows as the teacher"
                + (f" (best validation MPJPE {val:.1f} mm)" if isinstance(val, int | float) else "")
            )
    if not parts:
        return (
            "No reference rows in these results (mean pose, frame-wise MLP): see `python -m training evaluate --help`."
        )
    return "Reference rows: " + "; ".join(parts) + ". The teacher and the students must beat them clearly."


def _flip_note(results: dict[str, Any]) -> list[str]:
    """A paragraph naming the rows scored with the test-time flip (none: nothing to say)."""
    flipped = [r["name"] for r in all_rows(results) if r.get("test_flip")]
    if not flipped:
        return []
    return [
        f"Test-time flip (rows {', '.join(flipped)}): each window is lifted together with its mirror (screen x "
        "negated, left and right swapped) and the mirrored-back poses are averaged with the direct ones, as the "
        "product lifts by default (`test_flip` in the model's config); the FLOPs and latencies include the second "
        "pass.",
        "",
    ]


#: The accuracy issue's wall-time target for the whole recipe on the project's 2-core CPU (minutes).
RECIPE_WALL_TARGET_MIN = 150.0

#: Stages of ``meta.recipe.stages_s`` (written by :func:`training.recipe.run_recipe`), in order.
_STAGES = (("data", "loading the data"), ("teacher", "teacher"), ("students", "six students"),
           ("mlp", "MLP reference"), ("evaluation", "evaluation"))  # fmt: skip


def recipe_wall(recipe: dict[str, Any]) -> str:
    """``142.3 min (loading the data 0.1, teacher 65.2, six students 55.3, evaluation 6.0)``."""
    stages = recipe.get("stages_s", {})
    parts = ", ".join(f"{label} {stages[k] / 60:.1f}" for k, label in _STAGES if stages.get(k))
    return f"{recipe['wall_clock_s'] / 60:.1f} min ({parts})"


def _row(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in all_rows(results) if r["name"] == name), None)


def target_checks(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The accuracy issue's targets, checked on these results: ``(target, figure, met)``; met None = not measurable."""
    t, s, nd, mlp = (_row(results, n) for n in ("teacher", "scjd", "no-distill", "mlp-10min"))
    out: list[tuple[str, str, bool | None]] = []
    if t:
        out.append(("teacher MPJPE ≤ 60 mm", f"{t['mpjpe_mm']:.1f} mm", t["mpjpe_mm"] <= 60.0))
        out.append(("teacher P-MPJPE ≤ 42 mm", f"{t['p_mpjpe_mm']:.1f} mm", t["p_mpjpe_mm"] <= 42.0))
    if t and s:
        ratio = s["mpjpe_mm"] / t["mpjpe_mm"]
        out.append(("SCJD student MPJPE ≤ 1.05 × teacher", f"{ratio:.3f} ×", ratio <= 1.05))
    if s and nd:
        ratio = s["mpjpe_mm"] / nd["mpjpe_mm"]
        out.append(("SCJD student MPJPE ≤ 0.97 × undistilled", f"{ratio:.3f} ×", ratio <= 0.97))
    if s:
        for name, label in (("no-djed", "DJED"), ("no-ajad", "AJAD"), ("no-tcd", "TCD")):
            r = _row(results, name)
            if r:
                cost = r["mpjpe_mm"] - s["mpjpe_mm"]
                out.append((f"removing {label} costs accuracy", f"{cost:+.1f} mm", cost > 0))
    if mlp:
        for r in (t, s):
            if r:
                gain = 1.0 - r["mpjpe_mm"] / mlp["mpjpe_mm"]
                out.append((f"{r['name']} beats the 10-min MLP by ≥ 15 %", f"{gain:+.1%}", gain >= 0.15))
    if t and s:
        ratio = t["flops_per_frame"] / s["flops_per_frame"]
        out.append(("teacher/student FLOPs per output frame ≥ 15 ×", f"{ratio:.1f} ×", ratio >= 15.0))
    recipe = results["meta"].get("recipe")
    if recipe:
        minutes = recipe["wall_clock_s"] / 60
        target = f"whole recipe ≤ {RECIPE_WALL_TARGET_MIN:g} min wall on this machine"
        out.append((target, f"{minutes:.1f} min", minutes <= RECIPE_WALL_TARGET_MIN))
    return out


def _checks_table(checks: list[tuple[str, str, bool | None]]) -> str:
    rows = [[name, fig, "met" if ok else ("**missed**" if ok is False else "—")] for name, fig, ok in checks]
    return _md_table(["target", "figure", ""], rows)


def _targets_section(results: dict[str, Any]) -> list[str]:
    checks = target_checks(results)
    if not checks:
        return []
    return [
        "### Targets",
        "",
        "Checked on the table below (computed from the results, not typed in). Throughput targets are in "
        "`BENCHMARKS.md` (`scjd bench`).",
        "",
        _checks_table(checks),
        "",
    ]


def _global_motion_section(results: dict[str, Any]) -> list[str]:
    rows = [r for r in results["rows"] if "foot_skate_mm" in r]
    if not rows:
        return []

    def cell(v: Any, fmt: str) -> str:
        return "—" if v is None else format(v, fmt)

    table = [
        [
            row_cells(r)[0],
            cell(r.get("root_mm"), ".1f"),
            cell(r.get("root_unscaled_mm"), ".1f"),
            cell(r.get("root_scale"), ".3f"),
            cell(r.get("foot_skate_mm"), ".2f"),
        ]
        for r in rows
    ]
    header = ["model", "root error (mm, one scale per sequence)", "root error (mm)", "scale", "foot skate (mm/frame)"]
    return [
        "### Global motion",
        "",
        results["meta"].get("global_motion", "")
        + " The root comes from `scjd_core.trajectory` (the product's `--root trajectory`), on the model's output.",
        "",
        _md_table(header, table),
        "",
    ]


def _extra_section(extra: dict[str, Any] | None) -> list[str]:
    if not extra:
        return []
    return [
        "## The same models under the current noise defaults",
        "",
        _inputs_paragraph(extra["meta"]),
        "",
        results_table(extra),
        "",
    ]


def _recipe_run_section(run: dict[str, Any] | None) -> list[str]:
    """A whole recipe's run (its results JSON) beside the shipped models: wall time, targets, table."""
    if not run:
        return []
    recipe, hw = run["meta"]["recipe"], run["meta"].get("hardware", {})
    return [
        "## The whole recipe on this machine",
        "",
        f"Every model of this table was trained from scratch and evaluated by one command on "
        f"{hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores, {hw.get('gpu') or 'no GPU'}) in "
        f"{recipe_wall(recipe)}, finished {run['meta'].get('date', '?')}. These weights are not shipped: the models "
        "above, trained longer (partly on a GPU), are more accurate. Command: "
        f"`{recipe.get('command', '?')}`" + (" (resumed)." if recipe.get("resumed") else "."),
        "",
        _checks_table(target_checks(run)),
        "",
        _inputs_paragraph(run["meta"]),
        "",
        results_table(run),
        "",
    ]


#: Documents the card links to when they exist (path, sentence).
_DOCS = (
    ("docs/learning_curves.png", "Learning curves (validation MPJPE against step and against minutes)"),
    ("docs/learning_curves_continued.png", "Learning curves of the teacher and students continued on a GPU"),
    (
        "docs/learning_curves_h200_second.png",
        "Learning curves of the teacher's second GPU continuation (its GPU students were not shipped)",
    ),
    ("docs/learning_curves_cpu.png", "Learning curves of the students' continuation on the CPU before the last"),
    (
        "docs/learning_curves_cpu_bones.png",
        "Learning curves of the teacher's last continuation on the CPU, and the students' one before the last, "
        "with 10 % bone-length variation",
    ),
    (
        "docs/learning_curves_cpu_students.png",
        "Learning curves of the students' last continuation on the CPU, grown to 3+3 blocks "
        "(10 % bone-length variation)",
    ),
    ("docs/learning_curves_cpu_recipe.png", "Learning curves of the whole recipe on the 2-core CPU (not shipped)"),
    ("docs/training_recipe.md", "The recipe's choices, with the measurements behind them"),
    ("docs/noise_calibration.md", "Synthetic detector noise fitted to MediaPipe on real clips"),
    ("docs/squat_check.md", "Real-video check (squat depth, knee angles, left/right leg lengths)"),
    ("docs/body_proportions.md", "Body proportions: the actors' bones, and the bones the lifters give on held-out dg"),
)


def _docs_section() -> list[str]:
    root = Path(__file__).resolve().parents[1]
    found = [(p, what) for p, what in _DOCS if (root / p).is_file()]
    if not found:
        return []
    out = ["## More", ""]
    for path, what in found:
        out.append(f"- {what}: [`{path}`](../{path})")
        if path.endswith(".png"):
            out += ["", f"![{what}](../{path})", ""]
    return [*out, ""]


#: The per-bone length variation of runs made before the checkpoints recorded it.
_LIMB_SCALE_STD_BEFORE = 0.03


def row_meta(row: dict[str, Any]) -> dict[str, Any]:
    """A results row's checkpoint metadata: kept in the row since evaluations record it, else read
    from the checkpoint (older results files)."""
    return row.get("checkpoint_meta") or checkpoint_meta(row["checkpoint"])


def _training_row(name: str, meta: dict[str, Any], earlier: list[dict[str, Any]]) -> list[str]:
    """One row of the training table: architecture, loss, steps, batch, lr, time, where, val."""
    tr = meta.get("training", {})
    recipe = tr.get("recipe", {})
    loop = recipe.get("loop", {})
    distill = recipe.get("distill")
    losses = (
        "MPJPE (all T frames)"
        if distill is None
        else "pose + "
        + ", ".join(f"{k[7:].upper()} λ={distill[k]:g}" for k in ("lambda_djed", "lambda_ajad", "lambda_tcd"))
    )
    cfg = meta["config"]
    where = where_trained(tr.get("hardware", {}))
    if recipe.get("init"):
        where += f", continued from {recipe['init']}"
        if earlier:
            runs = f"{len(earlier)} run{'s' * (len(earlier) > 1)}"
            where += f" (trained {minutes_by_hardware(earlier)} before, in {runs})"
        if recipe.get("grown_from_depth"):
            d = recipe["grown_from_depth"]
            where += f", grown from {d}+{d} blocks (identity blocks added)"
    if recipe.get("from_teacher_blocks") is not None:
        blocks = ", ".join(str(b) for b in recipe["from_teacher_blocks"])
        where += f", started from the teacher's block pairs {blocks} (embeddings and head too)"
    arch = f"dim {cfg['dim']}, {cfg['depth']}+{cfg['depth']} blocks, {cfg['heads']} heads, T={cfg['window']}"
    if meta["kind"] == "student":
        arch += f", K={cfg['frames']} ({cfg['sampling']}, stride {cfg['stride']})"
    return [
        name,
        arch,
        losses,
        f"{tr.get('best_step', '?')} / {loop.get('steps', '?')}",
        str(loop.get("batch_size", "?")),
        f"{loop.get('lr', float('nan')):g}",
        f"{tr.get('wall_clock_s', float('nan')) / 60:.1f}",
        f"{recipe.get('limb_scale_std', _LIMB_SCALE_STD_BEFORE):g}",
        where,
        f"{meta.get('metrics', {}).get('val_mpjpe_mm', float('nan')):.1f}",
    ]


def _training_section(results: dict[str, Any]) -> list[str]:
    out = ["## Training", ""]
    rows = []
    metas = [row_meta(r) for r in results["rows"]]
    commands: list[str] = []  # each distinct training command, in order (earlier runs first)
    made_by: dict[str, str] = {}  # checkpoint sha256 -> the command that wrote it (the teacher's row comes first)
    for r, meta in zip(results["rows"], metas, strict=True):
        earlier = earlier_runs(meta)
        merge_in_order(commands, training_chain(meta, earlier, made_by))
        rows.append(_training_row(r["name"], meta, earlier))
    header = [
        "model", "architecture", "loss", "best step / steps", "batch", "peak lr", "train min", "bone-length std",
        "trained on", "val MPJPE",
    ]  # fmt: skip
    out += [_md_table(header, rows), ""]
    hw = metas[0].get("training", {}).get("hardware", {})
    out += [
        f"Optimiser AdamW with weight decay, cosine learning rate with linear warm-up, gradient-norm clipping; "
        f"students trained in lockstep on the same batches from the frozen teacher. Hardware: {hw.get('cpu', '?')}"
        f" ({hw.get('cpu_count', '?')} cores, {hw.get('torch_threads', '?')} torch threads"
        + (f", GPU {hw['gpu']}" if hw.get("gpu") else "")
        + f"), torch {hw.get('torch', '?')} (the teacher's run; each row says where it trained). Train min = "
        "wall-clock minutes of the run that produced the checkpoint (students trained together share one run). "
        "Bone-length std = the spread of the per-bone length factor of its training and validation windows "
        "(`--limb-scale-std`, body-proportion augmentation on top of a random overall body scale).",
        "",
    ]
    if commands:
        lead = "Command: " if len(commands) == 1 else "Commands, in order: "
        out += [lead + ", then ".join(f"`{c}`" for c in commands), ""]
    return out


def _data_section(results: dict[str, Any]) -> list[str]:
    first = row_meta(results["rows"][0]).get("training", {})
    data = first.get("data", {})
    out = ["## Data and licences", ""]
    for lic in first.get("licences", []):
        out.append(f"- **{lic['name']}** — licence: {lic['licence']}. Cite: {lic['citation']}")
    out += [
        "",
        "Weights trained on HDM05 are a derived work of it and are distributed under the same "
        "CC BY-SA 3.0 licence, with the attribution above.",
        "",
        f"Split ({first.get('split', '?')}):",
        "",
    ]
    rows = [
        [s, str(data[s]["clips"]), str(data[s]["frames"]), ", ".join(data[s]["subjects"])]
        for s in ("train", "val", "test")
        if s in data
    ]
    out += [_md_table(["split", "clips", f"frames at {data.get('fps', '?')} fps", "subjects"], rows), ""]
    return out


def render_model_card(
    results: dict[str, Any], extra: dict[str, Any] | None = None, recipe_run: dict[str, Any] | None = None
) -> str:
    """The model card's Markdown text.

    ``extra``: results of the same models on a second input set; ``recipe_run``: results of a
    whole recipe run (``python -m training recipe``, e.g. ``scripts/train_cpu.sh``), with its wall time.
    """
    m = results["meta"]
    lat = m["latency"]
    lines = [
        "# SCJD lifting models — model card",
        "",
        "_Generated by `python -m training evaluate ... --model-card` from the evaluation results and the "
        "checkpoints' metadata; do not edit by hand._",
        "",
        "## Models",
        "",
        "- `assets/models/teacher`: dense MixSTE-style teacher, reads all T frames of a window.",
        "- `assets/models/student`: SCJD-distilled student, reads K strided frames of the window and "
        "outputs all T (sparse correlation input, DJED + AJAD + TCD distillation, see METHOD.md).",
        "",
        f"Intended use: {_INTENDED_USE}",
        "",
        *_data_section(results),
        *_training_section(results),
        "## Evaluation",
        "",
        *_targets_section(results),
        _inputs_paragraph(m),
        "",
        "P-MPJPE: per-frame similarity (Procrustes) alignment; MPJVE: error of frame-to-frame velocities. FLOPs "
        "counted by `torch.utils.flop_counter` for one forward, divided by the T output frames (the MLP: one "
        "frame). Latency: "
        f"{lat['device'].upper()}, {lat['threads']} threads, batch 1 window, median of {lat['repeats']} runs "
        f"after {lat['warmup']} warm-up, on {m['hardware'].get('cpu', '?')}. Evaluated {m['date']}.",
        "",
        _references_paragraph(results),
        "",
        *_flip_note(results),
        results_table(results),
        "",
        "Per-joint MPJPE (mm):",
        "",
        per_joint_table(results),
        "",
        *_global_motion_section(results),
        *_extra_section(extra),
        *_recipe_run_section(recipe_run),
        *_docs_section(),
        "## Limitations",
        "",
        *[f"- {item}" for item in _LIMITATIONS],
        "",
    ]
    return "\n".join(lines)


def read_results(source: dict[str, Any] | str | Path, what: str, recipe: bool = False) -> dict[str, Any]:
    """A results JSON (path or the dict itself), checked: ``rows`` and ``meta``, and with
    ``recipe`` a whole recipe run's ``meta.recipe``. ``what`` names it in errors (e.g. a CLI flag).

    Raises:
        InputError: unreadable, not a results JSON, or (with ``recipe``) not a recipe run's.
    """
    results = source
    if not isinstance(source, dict):
        try:
            results = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{what}: cannot read {source} as a results JSON ({exc})") from None
    if not isinstance(results, dict) or "rows" not in results or "meta" not in results:
        raise InputError(f"{what}: {source} is not a results JSON of `python -m training evaluate` or `recipe`")
    if recipe and not results["meta"].get("recipe"):
        raise InputError(
            f"{what}: {source} has no meta.recipe: pass the results.json a whole recipe run wrote "
            "(`python -m training recipe`, e.g. scripts/train_cpu.sh)"
        )
    return results


def write_model_card(
    results: dict[str, Any] | str | Path,
    out: str | Path,
    extra: dict[str, Any] | str | Path | None = None,
    recipe_run: dict[str, Any] | str | Path | None = None,
) -> Path:
    """Render the card from results (a dict or a results JSON path) and write it atomically.

    ``extra``: results of the same models on a second input set (e.g. the current noise defaults);
    ``recipe_run``: results of a whole recipe run, shown with its wall time.

    Raises:
        InputError: a results file that :func:`read_results` refuses (``recipe_run``: not a recipe run's).
    """
    text = render_model_card(
        read_results(results, "results"),
        None if extra is None else read_results(extra, "extra results"),
        None if recipe_run is None else read_results(recipe_run, "recipe run", recipe=True),
    )
    out = Path(out)
    with atomic_write(out, "w", overwrite=True) as fh:
        fh.write(text)
    return out
