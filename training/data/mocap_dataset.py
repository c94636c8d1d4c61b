"""Mocap clips -> training windows: random bodies, random cameras, detector-like 2D.

:func:`load_clips` reads the mocap files once (with an ``.npz`` cache) and cuts glitches
out; :class:`MocapWindowDataset` turns the clips into an endless supply of ``T``-frame
training windows in the contract format of ``training/data``::

    inputs  (T, 17, 3) float32  normalised 2D x, y (skeleton.normalize_screen) + confidence
    target  (T, 17, 3) float32  camera frame, metres, root-relative (pelvis = 0)
    subject str, clip str       where the window came from
    camera  (6,) float32        fx, fy, cx, cy, width, height of the virtual camera
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from scjd_core.atomic import atomic_write
from scjd_core.mocap import MocapClip, glitch_mask, load_mocap
from scjd_core.skeleton import (
    FLIP_PERMUTATION,
    HEIGHT_OFFSET_M,
    JOINT_INDEX,
    NUM_JOINTS,
    PARENTS,
    ROOT,
    normalize_screen,
)
from training.data.cameras import CameraConfig, project, random_camera, world_to_camera
from training.data.noise import DetectorNoise, apply_noise
from training.data.seeding import item_rng

#: Bumped whenever the cached content changes meaning.
CACHE_VERSION = 1

#: The dataset's own per-bone length variation (std): what validation/evaluation windows and the
#: fixed evaluation files are made with unless a caller asks otherwise. Training runs pass
#: ``training.common.LIMB_SCALE_STD``.
DEFAULT_LIMB_SCALE_STD = 0.03
#: Largest per-bone length variation accepted (factors then reach 1 ± 0.45).
MAX_LIMB_SCALE_STD = 0.15
#: Largest playback-speed jitter accepted (speeds then span 1/1.5 .. 1.5).
MAX_SPEED_JITTER = 0.5


def _cache_file(path: Path, fps: float, cache_dir: Path) -> Path:
    stat = path.stat()
    key = f"{CACHE_VERSION}|{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{fps:.6f}"
    return cache_dir / f"{path.stem}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def _read_clip(path: Path, fps: float) -> tuple[MocapClip, np.ndarray]:
    """Parse one mocap file; returns the clip and its glitch mask ``(F,)``."""
    clip = load_mocap(path, fps=fps)
    return clip, np.asarray(glitch_mask(clip.joints, clip.fps), dtype=bool)


def _read_cached(path: Path, fps: float, cache_dir: Path | None) -> tuple[MocapClip, np.ndarray]:
    if cache_dir is None:
        return _read_clip(path, fps)
    cached = _cache_file(path, fps, cache_dir)
    if cached.exists():
        with np.load(cached, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            clip = MocapClip(joints=data["joints"].astype(np.float32), path=str(path), **meta)
            return clip, data["glitch"].astype(bool)
    clip, glitch = _read_clip(path, fps)
    meta = {"name": clip.name, "subject": clip.subject, "action": clip.action, "fps": float(clip.fps)}
    with atomic_write(cached, "wb", overwrite=True) as fh:
        np.savez(fh, joints=np.asarray(clip.joints, np.float32), glitch=glitch, meta=json.dumps(meta))
    return clip, glitch


def split_at_glitches(clip: MocapClip, glitch: np.ndarray, min_frames: int) -> list[MocapClip]:
    """Cut ``clip`` into its glitch-free runs of at least ``min_frames`` frames.

    A run that does not start at frame 0 or end at the last frame is named
    ``<name>@<first frame>``; an untouched clip keeps its name.
    """
    good = ~np.asarray(glitch, dtype=bool)
    if good.all():
        return [clip] if len(good) >= min_frames else []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], good, [False]]).astype(np.int8)))
    out = []
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start >= min_frames:
            joints = np.ascontiguousarray(clip.joints[start:stop])
            out.append(dataclasses.replace(clip, name=f"{clip.name}@{start}", joints=joints))
    return out


def load_clips(
    paths: Iterable[str | os.PathLike[str]],
    fps: float = 30.0,
    cache_dir: str | os.PathLike[str] | None = None,
    min_frames: int = 16,
    progress: bool = False,
) -> list[MocapClip]:
    """Load mocap files as 17-joint clips resampled to ``fps``, with glitches cut out.

    Args:
        paths: ``.bvh`` / ``.amc`` files (see ``scjd_core.mocap.find_mocap_files``).
        fps: frame rate to resample to (the lifter's rate).
        cache_dir: folder for an ``.npz`` cache of the parsed joints, keyed by file
            path, modification time, size and ``fps``; ``None`` disables caching.
        min_frames: glitch-free runs shorter than this are dropped.
        progress: show a tqdm progress bar.

    Returns:
        The clips, in file order; a file with glitches yields one clip per clean run.
    """
    paths = [Path(p) for p in paths]
    cache = None if cache_dir is None else Path(cache_dir)
    if progress:
        from tqdm import tqdm

        paths = tqdm(paths, desc="mocap", unit="file")
    clips: list[MocapClip] = []
    for path in paths:
        clip, glitch = _read_cached(path, fps, cache)
        clips.extend(split_at_glitches(clip, glitch, min_frames))
    return clips


def _ancestor_matrix() -> np.ndarray:
    """``(17, 17)``: ``A[j, c] = 1`` when the bone ending at ``c`` lies on the root -> ``j`` path."""
    anc = np.zeros((NUM_JOINTS, NUM_JOINTS))
    for j in range(NUM_JOINTS):
        c = j
        while PARENTS[c] >= 0:
            anc[j, c] = 1.0
            c = PARENTS[c]
    return anc


_ANCESTORS = _ancestor_matrix()
_PARENT_OR_SELF = np.array([max(p, 0) for p in PARENTS])
#: Each bone (named by its child joint) shares its scale with its mirror image.
_SYMMETRIC_BONE = np.minimum(np.arange(NUM_JOINTS), FLIP_PERMUTATION)
_LEG = [JOINT_INDEX[n] for n in ("right_knee", "right_ankle", "left_knee", "left_ankle")]
_TRUNK = [JOINT_INDEX[n] for n in ("spine", "thorax", "neck", "head")]


def scale_bones(joints: np.ndarray, global_scale: float, bone_scale: np.ndarray) -> np.ndarray:
    """Rescale a skeleton's bones and rebuild it from the root so limbs stay connected.

    Args:
        joints: ``(T, 17, 3)`` world positions.
        global_scale: factor on every bone and on the root trajectory.
        bone_scale: ``(17,)`` extra factor of the bone ending at each joint (root ignored).

    Returns:
        ``(T, 17, 3)`` rescaled positions.
    """
    bones = joints - joints[:, _PARENT_OR_SELF]
    factor = global_scale * np.asarray(bone_scale, dtype=np.float64)
    frames = bones.shape[0]
    flat = bones.transpose(1, 0, 2).reshape(NUM_JOINTS, -1)  # one (17, 17) @ (17, T*3) product
    offsets = ((_ANCESTORS * factor[None, :]) @ flat).reshape(NUM_JOINTS, frames, 3).transpose(1, 0, 2)
    return global_scale * joints[:, ROOT : ROOT + 1] + offsets


def resample_clip(joints: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The skeleton at fractional frame ``positions`` (within ``[0, F-1]``) of a clip ``(F, 17, 3)``.

    The root moves linearly between the two neighbouring frames; each bone's direction is
    interpolated linearly and rescaled to the length it has in those frames (mocap bones are
    rigid), so a limb swinging fast between two frames keeps its length instead of cutting the
    chord. Integer positions give the clip's own frames.
    """
    lo = np.clip(np.floor(positions).astype(np.int64), 0, len(joints) - 1)
    hi = np.minimum(lo + 1, len(joints) - 1)
    w = (np.asarray(positions, dtype=np.float64) - lo)[:, None, None]
    before, after = joints[lo], joints[hi]
    bones_lo = before - before[:, _PARENT_OR_SELF]
    bones_hi = after - after[:, _PARENT_OR_SELF]
    bones = (1.0 - w) * bones_lo + w * bones_hi
    length = (1.0 - w) * np.linalg.norm(bones_lo, axis=-1, keepdims=True) + w * np.linalg.norm(
        bones_hi, axis=-1, keepdims=True
    )
    norm = np.linalg.norm(bones, axis=-1, keepdims=True)
    bones = np.where(norm > 1e-9, bones * (length / np.maximum(norm, 1e-9)), bones)
    root = (1.0 - w[:, :, 0]) * before[:, ROOT] + w[:, :, 0] * after[:, ROOT]
    offsets = np.einsum("jc,tcd->tjd", _ANCESTORS, bones)
    return root[:, None, :] + offsets


def body_height(joints: np.ndarray) -> float:
    """Rough standing height of a skeleton ``(T, 17, 3)`` from its bone lengths, metres.

    The chains of :func:`scjd_core.skeleton.standing_height`, averaged over a few frames (it
    places every training camera, so it stays as it was: the fixed evaluation files are
    reproduced exactly by their command).
    """
    sample = joints[:: max(len(joints) // 8, 1)]  # a few frames are plenty
    bones = np.sqrt(((sample - sample[:, _PARENT_OR_SELF]) ** 2).sum(axis=-1)).mean(axis=0)
    return float(0.5 * bones[_LEG].sum() + bones[_TRUNK].sum() + HEIGHT_OFFSET_M)


def _body_size_px(pixels: np.ndarray) -> np.ndarray:
    """Per-frame body size ``(T,)``: the larger side of the keypoints' bounding box (>= 1 px)."""
    u, v = pixels[..., 0], pixels[..., 1]
    extent = np.maximum(u.max(axis=1) - u.min(axis=1), v.max(axis=1) - v.min(axis=1))
    return np.maximum(extent, 1.0)


class MocapWindowDataset(Dataset):
    """Random ``T``-frame training windows from mocap clips, seen by random virtual cameras.

    Each item picks a clip (with probability proportional to its length) and a window
    in it, rescales the body (global factor in ``bone_scale`` and a small symmetric
    per-bone variation), films it with a random static camera
    (:func:`~training.data.cameras.random_camera`, every joint of the window in view),
    adds detector noise, mirrors it with probability ``flip_prob`` and returns the
    contract dict (see the module docstring). Clips shorter than the window are padded
    by repeating their first / last frame.

    Randomness: with ``train=False`` item ``i`` is a pure function of ``(seed, i)``. With
    ``train=True`` items are fresh random draws each time, reproducible per epoch when
    the training loop calls :meth:`set_epoch` (as with ``DistributedSampler``), drawn from
    OS entropy otherwise; both work with several DataLoader workers.

    Args:
        clips: clips with ``joints (F, 17, 3)`` world metres (Y up), ``name``, ``subject``.
        window: frames per window ``T``.
        samples: items per epoch (``len(dataset)``).
        seed: base seed.
        noise: detector noise; ``None`` = :class:`DetectorNoise` defaults; a sequence of
            models = each item draws one of them uniformly (a noise mixture). Pass
            ``DetectorNoise.none()`` for exact 2D with confidence 1.
        flip_prob: probability of a left/right mirror.
        bone_scale: range of the global body scale factor.
        limb_scale_std: standard deviation of the per-bone scale variation (symmetric left/right;
            factors clipped to ``1 ± 3·std``, never tighter than ``[0.8, 1.2]``).
        camera: camera ranges; ``None`` = :class:`CameraConfig` defaults.
        train: random per epoch (True) or deterministic per index (False).
        speed_jitter: playback-speed augmentation: each window plays its clip at a speed drawn
            log-uniformly from ``[1/(1+j), 1+j]`` and from a random sub-frame start, so the
            window shows poses between the clip's frames too (see :func:`resample_clip`). ``0``
            (the default) = the clip's own frames, and no extra random draw, so windows of
            fixed files and validation sets are unchanged.
    """

    def __init__(
        self,
        clips: Sequence[MocapClip],
        window: int = 81,
        samples: int = 10_000,
        seed: int = 0,
        noise: DetectorNoise | None = None,
        flip_prob: float = 0.5,
        bone_scale: tuple[float, float] = (0.9, 1.1),
        limb_scale_std: float = DEFAULT_LIMB_SCALE_STD,
        camera: CameraConfig | None = None,
        train: bool = True,
        speed_jitter: float = 0.0,
    ) -> None:
        if not clips:
            raise ValueError("MocapWindowDataset needs at least one clip")
        if window < 1 or samples < 1:
            raise ValueError(f"window and samples must be positive, got {window} and {samples}")
        self.clips = list(clips)
        self.window = int(window)
        self.samples = int(samples)
        self.seed = int(seed)
        if isinstance(noise, list | tuple):
            if not noise:
                raise ValueError("noise must be a DetectorNoise or a non-empty sequence of them")
            self.noise_models = tuple(noise)
        else:
            self.noise_models = (DetectorNoise() if noise is None else noise,)
        self.noise = self.noise_models[0]
        self.flip_prob = float(flip_prob)
        self.bone_scale = (float(bone_scale[0]), float(bone_scale[1]))
        if not 0.0 <= limb_scale_std <= MAX_LIMB_SCALE_STD:
            raise ValueError(f"limb_scale_std must be in [0, {MAX_LIMB_SCALE_STD}], got {limb_scale_std}")
        self.limb_scale_std = float(limb_scale_std)
        if not 0.0 <= speed_jitter <= MAX_SPEED_JITTER:
            raise ValueError(f"speed_jitter must be in [0, {MAX_SPEED_JITTER}], got {speed_jitter}")
        self.speed_jitter = float(speed_jitter)
        #: Per-bone factors are clipped to 1 ± 3 std, and never tighter than [0.8, 1.2].
        self.limb_range = (min(0.8, 1.0 - 3.0 * self.limb_scale_std), max(1.2, 1.0 + 3.0 * self.limb_scale_std))
        self.camera = camera or CameraConfig()
        self.train = bool(train)
        self.epoch: int | None = None
        self._joints = [np.asarray(c.joints, dtype=np.float64) for c in self.clips]
        lengths = np.array([len(j) for j in self._joints], dtype=np.float64)
        if (lengths < 1).any():
            raise ValueError("every clip needs at least one frame")
        self._cum = np.cumsum(lengths) / lengths.sum()

    def __len__(self) -> int:
        return self.samples

    def set_epoch(self, epoch: int) -> None:
        """Make the training draws of this epoch reproducible (a function of seed, epoch, index)."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return item_rng(self.seed, index, self.train, self.epoch)

    def _window(self, rng: np.random.Generator) -> tuple[int, np.ndarray]:
        """Clip index and the clip frame of each window frame (``< 0`` or ``>= frames``: padding).

        With ``speed_jitter`` the positions are fractional (a random speed and sub-frame start)
        whenever the clip is long enough for the whole window at that speed.
        """
        ci = min(int(np.searchsorted(self._cum, rng.random(), side="right")), len(self._joints) - 1)
        frames = len(self._joints[ci])
        if self.speed_jitter > 0:
            bound = np.log1p(self.speed_jitter)
            speed = float(np.exp(rng.uniform(-bound, bound)))
            span = speed * (self.window - 1)
            if frames - 1 >= span:
                return ci, rng.uniform(0.0, frames - 1 - span) + speed * np.arange(self.window)
        if frames >= self.window:
            start = int(rng.integers(0, frames - self.window + 1))
        else:  # place the short clip at a random position, repeat its ends
            start = -int(rng.integers(0, self.window - frames + 1))
        return ci, np.arange(self.window) + start

    def _body(self, joints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        scale = rng.uniform(*self.bone_scale)
        limb = 1.0 + self.limb_scale_std * rng.standard_normal(NUM_JOINTS)
        return scale_bones(joints, scale, np.clip(limb, *self.limb_range)[_SYMMETRIC_BONE])

    def __getitem__(self, index: int) -> dict:
        raw = self.raw_item(index)
        kp, conf, cam = raw["keypoints"], raw["confidence"], raw["camera"]
        inputs = np.concatenate([normalize_screen(kp, int(cam[4]), int(cam[5])), conf[..., None]], axis=-1)
        return {
            "inputs": torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)),
            "target": torch.from_numpy(raw["target"]),
            "subject": raw["subject"],
            "clip": raw["clip"],
            "camera": torch.from_numpy(cam),
        }

    def raw_item(self, index: int) -> dict:
        """Item ``index`` before normalisation: what :meth:`__getitem__` is made of.

        Returns:
            ``keypoints (T, 17, 2)`` float32 pixels, ``confidence (T, 17)`` float32,
            ``target (T, 17, 3)`` float32 camera-frame root-relative metres, ``root (T, 3)``
            float32 the root's camera-frame position (metres), ``camera (6,)``
            float32 ``fx, fy, cx, cy, width, height``, ``subject`` and ``clip`` strings,
            ``clip_index`` (into ``clips``), ``frames (T,)`` the clip frame shown in each
            window frame, ``padded (T,)`` bool where that is a repeat of the clip's first or
            last frame (clip shorter than the window), and ``flipped``.
        """
        if not 0 <= index < self.samples:
            raise IndexError(f"index {index} out of range for {self.samples} samples")
        rng = self._rng(index)
        ci, positions = self._window(rng)
        frames = len(self._joints[ci])
        if positions.dtype.kind == "f":
            shown = np.rint(positions).astype(np.int64)
            world = self._body(resample_clip(self._joints[ci], positions), rng)
        else:
            shown = np.clip(positions, 0, frames - 1)
            world = self._body(self._joints[ci][shown], rng)

        coords = np.ascontiguousarray(world.reshape(-1, 3).T)  # (3, T*17): fast reductions
        centre = 0.5 * (coords.min(axis=1) + coords.max(axis=1))
        cam = random_camera(rng, body_height(world), centre, world, self.camera)
        cam_pts = world_to_camera(world, cam)
        pixels = project(cam_pts, cam)
        # one noise model: no extra draw, so files made with a single model stay reproducible
        noise = (
            self.noise if len(self.noise_models) == 1 else self.noise_models[int(rng.integers(len(self.noise_models)))]
        )
        kp, conf = apply_noise(pixels, rng, _body_size_px(pixels), noise)

        target = cam_pts - cam_pts[:, ROOT : ROOT + 1]
        root = cam_pts[:, ROOT].copy()
        intrinsics = cam.intrinsics()
        flipped = rng.random() < self.flip_prob
        if flipped:
            kp[..., 0] = cam.width - kp[..., 0]
            target[..., 0] *= -1.0
            root[:, 0] *= -1.0
            intrinsics[2] = cam.width - intrinsics[2]
            kp, conf, target = kp[:, FLIP_PERMUTATION], conf[:, FLIP_PERMUTATION], target[:, FLIP_PERMUTATION]

        clip = self.clips[ci]
        return {
            "keypoints": np.ascontiguousarray(kp, dtype=np.float32),
            "confidence": np.ascontiguousarray(conf, dtype=np.float32),
            "target": np.ascontiguousarray(target, dtype=np.float32),
            "root": np.ascontiguousarray(root, dtype=np.float32),
            "camera": intrinsics,
            "subject": str(clip.subject),
            "clip": str(clip.name),
            "clip_index": int(ci),
            "frames": shown,
            "padded": (positions < 0) | (positions >= frames),
            "flipped": bool(flipped),
        }
