"""The CUDA benchmark's state and guard: budget, rows, and a failure becoming a row, not a crash."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scjd_core.bench.cuda.common import autocast, error_text
from scjd_core.bench.cuda.inputs import synthetic_windows
from scjd_core.bench.cuda.settings import RESERVE_S, SECTION, sizes_for
from scjd_core.bench.cuda.timing import Clock
from scjd_core.bench.report import Report


@dataclass
class Outcome:
    """What a run produced besides the report rows (kept for the JSON)."""

    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    copies: dict[str, Any] = field(default_factory=dict)
    sweeps: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    aborted: bool = False


class BenchBase:
    """What every CUDA measurement shares: the backends, the budget, the guard, the rows.

    The measurements are methods of the subclasses (:mod:`~scjd_core.bench.cuda.latency`,
    :mod:`~scjd_core.bench.cuda.throughput`, :mod:`~scjd_core.bench.cuda.student`),
    put together by :class:`~scjd_core.bench.cuda.runner.CudaBench`; each runs through
    :meth:`step`, and rows go into ``report`` (section ``"cuda"``).

    Args:
        report: the report to add rows and notes to.
        device: ``"cuda"``, or ``"cpu"`` for the tiny forced test run.
        quick: fewer sizes and repeats.
        budget_s: wall-clock budget from ``t0`` (steps that do not fit are skipped).
        t0: ``time.perf_counter()`` at the start of the run.
        label: what each row is marked with (the GPU name).
        log: print progress lines to stderr.
    """

    def __init__(
        self,
        report: Report,
        device: str,
        quick: bool,
        budget_s: float,
        t0: float | None = None,
        label: str = "",
        log: bool = True,
    ) -> None:
        import torch

        self.torch = torch
        self.report = report
        self.device = device
        self.cuda = device == "cuda"
        self.quick = quick
        self.sizes = sizes_for(device, quick)
        self.budget_s = float(budget_s)
        self.t0 = time.perf_counter() if t0 is None else t0
        self.label = label or device
        self.log = log
        self.clock = Clock(torch, device)
        self.outcome = Outcome()
        self.backends: dict[str, Any] = {}
        self.notes_on_weights: dict[str, str] = {}
        self.checkpoints: dict[str, str | None] = {}
        self.fps: dict[str, dict[str, tuple[float, int]]] = {}  # kind -> dtype -> (frames/s, windows)
        self.parity_ok: dict[str, dict[str, bool]] = {}
        self.stream_ms: dict[str, dict[str, float]] = {}
        self.dead = False  # the CUDA context failed: no more GPU work
        self.plain_capture: bool | None = None  # whether the student captured as it is (None: not tried)

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.t0)

    def _say(self, text: str) -> None:
        if self.log:
            print(f"[bench_cuda {time.perf_counter() - self.t0:5.1f}s] {text}", file=sys.stderr, flush=True)

    def add(
        self, name: str, value: float | None, unit: str, target: str = "", ok: bool | None = None, note: str = ""
    ) -> None:
        self.report.add(SECTION, name, value, unit, target, ok, note, device=self.label)

    def step(self, name: str, fn: Callable[[], Any], need_s: float = 1.0) -> Any:
        """Run one measurement; a failure (or a missing budget) becomes a row saying so."""
        if self.dead:
            self.outcome.skipped[name] = "the CUDA context failed earlier"
            self.add(name, None, "", note="skipped: the CUDA context failed earlier")
            return None
        if self.left() - RESERVE_S < need_s:
            reason = f"skipped: {max(0.0, self.left()):.0f} s of the --budget-s left, needs about {need_s:.0f} s"
            self.outcome.skipped[name] = reason
            self.add(name, None, "", note=reason)
            self._say(f"{name}: {reason}")
            return None
        self._say(name)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn()
            except Exception as exc:
                msg = error_text(exc)
                self.outcome.errors[name] = msg
                self.add(name, None, "", note=f"ERROR: {msg}")
                self._say(f"{name}: ERROR {msg}")
                if os.environ.get("SCJD_BENCH_TRACEBACK"):
                    traceback.print_exc()
                self._check_context()
                return None
            finally:
                self.outcome.timings_s[name] = round(time.perf_counter() - t0, 2)
                seen = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}" for w in caught})
                for text in seen[:3]:
                    self.report.notes.append(f"warning during '{name}': {text}")

    def _check_context(self) -> None:
        if not self.cuda:
            return
        try:
            self.torch.cuda.synchronize()
            self.torch.cuda.empty_cache()
        except Exception as exc:
            self.dead = True
            self.report.notes.append(f"the CUDA context failed ({error_text(exc)}): later GPU steps skipped")

    def _free(self) -> None:
        if self.cuda and not self.dead:
            with contextlib.suppress(Exception):
                self.torch.cuda.synchronize()
                self.torch.cuda.empty_cache()

    def _forward(self, kind: str, label: str) -> Callable[[Any], Any]:
        """``x (B, T, 17, 3) on the device -> poses (B, T, 17, 3)``, exactly the lifter's forward."""
        torch, backend = self.torch, self.backends[kind]

        def fn(x: Any) -> Any:
            with torch.inference_mode(), autocast(torch, self.device, label):
                return backend._forward(x, False)[0]

        return fn

    def _device_windows(self, kind: str, batch: int) -> Any:
        base = synthetic_windows(self.backends[kind].window, min(batch, 64))
        x = self.torch.from_numpy(base).to(self.device)
        reps = -(-batch // x.shape[0])
        return x.repeat(reps, 1, 1, 1)[:batch].contiguous()
