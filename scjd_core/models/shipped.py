"""Where the shipped checkpoints live (no torch needed: the backends and ``scjd info`` read it).

Shipped checkpoints live in ``assets/models/{teacher,student}.{safetensors,json}`` at
the repository root, found relative to this package (``scjd_core/../assets``), which is
where they are for a source checkout and an editable install (``pip install -e .``).
Set ``SCJD_MODELS_DIR`` to use another folder (e.g. for a non-editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The shipped models, by kind.
MODEL_KINDS: tuple[str, ...] = ("teacher", "student")
MODELS_DIR_ENV = "SCJD_MODELS_DIR"


def models_dir() -> Path:
    """Folder of the shipped checkpoints: ``$SCJD_MODELS_DIR`` or ``<repo>/assets/models``."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "assets" / "models"


def default_checkpoint(kind: str) -> Path:
    """Path (without extension) of the shipped ``"teacher"`` or ``"student"`` checkpoint.

    Raises:
        ValueError: for another kind.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}: expected one of {MODEL_KINDS}")
    return models_dir() / kind
