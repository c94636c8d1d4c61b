"""``scjd bench`` rows on a CUDA GPU (only called when one is present).

Per model: batched throughput in fp32 and in fp16 (``torch.autocast``), the fp16 parity
against fp32 (max abs difference in metres; fp16 is recommended only where it stays
within :data:`FP16_TOLERANCE_M`), streaming latency per new frame, and the host<->device
copies one live-mode step makes (counted with the CUDA profiler: live mode should move
one small input window in and one pose out per frame, never the model or a whole clip).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from scjd_core.benchkit import Report, best_time, latencies_ms

#: fp16 is "accurate enough" when it moves no joint by more than this (metres).
FP16_TOLERANCE_M = 1e-3


def _autocast(half: bool) -> Any:
    import torch

    return torch.autocast("cuda", dtype=torch.float16) if half else contextlib.nullcontext()


def _copies_per_step(backend: Any, seq: Any) -> int:
    """Host<->device memcpy events of one streaming lift (one live-mode step)."""
    from torch.profiler import ProfilerActivity, profile

    backend.lift(seq)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        backend.lift(seq)
    events = [e for e in prof.events() if "Memcpy" in e.name and ("HtoD" in e.name or "DtoH" in e.name)]
    return len(events)


def cuda_rows(report: Report, cpu_backends: dict[str, Any], quick: bool) -> None:
    """GPU rows for every model (marked with the device name)."""
    import numpy as np
    import torch

    from scjd_core.backends.lifter import ModelBackend
    from scjd_core.longrun import synthetic_stream

    device = torch.cuda.get_device_name(0)
    for kind, cpu_backend in cpu_backends.items():
        backend = ModelBackend(copy.deepcopy(cpu_backend.model), cpu_backend.meta, device="cuda", name=kind)
        backend.batch_size = 256
        windows = (64 if quick else 512) if kind == "student" else (16 if quick else 128)
        seq = next(synthetic_stream(windows * backend.window, chunk=windows * backend.window))
        poses = {}
        for half in (False, True):
            label = "fp16" if half else "fp32"
            with _autocast(half):
                secs = best_time(lambda b=backend, s=seq: b.lift(s), 2 if quick else 4)
                poses[label] = backend.lift(seq).poses
            report.add(
                "cuda",
                f"{kind} batched {label}",
                len(seq) / secs,
                "frames/s",
                note=f"{windows / secs:,.0f} windows/s",
                device=device,
            )
        diff = float(np.abs(poses["fp16"] - poses["fp32"]).max())
        report.add(
            "cuda",
            f"{kind} fp16 parity (max abs vs fp32)",
            diff * 1000.0,
            "mm",
            f"<= {FP16_TOLERANCE_M * 1000:g} mm",
            diff <= FP16_TOLERANCE_M,
            "fp16 usable" if diff <= FP16_TOLERANCE_M else "keep fp32",
            device=device,
        )
        window = next(synthetic_stream(backend.window, chunk=backend.window))
        for half in (False, True):
            with _autocast(half):
                lat = latencies_ms(lambda b=backend, w=window: b.lift(w), 20 if quick else 100)
            report.add(
                "cuda",
                f"{kind} streaming latency {'fp16' if half else 'fp32'}",
                lat["median"],
                "ms",
                note=f"p95 {lat['p95']:.2f} ms",
                device=device,
            )
        copies = _copies_per_step(backend, window)
        report.add(
            "cuda",
            f"{kind} host<->device copies per live frame",
            copies,
            "copies",
            "<= 2 (window in, pose out)",
            copies <= 2,
            device=device,
        )
