"""Acclaim ASF (skeleton) / AMC (motion) reader and forward kinematics.

Conventions (the Acclaim format as used by Vicon, CMU and HDM05):

* Every bone has a rest ``direction`` (unit vector, world frame at rest), a
  ``length`` and an ``axis a b c ORDER`` giving its local frame ``C`` as Euler
  angles applied in ``ORDER`` about fixed axes (``XYZ``: ``C = Rz @ Ry @ Rx``).
* An AMC line gives the bone's ``dof`` values; ``M`` composes them in the listed
  order about fixed axes (``dof rx ry rz``: ``M = Rz @ Ry @ Rx``).
* World rotation of a bone: ``W = W_parent @ C @ M @ C^-1`` (the root uses its own
  ``axis``/``orientation`` and the ``order`` of its AMC values); a bone starts where
  its parent ends (the root bones start at the root position) and ends at
  ``start + length * W @ direction``.
* ``:units length L`` means a file length ``v`` is ``v / L`` inches, so metres are
  ``v * 0.0254 / L`` (CMU and HDM05 use ``L = 0.45``). Root translations use the
  same unit. ``:units angle deg|rad``.
* Files are read as Latin-1 (HDM05 headers hold a Latin-1 byte; lines may end in CRLF).

Point names for :data:`scjd_core.skeleton.MOCAP_JOINT_MAP`: ``"<bone>"`` is where the
bone starts, ``"<bone>.end"`` where it ends, ``"root"`` the root position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scjd_core.errors import InputError

INCH_M = 0.0254
_ROT_DOFS = ("rx", "ry", "rz")
_ROOT_KEYS = ("TX", "TY", "TZ", "RX", "RY", "RZ")


@dataclass
class AsfBone:
    """One bone of an ASF skeleton."""

    name: str
    direction: np.ndarray  # (3,) unit vector in the world frame at rest
    length: float  # file units
    axis: np.ndarray  # (3,) angles (x, y, z) of the local frame C, in the file's angle unit
    axis_order: str  # e.g. "XYZ"
    dof: list[str]  # subset of rx ry rz, in AMC value order
    parent: str = "root"
    children: list[str] = field(default_factory=list)


@dataclass
class AsfSkeleton:
    """A parsed ASF file."""

    path: str
    length_unit: float  # the ``:units length`` value
    degrees: bool  # ``:units angle deg`` (False: radians)
    root_order: list[str]  # AMC value order of the root, e.g. TX TY TZ RX RY RZ
    root_axis_order: str
    root_position: np.ndarray  # (3,)
    root_orientation: np.ndarray  # (3,)
    bones: dict[str, AsfBone]  # by name, in file order
    order: list[str]  # bone names, parents before children

    @property
    def metres_per_unit(self) -> float:
        """Scale from the file's length unit to metres (``0.0254 / length_unit``)."""
        return INCH_M / self.length_unit


@dataclass
class AmcMotion:
    """A parsed AMC file: per-bone dof values for every frame (file units / angle unit)."""

    path: str
    root: np.ndarray  # (F, len(root_order))
    bones: dict[str, np.ndarray]  # bone -> (F, len(dof))
    fps: float

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self.root.shape[0])


def _fail(path: str | Path, line: int | None, problem: str, kind: str) -> InputError:
    where = f"{path}:{line}" if line is not None else str(path)
    return InputError(f"{where}: {problem}; re-export the {kind} file or check that it is complete")


def _read_lines(path: Path, kind: str) -> list[str]:
    try:
        return path.read_bytes().decode("latin-1").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {kind} file {path}: {exc.strerror}; check the path") from None


def _floats(parts: list[str], n: int, path: Path, line: int, what: str) -> np.ndarray:
    try:
        vals = np.array([float(v) for v in parts[:n]], dtype=np.float64)
    except ValueError:
        raise _fail(path, line, f"bad {what}: {' '.join(parts)}", "ASF") from None
    if vals.size != n:
        raise _fail(path, line, f"{what} needs {n} numbers", "ASF")
    return vals


