#!/usr/bin/env python3
"""CUDA benchmark of the SCJD lifters (lifting only: no MediaPipe, no Qt, no install needed).

    python scripts/bench_cuda.py --json OUT.json --markdown OUT.md [--teacher CKPT] [--student CKPT]
                                 [--quick] [--budget-s 80] [--compile-cap-s 45] [--no-compile]

Measures, for the student and the teacher on one CUDA GPU, batched output frames/s
(fp32, fp16 and bf16 autocast), streaming latency per new frame, fp16/bf16 parity against
fp32, the host<->device copies of a live step, and for the student CUDA graphs and
torch.compile (capped); see :mod:`scjd_core.bench.cuda`. ``OUT.md`` is a ``## CUDA``
section for BENCHMARKS.md. Without CUDA it prints one line, writes a JSON saying so and
exits 0.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _main() -> int:
    from scjd_core.bench.cuda import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
