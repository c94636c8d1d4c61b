"""A tiny mocap folder written as CMU-style BVH files, for the training/evaluation tests.

Each node carries position channels only (offsets from the root), so any 17-joint motion
can be written exactly, with the CMU/ASF bone names :data:`scjd_core.skeleton.MOCAP_JOINT_MAP`
reads. The motion is the synthetic walk of :mod:`training.data.synthetic`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scjd_core.skeleton import JOINT_INDEX
from training.data.synthetic import walking_joints

#: BVH node -> the 17-joint name whose position it takes (the head node takes the neck; its
#: End Site sits 0.2 m above it).
NODES: dict[str, str] = {
    "lfemur": "left_hip",
    "ltibia": "left_knee",
    "lfoot": "left_ankle",
    "rfemur": "right_hip",
    "rtibia": "right_knee",
    "rfoot": "right_ankle",
    "lhumerus": "left_shoulder",
    "lradius": "left_elbow",
    "lwrist": "left_wrist",
    "rhumerus": "right_shoulder",
    "rradius": "right_elbow",
    "rwrist": "right_wrist",
    "head": "neck",
}


def write_bvh(path: Path, joints: np.ndarray, fps: float = 30.0) -> Path:
    """Write ``joints (F, 17, 3)`` (world metres, Y up) as a position-channel BVH file."""
    lines = ["HIERARCHY", "ROOT root", "{", "  OFFSET 0 0 0"]
    lines.append("  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation")
    for node in NODES:
        lines += [f"  JOINT {node}", "  {", "    OFFSET 0 0 0", "    CHANNELS 3 Xposition Yposition Zposition"]
        if node == "head":
            lines += ["    End Site", "    {", "      OFFSET 0 0.2 0", "    }"]
        else:
            lines += ["    End Site", "    {", "      OFFSET 0 0 0", "    }"]
        lines.append("  }")
    lines.append("}")
    root = joints[:, JOINT_INDEX["pelvis"]]
    cols = [root, np.full((len(joints), 3), 0.5)]  # small non-zero root rotation: not a T-pose frame
    cols += [joints[:, JOINT_INDEX[name]] - root for name in NODES.values()]
    motion = np.concatenate(cols, axis=1)
    lines += ["MOTION", f"Frames: {len(joints)}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_mini_mocap(root: Path, frames: int = 40) -> Path:
    """Four short walking clips in two CMU-style action folders (two train, two validation)."""
    for folder, speed in (("walking", 1.3), ("running", 2.5)):
        for take, heading in ((1, 0.0), (2, 1.2)):
            write_bvh(root / "cmu" / folder / f"{folder}_{take}.bvh", walking_joints(frames, 30.0, speed, heading))
    return root
