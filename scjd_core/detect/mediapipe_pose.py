"""MediaPipe Pose (the legacy ``mediapipe.solutions.pose`` graph) as a 2D detector."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from scjd_core.detect.base import Detector2D, empty_detection
from scjd_core.errors import MissingDependencyError
from scjd_core.native_stderr import filtered_stderr
from scjd_core.skeleton import MEDIAPIPE_NAMES, ROOT, mediapipe_to_joints
from scjd_core.types import Detection2D, Frame

_INSTALL = "pip install mediapipe==0.10.21"

#: The landmark model each ``model_complexity`` needs (mediapipe 0.10.21 ships only "full").
MODEL_FILES: dict[int, str] = {
    0: "pose_landmark_lite.tflite",
    1: "pose_landmark_full.tflite",
    2: "pose_landmark_heavy.tflite",
}


def import_mediapipe_pose() -> ModuleType:
    """Import ``mediapipe.solutions.pose`` lazily.

    Raises:
        MissingDependencyError: naming the pip command when mediapipe is absent.
    """
    try:
        from mediapipe.python.solutions import pose
    except ImportError as exc:
        raise MissingDependencyError(f"MediaPipe is not installed (needed for 2D detection): {_INSTALL}") from exc
    return pose


def _check_model(pose_module: ModuleType, model_complexity: int) -> None:
    if model_complexity not in MODEL_FILES:
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity}")
    package = Path(pose_module.__file__).resolve().parents[2]  # .../mediapipe
    model = package / "modules" / "pose_landmark" / MODEL_FILES[model_complexity]
    if not model.is_file():
        raise MissingDependencyError(
            f"MediaPipe pose model_complexity={model_complexity} needs {model.name}, which this "
            "mediapipe install does not include (it would be downloaded at run time, and SCJD works "
            "offline): use model_complexity=1"
        )


class MediaPipeDetector(Detector2D):
    """MediaPipe Pose: 33 landmarks per frame, mapped onto the 17 joints.

    In tracking mode (the default, for video) MediaPipe detects the person once and then
    follows them from frame to frame, which is faster and steadier than detecting in
    every frame; feed one clip's frames in order and :meth:`reset` between clips.

    Each :class:`~scjd_core.types.Detection2D` carries the 17 joints in pixels with a
    per-joint confidence (the lowest MediaPipe *visibility* among the landmarks a joint
    is made of), the raw landmarks ``(33, 4)`` as ``(x px, y px, z px, visibility)``
    (``z`` uses the x scale, as MediaPipe does), and the world landmarks mapped onto the
    17 joints in ``world``: metres, root-relative (pelvis = 0). MediaPipe's world axes are
    ``x`` to the image's right, ``y`` down, ``z`` away from the camera, i.e. our camera
    frame (see :mod:`scjd_core.skeleton`), so no axis change is needed.

    MediaPipe's INFO/WARNING chatter on stderr is filtered out (errors still show); see
    :mod:`scjd_core.native_stderr`.

    Args:
        model_complexity: 1 (the model mediapipe 0.10.21 bundles); 0 and 2 only when their
            model file is installed.
        smooth_landmarks: MediaPipe's own temporal landmark filter (tracking mode only).
        min_detection_confidence: person-detector threshold.
        min_tracking_confidence: below this the tracker re-runs the person detector.
        static_image_mode: detect independently in every frame (for unrelated images).

    Raises:
        MissingDependencyError: mediapipe or the requested model file is missing.
    """

    name = "mediapipe"

    def __init__(
        self,
        model_complexity: int = 1,
        smooth_landmarks: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        static_image_mode: bool = False,
    ) -> None:
        self._pose_module = import_mediapipe_pose()
        _check_model(self._pose_module, model_complexity)
        self.options = {
            "static_image_mode": bool(static_image_mode),
            "model_complexity": int(model_complexity),
            "smooth_landmarks": bool(smooth_landmarks),
            "enable_segmentation": False,
            "min_detection_confidence": float(min_detection_confidence),
            "min_tracking_confidence": float(min_tracking_confidence),
        }
        self._graph: Any = None
        self._start_graph()

    def _start_graph(self) -> None:
        """Create the MediaPipe graph and run it once on a blank image.

        MediaPipe loads its models in its own threads, logging as it goes, for a moment
        after the graph is created; one blank frame waits for that, inside the stderr
        filter, so the chatter is caught and a model that cannot load fails here (in the
        constructor) rather than on the first frame. A blank frame finds nobody, so no
        tracking state carries over.
        """
        with filtered_stderr():
            graph = self._pose_module.Pose(**self.options)
            try:
                graph.process(np.zeros((32, 32, 3), dtype=np.uint8))
            except BaseException:
                graph.close()
                raise
        self._graph = graph

    def detect(self, frame: Frame) -> Detection2D:
        """Detect the person in ``frame`` (BGR image)."""
        if self._graph is None:
            raise RuntimeError("MediaPipeDetector is closed")
        import cv2

        image = frame.image
        height, width = image.shape[:2]
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        with filtered_stderr():  # MediaPipe's INFO/WARNING lines, see native_stderr
            result = self._graph.process(rgb)
        if result.pose_landmarks is None:
            return empty_detection(frame.index, frame.time_s)
        raw = _landmark_array(result.pose_landmarks)  # normalised x, y, z + visibility
        landmarks = raw * np.array([width, height, width, 1.0], dtype=np.float32)
        keypoints, confidence = mediapipe_to_joints(landmarks[:, :2], landmarks[:, 3])
        world = None
        if result.pose_world_landmarks is not None:
            world_joints, _ = mediapipe_to_joints(_landmark_array(result.pose_world_landmarks)[:, :3])
            world = (world_joints - world_joints[ROOT]).astype(np.float32)
        return Detection2D(
            index=frame.index,
            time_s=frame.time_s,
            keypoints=keypoints.astype(np.float32),
            confidence=confidence.astype(np.float32),
            found=True,
            world=world,
            landmarks=landmarks,
        )

    def reset(self) -> None:
        """Start a fresh tracking graph (forgets the person followed so far)."""
        self.close()
        self._start_graph()

    def close(self) -> None:
        """Free the MediaPipe graph."""
        if self._graph is not None:
            with filtered_stderr():
                self._graph.close()
            self._graph = None


def _landmark_array(landmark_list: Any) -> np.ndarray:
    """``(33, 4)`` float32 ``(x, y, z, visibility)`` from a MediaPipe landmark list."""
    out = np.array(
        [(lm.x, lm.y, lm.z, lm.visibility) for lm in landmark_list.landmark],
        dtype=np.float32,
    )
    if out.shape != (len(MEDIAPIPE_NAMES), 4):
        raise RuntimeError(f"MediaPipe returned {out.shape[0]} landmarks, expected {len(MEDIAPIPE_NAMES)}")
    return out
