"""What a lifter returns for a batch of dense windows: one type for the teacher and the student.

Both models take a batch of whole ``T``-frame windows through
:meth:`~scjd_core.models.Teacher.forward_dense` /
:meth:`~scjd_core.models.Student.forward_dense` and return a :class:`LiftOutput`, so a
caller (the lifting backend, the FLOP counter, the ONNX export, the benchmarks, the
training loops) never asks which model it holds. The teacher reads all ``T`` frames; the
student reads ``K`` of them and says which (``indices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor


def nearest_sample(indices: Tensor, window: int) -> Tensor:
    """For every window position, the slot (0..K-1) of the nearest sampled frame.

    Ties go to the earlier slot. Used to give non-sampled frames the attention maps
    of their nearest input frame.

    Args:
        indices: ``(K,)`` window positions.
        window: ``T``.

    Returns:
        ``(T,)`` int64 slots.
    """
    t = torch.arange(window, device=indices.device)
    return (t[:, None] - indices[None, :]).abs().argmin(dim=1)


@dataclass
class LiftOutput:
    """What one forward of a lifter over a batch of ``T``-frame windows returns.

    ``N`` is the number of window frames the model read: ``T`` for the teacher, ``K`` for
    the student.

    Attributes:
        pose: ``(B, T, 17, 3)`` root-relative camera-frame metres of every window frame
            (pelvis exactly 0); the student's come from its upsampling head.
        attention: one ``(B, N, heads, 17, 17)`` row-stochastic map per spatial block, at
            the frames read (empty when the forward was asked not to keep them).
        embedding: ``(B, N, 17, C)`` final joint embeddings of the frames read (the
            teacher's are the multi-frame context feature: every token has attended to the
            whole window).
        pose_sparse: ``(B, K, 17, 3)`` the student's poses of its K input frames, before
            upsampling; None for the teacher.
        indices: ``(K,)`` (or per-sample ``(B, K)``) window positions of the frames the
            student read; None when the model read every frame (the teacher).
    """

    pose: Tensor
    attention: list[Tensor]
    embedding: Tensor
    pose_sparse: Tensor | None = None
    indices: Tensor | None = None

    def frame_attention(self) -> Tensor:
        """The spatial attention of every window frame: ``(B, T, blocks, heads, 17, 17)``.

        A frame the model did not read gets the maps of the nearest frame it read (ties:
        the earlier one, see :func:`nearest_sample`).

        Raises:
            ValueError: when the maps were not kept, or the frames read differ per sample.
        """
        if not self.attention:
            raise ValueError("the attention maps were not kept: run the forward with return_attention=True")
        maps = torch.stack(self.attention, dim=2)  # (B, N, blocks, heads, 17, 17)
        if self.indices is None:
            return maps
        if self.indices.ndim != 1:
            raise ValueError("per-frame attention needs the same (K,) frame positions for every sample")
        window = int(self.pose.shape[1])  # a Python int: T stays a constant in traced (ONNX) graphs
        return maps[:, nearest_sample(self.indices, window)]


#: Former names of :class:`LiftOutput` (the teacher's and the student's forward return the same type).
TeacherOutput = LiftOutput
StudentOutput = LiftOutput


class DenseLifter(Protocol):
    """The interface every lifter offers its callers: the teacher, the student (and test doubles)."""

    config: Any

    def forward_dense(self, x: Tensor, phase: int = 0, return_attention: bool = True) -> LiftOutput:
        """Lift a batch of dense windows ``(B, T, 17, 3)``; see :meth:`Student.forward_dense`."""
        ...


def lift_windows(model: DenseLifter, windows: Tensor, attention: bool) -> tuple[Tensor, Tensor | None]:
    """Poses of every frame of a batch of windows, and with ``attention`` their spatial maps.

    The per-batch computation of the lifting backend, and the graph its ONNX export traces.

    Args:
        model: a teacher or student (anything with :meth:`~DenseLifter.forward_dense`).
        windows: ``(B, T, 17, 3)`` normalised screen x, y and confidence.
        attention: also return the maps (:meth:`LiftOutput.frame_attention`).

    Returns:
        ``(pose (B, T, 17, 3), maps (B, T, blocks, heads, 17, 17) or None)``.
    """
    out = model.forward_dense(windows, return_attention=attention)
    return out.pose, (out.frame_attention() if attention else None)
