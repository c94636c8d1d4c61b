"""Learning curves: validation MPJPE against step and against wall-clock minutes, as a PNG.

Reads the ``val.csv`` logs the training loop writes (``RUNS/teacher/val.csv`` and
``RUNS/students/val.csv``: ``step, member, val_mpjpe_mm, time_s``) and draws one line per
member in two panels. ``python -m training curves --runs runs/recipe --out docs/learning_curves.png``.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError


def read_val_logs(runs: str | Path) -> dict[str, list[tuple[int, float, float]]]:
    """``member -> [(step, minutes, val MPJPE mm), ...]`` from every ``val.csv`` under ``runs`` (one level down).

    Raises:
        InputError: when no log is found.
    """
    runs = Path(runs)
    logs = sorted(runs.glob("*/val.csv"))
    if not logs:
        raise InputError(f"no */val.csv under {runs}: point --runs at a recipe's run folder (e.g. runs/recipe)")
    out: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for log in logs:
        with log.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out[row["member"]].append((int(row["step"]), float(row["time_s"]) / 60.0, float(row["val_mpjpe_mm"])))
    return {k: sorted(v) for k, v in out.items()}


def plot_curves(runs: str | Path, out: str | Path, title: str = "") -> Path:
    """Write the two-panel PNG (step, minutes) and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = read_val_logs(runs)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=110)
    for name, points in curves.items():
        steps, minutes, mm = zip(*points, strict=True)
        style = {"linewidth": 2.2} if name in ("teacher", "scjd") else {"linewidth": 1.2, "alpha": 0.8}
        axes[0].plot(steps, mm, label=name, **style)
        axes[1].plot(minutes, mm, label=name, **style)
    for ax, xlabel in zip(axes, ("optimisation step", "wall-clock minutes (stage)"), strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation MPJPE (mm)")
        ax.grid(alpha=0.3)
        low = min(p[2] for pts in curves.values() for p in pts)
        ax.set_ylim(max(0.0, low * 0.9), min(low * 3.0, max(p[2] for pts in curves.values() for p in pts)))
    axes[0].legend(fontsize=8)
    fig.suptitle(title or f"validation MPJPE ({Path(runs).as_posix()})")
    fig.tight_layout()
    out = Path(out)
    with atomic_write(out, "wb", overwrite=True) as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return out
