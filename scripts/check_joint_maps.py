"""Check that the MediaPipe -> 17 and mocap -> 17 joint maps put joints in the same places.

METHOD.md asks that :data:`scjd_core.skeleton.MEDIAPIPE_JOINT_MAP` (used at run time) and
:data:`scjd_core.skeleton.MOCAP_JOINT_MAP` (used to make training data) agree on where
each joint sits on a body; otherwise the lifter meets a 2D distribution at run time it
never saw in training. This script compares **bone-length ratios** (every bone of
:data:`scjd_core.skeleton.BONES` divided by the mean thigh length) between

* MediaPipe world landmarks (metres) on real and rendered videos, mapped to 17 joints, and
* the mocap clips (CMU BVH and HDM05 ASF/AMC), loaded with :func:`scjd_core.mocap.load_mocap`,

and prints a table plus the body height over thigh length. Body proportions differ
between people (and the CMU skeleton has a short trunk), so expect differences of
10-20 %; a joint *definition* that disagrees shows up as a much larger one, on the
bones next to that joint, in every video.

Usage::

    python scripts/check_joint_maps.py [--videos A.mp4 B.mp4] [--mocap DIR] [--clips 8]

It needs the data in ``../shared/data`` (not shipped) and takes about a minute on a CPU.
It also prints each video's detection rate and MediaPipe's time per frame.

With ``--lifters`` the shipped teacher and student lift the same videos (the product's
path: gap filling, then ``load_backend(...).lift``) and get their own columns, compared
with the mocap in a last column: a lifter trained on mocap joint centres that meets
MediaPipe joints placed elsewhere shows it there (e.g. hips too wide on real video).
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np

from scjd_core.detect import MediaPipeDetector, detect_all
from scjd_core.detect.gaps import fill_gaps
from scjd_core.mocap import find_mocap_files, load_mocap
from scjd_core.skeleton import BONES, JOINT_INDEX, JOINT_NAMES, bone_lengths
from scjd_core.sources import VideoFileSource

ROOT_DIR = Path(__file__).resolve().parents[1]
SHARED = ROOT_DIR.parent / "shared" / "data"
THIGHS = [BONES.index((JOINT_INDEX["right_hip"], JOINT_INDEX["right_knee"])),
          BONES.index((JOINT_INDEX["left_hip"], JOINT_INDEX["left_knee"]))]  # fmt: skip
FLAG = 0.25  # relative difference that marks a bone for a closer look


def body_height(poses: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Head-to-lowest-ankle extent of ``poses (F, 17, 3)`` along the unit vector ``up``."""
    h = poses @ up
    ankles = np.minimum(h[:, JOINT_INDEX["left_ankle"]], h[:, JOINT_INDEX["right_ankle"]])
    return h[:, JOINT_INDEX["head"]] - ankles


def ratios(poses: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, float]:
    """Median over frames of bone / thigh ``(16,)`` and of height / thigh."""
    bones = bone_lengths(poses)
    thigh = bones[:, THIGHS].mean(axis=1, keepdims=True)
    ok = thigh[:, 0] > 1e-6
    return np.median(bones[ok] / thigh[ok], axis=0), float(np.median(body_height(poses, up)[ok] / thigh[ok, 0]))


