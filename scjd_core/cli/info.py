"""``scjd info``: versions, the compute device and the models found."""

from __future__ import annotations

import argparse
import os

from scjd_core import __version__


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``scjd info`` to the sub-commands."""
    p = sub.add_parser("info", help="print versions, compute device and the models found")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; returns the exit code."""
    import platform
    from importlib import metadata

    print(f"scjd           {__version__}")
    print(f"python         {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs)")
    for dist in ["torch", "numpy", "opencv-python", "mediapipe", "scipy", "onnxruntime", "PySide6"]:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{dist:<14} {version}")
    from scjd_core.device import resolve_device

    device = resolve_device("auto")
    if device.startswith("cuda"):
        import torch

        device += f" ({torch.cuda.get_device_name(0)})"
    print(f"device         {device}")
    from scjd_core.models.checkpoint import describe_shipped_models

    for line in describe_shipped_models():
        print(f"model          {line}")
    return 0
