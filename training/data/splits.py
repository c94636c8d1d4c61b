"""Train / validation / test splits of the mocap clips, by person and by recording.

Rationale. A split by frame leaks: neighbouring frames of one recording are nearly
identical, so a network that memorised the training frames would look accurate on
"unseen" ones. We split by *who* and, where we cannot tell who, by *which recording*:

* **test** = every clip of HDM05 actor ``dg``: a person the network never saw, the
  closest we can get to Human3.6M's held-out subjects (S9, S11).
* **validation** = a few whole CMU recordings, one per CMU action folder. The CMU
  subset here comes with a single retargeted skeleton and no subject numbers, so we
  cannot hold out CMU *people*; whole recordings of every action at least make the
  validation curve measure generalisation to new motion, not to new frames. Checkpoint
  selection uses it; the final numbers come from the test split.
* **train** = everything else (HDM05 actors ``bd`` and ``bk``, the other CMU recordings).

Clips cut at glitches keep their source file in ``path``; all pieces of one file go to
the same split.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scjd_core.errors import InputError

if TYPE_CHECKING:
    from scjd_core.mocap import MocapClip

#: Environment variable naming the mocap folder (or the data folder that holds ``mocap/``).
MOCAP_ENV = "SCJD_MOCAP"
CMU_SUBJECT = "cmu"


def _cmu_group(clip: MocapClip) -> str:
    """The CMU action folder of a clip (falls back to its action label)."""
    parent = Path(clip.path).parent.name if clip.path else ""
    return parent or clip.action


def split_clips(
    clips: Sequence[MocapClip],
    test_subjects: Sequence[str] = ("dg",),
    val_per_action: int = 1,
) -> dict[str, list[MocapClip]]:
    """Split clips by subject (test) and by whole CMU recording (validation).

    Args:
        clips: loaded clips (pieces of a glitch-cut file share its ``path``).
        test_subjects: subject codes held out for testing.
        val_per_action: number of CMU recordings per action folder moved to validation
            (the first ones in file-name order, so the split is stable).

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each in input order.
    """
    held_out = set(test_subjects)
    recordings: dict[str, set[str]] = defaultdict(set)
    for clip in clips:
        if clip.subject == CMU_SUBJECT and clip.subject not in held_out:
            recordings[_cmu_group(clip)].add(clip.path or clip.name)
    val_files = {f for files in recordings.values() for f in sorted(files)[: max(val_per_action, 0)]}

    out: dict[str, list[MocapClip]] = {"train": [], "val": [], "test": []}
    for clip in clips:
        if clip.subject in held_out:
            out["test"].append(clip)
        elif clip.subject == CMU_SUBJECT and (clip.path or clip.name) in val_files:
            out["val"].append(clip)
        else:
            out["train"].append(clip)
    return out


def mocap_root(data: str | os.PathLike[str] | None = None) -> Path:
    """Find the mocap folder (the one holding ``hdm05/`` and ``cmu/``).

    Looks, in order, at ``data`` (e.g. the CLI's ``--data``), the ``SCJD_MOCAP``
    environment variable, and ``../shared/data/mocap`` beside the repository. Each may
    name the mocap folder itself or a data folder that contains ``mocap/``.

    Raises:
        InputError: when none of them exists.
    """
    repo = Path(__file__).resolve().parents[2]
    candidates = [data, os.environ.get(MOCAP_ENV), repo.parent / "shared" / "data" / "mocap"]
    for cand in candidates:
        if not cand:
            continue
        path = Path(cand).expanduser()
        if (path / "mocap").is_dir():
            return path / "mocap"
        if path.is_dir():
            return path
        if cand is not candidates[-1]:
            raise InputError(
                f"mocap folder {path} does not exist: pass --data (or set {MOCAP_ENV}) to the mocap folder"
            )
    raise InputError(
        f"no mocap data found: pass --data <folder> or set {MOCAP_ENV} to the folder holding hdm05/ and cmu/"
    )
