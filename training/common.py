"""Shared plumbing of the training and evaluation commands.

* batches: the training noise and body-proportion augmentation, fixed evaluation batches and
  the resumable training batches (the mocap data itself: :mod:`training.mocap_data`);
* facts for checkpoint metadata: hardware, and for continued runs the starting weights and
  the lineage of the checkpoint they start from;
* a metrics log written as CSV and JSON lines side by side;
* the training-state file used by ``--resume`` (``torch.save`` of tensors and plain
  Python values only, read back with ``weights_only=True`` so loading runs no code).
"""

from __future__ import annotations

import csv
import json
import os
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from scjd_core.atomic import atomic_write, check_writable_dir
from scjd_core.errors import CheckpointError, InputError
from training.mocap_data import portable_path

#: Standard deviation of the per-bone length factor of training and validation windows
#: of training runs (symmetric left/right, on top of the random overall body scale). The
#: recipes before used the dataset's 0.03 (still its default: evaluation windows and the fixed
#: evaluation files are made with it, see ``fixed_batches``);
#: the training actors' own proportions differ far more (the std of a bone's log length
#: across the three training actors is 0.02-0.18, median 0.095) and the lifters had learnt
#: theirs: on held-out dg they gave 0.405 m thighs for its 0.373 m. Continuing the shipped
#: teacher and students with 0.1 took dg from 61.8 to 60.6 mm (teacher) and from 76.3 to
#: 73.9 mm (SCJD student). See docs/training_recipe.md, "Body proportions".
LIMB_SCALE_STD = 0.1


def training_noise() -> tuple:
    """The detector-noise mixture of training and validation windows: each window draws one model.

    * :class:`~training.data.noise.DetectorNoise` defaults, fitted to MediaPipe on real clips
      (``scripts/calibrate_noise.py``, ``docs/noise_calibration.md``): a steady, smoothed detector;
    * :meth:`~training.data.noise.DetectorNoise.v1`, the first hand-set model: ~50x the jitter,
      10x the drop-outs and outliers. Two clean clips cannot show what occlusion, motion blur or
      poor light do to MediaPipe, and the fixed evaluation file was made with this noise, so half
      the windows keep the lifters robust to a much noisier detector.
    """
    from training.data.noise import DetectorNoise

    return (DetectorNoise(), DetectorNoise.v1())


def fixed_batches(
    clips: Sequence,
    window: int,
    windows: int,
    batch_size: int,
    seed: int,
    noise: Any = None,
    limb_scale_std: float | None = None,
) -> list[dict[str, torch.Tensor]]:
    """Deterministic windows (item ``i`` is a function of ``seed, i``) collated into batches.

    Used for validation and evaluation: every model sees exactly these inputs.
    ``limb_scale_std``: per-bone length variation; ``None`` = the dataset's own default, so the
    evaluation windows do not follow the training default (a run's validation passes its own).
    """
    from training.data import MocapWindowDataset

    bones = {} if limb_scale_std is None else {"limb_scale_std": limb_scale_std}
    ds = MocapWindowDataset(clips, window=window, samples=windows, seed=seed, noise=noise, train=False, **bones)
    out = []
    for start in range(0, windows, batch_size):
        items = [ds[i] for i in range(start, min(start + batch_size, windows))]
        out.append({k: torch.stack([it[k] for it in items]) for k in ("inputs", "target")})
    return out


class StepBatches(torch.utils.data.IterableDataset):
    """The training batches of steps ``start .. stop-1``, each a pure function of (seed, step).

    Step ``s`` sets the dataset's epoch to ``s`` and collates items ``0 .. B-1``, so a
    resumed run sees exactly the batches an uninterrupted one would. With DataLoader
    workers, worker ``w`` makes the steps ``s ≡ w (mod workers)``; the DataLoader's
    round-robin keeps them in step order.

    Data-parallel runs: ``batch_size`` is the global batch and rank ``r`` of ``world``
    collates only items ``r*B/world .. (r+1)*B/world - 1`` (each item is a function of
    seed, step and index), so the ranks' batches together are exactly the single-process
    batch, with or without workers.
    """

    def __init__(
        self, dataset: Any, batch_size: int, start: int, stop: int | None, rank: int = 0, world: int = 1
    ) -> None:
        from training.distributed import shard_bounds

        super().__init__()
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.items = range(*shard_bounds(self.batch_size, rank, world))
        self.start = int(start)
        self.stop = 2**62 if stop is None else int(stop)  # None: endless (a time-budgeted run)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        for step in range(self.start + worker, self.stop, workers):
            self.dataset.set_epoch(step)
            items = [self.dataset[i] for i in self.items]
            yield {k: torch.stack([it[k] for it in items]) for k in ("inputs", "target")}


def train_batches(
    clips: Sequence,
    window: int,
    batch_size: int,
    seed: int,
    start: int,
    stop: int | None,
    workers: int = 0,
    rank: int = 0,
    world: int = 1,
    limb_scale_std: float = LIMB_SCALE_STD,
    speed_jitter: float = 0.0,
) -> Iterator[dict[str, torch.Tensor]]:
    """Iterator over the training batches of steps ``start .. stop-1`` (``stop=None``: endless; see
    :class:`StepBatches`); rank ``rank`` of ``world`` gets its share of each global batch;
    ``limb_scale_std``: the per-bone body-proportion augmentation (see :data:`LIMB_SCALE_STD`);
    ``speed_jitter``: the playback-speed augmentation (see :class:`~training.data.MocapWindowDataset`)."""
    from training.data import MocapWindowDataset

    ds = MocapWindowDataset(
        clips,
        window=window,
        samples=batch_size,
        seed=seed,
        noise=training_noise(),
        limb_scale_std=limb_scale_std,
        speed_jitter=speed_jitter,
        train=True,
    )
    steps = StepBatches(ds, batch_size, start, stop, rank, world)
    if workers <= 0:
        return iter(steps)
    loader = torch.utils.data.DataLoader(
        steps, batch_size=None, num_workers=workers, prefetch_factor=4, pin_memory=torch.cuda.is_available()
    )
    return iter(loader)


