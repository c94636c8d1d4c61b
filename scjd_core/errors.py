"""User-facing errors.

Every problem a user can cause (a missing file, a video with no frames, an output
folder that cannot be written) is raised as a :class:`ScjdError` subclass whose
message names the problem *and* what to do. The CLI prints the message on one line
and exits with the subclass's :attr:`~ScjdError.exit_code`; the viewer shows it in a
dialog. Programming errors stay ordinary exceptions.

Exit codes of the ``scjd`` command (see the README):

* 0: success;
* 1: an unexpected internal error (a bug; please report it);
* 2: a bad command line, input, model or missing dependency (:class:`InputError`,
  :class:`CheckpointError`, :class:`MissingDependencyError`, :class:`DetectorError`, ...);
* 3: nobody was detected in the input (:class:`NoPersonError`);
* 4: the outputs could not be written, or the operating system refused another
  operation (disk full, permission denied, name too long, a folder in the way:
  :class:`OutputError`);
* 130: interrupted by Ctrl-C (SIGINT); 143: terminated by SIGTERM (:class:`Interrupted`).
"""

from __future__ import annotations

import signal


class ScjdError(Exception):
    """Base class of errors caused by input, environment or configuration."""

    exit_code: int = 2


class InputError(ScjdError):
    """The input (video, image folder, webcam, keypoint or mocap file) is unusable."""


class DamagedVideoError(InputError):
    """A video decodes only in part (cut off or damaged): fewer frames than its container lists."""


class NoPersonError(ScjdError):
    """No person was detected in any frame of the input."""

    exit_code = 3


class OutputError(ScjdError):
    """The output cannot be written (unwritable folder, disk full, unknown format, ...)."""

    exit_code = 4


class CheckpointError(ScjdError):
    """A model checkpoint is missing, corrupt, truncated or does not match its config."""


class MissingDependencyError(ScjdError):
    """An optional dependency is not installed; the message names the install command."""


class DetectorError(ScjdError):
    """The 2D detector could not start (a broken install, a native library failure)."""


class Interrupted(KeyboardInterrupt):
    """The process received SIGINT (Ctrl-C) or SIGTERM; raised in the main thread.

    A :class:`KeyboardInterrupt`, so code that cleans up after Ctrl-C cleans up after
    SIGTERM too.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM), as shells report it."""
        return 128 + self.signum
