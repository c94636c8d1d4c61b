"""The facts that make a ``scjd bench`` run reproducible: the command, the machine, versions."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor string elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as the user typed it (``scjd bench ...`` or ``python -m scjd_core.bench ...``)."""
    argv = list(sys.argv if argv is None else argv)
    prog = Path(argv[0]).name if argv else "scjd"
    if prog in ("bench.py", "__main__.py", "-m", "-c") or prog.startswith("python"):
        head = ["python", "-m", "scjd_core.bench"]
        rest = argv[1:]
    else:
        head, rest = [prog], argv[1:]
    return shlex.join(head + rest)


def environment(command: str) -> dict[str, Any]:
    """Machine, CPU model, versions, date, the command and the load when the bench started."""
    import torch

    from scjd_core import __version__

    env = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "scjd": __version__,
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    for dist in ("torch", "numpy", "onnxruntime", "onnx", "opencv-python", "mediapipe", "scipy"):
        env[dist] = _version(dist)
    return env
