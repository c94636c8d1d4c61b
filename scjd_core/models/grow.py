"""Grow a trained lifter deeper without changing what it computes (Net2Net-style).

A model of ``depth`` ``d`` is copied into a model of the same configuration but a larger
``depth`` ``D``: the first ``d`` [spatial, temporal] block pairs get the trained weights and
the ``D - d`` new pairs are appended after them as **identity** blocks (the output
projection of their attention and the second layer of their MLP start at zero, so both
residual branches add nothing). The grown model returns exactly the poses, maps and
embeddings of the original; training then fits the new blocks from there, instead of
starting a larger model from scratch. Used by ``--init`` of the training commands when
the checkpoint is shallower than the model being trained.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from scjd_core.models.blocks import Block


def growable_depth(start: dict[str, Any], target: dict[str, Any]) -> bool:
    """True when config dict ``target`` is ``start`` with only a larger ``depth``."""
    same = {k: v for k, v in start.items() if k != "depth"} == {k: v for k, v in target.items() if k != "depth"}
    return same and int(target.get("depth", 0)) > int(start.get("depth", 0))


def identity_block(block: Block) -> None:
    """Zero a pre-norm block's residual branches (attention output projection, second MLP layer)."""
    for layer in (block.attn.proj, block.mlp.fc2):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)


def load_deepened(net: nn.Module, start: nn.Module) -> int:
    """Load the shallower trained ``start`` into ``net`` and make ``net``'s extra blocks identities.

    Args:
        net: the deeper model (teacher or student), freshly built.
        start: a trained model of the same kind whose config differs only by a smaller depth.

    Returns:
        The number of block pairs added.

    Raises:
        ValueError: when the configurations do not allow it (:func:`growable_depth`).
    """
    old, new = start.config.to_dict(), net.config.to_dict()  # type: ignore[operator]
    if not growable_depth(old, new):
        raise ValueError(f"cannot grow depth {old.get('depth')} into {new.get('depth')} with other options changed")
    missing, unexpected = net.load_state_dict(start.state_dict(), strict=False)
    if unexpected or any(not k.startswith(("encoder.spatial.", "encoder.temporal.")) for k in missing):
        raise ValueError(f"weights do not fit the deeper model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    encoder = net.encoder  # type: ignore[union-attr]
    depth = int(old["depth"])
    for blocks in (encoder.spatial, encoder.temporal):
        for block in list(blocks)[depth:]:
            identity_block(block)
    return int(new["depth"]) - depth
