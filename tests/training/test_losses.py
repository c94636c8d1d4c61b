"""SCJD losses: zero when the student equals the teacher, positive otherwise, gradients flow."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from scjd_core import skeleton
from training.losses import (
    AJADLoss,
    DistillConfig,
    DistillLoss,
    DJEDLoss,
    TCDLoss,
    mpjpe_loss,
    teacher_block_for,
    velocity_loss,
)

B, T, K, J, C = 2, 9, 3, skeleton.NUM_JOINTS, 8


def _attention(*shape: int) -> torch.Tensor:
    return torch.softmax(torch.randn(*shape, J, J), dim=-1)


def _identity_djed(dim: int = C) -> DJEDLoss:
    loss = DJEDLoss(dim, dim)
    with torch.no_grad():
        loss.proj.weight.copy_(torch.eye(dim))
        loss.proj.bias.zero_()
    return loss


def test_mpjpe_loss_hand_computed() -> None:
    pred = torch.zeros(1, 1, 2, 3)
    target = torch.tensor([[[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]]])
    assert mpjpe_loss(pred, target).item() == pytest.approx(3.0)  # (5 + 1) / 2


def test_velocity_loss_ignores_constant_offset() -> None:
    pose = torch.randn(B, T, J, 3)
    assert velocity_loss(pose + 1.0, pose).item() == pytest.approx(0.0, abs=1e-6)
    moved = pose.clone()
    moved[:, 4] += 0.1
    assert velocity_loss(moved, pose).item() > 0


def test_djed_zero_for_identical_embeddings_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    loss = _identity_djed()
    emb = torch.randn(B, K, J, C)
    pose = torch.randn(B, K, J, 3)
    target = torch.randn(B, K, J, 3)
    assert loss(emb, emb, pose, target).item() == pytest.approx(0.0, abs=1e-10)
    student = (emb + 0.1 * torch.randn_like(emb)).requires_grad_(True)
    value = loss(student, emb, pose, target)
    assert value.item() > 0
    value.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert loss.proj.weight.grad is not None and loss.proj.weight.grad.abs().sum() > 0


def test_djed_weights_average_one_and_favour_reliable_joints() -> None:
    loss = DJEDLoss(C, 2 * C, temperature=0.05)
    target = torch.zeros(B, K, J, 3)
    teacher = torch.zeros(B, K, J, 3)
    teacher[..., 3, 0] = 0.2  # the teacher is 20 cm off on joint 3
    w = loss.joint_weights(teacher, target)
    assert w.shape == (B, J)
    torch.testing.assert_close(w.mean(dim=-1), torch.ones(B))
    assert (w[:, 3] < w[:, 0]).all()


def test_teacher_block_mapping() -> None:
    assert [teacher_block_for(i, 2, 4) for i in range(2)] == [1, 3]
    assert [teacher_block_for(i, 3, 3) for i in range(3)] == [0, 1, 2]
    assert [teacher_block_for(i, 4, 2) for i in range(4)] == [0, 0, 1, 1]


@pytest.mark.parametrize("mode", ["kl", "mse"])
@pytest.mark.parametrize("off_weight", [0.0, 0.2])
def test_ajad_zero_for_identical_maps_and_positive_otherwise(mode: str, off_weight: float) -> None:
    torch.manual_seed(1)
    loss = AJADLoss(hops=1, off_weight=off_weight, mode=mode)
    teacher = [_attention(B, K, 4) for _ in range(4)]
    # Student with 2 blocks and 2 heads whose head average equals the mapped teacher blocks.
    same = [teacher[teacher_block_for(i, 2, 4)].mean(dim=2, keepdim=True).expand(B, K, 2, J, J) for i in range(2)]
    assert loss(same, teacher).item() == pytest.approx(0.0, abs=1e-6)
    logits = torch.randn(B, K, 2, J, J, requires_grad=True)
    student = [torch.softmax(logits, dim=-1), same[1]]
    value = loss(student, teacher)
    assert value.item() > 0
    value.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_ajad_restricted_ignores_non_adjacent_pairs() -> None:
    loss = AJADLoss(hops=1, off_weight=0.0, mode="mse")
    teacher = [_attention(B, K, 1)]
    student = [teacher[0].clone()]
    far = ~torch.as_tensor(skeleton.adjacency(1))
    student[0][..., far] += 0.05  # only non-adjacent pairs differ
    assert loss(student, teacher).item() == pytest.approx(0.0, abs=1e-10)
    assert AJADLoss(hops=1, off_weight=0.5, mode="mse")(student, teacher).item() > 0


def test_tcd_zero_for_identical_output_and_velocity_term_counts() -> None:
    pose = torch.randn(B, T, J, 3)
    assert TCDLoss(1.0)(pose, pose).item() == pytest.approx(0.0, abs=1e-10)
    student = (pose + 0.01 * torch.randn_like(pose)).requires_grad_(True)
    with_vel = TCDLoss(1.0)(student, pose)
    without = TCDLoss(0.0)(student, pose)
    assert with_vel.item() > without.item() > 0
    with_vel.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0


def _outputs(teacher_dim: int = C) -> tuple[SimpleNamespace, SimpleNamespace, torch.Tensor, torch.Tensor]:
    indices = torch.tensor([1, 4, 7])
    teacher = SimpleNamespace(
        pose=torch.randn(B, T, J, 3),
        attention=[_attention(B, T, 2) for _ in range(2)],
        embedding=torch.randn(B, T, J, teacher_dim),
    )
    student = SimpleNamespace(
        pose_sparse=teacher.pose[:, indices].clone().requires_grad_(True),
        pose=teacher.pose.clone().requires_grad_(True),
        attention=[a[:, indices].clone().requires_grad_(True) for a in teacher.attention],
        embedding=teacher.embedding[:, indices].clone().requires_grad_(True),
    )
    return student, teacher, teacher.pose.clone(), indices


def test_distill_loss_equals_pose_loss_when_student_is_teacher() -> None:
    torch.manual_seed(2)
    student, teacher, target, indices = _outputs()
    loss = DistillLoss(DistillConfig(), student_dim=C, teacher_dim=C)
    with torch.no_grad():
        loss.djed.proj.weight.copy_(torch.eye(C))
        loss.djed.proj.bias.zero_()
    parts = loss(student, teacher, target, indices)
    assert set(parts) == {"loss", "pose", "djed", "ajad", "tcd"}
    for name in ("loss", "pose", "djed", "ajad", "tcd"):
        assert parts[name].item() == pytest.approx(0.0, abs=1e-6), name


def test_distill_loss_positive_with_gradients_to_student_and_projection() -> None:
    torch.manual_seed(3)
    student, teacher, target, indices = _outputs(teacher_dim=2 * C)
    cfg = DistillConfig(lambda_djed=0.5, lambda_ajad=2.0, balance=False)
    loss = DistillLoss(cfg, student_dim=C, teacher_dim=2 * C)
    target = target + 0.05 * torch.randn_like(target)
    student.pose = (student.pose.detach() + 0.02 * torch.randn_like(student.pose)).requires_grad_(True)
    student.embedding = torch.randn(B, K, J, C, requires_grad=True)
    parts = loss(student, teacher, target, indices)
    assert all(parts[n].item() > 0 for n in ("pose", "djed", "tcd"))
    expected = parts["pose"] + 0.5 * parts["djed"] + 2.0 * parts["ajad"] + parts["tcd"]
    torch.testing.assert_close(parts["loss"], expected)
    parts["loss"].backward()
    for t in (student.pose_sparse, student.pose, student.embedding):
        assert t.grad is not None and t.grad.abs().sum() > 0
    assert loss.djed.proj.weight.grad is not None
    assert teacher.pose.grad is None  # the teacher is a constant


def test_zero_lambdas_switch_terms_off_and_need_no_teacher() -> None:
    torch.manual_seed(4)
    student, _teacher, target, indices = _outputs()
    cfg = DistillConfig(lambda_djed=0.0, lambda_ajad=0.0, lambda_tcd=0.0)
    loss = DistillLoss(cfg)
    assert not cfg.distills and loss.djed is None and loss.ajad is None and loss.tcd is None
    assert list(loss.parameters()) == []
    parts = loss(student, None, target, indices)
    assert set(parts) == {"loss", "pose"}
    with pytest.raises(ValueError, match="teacher"):
        DistillLoss(DistillConfig(lambda_djed=0.0, lambda_ajad=0.0))(student, None, target, indices)


@pytest.mark.parametrize(
    "kwargs",
    [{"lambda_tcd": -1.0}, {"ajad_mode": "l1"}, {"djed_temperature": 0.0}, {"ajad_off_weight": -0.1}],
)
def test_config_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        DistillConfig(**kwargs)


def test_balanced_terms_weigh_lambda_times_the_pose_loss_and_adapt_only_in_training() -> None:
    torch.manual_seed(4)
    student, teacher, target, indices = _outputs(teacher_dim=C)
    target = target + 0.05 * torch.randn_like(target)
    student.embedding = torch.randn(B, K, J, C)
    student.pose = student.pose.detach() + 0.02 * torch.randn_like(student.pose)
    student.attention = [_attention(B, K, 2) for _ in student.attention]
    loss = DistillLoss(DistillConfig(lambda_djed=0.5, lambda_ajad=2.0, lambda_tcd=1.0), student_dim=C, teacher_dim=C)
    parts = loss(student, teacher, target, indices)
    # first step: every term is rescaled to its λ times the pose loss, whatever its raw size
    torch.testing.assert_close(parts["loss"], parts["pose"] * (1 + 0.5 + 2.0 + 1.0))
    scale = loss.balance_scale.clone()
    assert torch.isfinite(scale).all() and "balance_scale" in loss.state_dict()
    loss.eval()
    loss(student, teacher, target, indices)
    torch.testing.assert_close(loss.balance_scale, scale)  # evaluation does not move the running ratios
    loss.train()
    student.pose = student.pose + 0.1  # training steps move the ratios, slowly (momentum 0.99)
    loss(student, teacher, target, indices)
    moved = (loss.balance_scale - scale).abs() / scale
    assert (moved > 0).any() and (moved < 0.05).all()
