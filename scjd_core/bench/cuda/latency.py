"""CUDA measurements of accuracy and latency: fp16/bf16 parity, streaming, copies per live step."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

from scjd_core.bench.cuda.base import BenchBase
from scjd_core.bench.cuda.common import autocast, error_text
from scjd_core.bench.cuda.copies import attribute_copies, describe_copies, direction
from scjd_core.bench.cuda.environment import tf32_flags
from scjd_core.bench.cuda.inputs import realistic_window_sequence, realistic_windows, synthetic_windows
from scjd_core.bench.cuda.settings import DTYPES, FP16_TOLERANCE_M, LIVE_COPIES_TARGET, RESERVE_S
from scjd_core.bench.kit import latencies_ms


class LatencyMeasurements(BenchBase):
    """fp16 / bf16 parity, streaming latency and host<->device copies of every model."""

    def parity(self, kind: str) -> None:
        """fp16 / bf16 autocast against fp32 on the device, and GPU fp32 against CPU fp32."""
        import numpy as np

        torch, backend, sz = self.torch, self.backends[kind], self.sizes
        real = realistic_windows(backend.window, sz.parity_real)
        synth = synthetic_windows(backend.window, sz.parity_synthetic, seed=1)
        parts = [p for p in (real, synth) if p is not None]
        n_real = 0 if real is None else real.shape[0]
        x_np = np.concatenate(parts)
        x = torch.from_numpy(x_np).to(self.device)
        ref = self._forward(kind, "fp32")(x).float().cpu().numpy()
        src = f"{n_real} windows of the demo clip's MediaPipe keypoints + {synth.shape[0]} synthetic"
        self.parity_ok[kind] = {"fp32": True}
        for label in ("fp16", "bf16"):
            try:
                out = self._forward(kind, label)(x).float().cpu().numpy()
            except Exception as exc:
                self.add(f"{kind} {label} parity (max abs vs fp32)", None, "mm", note=f"ERROR: {error_text(exc)}")
                self.parity_ok[kind][label] = False
                continue
            diff = np.abs(out - ref)
            worst, real_worst = float(diff.max()), float(diff[:n_real].max()) if n_real else float("nan")
            ok = bool(worst <= FP16_TOLERANCE_M)
            self.parity_ok[kind][label] = ok
            self.add(
                f"{kind} {label} parity (max abs vs fp32)",
                worst * 1000.0,
                "mm",
                f"<= {FP16_TOLERANCE_M * 1000:g} mm",
                ok,
                f"{worst:.2e} m; mean {float(diff.mean()) * 1000:.3g} mm, max on the real windows "
                f"{real_worst * 1000:.3g} mm; "
                f"{src}; {'usable' if ok else 'keep fp32'}",
            )
        if self.cuda:
            cpu_backend = type(backend)(copy.deepcopy(backend.model).to("cpu"), backend.meta, device="cpu", name=kind)
            with torch.inference_mode():
                cpu = cpu_backend._forward(torch.from_numpy(x_np), False)[0].float().numpy()
            diff = float(np.abs(cpu - ref).max())
            mm, dnn = tf32_flags(torch)
            self.add(
                f"{kind} fp32 GPU vs CPU (max abs)",
                diff * 1000.0,
                "mm",
                note=f"same windows; TF32 matmul {'on' if mm else 'off'}, cuDNN TF32 {'on' if dnn else 'off'}"
                + (" (the student's 1-D convolutions run through cuDNN)" if dnn and kind == "student" else ""),
            )
        del x
        self._free()

    def streaming(self, kind: str) -> None:
        """Latency per new frame: one window per lift() call (live mode), fp32 and autocast."""
        torch, backend = self.torch, self.backends[kind]
        seq = realistic_window_sequence(backend.window)
        calls = self.sizes.stream_calls[kind]
        self.stream_ms[kind] = {}
        for label in DTYPES:
            if self.left() - RESERVE_S < 1.0:
                self.report.notes.append(f"{kind} streaming {label}: skipped (budget)")
                continue
            try:
                with autocast(torch, self.device, label):
                    lat = latencies_ms(lambda b=backend, s=seq: b.lift(s), calls)
            except Exception as exc:
                self.add(
                    f"{kind} streaming {label} latency per new frame", None, "ms", note=f"ERROR: {error_text(exc)}"
                )
                continue
            self.stream_ms[kind][label] = lat["median"]
            self.add(
                f"{kind} streaming {label} latency per new frame",
                lat["median"],
                "ms",
                note=f"median of {calls} lift() calls of one {backend.window}-frame window (as live mode); "
                f"p95 {lat['p95']:.3f} ms, min {lat['min']:.3f} ms"
                + ("" if label == "fp32" else f" ({label} autocast)"),
            )

    def _profile(self, fn: Callable[[], Any], steps: int) -> tuple[int, int, list[dict[str, Any]] | None, str]:
        """Profile ``steps`` calls: ``(memcpy HtoD+DtoH events, GPU events, attributed groups, error)``."""
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        for _ in range(2):
            fn()
        self.clock.sync()
        with profile(activities=activities, with_stack=True) as prof:
            for _ in range(steps):
                fn()
            self.clock.sync()
        events = list(prof.events())
        device_events = [e for e in events if "CUDA" in str(getattr(e, "device_type", ""))]
        memcpy = [e for e in device_events if "Memcpy" in e.name and direction(e.name)]
        if not device_events:  # older layouts keep the kernels on their CPU ops only
            kernels = [k for e in events for k in getattr(e, "kernels", [])]
            device_events = kernels
            memcpy = [k for k in kernels if "Memcpy" in k.name and direction(k.name)]
        groups, err = None, ""
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "trace.json")
                prof.export_chrome_trace(path)
                with open(path, encoding="utf-8") as handle:
                    groups = attribute_copies(json.load(handle), steps)
        except Exception as exc:
            err = error_text(exc)
        return len(memcpy), len(device_events), groups, err

    def copies(self, kind: str) -> None:
        """Host<->device copies of one live step (one lift() of one window), counted and attributed."""
        backend = self.backends[kind]
        seq = realistic_window_sequence(backend.window)
        steps = self.sizes.copy_steps
        n_copies, n_gpu, groups, err = self._profile(lambda: backend.lift(seq), steps)
        window_bytes = backend.window * seq.keypoints.shape[1] * 3 * 4
        self._report_copies(
            f"{kind} host<->device copies per live step",
            n_copies,
            n_gpu,
            groups,
            err,
            steps,
            window_bytes,
            "lift() of one window",
        )

    def _report_copies(
        self, name: str, n_copies: int, n_gpu: int, groups: Any, err: str, steps: int, window_bytes: int, what: str
    ) -> None:
        per_step = n_copies / steps
        if groups is not None and self.cuda:  # the trace's memcpy events, attributed
            per_step = sum(g["per_step"] for g in groups)
        self.outcome.copies[name] = {
            "per_step": per_step,
            "profiler_events_per_step": n_copies / steps,
            "steps": steps,
            "groups": groups,
            "error": err,
        }
        if self.cuda and n_gpu == 0:
            self.add(name, None, "copies", note="ERROR: the profiler recorded no GPU activity (CUPTI unavailable?)")
            return
        detail = describe_copies(groups or [], window_bytes) if groups else (err or "no copies")
        if not self.cuda:
            detail = "CPU run: no device, no copies possible"
        self.add(
            name,
            per_step,
            "copies",
            f"<= {LIVE_COPIES_TARGET} (window in, poses out)",
            per_step <= LIVE_COPIES_TARGET,
            f"torch.profiler memcpy events over {steps} live steps ({what}); {detail}",
        )