def _parse_bone(block: list[tuple[int, list[str]]], path: Path) -> AsfBone:
    keys = {parts[0].lower(): (ln, parts[1:]) for ln, parts in block if parts}
    line0 = block[0][0] if block else 0
    for key in ("name", "direction", "length"):
        if key not in keys:
            raise _fail(path, line0, f"bone without '{key}'", "ASF")
    name = keys["name"][1][0]
    ln, vals = keys["direction"]
    direction = _floats(vals, 3, path, ln, "direction")
    norm = float(np.linalg.norm(direction))
    direction = direction / norm if norm > 0 else direction
    ln, vals = keys["length"]
    length = float(_floats(vals, 1, path, ln, "length")[0])
    axis, order = np.zeros(3), "XYZ"
    if "axis" in keys:
        ln, vals = keys["axis"]
        axis = _floats(vals, 3, path, ln, "axis")
        order = vals[3].upper() if len(vals) > 3 else "XYZ"
        if sorted(order) != ["X", "Y", "Z"]:
            raise _fail(path, ln, f"bad axis order '{order}'", "ASF")
    dof: list[str] = []
    if "dof" in keys:
        ln, vals = keys["dof"]
        dof = [d.lower() for d in vals]
        bad = [d for d in dof if d not in _ROT_DOFS]
        if bad:
            raise _fail(path, ln, f"unsupported dof {', '.join(bad)} (only rx ry rz)", "ASF")
    return AsfBone(name, direction, length, axis, order, dof)


@dataclass
class _AsfParse:
    """What :func:`read_asf` has read so far (the header values start at their defaults)."""

    length_unit: float = 1.0
    degrees: bool = True
    root_order: list[str] = field(default_factory=lambda: list(_ROOT_KEYS))
    root_axis: str = "XYZ"
    root_pos: np.ndarray = field(default_factory=lambda: np.zeros(3))
    root_ori: np.ndarray = field(default_factory=lambda: np.zeros(3))
    bones: dict[str, AsfBone] = field(default_factory=dict)
    block: list[tuple[int, list[str]]] | None = None  # the open ``begin`` ... ``end`` bone block
    hierarchy: list[tuple[int, list[str]]] = field(default_factory=list)


def _asf_units_line(st: _AsfParse, parts: list[str], path: Path, i: int) -> None:
    if parts[0].lower() == "length":
        st.length_unit = float(_floats(parts[1:], 1, path, i, "length unit")[0])
    elif parts[0].lower() == "angle":
        st.degrees = parts[1].lower().startswith("deg")


def _asf_root_line(st: _AsfParse, parts: list[str], path: Path, i: int) -> None:
    key = parts[0].lower()
    if key == "order":
        st.root_order = [p.upper() for p in parts[1:]]
        if not set(st.root_order) <= set(_ROOT_KEYS):
            raise _fail(path, i, f"bad root order {' '.join(parts[1:])}", "ASF")
    elif key == "axis":
        st.root_axis = parts[1].upper()
    elif key == "position":
        st.root_pos = _floats(parts[1:], 3, path, i, "root position")
    elif key == "orientation":
        st.root_ori = _floats(parts[1:], 3, path, i, "root orientation")


def _asf_bonedata_line(st: _AsfParse, parts: list[str], path: Path, i: int) -> None:
    if parts[0].lower() == "begin":
        st.block = []
    elif parts[0].lower() == "end":
        if st.block is None:
            raise _fail(path, i, "'end' without 'begin'", "ASF")
        bone = _parse_bone(st.block, path)
        st.bones[bone.name] = bone
        st.block = None
    elif st.block is not None:
        st.block.append((i, parts))


def _parse_asf_lines(lines: list[str], path: Path) -> _AsfParse:
    """Read the ``:units``, ``:root``, ``:bonedata`` and ``:hierarchy`` sections."""
    st = _AsfParse()
    section = ""
    for i, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        parts = s.split()
        if s.startswith(":"):
            section = parts[0][1:].lower()
            continue
        if section == "units" and len(parts) >= 2:
            _asf_units_line(st, parts, path, i)
        elif section == "root":
            _asf_root_line(st, parts, path, i)
        elif section == "bonedata":
            _asf_bonedata_line(st, parts, path, i)
        elif section == "hierarchy" and parts[0].lower() not in ("begin", "end"):
            st.hierarchy.append((i, parts))
    if st.block is not None:
        raise _fail(path, len(lines), "file ends inside a bone (truncated)", "ASF")
    if not st.bones or not st.hierarchy:
        raise _fail(path, len(lines), "no :bonedata or no :hierarchy (truncated?)", "ASF")
    return st


