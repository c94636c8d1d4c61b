"""CUDA benchmark of the lifters (``python scripts/bench_cuda.py``; rows of ``scjd bench`` on a GPU).

Lifting only: MediaPipe, Qt and an installed package are not needed (run from the
repository root as ``python -m scjd_core.bench.cuda`` or through ``scripts/bench_cuda.py``).
Measured for
the student and the teacher on one CUDA GPU:

* **batched throughput** (output frames/s): device-resident windows, ``inference_mode``,
  fp32 and fp16 / bf16 ``torch.autocast``, over a sweep of batch sizes (the best is
  reported, the sweep is in the note), timed with CUDA events (median of several runs
  after warm-up); and the same through :meth:`ModelBackend.lift` from numpy (host
  normalisation and both transfers included);
* **streaming latency per new frame**: one window per :meth:`ModelBackend.lift` call, as
  live mode lifts (host clock; each call ends synchronised because it returns numpy);
* **fp16 / bf16 parity**: max abs difference against fp32, in metres, on windows of the
  demo clip's real MediaPipe keypoints plus a synthetic stream (and GPU fp32 vs CPU fp32);
* **host<->device copies per live step**: memcpy events counted with ``torch.profiler``
  over several live steps and attributed (bytes, direction, the ``scjd_core`` function
  that issued each) from the profiler's trace;
* student only: **CUDA graphs** (captured in this process) and **torch.compile** (in a
  child process killed at a hard time cap, so compiling cannot eat the budget), each
  reported against eager in the same run and said to pay or not.

Every measurement is guarded (a failure becomes an error string in its row and the run
goes on) and the whole run keeps to ``--budget-s`` (a watchdog writes what was measured
and exits if something hangs). Without CUDA it prints one line, writes a JSON saying so
and exits 0. ``--device cpu --force`` (hidden) runs every step on the CPU at tiny sizes
to exercise the code path on a machine without a GPU.

Modules, by concern:

* :mod:`~scjd_core.bench.cuda.settings`: targets, names, paths, the sizes of a run;
* :mod:`~scjd_core.bench.cuda.common`, :mod:`~scjd_core.bench.cuda.timing`: helpers, the clock;
* :mod:`~scjd_core.bench.cuda.inputs`, :mod:`~scjd_core.bench.cuda.models`: windows and models to time;
* :mod:`~scjd_core.bench.cuda.base`: the state and guard every measurement runs under;
* :mod:`~scjd_core.bench.cuda.latency`: fp16/bf16 parity, streaming latency, copies per live step
  (attributed by :mod:`~scjd_core.bench.cuda.copies`);
* :mod:`~scjd_core.bench.cuda.throughput`: batched throughput and ``lift()`` from numpy;
* :mod:`~scjd_core.bench.cuda.student`: CUDA graphs (:mod:`~scjd_core.bench.cuda.graphs`) and
  torch.compile (in the capped child of :mod:`~scjd_core.bench.cuda.child`);
* :mod:`~scjd_core.bench.cuda.runner`: :class:`CudaBench` and the GPU rows of ``scjd bench``;
* :mod:`~scjd_core.bench.cuda.environment`, :mod:`~scjd_core.bench.cuda.output`: machine facts, JSON
  and markdown;
* :mod:`~scjd_core.bench.cuda.cli`: the command line and the watchdog.
"""

from scjd_core.bench.cuda.cli import main
from scjd_core.bench.cuda.copies import attribute_copies, describe_copies
from scjd_core.bench.cuda.graphs import cached_interpolation_weights, capture_graph
from scjd_core.bench.cuda.inputs import realistic_window_sequence, realistic_windows, synthetic_windows
from scjd_core.bench.cuda.models import load_model, max_windows
from scjd_core.bench.cuda.runner import CudaBench, cuda_rows
from scjd_core.bench.cuda.settings import MACHINE_NOTE

__all__ = [
    "MACHINE_NOTE",
    "CudaBench",
    "attribute_copies",
    "cached_interpolation_weights",
    "capture_graph",
    "cuda_rows",
    "describe_copies",
    "load_model",
    "main",
    "max_windows",
    "realistic_window_sequence",
    "realistic_windows",
    "synthetic_windows",
]