def placements(poses: np.ndarray) -> dict[str, float]:
    """Where the neck, head, hips and shoulders sit, in a body frame, in trunk lengths.

    The body frame is built from the 17 joints alone (so it works for any right-handed
    frame, Y up or Y down): ``up`` = pelvis -> thorax, ``side`` = right -> left shoulder,
    ``forward`` = side x up (the way the chest faces). Medians over frames.
    """
    j = JOINT_INDEX
    up = poses[:, j["thorax"]] - poses[:, j["pelvis"]]
    trunk = np.linalg.norm(up, axis=-1)
    up = up / trunk[:, None]
    side = poses[:, j["left_shoulder"]] - poses[:, j["right_shoulder"]]
    side -= (side * up).sum(-1, keepdims=True) * up
    side /= np.linalg.norm(side, axis=-1, keepdims=True)
    forward = np.cross(side, up)

    def along(joint: str, axis: np.ndarray) -> float:
        return float(np.median(((poses[:, j[joint]] - poses[:, j["thorax"]]) * axis).sum(-1) / trunk))

    def width(a: str, b: str) -> float:
        return float(np.median(np.linalg.norm(poses[:, j[a]] - poses[:, j[b]], axis=-1) / trunk))

    return {
        "neck up": along("neck", up),
        "neck forward": along("neck", forward),
        "head up": along("head", up),
        "head forward": along("head", forward),
        "hip width": width("left_hip", "right_hip"),
        "shoulder width": width("left_shoulder", "right_shoulder"),
        "hip / shoulder width": width("left_hip", "right_hip") / width("left_shoulder", "right_shoulder"),
    }


def run_video(
    path: Path, min_conf: float, lifters: dict | None = None
) -> tuple[np.ndarray, float, dict[str, float], str, dict]:
    """Ratios from MediaPipe world joints on one video, a one-line detection summary, and the
    ratios of each lifter's output on the same frames (``{name: (ratios, height, placements)}``)."""
    with VideoFileSource(path) as src, MediaPipeDetector() as det:
        t0 = time.perf_counter()
        dets = detect_all(det, src)
        ms = (time.perf_counter() - t0) * 1000 / max(len(dets), 1)
        info = src.info
    lifted = {}
    if lifters:
        seq = fill_gaps(dets, info)
        keep = np.array([d.found for d in dets])
        for name, backend in lifters.items():
            poses = backend.lift(seq).poses[keep].astype(np.float64)
            r, h = ratios(poses, up=np.array([0.0, -1.0, 0.0]))  # camera frame: y down
            lifted[name] = (r, h, placements(poses))
    found = [d for d in dets if d.found]
    good = [d.world for d in found if d.world is not None and d.confidence.min() >= min_conf]
    summary = (
        f"{path.name}: {src.info.width}x{src.info.height} @ {src.info.fps:g} fps, detected in "
        f"{len(found)}/{len(dets)} frames ({100 * len(found) / max(len(dets), 1):.1f} %), "
        f"{ms:.1f} ms/frame (decode + detect), {len(good)} frames with all joints >= {min_conf} used"
    )
    if not good:
        return np.full(len(BONES), np.nan), float("nan"), {}, summary, lifted
    poses = np.stack(good).astype(np.float64)
    r, h = ratios(poses, up=np.array([0.0, -1.0, 0.0]))  # camera frame: y down
    return r, h, placements(poses), summary, lifted


def run_mocap(root: Path, per_group: int, stride: int) -> dict[str, tuple[np.ndarray, float, dict, int]]:
    """Ratios per mocap group (``cmu``, ``hdm05``), from ``per_group`` clips spread over each."""
    files = find_mocap_files(root)
    groups = {"cmu": [f for f in files if f.suffix == ".bvh"], "hdm05": [f for f in files if f.suffix == ".amc"]}
    out = {}
    for name, paths in groups.items():
        if not paths:
            continue
        pick = [paths[i] for i in np.linspace(0, len(paths) - 1, min(per_group, len(paths))).astype(int)]
        poses = np.concatenate([load_mocap(p).joints[::stride] for p in pick]).astype(np.float64)
        r, h = ratios(poses, up=np.array([0.0, 1.0, 0.0]))  # mocap: Y up
        out[name] = (r, h, placements(poses), len(pick))
    return out


def _is_mocap(key: str) -> bool:
    return ":" not in key


