"""Teacher / student lifting backends: run a loaded SCJD model over a whole clip.

A clip of ``F`` frames is covered with ``ceil(F / T)`` non-overlapping windows of the
model's ``T`` frames; the last window is padded by repeating the clip's last frame.
Windows are lifted in batches (64 per forward by default) under
:func:`torch.inference_mode`, each batch moved to the device once.

Both models are called alike, on whole windows
(:meth:`~scjd_core.models.Teacher.forward_dense`): the **teacher** reads all ``T`` frames
of a window and outputs all ``T``; the **student** picks and reads only its ``K`` sampled
frames (phase 0) and outputs its upsampled ``T``.

With ``attention=True`` each frame gets its ``(layers, heads, 17, 17)`` spatial
attention (:meth:`~scjd_core.models.LiftOutput.frame_attention`). The student computes
maps for its K input frames only: every other frame gets the maps of the **nearest
sampled frame** of its window (ties: the earlier one).

**Frame rate.** The lifters learnt motion at :data:`MODEL_FPS` (the mocap was resampled to
it). A clip at another rate (a 5 fps phone clip, a 60 fps sports camera) is resampled to
the model's rate first (linear interpolation of the normalised 2D and confidence on a
uniform time grid), lifted, and the poses are interpolated back to the clip's frames (the
attention maps come from the nearest model-rate frame). Within :data:`RATE_TOLERANCE` of
the model's rate nothing is resampled, so a 30 fps clip (or a 29.97 fps one) is lifted as
it is. Without this, an 81-frame window of a 5 fps clip spans 16 s and a squat looks like
a slow drift.

Shipped checkpoints are found by :mod:`scjd_core.models.shipped` (``assets/models`` or
``$SCJD_MODELS_DIR``); its ``MODEL_KINDS`` and ``default_checkpoint`` are also importable
from here (``scjd_core.bench.kit`` does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.errors import CheckpointError
from scjd_core.models.shipped import MODEL_KINDS, default_checkpoint
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Lift3D, Pose2DSequence

#: Frame rate the lifters are trained at (``training.mocap_data.DEFAULT_FPS``), unless a checkpoint says otherwise.
MODEL_FPS = 30.0
#: Relative rate difference below which a clip is lifted at its own rate.
RATE_TOLERANCE = 0.1


def resample_times(frames: int, fps: float, model_fps: float) -> np.ndarray | None:
    """Positions (in clip frames) of a uniform model-rate grid over a clip, or None when no resampling is due.

    The grid starts at the first frame and covers the last one: ``ceil((F - 1) * model_fps / fps) + 1`` points.
    """
    if frames < 2 or not np.isfinite(fps) or fps <= 0 or abs(fps / model_fps - 1.0) <= RATE_TOLERANCE:
        return None
    count = int(np.ceil((frames - 1) * model_fps / fps - 1e-9)) + 1
    return np.minimum(np.arange(count) * (fps / model_fps), frames - 1)


def interpolate_frames(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``x (F, ...)`` at fractional frame ``positions`` (in ``[0, F-1]``)."""
    lo = np.floor(positions).astype(np.int64)
    hi = np.minimum(lo + 1, x.shape[0] - 1)
    w = (positions - lo).astype(np.float32).reshape(-1, *([1] * (x.ndim - 1)))
    return (x[lo] * (1.0 - w) + x[hi] * w).astype(x.dtype, copy=False)


