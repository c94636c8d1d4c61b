"""Reference lifters that keep the evaluation table honest (METHOD.md).

* **mean pose** (``mean-pose``): the canonical mean root-relative camera-frame pose of the
  training split, predicted for every frame. Computed on the fly, deterministically, from
  fixed training windows seen by the same virtual cameras as the teacher's (cheap: about a
  second). Any lifter worth its compute must be far below it.
* **frame-wise MLP** (``mlp-<minutes>min``): a residual MLP in the style of Martinez et al.
  (2017) that lifts each frame on its own (no temporal context): 17 x 3 normalised inputs
  (x, y, confidence) -> Linear 512 -> two residual blocks (Linear-Norm-ReLU-Dropout, twice)
  -> Linear 51, root-relative. Trained for a wall-clock budget (10 minutes by default) with
  AdamW on the MPJPE of frames drawn from the training windows the teacher is trained on
  (:class:`~training.data.MocapWindowDataset`, train split, random cameras and detector noise,
  fresh each step; :mod:`training.mlp_training`). The teacher and the students must beat it
  clearly.

Checkpoints are ``NAME.safetensors`` + ``NAME.json`` like the lifters' (weights never
unpickled), but of kind ``frame-mlp``: only :func:`load_mlp` reads them.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from scjd_core.atomic import atomic_write
from scjd_core.errors import CheckpointError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, ROOT

MLP_KIND = "frame-mlp"
MLP_FORMAT = 1
#: Fixed training windows the mean pose is averaged over (window frames, windows, seed).
MEAN_POSE_WINDOW, MEAN_POSE_WINDOWS, MEAN_POSE_SEED = 27, 1024, 0


def mean_pose(
    clips: list,
    windows: int = MEAN_POSE_WINDOWS,
    window: int = MEAN_POSE_WINDOW,
    seed: int = MEAN_POSE_SEED,
    camera: Any = None,
) -> np.ndarray:
    """The mean root-relative camera-frame pose ``(17, 3)`` float32 of fixed training windows.

    Windows ``0 .. windows-1`` of ``MocapWindowDataset(clips, window, seed=seed, train=False)``:
    the same bodies, virtual cameras and mirrors as training draws (the 2D noise plays no role).
    """
    from training.data import DetectorNoise, MocapWindowDataset

    ds = MocapWindowDataset(
        clips, window=window, samples=windows, seed=seed, noise=DetectorNoise.none(), camera=camera, train=False
    )
    total = np.zeros((NUM_JOINTS, 3), np.float64)
    for i in range(windows):
        total += ds.raw_item(i)["target"].sum(axis=0, dtype=np.float64)
    out = (total / (windows * window)).astype(np.float32)
    out[ROOT] = 0.0
    return out


@dataclass
class MLPConfig:
    """Architecture of the frame-wise MLP.

    Attributes:
        hidden: width of every hidden layer.
        blocks: residual blocks.
        dropout: dropout probability.
        norm: ``"layer"`` (LayerNorm) or ``"batch"`` (BatchNorm, Martinez et al.'s choice).
        test_flip: in eval mode, average with the mirrored frame's mirrored-back pose, as the
            teacher and the student do (``scjd_core.models.config``), so the reference row is
            scored like them.
    """

    hidden: int = 512
    blocks: int = 2
    dropout: float = 0.1
    norm: str = "layer"
    test_flip: bool = True

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.blocks < 0 or not 0.0 <= self.dropout < 1.0 or self.norm not in ("layer", "batch"):
            raise ValueError(f"bad MLP config {self}")


def _unit(dim: int, cfg: MLPConfig) -> list[nn.Module]:
    norm = nn.LayerNorm(dim) if cfg.norm == "layer" else nn.BatchNorm1d(dim)
    return [nn.Linear(dim, dim), norm, nn.ReLU(), nn.Dropout(cfg.dropout)]


class ResidualBlock(nn.Module):
    """``x + (Linear-Norm-ReLU-Dropout) x 2``."""

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(*_unit(cfg.hidden, cfg), *_unit(cfg.hidden, cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class FrameMLP(nn.Module):
    """Frame-wise lifter: ``(..., 17, 3)`` normalised 2D + confidence -> ``(..., 17, 3)`` root-relative metres."""

    kind = MLP_KIND

    def __init__(self, config: MLPConfig | None = None) -> None:
        super().__init__()
        self.config = config or MLPConfig()
        h = self.config.hidden
        norm = nn.LayerNorm(h) if self.config.norm == "layer" else nn.BatchNorm1d(h)
        self.inp = nn.Sequential(nn.Linear(NUM_JOINTS * 3, h), norm, nn.ReLU(), nn.Dropout(self.config.dropout))
        self.blocks = nn.Sequential(*(ResidualBlock(self.config) for _ in range(self.config.blocks)))
        self.out = nn.Linear(h, NUM_JOINTS * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.test_flip and not self.training:
            from scjd_core.models.output import mean_with_mirrored, mirror

            both = self._lift(torch.stack([x, mirror(x)]))
            return mean_with_mirrored(both[0], both[1])
        return self._lift(x)

    def _lift(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-2]
        y = self.out(self.blocks(self.inp(x.reshape(-1, NUM_JOINTS * 3)))).reshape(*lead, NUM_JOINTS, 3)
        return y - y[..., ROOT : ROOT + 1, :]


class WindowAdapter(nn.Module):
    """Lets a frame-wise model be timed like a lifter: ``forward_dense(window, return_attention=False).pose``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, window: torch.Tensor, return_attention: bool = False) -> SimpleNamespace:
        return SimpleNamespace(pose=self.model(window), attention=None)

    def forward_dense(self, window: torch.Tensor, phase: int = 0, return_attention: bool = False) -> SimpleNamespace:
        """The lifters' call (:meth:`scjd_core.models.Teacher.forward_dense`): every frame on its own."""
        return self(window, return_attention=return_attention)


