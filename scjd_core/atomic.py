"""Atomic file writes: a failure leaves no partial file and never clobbers silently."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from scjd_core.errors import OutputError


def check_writable_dir(directory: str | os.PathLike[str], create: bool = True) -> Path:
    """Make sure ``directory`` exists (creating it if asked) and is writable.

    Raises:
        OutputError: naming the folder and what to do.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output path {path} is a file, not a folder: choose a folder with --out")
    if not path.exists():
        if not create:
            raise OutputError(f"output folder {path} does not exist: create it or choose another")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create output folder {path} ({exc.strerror}): choose a writable folder with --out"
            ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {path} is not writable: choose a writable folder with --out")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", overwrite: bool = False, **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    Args:
        path: the final file.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        overwrite: replace an existing ``path``; when False an existing file is an error.
        **open_kwargs: passed to :func:`open` (e.g. ``newline=""``, ``encoding``).

    Raises:
        OutputError: when the file exists and ``overwrite`` is False, or cannot be written.
    """
    final = Path(path)
    if final.exists() and not overwrite:
        raise OutputError(f"{final} already exists: pass --overwrite or choose another --out folder")
    check_writable_dir(final.parent)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
