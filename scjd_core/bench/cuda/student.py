"""The student's extra CUDA measurements: CUDA graphs and torch.compile, each against eager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scjd_core.bench.cuda.child import run_child
from scjd_core.bench.cuda.common import error_text, fmt_rate
from scjd_core.bench.cuda.graphs import capture_graph
from scjd_core.bench.cuda.inputs import realistic_window_sequence
from scjd_core.bench.cuda.latency import LatencyMeasurements
from scjd_core.bench.cuda.models import lifted_poses
from scjd_core.bench.cuda.settings import RESERVE_S, STUDENT_GPU_FPS_TARGET
from scjd_core.bench.cuda.throughput import ThroughputMeasurements
from scjd_core.bench.kit import latencies_ms


class StudentExtras(ThroughputMeasurements, LatencyMeasurements):
    """CUDA graphs (batched and a live step) and torch.compile (in a capped child) of the student."""

    def _graph_forward(self) -> tuple[Callable[[Any], Any], Any]:
        """The student's forward as ``lift()`` runs it (test-time flip included) and its sample
        positions, which the model keeps on the device: ``(fwd, indices)``."""
        model = self.backends["student"].model
        return lifted_poses(model), model.sample_indices(0)

    def _capture(self, fwd: Callable[[Any], Any], x: Any, label: str, idx: Any) -> tuple[Any, Any, str]:
        """:func:`capture_graph`, trying the model as it is only until that has failed once."""
        window = self.backends["student"].window
        graph, out, how = capture_graph(self.torch, fwd, x, label, idx, window, as_is=self.plain_capture is not False)
        if self.plain_capture is None:
            self.plain_capture = how == "captured as is"
        return graph, out, how

    def cuda_graph_batched(self) -> None:
        """Student forward captured in a CUDA graph: batched throughput, fp32 and the best half dtype."""
        torch, backend = self.torch, self.backends["student"]
        window = backend.window
        fwd, idx = self._graph_forward()
        labels = ["fp32"] + ([self.best_label("student")] if self.best_label("student") != "fp32" else [])
        batch = self.fps.get("student", {}).get("fp32", (0.0, self.sizes.lift_batch["student"]))[1]
        how = ""
        for label in labels:
            x = self._device_windows("student", batch)
            try:
                graph, out, how = self._capture(fwd, x, label, idx)
            except Exception as exc:
                self.add(f"student batched {label} CUDA graph", None, "frames/s", note=f"ERROR: {error_text(exc)}")
                del x
                self._free()
                continue
            with torch.inference_mode():
                eager = self._forward("student", label)(x)
                graph.replay()
                same = float((out.float() - eager.float()).abs().max())
            t = self.clock.per_call_s(graph.replay, self.sizes.repeats, self.sizes.run_s)
            fps = batch * window / t["median"]
            eager_fps = self.outcome.sweeps.get("student", {}).get(label, {}).get(str(batch))
            ratio = fps / eager_fps if isinstance(eager_fps, float) else float("nan")
            self.add(
                f"student batched {label} CUDA graph",
                fps,
                "frames/s",
                f">= {STUDENT_GPU_FPS_TARGET:,.0f}",
                fps >= STUDENT_GPU_FPS_TARGET,
                f"{batch} windows per replay; {ratio:.2f}x eager at the same batch "
                f"({'pays' if ratio > 1.05 else 'does not pay'}); max abs vs eager {same * 1000:.2g} mm; {how}",
            )
            del graph, out, x, eager
            self._free()

    def cuda_graph_live(self) -> None:
        """A live step through a CUDA graph: window -> pinned -> static input, replay, poses -> pinned."""
        import numpy as np

        torch, backend = self.torch, self.backends["student"]
        window = backend.window
        fwd, idx = self._graph_forward()
        seq = realistic_window_sequence(window)
        x1 = torch.from_numpy(seq.normalized().astype(np.float32)[None]).to(self.device)
        graph, out, how = self._capture(fwd, x1, "fp32", idx)
        pin_in = torch.empty(tuple(x1.shape), dtype=torch.float32, pin_memory=True)
        pin_out = torch.empty(tuple(out.shape), dtype=torch.float32, pin_memory=True)

        def live_step() -> Any:
            pin_in.numpy()[:] = seq.normalized()[None]
            x1.copy_(pin_in, non_blocking=True)
            graph.replay()
            pin_out.copy_(out, non_blocking=True)
            torch.cuda.current_stream().synchronize()
            return pin_out.numpy()[0].copy()

        with torch.inference_mode():
            got = live_step()
        ref = backend.lift(seq).poses
        same = float(np.abs(got - ref).max())
        lat = latencies_ms(live_step, self.sizes.stream_calls["student"])
        eager_ms = self.stream_ms.get("student", {}).get("fp32")
        ratio = eager_ms / lat["median"] if eager_ms else float("nan")
        self.add(
            "student streaming fp32 CUDA graph latency per new frame",
            lat["median"],
            "ms",
            note=f"median of {self.sizes.stream_calls['student']} live steps (normalise, pinned copy in, replay, "
            f"pinned copy out); {ratio:.1f}x faster than eager lift() ({'pays' if ratio > 1.05 else 'does not pay'}); "
            f"p95 {lat['p95']:.3f} ms; max abs vs lift() {same * 1000:.2g} mm; {how}",
        )
        steps = self.sizes.copy_steps
        n_copies, n_gpu, groups, err = self._profile(live_step, steps)
        window_bytes = window * seq.keypoints.shape[1] * 3 * 4
        self._report_copies(
            "student host<->device copies per live step (CUDA graph)",
            n_copies,
            n_gpu,
            groups,
            err,
            steps,
            window_bytes,
            "CUDA-graph live step",
        )
        self._free()

    def compiled(self, cap_s: float, mode: str, stream_mode: str, backend: str, stream: bool) -> None:
        """torch.compile of the student, in a child process killed at ``cap_s`` (or the budget)."""
        room = self.left() - RESERVE_S - 1.0
        if room < 10:
            self.add("student torch.compile", None, "", note=f"skipped: only {room:.0f} s of the budget left")
            return
        cap = min(cap_s, room)
        label = self.best_label("student")
        batch = self.fps.get("student", {}).get(label, (0.0, self.sizes.lift_batch["student"]))[1]
        spec = self._compile_spec(label, batch, mode, stream_mode, backend, stream)
        self._free()
        result = run_child(spec, cap)
        stages = {r.get("stage"): r for r in result["lines"]}
        self._compiled_batched_row(result, stages, cap, spec)
        if stream:
            self._compiled_stream_row(result, stages, cap, stream_mode)
        self.outcome.timings_s["student torch.compile child"] = result["wall_s"]
        if result["error"] or result["timed_out"]:
            tail = result["stderr_tail"]
            self.outcome.errors["student torch.compile"] = (result["error"] or "timed out") + (
                f" | stderr: {tail}" if tail else ""
            )

    def _compile_spec(
        self, label: str, batch: int, mode: str, stream_mode: str, backend: str, stream: bool
    ) -> dict[str, Any]:
        """What the compile child measures (JSON-serialisable, passed on its command line)."""
        return {
            "device": self.device,
            "checkpoint": str(Path(ckpt).resolve()) if (ckpt := self.checkpoints.get("student")) else None,
            "batch": batch,
            "label": label,
            "mode": mode,
            "stream_mode": stream_mode,
            "backend": backend,
            "stream": stream,
            "repeats": self.sizes.repeats,
            "run_s": self.sizes.run_s,
            "stream_calls": self.sizes.stream_calls["student"],
        }

    def _compiled_batched_row(
        self, result: dict[str, Any], stages: dict[str, Any], cap: float, spec: dict[str, Any]
    ) -> None:
        """The batched torch.compile row: its rate against eager, or why there is none."""
        label, batch, mode, backend = spec["label"], spec["batch"], spec["mode"], spec["backend"]
        fail = f"ERROR: {result['error']}" if result["error"] else ""
        if "compiled" in stages:
            r = stages["compiled"]
            ratio = r["fps"] / r["eager_fps"]
            parent = self.outcome.sweeps.get("student", {}).get(label, {}).get(str(batch))
            parent_note = f"; eager in this process {fmt_rate(parent)} frames/s" if isinstance(parent, float) else ""
            self.add(
                f"student batched {label} torch.compile",
                r["fps"],
                "frames/s",
                f">= {STUDENT_GPU_FPS_TARGET:,.0f}" if self.cuda else "",
                r["fps"] >= STUDENT_GPU_FPS_TARGET if self.cuda else None,
                f"mode={mode or 'default'}, backend {backend}; {batch} windows per forward; {ratio:.2f}x eager "
                f"({fmt_rate(r['eager_fps'])} frames/s in the same child, {'pays' if ratio > 1.05 else 'does not pay'}"
                f"){parent_note}; compile {r['compile_s']:.1f} s; max abs vs eager {r['max_abs_m'] * 1000:.2g} mm",
            )
        else:
            timeout = f"timed out: compile did not finish within {cap:.0f} s" if result["timed_out"] else ""
            why = fail or timeout
            self.add(
                f"student batched {label} torch.compile",
                None,
                "frames/s",
                note=f"{why or 'no result'}; mode={mode or 'default'}; {result['stderr_tail']}",
            )

    def _compiled_stream_row(
        self, result: dict[str, Any], stages: dict[str, Any], cap: float, stream_mode: str
    ) -> None:
        """The streaming torch.compile row (latency per new frame against eager), when the child got that far."""
        fail = f"ERROR: {result['error']}" if result["error"] else ""
        if "stream" in stages:
            r = stages["stream"]
            ratio = r["eager_ms"] / r["ms"]
            self.add(
                "student streaming fp32 torch.compile latency per new frame",
                r["ms"],
                "ms",
                note=f"mode={stream_mode or 'default'}; live step (to device, compiled forward, to host); "
                f"{ratio:.1f}x eager "
                f"({r['eager_ms']:.3f} ms same child, {'pays' if ratio > 1.05 else 'does not pay'}); "
                f"compile + warm-up {r['compile_s']:.1f} s; max abs vs eager {r['max_abs_m'] * 1000:.2g} mm",
            )
        elif "compiled" in stages:
            why = fail or (f"timed out at the {cap:.0f} s cap" if result["timed_out"] else "no result")
            self.add(
                "student streaming fp32 torch.compile latency per new frame",
                None,
                "ms",
                note=f"{why}; mode={stream_mode or 'default'}",
            )
