"""The MixSTE-style block family shared by the teacher and the student.

A window of 2D poses ``(B, N, J, in_dim)`` becomes one token per joint per frame.
``depth`` pairs of blocks follow: a *spatial* block (attention over the ``J`` joints of
one frame) and a *temporal* block (attention over the ``N`` frames of one joint).

Spatial attention is always computed explicitly (softmax of ``q k^T``): its maps are
what attention distillation and the viewer need, and 17x17 is cheap. Temporal attention
uses :func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels, no
``N x N`` map kept for the backward pass). Asking for the spatial maps or not therefore
never changes the numbers a model computes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scjd_core.models.config import _BaseConfig


def maybe_dropout(rate: float) -> nn.Module:
    """``nn.Dropout(rate)``, or ``nn.Identity`` at rate 0 (the shipped models' setting).

    The same numbers either way (dropout is the identity in eval mode) and no parameters, so
    checkpoints do not notice; the identity skips one operator call per use, which a
    streaming step of the small student (a few hundred small operators) notices.
    """
    return nn.Dropout(rate) if rate > 0 else nn.Identity()


class DropPath(nn.Module):
    """Stochastic depth: drops a whole residual branch per sample while training."""

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        self.rate = float(rate)

    def forward(self, x: Tensor) -> Tensor:
        """Scale kept samples by ``1 / (1 - rate)``; identity in eval mode or at rate 0."""
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Attention(nn.Module):
    """Multi-head self-attention over the second-to-last axis of ``(S, L, C)``.

    Args:
        dim: token width.
        heads: number of heads (``dim`` divisible by it).
        explicit: compute ``softmax(q k^T / sqrt(d))`` by hand and return it; otherwise
            use the fused SDPA kernel and return ``None``.
        attn_dropout: dropout on the attention probabilities (training only).
        proj_dropout: dropout after the output projection.
    """

    def __init__(
        self, dim: int, heads: int, explicit: bool, attn_dropout: float = 0.0, proj_dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.explicit = explicit
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = maybe_dropout(attn_dropout)
        self.attn_dropout = float(attn_dropout)
        self.proj_drop = maybe_dropout(proj_dropout)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Return ``(out (S, L, C), probs (S, heads, L, L) or None)``."""
        s, n, c = x.shape
        qkv = self.qkv(x).reshape(s, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (S, heads, L, d)
        if self.explicit:
            probs = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
            out = self.attn_drop(probs) @ v
        else:
            probs = None
            drop = self.attn_dropout if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        out = out.transpose(1, 2).reshape(s, n, c)
        return self.proj_drop(self.proj(out)), probs


class Mlp(nn.Module):
    """Two-layer GELU MLP applied to every token."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = maybe_dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., dim) -> (..., dim)``."""
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))`` then ``x + mlp(LN(x))``."""

    def __init__(
        self,
        dim: int,
        heads: int,
        mlp_ratio: float,
        explicit: bool,
        dropout: float = 0.0,
        attn_dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, explicit, attn_dropout, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, max(1, round(dim * mlp_ratio)), dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(S, L, C) -> ((S, L, C), attention probabilities or None)``."""
        out, probs = self.attn(self.norm1(x))
        x = x + self.drop_path(out)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, probs


class SpatioTemporalEncoder(nn.Module):
    """Joint embedding + positional embeddings + ``depth`` [spatial, temporal] block pairs.

    The temporal positional embedding has one row per position of the ``window``;
    :meth:`forward` takes the window position of every input frame, so a sparse subset
    of frames (the student's) is embedded where it sits in the window.
    """

    def __init__(self, config: _BaseConfig) -> None:
        super().__init__()
        c = config.dim
        self.embed = nn.Linear(config.in_dim, c)
        self.joint_pos = nn.Parameter(torch.zeros(config.num_joints, c))
        self.time_pos = nn.Parameter(torch.zeros(config.window, c))
        self.pos_drop = maybe_dropout(config.dropout)
        rates = torch.linspace(0.0, config.drop_path, 2 * config.depth).tolist()

        def block(explicit: bool, rate: float) -> Block:
            return Block(c, config.heads, config.mlp_ratio, explicit, config.dropout, config.attn_dropout, rate)

        self.spatial = nn.ModuleList([block(True, rates[2 * i]) for i in range(config.depth)])
        self.temporal = nn.ModuleList([block(False, rates[2 * i + 1]) for i in range(config.depth)])
        self.norm = nn.LayerNorm(c)
        nn.init.trunc_normal_(self.joint_pos, std=0.02)
        nn.init.trunc_normal_(self.time_pos, std=0.02)

    def forward(self, x: Tensor, positions: Tensor, keep_attention: bool = True) -> tuple[Tensor, list[Tensor]]:
        """Encode a window.

        Args:
            x: ``(B, N, J, in_dim)`` normalised 2D poses with confidence.
            positions: ``(N,)`` or ``(B, N)`` long, the window position of every frame.
            keep_attention: return the spatial attention maps (they are computed anyway).

        Returns:
            ``(tokens (B, N, J, C) after the final LayerNorm, [attention (B, N, heads, J, J)] per
            spatial block or [] when not kept)``.
        """
        b, n, j, _ = x.shape
        tokens = self.embed(x) + self.joint_pos
        tokens = self.pos_drop(tokens).reshape(b * n, j, -1)
        time_pos = self.time_pos[positions]  # (N, C) or (B, N, C)
        maps: list[Tensor] = []
        for i, (spatial, temporal) in enumerate(zip(self.spatial, self.temporal)):
            tokens, probs = spatial(tokens)  # over joints: (B*N, J, C)
            if keep_attention:
                maps.append(probs.reshape(b, n, *probs.shape[1:]))
            tokens = tokens.reshape(b, n, j, -1)
            if i == 0:  # MixSTE adds the temporal embedding before the first temporal block
                tokens = tokens + (time_pos[None, :, None] if time_pos.ndim == 2 else time_pos[:, :, None])
            tokens = tokens.transpose(1, 2).reshape(b * j, n, -1)
            tokens, _ = temporal(tokens)  # over frames: (B*J, N, C)
            tokens = tokens.reshape(b, j, n, -1).transpose(1, 2).reshape(b * n, j, -1)
        return self.norm(tokens.reshape(b, n, j, -1)), maps


def init_weights(module: nn.Module) -> None:
    """Truncated-normal linear weights, zero biases (ViT / MixSTE initialisation)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def subtract_root(pose: Tensor, root: int) -> Tensor:
    """Make poses ``(..., J, 3)`` root-relative (the root joint becomes exactly 0)."""
    return pose - pose[..., root : root + 1, :]
