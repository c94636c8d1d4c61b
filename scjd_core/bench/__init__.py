"""Benchmarks of SCJD: ``scjd bench`` (CPU, and GPU rows when CUDA is present), the CUDA
benchmark behind ``scripts/bench_cuda.py`` (:mod:`scjd_core.bench.cuda`) and long
bounded-memory lifting runs (:mod:`scjd_core.bench.longrun`).

Benchmark code only: it sits above the pipeline, the backends and the models, and no
production module imports it (the ``scjd`` command line adds ``scjd bench`` through
:func:`add_bench_parser`). Importing this package is light (no torch).

Modules:

* :mod:`~scjd_core.bench.command`: the ``scjd bench`` command (arguments, the run);
* :mod:`~scjd_core.bench.lifting`: model, batched and streaming lifting rows, engine choice;
* :mod:`~scjd_core.bench.stages`: demo-clip and synthetic-stream stage rows;
* :mod:`~scjd_core.bench.memory`: 1-minute and 1-hour long-run memory rows;
* :mod:`~scjd_core.bench.kit`, :mod:`~scjd_core.bench.environment`,
  :mod:`~scjd_core.bench.report`: backends to time and timers, machine facts, the report;
* :mod:`~scjd_core.bench.longrun`: lifting very long streams to disk in bounded memory;
* :mod:`~scjd_core.bench.cuda`: the CUDA benchmark.
"""

from scjd_core.bench.command import add_bench_parser

__all__ = ["add_bench_parser"]
