#!/usr/bin/env python
"""Do the lifters read a person's body proportions, or impose the training actors'?

Two tables:

1. **Actors' bones**: each mocap actor's mean bone lengths (metres), the spread of each
   bone across the training actors (std of the log length) and the held-out actor's bones
   over the training actors' mean. This is what the per-bone augmentation of the training
   windows (``--limb-scale-std``) has to cover.
2. **Lifted bones** on the fixed held-out sequence file (every frame, as the evaluation CLI
   scores it): each
   model's mean bone lengths against the truth, its MPJPE, and its MPJPE with the true
   bone lengths imposed (each predicted bone keeps its direction and takes the true
   length, rebuilt outwards from the pelvis). The gap between the two MPJPEs is what wrong
   proportions cost; the rest is pose and depth.

Usage::

    python scripts/check_body_proportions.py [--data runs/mocap-pack.npz] \\
        [--models teacher=assets/models/teacher student=assets/models/student] \\
        [--sequences tests/data/eval/hdm05_dg_v1.npz] [--markdown F] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def impose_lengths(pred: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``pred (..., 17, 3)`` rebuilt from the pelvis with its bone directions and ``lengths (..., 16)``."""
    from scjd_core.skeleton import BONES

    out = np.zeros_like(pred)
    for i, (parent, child) in enumerate(BONES):  # parents come before their children
        d = pred[..., child, :] - pred[..., parent, :]
        d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
        out[..., child, :] = out[..., parent, :] + d * lengths[..., i : i + 1]
    return out


def actor_bones(mocap) -> dict[str, dict]:
    """Per actor: split and mean bone lengths ``(16,)`` (mean over clips of each clip's mean)."""
    from scjd_core.skeleton import bone_lengths

    per: dict[str, dict] = {}
    for split, clips in mocap.splits.items():
        for clip in clips:
            entry = per.setdefault(str(clip.subject), {"split": split, "clips": []})
            entry["clips"].append(bone_lengths(np.asarray(clip.joints, np.float64)).mean(axis=0))
    return {s: {"split": e["split"], "bones": np.mean(e["clips"], axis=0)} for s, e in per.items()}


def main(argv: list[str] | None = None) -> int:
    from training.cli_options import add_lifters_on_file, load_lifters_on_file, write_check_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="mocap folder or pack (default: $SCJD_MOCAP or ../shared/data/mocap)")
    add_lifters_on_file(parser, json_help="write the bone lengths and both models' figures here")
    parser.add_argument("--markdown", type=Path, help="write both tables here")
    args = parser.parse_args(argv)

    import torch

    from scjd_core.errors import ScjdError
    from scjd_core.skeleton import BONES, JOINT_NAMES, bone_lengths
    from training.evaluate import lift_sequences
    from training.metrics import mpjpe
    from training.mocap_data import load_mocap_data

    try:
        mocap = load_mocap_data(args.data, None, progress=False)
        seqs, loaded = load_lifters_on_file(args)
    except ScjdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    names = [f"{JOINT_NAMES[p]}→{JOINT_NAMES[c]}" for p, c in BONES]
    actors = actor_bones(mocap)
    train = [s for s, a in actors.items() if a["split"] == "train"]
    held = [s for s, a in actors.items() if a["split"] == "test"]
    tr = np.array([actors[s]["bones"] for s in train])
    spread = np.log(tr).std(axis=0)
    command = " ".join(["python scripts/check_body_proportions.py", *(argv if argv is not None else sys.argv[1:])])
    lines = [
        "# Body proportions: the actors' bones, and the bones the lifters give",
        "",
        f"Written by `{command}` (what the columns mean: the script's docstring).",
        "",
        f"Actors' mean bone lengths (m); spread = std of log length over the training actors ({', '.join(train)})",
        "",
        "| bone | " + " | ".join(f"{s} ({actors[s]['split']})" for s in actors) + " | spread | "
        + " | ".join(f"{s} / train mean" for s in held) + " |",
        "|---|" + "---|" * (len(actors) + 1 + len(held)),
    ]  # fmt: skip
    for i, name in enumerate(names):
        cells = [f"{actors[s]['bones'][i]:.3f}" for s in actors] + [f"{spread[i]:.3f}"]
        cells += [f"{actors[s]['bones'][i] / tr[:, i].mean():.2f}" for s in held]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(f"\nmedian spread over the bones: {np.median(spread):.3f}\n")

    truth = seqs.poses_3d
    true_len = bone_lengths(truth)
    rows, table = {}, {}
    for name, model in loaded:
        with torch.inference_mode():
            pred = lift_sequences(model, seqs, torch.device("cpu"))
        table[name] = bone_lengths(pred).reshape(-1, len(BONES)).mean(axis=0)
        rows[name] = {
            "mpjpe_mm": mpjpe(pred, truth),
            "mpjpe_true_lengths_mm": mpjpe(impose_lengths(pred, true_len), truth),
            "bones_m": dict(zip(names, table[name].round(4).tolist(), strict=True)),
        }
    truth_mean = true_len.reshape(-1, len(BONES)).mean(axis=0)
    lines += [
        f"Lifted bone lengths (m) on {Path(args.sequences).name}, all {truth.shape[0] * truth.shape[1]} frames",
        "",
        "| bone | truth | " + " | ".join(table) + " |",
        "|---|---|" + "---|" * len(table),
    ]
    for i, name in enumerate(names):
        lines.append(f"| {name} | {truth_mean[i]:.3f} | " + " | ".join(f"{t[i]:.3f}" for t in table.values()) + " |")
    lines += ["", "| model | MPJPE mm | MPJPE with the true bone lengths mm |", "|---|---|---|"]
    lines += [f"| {n} | {r['mpjpe_mm']:.1f} | {r['mpjpe_true_lengths_mm']:.1f} |" for n, r in rows.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    actors_out = {s: {"split": a["split"], "bones_m": a["bones"].round(4).tolist()} for s, a in actors.items()}
    write_check_json(args, rows, bones=names, actors=actors_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
