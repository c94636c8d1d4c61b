"""Building blocks of ``scjd bench``: the models to time and the timers.

Kept apart from :mod:`scjd_core.bench.command` (which decides *what* is measured) so
that the long-run subprocess (:mod:`scjd_core.bench.longrun`) can build the same
backends cheaply.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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
