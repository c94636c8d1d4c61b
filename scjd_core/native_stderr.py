"""Keeping native libraries' chatter off the user's terminal, without hiding real errors.

MediaPipe (through absl and TensorFlow Lite), OpenCV and FFmpeg write lines such as
``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``, ``W0000 ... Feedback manager
requires a model with a single signature...``, ``[ WARN:0@0.03] global cap_v4l.cpp ...
can't open camera by index`` or ``[mov,mp4,... @ 0x55...] moov atom not found`` straight
to file descriptor 2, where no Python logging configuration reaches them
(``GLOG_minloglevel`` and ``TF_CPP_MIN_LOG_LEVEL`` have no effect on them either).

:func:`filtered_stderr` captures descriptor 2 around the native calls that produce them
(MediaPipe inference, probing a video or a camera) and writes back every line that is
*not* such chatter, so anything else (absl ``E``/``F`` errors, tracebacks, other threads'
output) still reaches the terminal, just slightly later. Probing failures are then
reported by our own one-line :class:`~scjd_core.errors.InputError` instead.

Set ``SCJD_NATIVE_LOGS=1`` to see everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

#: Lines dropped: absl/glog INFO and WARNING records, TF Lite's INFO lines and absl's
#: banner (MediaPipe); OpenCV's own log lines; FFmpeg's ``[demuxer @ 0x...]`` messages.
NOISE = re.compile(
    rb"^(?:[IW]\d{4} [\d:.]+ +\d+ [^\]]*\] "
    rb"|INFO: "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|\[ ?(?:INFO|WARN|ERROR):\d+@[\d.]+\] "
    rb"|\[[\w.,-]+ @ 0x[0-9a-fA-F]+\] )"
)

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_sink: tempfile._TemporaryFileWrapper | None = None  # type: ignore[type-arg]


def _stderr_fd() -> int | None:
    """Descriptor 2 (where native code writes, whatever ``sys.stderr`` is), if it is open."""
    try:
        os.fstat(2)
    except OSError:  # no stderr at all (e.g. a windowed app)
        return None
    return 2


def _flush_python_stderr() -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()


def filter_lines(data: bytes) -> bytes:
    """``data`` without the lines that match :data:`NOISE`."""
    return b"".join(line for line in data.splitlines(keepends=True) if not NOISE.match(line))


def _replay(fd: int) -> None:
    assert _sink is not None
    sink = _sink.fileno()
    size = os.fstat(sink).st_size
    if size == 0:
        return
    os.lseek(sink, 0, os.SEEK_SET)
    data = os.read(sink, size)
    os.ftruncate(sink, 0)
    os.lseek(sink, 0, os.SEEK_SET)
    kept = filter_lines(data)
    if kept:
        os.write(fd, kept)


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Drop native chatter (:data:`NOISE`) written to stderr inside the block; keep the rest.

    Re-entrant and safe to use from several threads at once: the first thread in
    redirects descriptor 2, the last one out restores it and writes back what was kept.
    """
    global _depth, _saved_fd, _sink
    fd = _stderr_fd()
    if fd is None or os.environ.get("SCJD_NATIVE_LOGS") == "1":
        yield
        return
    with _lock:
        if _depth == 0:
            _flush_python_stderr()
            if _sink is None:
                _sink = tempfile.TemporaryFile(prefix="scjd-stderr-")
            _saved_fd = os.dup(fd)
            os.dup2(_sink.fileno(), fd)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                _flush_python_stderr()
                os.dup2(_saved_fd, fd)
                os.close(_saved_fd)
                _saved_fd = None
                _replay(fd)
