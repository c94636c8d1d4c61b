"""Evaluation: teacher and students on the same held-out windows, one table.

Every row sees exactly the same inputs: fixed windows of the held-out clips (HDM05 actor
``dg`` by default, or every clip of a folder given with ``--data``), filmed by the same
random virtual cameras with the same synthetic detector noise (a fixed seed). The
teacher reads each dense window; a student reads its sparse sample of the same window
(phase 0) and is scored on all ``T`` frames of its upsampled output.

Reported per row: MPJPE, P-MPJPE, MPJVE (mm), per-joint MPJPE, parameters, FLOPs per
output frame, CPU latency per window and per frame (see :mod:`training.benchmark`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError
from scjd_core.skeleton import JOINT_NAMES
from training.benchmark import cost_figures, cpu_latencies_ms, latency_setup, model_inputs
from training.common import DEFAULT_CACHE, MocapData, fixed_batches, hardware_info, load_mocap_data
from training.metrics import mpjpe, mpjve, p_mpjpe, per_joint_mpjpe

#: What the recipe's row names stand for (other names are printed as given).
ROW_LABELS: dict[str, str] = {
    "teacher": "teacher (dense window)",
    "scjd": "SCJD student (all losses)",
    "no-distill": "student, no distillation (all λ = 0)",
    "no-djed": "SCJD student − DJED",
    "no-ajad": "SCJD student − AJAD",
    "no-tcd": "SCJD student − TCD",
    "central-k": "SCJD student, K central frames",
}


@dataclass
class EvalOptions:
    """What to evaluate and how.

    Attributes:
        teacher: teacher checkpoint.
        students: ``(name, checkpoint)`` pairs, in table order.
        data: mocap folder (None = the default mocap data).
        split: ``auto`` (held-out test clips, or every clip when there are none), ``test``,
            ``val``, ``train`` or ``all``.
        windows: number of evaluation windows.
        batch_size: windows per forward.
        seed: seed of the windows, cameras and noise.
        device: where accuracy is computed (latency is always CPU).
        latency_repeats: timed forwards per model.
        latency_warmup: untimed forwards first.
        cache: parsed-mocap cache folder.
        mocap: already loaded data (skips loading).
        command: the command line, kept in the results.
    """

    teacher: Path
    students: list[tuple[str, Path]] = field(default_factory=list)
    data: str | None = None
    split: str = "auto"
    windows: int = 256
    batch_size: int = 32
    seed: int = 2025
    device: str = "auto"
    latency_repeats: int = 30
    latency_warmup: int = 5
    cache: Path | None = DEFAULT_CACHE
    mocap: MocapData | None = None
    command: list[str] = field(default_factory=list)


def _predict(model: torch.nn.Module, batches: list[dict], device: torch.device) -> np.ndarray:
    outs = []
    with torch.inference_mode():
        for batch in batches:
            window = batch["inputs"].to(device)
            outs.append(model(*model_inputs(model, window), return_attention=False).pose.float().cpu())
    return torch.cat(outs).numpy()


def score(pred: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """Accuracy figures (mm) of predictions ``(N, T, 17, 3)`` against ``target``."""
    joints = per_joint_mpjpe(pred, target)
    return {
        "mpjpe_mm": mpjpe(pred, target),
        "p_mpjpe_mm": p_mpjpe(pred, target),
        "mpjve_mm": mpjve(pred, target),
        "per_joint_mm": {name: float(v) for name, v in zip(JOINT_NAMES, joints, strict=True)},
    }


def evaluate(opts: EvalOptions) -> dict[str, Any]:
    """Evaluate the teacher and every student on the same windows.

    Returns:
        ``{"meta": {...}, "joints": [...], "rows": [{name, kind, checkpoint, mpjpe_mm,
        p_mpjpe_mm, mpjve_mm, per_joint_mm, params, flops_per_frame, latency_window_ms,
        latency_frame_ms, frames_in, frames_out, sampling}, ...]}``.

    Raises:
        CheckpointError: for a bad checkpoint; InputError for a student whose window
            differs from the teacher's, duplicate names, or missing data.
    """
    from scjd_core.device import resolve_device
    from scjd_core.models import load_checkpoint

    names = ["teacher"] + [n for n, _ in opts.students]
    if len(set(names)) != len(names):
        raise InputError(f"row names must be distinct (got {names}): use --students name=PATH with unique names")
    device = torch.device(resolve_device(opts.device))
    mocap = opts.mocap if opts.mocap is not None else load_mocap_data(opts.data, opts.cache)
    clips = mocap.clips(opts.split)
    models = [("teacher", Path(opts.teacher))] + [(n, Path(p)) for n, p in opts.students]
    loaded = []
    for name, path in models:
        model, meta = load_checkpoint(path, device=device)
        if name == "teacher" and meta["kind"] != "teacher":
            raise InputError(f"--teacher {path} is a {meta['kind']} checkpoint: pass the teacher checkpoint")
        loaded.append((name, path, model, meta))
    window = loaded[0][2].config.window
    for name, path, model, _ in loaded[1:]:
        if model.config.window != window:
            raise InputError(
                f"{name} ({path}) has window T={model.config.window} but the teacher has T={window}: "
                "evaluate models made for the same window"
            )
    batches = fixed_batches(clips, window, opts.windows, opts.batch_size, opts.seed)
    target = torch.cat([b["target"] for b in batches]).numpy()
    latency_window = batches[0]["inputs"][:1]
    latencies = cpu_latencies_ms(
        [m for _, _, m, _ in loaded], latency_window, opts.latency_repeats, opts.latency_warmup
    )
    rows = []
    for (name, path, model, meta), latency in zip(loaded, latencies, strict=True):
        row = {"name": name, "kind": meta["kind"], "checkpoint": str(path), "sha256": meta["sha256"]}
        row.update(score(_predict(model, batches, device), target))
        row.update(cost_figures(model, latency))
        row["sampling"] = getattr(model.config, "sampling", "dense")
        rows.append(row)
    split = opts.split if opts.split != "auto" else ("test" if mocap.splits["test"] else "all")
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": mocap.describe(),
        "split": split,
        "subjects": sorted({str(c.subject) for c in clips}),
        "clips": len(clips),
        "windows": opts.windows,
        "window": window,
        "seed": opts.seed,
        "inputs": "virtual cameras + synthetic detector noise (training.data defaults), fixed seed",
        "hardware": hardware_info(device),
        "latency": latency_setup(opts.latency_repeats, opts.latency_warmup),
        "command": list(opts.command),
    }
    return {"meta": meta, "joints": list(JOINT_NAMES), "rows": rows}


def _label(name: str) -> str:
    return ROW_LABELS.get(name, name)


def row_cells(r: dict[str, Any]) -> list[str]:
    """One evaluation row as text cells (shared by the printed table and the model card)."""
    return [
        _label(r["name"]),
        f"{r['frames_in']}/{r['frames_out']}",
        f"{r['mpjpe_mm']:.1f}",
        f"{r['p_mpjpe_mm']:.1f}",
        f"{r['mpjve_mm']:.2f}",
        f"{r['params']:,}",
        f"{r['flops_per_frame'] / 1e6:.2f}",
        f"{r['latency_window_ms']:.2f}",
        f"{r['latency_frame_ms']:.3f}",
    ]


def format_table(results: dict[str, Any]) -> str:
    """The main table as aligned plain text."""
    head = ["model", "in/out", "MPJPE", "P-MPJPE", "MPJVE", "params", "MFLOPs/frame", "ms/window", "ms/frame"]
    lines = [head]
    for r in results["rows"]:
        lines.append(row_cells(r))
    return _align(lines, "errors in mm; latency: CPU, batch 1 window, median")


def format_per_joint(results: dict[str, Any]) -> str:
    """Per-joint MPJPE (mm): one row per joint, one column per model."""
    names = [r["name"] for r in results["rows"]]
    lines = [["joint", *names]]
    for joint in results["joints"]:
        lines.append([joint, *(f"{r['per_joint_mm'][joint]:.1f}" for r in results["rows"])])
    return _align(lines, "per-joint MPJPE in mm")


def _align(lines: list[list[str]], caption: str) -> str:
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    fmt = [row[0].ljust(widths[0]) + "  " + "  ".join(c.rjust(w) for c, w in zip(row[1:], widths[1:])) for row in lines]
    rule = "-" * len(fmt[0])
    return "\n".join([fmt[0], rule, *fmt[1:], f"({caption})"])


def write_results(results: dict[str, Any], path: str | Path) -> Path:
    """Write the results as JSON (atomically, replacing an older file)."""
    path = Path(path)
    with atomic_write(path, "w", overwrite=True) as fh:
        json.dump(results, fh, indent=2)
        fh.write("\n")
    return path


def summary(results: dict[str, Any]) -> str:
    """Header line + both tables, as printed by the CLI."""
    m = results["meta"]
    head = (
        f"{m['windows']} windows of T={m['window']} from {m['clips']} '{m['split']}' clips "
        f"(subjects {', '.join(m['subjects'])}), seed {m['seed']}"
    )
    return "\n\n".join([head, format_table(results), format_per_joint(results)])
