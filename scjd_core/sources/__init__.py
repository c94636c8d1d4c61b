"""Frame sources: video files, image folders, webcams, live-paced replays, blank frames.

Pick one from a command-line style spec with :func:`open_source`::

    with open_source("dance.mp4") as src:
        for frame in src:
            ...

(:func:`scjd_core.inputs.open_input` opens every input the product accepts, keypoint and
mocap files included, and uses this for the ones with images.)

Every source reports :class:`~scjd_core.types.SourceInfo` (fps, size, frame count or
``None``) and yields :class:`~scjd_core.types.Frame` objects with ``time_s`` and
``capture_time``. Problems with the input raise :class:`~scjd_core.errors.InputError`
with a one-line message saying what to do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from scjd_core.errors import InputError
from scjd_core.sources.base import DEFAULT_FPS, FrameSource
from scjd_core.sources.blank import BlankFrameSource
from scjd_core.sources.images import IMAGE_EXTENSIONS, ImageFolderSource
from scjd_core.sources.live import LivePacedSource
from scjd_core.sources.video import VideoFileSource
from scjd_core.sources.webcam import WebcamSource

__all__ = [
    "IMAGE_EXTENSIONS",
    "BlankFrameSource",
    "FrameSource",
    "ImageFolderSource",
    "LivePacedSource",
    "VideoFileSource",
    "WebcamSource",
    "open_source",
]

_WEBCAM = re.compile(r"webcam(?::(\d+))?", re.IGNORECASE)
_SPEC_HINT = "give a video file, a folder of images, or webcam:N (e.g. webcam:0)"


def open_source(
    spec: str | os.PathLike[str], live: bool = False, fps: float | None = None, allow_partial: bool = False
) -> FrameSource:
    """Open a frame source from a spec string.

    Args:
        spec: a video file path, an image folder path, or ``webcam:N`` (``webcam`` alone
            means camera 0).
        live: replay a file or folder at its real frame rate, dropping frames the consumer
            is too slow for (:class:`LivePacedSource`); a webcam is live already.
        fps: frame rate of an image folder (default 30), or of a video instead of the rate
            its container states; ignored for webcams.
        allow_partial: accept a video that decodes only in part (see
            :class:`VideoFileSource`).

    Returns:
        The opened source (use it as a context manager).

    Raises:
        InputError: when the spec is malformed, unsupported or names nothing usable.
    """
    text = os.fspath(spec).strip() if not isinstance(spec, str) else spec.strip()
    if not text:
        raise InputError(f"no input given: {_SPEC_HINT}")
    match = _WEBCAM.fullmatch(text)
    if match:
        return WebcamSource(int(match.group(1) or 0))
    if text.lower().startswith("webcam"):
        raise InputError(f"bad webcam spec {text!r}: write webcam:N with a camera number, e.g. webcam:0")
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        raise InputError(
            f"unsupported input {text!r}: network streams and URLs are not read directly; "
            f"download the video first, or {_SPEC_HINT}"
        )
    path = Path(text).expanduser()
    if path.is_dir():
        source: FrameSource = ImageFolderSource(path, fps=fps or DEFAULT_FPS)
    elif path.exists():
        source = VideoFileSource(path, fps=fps, allow_partial=allow_partial)
    else:
        raise InputError(f"input not found: {text}: check the path, or {_SPEC_HINT}")
    return LivePacedSource(source) if live else source
