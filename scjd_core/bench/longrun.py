"""Lifting very long 2D streams in bounded memory, results streamed to disk.

A stream of any length arrives as chunks of :class:`~scjd_core.types.Pose2DSequence`
(of any sizes). :func:`lift_to_disk` regroups them into blocks of whole lifting windows
(``window * batch_size`` frames, aligned at frame 0, exactly the windows and batches a
single in-memory :meth:`~scjd_core.backends.base.LiftingBackend.lift` of the whole stream
would use), lifts each block and appends the poses to the output file before reading
on. Only one block of 2D and 3D is held at a time, so memory does not grow with the
length of the stream, and the file equals the in-memory lifting of the whole stream.

Outputs (written to a temporary file beside the target and renamed at the end, so an
interrupted run leaves no partial file):

* ``.npy``: ``(F, 17, 3)`` float32, root-relative camera metres (needs ``total_frames``
  up front, since the header holds the shape; the count is checked at the end);
* ``.csv``: ``frame,<joint>_x,<joint>_y,<joint>_z,...`` (length need not be known).

Run ``python -m scjd_core.bench.longrun --frames 108000 --out lift.npy`` to lift a synthetic
one-hour 30 fps stream with the student (used by ``scjd bench`` to measure peak memory;
the stream is :func:`scjd_core.synthetic.synthetic_stream`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from scjd_core.atomic import atomic_write
from scjd_core.backends.base import LiftingBackend
from scjd_core.errors import OutputError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS
from scjd_core.synthetic import synthetic_stream
from scjd_core.types import Pose2DSequence


@dataclass(frozen=True)
class LongRunStats:
    """What a :func:`lift_to_disk` run did."""

    frames: int
    blocks: int
    seconds: float
    path: Path

    @property
    def fps(self) -> float:
        """Output frames per second (2D generation/reading included)."""
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def _concat(parts: Sequence[Pose2DSequence]) -> Pose2DSequence:
    first = parts[0]
    if len(parts) == 1:
        return first
    worlds = [p.world for p in parts]
    return Pose2DSequence(
        keypoints=np.concatenate([p.keypoints for p in parts]),
        confidence=np.concatenate([p.confidence for p in parts]),
        found=np.concatenate([p.found for p in parts]),
        filled=np.concatenate([p.filled for p in parts]),
        times=np.concatenate([p.times for p in parts]),
        width=first.width,
        height=first.height,
        fps=first.fps,
        world=None if any(w is None for w in worlds) else np.concatenate(worlds),
        meta=dict(first.meta),
    )


def _split(seq: Pose2DSequence, n: int) -> tuple[Pose2DSequence, Pose2DSequence]:
    from scjd_core.types import slice_sequence

    return slice_sequence(seq, 0, n), slice_sequence(seq, n, len(seq))


def rechunk(chunks: Iterable[Pose2DSequence], block: int) -> Iterator[Pose2DSequence]:
    """Regroup sequences of any sizes into blocks of exactly ``block`` frames (last: the rest)."""
    held: list[Pose2DSequence] = []
    count = 0
    for seq in chunks:
        while len(seq):
            take = min(block - count, len(seq))
            head, seq = _split(seq, take)
            held.append(head)
            count += take
            if count == block:
                yield _concat(held)
                held, count = [], 0
    if count:
        yield _concat(held)


class _NpyWriter:
    """Appends ``(n, 17, 3)`` float32 blocks to an ``.npy`` whose shape is known up front."""

    def __init__(self, handle: IO[bytes], total: int) -> None:
        self._f, self._total, self.written = handle, total, 0
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False}
        np.lib.format.write_array_header_1_0(handle, {**header, "shape": (total, NUM_JOINTS, 3)})

    def write(self, poses: np.ndarray) -> None:
        if self.written + len(poses) > self._total:
            raise OutputError(f"the stream has more than the {self._total} frames announced: pass the right total")
        self._f.write(np.ascontiguousarray(poses, dtype="<f4").tobytes())
        self.written += len(poses)

    def close(self) -> None:
        if self.written != self._total:
            raise OutputError(
                f"the stream ended after {self.written} of the {self._total} frames announced: "
                "pass the right total, or write a .csv"
            )


class _CsvWriter:
    """Appends rows ``frame,<joint>_x,<joint>_y,<joint>_z,...`` (millimetre precision and better)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._f, self.written = handle, 0
        cols = ["frame"] + [f"{name}_{axis}" for name in JOINT_NAMES for axis in "xyz"]
        handle.write((",".join(cols) + "\n").encode())

    def write(self, poses: np.ndarray) -> None:
        index = np.arange(self.written, self.written + len(poses))[:, None]
        rows = np.concatenate([index, poses.reshape(len(poses), -1)], axis=1)
        np.savetxt(self._f, rows, fmt=["%d"] + ["%.7g"] * (NUM_JOINTS * 3), delimiter=",")
        self.written += len(poses)

    def close(self) -> None:
        """Nothing to finish: CSV needs no header update."""


