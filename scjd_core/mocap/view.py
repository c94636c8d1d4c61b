"""A mocap clip seen by a fixed virtual camera: 2D input plus 3D ground truth.

Opening a motion-capture file (BVH, or AMC with its ASF) as a *sequence* gives what a
dataset sample gives: the 2D keypoints a camera would see, and the true 3D in that
camera's frame, so the lifters can be compared against ground truth (in the viewer and
with ``scjd process``, which open mocap files through :func:`scjd_core.inputs.open_input`,
in memory). The camera is level, in front of
the clip's mean root position, looking along the mocap's -Z axis (a person facing +Z
faces it), with the focal length of a ~65° horizontal field of view.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scjd_core.skeleton import ROOT


@dataclass(frozen=True)
class MocapView:
    """2D keypoints and camera-frame ground truth of one clip."""

    name: str
    keypoints: np.ndarray  # (F, 17, 2) pixels
    truth: np.ndarray  # (F, 17, 3) camera frame, metres, root-relative
    width: int
    height: int
    fps: float


def view_mocap(
    path: str | os.PathLike[str],
    fps: float = 30.0,
    width: int = 1280,
    height: int = 720,
    distance_m: float = 4.5,
) -> MocapView:
    """Project a mocap clip through a fixed, level virtual camera.

    Raises:
        InputError: when the file cannot be read (from :func:`load_mocap`).
    """
    from scjd_core.mocap import load_mocap

    clip = load_mocap(path, fps=fps)
    world = clip.joints.astype(np.float64)  # (F, 17, 3), Y up
    centre = world[:, ROOT].mean(axis=0)
    eye = centre + np.array([0.0, 0.0, distance_m])
    # camera frame: x = world X, y = -world Y (down), z = -world Z (away from the camera)
    cam = np.stack([world[..., 0] - eye[0], -(world[..., 1] - eye[1]), eye[2] - world[..., 2]], axis=-1)
    focal = width / (2.0 * np.tan(np.radians(65.0) / 2.0))
    z = np.maximum(cam[..., 2:3], 0.1)
    keypoints = focal * cam[..., :2] / z + np.array([width / 2.0, height / 2.0])
    truth = cam - cam[:, ROOT : ROOT + 1]
    return MocapView(Path(path).stem, keypoints.astype(np.float32), truth.astype(np.float32), width, height, fps)


def write_view_keypoints(view: MocapView, path: str | os.PathLike[str]) -> Path:
    """Write the view's 2D as a keypoint file that :class:`KeypointFileDetector` reads."""
    from scjd_core.atomic import atomic_write

    path = Path(path)
    with atomic_write(path, "wb", overwrite=True) as handle:
        np.savez(
            handle,
            keypoints=view.keypoints,
            confidence=np.ones(view.keypoints.shape[:2], np.float32),
            width=view.width,
            height=view.height,
            fps=view.fps,
        )
    return path
