"""The CUDA benchmark as a whole: :class:`CudaBench` and the GPU rows of ``scjd bench``."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from scjd_core.bench.cuda.common import fmt_rate
from scjd_core.bench.cuda.models import load_model
from scjd_core.bench.cuda.settings import FP16_TOLERANCE_M, KINDS, MACHINE_NOTE, SECTION
from scjd_core.bench.cuda.student import StudentExtras
from scjd_core.bench.report import Report


class CudaBench(StudentExtras):
    """The measurements, each guarded; rows go into ``report`` (section ``"cuda"``).

    See :class:`~scjd_core.bench.cuda.base.BenchBase` for the arguments.
    """

    def load(self, checkpoints: dict[str, str | None], kinds: Sequence[str] = KINDS) -> None:
        """Load the student and the teacher on the device (shipped, given or random-init)."""
        for kind in kinds:
            self.checkpoints[kind] = checkpoints.get(kind)
            self.step(f"{kind} load", lambda k=kind: self._load(k, checkpoints.get(k)))

    def _load(self, kind: str, checkpoint: str | None) -> None:
        backend, note = load_model(kind, self.device, checkpoint)
        self.backends[kind] = backend
        self.notes_on_weights[kind] = note
        self.report.notes.append(f"{kind} weights: {note}")

    def use_backends(self, backends: dict[str, Any]) -> None:
        """Measure these (already on the device) instead of loading."""
        self.backends.update(backends)

    def run_all(self, compile_opts: dict[str, Any] | None = None) -> None:
        """Every measurement in order of importance; the student's extras last."""
        kinds = [k for k in KINDS if k in self.backends]
        for kind in kinds:
            self.step(f"{kind} fp16/bf16 parity", lambda k=kind: self.parity(k), need_s=2)
        for kind in kinds:
            self.step(f"{kind} streaming latency", lambda k=kind: self.streaming(k), need_s=2)
        for kind in kinds:
            self.step(f"{kind} copies per live step", lambda k=kind: self.copies(k), need_s=3)
        for kind in kinds:
            self.step(f"{kind} batched throughput", lambda k=kind: self.throughput(k), need_s=4)
        for kind in kinds:
            self.step(f"{kind} lift() from numpy", lambda k=kind: self.lift_from_numpy(k), need_s=2)
        if "student" in self.backends:
            if self.cuda:
                self.step("student CUDA graph live step", self.cuda_graph_live, need_s=3)
                self.step("student CUDA graph batched", self.cuda_graph_batched, need_s=3)
            else:
                self.outcome.skipped["student CUDA graph"] = "CUDA graphs need a GPU"
            if compile_opts is not None:
                self.step("student torch.compile", lambda: self.compiled(**compile_opts), need_s=15)
        self.summary()

    def summary(self) -> None:
        """Notes: the fastest measured student path and the dtype to use."""
        rows = [
            r
            for r in self.report.rows
            if r.section == SECTION and r.name.startswith("student") and r.unit == "frames/s" and r.value is not None
        ]
        if rows:
            best = max(rows, key=lambda r: r.value or 0.0)
            self.report.notes.append(f"fastest student path measured: {best.name}, {best.value:,.0f} frames/s")
        for kind in KINDS:
            if kind in self.fps and self.fps[kind]:
                lab = self.best_label(kind)
                self.report.notes.append(
                    f"{kind}: fastest dtype within {FP16_TOLERANCE_M * 1000:g} mm of fp32: {lab} "
                    f"({fmt_rate(self.fps[kind][lab][0])} frames/s batched)"
                )


def cuda_rows(report: Report, cpu_backends: dict[str, Any], quick: bool) -> None:
    """GPU rows of ``scjd bench`` (every model, marked with the device name; no torch.compile)."""
    import torch

    from scjd_core.backends.lifter import ModelBackend

    label = torch.cuda.get_device_name(0)
    bench = CudaBench(report, "cuda", quick, budget_s=120.0 if quick else 300.0, label=label)
    bench.use_backends(
        {
            kind: ModelBackend(copy.deepcopy(b.model), b.meta, device="cuda", name=kind)
            for kind, b in cpu_backends.items()
        }
    )
    bench.run_all(None)
    report.notes.append(
        f"CUDA rows on {label}, {MACHINE_NOTE}: torch.compile is measured by scripts/bench_cuda.py only"
    )
