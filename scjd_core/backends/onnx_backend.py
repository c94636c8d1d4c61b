"""ONNX Runtime (CPU) engine for the teacher and the student, and choosing the faster engine.

:class:`OnnxBackend` *is* a :class:`~scjd_core.backends.lifter.ModelBackend`: it reuses
its windowing and batching (``lift``) and replaces only the per-batch forward with an
ONNX Runtime session running the exported graph of that very forward
(:mod:`scjd_core.models.onnx_graph`). Results agree with PyTorch to float rounding (the
parity test checks 1e-4 m).

Exported graphs are cached in ``$SCJD_CACHE_DIR`` (default ``~/.cache/scjd/onnx``),
keyed by the checkpoint's sha256, the opset and the torch version, so only the first
load of a checkpoint pays for the export; randomly initialised models are exported in
memory every time.

:func:`choose_engine` times both engines on the same windows and keeps the faster one:
ONNX Runtime is used only where it measured faster (PyTorch otherwise, and on CUDA).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from scjd_core.backends.engines import ENGINES
from scjd_core.backends.lifter import ModelBackend
from scjd_core.errors import MissingDependencyError

CACHE_ENV = "SCJD_CACHE_DIR"
#: Batches of at most this many windows run on a single-threaded session: one window is
#: about a millisecond of work, which a thread pool only slows down (and, on a busy
#: machine, stalls while its threads wait for a core).
SMALL_BATCH = 2


def onnxruntime_available() -> bool:
    """Whether ``onnxruntime`` (and ``onnx``, needed to export) can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _require_onnxruntime() -> Any:
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(
            "the ONNX engine needs onnx and onnxruntime: pip install 'scjd[onnx]' (or use the PyTorch engine)"
        ) from exc
    return onnxruntime


def cache_dir() -> Path:
    """Folder of cached ``.onnx`` exports (``$SCJD_CACHE_DIR/onnx`` or ``~/.cache/scjd/onnx``)."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "scjd"
    return Path(root) / "onnx"


class OnnxBackend(ModelBackend):
    """A teacher or student run by ONNX Runtime on the CPU.

    Args:
        model: a :class:`~scjd_core.models.Teacher` or :class:`~scjd_core.models.Student`
            (exported once; kept for its config and :meth:`describe`).
        meta: the checkpoint's JSON; its ``sha256`` keys the export cache.
        batch_size: windows per forward pass.
        name: backend name; defaults to the model kind.
        threads: ONNX Runtime intra-op threads for batches of more than
            :data:`SMALL_BATCH` windows (default: its own choice, the physical cores);
            smaller batches (streaming, clip windows) always run single-threaded.
        use_cache: cache exports of checkpoints on disk.

    Raises:
        MissingDependencyError: when onnx/onnxruntime are not installed.
    """

    engine = "onnxruntime"

    def __init__(
        self,
        model: Any,
        meta: dict | None = None,
        batch_size: int = 64,
        name: str | None = None,
        threads: int | None = None,
        use_cache: bool = True,
    ) -> None:
        self._ort = _require_onnxruntime()
        super().__init__(model, meta, device="cpu", batch_size=batch_size, name=name)
        self.threads = threads
        self.use_cache = use_cache
        self._sessions: dict[tuple[bool, bool], Any] = {}
        self._blobs: dict[bool, bytes] = {}
        for small in (True, False):  # export now, not during the first (possibly live) lift
            self._session(False, small)

    def _cache_path(self, attention: bool) -> Path | None:
        sha = self.meta.get("sha256")
        if not self.use_cache or not isinstance(sha, str):
            return None
        import torch

        from scjd_core.models.onnx_graph import OPSET

        tag = ("att" if attention else "pose") + ("-flip" if getattr(self.model.config, "test_flip", False) else "")
        return cache_dir() / f"{self.kind}-{sha[:20]}-{tag}-op{OPSET}-torch{torch.__version__}.onnx"

    def _model_bytes(self, attention: bool) -> bytes:
        from scjd_core.atomic import atomic_write
        from scjd_core.models.onnx_graph import model_onnx_bytes

        if attention in self._blobs:
            return self._blobs[attention]
        cached = self._cache_path(attention)
        if cached is not None and cached.is_file():
            self._blobs[attention] = cached.read_bytes()
            return self._blobs[attention]
        blob = self._blobs[attention] = model_onnx_bytes(self.model, attention=attention)
        if cached is not None:
            try:
                with atomic_write(cached, "wb", overwrite=True) as handle:
                    handle.write(blob)
            except OSError:  # a read-only cache only costs a re-export next time
                pass
        return blob

    def _session(self, attention: bool, small: bool) -> Any:
        key = (attention, small)
        if key not in self._sessions:
            options = self._ort.SessionOptions()
            options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if small or self.threads:
                options.intra_op_num_threads = 1 if small else int(self.threads)
            self._sessions[key] = self._ort.InferenceSession(
                self._model_bytes(attention), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[key]

    def _forward(self, batch: Any, attention: bool) -> tuple[Any, Any]:
        """One batch of windows ``(b, T, 17, 3)`` through ONNX Runtime (tensors in, tensors out)."""
        import torch

        from scjd_core.models.onnx_graph import INPUT_NAME

        session = self._session(attention, batch.shape[0] <= SMALL_BATCH)
        outputs = session.run(None, {INPUT_NAME: batch.numpy()})
        pose = torch.from_numpy(outputs[0])
        return pose, (torch.from_numpy(outputs[1]) if attention else None)

    def describe(self) -> dict:
        """:meth:`ModelBackend.describe` plus the engine and ONNX Runtime version."""
        info = super().describe()
        info.update(engine=self.engine, onnxruntime=self._ort.__version__)
        return info


def time_lift(backend: ModelBackend, windows: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` seconds to lift ``windows`` windows of synthetic 2D (one warm-up)."""
    from scjd_core.synthetic import synthetic_stream

    seq = next(synthetic_stream(windows * backend.window, chunk=windows * backend.window))
    backend.lift(seq)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.lift(seq)
        best = min(best, time.perf_counter() - t0)
    return best