def hardware_info(device: str | torch.device = "cpu") -> dict[str, Any]:
    """CPU model, core and thread counts, GPU name (when used), torch version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


class MetricsLog:
    """Append-only metrics log: ``NAME.csv`` and ``NAME.jsonl`` side by side.

    Every record is one JSON line; the CSV gets the columns of the first record it
    sees (later keys outside them are kept in the JSON lines only).
    """

    def __init__(self, directory: str | os.PathLike[str], name: str = "metrics") -> None:
        self.dir = check_writable_dir(directory)
        self.jsonl = self.dir / f"{name}.jsonl"
        self.csv = self.dir / f"{name}.csv"
        self._columns: list[str] | None = None
        if self.csv.exists() and self.csv.stat().st_size > 0:
            with self.csv.open(encoding="utf-8", newline="") as fh:
                self._columns = next(csv.reader(fh), None)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (plain numbers and strings)."""
        with self.jsonl.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        new = self._columns is None
        if new:
            self._columns = list(record)
        with self.csv.open("a", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self._columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(record)


def save_train_state(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write a training state (tensors, numbers, strings, lists, dicts only) atomically."""
    with atomic_write(path, "wb", overwrite=True) as fh:
        torch.save(state, fh)


def load_train_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a training state written by :func:`save_train_state` (``weights_only=True``: no code runs).

    Raises:
        CheckpointError: when the file is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training state {path} not found: drop --resume or point it at a state.pt")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types on corrupt or foreign files
        raise CheckpointError(f"training state {path} is unreadable ({exc}): start again without --resume") from None


def rng_state() -> dict[str, Any]:
    """torch's CPU (and CUDA) RNG states. Data and phases use seeded numpy Generators, not global state."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA); everything else draws from Generators seeded explicitly."""
    torch.manual_seed(seed)


#: Model-config fields that change no weight: a run may continue a checkpoint with other values.
TRAINING_ONLY_FIELDS = ("dropout", "attn_dropout", "drop_path", "test_flip")


def load_init_weights(net: torch.nn.Module, path: str | os.PathLike[str], kind: str, model: str) -> dict[str, Any]:
    """Start ``net`` from the weights of checkpoint ``path`` (fine-tuning a finished run).

    The checkpoint must be a ``kind`` model with ``net``'s configuration, so a continued run
    is the same model trained longer (the training-only fields of :data:`TRAINING_ONLY_FIELDS`,
    dropout rates and the test-time flip, may differ: they change no weight); or a shallower one with otherwise the
    same configuration, which is grown into ``net`` with identity blocks appended
    (:mod:`scjd_core.models.grow`: the grown model starts computing exactly what the
    checkpoint computed).

    Returns:
        What the continued run's metadata keeps of where it started (:func:`init_record`;
        ``grown_from_depth`` when blocks were added).

    Raises:
        InputError: another kind of model or another configuration.
        CheckpointError: the checkpoint is missing or unreadable.
    """
    from scjd_core.models import load_checkpoint
    from scjd_core.models.grow import growable_depth, load_deepened

    start, meta = load_checkpoint(path, device="cpu")
    old, new = (
        {k: v for k, v in cfg.to_dict().items() if k not in TRAINING_ONLY_FIELDS}
        for cfg in (start.config, net.config)  # type: ignore[operator]
    )
    if meta["kind"] == kind and growable_depth(old, new):
        load_deepened(net, start)
        return {**init_record(path, meta), "grown_from_depth": int(old["depth"])}
    if meta["kind"] != kind or old != new:
        raise InputError(
            f"--init {path} is not a {model} {kind} with these options: "
            f"start from a checkpoint of the same {kind} configuration (or a shallower one to grow)"
        )
    net.load_state_dict(start.state_dict())
    return init_record(path, meta)


def training_command(meta: dict[str, Any]) -> str:
    """The command line that trained a checkpoint (``meta``: its metadata), as one string."""
    tr = meta.get("training", {})
    return tr.get("shell_command") or " ".join(tr.get("command", []))


def run_summary(meta: dict[str, Any]) -> dict[str, Any]:
    """One training run of a checkpoint, as its continuations remember it: command, time, hardware."""
    tr = meta.get("training", {})
    hw = tr.get("hardware", {})
    return {
        "sha256": meta.get("sha256"),
        "command": training_command(meta),
        "wall_clock_s": tr.get("wall_clock_s"),
        "steps_done": tr.get("steps_done"),
        "hardware": {k: hw[k] for k in ("gpu", "cpu", "cpu_count") if k in hw},
    }


def init_record(path: str | os.PathLike[str], meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata a continued run keeps of its starting checkpoint ``path`` (metadata ``meta``):
    its path and sha256, and every run that made it, oldest first (``init_history``), so a
    model card can list the whole lineage even when the earlier files are gone or overwritten."""
    recipe = meta.get("training", {}).get("recipe", {})
    history = list(recipe.get("init_history", [])) + [run_summary(meta)]
    return {"init": portable_path(path), "init_sha256": meta.get("sha256"), "init_history": history}
