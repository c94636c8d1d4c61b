"""The dense teacher: MixSTE-style sequence-to-sequence 2D-to-3D lifter (METHOD.md, Teacher)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from scjd_core.models.blocks import SpatioTemporalEncoder, init_weights, subtract_root
from scjd_core.models.config import TeacherConfig
from scjd_core.skeleton import ROOT


@dataclass
class TeacherOutput:
    """What one teacher forward returns.

    Attributes:
        pose: ``(B, T, 17, 3)`` root-relative camera-frame metres (pelvis exactly 0).
        attention: one ``(B, T, heads, 17, 17)`` row-stochastic map per spatial block
            (empty when the forward was asked not to keep them).
        embedding: ``(B, T, 17, C_t)`` final joint embeddings, the multi-frame context
            feature (every token has attended to the whole window).
    """

    pose: Tensor
    attention: list[Tensor]
    embedding: Tensor


class Teacher(nn.Module):
    """Alternating spatial/temporal transformer over a dense window of ``T`` frames.

    Args:
        config: a :class:`TeacherConfig` (or ``None`` for the defaults).
    """

    kind = "teacher"

    def __init__(self, config: TeacherConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else TeacherConfig()
        self.encoder = SpatioTemporalEncoder(self.config)
        self.head = nn.Linear(self.config.dim, 3)
        self.apply(init_weights)
        self.register_buffer("positions", torch.arange(self.config.window), persistent=False)

    @property
    def window(self) -> int:
        """Frames per window ``T``."""
        return self.config.window

    def forward(self, x: Tensor, return_attention: bool = True) -> TeacherOutput:
        """Lift a batch of dense windows.

        Args:
            x: ``(B, T, 17, 3)`` normalised screen x, y and confidence.
            return_attention: keep the spatial attention maps in the output (they are
                computed either way, so the poses do not depend on this flag).

        Returns:
            A :class:`TeacherOutput`.

        Raises:
            ValueError: when ``x`` does not have the configured shape.
        """
        cfg = self.config
        if x.ndim != 4 or tuple(x.shape[1:]) != (cfg.window, cfg.num_joints, cfg.in_dim):
            raise ValueError(
                f"teacher expects input (B, {cfg.window}, {cfg.num_joints}, {cfg.in_dim}), got {tuple(x.shape)}"
            )
        tokens, maps = self.encoder(x, self.positions, keep_attention=return_attention)
        pose = subtract_root(self.head(tokens), ROOT)
        return TeacherOutput(pose=pose, attention=maps, embedding=tokens)
