"""Small helpers shared by the CUDA benchmark's modules: error text, autocast, rates."""

from __future__ import annotations

import contextlib
from typing import Any


def error_text(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def autocast(torch: Any, device: str, label: str, cache: bool = True) -> Any:
    """``torch.autocast`` for ``"fp16"`` / ``"bf16"``, nothing for ``"fp32"``."""
    if label == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if label == "fp16" else torch.bfloat16
    return torch.autocast(device, dtype=dtype, cache_enabled=cache)


def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"
