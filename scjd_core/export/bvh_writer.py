"""BVH export of world-frame 3D poses (opens in Blender, MotionBuilder, ...).

The hierarchy has the 17 joints of :mod:`scjd_core.skeleton`, named as
:data:`~scjd_core.skeleton.JOINT_NAMES`. ``pelvis`` is the ROOT (6 channels: position,
then rotation); every other node has 3 rotation channels, Euler order ZXY
(``Zrotation Xrotation Yrotation``: the local rotation is ``Rz @ Rx @ Ry``), the
order the CMU BVH files use.

How positions become rotations (exact, not a fit):

* Bone lengths are made constant over the clip first
  (:func:`scjd_core.world.normalize_bone_lengths`); the rest pose is built from them:
  legs down, spine and head up, arms out sideways (a T-pose), facing ``+Z``, the
  person's left on ``+X``.
* A joint with one child gets the **shortest-arc** rotation, relative to its parent's
  frame, that turns the child's rest offset onto the child's actual direction.
* A joint with several children (``pelvis``, ``thorax``) cannot place them all with
  one rotation, since the angles between its bones change from frame to frame. Each
  child hangs from a zero-offset **branch joint** (``<child>_branch``, e.g.
  ``left_hip_branch``, as CMU does with ``lhipjoint``/``lclavicle``) whose
  shortest-arc rotation places that child exactly. The joint's own rotation is the
  best rigid fit (Kabsch) of all its children's directions: the orientation of the
  hips or of the chest, so the branch rotations stay small.
* Leaf joints (ankles, head, wrists) have no rotation of their own to solve (zero
  angles) and end in an ``End Site`` (foot, top of head, hand) that follows the
  parent bone.
* The root position channels carry the pelvis position; every ``OFFSET`` of the ROOT
  is zero, so readers that add it and readers that do not agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from scjd_core.atomic import atomic_write
from scjd_core.export.rotations import best_fit_rotation, matrices_to_zxy_degrees, shortest_arc, unit
from scjd_core.skeleton import BONES, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, ROOT, bone_lengths, children
from scjd_core.world import normalize_bone_lengths

#: Direction of each bone (named by its child joint) in the rest pose: a T-pose facing +Z.
REST_DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "right_hip": (-1.0, 0.0, 0.0),
    "right_knee": (0.0, -1.0, 0.0),
    "right_ankle": (0.0, -1.0, 0.0),
    "left_hip": (1.0, 0.0, 0.0),
    "left_knee": (0.0, -1.0, 0.0),
    "left_ankle": (0.0, -1.0, 0.0),
    "spine": (0.0, 1.0, 0.0),
    "thorax": (0.0, 1.0, 0.0),
    "neck": (0.0, 1.0, 0.0),
    "head": (0.0, 1.0, 0.0),
    "left_shoulder": (1.0, 0.0, 0.0),
    "left_elbow": (1.0, 0.0, 0.0),
    "left_wrist": (1.0, 0.0, 0.0),
    "right_shoulder": (-1.0, 0.0, 0.0),
    "right_elbow": (-1.0, 0.0, 0.0),
    "right_wrist": (-1.0, 0.0, 0.0),
}

#: ``End Site`` offsets (metres, rest pose) of the leaf joints: feet forward, head top, hands.
END_SITES: dict[str, tuple[float, float, float]] = {
    "right_ankle": (0.0, -0.06, 0.14),
    "left_ankle": (0.0, -0.06, 0.14),
    "head": (0.0, 0.12, 0.0),
    "left_wrist": (0.08, 0.0, 0.0),
    "right_wrist": (-0.08, 0.0, 0.0),
}

ROTATION_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")


@dataclass(frozen=True)
class BvhNode:
    """One node of the exported hierarchy.

    Attributes:
        name: node name in the file.
        parent: index of the parent node in the node list (-1 for the ROOT).
        joint: the skeleton joint at this node, or ``None`` for a branch joint.
        offset: rest offset from the parent node (metres).
        aims: skeleton joints whose rest offsets this node's rotation turns.
        end_site: ``End Site`` offset, for leaves.
    """

    name: str
    parent: int
    joint: int | None
    offset: tuple[float, float, float]
    aims: tuple[int, ...]
    end_site: tuple[float, float, float] | None = None


def rest_direction(joint: int) -> np.ndarray:
    """Unit rest direction of the bone ending at ``joint``."""
    return np.asarray(REST_DIRECTIONS[JOINT_NAMES[joint]], dtype=np.float64)


def build_hierarchy(lengths: np.ndarray) -> list[BvhNode]:
    """The node list, parents before children (depth-first, the file's order).

    Args:
        lengths: ``(16,)`` bone lengths in :data:`~scjd_core.skeleton.BONES` order.
    """
    length_of = {c: float(lengths[i]) for i, (_, c) in enumerate(BONES)}
    nodes: list[BvhNode] = []

    def rest_offset(joint: int) -> tuple[float, float, float]:
        x, y, z = (float(v) for v in rest_direction(joint) * length_of[joint])
        return (x, y, z)

    def add(joint: int, parent: int, offset: tuple[float, float, float]) -> None:
        kids = children(joint)
        name = JOINT_NAMES[joint]
        nodes.append(BvhNode(name, parent, joint, offset, tuple(kids), END_SITES.get(name) if not kids else None))
        me = len(nodes) - 1
        if len(kids) == 1:
            add(kids[0], me, rest_offset(kids[0]))
        elif len(kids) > 1:
            for kid in kids:
                nodes.append(BvhNode(f"{JOINT_NAMES[kid]}_branch", me, None, (0.0, 0.0, 0.0), (kid,)))
                add(kid, len(nodes) - 1, rest_offset(kid))

    add(ROOT, -1, (0.0, 0.0, 0.0))
    return nodes


def _joint_of_node(nodes: list[BvhNode], index: int) -> int:
    """The skeleton joint at a node's position (a branch sits on its parent's joint)."""
    while nodes[index].joint is None:
        index = nodes[index].parent
    return nodes[index].joint  # type: ignore[return-value]


def solve_local_rotations(nodes: list[BvhNode], poses: np.ndarray) -> np.ndarray:
    """Local rotation matrices ``(F, N, 3, 3)`` that reproduce ``poses`` on ``nodes``.

    Args:
        nodes: from :func:`build_hierarchy` with the clip's bone lengths.
        poses: ``(F, 17, 3)`` world positions with those bone lengths.
    """
    f = poses.shape[0]
    local = np.broadcast_to(np.eye(3), (f, len(nodes), 3, 3)).copy()
    world = np.empty_like(local)
    for i, node in enumerate(nodes):
        parent_rot = world[:, node.parent] if node.parent >= 0 else np.broadcast_to(np.eye(3), (f, 3, 3))
        if node.aims:  # leaves keep the identity
            at = _joint_of_node(nodes, i)
            targets = unit(poses[:, list(node.aims)] - poses[:, at, None])[0]  # (F, K, 3)
            in_parent = np.einsum("fji,fkj->fki", parent_rot, targets)  # parent_rot^T @ target
            if len(node.aims) == 1:
                local[:, i] = shortest_arc(rest_direction(node.aims[0]), in_parent[:, 0])
            else:
                rest = np.stack([rest_direction(k) for k in node.aims])
                local[:, i] = best_fit_rotation(rest, in_parent)
        world[:, i] = parent_rot @ local[:, i]
    return local


def _format_hierarchy(nodes: list[BvhNode]) -> str:
    lines = ["HIERARCHY"]
    depth_of: list[int] = []

    def fmt(v: tuple[float, float, float]) -> str:
        return " ".join(f"{x:.6f}" for x in v)

    def close_to(depth: int) -> None:
        while len(open_stack) > depth:
            lines.append("\t" * (len(open_stack) - 1) + "}")
            open_stack.pop()

    open_stack: list[int] = []
    for i, node in enumerate(nodes):
        depth = 0 if node.parent < 0 else depth_of[node.parent] + 1
        depth_of.append(depth)
        close_to(depth)
        tab = "\t" * depth
        lines.append(f"{tab}{'ROOT' if node.parent < 0 else 'JOINT'} {node.name}")
        lines.append(tab + "{")
        lines.append(f"{tab}\tOFFSET {fmt(node.offset)}")
        channels = (POSITION_CHANNELS if node.parent < 0 else ()) + ROTATION_CHANNELS
        lines.append(f"{tab}\tCHANNELS {len(channels)} {' '.join(channels)}")
        if node.end_site is not None:
            lines += [f"{tab}\tEnd Site", f"{tab}\t{{", f"{tab}\t\tOFFSET {fmt(node.end_site)}", f"{tab}\t}}"]
        open_stack.append(i)
    close_to(0)
    return "\n".join(lines) + "\n"


def bvh_motion(poses_world: np.ndarray) -> tuple[list[BvhNode], np.ndarray]:
    """The hierarchy and the motion table ``(F, channels)`` for ``poses_world``.

    Args:
        poses_world: ``(F, 17, 3)`` world frame (``+Y`` up), metres.

    Returns:
        ``(nodes, motion)``: ``motion`` rows hold, per node in file order, the ROOT's
        ``X Y Z`` position then every node's ``Z X Y`` angles in degrees.
    """
    poses = np.asarray(poses_world, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3) or poses.shape[0] == 0:
        raise ValueError(f"poses_world must be (F>0, {NUM_JOINTS}, 3), got {poses.shape}")
    if not np.isfinite(poses).all():
        raise ValueError("poses_world contains NaN or infinite values: fill or drop those frames first")
    poses = normalize_bone_lengths(poses)
    nodes = build_hierarchy(bone_lengths(poses[0]))
    angles = matrices_to_zxy_degrees(solve_local_rotations(nodes, poses))  # (F, N, 3)
    motion = np.concatenate([poses[:, JOINT_INDEX["pelvis"]], angles.reshape(poses.shape[0], -1)], axis=1)
    return nodes, motion


def write_bvh(path: str | os.PathLike[str], poses_world: np.ndarray, fps: float, overwrite: bool = False) -> None:
    """Write a clip of world-frame poses as BVH (atomically).

    Args:
        path: the ``.bvh`` file to write.
        poses_world: ``(F, 17, 3)`` in the world frame of :mod:`scjd_core.world`
            (``+Y`` up, metres); bone lengths are made constant first.
        fps: frames per second (``Frame Time`` is ``1 / fps``).
        overwrite: replace an existing file instead of refusing.

    Raises:
        OutputError: the file exists (and ``overwrite`` is False) or cannot be written.
        ValueError: ``poses_world`` has the wrong shape, no frames, or non-finite values.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    nodes, motion = bvh_motion(poses_world)
    with atomic_write(path, "w", overwrite=overwrite, newline="\n") as handle:
        handle.write(_format_hierarchy(nodes))
        handle.write(f"MOTION\nFrames: {motion.shape[0]}\nFrame Time: {1.0 / float(fps):.10f}\n")
        np.savetxt(handle, motion, fmt="%.6f", delimiter=" ")
