"""Backend names -> backend objects (the only place that knows every 3D backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scjd_core.backends.base import LiftingBackend
from scjd_core.errors import ScjdError

#: Every 3D backend, in the order ``all`` expands to.
BACKEND_NAMES: tuple[str, ...] = ("teacher", "student", "mediapipe")
DEFAULT_BACKEND = "student"


def parse_backends(spec: str | Sequence[str]) -> list[str]:
    """Parse ``"student"``, ``"teacher,student"`` or ``"all"`` into backend names.

    Raises:
        ScjdError: naming the unknown backend and the valid ones.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        expanded = list(BACKEND_NAMES) if name == "all" else [name]
        for item in expanded:
            if item not in BACKEND_NAMES:
                valid = ", ".join((*BACKEND_NAMES, "all"))
                raise ScjdError(f"unknown backend {item!r}: choose from {valid}")
            if item not in names:
                names.append(item)
    if not names:
        raise ScjdError("no backend given: choose from " + ", ".join((*BACKEND_NAMES, "all")))
    return names


def create_backend(
    name: str, device: str = "auto", checkpoint: str | None = None, engine: str = "torch"
) -> LiftingBackend:
    """Build one backend by name.

    Args:
        name: ``teacher``, ``student`` or ``mediapipe``.
        device: ``auto``, ``cpu`` or ``cuda`` (model backends only).
        checkpoint: checkpoint path overriding the shipped one (model backends only).
        engine: ``torch``, ``onnx`` (ONNX Runtime, CPU) or ``auto`` (time both here, keep
            the faster; model backends only).
    """
    if name == "mediapipe":
        from scjd_core.backends.mediapipe_world import MediaPipeWorldBackend

        return MediaPipeWorldBackend()
    if name in ("teacher", "student"):
        from scjd_core.backends.onnx_backend import ENGINES, load_engine_backend

        if engine not in ENGINES:
            raise ScjdError(f"unknown engine {engine!r}: choose from {', '.join(ENGINES)}")
        return load_engine_backend(name, engine=engine, device=device, checkpoint=checkpoint)
    raise ScjdError(f"unknown backend {name!r}: choose from {', '.join(BACKEND_NAMES)}")


def create_backends(
    names: Sequence[str],
    device: str = "auto",
    checkpoints: Mapping[str, str | None] | None = None,
    engine: str = "torch",
) -> list[LiftingBackend]:
    """Build several backends (see :func:`create_backend`)."""
    checkpoints = checkpoints or {}
    return [create_backend(n, device=device, checkpoint=checkpoints.get(n), engine=engine) for n in names]
