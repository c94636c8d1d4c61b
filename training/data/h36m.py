"""Human3.6M in the VideoPose3D file layout, for users who have the dataset.

We cannot ship Human3.6M; these are **user-provided dataset files**, prepared with
VideoPose3D's ``prepare_data_h36m.py`` / its 2D detections:

* ``data_3d_h36m.npz`` - ``positions_3d``: ``{subject: {action: (F, 32, 3)}}`` world
  metres (H36M's Z-up world).
* ``data_2d_h36m_<name>.npz`` - ``positions_2d``: ``{subject: {action: [4 x (F, 17, 2)]}}``
  pixels, one array per camera in the order of the camera file; ``metadata``:
  ``{"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [left, right]}``.

Both store Python dicts inside the ``.npz``, so they are read with ``allow_pickle=True``
(only load files you trust) and their structure is validated right after loading.

Camera parameters come from a JSON file the user writes (H36M's own are not ours to
ship; VideoPose3D's ``h36m_dataset.py`` lists them). Format, one list per subject in the
same camera order as the 2D file::

    {"S1": [{"id": "54138969", "res_w": 1000, "res_h": 1002,
             "focal_length": [1145.05, 1143.78], "center": [512.54, 515.45],
             "radial_distortion": [k1, k2, k3], "tangential_distortion": [p1, p2],
             "orientation": [w, x, y, z], "translation": [x, y, z]}, ...], ...}

``orientation`` is the camera-to-world rotation quaternion (scalar first) and
``translation`` the camera centre in world **millimetres**, exactly as VideoPose3D lists
them; the distortion entries are optional (default 0). Projection follows VideoPose3D's
``project_to_2d`` (radial + tangential distortion).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch.utils.data import Dataset

from scjd_core.errors import InputError
from scjd_core.skeleton import FLIP_PERMUTATION, JOINT_NAMES, LEFT, NUM_JOINTS, RIGHT, ROOT, normalize_screen
from training.data.seeding import item_rng

#: Index of each of our 17 joints among Human3.6M's 32 (VideoPose3D's selection).
H36M_32_INDEX: dict[str, int] = {
    "pelvis": 0,
    "right_hip": 1,
    "right_knee": 2,
    "right_ankle": 3,
    "left_hip": 6,
    "left_knee": 7,
    "left_ankle": 8,
    "spine": 12,
    "thorax": 13,
    "neck": 14,
    "head": 15,
    "left_shoulder": 17,
    "left_elbow": 18,
    "left_wrist": 19,
    "right_shoulder": 25,
    "right_elbow": 26,
    "right_wrist": 27,
}
H36M_32_TO_17: np.ndarray = np.array([H36M_32_INDEX[name] for name in JOINT_NAMES])
H36M_TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
H36M_TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")


@dataclass(frozen=True)
class H36MCamera:
    """One calibrated Human3.6M camera.

    Attributes:
        id: camera name.
        width: image width, pixels.
        height: image height, pixels.
        focal: ``(2,)`` fx, fy pixels.
        center: ``(2,)`` cx, cy pixels.
        radial: ``(3,)`` k1, k2, k3.
        tangential: ``(2,)`` p1, p2.
        R: ``(3, 3)`` rotation world -> camera.
        t: ``(3,)`` translation world -> camera, metres (``X_cam = R @ X + t``).
    """

    id: str
    width: int
    height: int
    focal: np.ndarray
    center: np.ndarray
    radial: np.ndarray
    tangential: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def intrinsics(self) -> np.ndarray:
        """``(6,)`` float32: ``fx, fy, cx, cy, width, height``."""
        return np.array([*self.focal, *self.center, self.width, self.height], dtype=np.float32)

    def world_to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` metres -> camera frame ``(..., 3)`` (x right, y down, z forward)."""
        points = np.asarray(points_world, dtype=np.float64)
        return (points.reshape(-1, 3) @ self.R.T + self.t).reshape(points.shape)

    def project_camera(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points ``(..., 3)`` -> pixels ``(..., 2)`` with lens distortion."""
        points_cam = np.asarray(points_cam, dtype=np.float64)
        xy = np.clip(points_cam[..., :2] / points_cam[..., 2:], -1.0, 1.0)  # as VideoPose3D
        r2 = np.sum(xy**2, axis=-1, keepdims=True)
        radial = 1.0 + np.sum(self.radial * np.concatenate([r2, r2**2, r2**3], axis=-1), -1, keepdims=True)
        tan = np.sum(self.tangential * xy, axis=-1, keepdims=True)
        distorted = xy * (radial + tan) + self.tangential * r2
        return self.focal * distorted + self.center

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` metres -> pixels ``(..., 2)``."""
        return self.project_camera(self.world_to_camera(points_world))


def _vector(entry: dict, key: str, size: int, where: str, default: float | None = None) -> np.ndarray:
    value = entry.get(key)
    if value is None and default is not None:
        return np.full(size, default, dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64) if value is not None else np.zeros(0)
    if arr.shape != (size,) or not np.isfinite(arr).all():
        raise InputError(f"{where}: '{key}' must be {size} finite numbers; fix the camera JSON file")
    return arr


def camera_from_dict(entry: dict, where: str = "camera") -> H36MCamera:
    """Build an :class:`H36MCamera` from one entry of the camera JSON (format in the module doc)."""
    if not isinstance(entry, dict):
        raise InputError(f"{where} is not a JSON object; see training.data.h36m for the camera format")
    quat = _vector(entry, "orientation", 4, where)
    centre = _vector(entry, "translation", 3, where) / 1000.0  # millimetres -> metres
    cam_to_world = Rotation.from_quat(np.roll(quat, -1)).as_matrix()  # scalar-first -> scalar-last
    rot = cam_to_world.T
    try:
        width, height = int(entry["res_w"]), int(entry["res_h"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}: 'res_w' and 'res_h' must be integers; fix the camera JSON file") from None
    return H36MCamera(
        id=str(entry.get("id", where)),
        width=width,
        height=height,
        focal=_vector(entry, "focal_length", 2, where),
        center=_vector(entry, "center", 2, where),
        radial=_vector(entry, "radial_distortion", 3, where, 0.0),
        tangential=_vector(entry, "tangential_distortion", 2, where, 0.0),
        R=rot,
        t=-rot @ centre,
    )


def load_h36m_cameras(path: str | os.PathLike[str]) -> dict[str, list[H36MCamera]]:
    """Read the user's camera JSON file: ``{subject: [camera, ...]}``.

    Raises:
        InputError: when the file is missing, not JSON, or an entry is malformed.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"camera file {path} not found: write it as described in training.data.h36m") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"camera file {path} is not readable JSON ({exc}); fix or rewrite it") from None
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise InputError(f"camera file {path} must map each subject to a list of cameras")
    return {
        str(subject): [camera_from_dict(e, f"{path} {subject}[{i}]") for i, e in enumerate(entries)]
        for subject, entries in raw.items()
    }


def _load_npz_dict(path: Path, key: str) -> tuple[dict, np.lib.npyio.NpzFile]:
    try:
        data = np.load(path, allow_pickle=True)  # user-provided VideoPose3D file holding dicts
    except FileNotFoundError:
        raise InputError(f"{path} not found: pass the folder of your Human3.6M .npz files") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable .npz file ({exc}); re-create it") from None
    if key not in data.files:
        raise InputError(f"{path} has no '{key}' entry: is it a VideoPose3D Human3.6M file?")
    value = data[key]
    value = value.item() if value.dtype == object and value.shape == () else value
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InputError(f"{path}: '{key}' must be {{subject: {{action: ...}}}}; re-create the file")
    return value, data


def load_h36m_3d(path: str | os.PathLike[str]) -> dict[str, dict[str, np.ndarray]]:
    """Load ``data_3d_h36m.npz`` as ``{subject: {action: (F, 17, 3) float32}}`` world metres.

    The 32 Human3.6M joints are reduced to our 17 (files already at 17 pass through).

    Raises:
        InputError: when the file is missing or not structured as described.
    """
    path = Path(path)
    positions, _ = _load_npz_dict(path, "positions_3d")
    out: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in positions.items():
        out[subject] = {}
        for action, arr in actions.items():
            arr = np.asarray(arr)
            if arr.ndim != 3 or arr.shape[1] not in (32, NUM_JOINTS) or arr.shape[2] != 3:
                raise InputError(f"{path}: {subject}/{action} has shape {arr.shape}, expected (F, 32, 3)")
            out[subject][action] = (arr[:, H36M_32_TO_17] if arr.shape[1] == 32 else arr).astype(np.float32)
    return out


def load_h36m_2d(path: str | os.PathLike[str]) -> tuple[dict[str, dict[str, list[np.ndarray]]], dict]:
    """Load ``data_2d_h36m_<name>.npz``: ``({subject: {action: [per camera (F, 17, 2)]}}, metadata)``.

    Raises:
        InputError: when the file is missing, not structured as described, or uses
            another joint layout than Human3.6M's 17 joints.
    """
    path = Path(path)
    positions, data = _load_npz_dict(path, "positions_2d")
    meta = data["metadata"].item() if "metadata" in data.files else {}
    if not isinstance(meta, dict):
        raise InputError(f"{path}: 'metadata' must be a dict; re-create the file")
    symmetry = meta.get("keypoints_symmetry")
    if meta.get("num_joints", NUM_JOINTS) != NUM_JOINTS or (
        symmetry is not None and [list(map(int, s)) for s in symmetry] != [list(LEFT), list(RIGHT)]
    ):
        raise InputError(f"{path} uses the joint layout {meta.get('layout_name')!r}; the h36m 17-joint one is needed")
    for subject, actions in positions.items():
        for action, views in actions.items():
            if not isinstance(views, list | tuple) or not views:
                raise InputError(f"{path}: {subject}/{action} must be a list with one array per camera")
            for arr in views:
                arr = np.asarray(arr)
                if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[2] not in (2, 3):
                    raise InputError(f"{path}: {subject}/{action} has a view of shape {arr.shape}, not (F, 17, 2)")
    return positions, meta


def h36m_sequences(
    positions_3d: dict[str, dict[str, np.ndarray]],
    positions_2d: dict[str, dict[str, list[np.ndarray]]],
    cameras: dict[str, list[H36MCamera]],
    subjects: Sequence[str],
) -> list[dict]:
    """Pair 3D, 2D and cameras into per-view sequences (lengths cut to the shorter of 2D / 3D).

    Returns:
        One dict per subject/action/camera: ``name``, ``subject``, ``camera`` (the
        :class:`H36MCamera`), ``keypoints (F, 17, 2)``, ``confidence (F, 17)``,
        ``target (F, 17, 3)`` camera-frame metres, root-relative.

    Raises:
        InputError: when a subject is missing from one of the sources.
    """
    out = []
    for subject in subjects:
        for source, what in ((positions_3d, "3D"), (positions_2d, "2D"), (cameras, "camera")):
            if subject not in source:
                raise InputError(f"subject {subject} is missing from the {what} data: check --subjects")
        for action, world in positions_3d[subject].items():
            views = positions_2d[subject].get(action)
            if views is None:
                continue
            if len(views) > len(cameras[subject]):
                raise InputError(f"{subject}/{action} has {len(views)} views but the camera file lists fewer")
            for view, cam in zip(views, cameras[subject]):
                view = np.asarray(view, dtype=np.float32)
                n = min(len(view), len(world))
                cam_pts = cam.world_to_camera(world[:n])
                conf = view[:n, :, 2] if view.shape[2] == 3 else np.ones(view.shape[:2], np.float32)[:n]
                out.append(
                    {
                        "name": f"{subject}/{action}/{cam.id}",
                        "subject": subject,
                        "camera": cam,
                        "keypoints": view[:n, :, :2],
                        "confidence": conf,
                        "target": (cam_pts - cam_pts[:, ROOT : ROOT + 1]).astype(np.float32),
                    }
                )
    return out


class H36MWindowDataset(Dataset):
    """``T``-frame windows of Human3.6M in the ``training/data`` contract format.

    Items are dicts with ``inputs (T, 17, 3)`` (normalised 2D from the 2D file + confidence,
    1 where the file has none), ``target (T, 17, 3)`` (camera frame, metres, root-relative),
    ``subject``, ``clip`` (``subject/action/camera``) and ``camera`` (``fx, fy, cx, cy, w, h``).

    Args:
        positions_3d: from :func:`load_h36m_3d`.
        positions_2d: from :func:`load_h36m_2d`.
        cameras: from :func:`load_h36m_cameras`.
        subjects: subjects to use (S1, S5-S8 train; S9, S11 test by convention).
        window: frames per window ``T``; windows past a sequence's end repeat its last frame.
        samples: ``None`` = every window at ``stride`` steps, in order (evaluation);
            an int = that many random windows per epoch (training).
        stride: step between windows when ``samples`` is None (default ``window``).
        seed: base seed (random windows, flips).
        flip_prob: probability of a left/right mirror.
        train: with ``samples``, fresh draws each time (True; reproducible after
            :meth:`set_epoch`) or a pure function of ``(seed, index)`` (False).
    """

    def __init__(
        self,
        positions_3d: dict[str, dict[str, np.ndarray]],
        positions_2d: dict[str, dict[str, list[np.ndarray]]],
        cameras: dict[str, list[H36MCamera]],
        subjects: Sequence[str] = H36M_TRAIN_SUBJECTS,
        window: int = 81,
        samples: int | None = None,
        stride: int | None = None,
        seed: int = 0,
        flip_prob: float = 0.0,
        train: bool = False,
    ) -> None:
        self.sequences = h36m_sequences(positions_3d, positions_2d, cameras, subjects)
        self.sequences = [s for s in self.sequences if len(s["target"]) > 0]
        if not self.sequences:
            raise InputError(f"no Human3.6M sequences for subjects {', '.join(subjects)}: check the files")
        self.window, self.samples, self.seed = int(window), samples, int(seed)
        self.flip_prob, self.train, self.epoch = float(flip_prob), bool(train), None
        lengths = np.array([len(s["target"]) for s in self.sequences])
        self._cum = np.cumsum(lengths) / lengths.sum()
        step = int(stride or window)
        self._starts = [(i, s) for i, n in enumerate(lengths) for s in range(0, int(n), step)]

    @classmethod
    def from_files(
        cls,
        path_3d: str | os.PathLike[str],
        path_2d: str | os.PathLike[str],
        camera_json: str | os.PathLike[str],
        **kwargs,
    ) -> H36MWindowDataset:
        """Load the three user-provided files and build the dataset (``kwargs`` as in the constructor)."""
        positions_2d, _ = load_h36m_2d(path_2d)
        return cls(load_h36m_3d(path_3d), positions_2d, load_h36m_cameras(camera_json), **kwargs)

    def __len__(self) -> int:
        return len(self._starts) if self.samples is None else int(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Make this epoch's random draws reproducible."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return item_rng(self.seed, index, self.train, self.epoch)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} windows")
        rng = self._rng(index)
        if self.samples is None:
            seq_i, start = self._starts[index]
        else:
            seq_i = min(int(np.searchsorted(self._cum, rng.random(), side="right")), len(self.sequences) - 1)
            start = int(rng.integers(0, max(len(self.sequences[seq_i]["target"]) - self.window, 0) + 1))
        seq = self.sequences[seq_i]
        cam: H36MCamera = seq["camera"]
        idx = np.clip(np.arange(self.window) + start, 0, len(seq["target"]) - 1)
        uv = normalize_screen(seq["keypoints"][idx], cam.width, cam.height)
        inputs = np.concatenate([uv, seq["confidence"][idx, :, None]], axis=-1)
        target = seq["target"][idx].copy()
        intrinsics = cam.intrinsics()
        if self.flip_prob > 0 and rng.random() < self.flip_prob:
            inputs[..., 0] *= -1.0
            target[..., 0] *= -1.0
            intrinsics[2] = cam.width - intrinsics[2]
            inputs, target = inputs[:, FLIP_PERMUTATION], target[:, FLIP_PERMUTATION]
        return {
            "inputs": torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)),
            "target": torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32)),
            "subject": seq["subject"],
            "clip": seq["name"],
            "camera": torch.from_numpy(intrinsics),
        }
