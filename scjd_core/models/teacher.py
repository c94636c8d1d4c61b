"""The dense teacher: MixSTE-style sequence-to-sequence 2D-to-3D lifter (METHOD.md, Teacher)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from scjd_core.models.blocks import SpatioTemporalEncoder, init_weights, subtract_root
from scjd_core.models.config import TeacherConfig
from scjd_core.models.output import LiftOutput, TeacherOutput, flip_averaged, use_flip
from scjd_core.skeleton import ROOT


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

    def forward_dense(
        self, x: Tensor, phase: int = 0, return_attention: bool = True, flip: bool | None = None
    ) -> LiftOutput:
        """Lift a batch of dense windows: the call every user of a lifter makes (see :class:`LiftOutput`).

        The teacher reads every frame, so this is :meth:`forward` (with the test-time flip
        when it is on: :func:`~scjd_core.models.output.flip_averaged`).

        Args:
            x: ``(B, T, 17, 3)`` normalised screen x, y and confidence.
            phase: the sampling phase of a sparse model; the dense teacher has none and
                ignores it (accepted so that every lifter is called alike).
            return_attention: keep the spatial attention maps in the output.
            flip: average with the mirrored windows' poses (None: ``config.test_flip`` in
                eval mode, never in training mode).

        Returns:
            A :class:`LiftOutput` with ``pose``, ``attention`` and ``embedding`` of all ``T``
            frames (``pose_sparse`` and ``indices`` are None).

        Raises:
            ValueError: when ``x`` does not have the configured shape.
        """
        if use_flip(self, flip):
            return flip_averaged(lambda w: self(w, return_attention=return_attention), x)
        return self(x, return_attention=return_attention)

    def forward(self, x: Tensor, return_attention: bool = True) -> TeacherOutput:
        """Lift a batch of dense windows.

        Args:
            x: ``(B, T, 17, 3)`` normalised screen x, y and confidence.
            return_attention: keep the spatial attention maps in the output (they are
                computed either way, so the poses do not depend on this flag).

        Returns:
            A :class:`TeacherOutput` (:class:`LiftOutput`): ``pose`` ``(B, T, 17, 3)``, one
            ``(B, T, heads, 17, 17)`` attention map per spatial block and the ``(B, T, 17, C_t)``
            joint embeddings (the multi-frame context feature).

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