class ModelBackend(LiftingBackend):
    """A :class:`LiftingBackend` around a loaded teacher or student.

    Args:
        model: a :class:`~scjd_core.models.Teacher` or :class:`~scjd_core.models.Student`.
        meta: the checkpoint's JSON (kept for :meth:`describe`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``; the model is moved there.
        batch_size: windows per forward pass.
        name: backend name; defaults to the model kind.
    """

    def __init__(
        self,
        model: Any,
        meta: dict | None = None,
        device: str = "auto",
        batch_size: int = 64,
        name: str | None = None,
    ) -> None:
        from scjd_core.device import torch_device
        from scjd_core.models import model_kind

        self.kind = model_kind(model)
        self.name = name or self.kind
        self._device = torch_device(device)
        self.device = self._device.type
        self.model = model.to(self._device).eval()
        self._dtype = next(model.parameters()).dtype
        self.meta = dict(meta or {})
        self.window = int(model.config.window)
        self.batch_size = max(1, int(batch_size))
        fps = self.meta.get("training", {}).get("recipe", {}).get("fps") or self.meta.get("training", {}).get(
            "data", {}
        ).get("fps")
        self.model_fps = float(fps) if fps else MODEL_FPS

    def lift(self, seq: Pose2DSequence, attention: bool = False) -> Lift3D:
        """Lift a clip (see the module docstring for windows and the student's attention).

        Args:
            seq: the clip's 2D poses (gaps already filled).
            attention: also return ``(F, layers, heads, 17, 17)`` float32 spatial attention.

        Returns:
            :class:`Lift3D` with ``poses (F, 17, 3)`` float32, pelvis at 0.
        """

        x = seq.normalized().astype(np.float32, copy=False)  # (F, 17, 3)
        cfg = self.model.config
        if x.shape[0] == 0:
            empty_att = np.zeros((0, cfg.depth, cfg.heads, NUM_JOINTS, NUM_JOINTS), np.float32)
            return Lift3D(np.zeros((0, NUM_JOINTS, 3), np.float32), empty_att if attention else None)
        grid = resample_times(x.shape[0], float(seq.fps), self.model_fps)
        if grid is None:
            return self._lift_windows(x, attention)
        lifted = self._lift_windows(interpolate_frames(x, grid), attention)
        # back to the clip's frames: clip frame i sits at grid position i * model_fps / fps
        back = np.minimum(np.arange(x.shape[0]) * (self.model_fps / float(seq.fps)), len(grid) - 1)
        poses = interpolate_frames(lifted.poses, back)
        maps = lifted.attention[np.rint(back).astype(np.int64)] if lifted.attention is not None else None
        return Lift3D(poses=np.ascontiguousarray(poses, dtype=np.float32), attention=maps)

    def _lift_windows(self, x: np.ndarray, attention: bool) -> Lift3D:
        """Lift normalised frames ``(F, 17, 3)`` (F >= 1) at the model's rate: windows, padding, batches."""
        import torch

        frames = x.shape[0]
        n_windows = -(-frames // self.window)
        padded = np.pad(x, ((0, n_windows * self.window - frames), (0, 0), (0, 0)), mode="edge")
        windows = padded.reshape(n_windows, self.window, *x.shape[1:])
        poses, maps = [], []
        with torch.inference_mode():
            for start in range(0, n_windows, self.batch_size):
                chunk = torch.from_numpy(windows[start : start + self.batch_size])
                batch = chunk.to(self._device, dtype=self._dtype, non_blocking=True)
                pose, att = self._forward(batch, attention)
                poses.append(pose.float().cpu().numpy())
                if att is not None:
                    maps.append(att.float().cpu().numpy())
        out = np.concatenate(poses).reshape(-1, *poses[0].shape[2:])[:frames]
        att_out = np.concatenate(maps).reshape(-1, *maps[0].shape[2:])[:frames] if attention else None
        return Lift3D(poses=np.ascontiguousarray(out, dtype=np.float32), attention=att_out)

    def _forward(self, batch: Any, attention: bool) -> tuple[Any, Any]:
        """One batch of windows ``(b, T, 17, 3)`` -> ``(poses (b, T, 17, 3), maps (b, T, L, H, 17, 17))``."""
        from scjd_core.models.output import lift_windows

        return lift_windows(self.model, batch, attention)

    def describe(self) -> dict:
        """Facts for ``scjd info`` and file metadata (adds kind, config, checkpoint facts)."""
        info = super().describe()
        info.update(
            kind=self.kind,
            config=self.model.config.to_dict(),
            checkpoint=self.meta.get("checkpoint"),
            metrics=self.meta.get("metrics", {}),
            training=self.meta.get("training", {}),
        )
        return info


def load_backend(kind: str, device: str = "auto", checkpoint: str | os.PathLike[str] | None = None) -> ModelBackend:
    """Load the shipped (or a given) checkpoint of ``kind`` as a backend.

    Args:
        kind: ``"teacher"`` or ``"student"``.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``.
        checkpoint: checkpoint path (with or without extension); default
            :func:`default_checkpoint`.

    Raises:
        CheckpointError: missing, corrupt or mismatched checkpoint, or one of another kind.
        ValueError: for an unknown kind.
    """
    from scjd_core.models import checkpoint_paths, load_checkpoint

    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}: expected one of {MODEL_KINDS}")
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(kind)
    weights, _ = checkpoint_paths(path)
    if checkpoint is None and not weights.is_file():
        raise CheckpointError(
            f"no shipped {kind} checkpoint at {weights}: train one with "
            f"`python -m training recipe --out {weights.parent}` (or `python -m training {kind} ...`), "
            f"or pass a checkpoint path"
        )
    model, meta = load_checkpoint(path, device=device)
    if meta["kind"] != kind:
        raise CheckpointError(f"{weights} holds a {meta['kind']} model, not a {kind}: pass a {kind} checkpoint")
    meta = {**meta, "checkpoint": str(weights)}
    return ModelBackend(model, meta, device=device)