def _link_hierarchy(bones: dict[str, AsfBone], hierarchy: list[tuple[int, list[str]]], path: Path) -> None:
    """Set every bone's ``parent`` and ``children`` from the ``:hierarchy`` lines."""
    for ln, parts in hierarchy:
        parent = parts[0]
        if parent != "root" and parent not in bones:
            raise _fail(path, ln, f"hierarchy names unknown bone '{parent}'", "ASF")
        for child in parts[1:]:
            if child not in bones:
                raise _fail(path, ln, f"hierarchy names unknown bone '{child}'", "ASF")
            bones[child].parent = parent
            if parent != "root":
                bones[parent].children.append(child)


def _bone_order(bones: dict[str, AsfBone], path: Path) -> list[str]:
    """Bone names breadth-first from the root (parents before children)."""
    order: list[str] = []
    frontier = [b for b in bones.values() if b.parent == "root"]
    while frontier:
        bone = frontier.pop(0)
        order.append(bone.name)
        frontier.extend(bones[c] for c in bone.children)
    if len(order) != len(bones):
        lost = sorted(set(bones) - set(order))
        raise _fail(path, None, f"bone(s) not reachable from the root: {', '.join(lost)}", "ASF")
    return order


def read_asf(path: str | Path) -> AsfSkeleton:
    """Read an ASF skeleton.

    Args:
        path: the ``.asf`` file.

    Returns:
        The skeleton with bones ordered parents first.

    Raises:
        InputError: the file is missing or malformed (the message names file and line).
    """
    path = Path(path)
    st = _parse_asf_lines(_read_lines(path, "ASF"), path)
    _link_hierarchy(st.bones, st.hierarchy, path)
    order = _bone_order(st.bones, path)
    return AsfSkeleton(
        str(path), st.length_unit, st.degrees, st.root_order, st.root_axis, st.root_pos, st.root_ori, st.bones, order
    )


def _fps_from_name(path: Path) -> float:
    tail = path.stem.rsplit("_", 1)[-1]
    return float(tail) if tail.isdigit() and 10 <= int(tail) <= 1000 else 120.0


def read_amc(path: str | Path, asf: AsfSkeleton, fps: float | None = None) -> AmcMotion:
    """Read an AMC motion for a skeleton.

    Args:
        path: the ``.amc`` file.
        asf: its skeleton (see :func:`read_asf`).
        fps: frame rate; by default taken from a ``_<fps>`` name suffix (HDM05:
            ``..._120.amc``), else 120 (the CMU/Vicon default).

    Returns:
        The dof values of every bone for every frame.

    Raises:
        InputError: the file is missing, malformed or truncated (names file and line).
    """
    path = Path(path)
    lines = _read_lines(path, "AMC")
    dof_count = {name: len(b.dof) for name, b in asf.bones.items()}
    dof_count["root"] = len(asf.root_order)
    expected = {n for n, c in dof_count.items() if c > 0}
    frames: list[dict[str, list[float]]] = []
    frame_line: list[int] = []
    first_number = 1
    for i, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s or s.startswith("#") or s.startswith(":"):
            continue
        parts = s.split()
        if len(parts) == 1 and parts[0].isdigit():
            if frames and set(frames[-1]) != expected:
                raise _frame_incomplete(path, frame_line[-1], frames[-1], expected)
            if frames and int(parts[0]) != first_number + len(frames):
                raise _fail(path, i, f"frame {parts[0]} where {first_number + len(frames)} was expected", "AMC")
            if not frames:
                first_number = int(parts[0])
            frames.append({})
            frame_line.append(i)
            continue
        name = parts[0]
        if not frames:
            raise _fail(path, i, f"'{name}' before the first frame number", "AMC")
        if name not in dof_count:
            raise _fail(path, i, f"bone '{name}' is not in the skeleton {asf.path}", "AMC")
        if len(parts) - 1 != dof_count[name]:
            raise _fail(path, i, f"'{name}' has {len(parts) - 1} values, its dof needs {dof_count[name]}", "AMC")
        try:
            frames[-1][name] = [float(v) for v in parts[1:]]
        except ValueError:
            raise _fail(path, i, f"non-numeric value for '{name}'", "AMC") from None
    if not frames:
        raise _fail(path, len(lines), "no frames", "AMC")
    if set(frames[-1]) != expected:
        raise _frame_incomplete(path, frame_line[-1], frames[-1], expected)
    root = np.array([f["root"] for f in frames], dtype=np.float64)
    bones = {
        n: np.array([f[n] for f in frames], dtype=np.float64).reshape(len(frames), dof_count[n])
        for n in asf.bones
        if dof_count[n] > 0
    }
    if not (np.all(np.isfinite(root)) and all(np.all(np.isfinite(v)) for v in bones.values())):
        raise _fail(path, None, "NaN or infinite values", "AMC")
    return AmcMotion(str(path), root, bones, float(fps) if fps else _fps_from_name(path))


