"""ONNX export of the teacher and the student to a file, exactly as the PyTorch backend runs them.

The graph (:mod:`scjd_core.models.onnx_graph`) is the backend's per-batch computation
(:func:`~scjd_core.models.output.lift_windows`): input ``windows`` ``(B, T, 17, 3)``,
output ``pose`` ``(B, T, 17, 3)`` and, with ``attention=True``, ``attention``
``(B, T, layers, heads, 17, 17)``; the batch axis is dynamic, and the student's sparse
sampling (phase 0), upsampling and nearest-sampled-frame attention are inside the graph, so
an ONNX backend shares the PyTorch backend's windowing and batching unchanged.

Command line: ``python -m scjd_core.onnx_export student student.onnx``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scjd_core.atomic import atomic_write
from scjd_core.errors import MissingDependencyError
from scjd_core.models.onnx_graph import INPUT_NAME, OPSET, OUTPUT_NAMES, model_onnx_bytes

__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAMES", "export_onnx", "main", "resolve_model"]


def resolve_model(kind: Any, checkpoint: str | os.PathLike[str] | None = None) -> Any:
    """A ``ModelBackend`` (CPU) for ``kind``.

    Args:
        kind: ``"teacher"`` / ``"student"`` (the shipped or the given checkpoint), a
            registered model name such as ``"student-s"`` (randomly initialised: for
            speed tests), a loaded model, or a ``ModelBackend``.
        checkpoint: checkpoint path for ``"teacher"`` / ``"student"``.

    Raises:
        CheckpointError: missing or bad checkpoint.
        KeyError: unknown model name.
    """
    from scjd_core.backends.lifter import ModelBackend, load_backend
    from scjd_core.models.shipped import MODEL_KINDS

    if isinstance(kind, ModelBackend):
        return kind
    if isinstance(kind, str):
        if kind in MODEL_KINDS:
            return load_backend(kind, device="cpu", checkpoint=checkpoint)
        from scjd_core.models import create_model

        return ModelBackend(create_model(kind), {"checkpoint": None, "model": kind}, device="cpu")
    return ModelBackend(kind, device="cpu")


def export_onnx(
    kind: Any,
    path: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str] | None = None,
    attention: bool = False,
    overwrite: bool = True,
    opset: int = OPSET,
) -> Path:
    """Export a teacher or student to an ``.onnx`` file with a dynamic batch axis.

    Args:
        kind: see :func:`resolve_model` (``"student"``, ``"teacher"``, a registered name,
            a model or a backend).
        path: the ``.onnx`` file to write (atomically).
        checkpoint: checkpoint path for ``"teacher"`` / ``"student"``.
        attention: also output ``attention (B, T, layers, heads, 17, 17)``.
        overwrite: replace an existing file.
        opset: ONNX opset version.

    Returns:
        The written path.

    Raises:
        MissingDependencyError: when the ``onnx`` package is not installed.
        CheckpointError / OutputError: bad checkpoint or unwritable path.
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError as exc:
        raise MissingDependencyError(
            "ONNX export needs the onnx package: pip install 'scjd[onnx]' (or pip install onnx onnxruntime)"
        ) from exc
    blob = model_onnx_bytes(resolve_model(kind, checkpoint).model, attention=attention, opset=opset)
    out = Path(path)
    with atomic_write(out, "wb", overwrite=overwrite) as handle:
        handle.write(blob)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scjd_core.onnx_export KIND OUT``."""
    from scjd_core.errors import ScjdError

    parser = argparse.ArgumentParser(prog="python -m scjd_core.onnx_export", description="Export a model to ONNX.")
    parser.add_argument("kind", help="student, teacher (shipped checkpoints) or a registered name (student-s)")
    parser.add_argument("out", help="output .onnx file")
    parser.add_argument("--checkpoint", help="checkpoint path (default: the shipped one)")
    parser.add_argument("--attention", action="store_true", help="also output the attention maps")
    args = parser.parse_args(argv)
    try:
        path = export_onnx(args.kind, args.out, checkpoint=args.checkpoint, attention=args.attention)
    except ScjdError as exc:
        print(f"scjd: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyError as exc:  # unknown registered model name
        print(f"scjd: error: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
