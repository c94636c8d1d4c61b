"""Fixed evaluation sequence files: 2D pixels + confidence, image size and 3D, written once.

A *sequence file* freezes what the evaluation feeds the models, so a later change of the
synthetic detector noise or of the virtual cameras cannot move the figures measured on
it. It is an ``.npz`` (loads with ``allow_pickle=False``) holding ``N`` sequences of ``F``
frames at 30 fps::

    keypoints_2d  (N, F, 17, 3) float32  pixels x (right), y (down) + confidence in [0, 1]
    image_size    (N, 2)        int32    width, height of each sequence's image, pixels
    poses_3d      (N, F, 17, 3) float32  camera frame (x right, y down, z forward), metres,
                                         root-relative (pelvis = 0)
    subjects      (N,)          str      the mocap subject of each sequence
    padded        (N, F)        bool     optional: the frame repeats its clip's first / last
                                         frame because the clip is shorter than F
    camera        (N, 6)        float32  optional: fx, fy, cx, cy, width, height of each
                                         sequence's camera (pixels; after the mirror)
    root_3d       (N, F, 3)     float32  optional: the root's (pelvis's) camera-frame position,
                                         metres (for the root trajectory error)
    meta          ()            str      JSON: source clips, seed, noise, cameras, command, licence

Sequences are made by :class:`~training.data.MocapWindowDataset` (``window=F``,
``train=False``, a fixed seed): a random clip of the split, a random window in it, a
randomly scaled body, a random static virtual camera, synthetic detector noise and a
random left/right mirror. Pixels are stored rounded to 1/64 px, confidence to 1/4096 and
3D to 2^-14 m (about 0.06 mm): exact binary fractions, so the file compresses well, and far
below any error we measure. Files are written byte-for-byte reproducibly (fixed zip
timestamps), so the same command gives the same sha256.

``camera`` and ``root_3d`` are written by this version; files written before it (the shipped
``hdm05_dg_v1.npz``) lack them, and the evaluation then skips the root trajectory error.

Default size (``N = 256``, ``F = 81``, 20,736 frames, about 4.5 MB): the held-out HDM05
actor ``dg`` has only 3,406 frames at 30 fps in 62 clips of 18-131 frames (median 50), so
every frame appears several times, through different cameras and noise. Longer sequences
would be mostly padding: at ``F = 162`` every ``dg`` clip is shorter than the sequence and 58 %
of the frames would repeat a clip's end, at ``F = 81`` (the shipped models' window) 25 %.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError, OutputError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS, ROOT, normalize_screen

#: Format tag kept in the meta (bumped when the layout changes).
FORMAT = "scjd-eval-sequences/1"
#: Frame rate of the sequences (the lifters' rate).
FPS = 30.0
#: The shipped sequence file of the held-out HDM05 actor ``dg`` with the v1 noise.
DEFAULT_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "eval" / "hdm05_dg_v1.npz"
#: The command that writes :data:`DEFAULT_FILE` (from the repository root, with the mocap beside it).
DEFAULT_COMMAND = (
    "python -m training sequences --out tests/data/eval/hdm05_dg_v1.npz --split test --sequences 256 "
    "--frames 81 --seed 2025 --noise v1 --overwrite"
)
NOISE_PRESETS = ("v1", "default")
REQUIRED = ("keypoints_2d", "image_size", "poses_3d", "subjects", "meta")
#: Storage grid (exact binary fractions): pixels, confidence, metres.
PIXEL_STEP, CONF_STEP, METRE_STEP = 2.0**-6, 2.0**-12, 2.0**-14


def default_sequences_file() -> Path | None:
    """:data:`DEFAULT_FILE` when it exists (a source checkout), else None."""
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def noise_preset(name: str) -> Any:
    """The detector noise of a preset: ``v1`` (the first, frozen defaults) or ``default`` (today's).

    Raises:
        ValueError: for another name.
    """
    from training.data.noise import DetectorNoise

    if name == "v1":
        # DetectorNoise.v1() freezes the first defaults; before it existed they were the defaults.
        return getattr(DetectorNoise, "v1", DetectorNoise)()
    if name == "default":
        return DetectorNoise()
    raise ValueError(f"unknown noise preset {name!r}: expected one of {NOISE_PRESETS}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def _quantise(values: np.ndarray, step: float) -> np.ndarray:
    return (np.round(np.asarray(values, np.float64) / step) * step).astype(np.float32)


def _licences(clips: list) -> list[dict[str, str]]:
    from training.mocap_data import data_licences

    hdm05 = any("hdm05" in str(c.path).lower() or str(c.name).upper().startswith("HDM_") for c in clips)
    cmu = any(c.subject == "cmu" for c in clips)
    out = []
    for lic in data_licences(None):
        if ("HDM05" in lic["name"] and hdm05) or ("CMU" in lic["name"] and cmu):
            out.append({k: v for k, v in lic.items() if k != "source"})
    return out


def _source_file(clip: Any, root: Path) -> str:
    if not clip.path:
        return str(clip.name)
    try:
        return Path(clip.path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(clip.path).name


def _source_entry(it: dict[str, Any], clip: Any, root: Path | None) -> dict[str, Any]:
    """The meta ``sources`` entry of one drawn item: clip, file, frames, mirror, camera."""
    return {
        "clip": it["clip"],
        "file": _source_file(clip, root) if root is not None else str(clip.name),
        "first_frame": int(it["frames"][0]),
        "last_frame": int(it["frames"][-1]),
        "padded_frames": int(it["padded"].sum()),
        "flipped": it["flipped"],
        "camera_fx_fy_cx_cy_w_h": [round(float(v), 3) for v in it["camera"]],
    }


def _draw_arrays(
    ds: Any, sequences: int, frames: int, root: Path | None
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Draw items ``0 .. sequences-1`` of ``ds`` into the file's arrays (quantised), with their sources."""
    kp = np.zeros((sequences, frames, NUM_JOINTS, 3), np.float32)
    poses = np.zeros((sequences, frames, NUM_JOINTS, 3), np.float32)
    size = np.zeros((sequences, 2), np.int32)
    cameras = np.zeros((sequences, 6), np.float32)
    roots = np.zeros((sequences, frames, 3), np.float32)
    padded = np.zeros((sequences, frames), bool)
    subjects, sources = [], []
    for i in range(sequences):
        it = ds.raw_item(i)
        kp[i, ..., :2] = _quantise(it["keypoints"], PIXEL_STEP)
        kp[i, ..., 2] = _quantise(it["confidence"], CONF_STEP)
        poses[i] = _quantise(it["target"], METRE_STEP)
        size[i] = [int(it["camera"][4]), int(it["camera"][5])]
        cameras[i] = it["camera"]
        roots[i] = _quantise(it["root"], METRE_STEP)
        padded[i] = it["padded"]
        subjects.append(it["subject"])
        sources.append(_source_entry(it, ds.clips[it["clip_index"]], root))
    poses[:, :, ROOT] = 0.0
    arrays = {
        "keypoints_2d": kp,
        "image_size": size,
        "poses_3d": poses,
        "subjects": np.array(subjects, dtype=str),
        "padded": padded,
        "camera": cameras,
        "root_3d": roots,
    }
    return arrays, sources


def _sequences_meta(
    ds: Any,
    clips: list,
    arrays: dict[str, np.ndarray],
    sources: list[dict[str, Any]],
    sequences: int,
    frames: int,
    seed: int,
    noise: str,
    detector: Any,
    cam_cfg: Any,
) -> dict[str, Any]:
    """The meta dict of a sequence file (see the module docstring)."""
    return {
        "format": FORMAT,
        "sequences": sequences,
        "frames": frames,
        "fps": FPS,
        "joints": list(JOINT_NAMES),
        "seed": seed,
        "noise": {
            "preset": noise,
            "source": "DetectorNoise.v1()"
            if noise == "v1" and hasattr(type(detector), "v1")
            else type(detector).__name__ + "()",
            "parameters": _jsonable(dataclasses.asdict(detector)),
        },
        "camera_config": _jsonable(dataclasses.asdict(cam_cfg)),
        "dataset": {
            "class": "training.data.MocapWindowDataset",
            "window": frames,
            "train": False,
            "flip_prob": ds.flip_prob,
            "bone_scale": list(ds.bone_scale),
            "limb_scale_std": ds.limb_scale_std,
        },
        "storage": {
            "pixel_step": PIXEL_STEP,
            "confidence_step": CONF_STEP,
            "metre_step": METRE_STEP,
            "note": "values rounded to these exact binary steps before storing",
        },
        "padded_fraction": float(arrays["padded"].mean()),
        "unique_clips": len({s["clip"] for s in sources}),
        "sources": sources,
        "licences": _licences(list(clips)),
        "licence_note": "Derived from the motion capture named in 'licences'; HDM05-derived data is "
        "distributed under CC BY-SA 3.0 with the attribution given there.",
    }


def make_sequences(
    clips: list,
    sequences: int = 256,
    frames: int = 81,
    seed: int = 2025,
    noise: str = "v1",
    root: Path | None = None,
    camera: Any = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Draw the sequences (see the module docstring).

    Args:
        clips: mocap clips to draw from (e.g. the test split).
        sequences: ``N``.
        frames: ``F``.
        seed: seed of the windows, bodies, cameras, noise and mirrors (item ``i`` is a
            function of ``seed, i``).
        noise: noise preset, see :func:`noise_preset`.
        root: the mocap folder (source files are named relative to it).
        camera: camera ranges (None = :class:`~training.data.cameras.CameraConfig` defaults).

    Returns:
        ``(arrays, meta)``: the arrays of the file (no ``meta``) and the meta dict.
    """
    from training.data import CameraConfig, MocapWindowDataset

    if sequences < 1 or frames < 2:
        raise InputError(
            f"need at least 1 sequence of at least 2 frames, got {sequences} x {frames}: fix --sequences / --frames"
        )
    detector = noise_preset(noise)
    cam_cfg = camera or CameraConfig()
    ds = MocapWindowDataset(
        clips, window=frames, samples=sequences, seed=seed, noise=detector, camera=cam_cfg, train=False
    )
    arrays, sources = _draw_arrays(ds, sequences, frames, root)
    meta = _sequences_meta(ds, clips, arrays, sources, sequences, frames, seed, noise, detector, cam_cfg)
    return arrays, meta


def _check_out(path: Path, overwrite: bool) -> None:
    """:func:`~scjd_core.atomic.atomic_write`'s existing-file check, made before the mocap is read."""
    if path.is_dir():
        raise OutputError(f"{path} is a folder: give --out a file, e.g. {path / 'sequences.npz'} (nothing written)")
    if path.exists() and not overwrite:
        hint = "pass --overwrite to replace it, or choose another --out (nothing written)"
        raise OutputError(f"{path} already exists: {hint}")


def write_sequences(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any], overwrite: bool = False
) -> Path:
    """Write a sequence file atomically and reproducibly (same content -> same bytes).

    Raises:
        OutputError: when ``path`` exists and ``overwrite`` is False, or is a folder
            (:func:`~scjd_core.atomic.atomic_write`'s checks).

    Returns:
        The path written.
    """
    path = Path(path)
    members = {**arrays, "meta": np.array(json.dumps(meta, sort_keys=True))}
    with atomic_write(path, "wb", overwrite=overwrite) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name, array in members.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue(), compresslevel=9)
    return path


