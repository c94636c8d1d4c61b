"""Mocap windows: contract shapes, geometry, determinism, flips, body scaling, loading, splits."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from scjd_core.errors import InputError
from scjd_core.skeleton import FLIP_PERMUTATION, LEFT, RIGHT, ROOT, bone_lengths, denormalize_screen
from training.data import mocap_dataset
from training.data.mocap_dataset import MocapWindowDataset, load_clips, resample_clip, scale_bones
from training.data.noise import DetectorNoise
from training.data.splits import mocap_root, split_clips
from training.data.synthetic import synthetic_clip


@pytest.fixture(scope="module")
def clips():
    return [
        synthetic_clip("walk_a", "bd", frames=150, speed=1.3, heading=0.3),
        synthetic_clip("walk_b", "bk", frames=100, speed=0.0, heading=2.0),
        synthetic_clip("short", "cmu", frames=20, speed=1.0, heading=-1.0),
    ]


def _root_from_projection(uv: np.ndarray, target: np.ndarray, cam: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares root position that makes ``target + root`` project onto ``uv`` pixels."""
    fx, fy, cx, cy = cam[:4]
    rows, rhs = [], []
    for j in range(target.shape[0]):
        x, y, z = target[j]
        du, dv = uv[j, 0] - cx, uv[j, 1] - cy
        rows += [[fx, 0.0, -du], [0.0, fy, -dv]]
        rhs += [du * z - fx * x, dv * z - fy * y]
    sol, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    resid = np.array(rows) @ sol - np.array(rhs)
    return sol, float(np.abs(resid).max() / max(fx, fy))


def test_items_follow_the_contract(clips):
    ds = MocapWindowDataset(clips, window=27, samples=16, seed=0, train=False)
    assert len(ds) == 16
    for i in range(len(ds)):
        item = ds[i]
        assert item["inputs"].shape == (27, 17, 3) and item["inputs"].dtype == torch.float32
        assert item["target"].shape == (27, 17, 3) and item["target"].dtype == torch.float32
        assert item["camera"].shape == (6,) and item["camera"].dtype == torch.float32
        assert item["subject"] in {"bd", "bk", "cmu"}
        assert item["clip"] in {"walk_a", "walk_b", "short"}
        assert torch.all(item["target"][:, ROOT] == 0)
        conf = item["inputs"][..., 2]
        assert torch.all((conf >= 0) & (conf <= 1))
    with pytest.raises(IndexError):
        ds[16]


def test_batches_through_a_dataloader(clips):
    ds = MocapWindowDataset(clips, window=9, samples=8, seed=0, train=False)
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["inputs"].shape == (4, 9, 17, 3)
    assert batch["target"].shape == (4, 9, 17, 3)
    assert len(batch["subject"]) == 4 and isinstance(batch["clip"][0], str)


@pytest.mark.parametrize("flip_prob", [0.0, 1.0])
def test_2d_is_the_projection_of_the_3d_target(clips, flip_prob):
    ds = MocapWindowDataset(clips, window=9, samples=12, seed=3, noise=DetectorNoise.none(), flip_prob=flip_prob)
    ds.train = False
    for i in range(len(ds)):
        item = ds[i]
        cam = item["camera"].numpy().astype(np.float64)
        width, height = int(cam[4]), int(cam[5])
        inputs, target = item["inputs"].numpy(), item["target"].numpy().astype(np.float64)
        assert (inputs[..., 2] == 1).all()
        uv = denormalize_screen(inputs[..., :2], width, height).astype(np.float64)
        assert (uv >= -0.5).all() and (uv[..., 0] <= width + 0.5).all() and (uv[..., 1] <= height + 0.5).all()
        for t in (0, 8):
            root, resid = _root_from_projection(uv[t], target[t], cam)
            assert resid < 1e-5  # one rigid camera-frame pose explains all 17 keypoints
            assert root[2] > 0.5  # and it lies in front of the camera