def lift_to_disk(
    backend: LiftingBackend,
    chunks: Iterable[Pose2DSequence],
    path: str | os.PathLike[str],
    total_frames: int | None = None,
    block_windows: int = 64,
    overwrite: bool = False,
) -> LongRunStats:
    """Lift a stream of 2D chunks and append the 3D poses to ``path`` (``.npy`` or ``.csv``).

    Args:
        backend: any lifting backend (its ``window`` sets the block alignment).
        chunks: the 2D stream, as sequences of any sizes, in order, gaps already filled.
        path: output file; ``.npy`` needs ``total_frames``.
        total_frames: frames in the whole stream (checked at the end for ``.npy``).
        block_windows: windows lifted per block (use the backend's batch size so the
            batches equal those of an in-memory lifting).
        overwrite: replace an existing file.

    Returns:
        :class:`LongRunStats`.

    Raises:
        OutputError: unknown extension, ``.npy`` without ``total_frames``, a stream
            whose length differs from ``total_frames``, or an unwritable path.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".npy", ".csv"):
        raise OutputError(f"cannot write {out.name}: long-run output must be .npy or .csv")
    if suffix == ".npy" and total_frames is None:
        raise OutputError(f"{out.name}: an .npy output needs the total frame count up front; write a .csv instead")
    block = max(1, int(backend.window)) * max(1, int(block_windows))
    t0 = time.perf_counter()
    blocks = 0
    with atomic_write(out, "wb", overwrite=overwrite) as handle:
        writer = _NpyWriter(handle, int(total_frames)) if suffix == ".npy" else _CsvWriter(handle)
        for seq in rechunk(chunks, block):
            writer.write(backend.lift(seq).poses)
            blocks += 1
        writer.close()
    return LongRunStats(frames=writer.written, blocks=blocks, seconds=time.perf_counter() - t0, path=out)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (``VmHWM``, or ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scjd_core.bench.longrun``: lift a synthetic stream to disk, print one JSON line."""
    import json

    from scjd_core.errors import ScjdError

    parser = argparse.ArgumentParser(prog="python -m scjd_core.bench.longrun", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=108_000, help="stream length (default: 1 h at 30 fps)")
    parser.add_argument("--out", required=True, help="output .npy or .csv")
    parser.add_argument("--model", default="student", help="student/teacher (shipped) or a registered name")
    parser.add_argument("--engine", default="torch", choices=["torch", "onnx"], help="inference engine")
    parser.add_argument("--chunk", type=int, default=1000, help="frames per incoming 2D chunk")
    parser.add_argument("--block-windows", type=int, default=16, help="windows lifted per block (and batch)")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        from scjd_core.bench.kit import make_backend

        backend, source = make_backend(args.model, engine=args.engine, batch_size=args.block_windows)
        backend.lift(next(synthetic_stream(backend.window, chunk=backend.window)))  # warm-up, not timed
        stream = synthetic_stream(args.frames, chunk=args.chunk)
        stats = lift_to_disk(backend, stream, args.out, args.frames, args.block_windows, overwrite=args.overwrite)
    except ScjdError as exc:
        print(f"scjd: error: {exc}", file=sys.stderr)
        return exc.exit_code
    report = {"frames": stats.frames, "seconds": stats.seconds, "fps": stats.fps, "model": source}
    print(json.dumps({**report, "engine": args.engine, "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
