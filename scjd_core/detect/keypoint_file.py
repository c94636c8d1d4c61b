"""Precomputed 2D keypoints (from another detector or annotation tool) as a detector.

Two file formats are read, both in pixels and in the 17-joint order of
:mod:`scjd_core.skeleton`:

* ``.npz`` with ``keypoints (F, 17, 2)`` (or ``(F, 17, 3)`` whose last channel is the
  confidence), optional ``confidence (F, 17)`` in [0, 1], and optional scalars
  ``width``, ``height`` (image size in pixels) and ``fps``.
* ``.csv`` with a header ``frame,<joint>_x,<joint>_y[,<joint>_c],...`` naming every joint
  (e.g. ``pelvis_x,pelvis_y,pelvis_c,right_hip_x,...``), one row per frame. Frames
  missing from the file, and empty or ``nan`` cells, count as not detected.

A joint whose coordinates are not finite gets confidence 0; a frame with no joint of
positive confidence counts as "nobody found" (gaps are filled by :func:`fill_gaps`).

Two ways to use it:

* **with the video** the keypoints were computed on: pass the detector to the pipeline
  (or call :meth:`KeypointFileDetector.detect` per frame); frame ``i`` of the source gets
  row ``i`` of the file, and the image size comes from the video.
* **alone**, without any video: :meth:`KeypointFileDetector.sequence` returns the
  :class:`~scjd_core.types.Pose2DSequence` ready for lifting. This needs the image size,
  from the ``.npz`` or from the ``width``/``height`` arguments. (:func:`scjd_core.inputs.open_input`
  opens a keypoint file this way for ``scjd process`` and the viewer.)

:class:`KeypointDetector` serves keypoints already in memory (a mocap clip projected
through a virtual camera, :mod:`scjd_core.mocap.view`).
"""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import numpy as np

from scjd_core.detect.base import Detector2D
from scjd_core.detect.gaps import fill_gaps
from scjd_core.errors import InputError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS
from scjd_core.sources.base import DEFAULT_FPS
from scjd_core.sources.video import check_input_file
from scjd_core.types import Detection2D, Frame, Pose2DSequence, SourceInfo


