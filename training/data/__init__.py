"""Training data: mocap clips and Human3.6M turned into windows of (noisy 2D, 3D) pairs.

Every dataset here yields the same dict (the contract the training loop relies on):
``inputs (T, 17, 3)`` float32 normalised 2D + confidence, ``target (T, 17, 3)`` float32
camera-frame root-relative metres, ``subject`` and ``clip`` strings, and ``camera``
``(6,)`` float32 intrinsics ``fx, fy, cx, cy, width, height``.
"""

from training.data.cameras import CameraConfig, VirtualCamera, project, random_camera, world_to_camera
from training.data.h36m import (
    H36M_TEST_SUBJECTS,
    H36M_TRAIN_SUBJECTS,
    H36MCamera,
    H36MWindowDataset,
    load_h36m_2d,
    load_h36m_3d,
    load_h36m_cameras,
)
from training.data.mocap_dataset import MocapWindowDataset, load_clips
from training.data.noise import DetectorNoise, apply_noise
from training.data.splits import mocap_root, split_clips
from training.data.synthetic import synthetic_clip

__all__ = [
    "H36M_TEST_SUBJECTS",
    "H36M_TRAIN_SUBJECTS",
    "CameraConfig",
    "DetectorNoise",
    "H36MCamera",
    "H36MWindowDataset",
    "MocapWindowDataset",
    "VirtualCamera",
    "apply_noise",
    "load_clips",
    "load_h36m_2d",
    "load_h36m_3d",
    "load_h36m_cameras",
    "mocap_root",
    "project",
    "random_camera",
    "split_clips",
    "synthetic_clip",
    "world_to_camera",
]