def test_deterministic_when_not_training(clips):
    a = MocapWindowDataset(clips, window=27, samples=6, seed=7, train=False)
    b = MocapWindowDataset(clips, window=27, samples=6, seed=7, train=False)
    c = MocapWindowDataset(clips, window=27, samples=6, seed=8, train=False)
    for i in range(6):
        np.testing.assert_array_equal(a[i]["inputs"].numpy(), b[i]["inputs"].numpy())
        np.testing.assert_array_equal(a[i]["target"].numpy(), b[i]["target"].numpy())
        assert not torch.equal(a[i]["inputs"], c[i]["inputs"])
    assert not torch.equal(a[0]["inputs"], a[1]["inputs"])


def test_training_draws_change_and_set_epoch_reproduces(clips):
    ds = MocapWindowDataset(clips, window=27, samples=4, seed=1, train=True)
    assert not torch.equal(ds[0]["inputs"], ds[0]["inputs"])
    ds.set_epoch(3)
    first = ds[0]["inputs"]
    np.testing.assert_array_equal(ds[0]["inputs"].numpy(), first.numpy())
    ds.set_epoch(4)
    assert not torch.equal(ds[0]["inputs"], first)


def test_flip_mirrors_and_swaps_sides(clips):
    kwargs = dict(window=27, samples=5, seed=11, train=False)
    plain = MocapWindowDataset(clips, flip_prob=0.0, **kwargs)
    flipped = MocapWindowDataset(clips, flip_prob=1.0, **kwargs)
    for i in range(5):
        p, f = plain[i], flipped[i]
        assert p["clip"] == f["clip"]
        pt, ft = p["target"].numpy(), f["target"].numpy()
        for left, right in zip(LEFT, RIGHT):
            np.testing.assert_allclose(ft[:, left], pt[:, right] * [-1, 1, 1], atol=1e-6)
            np.testing.assert_allclose(ft[:, right], pt[:, left] * [-1, 1, 1], atol=1e-6)
        pin, fin = p["inputs"].numpy(), f["inputs"].numpy()
        np.testing.assert_allclose(fin[:, FLIP_PERMUTATION] * [-1, 1, 1], pin, atol=1e-5)


def test_scale_bones_keeps_limbs_connected():
    joints = synthetic_clip(frames=30).joints.astype(np.float64)
    per_bone = np.linspace(0.9, 1.1, 17)
    out = scale_bones(joints, 1.05, per_bone)
    ratio = bone_lengths(out) / bone_lengths(joints)
    np.testing.assert_allclose(ratio, np.broadcast_to(1.05 * per_bone[1:], ratio.shape), rtol=1e-9)
    np.testing.assert_allclose(out[:, ROOT], 1.05 * joints[:, ROOT])
    # bone directions are unchanged
    src = joints[:, 2] - joints[:, 1]
    dst = out[:, 2] - out[:, 1]
    np.testing.assert_allclose(np.cross(src, dst), 0.0, atol=1e-12)


def test_body_scale_range_and_symmetry(clips):
    ds = MocapWindowDataset(clips[:1], window=9, samples=40, seed=0, train=False, bone_scale=(0.9, 1.1))
    src = bone_lengths(clips[0].joints.astype(np.float64)).mean(axis=0)
    ratios = np.array([bone_lengths(ds[i]["target"].numpy()).mean(axis=0) / src for i in range(40)])
    assert ratios.min() > 0.9 * 0.8 - 1e-3 and ratios.max() < 1.1 * 1.2 + 1e-3
    assert ratios.std(axis=0).mean() > 0.02  # bodies do vary
    # left and right limbs are scaled alike (bone index = child joint - 1)
    for left, right in zip(LEFT, RIGHT):
        np.testing.assert_allclose(ratios[:, left - 1], ratios[:, right - 1], rtol=1e-4)


@pytest.mark.parametrize("std", [0.03, 0.10])
def test_per_bone_proportions_vary_by_limb_scale_std(clips, std):
    ds = MocapWindowDataset(
        clips[:1], window=3, samples=400, seed=1, train=False, bone_scale=(1.0, 1.0), limb_scale_std=std
    )
    src = bone_lengths(clips[0].joints.astype(np.float64)).mean(axis=0)
    ratios = np.array([bone_lengths(ds[i]["target"].numpy()).mean(axis=0) / src for i in range(len(ds))])
    # the spread of each bone's factor is the std asked for (one global draw per window is off here)
    np.testing.assert_allclose(ratios.std(axis=0), std, rtol=0.25)
    low, high = ds.limb_range
    assert (low, high) == ((0.8, 1.2) if std == 0.03 else pytest.approx((0.7, 1.3)))
    assert ratios.min() >= low - 1e-4 and ratios.max() <= high + 1e-4
    if std == 0.10:  # proportions beyond the old +-20 % clip occur
        assert ratios.min() < 0.8 or ratios.max() > 1.2


