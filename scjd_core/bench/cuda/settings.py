"""What the CUDA benchmark measures against and how much: targets, names, paths, sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: fp16 / bf16 are "accurate enough" when they move no joint by more than this (metres).
FP16_TOLERANCE_M = 1e-3
#: Goal for the student's batched throughput on a GPU (output frames/s).
STUDENT_GPU_FPS_TARGET = 1_000_000.0
#: Copies one live step should make: the window in, the poses out.
LIVE_COPIES_TARGET = 2
MACHINE_NOTE = "lifting only, no MediaPipe on this machine"
SECTION = "cuda"
DTYPES = ("fp32", "fp16", "bf16")
KINDS = ("student", "teacher")
REPO = Path(__file__).resolve().parents[3]
KEYPOINTS = REPO / "tests" / "data" / "bench" / "pose_1_keypoints.npz"
#: Seconds kept back at the end of the budget for writing the outputs.
RESERVE_S = 3.0
#: The watchdog writes what was measured and exits this long after the budget ran out.
WATCHDOG_GRACE_S = 6.0


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does (GPU full, GPU quick, or the tiny CPU test run)."""

    batches: dict[str, tuple[int, ...]]  # windows per forward, swept for throughput
    lift_batch: dict[str, int]  # windows per lift() call for the from-numpy row
    stream_calls: dict[str, int]
    parity_real: int  # at most this many windows of the demo clip's keypoints
    parity_synthetic: int  # plus this many synthetic windows
    copy_steps: int  # live steps profiled
    repeats: int  # timed runs per figure (median reported)
    run_s: float  # target length of one timed run (iterations adapt to it)


def sizes_for(device: str, quick: bool) -> Sizes:
    """The sizes of a run on ``device`` (``"cuda"`` or ``"cpu"``, the latter tiny)."""
    if device == "cpu":  # the forced test run: every path once, nothing meaningful
        return Sizes(
            batches={"student": (2, 3), "teacher": (1,)},
            lift_batch={"student": 3, "teacher": 1},
            stream_calls={"student": 2, "teacher": 2},
            parity_real=1,
            parity_synthetic=1,
            copy_steps=1,
            repeats=1,
            run_s=0.002,
        )
    if quick:
        return Sizes(
            batches={"student": (3840, 16384), "teacher": (1024,)},
            lift_batch={"student": 3840, "teacher": 1024},
            stream_calls={"student": 60, "teacher": 30},
            parity_real=40,
            parity_synthetic=64,
            copy_steps=5,
            repeats=3,
            run_s=0.05,
        )
    return Sizes(
        batches={"student": (1024, 3840, 16384), "teacher": (256, 1024, 4096)},
        lift_batch={"student": 3840, "teacher": 1024},
        stream_calls={"student": 200, "teacher": 100},
        parity_real=40,
        parity_synthetic=128,
        copy_steps=10,
        repeats=5,
        run_s=0.1,
    )
