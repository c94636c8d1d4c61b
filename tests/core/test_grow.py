"""Growing a trained lifter deeper keeps what it computes (scjd_core.models.grow)."""

from __future__ import annotations

import pytest
import torch

from scjd_core.models import create_model
from scjd_core.models.grow import growable_depth, load_deepened


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
