"""Atomic file writes: a failure leaves no partial file and never clobbers silently.

* :func:`atomic_write` writes one file under a short temporary name in the target
  folder (``.scjd-<pid>-<random>.part``) and renames it into place when it is complete.
* :class:`OutputSet` makes several files one unit: inside ``with OutputSet(folder)``
  every :func:`atomic_write` keeps its temporary file, and :meth:`OutputSet.commit`
  renames them all into place (with SIGINT and SIGTERM held back meanwhile); a failure
  or an interrupt before that removes them, and a failure while renaming puts back
  what was there before. So a set of outputs appears whole, or not at all.
* :func:`remove_stale_temp_files` removes the temporary files of earlier runs that were
  killed (their process is gone), and nothing else.
* Every :class:`OSError` becomes an :class:`~scjd_core.errors.OutputError` naming the
  path and what to do (:func:`output_error`).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from scjd_core.errors import OutputError

#: Temporary files are ``.scjd-<pid>-<random>.part``: short (a long target name cannot
#: push them past the file system's name limit) and recognisable.
TEMP_PREFIX = ".scjd-"
TEMP_SUFFIX = ".part"
_TEMP_NAME = re.compile(r"^\.scjd-(\d+)-[A-Za-z0-9_]+\.part$")
#: Temporary files of earlier scjd versions: ``.<target name>.<8 random>.part``.
_LEGACY_TEMP = re.compile(r"^\.(.+)\.[a-z0-9_]{8}\.part$")
#: A temporary file this old is stale even if its process id is in use again.
STALE_AGE_S = 24 * 3600.0
#: ... and one whose process is gone is stale once this old (a writer in another pid
#: namespace, e.g. a container sharing the folder, is not seen by the pid test).
DEAD_STALE_AGE_S = 600.0
_LEGACY_STALE_AGE_S = 3600.0

_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or choose another --out folder",
    errno.EDQUOT: "the disk quota is used up: free some space or choose another --out folder",
    errno.EACCES: "permission denied: choose a folder you can write to with --out, or change its permissions",
    errno.EPERM: "operation not permitted: choose a folder you can write to with --out",
    errno.EROFS: "the file system is read-only: choose another --out folder",
    errno.ENAMETOOLONG: "the name is too long for the file system: rename the input or choose a shorter --out path",
    errno.EISDIR: "a folder is in the way: remove or rename it, or choose another --out folder",
    errno.ENOTDIR: "part of the path is a file, not a folder: choose another --out folder",
    errno.ENOENT: "the folder does not exist (any more): choose an existing --out folder",
    errno.EIO: "input/output error (the disk may be failing or was removed): check it, or choose another --out",
    errno.EMFILE: "too many open files: close other programs, or raise the limit (ulimit -n)",
    errno.EFBIG: "the file is too large for this file system: choose another --out folder",
}


class CommitError(OutputError):
    """Renaming an :class:`OutputSet` into place failed; the message says what is in place."""


def output_error(exc: OSError, path: str | os.PathLike[str], doing: str = "write") -> OutputError:
    """An :class:`OutputError` for ``exc``: ``cannot <doing> <path>: <reason>; <what to do>``."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    advice = _ADVICE.get(exc.errno or 0, "check the output folder, or choose another with --out")
    if advice.split(":")[0].lower() in reason:  # "permission denied: permission denied" reads badly
        advice = advice.split(":", 1)[1].strip()
    return OutputError(f"cannot {doing} {path}: {reason}; {advice}")


def name_max(directory: str | os.PathLike[str]) -> int:
    """The longest file name (in bytes) the file system of ``directory`` allows."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    return 255


def probe_writable(directory: str | os.PathLike[str]) -> None:
    """Create and remove a file in ``directory``: the only reliable test (``os.access`` is
    always true for root, and knows nothing of read-only or pseudo file systems).

    Raises:
        OutputError: naming the folder and what to do.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.isdir(directory):
            raise OutputError(
                f"cannot write to folder {directory}: it takes no new files (a system or virtual file system); "
                "choose another --out folder"
            ) from None
        raise output_error(exc, directory, "write to folder") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


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
            raise output_error(exc, path, "create output folder") from None
    probe_writable(path)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


_current_set: contextvars.ContextVar[OutputSet | None] = contextvars.ContextVar("scjd_output_set", default=None)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", overwrite: bool = False, **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    Inside ``with OutputSet(...)`` the rename waits for :meth:`OutputSet.commit`.

    Args:
        path: the final file.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        overwrite: replace an existing ``path``; when False an existing file is an error.
        **open_kwargs: passed to :func:`open` (e.g. ``newline=""``, ``encoding``).

    Raises:
        OutputError: when the file exists and ``overwrite`` is False, a folder is in the
            way, or it cannot be written (every :class:`OSError`, with what to do).
    """
    final = Path(path)
    if final.is_dir():
        raise OutputError(f"cannot write {final}: a folder is in the way; remove or rename it, or choose another --out")
    if final.exists() and not overwrite:
        raise OutputError(f"{final} already exists: pass --overwrite or choose another --out folder")
    if not final.parent.is_dir():
        check_writable_dir(final.parent)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=final.parent)
    except OSError as exc:
        raise output_error(exc, final) from None
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
            handle = os.fdopen(fd, mode, **open_kwargs)
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        output_set = _current_set.get()
        if output_set is not None:
            output_set.add(Path(tmp), final)
        else:
            os.replace(tmp, final)
    except OSError as exc:
        _unlink(tmp)
        raise output_error(exc, final) from None
    except BaseException:
        _unlink(tmp)
        raise


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back: they are noted, and raised again at the end of the block.

    (A signal mask would not do: the process's other threads would take the signal.)
    """
    sigs = (signal.SIGINT, signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or any(signal.getsignal(s) is None for s in sigs):
        yield  # handlers are set in the main thread only; one set outside Python cannot be put back
        return
    caught: list[int] = []

    def note(signum: int, _frame) -> None:
        caught.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)


