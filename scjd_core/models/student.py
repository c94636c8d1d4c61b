"""The sparse student and its input sampling (METHOD.md, Student and Sparse Correlation
Input Sequence Downsampling).

The student sees ``K`` frames of a ``T``-frame window. Its temporal positional
embedding is indexed by each frame's position in the window, so any sampling phase
works. It predicts 3D for its ``K`` frames, and an upsampling head predicts all ``T``:
linear temporal interpolation of its final tokens and poses to every window position,
then a light refinement (depthwise temporal conv + per-token MLP, ``refine_dim``
channels wide) that adds a correction to the interpolated poses.

Callers hand it whole windows (:meth:`Student.forward_dense`, the teacher's call too) and it
picks its ``K`` frames itself; :meth:`Student.forward` takes frames already picked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scjd_core.models.blocks import SpatioTemporalEncoder, init_weights, subtract_root
from scjd_core.models.config import StudentConfig
from scjd_core.models.output import LiftOutput, StudentOutput, flip_averaged, use_flip
from scjd_core.skeleton import ROOT


def sparse_indices(window: int, frames: int, stride: int, sampling: str = "strided", phase: int = 0) -> Tensor:
    """Window positions of the ``frames`` (K) frames a student sees.

    ``"strided"``: ``c + s*k`` for ``k = -(K-1)//2 ... K//2`` around the centre
    ``c = (T-1)//2`` (for odd K exactly ``k = -(K-1)/2 ... (K-1)/2``); ``"central"``: the K
    consecutive frames around the centre. Both are shifted by ``phase`` and clamped to
    ``[0, T-1]`` (clamping can repeat the edge frame; the model handles repeats).
    Phases ``0 ... s-1`` together reach every frame of the window.

    Returns:
        ``(K,)`` int64 tensor (CPU).
    """
    centre = (window - 1) // 2
    offsets = torch.arange(frames, dtype=torch.long) - (frames - 1) // 2
    step = stride if sampling == "strided" else 1
    return (centre + step * offsets + int(phase)).clamp_(0, window - 1)


def interpolation_weights(indices: Tensor, window: int) -> Tensor:
    """Linear-interpolation matrix from sampled window positions to every position.

    Positions before the first (after the last) sample copy the first (last) one;
    repeated indices share their weight, so every row sums to 1. Built from
    elementwise ops only (no host sync, exportable).

    Args:
        indices: ``(K,)`` or ``(B, K)`` window positions, in any order.
        window: ``T``.

    Returns:
        ``(T, K)`` or ``(B, T, K)`` float weights: ``dense = weights @ sparse``.
    """
    pos = indices.to(torch.float32)[..., None, :]  # (..., 1, K)
    t = torch.arange(window, device=indices.device, dtype=torch.float32)[:, None]  # (T, 1)
    before = pos <= t  # (..., T, K)
    after = pos >= t
    # Python scalars, not device tensors: no host->device copy per call (live mode, CUDA graphs)
    left = torch.where(before, pos, float("-inf")).amax(dim=-1, keepdim=True)  # (..., T, 1)
    right = torch.where(after, pos, float("inf")).amin(dim=-1, keepdim=True)
    left = torch.where(before.any(dim=-1, keepdim=True), left, right)
    right = torch.where(after.any(dim=-1, keepdim=True), right, left)
    span = right - left
    frac = torch.where(span > 0, (t - left) / span.clamp_min(1.0), torch.zeros_like(span))
    weights = (pos == left).float() * (1.0 - frac) + (pos == right).float() * frac
    repeats = (pos == pos.transpose(-1, -2)).float().sum(dim=-1)  # (..., K) copies of each index
    return weights / repeats[..., None, :]


class Student(nn.Module):
    """Narrow, shallow spatio-temporal transformer over K sparse frames + upsampling head.

    Args:
        config: a :class:`StudentConfig` (or ``None`` for the defaults).
    """

    kind = "student"

    def __init__(self, config: StudentConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config if config is not None else StudentConfig()
        c, u, k = cfg.dim, cfg.refine_dim, cfg.refine_kernel
        self.encoder = SpatioTemporalEncoder(cfg)
        self.head = nn.Linear(c, 3)
        # Upsampling head, channel-first (B*J, U, T) throughout: narrow tokens are
        # interpolated to all T positions, get their own positional embedding, then a
        # depthwise temporal conv (residual) and a pointwise MLP predict a correction.
        self.up_in = nn.Linear(c, u)
        self.up_pos = nn.Parameter(torch.zeros(u, cfg.window))
        self.up_conv = nn.Conv1d(u, u, k, padding=k // 2, groups=u, padding_mode="replicate")
        self.up_fc1 = nn.Conv1d(u, u, 1)
        self.up_fc2 = nn.Conv1d(u, 3, 1)
        self.apply(init_weights)
        nn.init.trunc_normal_(self.up_pos, std=0.02)
        # The refinement starts as "no correction": the upsampled poses begin as the
        # interpolation of the sparse poses and learn what interpolation misses.
        nn.init.zeros_(self.up_fc2.weight)
        nn.init.zeros_(self.up_fc2.bias)

    @property
    def window(self) -> int:
        """Frames per window ``T``."""
        return self.config.window

    def sample_indices(self, phase: int = 0) -> Tensor:
        """The ``(K,)`` window positions this student reads (see :func:`sparse_indices`).

        Returns:
            int64 tensor on the model's device.
        """
        cfg = self.config
        device = self.head.weight.device
        key = (int(phase), str(device))
        # not a buffer: not saved, not in state_dict; each entry is [indices, their interpolation matrix or None]
        cache = self.__dict__.setdefault("_index_cache", {})
        if key not in cache:  # one host->device copy per phase and device, not per forward
            with torch.inference_mode(False):  # a cached inference tensor would break later autograd forwards
                cache[key] = [sparse_indices(cfg.window, cfg.frames, cfg.stride, cfg.sampling, phase).to(device), None]
        return cache[key][0]

    def _interpolation_weights(self, indices: Tensor) -> Tensor:
        """:func:`interpolation_weights` for ``indices``, made once for each :meth:`sample_indices` tensor.

        Those indices are cached per phase and device, so their matrix is kept beside them in the
        same entry: two dozen small operators less per forward, which a streaming step notices.
        Other indices (the per-sample ``(B, K)`` ones of some tests and tools) are computed every time.
        """
        for entry in self.__dict__.get("_index_cache", {}).values():
            if entry[0] is indices:
                if entry[1] is None:
                    with torch.inference_mode(False):  # as in sample_indices: later autograd forwards may use it
                        entry[1] = interpolation_weights(indices, self.config.window)
                return entry[1]
        return interpolation_weights(indices, self.config.window)

    def forward_dense(
        self, x: Tensor, phase: int = 0, return_attention: bool = True, flip: bool | None = None
    ) -> LiftOutput:
        """Lift a batch of dense windows: the call every user of a lifter makes (see :class:`LiftOutput`).

        The student picks its ``K`` frames of each window itself (:meth:`sample_indices`
        with ``phase``) and runs :meth:`forward` on them. Inference uses phase 0 (the
        deterministic sampling around the centre); the training loop draws a phase per
        step (random-phase sampling, so every frame of the window gets seen).

        Args:
            x: ``(B, T, 17, 3)`` normalised screen x, y and confidence of whole windows.
            phase: shift of the sampled frames (see :func:`sparse_indices`).
            return_attention: keep the spatial attention maps in the output.
            flip: average with the mirrored windows' poses (None: ``config.test_flip`` in
                eval mode, never in training mode; see
                :func:`~scjd_core.models.output.flip_averaged`).

        Returns:
            A :class:`LiftOutput`: ``pose`` of all ``T`` frames, ``pose_sparse``,
            ``attention`` and ``embedding`` of the ``K`` frames read, and their window
            positions ``indices``.

        Raises:
            ValueError: when ``x`` is not a batch of ``T``-frame windows.
        """
        cfg = self.config
        if x.ndim != 4 or tuple(x.shape[1:]) != (cfg.window, cfg.num_joints, cfg.in_dim):
            raise ValueError(
                f"student expects dense windows (B, {cfg.window}, {cfg.num_joints}, {cfg.in_dim}), got {tuple(x.shape)}"
            )
        indices = self.sample_indices(phase)
        if use_flip(self, flip):
            return flip_averaged(lambda w: self(w[:, indices], indices, return_attention=return_attention), x)
        return self(x[:, indices], indices, return_attention=return_attention)

    def forward(self, x_sparse: Tensor, indices: Tensor, return_attention: bool = True) -> StudentOutput:
        """Lift the sparse frames of a batch of windows and upsample to the whole window.

        Args:
            x_sparse: ``(B, K, 17, 3)`` normalised screen x, y and confidence of the K frames.
            indices: ``(K,)`` (or per-sample ``(B, K)``) window positions of those frames,
                in ``[0, T-1]``, e.g. from :meth:`sample_indices`.
            return_attention: keep the spatial attention maps in the output (computed either
                way, so the poses do not depend on this flag).

        Returns:
            A :class:`StudentOutput` (:class:`LiftOutput`) with ``pose_sparse``, ``pose``,
            ``attention``, ``embedding`` and ``indices`` (on the input's device).

        Raises:
            ValueError: when the shapes of ``x_sparse`` and ``indices`` do not fit.
        """
        cfg = self.config
        if x_sparse.ndim != 4 or tuple(x_sparse.shape[2:]) != (cfg.num_joints, cfg.in_dim):
            raise ValueError(
                f"student expects input (B, K, {cfg.num_joints}, {cfg.in_dim}), got {tuple(x_sparse.shape)}"
            )
        b, k = x_sparse.shape[:2]
        if indices.shape not in ((k,), (b, k)):
            raise ValueError(f"indices must have shape ({k},) or ({b}, {k}), got {tuple(indices.shape)}")
        indices = indices.to(device=x_sparse.device, dtype=torch.long)
        tokens, maps = self.encoder(x_sparse, indices, keep_attention=return_attention)
        raw_sparse = self.head(tokens)  # (B, K, J, 3)
        pose = self._upsample(tokens, raw_sparse, indices)
        return StudentOutput(
            pose=pose, attention=maps, embedding=tokens, pose_sparse=subtract_root(raw_sparse, ROOT), indices=indices
        )

    def _upsample(self, tokens: Tensor, raw_sparse: Tensor, indices: Tensor) -> Tensor:
        """Interpolate tokens and poses to all T positions, then refine: ``(B, T, J, 3)``."""
        weights = self._interpolation_weights(indices).to(tokens.dtype)
        batched = "b" if weights.ndim == 3 else ""
        coarse = torch.einsum(f"{batched}tk,bkjc->btjc", weights, raw_sparse)
        narrow = self.up_in(tokens)  # (B, K, J, U)
        dense = torch.einsum(f"{batched}tk,bkju->bjut", weights, narrow) + self.up_pos
        b, j, u, t = dense.shape
        h = dense.reshape(b * j, u, t)
        h = h + F.gelu(self.up_conv(h))
        delta = self.up_fc2(F.gelu(self.up_fc1(h)))  # (B*J, 3, T)
        return subtract_root(coarse + delta.reshape(b, j, 3, t).permute(0, 3, 1, 2), ROOT)
