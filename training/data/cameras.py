"""Virtual pinhole cameras that film mocap clips from random, realistic viewpoints.

Frames (see :mod:`scjd_core.skeleton`): the mocap *world* is Y-up, metres; the *camera*
frame is x right, y down, z forward (away from the camera); *pixels* have their origin
at the top-left corner. A camera maps a world point ``X`` to ``X_cam = R @ X + t``
and then to pixels ``(fx * x / z + cx, fy * y / z + cy)`` (no lens distortion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Image sizes ``(width, height)`` drawn by :func:`random_camera`: landscape, portrait, square.
IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (1920, 1080),
    (1280, 720),
    (720, 1280),
    (1080, 1920),
    (576, 576),
    (640, 480),
)


@dataclass(frozen=True)
class VirtualCamera:
    """A pinhole camera: intrinsics in pixels, extrinsics world -> camera.

    Attributes:
        fx: focal length along x, pixels.
        fy: focal length along y, pixels.
        cx: principal point x, pixels.
        cy: principal point y, pixels.
        width: image width, pixels.
        height: image height, pixels.
        R: ``(3, 3)`` rotation world -> camera.
        t: ``(3,)`` translation world -> camera, metres (``X_cam = R @ X + t``).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    R: np.ndarray
    t: np.ndarray

    @property
    def center(self) -> np.ndarray:
        """The camera's position in world coordinates, ``(3,)`` metres."""
        return -self.R.T @ self.t

    def intrinsics(self) -> np.ndarray:
        """``(6,)`` float32: ``fx, fy, cx, cy, width, height``."""
        return np.array([self.fx, self.fy, self.cx, self.cy, self.width, self.height], dtype=np.float32)


@dataclass(frozen=True)
class CameraConfig:
    """Ranges :func:`random_camera` draws from.

    Attributes:
        fov_deg: range of the field of view along the image's long side, degrees (sets
            the focal length): the horizontal FOV of a landscape frame, and the same lens
            turned by 90 degrees for a portrait one (a phone filming upright).
        pitch_deg: pitch range, degrees; positive looks down at the person.
        roll_std_deg: standard deviation of the roll, degrees (clipped at 3 sigma).
        fill: range of the fraction of the image height the person's height covers.
        offset: largest offset of the person from the image centre, as a fraction of
            the image width / height.
        margin: fraction of the image kept free at each border when the camera backs
            off to keep every given point in view.
        sizes: image sizes ``(width, height)`` to draw from (uniformly).
    """

    fov_deg: tuple[float, float] = (40.0, 75.0)
    pitch_deg: tuple[float, float] = (-10.0, 30.0)
    roll_std_deg: float = 2.0
    fill: tuple[float, float] = (0.45, 0.85)
    offset: float = 0.1
    margin: float = 0.03
    sizes: tuple[tuple[int, int], ...] = IMAGE_SIZES