def _frame_incomplete(path: Path, line: int, frame: dict, expected: set[str]) -> InputError:
    missing = sorted(expected - set(frame))
    return _fail(path, line, f"frame lacks {', '.join(missing[:5])} (truncated?)", "AMC")


def _euler(seq: str, angles: np.ndarray, degrees: bool, num: int | None = None):
    """Euler angles about fixed axes, applied in ``seq`` order (``num`` frames when empty)."""
    from scipy.spatial.transform import Rotation

    if not seq:
        return Rotation.identity(num)
    return Rotation.from_euler(seq.lower(), angles, degrees=degrees)


def asf_amc_points(asf: AsfSkeleton, amc: AmcMotion) -> dict[str, np.ndarray]:
    """Forward kinematics of an AMC motion on its ASF skeleton, in metres.

    Args:
        asf: the skeleton.
        amc: the motion.

    Returns:
        ``{"root": (F, 3), "<bone>": (F, 3) start, "<bone>.end": (F, 3) end}`` for
        every bone, in metres, in the file's world frame (Y up for CMU/HDM05).
    """
    num = amc.num_frames
    scale = asf.metres_per_unit
    xyz = "XYZ"

    def axis_rot(angles: np.ndarray, order: str):
        return _euler(order, np.array([angles[xyz.index(c)] for c in order]), asf.degrees)

    vals = {k: amc.root[:, j] for j, k in enumerate(asf.root_order)}
    trans = np.stack([vals.get(k, np.zeros(num)) for k in ("TX", "TY", "TZ")], axis=1)
    rot_keys = [k for k in asf.root_order if k.startswith("R")]
    root_angles = np.stack([vals[k] for k in rot_keys], axis=1) if rot_keys else np.zeros((num, 0))
    motion = _euler("".join(k[1] for k in rot_keys), root_angles, asf.degrees, num)
    c_root = axis_rot(asf.root_orientation, asf.root_axis_order)
    root_rot = c_root * motion * c_root.inv()
    root_pos = (asf.root_position + trans) * scale
    rots = {"root": root_rot}
    ends = {"root": root_pos}
    points: dict[str, np.ndarray] = {"root": root_pos}
    for name in asf.order:
        bone = asf.bones[name]
        c = axis_rot(bone.axis, bone.axis_order)
        parent_rot = rots[bone.parent]
        if bone.dof:
            m = _euler("".join(d[1] for d in bone.dof), amc.bones[name], asf.degrees)
            world = parent_rot * c * m * c.inv()
        else:
            world = parent_rot * c * c.inv()
        start = ends[bone.parent]
        end = start + world.apply(bone.direction * bone.length * scale)
        rots[name], ends[name] = world, end
        points[name], points[name + ".end"] = start, end
    return points
