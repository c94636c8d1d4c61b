"""The report of a ``scjd bench`` run: its rows and notes, as a table, ``BENCHMARKS.md`` and JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One figure of the report."""

    section: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target
    note: str = ""
    device: str = "cpu"

    def cells(self) -> list[str]:
        """Table cells: section, name, value, target, verdict, note."""
        if self.value is None:
            value = "n/a"
        elif abs(self.value) >= 100 or float(self.value).is_integer():
            value = f"{self.value:,.0f} {self.unit}"
        else:
            value = f"{self.value:.3g} {self.unit}"
        verdict = "" if self.ok is None else ("PASS" if self.ok else "MISS")
        name = self.name if self.device == "cpu" else f"{self.name} [{self.device}]"
        return [self.section, name, value.strip(), self.target, verdict, self.note]


@dataclass
class Report:
    """Everything a bench run measured, with the facts needed to reproduce it."""

    env: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # engine choices, bottlenecks, profiles

    def add(self, *args: Any, **kwargs: Any) -> Row:
        """Append a :class:`Row` (same arguments) and return it."""
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def table(self) -> str:
        """Plain-text table for the terminal."""
        head = ["section", "figure", "value", "target", "", "note"]
        cells = [head] + [r.cells() for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(head) - 1)]
        lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(widths))) + "  " + c[-1] for c in cells]
        return "\n".join(line.rstrip() for line in lines)

    def markdown(self) -> str:
        """``BENCHMARKS.md``: the environment, the table and the notes."""
        env = self.env
        out = [
            "# SCJD benchmarks",
            "",
            "Produced by `scjd bench` (do not edit by hand; re-run the command to update).",
            "",
            f"- command: `{env['command']}`",
            f"- date: {env['date']}",
            f"- machine: {env['machine']}, CPU: {env['cpu']} ({env['cpus']} cores, torch threads "
            f"{env['torch_threads']}), GPU: {env['gpu'] or 'none'}",
            f"- versions: scjd {env['scjd']}, python {env['python']}, torch {env['torch']}, numpy {env['numpy']}, "
            f"onnxruntime {env['onnxruntime']}, onnx {env['onnx']}, opencv {env['opencv-python']}, "
            f"mediapipe {env['mediapipe']}, scipy {env['scipy']}",
            f"- load average at start / end: {_fmt_load(env.get('load_average_start'))} / "
            f"{_fmt_load(env.get('load_average_end'))} (the machine is shared: timings are the best of "
            "several runs)",
            "",
            "| section | figure | value | target | | note |",
            "|---|---|---|---|---|---|",
        ]
        out += ["| " + " | ".join(c.replace("|", "/") for c in r.cells()) + " |" for r in self.rows]
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_json(self) -> dict[str, Any]:
        """The same figures, machine-readable."""
        return {"environment": self.env, "rows": [asdict(r) for r in self.rows], "notes": self.notes}


def _fmt_load(load: Sequence[float] | None) -> str:
    return "n/a" if not load else ", ".join(f"{x:.2f}" for x in load)


def write_outputs(report: Report, markdown: str | os.PathLike[str] | None, json_path: str | None) -> list[Path]:
    """Write ``BENCHMARKS.md`` and the JSON (atomically); returns the paths written."""
    from scjd_core.atomic import atomic_write

    written = []
    if markdown:
        with atomic_write(markdown, "w", overwrite=True) as handle:
            handle.write(report.markdown())
        written.append(Path(markdown))
    if json_path:
        with atomic_write(json_path, "w", overwrite=True) as handle:
            json.dump(report.to_json(), handle, indent=2)
            handle.write("\n")
        written.append(Path(json_path))
    return written
