"""Every input the product accepts, opened one way: a frame source, a 2D detector, extra streams.

:func:`open_input` is the one entry both faces use (``scjd process`` and the viewer's
worker), with the same options::

    with open_input("dance.mp4") as inp:
        pipeline = inp.pipeline(Pipeline.from_names("all", engine="auto").backends)
        clip = pipeline.process(inp)

============================  ==================  =============================  ===============
input                         frames              2D detector                    extra streams
============================  ==================  =============================  ===============
video file, image folder,     decoded images      MediaPipe Pose (following the  none
``webcam:N``                                      person in ``roi`` if given)
2D keypoint file              blank canvas, one   the file's rows                none
(``.npz``/``.csv``)           per row
mocap file (``.bvh``,         blank canvas, one   its 2D through a fixed virtual ``ground_truth``
``.amc`` + ``.asf``)          per frame           camera, projected in memory    (its true 3D)
============================  ==================  =============================  ===============

The 2D-only inputs (keypoint and mocap files) have no MediaPipe world landmarks, so the
``mediapipe`` 3D backend cannot run on them (:func:`select_backends`: an error when it
is asked for by name, left out of ``all``). Nothing is written to disk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np

from scjd_core.backends.base import LiftingBackend
from scjd_core.backends.registry import BACKEND_NAMES, parse_backends
from scjd_core.detect.base import Detector2D
from scjd_core.detect.keypoint_file import KEYPOINT_SUFFIXES
from scjd_core.detect.roi import Box
from scjd_core.errors import DetectorError, InputError, ScjdError
from scjd_core.mocap.clip import MOCAP_SUFFIXES
from scjd_core.pipeline import Pipeline
from scjd_core.sources.base import FrameSource
from scjd_core.types import Frame, SourceInfo

__all__ = [
    "IMAGE_KINDS",
    "INPUT_KINDS",
    "TWO_D_KINDS",
    "Input",
    "backends_for",
    "image_detector",
    "input_kind",
    "open_input",
    "select_backends",
]

#: Inputs with images, which MediaPipe Pose detects the person in.
IMAGE_KINDS: tuple[str, ...] = ("video", "images", "webcam")
#: Inputs that hold one person's 2D already (no images, no MediaPipe world landmarks).
TWO_D_KINDS: tuple[str, ...] = ("keypoints", "mocap")
INPUT_KINDS: tuple[str, ...] = IMAGE_KINDS + TWO_D_KINDS
#: 3D backends that need MediaPipe's own 3D, which only image inputs have.
_NEEDS_IMAGES = ("mediapipe",)
_WEBCAM = re.compile(r"webcam(?::.*)?", re.IGNORECASE)


def input_kind(spec: str | os.PathLike[str]) -> str:
    """What kind of input ``spec`` names (one of :data:`INPUT_KINDS`), from its form alone.

    ``webcam[:N]`` is a webcam, a ``.npz``/``.csv`` file a 2D keypoint file, a
    ``.bvh``/``.amc`` file a mocap file, a folder an image folder, anything else a video
    (whether it exists is checked when it is opened).
    """
    text = os.fspath(spec).strip()
    if _WEBCAM.fullmatch(text):
        return "webcam"
    suffix = Path(text).suffix.lower()
    if suffix in KEYPOINT_SUFFIXES:
        return "keypoints"
    if suffix in MOCAP_SUFFIXES:
        return "mocap"
    return "images" if text and Path(text).expanduser().is_dir() else "video"


def backends_for(kind: str) -> tuple[str, ...]:
    """The 3D backends (of :data:`~scjd_core.backends.registry.BACKEND_NAMES`) that can run on ``kind``."""
    if kind in TWO_D_KINDS:
        return tuple(n for n in BACKEND_NAMES if n not in _NEEDS_IMAGES)
    return BACKEND_NAMES


def select_backends(requested: str | Sequence[str], kind: str) -> list[str]:
    """The backends to run on an input of ``kind``: ``requested`` (names, a comma list or
    ``all``), less those that cannot run on it when they came from ``all``.

    Raises:
        ScjdError: an unknown name, or a backend named explicitly that cannot run on this
            kind of input (``mediapipe`` on a keypoint or mocap file).
    """
    names = parse_backends(requested)
    usable = backends_for(kind)
    items = requested.split(",") if isinstance(requested, str) else list(requested)
    explicit = {item.strip().lower() for item in items}
    for name in names:
        if name not in usable and name in explicit:
            raise InputError(_cannot_run(name, kind))
    return [n for n in names if n in usable]


def _cannot_run(name: str, kind: str) -> str:
    what = "a 2D keypoint file" if kind == "keypoints" else "a mocap file (seen as 2D by a virtual camera)"
    return (
        f"the {name} backend needs MediaPipe's own 3D, which {what} does not have: "
        "use the student or teacher backend (`all` leaves it out)"
    )


def image_detector() -> Detector2D:
    """The 2D detector of image inputs (video, image folder, webcam): MediaPipe Pose."""
    from scjd_core.detect import MediaPipeDetector

    return MediaPipeDetector()


def start_image_detector(roi: Box | None = None) -> Detector2D:
    """A fresh detector for an image input, following the person in ``roi`` when given
    (:class:`~scjd_core.detect.roi.RoiDetector`); a failure to start is one clear error.

    Raises:
        DetectorError: MediaPipe could not start (a native library failure).
        MissingDependencyError: MediaPipe is not installed.
    """
    try:
        detector = image_detector()
    except ScjdError:
        raise
    except Exception as exc:  # a native library failure: RuntimeError, OSError, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorError(
            f"the 2D detector (MediaPipe Pose) could not start ({reason}): reinstall it with "
            "`pip install --force-reinstall mediapipe==0.10.21`; SCJD_NATIVE_LOGS=1 shows its own messages"
        ) from None
    if roi is None:
        return detector
    from scjd_core.detect.roi import RoiDetector

    return RoiDetector(detector, roi)


@dataclass
class Input:
    """An opened input: its frames, its 2D detector and any extra 3D streams.

    It is itself a frame source (``info``, iteration, ``close``, a context manager), so
    it can be handed to :meth:`Pipeline.process` / :meth:`Pipeline.iter_live` directly.

    Attributes:
        spec: what was opened (a path or ``webcam:N``).
        kind: one of :data:`INPUT_KINDS`.
        source: the frame source.
        detector_factory: returns a fresh 2D detector for one run.
        extra_backends: 3D streams the input brings itself (a mocap file's ground truth).
        backends: the 3D backend names that can run on it (:func:`backends_for`).
        roi: the person's box on the first frame, cut to the image (image inputs only).
    """

    spec: str
    kind: str
    source: FrameSource
    detector_factory: Callable[[], Detector2D]
    extra_backends: list[LiftingBackend] = field(default_factory=list)
    backends: tuple[str, ...] = BACKEND_NAMES
    roi: Box | None = None

    @property
    def info(self) -> SourceInfo:
        """The source's frame rate, size and frame count."""
        return self.source.info

    @property
    def warnings(self) -> list[str]:
        """What the source noticed while reading (e.g. a partly decodable video)."""
        return list(getattr(self.source, "warnings", []))

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.source)

    def close(self) -> None:
        """Close the source."""
        self.source.close()

    def __enter__(self) -> Input:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def pipeline(self, backends: Sequence[LiftingBackend], detector: Detector2D | None = None) -> Pipeline:
        """The pipeline for this input: its detector, the given backends that can run on
        it (in order), then its extra streams.

        Args:
            backends: loaded 3D backends (e.g. ``Pipeline.from_names(...).backends``);
                those that cannot run on this input are left out.
            detector: a detector already started from :attr:`detector_factory`, to use for
                the run (default: a fresh one per run).

        Raises:
            InputError: when none of ``backends`` can run on this input.
        """
        usable = [b for b in backends if b.name in self.backends or b.name not in BACKEND_NAMES]
        if backends and not usable:
            raise InputError(_cannot_run(backends[0].name, self.kind))
        factory = self.detector_factory if detector is None else (lambda: detector)
        return Pipeline(detector=factory, backends=[*usable, *self.extra_backends])


