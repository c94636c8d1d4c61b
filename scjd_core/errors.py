"""User-facing errors.

Every problem a user can cause (a missing file, a video with no frames, an output
folder that cannot be written) is raised as a :class:`ScjdError` subclass whose
message names the problem *and* what to do. The CLI prints the message on one line
and exits non-zero; the viewer shows it in a dialog. Programming errors stay
ordinary exceptions.
"""

from __future__ import annotations


class ScjdError(Exception):
    """Base class of errors caused by input, environment or configuration."""

    exit_code: int = 2


class InputError(ScjdError):
    """The input (video, image folder, webcam, keypoint or mocap file) is unusable."""


class NoPersonError(ScjdError):
    """No person was detected in any frame of the input."""

    exit_code = 3


class OutputError(ScjdError):
    """The output cannot be written (unwritable folder, unknown format, ...)."""


class CheckpointError(ScjdError):
    """A model checkpoint is missing, corrupt, truncated or does not match its config."""


class MissingDependencyError(ScjdError):
    """An optional dependency is not installed; the message names the install command."""
