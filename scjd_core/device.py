"""Choosing the compute device: :func:`resolve_device` (a name) and :func:`torch_device` (a torch.device)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scjd_core.errors import ScjdError

if TYPE_CHECKING:
    import torch


def resolve_device(spec: str = "auto") -> str:
    """Turn ``"auto" | "cpu" | "cuda"`` into a concrete torch device string.

    Raises:
        ScjdError: when CUDA is asked for but not available, or the spec is unknown.
    """
    spec = (spec or "auto").lower()
    if spec not in {"auto", "cpu", "cuda"} and not spec.startswith("cuda:"):
        raise ScjdError(f"unknown device {spec!r}: use auto, cpu or cuda")
    if spec == "cpu":
        return "cpu"
    import torch

    has_cuda = torch.cuda.is_available()
    if spec == "auto":
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        raise ScjdError(f"device {spec} was requested but no CUDA GPU is available: use --device cpu or auto")
    return spec


def torch_device(spec: str | torch.device = "auto") -> torch.device:
    """:func:`resolve_device` as a :class:`torch.device` (``"auto"`` -> CUDA when available, else CPU).

    Args:
        spec: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a :class:`torch.device`.

    Raises:
        ScjdError: for an unknown device or CUDA asked for but not available.
    """
    import torch

    return torch.device(resolve_device(str(spec)))
