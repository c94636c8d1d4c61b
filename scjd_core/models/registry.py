"""Name -> model constructor registry (``create_model("student-s")``, as timm does).

Named sizes:
    * ``teacher-tiny`` / ``student-tiny``: minuscule, for tests (T=9, K=3).
    * ``teacher-s``: the default shipped teacher (T=81, 128 channels, 4+4 blocks).
    * ``student-s``: the recipe's default student (T=81, K=9, stride 10, 64 channels,
      2+2 blocks), far fewer FLOPs per output frame than ``teacher-s``.
    * ``student-m``: ``teacher-s``'s width and heads with 2+2 blocks (T=81, K=9, stride 10),
      so it can start from the teacher's weights (``--from-teacher``).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from scjd_core.models.config import StudentConfig, TeacherConfig
from scjd_core.models.student import Student
from scjd_core.models.teacher import Teacher

#: kind -> (config class, model class)
KINDS: dict[str, tuple[type, type[nn.Module]]] = {
    "teacher": (TeacherConfig, Teacher),
    "student": (StudentConfig, Student),
}

_REGISTRY: dict[str, tuple[str, dict[str, Any]]] = {
    "teacher-tiny": ("teacher", {"dim": 16, "depth": 1, "heads": 2, "window": 9}),
    "teacher-s": ("teacher", {"dim": 128, "depth": 4, "heads": 8, "window": 81}),
    "student-tiny": (
        "student",
        {"dim": 8, "depth": 1, "heads": 2, "window": 9, "frames": 3, "stride": 4, "refine_kernel": 3, "refine_dim": 8},
    ),
    "student-s": ("student", {"dim": 64, "depth": 2, "heads": 4, "window": 81, "frames": 9, "stride": 10}),
    "student-m": ("student", {"dim": 128, "depth": 2, "heads": 8, "window": 81, "frames": 9, "stride": 10}),
}


def register_model(name: str, kind: str, **defaults: Any) -> None:
    """Add a named size to the registry (e.g. from an experiment script).

    Raises:
        ValueError: for an unknown kind, a taken name, or defaults the config rejects.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: expected one of {sorted(KINDS)}")
    if name in _REGISTRY:
        raise ValueError(f"model name {name!r} is already registered")
    KINDS[kind][0](**defaults)  # validate now, not at first use
    _REGISTRY[name] = (kind, dict(defaults))


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def model_config(name: str, **overrides: Any) -> TeacherConfig | StudentConfig:
    """The config a registered name stands for, with ``overrides`` applied.

    Raises:
        KeyError: for an unknown name (listing the known ones).
        ValueError / TypeError: for invalid or unknown override fields.
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}: choose one of {', '.join(list_models())}")
    kind, defaults = _REGISTRY[name]
    return KINDS[kind][0].from_dict({**defaults, **overrides})


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered model, e.g. ``create_model("student-s", sampling="central")``.

    Args:
        name: one of :func:`list_models`.
        **overrides: config fields replacing the named size's values.

    Returns:
        A freshly initialised :class:`Teacher` or :class:`Student` (train mode).
    """
    config = model_config(name, **overrides)
    return KINDS[model_kind(config)][1](config)


def model_from_config(kind: str, config_dict: dict[str, Any]) -> nn.Module:
    """Rebuild a model from its kind and ``config.to_dict()`` (what a checkpoint stores).

    Raises:
        ValueError: for an unknown kind or a config dict the config class rejects.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: expected one of {sorted(KINDS)}")
    config_cls, model_cls = KINDS[kind]
    return model_cls(config_cls.from_dict(config_dict))


def model_kind(obj: nn.Module | TeacherConfig | StudentConfig) -> str:
    """``"teacher"`` or ``"student"`` for a model or a config.

    Raises:
        TypeError: for anything else.
    """
    for kind, (config_cls, model_cls) in KINDS.items():
        if isinstance(obj, config_cls | model_cls):
            return kind
    raise TypeError(f"not an SCJD teacher/student model or config: {type(obj).__name__}")
