"""CUDA-graph capture of the student's forward (and the workaround its capture may need)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from scjd_core.bench.cuda.common import autocast, error_text

#: Tensors captured CUDA graphs read (kept for the life of the process).
_GRAPH_INPUTS: list[Any] = []


@contextlib.contextmanager
def cached_interpolation_weights(indices: Any, window: int) -> Iterator[Any]:
    """Let the student reuse one precomputed interpolation matrix for ``indices`` (CUDA-graph capture).

    ``interpolation_weights`` builds ``torch.tensor(inf, device=...)`` on every forward, a
    host->device copy that a CUDA graph cannot capture; the matrix only depends on the
    fixed sample positions, so computing it once outside the graph gives the same numbers.
    Yields the matrix: a graph captured with it reads its memory, so keep it alive with the graph.
    """
    import scjd_core.models.student as student_module

    original = student_module.interpolation_weights
    weights = original(indices, window)

    def cached(idx: Any, win: int) -> Any:
        if win == window and (idx is indices or (idx.shape == indices.shape and idx.data_ptr() == indices.data_ptr())):
            return weights
        return original(idx, win)

    student_module.interpolation_weights = cached
    try:
        yield weights
    finally:
        student_module.interpolation_weights = original


def capture_graph(
    torch: Any, fwd: Callable[[Any], Any], x: Any, label: str, idx: Any, window: int, as_is: bool = True
) -> tuple:
    """Capture ``fwd(x)`` under ``label`` autocast in a CUDA graph: ``(graph, static output, how)``.

    Tries the model as it is first (unless ``as_is`` is False); when that capture fails,
    captures with the interpolation weights precomputed (:func:`cached_interpolation_weights`).
    """

    def capture() -> tuple[Any, Any]:
        with torch.inference_mode():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side), autocast(torch, "cuda", label, cache=False):
                for _ in range(3):
                    fwd(x)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), autocast(torch, "cuda", label, cache=False):
                out = fwd(x)
            graph.replay()
            torch.cuda.synchronize()
        return graph, out

    first = "not tried again"
    if as_is:
        stream = torch.cuda.current_stream()
        try:
            graph, out = capture()
            return graph, out, "captured as is"
        except Exception as exc:
            first = error_text(exc, 160)
            torch.cuda.set_stream(stream)  # a failed capture can leave its capture stream current
            torch.cuda.synchronize()
    with cached_interpolation_weights(idx, window) as weights:
        graph, out = capture()
    _GRAPH_INPUTS.append(weights)  # the graph reads this memory on every replay (a few hundred bytes)
    return (
        graph,
        out,
        (
            f"capture as is failed ({first}); captured with the interpolation weights precomputed outside the graph "
            "(model change needed: interpolation_weights builds torch.tensor(inf) on the device every forward)"
        ),
    )
