"""SCJD training losses (METHOD.md, "Losses").

``L = L_pose + λ1·L_DJED + λ2·L_AJAD + λ3·L_TCD``; a λ of 0 switches a term off and
it is then not computed at all (nor are the teacher outputs only it needs).

* :func:`mpjpe_loss` - mean per-joint position error (metres), the pose term.
* :class:`DJEDLoss` - Dynamic Joint Embedding Distillation: a learned projection
  ``C_s -> C_t`` of the student's joint embeddings matched to the teacher's multi-frame
  context feature at the same frames, weighted per joint by how right the teacher is.
* :class:`AJADLoss` - Adjacent Joint Attention Distillation: head-averaged spatial
  attention maps matched block to block, restricted to / weighted towards
  skeleton-adjacent joint pairs.
* :class:`TCDLoss` - Temporal Consistency Distillation: the student's upsampled
  ``T``-frame output against the teacher's dense output, plus a velocity term.
* :class:`DistillLoss` - the sum, driven by a :class:`DistillConfig`.

All tensors follow the model contract: poses ``(B, T|K, 17, 3)`` metres, attention
``(B, T|K, heads, 17, 17)`` row-stochastic, embeddings ``(B, T|K, 17, C)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from scjd_core import skeleton
from training import distributed

_EPS = 1e-8


def mpjpe_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean per-joint position error: mean Euclidean distance over every joint of every frame.

    Args:
        pred: ``(..., J, 3)`` predicted positions.
        target: same shape, ground truth.

    Returns:
        Scalar tensor (units of the inputs).
    """
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def velocity_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean Euclidean distance between first differences over time (axis 1).

    Args:
        pred: ``(B, T, J, 3)``.
        target: ``(B, T, J, 3)``.

    Returns:
        Scalar tensor; zero when ``T < 2``.
    """
    if pred.shape[1] < 2:
        return pred.new_zeros(())
    return mpjpe_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1])


@dataclass
class DistillConfig:
    """Weights and options of the SCJD losses.

    Attributes:
        lambda_djed: weight λ1 of DJED (0 = off).
        lambda_ajad: weight λ2 of AJAD (0 = off).
        lambda_tcd: weight λ3 of TCD (0 = off).
        sparse_pose_weight: weight of the pose term on the student's ``K`` frames.
        dense_pose_weight: weight of the pose term on its upsampled ``T`` frames.
        djed_temperature: softmax temperature (metres) of the DJED joint weights; lower
            concentrates the weight on the joints the teacher gets most right.
        ajad_mode: ``"kl"`` (generalised KL, teacher -> student) or ``"mse"``.
        ajad_hops: joints at most this many bones apart count as adjacent (self-loops
            always count).
        ajad_off_weight: weight of non-adjacent pairs (0 = restricted to adjacent pairs).
        tcd_velocity_weight: weight of the velocity term inside TCD.
        balance: scale each distillation term by a running ratio ``|L_pose| / |term|`` (an
            exponential average of the detached magnitudes, no gradient), so that λ = 1 means
            "as strong as the pose loss" whatever the term's units. Without it the raw terms
            differ by orders of magnitude (AJAD's KL is ~20-1000x smaller than the others).
        balance_momentum: momentum of those running ratios.
    """

    lambda_djed: float = 1.0
    lambda_ajad: float = 1.0
    lambda_tcd: float = 1.0
    sparse_pose_weight: float = 1.0
    dense_pose_weight: float = 1.0
    djed_temperature: float = 0.05
    ajad_mode: str = "kl"
    ajad_hops: int = 1
    ajad_off_weight: float = 0.0
    tcd_velocity_weight: float = 1.0
    balance: bool = True
    balance_momentum: float = 0.99

    def __post_init__(self) -> None:
        for name in ("lambda_djed", "lambda_ajad", "lambda_tcd", "ajad_off_weight", "tcd_velocity_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.ajad_mode not in ("kl", "mse"):
            raise ValueError(f"ajad_mode must be 'kl' or 'mse', got {self.ajad_mode!r}")
        if self.djed_temperature <= 0:
            raise ValueError(f"djed_temperature must be > 0, got {self.djed_temperature}")

    @property
    def distills(self) -> bool:
        """Whether any distillation term is on (else the teacher is not needed)."""
        return self.lambda_djed > 0 or self.lambda_ajad > 0 or self.lambda_tcd > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for checkpoint metadata)."""
        return asdict(self)


class DJEDLoss(nn.Module):
    """Dynamic Joint Embedding Distillation.

    A linear projection maps the student's joint embeddings ``(B, K, 17, C_s)`` to the
    teacher's width; the target is the teacher's embedding at the same ``K`` frames
    (detached). Per-sample joint weights ``17 * softmax(-e / τ)`` over the joints, where
    ``e`` is the teacher's error on that joint averaged over the ``K`` frames, so they
    average 1 and favour joints the teacher gets right. They are recomputed every step
    and carry no gradient. The projection trains with the student and is dropped after
    training (it is not part of the student checkpoint).

    Args:
        student_dim: ``C_s``.
        teacher_dim: ``C_t``.
        temperature: softmax temperature in metres.
    """

    def __init__(self, student_dim: int, teacher_dim: int, temperature: float = 0.05) -> None:
        super().__init__()
        self.proj = nn.Linear(student_dim, teacher_dim)
        self.temperature = float(temperature)

    def joint_weights(self, teacher_pose: Tensor, target: Tensor) -> Tensor:
        """Per-sample joint weights ``(B, 17)`` from the teacher's per-joint error.

        Args:
            teacher_pose: ``(B, K, 17, 3)`` teacher prediction at the student's frames.
            target: ``(B, K, 17, 3)`` ground truth at those frames.
        """
        err = torch.linalg.vector_norm(teacher_pose.detach() - target, dim=-1).mean(dim=1)  # (B, 17)
        return torch.softmax(-err / self.temperature, dim=-1) * err.shape[-1]

    def forward(self, student_emb: Tensor, teacher_emb: Tensor, teacher_pose: Tensor, target: Tensor) -> Tensor:
        """Weighted mean squared error between projected student and teacher embeddings.

        Args:
            student_emb: ``(B, K, 17, C_s)``.
            teacher_emb: ``(B, K, 17, C_t)`` teacher embedding at the same frames.
            teacher_pose: ``(B, K, 17, 3)`` teacher poses at those frames.
            target: ``(B, K, 17, 3)`` ground truth at those frames.

        Returns:
            Scalar tensor.
        """
        weights = self.joint_weights(teacher_pose, target)  # (B, 17)
        sq = (self.proj(student_emb) - teacher_emb.detach()).pow(2).mean(dim=-1)  # (B, K, 17)
        return (sq * weights[:, None, :]).mean()


def teacher_block_for(student_block: int, student_blocks: int, teacher_blocks: int) -> int:
    """Teacher block matched to a student block: ``round((l + 1) * L_t / L_s) - 1``.

    The last student block always meets the last teacher block; with equal depths the
    mapping is the identity.
    """
    idx = int(round((student_block + 1) * teacher_blocks / student_blocks)) - 1
    return min(max(idx, 0), teacher_blocks - 1)


class AJADLoss(nn.Module):
    """Adjacent Joint Attention Distillation.

    Each student spatial block's head-averaged map ``(B, K, 17, 17)`` is matched to the
    head-averaged map of its proportional teacher block (:func:`teacher_block_for`) at
    the same frames. Pairs are weighted by ``W = A + off_weight * (1 - A)`` with ``A``
    the skeleton adjacency (``hops`` bones, self-loops included), so ``off_weight = 0``
    restricts the loss to adjacent pairs. ``"kl"`` uses the generalised (unnormalised)
    KL term ``p log(p/q) - p + q``, which is >= 0 element by element, so it stays a
    divergence under any weighting and equals KL(p||q) summed over a full row.

    Args:
        hops: adjacency reach in bones.
        off_weight: weight of non-adjacent pairs.
        mode: ``"kl"`` or ``"mse"``.
    """

    def __init__(self, hops: int = 1, off_weight: float = 0.0, mode: str = "kl") -> None:
        super().__init__()
        if mode not in ("kl", "mse"):
            raise ValueError(f"mode must be 'kl' or 'mse', got {mode!r}")
        adj = torch.as_tensor(skeleton.adjacency(hops=hops, self_loops=True), dtype=torch.float32)
        self.register_buffer("pair_weight", adj + off_weight * (1.0 - adj), persistent=False)
        self.mode = mode

    def _divergence(self, student: Tensor, teacher: Tensor) -> Tensor:
        if self.mode == "mse":
            return (student - teacher).pow(2)
        p = teacher.clamp_min(_EPS)
        q = student.clamp_min(_EPS)
        return p * (p.log() - q.log()) - p + q

    def forward(self, student_attn: list[Tensor], teacher_attn: list[Tensor]) -> Tensor:
        """Weighted divergence summed over each attention row, averaged over rows and blocks.

        Args:
            student_attn: per student block ``(B, K, H_s, 17, 17)``.
            teacher_attn: per teacher block ``(B, K, H_t, 17, 17)``, already taken at
                the student's frames.

        Returns:
            Scalar tensor.
        """
        if not student_attn:
            raise ValueError("AJAD needs at least one student attention map")
        w = self.pair_weight
        total = student_attn[0].new_zeros(())
        for l_s, s_map in enumerate(student_attn):
            t_map = teacher_attn[teacher_block_for(l_s, len(student_attn), len(teacher_attn))]
            div = self._divergence(s_map.mean(dim=2), t_map.detach().mean(dim=2))  # (B, K, 17, 17)
            total = total + (div * w).sum(dim=-1).mean()
        return total / len(student_attn)


class TCDLoss(nn.Module):
    """Temporal Consistency Distillation.

    The student's upsampled ``T``-frame output is supervised by the teacher's dense
    output (MPJPE, "global supervision") plus ``velocity_weight`` times the error of
    their first differences over time.

    Args:
        velocity_weight: weight of the velocity term.
    """

    def __init__(self, velocity_weight: float = 1.0) -> None:
        super().__init__()
        self.velocity_weight = float(velocity_weight)

    def forward(self, student_pose: Tensor, teacher_pose: Tensor) -> Tensor:
        """Args: ``student_pose`` and ``teacher_pose`` ``(B, T, 17, 3)``. Returns a scalar."""
        teacher_pose = teacher_pose.detach()
        loss = mpjpe_loss(student_pose, teacher_pose)
        if self.velocity_weight > 0:
            loss = loss + self.velocity_weight * velocity_loss(student_pose, teacher_pose)
        return loss


class DistillLoss(nn.Module):
    """The full student objective ``L_pose + λ1·L_DJED + λ2·L_AJAD + λ3·L_TCD``.

    Terms whose λ is 0 are neither built nor computed. The module owns the DJED
    projection: put :meth:`parameters` in the student's optimizer and do not ship it.

    Args:
        config: weights and options.
        student_dim: student embedding width ``C_s`` (needed when DJED is on).
        teacher_dim: teacher embedding width ``C_t`` (needed when DJED is on).
    """

    def __init__(self, config: DistillConfig, student_dim: int = 0, teacher_dim: int = 0) -> None:
        super().__init__()
        self.config = config
        self.djed = DJEDLoss(student_dim, teacher_dim, config.djed_temperature) if config.lambda_djed > 0 else None
        self.ajad = (
            AJADLoss(config.ajad_hops, config.ajad_off_weight, config.ajad_mode) if config.lambda_ajad > 0 else None
        )
        self.tcd = TCDLoss(config.tcd_velocity_weight) if config.lambda_tcd > 0 else None
        # Running |L_pose| / |term| of each term (NaN = not yet measured), see DistillConfig.balance.
        self.register_buffer("balance_scale", torch.full((3,), float("nan")))

    def _weight(self, slot: int, lam: float, pose: Tensor, term: Tensor) -> Tensor | float:
        """λ of a term, times its running magnitude ratio when balancing (updated in training).

        Under ``torchrun`` both magnitudes are first averaged over the ranks (equal shares: the
        global batch's means), so every rank scales by the ratio a single process would and the
        averaged gradient stays the single-process one.
        """
        if not self.config.balance:
            return lam
        if self.training and distributed.world_size() > 1:
            both = distributed.mean_over_ranks(torch.stack([pose.detach().float(), term.detach().float()]))
            pose, term = both[0], both[1]
        if self.training:
            ratio = (pose.detach().float() / term.detach().float().clamp_min(1e-12)).clamp(1e-3, 1e6)
            old = self.balance_scale[slot]
            m = self.config.balance_momentum
            self.balance_scale[slot] = torch.where(torch.isnan(old), ratio, m * old + (1 - m) * ratio)
        return lam * self.balance_scale[slot].nan_to_num(1.0)

    def forward(self, student_out: Any, teacher_out: Any | None, target: Tensor, indices: Tensor) -> dict:
        """Compute every active term.

        Args:
            student_out: the student's ``forward_dense`` output (a ``LiftOutput`` with
                ``pose_sparse``, ``pose``, ``attention``, ``embedding``).
            teacher_out: the teacher's ``forward_dense`` output on the same windows, or None
                when no distillation term is on.
            target: ``(B, T, 17, 3)`` ground truth of the whole window.
            indices: ``(K,)`` the student's frame positions in the window (its output's
                ``indices``).

        Returns:
            Dict of scalar tensors: ``loss`` (the total), ``pose`` and each active
            distillation term (``djed``, ``ajad``, ``tcd``), unweighted.
        """
        cfg = self.config
        sparse_target = target[:, indices]
        pose = cfg.sparse_pose_weight * mpjpe_loss(student_out.pose_sparse, sparse_target)
        pose = pose + cfg.dense_pose_weight * mpjpe_loss(student_out.pose, target)
        parts = {"pose": pose}
        total = pose
        if cfg.distills and teacher_out is None:
            raise ValueError("a distillation term is on but no teacher output was given")
        if self.djed is not None:
            parts["djed"] = self.djed(
                student_out.embedding,
                teacher_out.embedding[:, indices],
                teacher_out.pose[:, indices],
                sparse_target,
            )
            total = total + self._weight(0, cfg.lambda_djed, pose, parts["djed"]) * parts["djed"]
        if self.ajad is not None:
            teacher_maps = [a[:, indices] for a in teacher_out.attention]
            parts["ajad"] = self.ajad(list(student_out.attention), teacher_maps)
            total = total + self._weight(1, cfg.lambda_ajad, pose, parts["ajad"]) * parts["ajad"]
        if self.tcd is not None:
            parts["tcd"] = self.tcd(student_out.pose, teacher_out.pose)
            total = total + self._weight(2, cfg.lambda_tcd, pose, parts["tcd"]) * parts["tcd"]
        parts["loss"] = total
        return parts
