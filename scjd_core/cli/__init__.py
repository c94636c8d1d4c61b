"""The ``scjd`` command line: ``scjd process``, ``scjd people``, ``scjd bench`` and ``scjd info``.

Every problem a user can cause ends in one line on stderr (``scjd: error: ...``) and a
non-zero exit code, never a traceback, and never a half-written file. Each command lives
in its own module (:mod:`~scjd_core.cli.process`, :mod:`~scjd_core.cli.people`,
:mod:`~scjd_core.cli.info`); this one parses the command line and turns every failure
into its one line and exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import NoReturn

from scjd_core import __version__
from scjd_core.cli import info, people, process
from scjd_core.cli.messages import error, stdout_error
from scjd_core.errors import Interrupted, OutputError, ScjdError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one ``scjd: error:`` line (exit code 2) like every other."""

    def error(self, message: str) -> NoReturn:
        error(f"{message} (see `{self.prog} --help`)")
        self.exit(2)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="scjd",
        description="Fast 3D human pose from ordinary video (MediaPipe 2D + SCJD lifting).",
    )
    parser.add_argument("--version", action="version", version=f"scjd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    process.add_parser(sub)
    people.add_parser(sub)
    from scjd_core.bench import add_bench_parser

    add_bench_parser(sub)
    info.add_parser(sub)
    return parser


@contextlib.contextmanager
def _interrupts_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (once: a second
    signal during the clean-up is ignored, so the clean-up finishes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame) -> None:
        if received:
            return
        received.append(signum)
        raise Interrupted(signum)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _interrupted_message(exc: Interrupted, args: argparse.Namespace) -> str:
    how = "Ctrl-C (SIGINT)" if exc.signum == signal.SIGINT else exc.signal_name
    outputs = getattr(args, "output_set", None)
    if outputs is not None and outputs.committed:
        files = ", ".join(str(p) for p in outputs.written)
        return f"interrupted by {how} after the outputs were written: {files}"
    out = getattr(args, "out", None)
    where = f" to {out}" if out else ""
    return f"interrupted by {how}: nothing was written{where}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scjd`` command; returns the exit code (see :mod:`scjd_core.errors`)."""
    from scjd_core.sources.base import quiet_native_video_logs

    quiet_native_video_logs()
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # undecodable file names still print
    args = _build_parser().parse_args(argv)
    with _interrupts_raise():
        try:
            code = int(args.func(args) or 0)
            try:
                sys.stdout.flush()
            except OSError as exc:
                raise stdout_error(exc, None) from None
            return code
        except BaseException as exc:  # every failure ends in one line and an exit code
            return _fail(exc, args)


def _fail(exc: BaseException, args: argparse.Namespace) -> int:
    """Print the one ``scjd: error:`` line for ``exc``; returns the exit code.

    Raises:
        BaseException: ``exc`` itself when it is no failure of ours to report
            (``SystemExit``, or any exception when ``SCJD_DEBUG=1`` asks for the traceback).
    """
    if isinstance(exc, ScjdError):
        error(str(exc))
        return exc.exit_code
    if isinstance(exc, Interrupted):
        error(_interrupted_message(exc, args))
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        error(_interrupted_message(Interrupted(signal.SIGINT), args))
        return 130
    if isinstance(exc, MemoryError):
        error("out of memory: process a shorter clip (--max-frames N) or close other programs")
        return OutputError.exit_code
    if isinstance(exc, OSError):
        from scjd_core.atomic import output_error

        error(str(output_error(exc, exc.filename or "a file", "use")))
        return OutputError.exit_code
    if not isinstance(exc, Exception) or os.environ.get("SCJD_DEBUG") == "1":
        raise exc
    error(
        f"internal error ({type(exc).__name__}: {exc}): this is a bug, please report it with the command "
        "line; SCJD_DEBUG=1 shows the traceback"
    )
    return 1
