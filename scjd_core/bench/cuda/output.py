"""Writing the CUDA benchmark's results: the JSON and a ``## CUDA`` section for BENCHMARKS.md."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from scjd_core.bench.cuda.base import Outcome
from scjd_core.bench.cuda.settings import MACHINE_NOTE, SECTION
from scjd_core.bench.report import Report


def markdown(report: Report, outcome: Outcome, meta: dict[str, Any]) -> str:
    """A ``## CUDA`` section ready to paste into BENCHMARKS.md."""
    env = report.env
    out = ["## CUDA", ""]
    if not meta.get("cuda") and not meta.get("forced_cpu"):
        out += [f"Not measured: {meta.get('message', 'no CUDA GPU')}", ""]
        return "\n".join(out)
    if meta.get("forced_cpu"):
        out += ["**Forced CPU test run (tiny sizes): these are not CUDA figures.**", ""]
    gpu = env.get("gpu") or "none"
    out += [
        f"*{MACHINE_NOTE[0].upper() + MACHINE_NOTE[1:]}.* Produced by `{env.get('command')}` on {env.get('date')}.",
        "",
        f"- GPU: {gpu} (compute capability {env.get('gpu_capability', 'n/a')}, {env.get('gpu_memory_gib', 'n/a')} "
        f"GiB), driver {env.get('driver', 'n/a')}; TF32 matmul {'on' if env.get('tf32_matmul') else 'off'}, "
        f"cuDNN TF32 {'on' if env.get('tf32_cudnn') else 'off'}",
        f"- versions: torch {env.get('torch')} (CUDA {env.get('torch_cuda')}, cuDNN {env.get('cudnn', 'n/a')}), "
        f"Python {env.get('python')}, numpy {env.get('numpy')}, onnxruntime {env.get('onnxruntime')}, "
        f"mediapipe {env.get('mediapipe')}",
        f"- CPU: {env.get('cpu')} ({env.get('cpus')} cores); run took {meta.get('wall_s')} s "
        f"(budget {meta.get('budget_s')} s){'; quick' if meta.get('quick') else ''}"
        + ("; ABORTED by the watchdog, figures partial" if outcome.aborted else ""),
        "- timing: batched rows are device-resident forwards timed with CUDA events (median of several runs after "
        "warm-up, best batch of the sweep); latencies are host-clock medians of whole calls (each returns numpy, "
        "so it ends synchronised)",
        "",
        "| figure | value | target | | note |",
        "|---|---|---|---|---|",
    ]
    for row in report.rows:
        if row.section != SECTION:
            continue
        cells = row.cells()[1:]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = list(report.notes)
    notes += [f"error in '{k}': {v}" for k, v in outcome.errors.items() if not any(v in n for n in notes)]
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def write_results(args: argparse.Namespace, report: Report | None, outcome: Outcome, meta: dict[str, Any]) -> list[str]:
    """Write the JSON and the markdown (atomically); returns the paths written."""
    from scjd_core.atomic import atomic_write

    rows = []
    if report is not None:
        tag = {k: report.env.get(k) for k in ("gpu", "torch", "torch_cuda", "python")}
        rows = [{**asdict(r), **tag, "machine_note": MACHINE_NOTE} for r in report.rows]
    data = {
        **meta,
        "machine_note": MACHINE_NOTE,
        "environment": report.env if report is not None else meta.get("environment", {}),
        "rows": rows,
        "notes": list(report.notes) if report is not None else [],
        "errors": outcome.errors,
        "skipped": outcome.skipped,
        "copies": outcome.copies,
        "sweeps": outcome.sweeps,
        "timings_s": outcome.timings_s,
        "aborted": outcome.aborted,
    }
    written = []
    if args.json:
        with atomic_write(args.json, "w", overwrite=True) as handle:
            json.dump(data, handle, indent=2, default=str)
            handle.write("\n")
        written.append(args.json)
    if args.markdown:
        text = (
            markdown(report, outcome, meta)
            if report is not None
            else "## CUDA\n\nNot measured: " + meta.get("message", "") + "\n"
        )
        with atomic_write(args.markdown, "w", overwrite=True) as handle:
            handle.write(text)
        written.append(args.markdown)
    return written
