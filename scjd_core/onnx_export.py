"""ONNX export of the teacher and the student, exactly as the PyTorch backend runs them.

The exported graph is the per-batch computation of
:class:`~scjd_core.backends.lifter.ModelBackend` (its ``_forward``): input ``windows``
``(B, T, 17, 3)`` (normalised screen x, y, confidence of whole windows), output
``pose`` ``(B, T, 17, 3)`` root-relative camera metres, and with ``attention=True`` also
``attention`` ``(B, T, layers, heads, 17, 17)``. The student's sparse sampling (phase 0),
upsampling and nearest-sampled-frame attention are inside the graph, so an ONNX
backend shares the PyTorch backend's windowing and batching unchanged. The batch axis
is dynamic.

Uses the TorchScript-based exporter (``dynamo=False``): the dynamo exporter needs
``onnxscript``, which is not a dependency. Its deprecation and tracer warnings are
expected and silenced (the trace is checked by the parity tests).

Command line: ``python -m scjd_core.onnx_export student student.onnx``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scjd_core.atomic import atomic_write
from scjd_core.errors import MissingDependencyError

#: ONNX opset used for every export.
OPSET = 17
INPUT_NAME = "windows"
OUTPUT_NAMES = ("pose", "attention")


def _graph_module(backend: Any, attention: bool) -> Any:
    """An ``nn.Module`` whose forward is ``ModelBackend._forward`` (the model is a submodule).

    The PyTorch forward is called explicitly, so a subclass that overrides it (the ONNX
    backend) still exports the PyTorch computation.
    """
    from torch import nn

    from scjd_core.backends.lifter import ModelBackend

    class BackendGraph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = backend.model

        def forward(self, windows):  # traced by the exporter
            pose, att = ModelBackend._forward(backend, windows, attention)
            return (pose, att) if attention else pose

    return BackendGraph().eval()


def backend_onnx_bytes(backend: Any, attention: bool = False, opset: int = OPSET) -> bytes:
    """Serialised ONNX model of a :class:`~scjd_core.backends.lifter.ModelBackend`'s forward.

    Args:
        backend: a CPU or CUDA ``ModelBackend`` (the export runs on CPU copies when needed).
        attention: also output the per-frame spatial attention maps.
        opset: ONNX opset version.

    Returns:
        The ``.onnx`` file contents.
    """
    import torch

    if backend.device != "cpu":
        from scjd_core.backends.lifter import ModelBackend

        backend = ModelBackend(_cpu_copy(backend.model), backend.meta, device="cpu", name=backend.name)
    graph = _graph_module(backend, attention)
    cfg = backend.model.config
    example = torch.zeros(2, cfg.window, cfg.num_joints, cfg.in_dim)
    outputs = list(OUTPUT_NAMES if attention else OUTPUT_NAMES[:1])
    axes = {name: {0: "batch"} for name in [INPUT_NAME, *outputs]}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation, tracer warnings
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                graph,
                (example,),
                buffer,
                input_names=[INPUT_NAME],
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
            )
    return buffer.getvalue()


def _cpu_copy(model: Any) -> Any:
    import copy

    return copy.deepcopy(model).to("cpu").float()


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
    from scjd_core.backends.lifter import MODEL_KINDS, ModelBackend, load_backend

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
    blob = backend_onnx_bytes(resolve_model(kind, checkpoint), attention=attention, opset=opset)
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