@dataclass
class EvalSequences:
    """A loaded sequence file (see the module docstring for the arrays)."""

    path: Path
    sha256: str
    keypoints_2d: np.ndarray
    image_size: np.ndarray
    poses_3d: np.ndarray
    subjects: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    padded: np.ndarray | None = None
    camera: np.ndarray | None = None  # (N, 6) fx, fy, cx, cy, w, h (newer files)
    root_3d: np.ndarray | None = None  # (N, F, 3) camera-frame root, metres (newer files)

    def __len__(self) -> int:
        return int(self.keypoints_2d.shape[0])

    @property
    def frames(self) -> int:
        """Frames per sequence ``F``."""
        return int(self.keypoints_2d.shape[1])

    def pose2d(self, i: int) -> Any:
        """Sequence ``i`` as a :class:`~scjd_core.types.Pose2DSequence` (what a lifting backend reads)."""
        from scjd_core.types import Pose2DSequence

        n = self.frames
        width, height = (int(v) for v in self.image_size[i])
        return Pose2DSequence(
            keypoints=self.keypoints_2d[i, ..., :2],
            confidence=self.keypoints_2d[i, ..., 2],
            found=np.ones(n, bool),
            filled=np.zeros(n, bool),
            times=np.arange(n) / FPS,
            width=width,
            height=height,
            fps=FPS,
        )

    def normalized(self) -> np.ndarray:
        """``(N, F, 17, 3)`` float32: normalised screen x, y (per sequence's image size) + confidence."""
        out = np.empty(self.keypoints_2d.shape, np.float32)
        for i, (w, h) in enumerate(self.image_size):
            out[i, ..., :2] = normalize_screen(self.keypoints_2d[i, ..., :2], int(w), int(h))
        out[..., 2] = self.keypoints_2d[..., 2]
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for results: file, sha256, size, subjects, seed, noise."""
        from training.mocap_data import portable_path

        return {
            "file": portable_path(self.path),
            "sha256": self.sha256,
            "sequences": len(self),
            "frames": self.frames,
            "total_frames": len(self) * self.frames,
            "subjects": sorted({str(s) for s in self.subjects}),
            "split": self.meta.get("split", "?"),
            "seed": self.meta.get("seed"),
            "noise": self.meta.get("noise", {}).get("preset", "?"),
            "padded_fraction": float(self.padded.mean()) if self.padded is not None else None,
            "command": self.meta.get("command", []),
        }


def _bad(path: Path, problem: str) -> InputError:
    # Never suggest writing over the file: it may be something else the user keeps.
    return InputError(
        f"{path} is not a usable evaluation sequence file: {problem}. Pass a file written by "
        f"`python -m training sequences --out FILE.npz` (the shipped one: `{DEFAULT_COMMAND}`)"
    )


def _read_npz(path: Path) -> tuple[bytes, dict[str, np.ndarray]]:
    """The file's bytes and its arrays (all :data:`REQUIRED` keys present)."""
    if not path.is_file():
        raise InputError(
            f"evaluation sequence file {path} not found: write it with `python -m training sequences --out {path}`"
        )
    try:
        blob = path.read_bytes()
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            missing = [k for k in REQUIRED if k not in data.files]
            if missing:
                raise _bad(path, f"it lacks {', '.join(missing)}")
            arrays = {k: data[k] for k in data.files}
    except InputError:
        raise
    except Exception as exc:  # zipfile, numpy and pickle refusals raise several types
        raise _bad(path, f"it cannot be read as .npz ({type(exc).__name__}: {exc})") from None
    return blob, arrays