def open_input(
    spec: str | os.PathLike[str],
    *,
    live: bool = False,
    fps: float | None = None,
    allow_partial: bool = False,
    roi: Box | None = None,
    roi_name: str = "--roi",
) -> Input:
    """Open any input the product accepts (see the module doc for what each kind gives).

    Args:
        spec: a video file, an image folder, ``webcam:N``, a 2D keypoint file
            (``.npz``/``.csv``, see :mod:`scjd_core.detect.keypoint_file`) or a mocap file
            (``.bvh``, or ``.amc`` with its ``.asf`` beside it).
        live: deliver the frames at the clip's real rate, dropping those the consumer is
            too slow for (:class:`~scjd_core.sources.LivePacedSource`); a webcam is live already.
        fps: the frame rate to use instead of the one the input states (an image folder's,
            default 30; a mocap file is resampled to it, default 30).
        allow_partial: accept a video that decodes only in part.
        roi: follow the person inside this box (pixels of the first frame); image inputs only.
        roi_name: what the box is called in error messages.

    Raises:
        InputError: the spec is malformed, names nothing usable, or ``roi`` does not fit.
    """
    text = os.fspath(spec).strip()
    kind = input_kind(text)
    if kind in TWO_D_KINDS:
        if roi is not None:
            raise InputError(
                f"{roi_name} chooses a person in images, but {Path(text).name} holds one person's 2D already: "
                f"leave out {roi_name}"
            )
        return _open_2d(text, kind, live, fps)
    from scjd_core.sources import open_source

    source = open_source(text, live=live, fps=fps, allow_partial=allow_partial)
    if roi is not None:
        from scjd_core.detect.roi import check_roi

        try:
            roi = check_roi(roi, source.info.width, source.info.height, what=roi_name)
        except InputError:
            source.close()
            raise
    return Input(text, kind, source, lambda: start_image_detector(roi), roi=roi)


def _open_2d(path: str, kind: str, live: bool, fps: float | None) -> Input:
    """A keypoint or mocap file: blank frames, the 2D served from memory, the truth if any."""
    from scjd_core.detect.keypoint_file import KeypointDetector, KeypointFileDetector
    from scjd_core.sources import LivePacedSource
    from scjd_core.sources.blank import BlankFrameSource
    from scjd_core.sources.video import check_input_file

    extra: list[LiftingBackend] = []
    if kind == "keypoints":
        detector: KeypointDetector = KeypointFileDetector(path, fps=fps)
    else:
        from scjd_core.backends.ground_truth import GroundTruthBackend
        from scjd_core.mocap.view import view_mocap
        from scjd_core.sources.base import DEFAULT_FPS

        check_input_file(Path(path), "mocap file")
        view = view_mocap(path, fps=fps or DEFAULT_FPS)
        confidence = np.ones(view.keypoints.shape[:2], np.float32)
        detector = KeypointDetector(
            view.keypoints, confidence, Path(path).name, view.width, view.height, view.fps, kind="mocap"
        )
        extra.append(GroundTruthBackend(view.truth, view.fps))
    source: FrameSource = BlankFrameSource(detector.info)
    if live:
        source = LivePacedSource(source)
    return Input(path, kind, source, lambda: detector, extra, backends_for(kind))
