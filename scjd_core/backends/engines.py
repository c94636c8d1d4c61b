"""The inference engines a model can run on (kept free of heavy imports: command lines read it)."""

from __future__ import annotations

#: ``auto`` times PyTorch and ONNX Runtime on this machine and keeps the faster.
ENGINES: tuple[str, ...] = ("auto", "torch", "onnx")