def flops_per_frame(model: nn.Module) -> float:
    """FLOPs of lifting one frame, counted by :class:`torch.utils.flop_counter.FlopCounterMode`."""
    from torch.utils.flop_counter import FlopCounterMode

    cpu = copy.deepcopy(model).to("cpu").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        cpu(torch.zeros(1, NUM_JOINTS, 3))
    return float(counter.get_total_flops())


def predict_frames(model: nn.Module, inputs: np.ndarray, device: torch.device, batch: int = 8192) -> np.ndarray:
    """Lift every frame of ``inputs (..., 17, 3)`` (normalised) -> ``(..., 17, 3)`` float32."""
    flat = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32).reshape(-1, NUM_JOINTS, 3))
    outs = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(flat), batch):
            outs.append(model(flat[start : start + batch].to(device)).float().cpu())
    return torch.cat(outs).numpy().reshape(inputs.shape)


def _paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    from scjd_core.models import checkpoint_paths

    return checkpoint_paths(path)


def save_mlp(model: FrameMLP, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``path.safetensors`` + ``path.json`` atomically (weights first)."""
    from safetensors.torch import save as save_tensors

    weights_path, json_path = _paths(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    blob = save_tensors(tensors, metadata={"kind": MLP_KIND, "format_version": str(MLP_FORMAT)})
    record = {
        "format_version": MLP_FORMAT,
        "kind": MLP_KIND,
        "config": dataclasses.asdict(model.config),
        "joints": list(JOINT_NAMES),
        "parents": list(PARENTS),
        "input": {
            "shape": "(..., 17, 3): one frame",
            "normalization": "x/w*2-1, y/w*2-h/w, confidence (scjd_core.skeleton.normalize_screen)",
        },
        "output": {"shape": "(..., 17, 3)", "frame": "camera", "unit": "metre", "root_relative": True},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        **(meta or {}),
        "weights_file": weights_path.name,
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    with atomic_write(weights_path, "wb", overwrite=True) as fh:
        fh.write(blob)
    with atomic_write(json_path, "w", overwrite=True) as fh:
        fh.write(json.dumps(record, indent=2) + "\n")
    return weights_path, json_path


def read_mlp_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON of a frame-wise MLP checkpoint.

    Raises:
        CheckpointError: missing, not JSON, or not a frame-wise MLP.
    """
    _, json_path = _paths(path)
    if not json_path.is_file():
        raise CheckpointError(
            f"MLP description {json_path} not found: "
            f"train one with `python -m training mlp --out {json_path.with_suffix('')}`"
        )
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"MLP description {json_path} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("kind") != MLP_KIND or meta.get("format_version") != MLP_FORMAT:
        raise CheckpointError(f"{json_path} is not a frame-wise MLP checkpoint (kind {MLP_KIND}, format {MLP_FORMAT})")
    if meta.get("joints") != list(JOINT_NAMES):
        raise CheckpointError(f"{json_path}: the MLP was made for another skeleton")
    return meta


def load_mlp(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[FrameMLP, dict[str, Any]]:
    """Rebuild a frame-wise MLP from its checkpoint, verified, in eval mode.

    Raises:
        CheckpointError: naming the file: missing, corrupt, modified (sha256) or not fitting its config.
    """
    from safetensors.torch import load as load_tensors

    weights_path, json_path = _paths(path)
    if not weights_path.is_file():
        raise CheckpointError(
            f"MLP weights {weights_path} not found: "
            f"train them with `python -m training mlp --out {weights_path.with_suffix('')}`"
        )
    meta = read_mlp_meta(path)
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise CheckpointError(f"MLP weights {weights_path} do not match the sha256 in {json_path.name}: re-train them")
    try:
        model = FrameMLP(MLPConfig(**meta["config"]))
        model.load_state_dict(load_tensors(blob), strict=True)
    except Exception as exc:  # bad config, corrupt bytes, shape mismatch
        raise CheckpointError(f"{weights_path} does not load as a frame-wise MLP ({exc})") from None
    from scjd_core.device import torch_device

    return model.to(torch_device(device)).eval(), meta


def mlp_row_name(meta: dict[str, Any]) -> str:
    """``mlp-<minutes>min`` (``mlp-<steps>steps`` for a run cut by a step limit only)."""
    tr = meta.get("training", {})
    minutes = tr.get("minutes") or 0
    return f"mlp-{minutes:g}min" if minutes > 0 else f"mlp-{tr.get('steps_done', 0)}steps"
