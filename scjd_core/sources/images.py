"""A folder of still images played as a clip (natural file-name order)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from scjd_core.errors import InputError
from scjd_core.sources.base import DEFAULT_FPS, FrameSource, import_cv2
from scjd_core.types import Frame, SourceInfo

#: File extensions read as frames (compared case-insensitively).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


def natural_key(name: str) -> tuple:
    """Sort key that orders ``frame2`` before ``frame10`` (digits compared as numbers)."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts)


def list_images(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, naturally sorted.

    Raises:
        InputError: when the folder cannot be listed.
    """
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS]
    except PermissionError as exc:
        raise InputError(f"cannot read image folder {folder}: permission denied; check its permissions") from exc
    except OSError as exc:
        raise InputError(f"cannot read image folder {folder}: {exc.strerror or exc}") from exc
    return [folder / n for n in sorted(names, key=natural_key)]


def read_image(path: Path) -> np.ndarray:
    """Decode one image as ``(H, W, 3)`` uint8 BGR (works with non-ASCII paths).

    Raises:
        InputError: naming the file when it cannot be read or decoded.
    """
    cv2 = import_cv2()
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror or exc}; check the file") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"cannot decode image {path}: it is damaged or not an image; remove or replace it")
    return image


class ImageFolderSource(FrameSource):
    """The images of a folder as frames, in natural name order (``2.png`` before ``10.png``).

    Extensions read: jpg, jpeg, png, bmp, tif, tiff, webp (any case). Every image must
    have the size of the first one.

    Args:
        path: the folder.
        fps: the frame rate to assume (timestamps are ``index / fps``).

    Raises:
        InputError: when the folder is missing or unreadable, holds no images, or an
            image cannot be decoded (raised while iterating for images after the first).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float = DEFAULT_FPS) -> None:
        super().__init__()
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"image folder not found: {self.path}: check the path")
        if not self.path.is_dir():
            raise InputError(f"{self.path} is not a folder: give a folder of images (or a video file)")
        if not float(fps) > 0:
            raise InputError(f"frame rate must be positive, got {fps}: pass e.g. fps=30")
        self.files = list_images(self.path)
        if not self.files:
            exts = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
            raise InputError(f"no images found in folder {self.path}: put frames there as {exts} files")
        first = read_image(self.files[0])
        self.info = SourceInfo(
            name=self.path.name or str(self.path),
            kind="images",
            fps=float(fps),
            width=int(first.shape[1]),
            height=int(first.shape[0]),
            frame_count=len(self.files),
        )

    def _frames(self) -> Iterator[Frame]:
        size = (self.info.height, self.info.width)
        for index, path in enumerate(self.files):
            image = read_image(path)
            if image.shape[:2] != size:
                raise InputError(
                    f"image {path.name} is {image.shape[1]}x{image.shape[0]} but the first image is "
                    f"{size[1]}x{size[0]}: all frames of a folder must have the same size"
                )
            yield Frame(index, index / self.info.fps, image, time.perf_counter())
