"""Data-parallel training under ``torchrun`` (one process per GPU, or several CPU processes).

``torchrun`` starts ``WORLD_SIZE`` copies of ``python -m training ...`` and tells each its
``RANK`` (global) and ``LOCAL_RANK`` (on its machine) in the environment. :func:`init`
reads them, joins the process group (NCCL when training on CUDA, gloo on CPU) and pins
rank ``r`` to ``cuda:LOCAL_RANK``. Without ``WORLD_SIZE`` nothing happens and every helper
answers as for one process, so a plain run behaves exactly as before.

How the pieces fit (see :mod:`training.loop`):

* ``--batch-size`` is the *global* batch: rank ``r`` of ``W`` builds items
  ``r*B/W .. (r+1)*B/W - 1`` of every step's batch (:func:`shard_bounds`), so the ranks
  together see exactly the single-process batch;
* each member's model (and its trained extra modules) is wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`, which averages the gradients; the
  losses are means over the local batch and the shares are equal, so the average of the
  per-rank gradients is the gradient of the global batch;
* validation, checkpoints, logs, ``state.pt`` and progress bars happen on rank 0; the
  other ranks wait at a :func:`barrier`.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from scjd_core.errors import InputError, ScjdError


def env_world_size() -> int:
    """``WORLD_SIZE`` of the environment (1 when unset: not started by ``torchrun``)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_active() -> bool:
    """Whether this process is one rank of an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """Global rank of this process (0 when not distributed)."""
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    """Number of processes training together (1 when not distributed)."""
    return dist.get_world_size() if is_active() else 1


def local_rank() -> int:
    """Rank of this process on its machine (``LOCAL_RANK``; 0 when not distributed)."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0) if is_active() else 0


def is_main() -> bool:
    """Whether this process writes checkpoints, logs and progress (rank 0, or a single process)."""
    return rank() == 0


def init(device: str = "auto") -> bool:
    """Join the process group described by the ``torchrun`` environment, if there is one.

    Args:
        device: the run's ``--device`` (``auto``, ``cpu``, ``cuda``): CUDA -> NCCL and
            ``cuda:LOCAL_RANK``, CPU -> gloo.

    Returns:
        True when this call created the process group (the caller then calls :func:`cleanup`);
        False when ``WORLD_SIZE`` is unset or a group already exists.

    Raises:
        ScjdError: when the machine has fewer GPUs than the ranks it runs.
    """
    if "WORLD_SIZE" not in os.environ or is_active():
        return False
    from scjd_core.device import resolve_device

    cuda = resolve_device(device).startswith("cuda")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise ScjdError(
                f"rank with LOCAL_RANK {local} has no GPU (this machine has {torch.cuda.device_count()}): "
                "start at most one process per GPU (torchrun --nproc_per_node)"
            )
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return True


def cleanup() -> None:
    """Leave the process group (no-op when not distributed)."""
    if is_active():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every rank gets here (no-op when not distributed)."""
    if is_active():
        dist.barrier(device_ids=[torch.cuda.current_device()] if dist.get_backend() == "nccl" else None)


def local_device(device: torch.device) -> torch.device:
    """The device of this rank: ``cuda`` becomes ``cuda:LOCAL_RANK`` under ``torchrun``."""
    if device.type == "cuda" and is_active():
        return torch.device("cuda", local_rank())
    return device


def shard_bounds(
    batch_size: int, rank_: int | None = None, world: int | None = None, flag: str = "--batch-size"
) -> tuple[int, int]:
    """Items ``lo .. hi-1`` of each global batch that rank ``rank_`` of ``world`` builds.

    Raises:
        InputError: when the global batch does not split evenly over the ranks (``flag`` names the option).
    """
    rank_ = rank() if rank_ is None else int(rank_)
    world = world_size() if world is None else int(world)
    if batch_size % world:
        raise InputError(
            f"{flag} {batch_size} is the global batch and must split evenly over the {world} processes: "
            f"use a multiple of {world}"
        )
    share = batch_size // world
    return rank_ * share, (rank_ + 1) * share


def broadcast_int(value: int, src: int = 0) -> int:
    """Rank ``src``'s ``value`` on every rank (``value`` itself when not distributed)."""
    if not is_active():
        return int(value)
    t = torch.tensor([int(value)], dtype=torch.int64, device=_comm_device())
    dist.broadcast(t, src=src)
    return int(t.item())


def mean_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over all ranks (``tensor`` itself when not distributed); no gradient."""
    if not is_active() or world_size() == 1:
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / world_size()


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` in :class:`~torch.nn.parallel.DistributedDataParallel` (gradient averaging over ranks).

    The wrapper broadcasts rank 0's parameters and buffers when it is built, so every rank
    starts from the same weights.
    """
    from torch.nn.parallel import DistributedDataParallel

    ids: Any = [device.index if device.index is not None else local_rank()] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def _comm_device() -> torch.device:
    """Where collective tensors live: the rank's GPU for NCCL, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
