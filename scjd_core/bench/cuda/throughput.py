"""CUDA measurements of throughput: device-resident batch sweeps and lift() from numpy."""

from __future__ import annotations

import time
from typing import Any

from scjd_core.bench.cuda.base import BenchBase
from scjd_core.bench.cuda.common import autocast, error_text, fmt_rate
from scjd_core.bench.cuda.models import max_windows
from scjd_core.bench.cuda.settings import DTYPES, RESERVE_S, STUDENT_GPU_FPS_TARGET


class ThroughputMeasurements(BenchBase):
    """Batched throughput per dtype over a batch sweep, and through ModelBackend.lift()."""

    def throughput(self, kind: str) -> None:
        """Device-resident batched throughput per dtype over the batch sweep (best reported)."""
        torch, backend, sz = self.torch, self.backends[kind], self.sizes
        window = backend.window
        self.fps[kind] = {}
        sweep: dict[str, dict[int, Any]] = {}
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        for label in DTYPES:
            sweep[label] = {}
            fn = self._forward(kind, label)
            for batch in sz.batches[kind]:
                if self.dead or self.left() - RESERVE_S < 1.5:
                    sweep[label][batch] = "skipped (budget)"
                    continue
                if batch > max_windows(backend.model):
                    sweep[label][batch] = "skipped (an activation would pass 2**31 elements)"
                    continue
                x = None
                try:
                    x = self._device_windows(kind, batch)
                    t = self.clock.per_call_s(lambda f=fn, x=x: f(x), sz.repeats, sz.run_s)
                    sweep[label][batch] = batch * window / t["median"]
                except Exception as exc:
                    sweep[label][batch] = f"error: {error_text(exc, 160)}"
                    self._check_context()
                finally:
                    del x
                    self._free()
            measured = {b: v for b, v in sweep[label].items() if isinstance(v, float)}
            notes = ", ".join(f"{b}: {fmt_rate(v) if isinstance(v, float) else v}" for b, v in sweep[label].items())
            name = f"{kind} batched {label}"
            target = f">= {STUDENT_GPU_FPS_TARGET:,.0f}" if kind == "student" and self.cuda else ""
            if not measured:
                self.add(name, None, "frames/s", target, None, f"ERROR: nothing measured; windows per forward: {notes}")
                continue
            best = max(measured, key=lambda b: measured[b])
            self.fps[kind][label] = (measured[best], best)
            ok = measured[best] >= STUDENT_GPU_FPS_TARGET if target else None
            self.add(
                name,
                measured[best],
                "frames/s",
                target,
                ok,
                f"{measured[best] / window:,.0f} windows/s at {best} windows per forward (best); frames/s by "
                f"windows per forward: {notes}; device-resident input, median of {sz.repeats}"
                + ("" if label == "fp32" else f"; {label} autocast"),
            )
        self.outcome.sweeps[kind] = {lab: {str(b): v for b, v in s.items()} for lab, s in sweep.items()}
        if self.cuda:
            peak = torch.cuda.max_memory_allocated() / 2**30
            self.report.notes.append(f"{kind} batched sweep: peak GPU memory allocated {peak:.2f} GiB")

    def best_label(self, kind: str) -> str:
        """The fastest dtype whose parity is within tolerance (fp32 when none measured)."""
        fps = self.fps.get(kind, {})
        ok = [lab for lab in fps if self.parity_ok.get(kind, {}).get(lab, lab == "fp32")]
        return max(ok, key=lambda lab: fps[lab][0]) if ok else "fp32"

    def lift_from_numpy(self, kind: str) -> None:
        """Throughput of ModelBackend.lift() on a long synthetic clip (host work and transfers included)."""
        import numpy as np

        from scjd_core.synthetic import synthetic_stream

        torch, backend = self.torch, self.backends[kind]
        windows = self.sizes.lift_batch[kind]
        if kind in self.fps and "fp32" in self.fps[kind]:
            windows = min(self.fps[kind]["fp32"][1], max(windows, 1))
        frames = windows * backend.window
        seq = next(synthetic_stream(frames, chunk=frames))
        old = backend.batch_size
        backend.batch_size = windows
        labels = ["fp32"] + ([self.best_label(kind)] if self.best_label(kind) != "fp32" else [])
        try:
            for label in labels:
                with autocast(torch, self.device, label):
                    backend.lift(seq)
                    samples = []
                    for _ in range(max(2, self.sizes.repeats)):
                        t0 = time.perf_counter()
                        backend.lift(seq)
                        samples.append(time.perf_counter() - t0)
                secs = float(np.median(samples))
                target = f">= {STUDENT_GPU_FPS_TARGET:,.0f}" if kind == "student" and self.cuda else ""
                self.add(
                    f"{kind} lift() from numpy {label}",
                    frames / secs,
                    "frames/s",
                    target,
                    frames / secs >= STUDENT_GPU_FPS_TARGET if target else None,
                    f"one lift() of {frames:,} frames ({windows} windows per forward): host normalisation, "
                    f"pageable copies in and out included; median of {len(samples)}"
                    + ("" if label == "fp32" else f"; {label} autocast"),
                )
        finally:
            backend.batch_size = old
            self._free()
