"""Reading a frame source ahead of its consumer, in a background thread."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator

from scjd_core.types import Frame


class FrameDecoder:
    """Reads a source in a background thread into a bounded queue (or inline)."""

    _END = object()

    def __init__(self, source, threaded: bool, maxsize: int = 16) -> None:
        self._iter = iter(source)
        self._threaded = threaded
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="scjd-decode", daemon=True)
            self._thread.start()

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless :meth:`close` was called; False when stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._timed():
                if not self._put(item):
                    return
        except BaseException as exc:
            self._put(exc)
            return
        self._put(self._END)

    def _timed(self) -> Iterator[tuple[Frame, float]]:
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(self._iter)
            except StopIteration:
                return
            yield frame, time.perf_counter() - t0

    def __iter__(self) -> Iterator[tuple[Frame, float]]:
        if not self._threaded:
            yield from self._timed()
            return
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the reading thread, wait for it, and close the source's iterator."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():  # stuck in the decoder: leave the iterator to it
                return
        close = getattr(self._iter, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError, RuntimeError):  # "generator already executing"
                close()
