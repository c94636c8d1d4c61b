"""Growing a trained lifter deeper keeps what it computes (scjd_core.models.grow)."""

from __future__ import annotations

import pytest
import torch

from scjd_core.models import create_model
from scjd_core.models.grow import (
    default_teacher_blocks,
    growable_depth,
    load_deepened,
    load_from_teacher,
    parse_teacher_blocks,
)


def _trained(name: str, **overrides):
    """A model whose weights are all non-trivial (as a trained one's are): random, not the init."""
    torch.manual_seed(3)
    net = create_model(name, **overrides)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.2)
    return net.eval()


@pytest.mark.parametrize("name", ["student-tiny", "teacher-tiny"])
def test_a_grown_model_computes_what_the_shallow_one_did(name: str) -> None:
    start = _trained(name)
    deep = create_model(name, depth=3).eval()
    assert load_deepened(deep, start) == 2
    x = torch.rand(2, start.config.window, 17, 3)
    a, b = start.forward_dense(x), deep.forward_dense(x)
    torch.testing.assert_close(b.pose, a.pose, rtol=0, atol=1e-5)
    torch.testing.assert_close(b.embedding, a.embedding, rtol=0, atol=1e-5)
    assert len(b.attention) == 3
    for old, new in zip(a.attention, b.attention):
        torch.testing.assert_close(new, old, rtol=0, atol=1e-6)
    # the new blocks train: their zeroed layers get gradients
    deep.train()
    deep.forward_dense(x).pose.square().sum().backward()
    grad = deep.encoder.spatial[2].attn.proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_a_flip_forward_with_autograd_works_after_inference_mode() -> None:
    model = _trained("student-tiny")
    x = torch.rand(1, model.config.window, 17, 3)
    with torch.inference_mode():  # the first flip forward (as the product's lifting runs) caches the permutation
        model.forward_dense(x, flip=True)
    model.forward_dense(x.requires_grad_(), flip=True).pose.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_growing_refuses_other_changes() -> None:
    start = _trained("student-tiny")
    assert growable_depth(start.config.to_dict(), create_model("student-tiny", depth=2).config.to_dict())
    assert not growable_depth(start.config.to_dict(), start.config.to_dict())
    for other in (create_model("student-tiny", depth=2, dim=16), create_model("student-tiny")):
        with pytest.raises(ValueError, match="cannot grow"):
            load_deepened(other, start)


def test_a_student_started_from_the_teacher_computes_its_poses_when_it_reads_every_frame() -> None:
    teacher = _trained("teacher-tiny", depth=3)
    student = create_model("student-tiny", dim=16, heads=2, depth=3, frames=9, stride=1).eval()
    assert load_from_teacher(student, teacher) == (0, 1, 2)
    x = torch.rand(2, teacher.config.window, 17, 3)
    a, b = teacher.forward_dense(x), student.forward_dense(x)
    torch.testing.assert_close(b.pose, a.pose, rtol=0, atol=1e-5)
    torch.testing.assert_close(b.embedding, a.embedding, rtol=0, atol=1e-5)


def test_a_shallower_student_copies_the_chosen_teacher_blocks() -> None:
    teacher = _trained("teacher-tiny", depth=4)
    student = create_model("student-tiny", dim=16, heads=2, depth=2).eval()
    assert load_from_teacher(student, teacher) == (0, 3)  # default: first and last
    assert load_from_teacher(student, teacher, (1, 2)) == (1, 2)
    for mine, theirs in ((0, 1), (1, 2)):
        for kind in ("spatial", "temporal"):
            a = getattr(student.encoder, kind)[mine].state_dict()
            b = getattr(teacher.encoder, kind)[theirs].state_dict()
            assert all(torch.equal(a[k], b[k]) for k in a)
    torch.testing.assert_close(student.head.weight, teacher.head.weight)
    torch.testing.assert_close(student.encoder.time_pos, teacher.encoder.time_pos)


def test_default_teacher_blocks_spread_from_first_to_last() -> None:
    assert default_teacher_blocks(2, 4) == (0, 3)
    assert default_teacher_blocks(3, 4) == (0, 2, 3)
    assert default_teacher_blocks(1, 4) == (3,)
    assert default_teacher_blocks(4, 4) == (0, 1, 2, 3)
    with pytest.raises(ValueError, match="cannot copy"):
        default_teacher_blocks(5, 4)


def test_starting_from_the_teacher_refuses_what_does_not_fit() -> None:
    teacher = _trained("teacher-tiny", depth=2)
    with pytest.raises(ValueError, match="dim 8 vs the teacher's 16"):
        load_from_teacher(create_model("student-tiny"), teacher)
    student = create_model("student-tiny", dim=16, heads=2, depth=2)
    for blocks in ((0,), (0, 2)):
        with pytest.raises(ValueError, match="do not fit"):
            load_from_teacher(student, teacher, blocks)


@pytest.mark.parametrize(("text", "blocks"), [("auto", None), ("0,3", (0, 3)), (" 1 ", (1,))])
def test_teacher_blocks_parse(text: str, blocks) -> None:
    assert parse_teacher_blocks(text) == blocks


@pytest.mark.parametrize("text", ["", "a,b", "3,0", "1,1", "-1"])
def test_bad_teacher_blocks_get_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="teacher blocks must be"):
        parse_teacher_blocks(text)
