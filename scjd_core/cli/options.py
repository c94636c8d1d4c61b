"""Command-line options shared by ``scjd`` and ``scjd-viewer``, so both read them alike."""

from __future__ import annotations

import argparse

from scjd_core.backends.engines import ENGINES


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--teacher``, ``--student``, ``--device`` and ``--engine``: which models run, where, and how."""
    p.add_argument("--teacher", metavar="CKPT", help="teacher checkpoint (default: the shipped one)")
    p.add_argument("--student", metavar="CKPT", help="student checkpoint (default: the shipped one)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="inference engine of the models: auto (default: time PyTorch and ONNX Runtime, keep the faster), "
        "torch or onnx",
    )
