"""Model configurations: plain dataclasses holding every constructor argument.

A checkpoint's JSON stores ``config.to_dict()``; :meth:`from_dict` rebuilds the exact
same configuration (unknown keys are an error, so a checkpoint written by another
version of the code is caught instead of silently mis-built).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Self

from scjd_core.skeleton import NUM_JOINTS, ROOT

SAMPLING_MODES: tuple[str, ...] = ("strided", "central")
#: Whether a lifter flip-averages at inference when its config does not say (checkpoints
#: written before the field existed take it too).
TEST_FLIP_DEFAULT = True


@dataclass
class _BaseConfig:
    """Fields shared by the teacher and the student (one MixSTE-style block family)."""

    num_joints: int = NUM_JOINTS
    in_dim: int = 3
    dim: int = 64
    depth: int = 2
    heads: int = 4
    window: int = 81
    mlp_ratio: float = 2.0
    dropout: float = 0.0
    attn_dropout: float = 0.0
    drop_path: float = 0.0
    test_flip: bool = TEST_FLIP_DEFAULT

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the fields are consistent.

        Raises:
            ValueError: naming the offending field.
        """
        if self.num_joints <= ROOT:
            raise ValueError(f"num_joints must be > {ROOT} (the root joint index), got {self.num_joints}")
        for name in ("in_dim", "dim", "depth", "heads", "window"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        if not isinstance(self.test_flip, bool):
            raise ValueError(f"test_flip must be true or false, got {self.test_flip!r}")
        if self.mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0, got {self.mlp_ratio}")
        for name in ("dropout", "attn_dropout", "drop_path"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        """All constructor arguments as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a config from :meth:`to_dict` output.

        Raises:
            ValueError: on unknown keys or inconsistent values.
        """
        if not isinstance(data, dict):
            raise ValueError(f"config must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        return cls(**data)


@dataclass
class TeacherConfig(_BaseConfig):
    """Dense teacher: sees all ``window`` (T) frames, predicts all of them.

    Attributes:
        num_joints: joints per frame (17, :mod:`scjd_core.skeleton`).
        in_dim: input channels per joint (normalised x, y and confidence).
        dim: token width ``C_t``.
        depth: number of [spatial block, temporal block] pairs.
        heads: attention heads per block.
        window: frames per window ``T``.
        mlp_ratio: hidden width of the blocks' MLPs relative to ``dim``.
        dropout: dropout after attention projections and in the MLPs.
        attn_dropout: dropout on the attention probabilities (the returned maps are not dropped).
        drop_path: stochastic-depth rate of the last block (linearly increasing from 0).
        test_flip: at inference (eval mode), also lift the mirrored windows (screen x negated,
            left and right swapped) and average the mirrored-back poses with the direct ones
            (test-time flip augmentation; the models learnt from mirrored windows). Twice the
            compute for about 2 mm lower MPJPE; attention and embeddings stay the direct pass's.
    """

    dim: int = 128
    depth: int = 4
    heads: int = 8


@dataclass
class StudentConfig(_BaseConfig):
    """Sparse student: sees ``frames`` (K) of the ``window`` (T) frames, predicts all T.

    Attributes (beside those of :class:`TeacherConfig`):
        frames: number of input frames ``K``.
        stride: gap ``s`` between sampled frames for ``sampling="strided"``.
        sampling: ``"strided"`` (``c + s*k`` around the centre, the SCJD sampling) or
            ``"central"`` (the K central frames, the PoseFormerV2-style ablation).
        refine_kernel: temporal kernel size of the upsampling head's refinement conv.
        refine_dim: channel width of the upsampling head (it runs on all T frames, so it
            is kept narrower than ``dim``).
    """

    dim: int = 64
    depth: int = 2
    heads: int = 4
    frames: int = 9
    stride: int = 10
    sampling: str = "strided"
    refine_kernel: int = 5
    refine_dim: int = 32

    def validate(self) -> None:
        """Check the fields are consistent (see :meth:`_BaseConfig.validate`)."""
        super().validate()
        if not 1 <= self.frames <= self.window:
            raise ValueError(f"frames must be in [1, window={self.window}], got {self.frames}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if self.sampling not in SAMPLING_MODES:
            raise ValueError(f"sampling must be one of {SAMPLING_MODES}, got {self.sampling!r}")
        if self.refine_kernel < 1 or self.refine_kernel % 2 == 0:
            raise ValueError(f"refine_kernel must be odd and >= 1, got {self.refine_kernel}")
        if self.refine_dim < 1:
            raise ValueError(f"refine_dim must be >= 1, got {self.refine_dim}")