def test_evaluation_windows_keep_the_datasets_bone_variation(clips):
    """Validation/evaluation windows (fixed_batches) follow the dataset's default, not the training default."""
    from training.common import LIMB_SCALE_STD, fixed_batches
    from training.data.mocap_dataset import DEFAULT_LIMB_SCALE_STD

    default = fixed_batches(clips, 9, 6, 6, seed=3)[0]["target"]
    same = fixed_batches(clips, 9, 6, 6, seed=3, limb_scale_std=DEFAULT_LIMB_SCALE_STD)[0]["target"]
    training = fixed_batches(clips, 9, 6, 6, seed=3, limb_scale_std=LIMB_SCALE_STD)[0]["target"]
    torch.testing.assert_close(default, same)
    assert LIMB_SCALE_STD != DEFAULT_LIMB_SCALE_STD and not torch.allclose(default, training)


def test_limb_scale_std_out_of_range_is_refused(clips):
    with pytest.raises(ValueError, match="limb_scale_std"):
        MocapWindowDataset(clips[:1], window=3, samples=1, limb_scale_std=0.5)


def test_resample_clip_keeps_frames_and_bone_lengths(clips):
    joints = clips[0].joints.astype(np.float64)
    np.testing.assert_allclose(resample_clip(joints, np.arange(20.0)), joints[:20], atol=1e-12)
    between = resample_clip(joints, np.arange(20) + 0.5)
    # rigid bones stay rigid between frames; the pose lies between its neighbours
    np.testing.assert_allclose(bone_lengths(between), bone_lengths(joints[:20]), atol=1e-6)
    assert np.abs(between - 0.5 * (joints[:20] + joints[1:21])).max() < 0.01
    assert np.abs(between - joints[:20]).max() > 1e-3
    # a rotating limb: linear interpolation would cut the chord, resampling keeps its length
    arm = np.zeros((2, 17, 3))
    arm[:, 1] = [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]  # the bone to joint 1 turns by 90 degrees
    mid = resample_clip(arm, np.array([0.5]))
    np.testing.assert_allclose(np.linalg.norm(mid[0, 1]), 0.5)


def test_speed_jitter_plays_clips_faster_and_slower(clips):
    """Speed jitter: windows cover 1/(1+j) .. (1+j) times the frames, start between frames, and are
    reproducible per epoch; off (the default) makes exactly the windows it made before."""
    plain = MocapWindowDataset(clips[:2], window=27, samples=8, seed=4, train=False)
    off = MocapWindowDataset(clips[:2], window=27, samples=8, seed=4, train=False, speed_jitter=0.0)
    for i in range(8):
        torch.testing.assert_close(plain[i]["inputs"], off[i]["inputs"], rtol=0, atol=0)
    ds = MocapWindowDataset(clips[:1], window=27, samples=200, seed=4, train=True, speed_jitter=0.25)
    ds.set_epoch(2)
    spans = np.array([np.ptp(ds.raw_item(i)["frames"]) for i in range(200)])
    assert spans.min() >= round(26 / 1.25) - 1 and spans.max() <= round(26 * 1.25) + 1
    assert spans.min() < 24 and spans.max() > 28  # both slower and faster playback occur
    first = ds[0]["target"]
    ds.set_epoch(2)
    torch.testing.assert_close(ds[0]["target"], first, rtol=0, atol=0)
    with pytest.raises(ValueError, match="speed_jitter"):
        MocapWindowDataset(clips[:1], window=3, samples=1, speed_jitter=0.9)


