"""Cost figures of a lifter: parameters, FLOPs per output frame, CPU latency.

* FLOPs: one batch-1 forward counted by :class:`torch.utils.flop_counter.FlopCounterMode`
  (via :func:`scjd_core.models.flops_per_output_frame`), divided by the ``T`` frames it
  outputs (the student reads ``K`` frames but outputs all ``T``).
* Latency: one window (batch 1) on the CPU under ``torch.inference_mode``; the median of
  ``repeats`` timed forwards after ``warmup`` untimed ones, all models timed round-robin.
  Per frame = per window / ``T``.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


def cpu_latencies_ms(
    models: Sequence[nn.Module], window: torch.Tensor, repeats: int = 30, warmup: int = 5
) -> list[float]:
    """Median CPU time (ms) of one forward of one window, for each model.

    The models are timed round-robin (one forward of each per round), so a burst of
    load from other processes hits every model alike instead of one row of the table.

    Args:
        models: teachers, students or anything else with ``forward_dense(window, return_attention=False)``
            (CPU copies are timed; the originals are untouched).
        window: ``(1, T, 17, 3)`` input window (real data, not zeros).
        repeats: timed rounds.
        warmup: untimed rounds first.
    """
    cpu_models = [copy.deepcopy(m).to("cpu").eval() for m in models]
    window = window.to("cpu")
    times: list[list[float]] = [[] for _ in cpu_models]
    with torch.inference_mode():
        for r in range(max(warmup, 0) + max(repeats, 1)):
            for i, model in enumerate(cpu_models):
                t0 = time.perf_counter()
                model.forward_dense(window, return_attention=False)
                if r >= warmup:
                    times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) * 1000.0 for t in times]


def cost_figures(model: nn.Module, latency_ms: float) -> dict[str, Any]:
    """Parameters, FLOPs per output frame and the CPU latency (per window and per frame) of ``model``."""
    from scjd_core.models import count_parameters, flops_per_output_frame

    cpu_model = copy.deepcopy(model).to("cpu").eval()
    frames_out = int(cpu_model.config.window)
    return {
        "params": count_parameters(cpu_model),
        "flops_per_frame": float(flops_per_output_frame(cpu_model)),
        "latency_window_ms": latency_ms,
        "latency_frame_ms": latency_ms / frames_out,
        "frames_in": int(getattr(cpu_model.config, "frames", frames_out)),
        "frames_out": frames_out,
    }


def latency_setup(repeats: int, warmup: int) -> dict[str, Any]:
    """How latency was measured (for the results' metadata)."""
    return {
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "batch": 1,
        "repeats": repeats,
        "warmup": warmup,
        "statistic": "median",
        "order": "round-robin over the models",
        "mode": "torch.inference_mode, attention maps not returned",
    }
