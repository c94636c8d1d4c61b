"""The machine facts that mark every CUDA row: versions, the GPU and its settings."""

from __future__ import annotations

import platform
import subprocess
import warnings
from typing import Any

from scjd_core.bench.cuda.settings import MACHINE_NOTE


def _driver_version() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def tf32_flags(torch: Any) -> tuple[bool, bool]:
    """Whether fp32 matmuls and cuDNN convolutions may use TF32 (False when the flags cannot be read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return bool(torch.backends.cuda.matmul.allow_tf32), bool(torch.backends.cudnn.allow_tf32)
        except Exception:
            return False, False


def environment(torch: Any | None, device: str, command: str) -> dict[str, Any]:
    """Machine, versions, GPU and its settings (what marks every row)."""
    from scjd_core.bench.environment import environment as base_environment

    env: dict[str, Any] = {"command": command, "python": platform.python_version(), "machine_note": MACHINE_NOTE}
    if torch is None:
        return env
    env.update(base_environment(command))
    env["command"] = command
    env["machine_note"] = MACHINE_NOTE
    env["torch_cuda"] = torch.version.cuda
    env["device"] = device
    if device == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_capability=f"{props.major}.{props.minor}",
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            gpu_count=torch.cuda.device_count(),
            cudnn=torch.backends.cudnn.version(),
            driver=_driver_version(),
            tf32_matmul=tf32_flags(torch)[0],
            tf32_cudnn=tf32_flags(torch)[1],
            bf16_supported=bool(torch.cuda.is_bf16_supported()),
        )
    return env