def _clean(keypoints: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero non-finite joints and their confidence; clip confidence to [0, 1]."""
    bad = ~np.isfinite(keypoints).all(axis=-1) | ~np.isfinite(confidence)
    keypoints = np.where(bad[..., None], 0.0, keypoints).astype(np.float32)
    confidence = np.clip(np.where(bad, 0.0, confidence), 0.0, 1.0).astype(np.float32)
    return keypoints, confidence


def _scalar(data: np.lib.npyio.NpzFile, key: str, path: Path) -> float | None:
    if key not in data.files:
        return None
    value = np.asarray(data[key])
    try:
        number = value.astype(np.float64)
    except (TypeError, ValueError):
        number = np.array([np.nan])
    if value.size != 1 or not np.isfinite(number).all() or float(number.reshape(-1)[0]) <= 0:
        raise InputError(
            f"{path.name}: '{key}' must be one positive number, got {value!r}: save it as a number "
            f"(e.g. np.savez(..., {key}=640))"
        )
    return float(number.reshape(-1)[0])


#: Largest pixel coordinate believed (a 1,000,000-pixel-wide image is far beyond any camera):
#: larger values are garbage that would overflow the lifters' arithmetic.
MAX_COORDINATE = 1e6


def _check_range(keypoints: np.ndarray, path: Path) -> None:
    """Refuse coordinates no image has (e.g. 1e30): they would give NaN poses."""
    with np.errstate(invalid="ignore"):
        bad = np.abs(keypoints) > MAX_COORDINATE
    if bad.any():
        frame, joint, _axis = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{path.name}: frame {frame}, joint {JOINT_NAMES[joint]} is at {keypoints[frame, joint].tolist()}, "
            f"beyond ±{MAX_COORDINATE:g} pixels: keypoint files hold pixel coordinates; check how it was written"
        )


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Read an ``.npz`` keypoint file: ``(keypoints (F,17,2), confidence (F,17), metadata)``."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read keypoint file {path.name}: not a valid .npz ({exc})") from exc
    with data:
        if "keypoints" not in data.files:
            raise InputError(f"{path.name} has no 'keypoints' array: save keypoints (F, 17, 2) in pixels")
        kp = np.asarray(data["keypoints"], dtype=np.float64)
        if kp.ndim != 3 or kp.shape[1] != NUM_JOINTS or kp.shape[2] not in (2, 3) or len(kp) == 0:
            raise InputError(
                f"{path.name}: 'keypoints' has shape {kp.shape}, expected (frames, {NUM_JOINTS}, 2) "
                "in the joint order of scjd_core.skeleton"
            )
        conf = kp[..., 2] if kp.shape[2] == 3 else np.ones(kp.shape[:2])
        if "confidence" in data.files:
            conf = np.asarray(data["confidence"], dtype=np.float64)
            if conf.shape != kp.shape[:2]:
                raise InputError(f"{path.name}: 'confidence' has shape {conf.shape}, expected {kp.shape[:2]}")
        meta = {k: v for k in ("width", "height", "fps") if (v := _scalar(data, k, path)) is not None}
    _check_range(kp[..., :2], path)
    keypoints, confidence = _clean(kp[..., :2], conf)
    return keypoints, confidence, meta


def load_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``.csv`` keypoint file: ``(keypoints (F,17,2), confidence (F,17))``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read keypoint file {path.name}: {exc}") from exc
    if len(rows) < 2:
        raise InputError(f"{path.name} has no keypoint rows: expected a header and one row per frame")
    header = [h.strip().lower() for h in rows[0]]
    col = {name: i for i, name in enumerate(header)}
    needed = ["frame"] + [f"{j}_{a}" for j in JOINT_NAMES for a in "xy"]
    missing = [n for n in needed if n not in col]
    if missing:
        raise InputError(
            f"{path.name} lacks the column(s) {', '.join(missing[:4])}{'...' if len(missing) > 4 else ''}: "
            "the header must be frame,<joint>_x,<joint>_y[,<joint>_c] for every joint"
        )
    table: dict[int, list[str]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            frame = int(float(row[col["frame"]]))
        except (ValueError, IndexError) as exc:
            raise InputError(f"{path.name} line {line}: bad frame number; frames are integers from 0") from exc
        if frame < 0:
            raise InputError(f"{path.name} line {line}: negative frame number {frame}")
        table[frame] = row
    count = max(table) + 1
    kp = np.full((count, NUM_JOINTS, 2), np.nan)
    conf = np.zeros((count, NUM_JOINTS))
    for frame, row in table.items():
        for j, name in enumerate(JOINT_NAMES):
            kp[frame, j, 0] = _number(row, col[f"{name}_x"])
            kp[frame, j, 1] = _number(row, col[f"{name}_y"])
            c = col.get(f"{name}_c")
            conf[frame, j] = 1.0 if c is None else _number(row, c)
    _check_range(kp, path)
    return _clean(kp, conf)


def _number(row: list[str], i: int) -> float:
    try:
        text = row[i].strip()
        return float(text) if text else float("nan")
    except (ValueError, IndexError):
        return float("nan")


#: Suffixes of the 2D keypoint files read here.
KEYPOINT_SUFFIXES: tuple[str, ...] = (".npz", ".csv")


class KeypointDetector(Detector2D):
    """Serves 2D keypoints held in memory (one row per frame) as a detector.

    Args:
        keypoints: ``(F, 17, 2)`` pixels (non-finite joints count as not seen).
        confidence: ``(F, 17)`` in [0, 1].
        label: what the keypoints are called in messages and :attr:`info` (a file name).
        width: image width in pixels (None: unknown).
        height: image height in pixels (None: unknown).
        fps: frame rate (row ``i`` is at ``i / fps`` seconds).
        kind: :attr:`SourceInfo.kind` of the clip the rows describe.
    """

    name = "keypoints"

    def __init__(
        self,
        keypoints: np.ndarray,
        confidence: np.ndarray,
        label: str,
        width: int | None = None,
        height: int | None = None,
        fps: float = DEFAULT_FPS,
        kind: str = "keypoints",
    ) -> None:
        self.keypoints, self.confidence = _clean(np.asarray(keypoints, np.float64), np.asarray(confidence, np.float64))
        self.label = label
        self.width = int(width or 0) or None
        self.height = int(height or 0) or None
        self.fps = float(fps)
        self.kind = kind
        self.found = (self.confidence > 0).any(axis=1)

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def info(self) -> SourceInfo:
        """The clip the rows describe (needs the image size)."""
        if not self.width or not self.height:
            raise InputError(
                f"keypoint file {self.label} does not give the image size: pass width and height, save them "
                "in an .npz (np.savez(..., width=W, height=H)), or use it with the video it was computed from"
            )
        return SourceInfo(self.label, self.kind, self.fps, self.width, self.height, len(self))

    def _detection(self, index: int, time_s: float) -> Detection2D:
        return Detection2D(
            index=index,
            time_s=time_s,
            keypoints=self.keypoints[index].copy(),
            confidence=self.confidence[index].copy(),
            found=bool(self.found[index]),
        )

    def detect(self, frame: Frame) -> Detection2D:
        """Row ``frame.index``.

        Raises:
            InputError: when the video has more frames than there are rows, or another size.
        """
        if frame.index >= len(self):
            raise InputError(
                f"keypoint file {self.label} has {len(self)} frames but the video has more: "
                "use the keypoints computed on this video"
            )
        h, w = frame.image.shape[:2]
        if (self.width and self.width != w) or (self.height and self.height != h):
            raise InputError(
                f"keypoint file {self.label} is for {self.width}x{self.height} images but the video "
                f"is {w}x{h}: use the keypoints computed on this video"
            )
        return self._detection(frame.index, frame.time_s)

    def detections(self) -> list[Detection2D]:
        """One detection per row, with ``time_s = index / fps``."""
        return [self._detection(i, i / self.fps) for i in range(len(self))]

    def sequence(self) -> Pose2DSequence:
        """All rows as a gap-filled sequence, without any video.

        Raises:
            InputError: when the image size is unknown.
            NoPersonError: when no row has any keypoint.
        """
        return fill_gaps(self.detections(), self.info)


class KeypointFileDetector(KeypointDetector):
    """Serves 2D keypoints read from an ``.npz`` or ``.csv`` file (see the module doc).

    Args:
        path: the keypoint file.
        width: image width in pixels, overriding the file's (needed alone for CSV).
        height: image height in pixels, overriding the file's.
        fps: frame rate, overriding the file's (default 30 when neither says).

    Raises:
        InputError: when the file is missing, malformed or of an unknown type.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
    ) -> None:
        self.path = Path(path)
        check_input_file(self.path, "keypoint file")
        suffix = self.path.suffix.lower()
        if suffix == ".npz":
            keypoints, confidence, meta = load_npz(self.path)
        elif suffix == ".csv":
            (keypoints, confidence), meta = load_csv(self.path), {}
        else:
            raise InputError(f"unknown keypoint file type {self.path.name}: use a .npz or .csv file")
        super().__init__(
            keypoints,
            confidence,
            self.path.name,
            width=int(width or meta.get("width", 0)) or None,
            height=int(height or meta.get("height", 0)) or None,
            fps=float(fps or meta.get("fps", DEFAULT_FPS)),
        )
