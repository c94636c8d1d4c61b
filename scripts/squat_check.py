"""Real-video sanity check of the 3D lifters on a clip of a person squatting.

Runs the product's pipeline (the same path as ``scjd process``: :func:`open_source`,
:func:`create_backends`, :meth:`Pipeline.process`) with the ``student``, ``teacher`` and
``mediapipe`` backends, and measures on each backend's raw 3D output (camera frame,
root-relative, no smoothing, no bone-length normalisation):

* the **deepest squat frame**: the frame where the pelvis is lowest above the ankles
  (pelvis height minus the mean of the two ankle heights, in the upright world frame of
  :func:`scjd_core.world.camera_to_world`), and the pelvis drop (its 95th percentile
  over the clip minus that minimum, in cm);
* the **knee angles** (hip-knee-ankle, degrees, 180 = straight leg), left and right, at
  that frame, and the smallest knee angle of each leg over the clip (with its frame);
* the **thigh** (hip-knee) and **shank** (knee-ankle) lengths, left and right, as the
  median over the clip in metres, and their left - right difference in cm.

It prints a Markdown table, writes the numbers (and the per-frame knee angles and
pelvis heights) to JSON, and draws one PNG: the frame where the 2D pelvis is lowest
above the 2D ankles (backend-independent) with the 2D skeleton on it, and beside it each
backend's 3D skeleton at that frame seen from the person's right side, with the knee
angles written on it.

Usage::

    python scripts/squat_check.py [VIDEO] [--teacher CKPT] [--student CKPT] [--label NAME]
                                  [--json OUT.json] [--png OUT.png]

``VIDEO`` defaults to ``../shared/data/video/pose_squats.mp4`` (not shipped). On two
CPU cores the 65-frame clip takes well under a minute.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from scjd_core.backends.engines import ENGINES
from scjd_core.skeleton import BONES, JOINT_INDEX, LEFT

ROOT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT_DIR.parent / "shared" / "data" / "video" / "pose_squats.mp4"
BACKENDS = ("student", "teacher", "mediapipe")
SIDES = ("left", "right")

_P = JOINT_INDEX["pelvis"]
_HIP = {s: JOINT_INDEX[f"{s}_hip"] for s in SIDES}
_KNEE = {s: JOINT_INDEX[f"{s}_knee"] for s in SIDES}
_ANKLE = {s: JOINT_INDEX[f"{s}_ankle"] for s in SIDES}


# ------------------------------------------------------------------------------ measures
def joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at ``b`` between ``a - b`` and ``c - b``, in degrees (any leading shape, 2D or 3D points)."""
    u = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    v = np.asarray(c, np.float64) - np.asarray(b, np.float64)
    nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
    cos = np.sum(u * v, axis=-1) / np.maximum(nu * nv, 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def knee_angles(poses: np.ndarray) -> dict[str, np.ndarray]:
    """Hip-knee-ankle angle per frame, degrees (180 = straight), ``{"left": (F,), "right": (F,)}``."""
    x = np.asarray(poses, np.float64)
    return {s: joint_angle(x[..., _HIP[s], :], x[..., _KNEE[s], :], x[..., _ANKLE[s], :]) for s in SIDES}


def leg_lengths(poses: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame ``thigh_left``, ``thigh_right`` (hip-knee) and ``shank_*`` (knee-ankle) lengths."""
    x = np.asarray(poses, np.float64)
    out = {}
    for s in SIDES:
        out[f"thigh_{s}"] = np.linalg.norm(x[..., _HIP[s], :] - x[..., _KNEE[s], :], axis=-1)
        out[f"shank_{s}"] = np.linalg.norm(x[..., _KNEE[s], :] - x[..., _ANKLE[s], :], axis=-1)
    return out


def pelvis_height(poses_world: np.ndarray) -> np.ndarray:
    """Pelvis height above the mean of the two ankles, ``(F,)``, in a +Y-up frame."""
    y = np.asarray(poses_world, np.float64)[..., 1]
    return y[:, _P] - 0.5 * (y[:, _ANKLE["left"]] + y[:, _ANKLE["right"]])


def pelvis_height_2d(keypoints: np.ndarray) -> np.ndarray:
    """Pelvis height above the mean of the two ankles in pixels (image y points down), ``(F,)``."""
    y = np.asarray(keypoints, np.float64)[..., 1]
    return 0.5 * (y[:, _ANKLE["left"]] + y[:, _ANKLE["right"]]) - y[:, _P]


def measure(poses_camera: np.ndarray) -> dict:
    """All the squat measures of one backend's ``(F, 17, 3)`` camera-frame poses."""
    from scjd_core.world import camera_to_world

    poses = np.asarray(poses_camera, np.float64)
    angles = knee_angles(poses)
    height = pelvis_height(camera_to_world(poses))
    deepest = int(np.argmin(height))
    mean_angle = 0.5 * (angles["left"] + angles["right"])
    lengths = {k: float(np.median(v)) for k, v in leg_lengths(poses).items()}
    return {
        "deepest_frame": deepest,
        "deepest_criterion": "lowest pelvis above the mean ankle height (upright world frame)",
        "pelvis_drop_cm": float((np.percentile(height, 95) - height[deepest]) * 100.0),
        "knee_at_deepest_deg": {s: float(angles[s][deepest]) for s in SIDES},
        "smallest_mean_knee_frame": int(np.argmin(mean_angle)),
        "min_knee_deg": {s: float(angles[s].min()) for s in SIDES},
        "min_knee_frame": {s: int(np.argmin(angles[s])) for s in SIDES},
        "lengths_m": lengths,
        "left_minus_right_cm": {
            part: (lengths[f"{part}_left"] - lengths[f"{part}_right"]) * 100.0 for part in ("thigh", "shank")
        },
        "per_frame": {
            "knee_left_deg": np.round(angles["left"], 2).tolist(),
            "knee_right_deg": np.round(angles["right"], 2).tolist(),
            "pelvis_height_m": np.round(height, 4).tolist(),
        },
    }


# ------------------------------------------------------------------------------ running
def _describe_checkpoint(kind: str, path: str | None) -> dict:
    from scjd_core.models.checkpoint import checkpoint_paths
    from scjd_core.models.shipped import default_checkpoint

    weights, _ = checkpoint_paths(path if path else default_checkpoint(kind))
    shown = weights.resolve()
    shown = shown.relative_to(ROOT_DIR) if shown.is_relative_to(ROOT_DIR) else shown
    info = {"path": str(shown), "shipped": path is None}
    if weights.is_file():
        info["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    return info


def run_pipeline(video: str, teacher: str | None, student: str | None, device: str, engine: str):
    """Process ``video`` exactly as ``scjd process --backend student,teacher,mediapipe`` does."""
    from scjd_core.backends.registry import create_backends
    from scjd_core.pipeline import Pipeline
    from scjd_core.sources import open_source

    with open_source(video) as source:
        backends = create_backends(list(BACKENDS), device, {"teacher": teacher, "student": student}, engine=engine)
        return Pipeline(backends=backends).process(source)


def read_frame(video: str, index: int) -> np.ndarray:
    """Frame ``index`` of ``video`` as BGR, read through the product's source."""
    from scjd_core.sources import open_source

    with open_source(video) as source:
        for frame in source:
            if frame.index == index:
                return frame.image
    raise ValueError(f"{video} has no frame {index}")


# ------------------------------------------------------------------------------ report
def table(results: dict[str, dict], label: str) -> str:
    """The Markdown table of :func:`measure` results, one row per backend."""
    head = (
        f"| backend ({label}) | deepest frame | knee L / R there (deg) | min knee L / R (deg) [frames] "
        "| pelvis drop (cm) | thigh L / R (m) | thigh L-R (cm) | shank L / R (m) | shank L-R (cm) |"
    )
    rows = [head, "|" + "---|" * 9]
    for name, r in results.items():
        k, m, f, ln, d = (
            r["knee_at_deepest_deg"],
            r["min_knee_deg"],
            r["min_knee_frame"],
            r["lengths_m"],
            r["left_minus_right_cm"],
        )
        rows.append(
            f"| {name} | {r['deepest_frame']} | {k['left']:.0f} / {k['right']:.0f} "
            f"| {m['left']:.0f} / {m['right']:.0f} [{f['left']}, {f['right']}] | {r['pelvis_drop_cm']:.0f} "
            f"| {ln['thigh_left']:.3f} / {ln['thigh_right']:.3f} | {d['thigh']:+.1f} "
            f"| {ln['shank_left']:.3f} / {ln['shank_right']:.3f} | {d['shank']:+.1f} |"
        )
    return "\n".join(rows)


_LEFT_COLOUR, _RIGHT_COLOUR, _MID_COLOUR = "#1f77b4", "#d62728", "#555555"


def _bone_colour(child: int) -> str:
    from scjd_core.skeleton import RIGHT

    return _LEFT_COLOUR if child in LEFT else _RIGHT_COLOUR if child in RIGHT else _MID_COLOUR


def side_view(poses_world: np.ndarray) -> np.ndarray:
    """``(..., 17, 2)``: (forward, up) coordinates of +Y-up poses seen from the person's right side.

    The person's left-right axis is the mean over the clip of the horizontal hip and
    shoulder directions (right -> left); forward = left x up, so the person faces the
    plot's +x and the knees bend towards it.
    """
    x = np.asarray(poses_world, np.float64)
    left = (x[..., _HIP["left"], :] - x[..., _HIP["right"], :]).reshape(-1, 3).mean(axis=0)
    ls, rs = JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]
    left = left + (x[..., ls, :] - x[..., rs, :]).reshape(-1, 3).mean(axis=0)
    left[1] = 0.0
    left /= max(np.linalg.norm(left), 1e-12)
    forward = np.cross(left, [0.0, 1.0, 0.0])
    return np.stack([x @ forward, x[..., 1]], axis=-1)


def draw_png(
    path: Path,
    image_bgr: np.ndarray,
    keypoints: np.ndarray,
    frame: int,
    time_s: float,
    poses: dict[str, np.ndarray],
    label: str,
    video_name: str,
) -> None:
    """The video frame with its 2D skeleton, and each backend's 3D seen from the side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scjd_core.world import camera_to_world

    n = len(poses)
    h, w = image_bgr.shape[:2]
    span_x, span_y = 1.4, 2.0  # metres shown in each 3D panel
    fig = plt.figure(figsize=(2.0 + 7.0 * (w / h + n * span_x / span_y), 8.0), dpi=110)
    grid = fig.add_gridspec(1, n + 1, width_ratios=[w / h] + [span_x / span_y] * n, wspace=0.22)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(image_bgr[..., ::-1])
    kp = np.asarray(keypoints)
    for p, c in BONES:
        ax.plot(kp[[p, c], 0], kp[[p, c], 1], color=_bone_colour(c), lw=3)
    ax.scatter(kp[:, 0], kp[:, 1], s=14, c="white", edgecolors="black", zorder=3)
    angles_2d = {s: float(joint_angle(kp[_HIP[s]], kp[_KNEE[s]], kp[_ANKLE[s]])) for s in SIDES}
    ax.set_title(
        f"frame {frame} (t = {time_s:.1f} s): MediaPipe 2D\n"
        f"image-plane knee L {angles_2d['left']:.0f}°  R {angles_2d['right']:.0f}°",
        fontsize=11,
    )
    ax.axis("off")

    from scjd_core.world import ANKLE_TO_SOLE_M

    views = {}
    for name, clip_poses in poses.items():
        view = side_view(camera_to_world(np.asarray(clip_poses, np.float64)))[frame]
        # The root is fixed (root-relative lifting), so the feet rise when the person
        # squats: put this frame's lower ankle back at its height above the floor.
        view[:, 1] -= min(view[_ANKLE["left"], 1], view[_ANKLE["right"], 1]) - ANKLE_TO_SOLE_M
        views[name] = view
    allpts = np.concatenate(list(views.values()))
    cx = 0.5 * (allpts[:, 0].max() + allpts[:, 0].min())
    top = max(allpts[:, 1].max() + 0.1, span_y - 0.1)
    for k, (name, view) in enumerate(views.items()):
        ax3 = fig.add_subplot(grid[0, k + 1])
        ax3.axhline(0.0, color="#999999", lw=1)
        for p, c in BONES:
            ax3.plot(view[[p, c], 0], view[[p, c], 1], color=_bone_colour(c), lw=3, marker="o", ms=3)
        ang = {s: float(knee_angles(poses[name][frame : frame + 1])[s][0]) for s in SIDES}
        for s, colour, dy in (("left", _LEFT_COLOUR, 0.09), ("right", _RIGHT_COLOUR, -0.09)):
            knee = view[_KNEE[s]]
            ax3.annotate(
                f"{s[0].upper()} {ang[s]:.0f}°",
                knee,
                xytext=(knee[0] + 0.12, knee[1] + dy),
                color=colour,
                fontsize=12,
                fontweight="bold",
                arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.8},
            )
        ax3.set_xlim(cx - span_x / 2, cx + span_x / 2)
        ax3.set_ylim(top - span_y, top)
        ax3.set_aspect("equal")
        ax3.grid(alpha=0.3)
        ax3.set_title(f"{name} 3D, side view\nknee L {ang['left']:.0f}°  R {ang['right']:.0f}°", fontsize=11)
        ax3.set_xlabel("forward (m)")
        if k == 0:
            ax3.set_ylabel("up (m), feet on the floor (y = 0)")
        else:
            ax3.tick_params(labelleft=False)
    fig.suptitle(
        f"{video_name}, {label}: deepest frame by 2D pelvis height; seen from the person's right side "
        "(facing right); left leg blue, right leg red",
        fontsize=12,
        y=0.9,
    )
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO), help="squat video (default: %(default)s)")
    parser.add_argument("--teacher", metavar="CKPT", help="teacher checkpoint (default: the shipped one)")
    parser.add_argument("--student", metavar="CKPT", help="student checkpoint (default: the shipped one)")
    parser.add_argument("--label", default="shipped", help="name of this run in the table, JSON and PNG")
    parser.add_argument("--json", metavar="OUT.json", help="write the measures here")
    parser.add_argument("--png", metavar="OUT.png", help="draw the deepest frame here")
    parser.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    parser.add_argument("--engine", default="torch", choices=ENGINES, help="model engine (default: torch)")
    args = parser.parse_args(argv)

    from scjd_core import __version__
    from scjd_core.errors import ScjdError

    t0 = time.perf_counter()
    try:
        clip = run_pipeline(args.video, args.teacher, args.student, args.device, args.engine)
    except ScjdError as exc:
        print(f"squat_check: error: {exc}", file=sys.stderr)
        return exc.exit_code
    results = {name: measure(clip.lifts[name].poses) for name in BACKENDS}
    seq = clip.seq
    h2d = np.where(seq.found, pelvis_height_2d(seq.keypoints), np.inf)
    frame_2d = int(np.argmin(h2d))
    for name in BACKENDS:
        a = knee_angles(clip.lifts[name].poses[frame_2d : frame_2d + 1])
        results[name]["knee_at_2d_deepest_deg"] = {s: float(a[s][0]) for s in SIDES}

    print(
        f"{Path(args.video).name}: {len(clip)} frames, {clip.info.fps:g} fps, {clip.info.width}x{clip.info.height}, "
        f"detection rate {clip.detection_rate * 100:.0f} %, {time.perf_counter() - t0:.1f} s"
    )
    print(f"2D deepest frame (lowest 2D pelvis above the ankles): {frame_2d}")
    print(table(results, args.label))

    if args.json:
        report = {
            "label": args.label,
            "video": str(args.video),
            "frames": len(clip),
            "fps": float(clip.info.fps),
            "size": [int(clip.info.width), int(clip.info.height)],
            "detection_rate": float(clip.detection_rate),
            "scjd_version": __version__,
            "engine": args.engine,
            "checkpoints": {k: _describe_checkpoint(k, getattr(args, k)) for k in ("teacher", "student")},
            "frame_2d_deepest": frame_2d,
            "frame_2d_criterion": "lowest 2D pelvis above the mean 2D ankle height (pixels)",
            "angles": "hip-knee-ankle, degrees, 180 = straight leg; raw camera-frame output of each backend",
            "lengths": "median over the clip of the raw per-frame bone lengths, metres",
            "backends": results,
        }
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.png:
        image = read_frame(args.video, frame_2d)
        poses = {name: clip.lifts[name].poses for name in BACKENDS}
        draw_png(
            Path(args.png),
            image,
            seq.keypoints[frame_2d],
            frame_2d,
            float(seq.times[frame_2d]),
            poses,
            args.label,
            Path(args.video).name,
        )
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