def choose_engine(
    torch_backend: ModelBackend, windows: int = 1, repeats: int = 7
) -> tuple[ModelBackend, dict[str, float]]:
    """Time PyTorch and ONNX Runtime on the same windows; return the faster backend.

    PyTorch is kept on CUDA, when onnxruntime is missing, and whenever ONNX Runtime is
    not faster.

    Args:
        torch_backend: a loaded (PyTorch) :class:`ModelBackend`.
        windows: windows per timed lift (1, the default, is what clip and live
            processing lift per call; 64 times batched throughput).
        repeats: timed runs of each engine (the best is kept).

    Returns:
        ``(backend, {"torch_s": ..., "onnx_s": ...})`` (``onnx_s`` absent when not timed).
    """
    if torch_backend.device != "cpu" or not onnxruntime_available():
        return torch_backend, {}
    onnx_backend = OnnxBackend(
        torch_backend.model, torch_backend.meta, batch_size=torch_backend.batch_size, name=torch_backend.name
    )
    times = {"torch_s": time_lift(torch_backend, windows, repeats), "onnx_s": time_lift(onnx_backend, windows, repeats)}
    return (onnx_backend if times["onnx_s"] < times["torch_s"] else torch_backend), times


def load_engine_backend(
    kind: str,
    engine: str = "auto",
    device: str = "auto",
    checkpoint: str | os.PathLike[str] | None = None,
) -> ModelBackend:
    """Load a shipped (or given) checkpoint with the requested inference engine.

    Args:
        kind: ``"teacher"`` or ``"student"``.
        engine: ``"torch"``, ``"onnx"`` (CPU only), or ``"auto"``: measure both on this
            machine (:func:`choose_engine`) and keep the faster.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        checkpoint: checkpoint path (default: the shipped one).

    Raises:
        ValueError: unknown engine, or ``"onnx"`` on CUDA.
        CheckpointError / MissingDependencyError: as the loaders.
    """
    from scjd_core.backends.lifter import load_backend

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: expected one of {ENGINES}")
    backend = load_backend(kind, device=device, checkpoint=checkpoint)
    if engine == "torch":
        return backend
    if engine == "onnx":
        if backend.device != "cpu":
            raise ValueError("the ONNX engine runs on the CPU only: use device='cpu' or engine='torch'")
        return OnnxBackend(backend.model, backend.meta, batch_size=backend.batch_size, name=backend.name)
    return choose_engine(backend)[0]
