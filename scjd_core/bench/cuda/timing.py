"""Per-call timing for the CUDA benchmark: CUDA events on a GPU, the host clock on the CPU."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


class Clock:
    """Per-call time of a function: CUDA events on a GPU, the host clock on the CPU.

    Each figure is the median of ``repeats`` runs of back-to-back calls, the number of
    calls per run chosen so that one run lasts about ``run_s`` (after two warm-up calls).
    """

    def __init__(self, torch: Any, device: str) -> None:
        self.torch = torch
        self.cuda = device == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def _run(self, fn: Callable[[], Any], iters: int) -> float:
        self.sync()
        if self.cuda:
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return time.perf_counter() - t0

    def per_call_s(self, fn: Callable[[], Any], repeats: int, run_s: float, max_iters: int = 50) -> dict[str, float]:
        """``{"median", "min"}`` seconds per call and the ``"iters"`` per timed run."""
        fn()
        fn()
        once = self._run(fn, 1)
        iters = max(1, min(max_iters, int(run_s / max(once, 1e-7))))
        samples = sorted(self._run(fn, iters) / iters for _ in range(max(1, repeats)))
        return {"median": statistics.median(samples), "min": samples[0], "iters": float(iters)}
