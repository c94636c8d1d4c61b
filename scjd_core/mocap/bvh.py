"""BVH (Biovision hierarchy) reader and forward kinematics.

A BVH file holds a joint hierarchy (each ``JOINT`` has an ``OFFSET`` from its parent,
a list of ``CHANNELS`` and optional ``End Site``) followed by a ``MOTION`` block, one
line of channel values per frame.

Conventions implemented here (the common reading, as in Blender's importer):

* Rotation channels are Euler angles in degrees, composed in the order they are
  listed: ``Zrotation Xrotation Yrotation`` means ``R = Rz @ Rx @ Ry`` (intrinsic
  ``ZXY``), and a child's world rotation is ``R_parent_world @ R_local``.
* A node is placed at ``p_parent + R_parent_world @ offset``; a node with position
  channels is placed at its channel values instead (the offset is replaced on the
  axes that have a channel), relative to its parent.
* Point names (see :data:`scjd_core.skeleton.MOCAP_JOINT_MAP`): ``"<node>"`` is the
  node's position (in the CMU files a node is named after the ASF bone that starts
  there) and ``"<node>.end"`` is where its bone ends: its ``End Site``, or its child
  when it has exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scjd_core.errors import InputError

_ROT_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POS_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


@dataclass
class BvhNode:
    """One joint of a BVH hierarchy."""

    name: str
    parent: int  # index into BvhMotion.nodes, -1 for the root
    offset: np.ndarray  # (3,) in file units
    channels: list[str]
    channel_start: int  # column of this node's first channel in BvhMotion.values
    end_site: np.ndarray | None = None  # (3,) End Site offset, when the node has one
    children: list[int] = field(default_factory=list)


@dataclass
class BvhMotion:
    """A parsed BVH file: the hierarchy and the raw channel values."""

    path: str
    nodes: list[BvhNode]
    values: np.ndarray  # (F, C) float64 channel values, file units / degrees
    frame_time: float  # seconds per frame

    @property
    def fps(self) -> float:
        """Frames per second (``1 / frame_time``, snapped to a whole number when within 1e-3)."""
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else fps

    @property
    def num_frames(self) -> int:
        """Number of frames in the motion block."""
        return int(self.values.shape[0])

    def node_index(self, name: str) -> int:
        """Index of the node called ``name`` (KeyError when absent)."""
        for i, node in enumerate(self.nodes):
            if node.name == name:
                return i
        raise KeyError(name)

    def rotation_columns(self) -> np.ndarray:
        """Column indices of all rotation channels."""
        cols = [n.channel_start + k for n in self.nodes for k, ch in enumerate(n.channels) if ch in _ROT_CHANNELS]
        return np.asarray(cols, dtype=int)


def _fail(path: str | Path, line: int | None, problem: str) -> InputError:
    where = f"{path}:{line}" if line is not None else str(path)
    return InputError(f"{where}: {problem}; re-export the BVH file or check that it is complete")


def _tokens(lines: list[str], start: int, stop: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for i in range(start, stop):
        for tok in lines[i].replace("{", " { ").replace("}", " } ").split():
            out.append((tok, i + 1))
    return out


class _HierarchyParser:
    def __init__(self, path: str, toks: list[tuple[str, int]]):
        self.path = path
        self.toks = toks
        self.pos = 0
        self.nodes: list[BvhNode] = []
        self.num_channels = 0

    def _line(self) -> int | None:
        if self.pos < len(self.toks):
            return self.toks[self.pos][1]
        return self.toks[-1][1] if self.toks else None

    def next(self, what: str) -> str:
        if self.pos >= len(self.toks):
            raise _fail(self.path, self._line(), f"file ends inside the hierarchy (expected {what})")
        tok = self.toks[self.pos][0]
        self.pos += 1
        return tok

    def expect(self, word: str) -> None:
        line = self._line()
        tok = self.next(f"'{word}'")
        if tok.upper() != word.upper():
            raise _fail(self.path, line, f"expected '{word}', found '{tok}'")

    def floats(self, n: int, what: str) -> np.ndarray:
        line = self._line()
        vals = [self.next(what) for _ in range(n)]
        try:
            return np.array([float(v) for v in vals], dtype=np.float64)
        except ValueError:
            raise _fail(self.path, line, f"bad {what}: {' '.join(vals)}") from None

    def node(self, name: str, parent: int) -> int:
        self.expect("{")
        self.expect("OFFSET")
        offset = self.floats(3, "OFFSET values")
        channels: list[str] = []
        line = self._line()
        if self.pos < len(self.toks) and self.toks[self.pos][0].upper() == "CHANNELS":
            self.pos += 1
            count_tok = self.next("channel count")
            if not count_tok.isdigit():
                raise _fail(self.path, line, f"bad channel count '{count_tok}'")
            channels = [self.next("channel name") for _ in range(int(count_tok))]
            bad = [c for c in channels if c not in _ROT_CHANNELS and c not in _POS_CHANNELS]
            if bad:
                raise _fail(self.path, line, f"unknown channel(s) {', '.join(bad)}")
        index = len(self.nodes)
        self.nodes.append(BvhNode(name, parent, offset, channels, self.num_channels))
        self.num_channels += len(channels)
        if parent >= 0:
            self.nodes[parent].children.append(index)
        while True:
            line = self._line()
            tok = self.next("'}'")
            key = tok.upper()
            if key == "}":
                return index
            if key == "JOINT":
                self.node(self.next("joint name"), index)
            elif key == "END":
                self.next("'Site'")
                self.expect("{")
                self.expect("OFFSET")
                self.nodes[index].end_site = self.floats(3, "End Site OFFSET values")
                self.expect("}")
            else:
                raise _fail(self.path, line, f"unexpected '{tok}' in joint '{name}'")


def read_bvh(path: str | Path) -> BvhMotion:
    """Read a BVH file.

    Args:
        path: the ``.bvh`` file.

    Returns:
        The hierarchy and the raw channel values.

    Raises:
        InputError: the file is missing, malformed or truncated (the message names
            the file and line).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}; check the path") from None
    lines = text.splitlines()
    motion_at = next((i for i, s in enumerate(lines) if s.strip().upper() == "MOTION"), None)
    if not lines or lines[0].strip().upper() != "HIERARCHY":
        raise _fail(path, 1, "not a BVH file (it does not start with HIERARCHY)")
    if motion_at is None:
        raise _fail(path, len(lines), "no MOTION section (the file is truncated)")
    parser = _HierarchyParser(str(path), _tokens(lines, 1, motion_at))
    parser.expect("ROOT")
    parser.node(parser.next("root name"), -1)
    if parser.pos != len(parser.toks):
        raise _fail(path, parser.toks[parser.pos][1], f"unexpected '{parser.toks[parser.pos][0]}'")

    def header(offset: int, key: str) -> str:
        i = motion_at + offset
        if i >= len(lines) or not lines[i].strip().lower().startswith(key.lower()):
            raise _fail(path, i + 1, f"expected '{key}' after MOTION")
        return lines[i].split(":", 1)[1].strip()

    frames_s, time_s = header(1, "Frames:"), header(2, "Frame Time:")
    try:
        num_frames, frame_time = int(frames_s), float(time_s)
    except ValueError:
        raise _fail(path, motion_at + 2, f"bad frame count or frame time '{frames_s}', '{time_s}'") from None
    if num_frames < 1 or frame_time <= 0:
        raise _fail(path, motion_at + 2, f"no frames or bad frame time ({num_frames}, {frame_time})")
    first = motion_at + 3
    rows = [s for s in lines[first:] if s.strip()]
    c = parser.num_channels
    if len(rows) < num_frames:
        raise _fail(path, len(lines), f"truncated: {len(rows)} of {num_frames} frames present")
    try:
        values = np.array(" ".join(rows[:num_frames]).split(), dtype=np.float64)
    except ValueError:
        values = None
    if values is None or values.size != num_frames * c:
        for k, s in enumerate(lines[first:]):
            parts = s.split()
            if not parts:
                continue
            try:
                [float(v) for v in parts]
            except ValueError:
                raise _fail(path, first + k + 1, "non-numeric channel value") from None
            if len(parts) != c:
                raise _fail(path, first + k + 1, f"{len(parts)} values where {c} channels are declared")
        raise _fail(path, len(lines), "wrong number of channel values")
    if not np.all(np.isfinite(values)):
        raise _fail(path, None, "NaN or infinite channel values")
    return BvhMotion(str(path), parser.nodes, values.reshape(num_frames, c), frame_time)