def _row(label: str, vals: dict[str, float], relative: bool) -> str:
    mc = np.nanmean([v for k, v in vals.items() if _is_mocap(k)])
    out = f"{label:26s}" + "".join(f"{v:13.3f}" for v in vals.values())
    for prefix in ("mp:", "lift:"):
        mine = [v for k, v in vals.items() if k.startswith(prefix)]
        if not mine:
            continue
        diff = np.nanmean(mine) / mc - 1.0 if relative else np.nanmean(mine) - mc
        mark = "!" if abs(diff) > (FLAG if relative else 0.1) else " "
        out += f"{diff:+12.1%}{mark}" if relative else f"{diff:+12.3f}{mark}"
    return out


def print_tables(columns: dict[str, tuple[np.ndarray, float, dict[str, float]]]) -> None:
    """Bone ratios (MediaPipe mean / mocap mean - 1) and placements (MediaPipe - mocap)."""
    head = "".join(f"{c.removeprefix('mp:').removeprefix('lift:')[:12]:>13s}" for c in columns)
    lift = any(c.startswith("lift:") for c in columns)
    print("columns: MediaPipe world landmarks per video, then the mocap" + (", then the lifters" if lift else ""))
    print("(! = more than 25 % / 0.1 trunk from the mocap)")
    print(f"{'bone / thigh':26s}{head}{'MP/mocap-1':>12s} " + (f"{'lift/mocap-1':>12s}" if lift else ""))
    for i, (p, c) in enumerate(BONES):
        print(_row(f"{JOINT_NAMES[p]}-{JOINT_NAMES[c]}", {k: v[0][i] for k, v in columns.items()}, True))
    print(_row("HEIGHT", {k: v[1] for k, v in columns.items()}, True))
    print()
    print(f"{'from thorax, in trunks':26s}{head}{'MP-mocap':>12s} " + (f"{'lift-mocap':>12s}" if lift else ""))
    for label in next(v[2] for v in columns.values() if v[2]):
        print(_row(label, {k: v[2].get(label, np.nan) for k, v in columns.items()}, False))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_videos = sorted(glob.glob(str(SHARED / "video" / "*.mp4"))) + [str(ROOT_DIR / "assets/demo/pose_1.mp4")]
    parser.add_argument("--videos", nargs="+", default=default_videos, help="videos with one person")
    parser.add_argument("--mocap", default=str(SHARED / "mocap"), help="folder of .bvh / .amc files")
    parser.add_argument("--clips", type=int, default=8, help="mocap clips per dataset")
    parser.add_argument("--stride", type=int, default=10, help="use every n-th mocap frame")
    parser.add_argument("--min-conf", type=float, default=0.5, help="MediaPipe frames whose joints all reach this")
    parser.add_argument("--lifters", action="store_true", help="also lift the videos with the shipped models")
    args = parser.parse_args(argv)
    lifters = None
    if args.lifters:
        from scjd_core.backends.lifter import load_backend

        lifters = {k: load_backend(k, device="cpu") for k in ("teacher", "student")}

    columns: dict[str, tuple[np.ndarray, float, dict[str, float]]] = {}
    seen: set[str] = set()
    for video in args.videos:
        path = Path(video)
        key = path.resolve().read_bytes()[:4096].hex() + str(path.stat().st_size)
        if key in seen:  # the demo clip is a copy of shared/data/video/pose_1.mp4
            continue
        seen.add(key)
        r, h, place, summary, lifted = run_video(path, args.min_conf, lifters)
        print(summary)
        columns[f"mp:{path.stem}"] = (r, h, place)
        for name, value in lifted.items():
            columns[f"lift:{name[:3]}:{path.stem}"] = value
    for name, (r, h, place, n) in run_mocap(Path(args.mocap), args.clips, args.stride).items():
        print(f"mocap {name}: {n} clips, every {args.stride}th frame")
        columns[name] = (r, h, place)
    if not any(k.startswith("mp:") for k in columns) or not any(_is_mocap(k) for k in columns):
        print("need at least one video and one mocap clip", file=sys.stderr)
        return 1
    print()
    print_tables(columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
