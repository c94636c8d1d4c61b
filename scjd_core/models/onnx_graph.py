"""The ONNX graph of a lifter's dense forward (what the PyTorch backend runs per batch).

Input ``windows`` ``(B, T, 17, 3)`` (normalised screen x, y, confidence of whole windows),
output ``pose`` ``(B, T, 17, 3)`` root-relative camera metres and, with ``attention=True``,
``attention`` ``(B, T, layers, heads, 17, 17)``: :func:`~scjd_core.models.output.lift_windows`,
the very function :class:`~scjd_core.backends.lifter.ModelBackend` calls, traced. The student's
sparse sampling (phase 0), upsampling and nearest-sampled-frame attention are therefore inside
the graph. The batch axis is dynamic.

Uses the TorchScript-based exporter (``dynamo=False``): the dynamo exporter needs
``onnxscript``, which is not a dependency. Its deprecation and tracer warnings are
expected and silenced (the trace is checked by the parity tests). The file-writing command
line is :mod:`scjd_core.onnx_export`; the ONNX Runtime engine is
:mod:`scjd_core.backends.onnx_backend`.
"""

from __future__ import annotations

import copy
import io
import warnings

import torch
from torch import Tensor, nn

from scjd_core.models.output import lift_windows

#: ONNX opset used for every export.
OPSET = 17
INPUT_NAME = "windows"
OUTPUT_NAMES = ("pose", "attention")


class _DenseGraph(nn.Module):
    """:func:`lift_windows` of ``model`` as a module to trace (the model is its submodule ``model``)."""

    def __init__(self, model: nn.Module, attention: bool) -> None:
        super().__init__()
        self.model = model
        self.attention = attention

    def forward(self, windows: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        pose, att = lift_windows(self.model, windows, self.attention)
        return (pose, att) if self.attention else pose


def model_onnx_bytes(model: nn.Module, attention: bool = False, opset: int = OPSET) -> bytes:
    """Serialised ONNX model of a teacher's or student's dense forward.

    Args:
        model: a teacher or student on any device (a model off the CPU is exported from an
            fp32 CPU copy; the model itself is untouched).
        attention: also output the per-frame spatial attention maps.
        opset: ONNX opset version.

    Returns:
        The ``.onnx`` file contents.
    """
    if any(p.device.type != "cpu" for p in model.parameters()):
        model = copy.deepcopy(model).to("cpu").float()
    graph = _DenseGraph(model, attention).eval()
    cfg = model.config
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
