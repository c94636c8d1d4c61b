"""Helpers for the end-to-end tests: the real pipeline on the bundled demo clip."""

from __future__ import annotations

import time
from pathlib import Path

from scjd_app.main import DEMO_CLIP
from scjd_app.worker import Job

__all__ = ["DEMO_CLIP", "demo_job", "wait_until"]


def model_checkpoints(tmp: Path) -> tuple[tuple[str, str], ...]:
    """The shipped checkpoints when the repository has them, else tiny fresh ones in ``tmp``.

    The tiny ones come from the core's own registry and checkpoint writer, so the
    viewer runs the very same loading and lifting code either way.
    """
    from scjd_core.models import checkpoint_paths
    from scjd_core.models.shipped import default_checkpoint

    if all(checkpoint_paths(default_checkpoint(k))[0].is_file() for k in ("teacher", "student")):
        return ()
    import torch

    from scjd_core.models import create_model, save_checkpoint

    torch.manual_seed(0)
    out = []
    for kind in ("teacher", "student"):
        save_checkpoint(create_model(f"{kind}-tiny"), tmp / kind, {"note": "test fixture, random weights"})
        out.append((kind, str(tmp / kind)))
    return tuple(out)


def demo_job(tmp: Path) -> Job:
    """Teacher, student and MediaPipe world on the CPU."""
    return Job(
        source="",
        backends=("teacher", "student", "mediapipe"),
        device="cpu",
        checkpoints=model_checkpoints(tmp),
    )


def wait_until(app, condition, timeout_s: float = 60.0) -> bool:
    """Run the event loop until ``condition()`` holds; False on timeout."""
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.005)
    return condition()
