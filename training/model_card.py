"""Write ``assets/MODEL_CARD.md`` from an evaluation results JSON and the checkpoints' metadata.

Every figure in the card is read from the results (see :mod:`training.evaluate`) or from
the checkpoints' JSON (training data, split, recipe, hardware, time): nothing is typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scjd_core.atomic import atomic_write
from training.evaluate import row_cells

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
    "and a short CPU training budget: accuracy is far from published Human3.6M figures and is not "
    "comparable to them (different data, joints definitions and protocol).",
    "Outputs are root-relative: no global translation; the scale is that of an average adult.",
    "One person per frame; poses rare in the data (lying, crawling, acrobatics) are less accurate.",
]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def results_table(results: dict[str, Any]) -> str:
    """The evaluation table in Markdown."""
    rows = [row_cells(r) for r in results["rows"]]
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
    header = ["joint", *(r["name"] for r in results["rows"])]
    rows = [[j, *(f"{r['per_joint_mm'][j]:.1f}" for r in results["rows"])] for j in results["joints"]]
    return _md_table(header, rows)


def _checkpoint_meta(path: str) -> dict[str, Any]:
    from scjd_core.models import read_checkpoint_meta

    return read_checkpoint_meta(path)


def _training_section(results: dict[str, Any]) -> list[str]:
    out = ["## Training", ""]
    rows = []
    for r in results["rows"]:
        meta = _checkpoint_meta(r["checkpoint"])
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
        arch = f"dim {cfg['dim']}, {cfg['depth']}+{cfg['depth']} blocks, {cfg['heads']} heads, T={cfg['window']}"
        if meta["kind"] == "student":
            arch += f", K={cfg['frames']} ({cfg['sampling']}, stride {cfg['stride']})"
        rows.append(
            [
                r["name"],
                arch,
                losses,
                f"{tr.get('best_step', '?')} / {loop.get('steps', '?')}",
                str(loop.get("batch_size", "?")),
                f"{loop.get('lr', float('nan')):g}",
                f"{tr.get('wall_clock_s', float('nan')) / 60:.1f}",
                f"{meta.get('metrics', {}).get('val_mpjpe_mm', float('nan')):.1f}",
            ]
        )
    header = ["model", "architecture", "loss", "best step / steps", "batch", "peak lr", "train min", "val MPJPE"]
    out += [_md_table(header, rows), ""]
    first = _checkpoint_meta(results["rows"][0]["checkpoint"]).get("training", {})
    hw = first.get("hardware", {})
    out += [
        f"Optimiser AdamW with weight decay, cosine learning rate with linear warm-up, gradient-norm clipping; "
        f"students trained in lockstep on the same batches from the frozen teacher. Hardware: {hw.get('cpu', '?')}"
        f" ({hw.get('cpu_count', '?')} cores, {hw.get('torch_threads', '?')} torch threads"
        + (f", GPU {hw['gpu']}" if hw.get("gpu") else "")
        + f"), torch {hw.get('torch', '?')}. Train min = wall-clock minutes of the run that produced the checkpoint"
        " (students trained together share one run).",
        "",
    ]
    if first.get("command"):
        out += ["Command: `" + " ".join(first["command"]) + "`", ""]
    return out


def _data_section(results: dict[str, Any]) -> list[str]:
    first = _checkpoint_meta(results["rows"][0]["checkpoint"]).get("training", {})
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


def render_model_card(results: dict[str, Any]) -> str:
    """The model card's Markdown text."""
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
        f"{m['windows']} windows of T={m['window']} frames from the {m['clips']} '{m['split']}' clips "
        f"(subjects: {', '.join(m['subjects'])}), seen by random virtual cameras with synthetic detector "
        f"noise (seed {m['seed']}); every row sees the same inputs. Students read their sparse sample of "
        "each window and are scored on all T frames of their upsampled output. P-MPJPE: per-frame "
        "similarity (Procrustes) alignment; MPJVE: error of frame-to-frame velocities. FLOPs counted by "
        "`torch.utils.flop_counter` for one forward, divided by the T output frames. Latency: "
        f"{lat['device'].upper()}, {lat['threads']} threads, batch 1 window, median of {lat['repeats']} runs "
        f"after {lat['warmup']} warm-up, on {m['hardware'].get('cpu', '?')}. Evaluated {m['date']}.",
        "",
        results_table(results),
        "",
        "Per-joint MPJPE (mm):",
        "",
        per_joint_table(results),
        "",
        "## Limitations",
        "",
        *[f"- {item}" for item in _LIMITATIONS],
        "",
    ]
    return "\n".join(lines)


def write_model_card(results: dict[str, Any] | str | Path, out: str | Path) -> Path:
    """Render the card from results (a dict or a results JSON path) and write it atomically."""
    if not isinstance(results, dict):
        results = json.loads(Path(results).read_text(encoding="utf-8"))
    out = Path(out)
    with atomic_write(out, "w", overwrite=True) as fh:
        fh.write(render_model_card(results))
    return out