def bvh_points(motion: BvhMotion, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Forward kinematics: the world position of every node (and bone end) per frame.

    Args:
        motion: a parsed BVH file.
        scale: multiplies every length (file units -> metres).

    Returns:
        ``{name: (F, 3)}`` for every node name, plus ``"<name>.end"`` for nodes with
        an End Site or exactly one child (see the module docstring).
    """
    from scipy.spatial.transform import Rotation

    num = motion.num_frames
    rots: list[Rotation] = []
    pos: list[np.ndarray] = []
    points: dict[str, np.ndarray] = {}
    for node in motion.nodes:  # parents always precede their children
        cols = motion.values[:, node.channel_start : node.channel_start + len(node.channels)]
        local_t = np.broadcast_to(node.offset, (num, 3)).copy()
        seq, angles = "", []
        for k, ch in enumerate(node.channels):
            if ch in _POS_CHANNELS:
                local_t[:, _POS_CHANNELS[ch]] = cols[:, k]
            else:
                seq += _ROT_CHANNELS[ch]
                angles.append(cols[:, k])
        if seq:
            local_r = Rotation.from_euler(seq, np.stack(angles, axis=1), degrees=True)
        else:
            local_r = Rotation.identity(num)
        if node.parent < 0:
            world_p, world_r = local_t, local_r
        else:
            parent_r = rots[node.parent]
            world_p = pos[node.parent] + parent_r.apply(local_t)
            world_r = parent_r * local_r
        rots.append(world_r)
        pos.append(world_p)
        points[node.name] = world_p * scale
        if node.end_site is not None:
            points[node.name + ".end"] = (world_p + world_r.apply(node.end_site)) * scale
    for node in motion.nodes:
        if node.end_site is None and len(node.children) == 1:
            points[node.name + ".end"] = points[motion.nodes[node.children[0]].name]
    return points
