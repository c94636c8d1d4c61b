"""The SCJD lifting networks: dense teacher, sparse student, registry and checkpoints.

Importing this package imports torch (``import scjd_core`` alone does not).
"""

from scjd_core.models.checkpoint import (
    FORMAT_VERSION,
    checkpoint_paths,
    describe_shipped_models,
    load_checkpoint,
    read_checkpoint_meta,
    resolve_device,
    save_checkpoint,
)
from scjd_core.models.config import StudentConfig, TeacherConfig
from scjd_core.models.flops import count_parameters, flops_per_output_frame, forward_flops
from scjd_core.models.registry import (
    create_model,
    list_models,
    model_config,
    model_from_config,
    model_kind,
    register_model,
)
from scjd_core.models.student import (
    Student,
    StudentOutput,
    interpolation_weights,
    nearest_sample,
    sparse_indices,
)
from scjd_core.models.teacher import Teacher, TeacherOutput

__all__ = [
    "FORMAT_VERSION",
    "Student",
    "StudentConfig",
    "StudentOutput",
    "Teacher",
    "TeacherConfig",
    "TeacherOutput",
    "checkpoint_paths",
    "count_parameters",
    "create_model",
    "describe_shipped_models",
    "flops_per_output_frame",
    "forward_flops",
    "interpolation_weights",
    "list_models",
    "load_checkpoint",
    "model_config",
    "model_from_config",
    "model_kind",
    "nearest_sample",
    "read_checkpoint_meta",
    "register_model",
    "resolve_device",
    "save_checkpoint",
    "sparse_indices",
]
