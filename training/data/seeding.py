"""Per-item random generators shared by the window datasets."""

from __future__ import annotations

import numpy as np


def item_rng(seed: int, index: int, train: bool, epoch: int | None) -> np.random.Generator:
    """The generator of one dataset item.

    Evaluation items (``train=False``) depend on ``(seed, index)`` only, so every run sees
    the same windows; training items depend on ``(seed, epoch, index)`` once an epoch is
    set (reproducible, resumable runs) and on fresh OS entropy before that.
    """
    if not train:
        return np.random.default_rng([seed, index])
    if epoch is not None:
        return np.random.default_rng([seed, 1, epoch, index])
    return np.random.default_rng()
