"""How evaluation results read: the printed tables, the one-line input description, the JSON file.

:func:`training.evaluate.evaluate` produces the results (a dict: ``meta``, ``joints``, ``rows``,
``references``); this module turns them into the text the CLI prints and the cells the model
card reuses (:func:`row_cells`), so both show the same figures the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scjd_core.atomic import atomic_write

#: What the recipe's row names stand for (other names are printed as given).
ROW_LABELS: dict[str, str] = {
    "teacher": "teacher (dense window)",
    "scjd": "SCJD student (all losses)",
    "no-distill": "student, no distillation (all λ = 0)",
    "no-djed": "SCJD student − DJED",
    "no-ajad": "SCJD student − AJAD",
    "no-tcd": "SCJD student − TCD",
    "central-k": "SCJD student, K central frames",
    "mean-pose": "reference: training mean pose",
}


def _label(name: str) -> str:
    if name.startswith("mlp-") and name not in ROW_LABELS:
        return f"reference: frame-wise MLP ({name[4:]})"
    return ROW_LABELS.get(name, name)


def all_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The model rows, then the reference rows (older results have none)."""
    return [*results["rows"], *results.get("references", [])]


def _cell(value: Any, fmt: str, scale: float = 1.0) -> str:
    return "—" if value is None else format(value / scale if scale != 1.0 else value, fmt)


def row_cells(r: dict[str, Any]) -> list[str]:
    """One evaluation row as text cells (shared by the printed table and the model card)."""
    return [
        _label(r["name"]),
        f"{r['frames_in']}/{r['frames_out']}" if r.get("frames_in") else "—",
        f"{r['mpjpe_mm']:.1f}",
        f"{r['p_mpjpe_mm']:.1f}",
        f"{r['mpjve_mm']:.2f}",
        _cell(r.get("params"), ","),
        _cell(r.get("flops_per_frame"), ".2f", 1e6),
        _cell(r.get("latency_window_ms"), ".2f"),
        _cell(r.get("latency_frame_ms"), ".3f"),
    ]


def format_table(results: dict[str, Any]) -> str:
    """The main table as aligned plain text."""
    head = ["model", "in/out", "MPJPE", "P-MPJPE", "MPJVE", "params", "MFLOPs/frame", "ms/window", "ms/frame"]
    lines = [head]
    for r in all_rows(results):
        lines.append(row_cells(r))
    return _align(lines, "errors in mm; latency: CPU, batch 1 window, median (MLP: the window's frames as one batch)")


def format_per_joint(results: dict[str, Any]) -> str:
    """Per-joint MPJPE (mm): one row per joint, one column per model."""
    rows = all_rows(results)
    lines = [["joint", *(r["name"] for r in rows)]]
    for joint in results["joints"]:
        lines.append([joint, *(f"{r['per_joint_mm'][joint]:.1f}" for r in rows)])
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


def describe_inputs(meta: dict[str, Any]) -> str:
    """One line saying what the rows were scored on."""
    if meta.get("protocol") == "sequences":
        d = meta["sequences"]
        return (
            f"sequence file {d['file']} (sha256 {d['sha256'][:12]}…): {d['sequences']} sequences x {d['frames']} "
            f"frames = {d['total_frames']} frames of '{d['split']}' (subjects {', '.join(d['subjects'])}), "
            f"noise {d['noise']}, seed {d['seed']}; every frame scored, each model windowed with its own T"
        )
    return (
        f"{meta['windows']} windows of T={meta['window']} from {meta['clips']} '{meta['split']}' clips "
        f"(subjects {', '.join(meta['subjects'])}), seed {meta['seed']}"
    )


def format_global_motion(results: dict[str, Any]) -> str | None:
    """Root trajectory error and foot skate per model row (None when not measured)."""
    rows = [r for r in results["rows"] if "foot_skate_mm" in r]
    if not rows:
        return None
    lines = [["model", "root (mm, scaled)", "root (mm)", "scale", "foot skate (mm/frame)"]]
    for r in rows:
        lines.append(
            [
                _label(r["name"]),
                _cell(r.get("root_mm"), ".1f"),
                _cell(r.get("root_unscaled_mm"), ".1f"),
                _cell(r.get("root_scale"), ".3f"),
                _cell(r.get("foot_skate_mm"), ".2f"),
            ]
        )
    return _align(lines, results["meta"].get("global_motion", "global motion"))


def summary(results: dict[str, Any]) -> str:
    """Header line + the tables, as printed by the CLI."""
    parts = [describe_inputs(results["meta"]), format_table(results), format_per_joint(results)]
    motion = format_global_motion(results)
    if motion is not None:
        parts.append(motion)
    return "\n\n".join(parts)
