"""Virtual cameras: projection maths and the realism / visibility of random viewpoints."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.cameras import (
    IMAGE_SIZES,
    CameraConfig,
    VirtualCamera,
    look_rotation,
    project,
    random_camera,
    world_to_camera,
)
from training.data.synthetic import walking_joints


def _camera(R=None, t=None) -> VirtualCamera:
    return VirtualCamera(
        fx=1000.0,
        fy=900.0,
        cx=960.0,
        cy=540.0,
        width=1920,
        height=1080,
        R=np.eye(3) if R is None else R,
        t=np.zeros(3) if t is None else t,
    )


def test_project_known_point():
    cam = _camera()
    px = project(np.array([0.5, -0.25, 5.0]), cam)
    np.testing.assert_allclose(px, [960 + 1000 * 0.1, 540 - 900 * 0.05])


def test_world_to_camera_known_transform():
    # camera 4 m in front of the origin on +Z, looking back at it (yaw = pi), Y up -> y down
    R = look_rotation(np.pi, 0.0)
    cam = _camera(R=R, t=-R @ np.array([0.0, 1.0, 4.0]))
    np.testing.assert_allclose(cam.center, [0.0, 1.0, 4.0], atol=1e-12)
    pts = world_to_camera(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0]]), cam)
    np.testing.assert_allclose(pts[0], [0.0, 0.0, 4.0], atol=1e-12)
    np.testing.assert_allclose(pts[1], [0.0, -1.0, 4.0], atol=1e-12)  # world up = image up
    # looking along -Z, world +X is on the camera's right
    np.testing.assert_allclose(pts[2], [1.0, 0.0, 4.0], atol=1e-12)


@pytest.mark.parametrize("yaw,pitch,roll", [(0.0, 0.0, 0.0), (1.0, 0.3, 0.05), (-2.5, -0.15, -0.1)])
def test_look_rotation_is_a_proper_rotation(yaw, pitch, roll):
    R = look_rotation(yaw, pitch, roll)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    forward = R[2]
    assert forward[1] == pytest.approx(-np.sin(pitch))  # positive pitch looks down


def test_random_camera_always_sees_the_person():
    rng = np.random.default_rng(0)
    joints = walking_joints(81, speed=1.4).astype(np.float64)  # walks about 3.8 m
    centre = 0.5 * (joints.reshape(-1, 3).min(0) + joints.reshape(-1, 3).max(0))
    for _ in range(300):
        cam = random_camera(rng, 1.75, centre, joints)
        pts = world_to_camera(joints, cam)
        assert (pts[..., 2] > 0.29).all()
        px = project(pts, cam)
        assert (px[..., 0] >= 0).all() and (px[..., 0] <= cam.width).all()
        assert (px[..., 1] >= 0).all() and (px[..., 1] <= cam.height).all()


def test_random_camera_is_realistic():
    rng = np.random.default_rng(1)
    cfg = CameraConfig()
    headings, sizes, distances = [], set(), []
    for _ in range(400):
        cam = random_camera(rng, 1.7)
        sizes.add((cam.width, cam.height))
        fov = np.degrees(2 * np.arctan(0.5 * max(cam.width, cam.height) / cam.fx))
        assert cfg.fov_deg[0] - 1e-6 <= fov <= cfg.fov_deg[1] + 1e-6
        # the person (a vertical 1.7 m segment at the aim point) fills the configured
        # fraction of the image height, and sits near the image centre
        ends = project(world_to_camera(np.array([[0.0, 0.0, 0.0], [0.0, 1.7, 0.0]]), cam), cam)
        fill = abs(ends[1, 1] - ends[0, 1]) / cam.height
        assert 0.75 * cfg.fill[0] < fill < 1.3 * cfg.fill[1]
        mid = project(world_to_camera(np.array([0.0, 0.85, 0.0]), cam), cam)
        assert abs(mid[0] - cam.width / 2) <= cfg.offset * cam.width + 1e-6
        assert abs(mid[1] - cam.height / 2) <= cfg.offset * cam.height + 1e-6
        centre = cam.center
        headings.append(np.arctan2(centre[0], centre[2]))
        distances.append(np.linalg.norm(centre - [0.0, 0.85, 0.0]))
        down = np.degrees(np.arcsin(-cam.R[2, 1] / np.linalg.norm(cam.R[2])))
        assert cfg.pitch_deg[0] - 1e-6 <= down <= cfg.pitch_deg[1] + 1e-6
    assert sizes == set(IMAGE_SIZES)
    assert np.histogram(headings, bins=8, range=(-np.pi, np.pi))[0].min() > 20  # all round
    assert 1.0 < min(distances) and max(distances) < 12.0
