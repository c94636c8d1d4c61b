"""Check an exported BVH inside Blender against the CSV exported beside it.

Usage::

    blender -b --python scripts/blender_check.py -- FILE.bvh FILE.csv [--tolerance 0.01]

Imports the BVH with Blender's own importer (``bpy.ops.import_anim.bvh``, Y-up file
into Blender's Z-up scene), samples every pose bone's head per frame, converts it back
to our Y-up world frame (Blender ``(X, Y, Z)`` -> ours ``(X, Z, -Y)``), compares with the
CSV's joint positions and prints the max / mean error and whether the skeleton is
upright (head above both feet) in every frame. Exits 0 when the max error is within
the tolerance and the skeleton is upright throughout, 1 otherwise.

Runs on Blender's bundled Python (3.10, no numpy): standard library and ``mathutils``
only, and nothing from ``scjd_core``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Arguments after Blender's ``--`` separator."""
    args = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser(prog="blender -b --python scripts/blender_check.py --")
    parser.add_argument("bvh", help="BVH file written by scjd")
    parser.add_argument("csv", help="CSV file written by scjd for the same clip")
    parser.add_argument("--tolerance", type=float, default=0.01, help="max allowed error (m)")
    parser.add_argument(
        "--floor",
        type=float,
        default=None,
        metavar="M",
        help="also require the lower ankle within M metres of the floor (y = 0) in every frame and never below "
        "-0.05 m (for exports with --root trajectory); prints the lower ankle's height per frame",
    )
    return parser.parse_args(args)


def read_csv(path: str) -> tuple[list[str], list[list[tuple[float, float, float]]]]:
    """Joint names and per-frame joint positions from a scjd pose CSV."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.reader(handle) if r]
    header = rows[0]
    if header[:2] != ["frame", "time_s"] or (len(header) - 2) % 3:
        raise SystemExit(f"{path} is not a scjd pose CSV (header {header[:3]}...)")
    joints = [header[i][:-2] for i in range(2, len(header), 3)]
    frames = []
    for row in rows[1:]:
        values = [float(v) for v in row[2:]]
        frames.append([tuple(values[3 * j : 3 * j + 3]) for j in range(len(joints))])
    return joints, frames


def _patch_importer_open() -> None:
    """Let Blender 3.4's BVH importer run on Python >= 3.11.

    The add-on opens the file with mode ``"rU"``, which Python 3.11 removed; Blender
    builds that use the system's Python (e.g. Debian's ``blender`` 3.4 package) then
    fail with ``ValueError: invalid mode: 'rU'``. We give the add-on module an ``open``
    that drops the ``U``.
    """
    import builtins

    from io_anim_bvh import import_bvh as module

    def open_without_u(file, mode="r", *args, **kwargs):
        return builtins.open(file, mode.replace("U", ""), *args, **kwargs)

    module.open = open_without_u


def import_bvh(path: str):
    """Import ``path`` into an empty scene; returns the armature object."""
    import addon_utils
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("io_anim_bvh", default_set=True)
    _patch_importer_open()
    bpy.ops.import_anim.bvh(
        filepath=path,
        axis_forward="-Z",
        axis_up="Y",
        global_scale=1.0,
        frame_start=1,
        use_fps_scale=False,
        update_scene_fps=True,
        update_scene_duration=True,
        rotate_mode="NATIVE",
    )
    armatures = [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]
    if not armatures:
        raise SystemExit(f"Blender imported no armature from {path}")
    return armatures[0]


def sample_heads(armature, joints: list[str], frames: int) -> list[list[tuple[float, float, float]]]:
    """Pose-bone head positions per frame, converted from Blender's Z-up to our Y-up."""
    import bpy

    scene = bpy.context.scene
    missing = [j for j in joints if j not in armature.pose.bones]
    if missing:
        raise SystemExit(f"the armature lacks bones {missing}")
    out = []
    for i in range(frames):
        scene.frame_set(1 + i)
        frame = []
        for j in joints:
            p = armature.matrix_world @ armature.pose.bones[j].head
            frame.append((p.x, p.z, -p.y))
        out.append(frame)
    return out


def compare(joints: list[str], expected: list, got: list) -> dict[str, float]:
    """Max / mean position error and the fraction of upright frames."""
    errors = [math.dist(a, b) for fe, fg in zip(expected, got) for a, b in zip(fe, fg)]
    head = joints.index("head")
    feet = [joints.index("left_ankle"), joints.index("right_ankle")]
    upright = [f[head][1] > max(f[k][1] for k in feet) for f in got]
    return {
        "max_error_m": max(errors),
        "mean_error_m": sum(errors) / len(errors),
        "upright_fraction": sum(upright) / len(upright),
        "min_head_y": min(f[head][1] for f in got),
        "min_foot_y": min(f[k][1] for f in got for k in feet),
        "lower_foot_y": [min(f[k][1] for k in feet) for f in got],
    }


def main(argv: list[str]) -> int:
    """Run the check; returns the exit status."""
    import bpy

    args = parse_args(argv)
    joints, expected = read_csv(args.csv)
    armature = import_bvh(args.bvh)
    scene = bpy.context.scene
    first, last = armature.animation_data.action.frame_range
    blender_frames = int(round(last - first)) + 1
    if blender_frames != len(expected):
        print(f"frame count differs: Blender {blender_frames}, CSV {len(expected)}")
        return 1
    stats = compare(joints, expected, sample_heads(armature, joints, len(expected)))
    fps = scene.render.fps / scene.render.fps_base
    print(f"blender_check: {len(expected)} frames at {fps:.3f} fps, {len(joints)} joints")
    print(f"  max error  {stats['max_error_m'] * 1000:.3f} mm")
    print(f"  mean error {stats['mean_error_m'] * 1000:.3f} mm")
    print(
        f"  upright (head above both feet) in {stats['upright_fraction'] * 100:.1f}% of frames; "
        f"lowest head y {stats['min_head_y']:.3f} m, lowest foot y {stats['min_foot_y']:.3f} m"
    )
    ok = stats["max_error_m"] <= args.tolerance and stats["upright_fraction"] == 1.0
    if args.floor is not None:
        lower = stats["lower_foot_y"]
        print("  lower ankle height per frame (m): " + " ".join(f"{y:.3f}" for y in lower))
        near = sum(-0.05 <= y <= args.floor for y in lower)
        print(
            f"  lower ankle within [-0.05, {args.floor:g}] m of the floor in {near}/{len(lower)} frames "
            f"(range {min(lower):.3f} to {max(lower):.3f} m)"
        )
        ok = ok and near == len(lower)
    print("blender_check: OK" if ok else "blender_check: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        status = main(sys.argv)
    except Exception as exc:  # Blender would print the traceback and still exit 0
        print(f"blender_check: ERROR {type(exc).__name__}: {exc}")
        status = 2
    sys.exit(status)
