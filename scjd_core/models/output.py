"""What a lifter returns for a batch of dense windows: one type for the teacher and the student.

Both models take a batch of whole ``T``-frame windows through
:meth:`~scjd_core.models.Teacher.forward_dense` /
:meth:`~scjd_core.models.Student.forward_dense` and return a :class:`LiftOutput`, so a
caller (the lifting backend, the FLOP counter, the ONNX export, the benchmarks, the
training loops) never asks which model it holds. The teacher reads all ``T`` frames; the
student reads ``K`` of them and says which (``indices``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import torch
from torch import Tensor

from scjd_core.skeleton import FLIP_PERMUTATION

#: The permutation as Python ints: torch.compile folds a tuple into the graph as a constant,
#: where a numpy array becomes a guarded graph input whose guard fails under inference_mode.
_FLIP_ORDER = tuple(int(i) for i in FLIP_PERMUTATION)


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


@functools.lru_cache(maxsize=8)
def flip_index(device: torch.device) -> Tensor:
    """The left/right joint permutation as an index tensor on ``device``, made once per
    device: a live step on the GPU must not copy it from the host on every frame.

    Made outside inference mode even when first asked for inside it: an inference tensor
    cached here would break every later forward that autograd records."""
    with torch.inference_mode(False):
        return torch.tensor(_FLIP_ORDER, dtype=torch.long, device=device)


def mirror(values: Tensor) -> Tensor:
    """Mirror ``(..., 17, C)`` joints left to right: negate channel 0 (normalised screen x,
    or camera-frame X) and swap left and right joints, as the training data's mirroring does.

    Its own inverse: it mirrors windows of 2D inputs (x, y, confidence) and 3D poses alike.
    """
    out = values.index_select(-2, flip_index(values.device))
    return torch.cat([-out[..., :1], out[..., 1:]], dim=-1)


def mean_with_mirrored(direct: Tensor, of_mirror: Tensor) -> Tensor:
    """The test-time flip's answer: the mean of the direct poses and the mirrored-back poses
    that the mirrored input gave."""
    return 0.5 * (direct + mirror(of_mirror))


def use_flip(model: Any, flip: bool | None) -> bool:
    """Whether a ``forward_dense`` call flip-averages: ``flip`` when given, else the model's
    ``config.test_flip`` in eval mode (training forwards never flip by default)."""
    if flip is not None:
        return bool(flip)
    return bool(getattr(model.config, "test_flip", False)) and not model.training


def flip_averaged(run: Callable[[Tensor], LiftOutput], x: Tensor) -> LiftOutput:
    """Test-time flip augmentation: ``run`` on ``x`` and its mirror in one batch, poses averaged.

    The mirrored half's poses are mirrored back and averaged with the direct half's; the
    attention maps, embeddings and frame positions are the direct half's.

    Args:
        run: one forward over a batch of windows (what ``forward_dense`` does without the flip).
        x: ``(B, T, 17, 3)`` normalised screen x, y and confidence.
    """
    b = x.shape[0]
    out = run(torch.cat([x, mirror(x)]))

    def average(pose: Tensor | None) -> Tensor | None:
        return None if pose is None else mean_with_mirrored(pose[:b], pose[b:])

    indices = out.indices
    if indices is not None and indices.ndim == 2:
        indices = indices[:b]
    return replace(
        out,
        pose=average(out.pose),
        pose_sparse=average(out.pose_sparse),
        attention=[a[:b] for a in out.attention],
        embedding=out.embedding[:b],
        indices=indices,
    )


#: Former names of :class:`LiftOutput` (the teacher's and the student's forward return the same type).
TeacherOutput = LiftOutput
StudentOutput = LiftOutput


class DenseLifter(Protocol):
    """The interface every lifter offers its callers: the teacher, the student (and test doubles)."""

    config: Any

    def forward_dense(
        self, x: Tensor, phase: int = 0, return_attention: bool = True, flip: bool | None = None
    ) -> LiftOutput:
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