def _check_required(
    path: Path, kp: np.ndarray, size: np.ndarray, poses: np.ndarray, subjects: np.ndarray
) -> tuple[int, int]:
    """Check the shapes, types and values of the required arrays; returns ``(N, F)``."""
    if kp.ndim != 4 or kp.shape[2:] != (NUM_JOINTS, 3) or kp.shape[0] < 1 or kp.shape[1] < 2:
        raise _bad(path, f"keypoints_2d has shape {kp.shape}, expected (N, F, {NUM_JOINTS}, 3) with N >= 1, F >= 2")
    n, f = kp.shape[:2]
    if poses.shape != (n, f, NUM_JOINTS, 3):
        raise _bad(path, f"poses_3d has shape {poses.shape}, expected {(n, f, NUM_JOINTS, 3)} like keypoints_2d")
    if size.shape != (n, 2):
        raise _bad(path, f"image_size has shape {size.shape}, expected ({n}, 2)")
    if subjects.shape != (n,) or subjects.dtype.kind != "U":
        raise _bad(path, f"subjects has shape {subjects.shape} and dtype {subjects.dtype}, expected ({n},) strings")
    for name, arr in (("keypoints_2d", kp), ("poses_3d", poses), ("image_size", size)):
        if arr.dtype.kind not in "fiu":
            raise _bad(path, f"{name} has dtype {arr.dtype}, expected numbers")
        if not np.isfinite(arr).all():
            raise _bad(path, f"{name} holds {int((~np.isfinite(arr)).sum())} NaN or infinite values")
    if (size <= 0).any():
        raise _bad(path, "image_size holds a width or height <= 0")
    conf = kp[..., 2]
    if (conf < 0).any() or (conf > 1).any():
        raise _bad(path, "the confidence channel of keypoints_2d leaves [0, 1]")
    return n, f


