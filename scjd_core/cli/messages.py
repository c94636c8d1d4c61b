"""What ``scjd`` prints besides its reports: one-line errors and warnings on stderr."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from scjd_core.errors import OutputError


def error(message: str) -> None:
    """Print ``scjd: error: message`` as one line on stderr."""
    line = " ".join(str(message).split())
    with contextlib.suppress(OSError, ValueError):
        print(f"scjd: error: {line}", file=sys.stderr, flush=True)


def warn(source, start: int) -> int:
    """Print the source's warnings from number ``start`` on (``scjd: warning: ...`` on
    stderr); returns how many it has."""
    messages = list(getattr(source, "warnings", []))
    for message in messages[start:]:
        print(f"scjd: warning: {message}", file=sys.stderr)
    return len(messages)


def silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so the interpreter's final flush of a stdout that
    failed (a full disk, a closed pipe) prints no second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def stdout_error(exc: OSError, written: Sequence[Path] | None) -> OutputError:
    """The error for a standard output that cannot be written (a full disk, a closed pipe)."""
    silence_stdout()
    done = f"the outputs were written ({', '.join(str(p) for p in written)})" if written else "the command finished"
    return OutputError(
        f"cannot write to standard output ({(exc.strerror or str(exc)).lower()}): {done}, but the report was "
        "lost; send the output to a file or device with free space"
    )
