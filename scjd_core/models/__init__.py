"""The SCJD lifting networks: dense teacher, sparse student, registry and checkpoints.

Names are loaded on first use (PEP 562): ``scjd_core.models.shipped`` (where the shipped
checkpoints are) can be imported without torch, so the backends and the CLI import it at
module level and stay light; any other name here imports torch when first used.

Every lifter is called alike: ``model.forward_dense(windows)`` (``(B, T, 17, 3)``) returns a
:class:`LiftOutput` (see :mod:`scjd_core.models.output`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scjd_core.models.checkpoint import (
        FORMAT_VERSION,
        accuracy_facts,
        checkpoint_paths,
        describe_shipped_models,
        load_checkpoint,
        read_checkpoint_meta,
        save_checkpoint,
    )
    from scjd_core.models.config import StudentConfig, TeacherConfig
    from scjd_core.models.flops import count_parameters, flops_per_output_frame, forward_flops
    from scjd_core.models.output import (
        DenseLifter,
        LiftOutput,
        StudentOutput,
        TeacherOutput,
        lift_windows,
        nearest_sample,
    )
    from scjd_core.models.registry import (
        create_model,
        list_models,
        model_config,
        model_from_config,
        model_kind,
        register_model,
    )
    from scjd_core.models.shipped import MODEL_KINDS, MODELS_DIR_ENV, default_checkpoint, models_dir
    from scjd_core.models.student import Student, interpolation_weights, sparse_indices
    from scjd_core.models.teacher import Teacher

#: Public name -> the submodule defining it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        [
            "FORMAT_VERSION",
            "accuracy_facts",
            "checkpoint_paths",
            "describe_shipped_models",
            "load_checkpoint",
            "read_checkpoint_meta",
            "save_checkpoint",
        ],
        "checkpoint",
    ),
    **dict.fromkeys(["StudentConfig", "TeacherConfig"], "config"),
    **dict.fromkeys(["count_parameters", "flops_per_output_frame", "forward_flops"], "flops"),
    **dict.fromkeys(
        ["DenseLifter", "LiftOutput", "StudentOutput", "TeacherOutput", "lift_windows", "nearest_sample"], "output"
    ),
    **dict.fromkeys(
        ["create_model", "list_models", "model_config", "model_from_config", "model_kind", "register_model"],
        "registry",
    ),
    **dict.fromkeys(["MODEL_KINDS", "MODELS_DIR_ENV", "default_checkpoint", "models_dir"], "shipped"),
    **dict.fromkeys(["Student", "interpolation_weights", "sparse_indices"], "student"),
    "Teacher": "teacher",
}

__all__ = [
    "DenseLifter",
    "FORMAT_VERSION",
    "LiftOutput",
    "MODELS_DIR_ENV",
    "MODEL_KINDS",
    "Student",
    "StudentConfig",
    "StudentOutput",
    "Teacher",
    "TeacherConfig",
    "TeacherOutput",
    "accuracy_facts",
    "checkpoint_paths",
    "count_parameters",
    "create_model",
    "default_checkpoint",
    "describe_shipped_models",
    "flops_per_output_frame",
    "forward_flops",
    "interpolation_weights",
    "lift_windows",
    "list_models",
    "load_checkpoint",
    "model_config",
    "model_from_config",
    "model_kind",
    "models_dir",
    "nearest_sample",
    "read_checkpoint_meta",
    "register_model",
    "save_checkpoint",
    "sparse_indices",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
