"""The models the CUDA benchmark times: loading them, and the largest batch they can take."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def max_windows(model: Any) -> int:
    """Windows per forward that keep every activation under 2**31 elements (32-bit indexing)."""
    cfg = model.config
    frames = getattr(cfg, "frames", cfg.window)  # the student's encoder sees K frames
    per_window = cfg.num_joints * frames * max(3 * cfg.dim, round(cfg.dim * cfg.mlp_ratio), cfg.heads * cfg.num_joints)
    if hasattr(cfg, "refine_dim"):
        per_window = max(per_window, cfg.num_joints * cfg.window * max(cfg.refine_dim, cfg.dim))
    return max(1, (2**31 - 1) // per_window)


def load_model(kind: str, device: str, checkpoint: str | None) -> tuple[Any, str]:
    """A :class:`ModelBackend` of ``kind`` on ``device``: the given checkpoint, else shipped, else random-init."""
    from scjd_core.backends.lifter import load_backend
    from scjd_core.bench.kit import make_backend

    if checkpoint:
        backend = load_backend(kind, device=device, checkpoint=checkpoint)
        return backend, f"checkpoint {checkpoint}"
    return make_backend(kind, "torch", device)


def lifted_poses(model: Any) -> Callable[[Any], Any]:
    """``x (B, T, 17, 3) on the device -> poses (B, T, 17, 3)``: the model's ``forward_dense``
    as ``lift()`` runs it (phase 0, the test-time flip when the model's config asks for it),
    for CUDA graphs and ``torch.compile``, so they time the work the product does."""

    def fwd(x: Any) -> Any:
        return model.forward_dense(x, return_attention=False).pose

    return fwd