def look_rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """World -> camera rotation of a camera with the given heading, in a Y-up world.

    Args:
        yaw: heading, radians; 0 looks along world ``+Z``, ``pi/2`` along ``+X``.
        pitch: radians; positive tilts the optical axis down.
        roll: radians about the optical axis.

    Returns:
        ``(3, 3)`` matrix whose rows are the camera's right, down and forward axes
        expressed in world coordinates (then rolled).
    """
    forward = np.array([np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    right = np.array([-np.cos(yaw), 0.0, np.sin(yaw)])  # forward x world up, normalised
    down = np.array(  # forward x right
        [
            forward[1] * right[2] - forward[2] * right[1],
            forward[2] * right[0] - forward[0] * right[2],
            forward[0] * right[1] - forward[1] * right[0],
        ]
    )
    rot = np.stack([right, down, forward])
    c, s = np.cos(roll), np.sin(roll)
    roll_m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return roll_m @ rot


def _min_distance(rel: np.ndarray, focal: float, offset: float, lo: float, hi: float) -> float:
    """Smallest depth of the aim point that keeps every point inside ``[lo, hi]`` pixels.

    ``rel`` holds one camera axis (x or y) and the depth of each point relative to the aim
    point, ``(N, 2)``; the aim point projects ``offset`` pixels from the principal point and
    the allowed range around the principal point is ``[-lo, hi]`` (both positive).
    """
    p, pz = rel[:, 0], rel[:, 1]
    need_hi = (focal * p - hi * pz) / (hi - offset)
    need_lo = (-focal * p - lo * pz) / (lo + offset)
    return float(max(need_hi.max(initial=0.0), need_lo.max(initial=0.0)))


def random_camera(
    rng: np.random.Generator,
    subject_height: float,
    target: np.ndarray | None = None,
    points: np.ndarray | None = None,
    config: CameraConfig | None = None,
) -> VirtualCamera:
    """Draw a static camera that films a person from a random, realistic viewpoint.

    Yaw is uniform all round; pitch and roll follow ``config``; the focal length comes
    from a random field of view along the image's long side; the distance makes the person's height fill
    a random fraction of the image height, and the aim point lands near the image centre
    with a random offset. When ``points`` are given the camera backs off as far as needed
    for all of them to be in front of it and inside the image (less a small margin).

    Args:
        rng: random generator.
        subject_height: the person's height, metres (sets the distance).
        target: world point to aim at, ``(3,)``; default ``(0, subject_height / 2, 0)``.
        points: optional world points ``(..., 3)`` that must all be in view (e.g. every
            joint of a training window).
        config: ranges to draw from; defaults to :class:`CameraConfig`.

    Returns:
        The camera.
    """
    cfg = config or CameraConfig()
    width, height = cfg.sizes[int(rng.integers(len(cfg.sizes)))]
    fov = np.deg2rad(rng.uniform(*cfg.fov_deg))
    focal = 0.5 * max(width, height) / np.tan(0.5 * fov)
    cx, cy = 0.5 * width, 0.5 * height
    yaw = rng.uniform(-np.pi, np.pi)
    pitch = np.deg2rad(rng.uniform(*cfg.pitch_deg))
    roll = np.deg2rad(np.clip(rng.normal(0.0, cfg.roll_std_deg), -3 * cfg.roll_std_deg, 3 * cfg.roll_std_deg))
    rot = look_rotation(yaw, pitch, roll)
    off_x = rng.uniform(-cfg.offset, cfg.offset) * width
    off_y = rng.uniform(-cfg.offset, cfg.offset) * height
    aim = np.array([0.0, 0.5 * subject_height, 0.0]) if target is None else np.asarray(target, float)

    depth = focal * subject_height / (rng.uniform(*cfg.fill) * height)
    if points is not None:
        rel = (np.asarray(points, dtype=np.float64).reshape(-1, 3) - aim) @ rot.T
        mx, my = cfg.margin * width, cfg.margin * height
        need_x = _min_distance(rel[:, [0, 2]], focal, off_x, cx - mx, width - cx - mx)
        need_y = _min_distance(rel[:, [1, 2]], focal, off_y, cy - my, height - cy - my)
        need_z = 0.3 - rel[:, 2].min()  # every point at least 30 cm in front of the camera
        depth = max(depth, need_x, need_y, need_z)
    shift = np.array([off_x / focal, off_y / focal, 1.0]) * depth
    t = shift - rot @ aim
    return VirtualCamera(fx=float(focal), fy=float(focal), cx=cx, cy=cy, width=width, height=height, R=rot, t=t)


def world_to_camera(points: np.ndarray, cam: VirtualCamera) -> np.ndarray:
    """World points ``(..., 3)`` -> camera frame ``(..., 3)`` (x right, y down, z forward)."""
    points = np.asarray(points, dtype=np.float64)
    return (points.reshape(-1, 3) @ cam.R.T + cam.t).reshape(points.shape)


def project(points_cam: np.ndarray, cam: VirtualCamera) -> np.ndarray:
    """Pinhole projection of camera-frame points ``(..., 3)`` to pixels ``(..., 2)``.

    Points must be in front of the camera (``z > 0``); the result is undefined otherwise.
    """
    points_cam = np.asarray(points_cam, dtype=np.float64)
    z = points_cam[..., 2]
    u = cam.fx * points_cam[..., 0] / z + cam.cx
    v = cam.fy * points_cam[..., 1] / z + cam.cy
    return np.stack([u, v], axis=-1)
