"""``python scripts/bench_cuda.py`` (or ``python -m scjd_core.bench.cuda``): arguments and the run."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

from scjd_core.bench.cuda.base import Outcome
from scjd_core.bench.cuda.child import CHILD_GROUPS, compile_child, kill_group
from scjd_core.bench.cuda.common import error_text
from scjd_core.bench.cuda.environment import environment
from scjd_core.bench.cuda.output import write_results
from scjd_core.bench.cuda.runner import CudaBench
from scjd_core.bench.cuda.settings import KINDS, WATCHDOG_GRACE_S
from scjd_core.bench.report import Report


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python scripts/bench_cuda.py",
        description="CUDA benchmark of the SCJD lifters (lifting only; no MediaPipe or Qt needed).",
    )
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write a '## CUDA' section for BENCHMARKS.md")
    p.add_argument("--teacher", metavar="CKPT", help="teacher checkpoint (default: the shipped one, else random-init)")
    p.add_argument("--student", metavar="CKPT", help="student checkpoint (default: the shipped one, else random-init)")
    p.add_argument("--quick", action="store_true", help="fewer batch sizes and repeats")
    p.add_argument("--budget-s", type=float, default=80.0, help="wall-clock budget of the whole run (default 80)")
    p.add_argument("--compile-cap-s", type=float, default=45.0, help="hard cap on the torch.compile child (default 45)")
    p.add_argument(
        "--compile-mode",
        default="default",
        help="torch.compile mode for the batched student (default | max-autotune-no-cudagraphs | ...)",
    )
    p.add_argument(
        "--stream-compile-mode",
        default="reduce-overhead",
        help="torch.compile mode for the streaming student (default reduce-overhead: CUDA graphs)",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="try torch.compile on the student (default: on with CUDA, off on the CPU)",
    )
    # Hidden: the CPU test run and the compile child.
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help=argparse.SUPPRESS)
    p.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--compile-backend", default=None, help=argparse.SUPPRESS)
    p.add_argument("--compile-child", metavar="SPEC", help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--models", default="student,teacher", help=argparse.SUPPRESS)
    return p


def _command(argv: Sequence[str]) -> str:
    return shlex.join(["python", "scripts/bench_cuda.py", *argv])


def main(argv: Sequence[str] | None = None) -> int:
    """``python scripts/bench_cuda.py``: see :mod:`scjd_core.bench.cuda`."""
    t0 = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.compile_child:
        return compile_child(json.loads(args.compile_child))
    meta: dict[str, Any] = {"budget_s": args.budget_s, "quick": args.quick, "forced_cpu": False, "cuda": False}
    outcome = Outcome()
    if args.device == "cpu" and not args.force:
        print("bench_cuda: --device cpu is a test mode of the CUDA benchmark: add --force", file=sys.stderr)
        return 2
    torch = _torch_for(args, argv, meta, outcome)
    if torch is None:
        return 0
    device = args.device
    meta.update(cuda=device == "cuda", forced_cpu=device == "cpu", device=device)
    env = environment(torch, device, _command(argv))
    label = env.get("gpu") if device == "cuda" else "CPU, forced test run"
    report = Report(env=env)
    bench = CudaBench(report, device, args.quick, args.budget_s, t0=t0, label=str(label), log=not args.quiet)
    bench.outcome = outcome
    finisher = _Finisher(args, report, outcome, meta, t0)
    threading.Thread(target=finisher.watchdog, daemon=True).start()
    _run(bench, args, torch, _compile_options(args, device, outcome))
    written = finisher.finish(False)
    if not written and finisher.done.is_set() and outcome.aborted:
        return 0
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    for name, err in outcome.errors.items():
        print(f"error: {name}: {err}")
    for path in written:
        print(f"wrote {path}")
    print(f"bench_cuda: done in {meta['wall_s']} s on {label} ({len(outcome.errors)} errors)")
    return 0


def _torch_for(args: argparse.Namespace, argv: Sequence[str], meta: dict[str, Any], outcome: Outcome) -> Any:
    """torch, when it imports and the device is there; else ``None`` after writing why nothing was measured."""
    try:
        import torch
    except Exception as exc:  # torch missing or broken: say so, like a machine without CUDA
        meta.update(message=f"torch cannot be imported ({error_text(exc)}): nothing measured", device=args.device)
        print(f"bench_cuda: {meta['message']}")
        write_results(args, None, outcome, {**meta, "environment": environment(None, args.device, _command(argv))})
        return None
    if args.device == "cuda" and not torch.cuda.is_available():
        meta.update(
            message=f"no CUDA GPU available (torch {torch.__version__}, built for CUDA {torch.version.cuda}): "
            "nothing measured",
            device="cuda",
        )
        print(f"bench_cuda: {meta['message']}")
        write_results(args, None, outcome, {**meta, "environment": environment(torch, "cpu", _command(argv))})
        return None
    return torch


class _Finisher:
    """Writes the results once: at the end of the run, or from the watchdog when the budget is blown."""

    def __init__(
        self, args: argparse.Namespace, report: Report, outcome: Outcome, meta: dict[str, Any], t0: float
    ) -> None:
        self.args, self.report, self.outcome, self.meta, self.t0 = args, report, outcome, meta, t0
        self.done = threading.Event()
        self.lock = threading.Lock()

    def finish(self, aborted: bool) -> list[str]:
        """Write the JSON and the markdown unless already written; returns the paths written."""
        with self.lock:
            if self.done.is_set():
                return []
            self.done.set()
            self.outcome.aborted = aborted
            self.meta["wall_s"] = round(time.perf_counter() - self.t0, 1)
            if aborted:
                self.report.notes.append(f"ABORTED by the watchdog at {self.meta['wall_s']} s: the figures are partial")
            return write_results(self.args, self.report, self.outcome, self.meta)

    def watchdog(self) -> None:
        """After the budget and a grace period: kill compile children, write what was measured, exit."""
        budget_s = self.args.budget_s
        if self.done.wait(max(0.0, self.t0 + budget_s + WATCHDOG_GRACE_S - time.perf_counter())):
            return
        for pgid in list(CHILD_GROUPS):
            kill_group(pgid)
        written = self.finish(True)
        print(
            f"bench_cuda: ABORTED after {time.perf_counter() - self.t0:.0f} s (budget {budget_s:g} s); "
            f"partial results written: {', '.join(written) or 'nothing'}",
            flush=True,
        )
        os._exit(0)


def _compile_options(args: argparse.Namespace, device: str, outcome: Outcome) -> dict[str, Any] | None:
    """Options of :meth:`CudaBench.compiled`, or ``None`` when torch.compile is off."""
    use_compile = args.compile if args.compile is not None else device == "cuda"
    if not use_compile:
        outcome.skipped["student torch.compile"] = "off (--no-compile, or the CPU test run)"
        return None
    return {
        "cap_s": args.compile_cap_s,
        "mode": "" if args.compile_mode == "default" else args.compile_mode,
        "stream_mode": args.stream_compile_mode if device == "cuda" else "",
        "backend": args.compile_backend or ("inductor" if device == "cuda" else "eager"),
        "stream": True,
    }


def _run(bench: CudaBench, args: argparse.Namespace, torch: Any, compile_opts: dict[str, Any] | None) -> None:
    """Load the models and run every measurement; a bug outside the guarded steps keeps what was measured."""
    threads = torch.get_num_threads()
    if bench.device == "cpu":
        torch.set_num_threads(1)  # the test run on a shared CPU: one thread does not stall on busy cores
    try:
        kinds = [k for k in KINDS if k in args.models.split(",")]
        bench.load({"student": args.student, "teacher": args.teacher}, kinds)
        bench.run_all(compile_opts)
    except Exception as exc:
        bench.outcome.errors["bench"] = error_text(exc)
        traceback.print_exc()
    finally:
        torch.set_num_threads(threads)