class OutputSet:
    """Files that appear together or not at all (see the module doc).

    Use::

        with OutputSet(folder) as outputs:
            write_bvh(...); write_csv(...)      # each keeps its temporary file
            written = outputs.commit()          # all renamed into place

    Leaving the block without :meth:`commit` (an error, an interrupt) removes the
    temporary files. After a failed commit nothing of the set is in place and the files
    it would have replaced are back.

    Args:
        directory: the folder the files go to (for messages).

    Attributes:
        committed: whether :meth:`commit` renamed the set into place.
        written: the files it put in place (after a commit).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._pending: list[tuple[Path, Path]] = []
        self._token: contextvars.Token | None = None
        self.committed = False
        self.written: list[Path] = []

    def __enter__(self) -> OutputSet:
        self._token = _current_set.set(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._token is not None:
            _current_set.reset(self._token)
            self._token = None
        if not self.committed:
            self.abort()

    def add(self, tmp: Path, final: Path) -> None:
        """Register a complete temporary file to be renamed onto ``final`` by :meth:`commit`."""
        self._pending.append((tmp, final))

    @property
    def pending(self) -> list[Path]:
        """The final paths waiting for :meth:`commit`."""
        return [final for _tmp, final in self._pending]

    def abort(self) -> None:
        """Remove every temporary file of the set."""
        for tmp, _final in self._pending:
            _unlink(tmp)
        self._pending.clear()

    def commit(self) -> list[Path]:
        """Rename every file into place; returns the final paths.

        SIGINT and SIGTERM wait until the renames are done. Files being replaced are
        first moved aside, so a failing rename puts everything back as it was.

        Raises:
            OutputError: a rename failed (nothing of the set is in place afterwards).
        """
        moved_aside: list[tuple[Path, Path]] = []  # (aside, final)
        placed: list[Path] = []
        current = self.directory
        with _signals_held():
            try:
                for tmp, final in self._pending:
                    current = final
                    if final.is_dir() and not final.is_symlink():
                        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(final))
                    if os.path.lexists(final):
                        aside = tmp.with_name(tmp.name[: -len(TEMP_SUFFIX)] + ".old")
                        os.rename(final, aside)
                        moved_aside.append((aside, final))
                    os.rename(tmp, final)
                    placed.append(final)
            except OSError as exc:
                failed = self._restore(placed, moved_aside)
                error = output_error(exc, current, "write")
                if failed:
                    raise CommitError(
                        f"{error}; also, the earlier file(s) could not be put back: "
                        f"{', '.join(str(p) for p in failed)} (look for .scjd-*.old files in {self.directory})"
                    ) from None
                raise CommitError(f"{error}; nothing was written or changed in {self.directory}") from None
            for aside, _final in moved_aside:
                _unlink(aside)
            self.committed = True
            self.written = self.pending
            self._pending.clear()
        return list(self.written)

    def _restore(self, placed: list[Path], moved_aside: list[tuple[Path, Path]]) -> list[Path]:
        """Undo a partial commit; returns the files that could not be restored."""
        failed = []
        for final in placed:
            _unlink(final)
        for aside, final in moved_aside:
            try:
                os.rename(aside, final)
            except OSError:
                failed.append(final)
        self.abort()
        return failed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, run by someone else
        return True
    return True


def remove_stale_temp_files(directory: str | os.PathLike[str], targets: Sequence[str] = ()) -> list[Path]:
    """Remove the temporary files that killed earlier runs left in ``directory``.

    Only regular files (not links) named like our temporary files, owned by this user, are
    considered; one is removed when the process that wrote it is gone and it was last
    written 10 minutes ago or more (or it is a day old). Temporary files of older scjd
    versions (``.<target>.<random>.part``) are removed only for the ``targets`` names
    given and when an hour old. Renamed-aside
    originals (``.scjd-*.old``) are never removed: they may be the only copy of a file.

    Returns:
        The files removed.
    """
    removed = []
    now = time.time()
    uid = os.geteuid()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        legacy = None if match else _LEGACY_TEMP.match(entry.name)
        if not match and not (legacy and legacy.group(1) in targets):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_uid != uid:
            continue
        age = now - st.st_mtime
        if match:
            pid = int(match.group(1))
            stale = age > STALE_AGE_S or (age > DEAD_STALE_AGE_S and pid != os.getpid() and not _pid_alive(pid))
        else:
            stale = age > _LEGACY_STALE_AGE_S
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
