"""Compute and size figures of a model: parameters and FLOPs per output frame."""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return int(sum(p.numel() for p in model.parameters()))


def example_window(model: nn.Module, batch: int = 1) -> torch.Tensor:
    """Zero dense windows ``(batch, T, 17, 3)`` on the model's device, for one :meth:`forward_dense`."""
    cfg = model.config
    device = next(model.parameters()).device
    return torch.zeros(batch, cfg.window, cfg.num_joints, cfg.in_dim, device=device)


def forward_flops(model: nn.Module, batch: int = 1) -> int:
    """FLOPs of one forward on ``batch`` windows, counted by :class:`torch.utils.flop_counter.FlopCounterMode`.

    The counter counts matrix products, convolutions and attention (2 FLOPs per
    multiply-add); element-wise work (norms, activations, softmax) is not counted.
    Attention is counted through SDPA's math backend: the counter has no formula for
    the fused CPU kernel and would silently count it as 0. The student picks its ``K``
    frames of the window itself (phase 0, as at inference); picking them costs no FLOPs.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    window = example_window(model, batch)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model.forward_dense(window)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def flops_per_output_frame(model: nn.Module) -> float:
    """FLOPs of one single-window forward divided by the ``T`` frames it outputs.

    The teacher reads and outputs T frames; the student reads K frames and outputs T
    (its upsampled window), so this is the fair "compute per 3D pose" figure.
    """
    return forward_flops(model, batch=1) / float(model.config.window)
