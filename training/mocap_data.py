"""Motion-capture data of the training and evaluation commands.

* :class:`MocapData`: the clips of one mocap folder, split by subject / recording into
  :data:`SPLITS`;
* :func:`load_mocap_data`: find the mocap folder, load its clips (cached under
  :data:`DEFAULT_CACHE`, resampled to :data:`DEFAULT_FPS`) and split them;
* :func:`write_mocap_pack` / :func:`read_mocap_pack`: the parsed, split clips as one ``.npz``
  (format :data:`PACK_FORMAT`), for machines without the mocap files;
* :func:`data_licences`: licence and citation of every mocap source used, for checkpoint metadata;
* :func:`portable_path`: paths fit for files we ship (relative, never machine paths).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError

#: Frame rate the lifters work at (mocap is resampled to it).
DEFAULT_FPS = 30.0
#: Where parsed mocap is cached unless ``--cache`` says otherwise (git-ignored).
DEFAULT_CACHE = Path("runs") / "mocap-cache"
SPLITS = ("train", "val", "test")


@dataclass
class MocapData:
    """Clips of one mocap folder, split by subject / recording.

    Attributes:
        root: the mocap folder.
        files: number of mocap files read.
        splits: ``{"train", "val", "test"}`` -> clips.
    """

    root: Path
    files: int
    splits: dict[str, list] = field(default_factory=dict)

    def clips(self, split: str) -> list:
        """Clips of ``split`` (``"all"`` = every clip; ``"auto"`` = test, else every clip).

        Raises:
            InputError: when the split has no clips.
        """
        if split == "all" or (split == "auto" and not self.splits["test"]):
            return [c for s in SPLITS for c in self.splits[s]]
        name = "test" if split == "auto" else split
        if not self.splits.get(name):
            raise InputError(
                f"the mocap data in {self.root} has no '{name}' clips: pass --split all, or point --data at "
                "a folder that holds them"
            )
        return self.splits[name]

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: folder, files, clips/frames/subjects per split."""
        out: dict[str, Any] = {"root": portable_path(self.root), "files": self.files, "fps": DEFAULT_FPS}
        for name, clips in self.splits.items():
            out[name] = {
                "clips": len(clips),
                "frames": int(sum(len(c.joints) for c in clips)),
                "subjects": sorted({str(c.subject) for c in clips}),
            }
        return out


def portable_path(path: str | os.PathLike[str]) -> str:
    """A path fit for files we ship: relative to the working folder, never a machine path."""
    try:
        return os.path.relpath(Path(path).resolve(), Path.cwd())
    except ValueError:  # another drive (Windows)
        return Path(path).name


def load_mocap_data(
    data: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None = DEFAULT_CACHE,
    progress: bool = True,
) -> MocapData:
    """Find the mocap folder (``--data``, ``$SCJD_MOCAP`` or ``../shared/data``), load and split it.

    Raises:
        InputError: when no folder or no mocap file is found.
    """
    from scjd_core.mocap import find_mocap_files
    from training.data import load_clips, mocap_root, split_clips

    if data is not None and Path(data).suffix == ".npz" and Path(data).is_file():
        return read_mocap_pack(data)
    root = mocap_root(data)
    files = find_mocap_files(root)
    if not files:
        raise InputError(f"no .bvh or .amc files under {root}: point --data at a folder of mocap files")
    clips = load_clips(files, fps=DEFAULT_FPS, cache_dir=cache_dir, progress=progress and len(files) > 20)
    if not clips:
        raise InputError(f"the mocap files under {root} hold no usable (glitch-free) frames")
    return MocapData(root=root, files=len(files), splits=split_clips(clips))


#: Format tag of a parsed-mocap pack (bumped when its layout changes).
PACK_FORMAT = "scjd-mocap-pack/1"


def write_mocap_pack(mocap: MocapData, path: str | os.PathLike[str]) -> Path:
    """Write the parsed, split clips to one ``.npz`` (``--data FILE.npz`` reads it back).

    A pack is what a training machine without the mocap files (or without the parser's
    time: 20 s here) needs: the 17-joint clips at the lifters' frame rate, glitches already
    cut out, with their split, names, subjects and source paths (relative, never machine
    paths). Loads with ``allow_pickle=False``.
    """
    import numpy as np

    clips, info = [], []
    for split in SPLITS:
        for c in mocap.splits[split]:
            clips.append(np.asarray(c.joints, np.float32))
            info.append({"split": split, "name": c.name, "subject": c.subject, "action": c.action,
                         "fps": float(c.fps), "path": portable_path(c.path) if c.path else ""})  # fmt: skip
    meta = {"format": PACK_FORMAT, "root": portable_path(mocap.root), "files": mocap.files, "clips": info}
    lengths = np.array([len(c) for c in clips], dtype=np.int64)
    path = Path(path)
    with atomic_write(path, "wb", overwrite=True) as fh:
        np.savez_compressed(fh, joints=np.concatenate(clips), lengths=lengths, meta=json.dumps(meta))
    return path


def read_mocap_pack(path: str | os.PathLike[str]) -> MocapData:
    """Read a pack written by :func:`write_mocap_pack`.

    Raises:
        InputError: when the file is not a readable mocap pack.
    """
    import numpy as np

    from scjd_core.mocap import MocapClip

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            joints, lengths = data["joints"], data["lengths"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(
            f"{path} is not a readable mocap pack ({exc}): write one with `python -m training pack-mocap`"
        ) from None
    if meta.get("format") != PACK_FORMAT or len(meta.get("clips", [])) != len(lengths) or lengths.sum() != len(joints):
        raise InputError(f"{path} is not a {PACK_FORMAT} file: write it again with `python -m training pack-mocap`")
    splits: dict[str, list] = {s: [] for s in SPLITS}
    start = 0
    for info, n in zip(meta["clips"], lengths.tolist(), strict=True):
        clip = MocapClip(
            name=info["name"], subject=info["subject"], action=info["action"], fps=info["fps"],
            joints=np.ascontiguousarray(joints[start : start + n], dtype=np.float32), path=info["path"],
        )  # fmt: skip
        splits[info["split"]].append(clip)
        start += n
    return MocapData(root=path, files=int(meta["files"]), splits=splits)


def data_licences(mocap: MocapData | None = None) -> list[dict[str, str]]:
    """Licence and citation of every mocap source used (see the data README)."""
    roots = portable_path(mocap.root) if mocap else ""
    out = []
    if not mocap or any("hdm05" in str(c.path).lower() for s in SPLITS for c in mocap.splits[s]):
        out.append(
            {
                "name": "HDM05 motion capture database (subset)",
                "licence": "Creative Commons Attribution-ShareAlike 3.0 (CC BY-SA 3.0)",
                "citation": "M. Müller, T. Röder, M. Clausen, B. Eberhardt, B. Krüger, A. Weber: "
                "Documentation Mocap Database HDM05. Technical report CG-2007-2, Universität Bonn, 2007.",
                "source": roots,
            }
        )
    if not mocap or any(c.subject == "cmu" for s in SPLITS for c in mocap.splits[s]):
        out.append(
            {
                "name": "CMU Graphics Lab Motion Capture Database (subset)",
                "licence": "free to use, copy, modify and redistribute, research and commercial; "
                "the data itself may not be resold",
                "citation": "mocap.cs.cmu.edu, created with funding from NSF EIA-0196217",
                "source": roots,
            }
        )
    return out
