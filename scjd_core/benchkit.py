"""Building blocks of ``scjd bench``: models to time, timers, machine facts, the report.

Kept apart from :mod:`scjd_core.bench` (which decides *what* is measured) so that the
long-run subprocess (:mod:`scjd_core.longrun`) can build the same backends cheaply.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The registered size benchmarked when no shipped checkpoint exists.
DEFAULT_SIZES = {"student": "student-s", "teacher": "teacher-s"}


def make_backend(model: str, engine: str = "torch", device: str = "cpu", batch_size: int = 64) -> tuple[Any, str]:
    """A lifting backend to time, and a note saying which weights it runs.

    Args:
        model: ``"student"`` / ``"teacher"``: the shipped checkpoint when present, else a
            randomly initialised ``student-s`` / ``teacher-s`` (speed does not depend on
            weight values); or any registered name (random init).
        engine: ``"torch"`` or ``"onnx"`` (ONNX Runtime, CPU).
        device: torch device for the ``"torch"`` engine.
        batch_size: windows per forward.

    Returns:
        ``(backend, note)``, e.g. ``"shipped assets/models/student.safetensors"``.
    """
    import torch

    from scjd_core.backends.lifter import MODEL_KINDS, ModelBackend, default_checkpoint, load_backend
    from scjd_core.models import checkpoint_paths, create_model

    backend = None
    if model in MODEL_KINDS and checkpoint_paths(default_checkpoint(model))[0].is_file():
        backend = load_backend(model, device=device)
        note = f"shipped assets/models/{Path(str(backend.meta.get('checkpoint'))).name}"
    else:
        name = DEFAULT_SIZES.get(model, model)
        torch.manual_seed(0)
        backend = ModelBackend(create_model(name), {"model": name}, device=device)
        note = f"random-init {name} (no shipped checkpoint)" if model in MODEL_KINDS else f"random-init {name}"
    backend.batch_size = int(batch_size)
    if engine == "onnx":
        from scjd_core.backends.onnx_backend import OnnxBackend

        backend = OnnxBackend(backend.model, backend.meta, batch_size=batch_size, name=backend.name)
    return backend, note


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up (the least disturbed run)."""
    fn()
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def latencies_ms(fn: Callable[[], Any], calls: int) -> dict[str, float]:
    """Median, 95th percentile and minimum of ``calls`` timed calls, in ms (after 3 warm-ups)."""
    for _ in range(3):
        fn()
    samples = []
    for _ in range(max(2, calls)):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    return {
        "median": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))],
        "min": samples[0],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as the user typed it (``scjd bench ...`` or ``python -m scjd_core.bench ...``)."""
    argv = list(sys.argv if argv is None else argv)
    prog = Path(argv[0]).name if argv else "scjd"
    if prog in ("bench.py", "__main__.py", "-m", "-c") or prog.startswith("python"):
        head = ["python", "-m", "scjd_core.bench"]
        rest = argv[1:]
    else:
        head, rest = [prog], argv[1:]
    return shlex.join(head + rest)


def environment(command: str) -> dict[str, Any]:
    """Machine, CPU model, versions, date, the command and the load when the bench started."""
    import torch

    from scjd_core import __version__

    env = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "scjd": __version__,
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    for dist in ("torch", "numpy", "onnxruntime", "onnx", "opencv-python", "mediapipe", "scipy"):
        env[dist] = _version(dist)
    return env


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