def _check_optional(path: Path, arrays: dict[str, np.ndarray], n: int, f: int, size: np.ndarray) -> None:
    """Check ``padded``, ``camera`` and ``root_3d`` when the file has them."""
    padded = arrays.get("padded")
    if padded is not None and padded.shape != (n, f):
        raise _bad(path, f"padded has shape {padded.shape}, expected ({n}, {f})")
    camera, root_3d = arrays.get("camera"), arrays.get("root_3d")
    for name, arr, shape in (("camera", camera, (n, 6)), ("root_3d", root_3d, (n, f, 3))):
        if arr is None:
            continue
        if arr.shape != shape or arr.dtype.kind not in "fiu" or not np.isfinite(arr).all():
            raise _bad(path, f"{name} has shape {arr.shape} and dtype {arr.dtype}, expected finite numbers {shape}")
    if camera is not None and ((camera[:, :2] <= 0).any() or (camera[:, 4:] != size).any()):
        raise _bad(path, "camera holds a focal length <= 0 or an image size other than image_size's")


def _read_meta(path: Path, meta_array: np.ndarray) -> dict[str, Any]:
    try:
        meta = json.loads(str(meta_array))
    except json.JSONDecodeError as exc:
        raise _bad(path, f"meta is not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _bad(path, "meta is not a JSON object")
    return meta


def load_sequences(path: str | os.PathLike[str]) -> EvalSequences:
    """Read and check a sequence file.

    Raises:
        InputError: naming the file and what to do, when it is missing, unreadable, lacks a
            key, has wrong shapes or types, or holds NaN / infinite / out-of-range values.
    """
    path = Path(path)
    blob, arrays = _read_npz(path)
    kp, size, poses, subjects = (arrays[k] for k in ("keypoints_2d", "image_size", "poses_3d", "subjects"))
    n, f = _check_required(path, kp, size, poses, subjects)
    _check_optional(path, arrays, n, f, size)
    meta = _read_meta(path, arrays["meta"])
    padded, camera, root_3d = arrays.get("padded"), arrays.get("camera"), arrays.get("root_3d")
    return EvalSequences(
        path=path,
        sha256=hashlib.sha256(blob).hexdigest(),
        keypoints_2d=kp.astype(np.float32, copy=False),
        image_size=size.astype(np.int64),
        poses_3d=poses.astype(np.float32, copy=False),
        subjects=subjects,
        meta=meta,
        padded=None if padded is None else padded.astype(bool),
        camera=None if camera is None else camera.astype(np.float64),
        root_3d=None if root_3d is None else root_3d.astype(np.float32, copy=False),
    )


def generate(
    out: str | os.PathLike[str],
    data: str | None = None,
    split: str = "test",
    sequences: int = 256,
    frames: int = 81,
    seed: int = 2025,
    noise: str = "v1",
    cache: Path | None = None,
    progress: bool = True,
    command: list[str] | None = None,
    overwrite: bool = False,
) -> EvalSequences:
    """Load the mocap, draw the sequences of ``split``, write them to ``out`` and read them back.

    Raises:
        InputError: when the data or the split is missing; OutputError when ``out`` cannot be
            written, or exists and ``overwrite`` is False (checked before the mocap is read).
    """
    from training.mocap_data import load_mocap_data, portable_path

    _check_out(Path(out), overwrite)
    mocap = load_mocap_data(data, cache, progress)
    clips = mocap.clips(split)
    arrays, meta = make_sequences(clips, sequences, frames, seed, noise, root=mocap.root)
    meta["split"] = split
    meta["data"] = {
        "root": portable_path(mocap.root),
        "clips": len(clips),
        "frames": int(sum(len(c.joints) for c in clips)),
        "subjects": sorted({str(c.subject) for c in clips}),
    }
    meta["command"] = list(command or [])
    write_sequences(out, arrays, meta, overwrite)
    return load_sequences(out)