def test_short_clips_are_padded_by_edge_replication(clips):
    ds = MocapWindowDataset(clips[2:], window=81, samples=3, seed=0, noise=DetectorNoise.none(), train=False)
    for i in range(3):
        target = ds[i]["target"].numpy()
        distinct = np.unique(target.reshape(81, -1).round(6), axis=0)
        assert len(distinct) == 20  # the 20 frames of the clip, some repeated at the ends
        assert np.allclose(target[0], target[1]) or np.allclose(target[-1], target[-2])


def test_load_clips_cuts_glitches_and_caches(tmp_path, monkeypatch):
    files = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.bvh"
        path.write_text("placeholder")
        files.append(path)
    calls = []

    def fake_read(path, fps):
        calls.append(path.name)
        clip = synthetic_clip(path.stem, "cmu", frames=100, fps=fps, path=str(path))
        glitch = np.zeros(100, dtype=bool)
        if path.stem == "a":
            glitch[40:45] = True  # two clean runs: 0-39 and 45-99
            glitch[90:95] = True  # leaves 45-89 and a 5-frame tail (dropped)
        return clip, glitch

    monkeypatch.setattr(mocap_dataset, "_read_clip", fake_read)
    clips = load_clips(files, fps=30.0, cache_dir=tmp_path / "cache", min_frames=16)
    assert [c.name for c in clips] == ["a@0", "a@45", "b"]
    assert [len(c.joints) for c in clips] == [40, 45, 100]
    assert all(c.path == str(files[0]) for c in clips[:2])
    assert calls == ["a.bvh", "b.bvh"]

    again = load_clips(files, fps=30.0, cache_dir=tmp_path / "cache", min_frames=16)
    assert calls == ["a.bvh", "b.bvh"]  # served from the cache
    assert [c.name for c in again] == ["a@0", "a@45", "b"]
    np.testing.assert_array_equal(again[2].joints, clips[2].joints)
    assert again[2].fps == 30.0 and again[2].subject == "cmu"

    os.utime(files[1], ns=(files[1].stat().st_atime_ns, files[1].stat().st_mtime_ns + 10**9))
    load_clips(files, fps=30.0, cache_dir=tmp_path / "cache")
    load_clips(files, fps=25.0, cache_dir=tmp_path / "cache")
    assert calls == ["a.bvh", "b.bvh", "b.bvh", "a.bvh", "b.bvh"]  # new mtime, new fps


def test_split_keeps_subjects_and_recordings_apart():
    clips = []
    for actor in ("bd", "bk", "dg"):
        for k in range(3):
            clips.append(synthetic_clip(f"HDM_{actor}_walk_{k}", actor, frames=10, path=f"hdm05/HDM_{actor}_{k}.amc"))
    for action in ("walking", "running", "jumping"):
        for k in range(3):
            path = f"cmu/{action}/{action}_{k}.bvh"
            clips.append(synthetic_clip(f"{action}_{k}", "cmu", frames=10, path=path))
            clips.append(dataclasses.replace(clips[-1], name=f"{action}_{k}@50"))  # glitch-cut piece
    split = split_clips(clips)
    assert {c.subject for c in split["test"]} == {"dg"}
    assert len(split["test"]) == 3
    hdm_subjects = {s: {c.subject for c in split[s]} - {"cmu"} for s in split}
    assert not hdm_subjects["train"] & hdm_subjects["test"] and not hdm_subjects["val"]
    files = {s: {c.path for c in split[s]} for s in split}
    assert not files["train"] & files["val"] and not files["train"] & files["test"]
    assert sorted(files["val"]) == [f"cmu/{a}/{a}_0.bvh" for a in ("jumping", "running", "walking")]
    assert len(split["val"]) == 6  # both pieces of each validation recording
    assert sum(len(v) for v in split.values()) == len(clips)


def test_mocap_root(tmp_path, monkeypatch):
    (tmp_path / "data" / "mocap").mkdir(parents=True)
    assert mocap_root(tmp_path / "data") == tmp_path / "data" / "mocap"
    assert mocap_root(tmp_path / "data" / "mocap") == tmp_path / "data" / "mocap"
    monkeypatch.setenv("SCJD_MOCAP", str(tmp_path / "data"))
    assert mocap_root() == tmp_path / "data" / "mocap"
    with pytest.raises(InputError, match="--data"):
        mocap_root(tmp_path / "nowhere")
