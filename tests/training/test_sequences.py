"""Fixed evaluation sequence files: writing, reading, checks, windowing, ``evaluate --sequences``."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scjd_core.backends.lifter import ModelBackend
from scjd_core.errors import InputError, OutputError
from scjd_core.models import create_model, save_checkpoint
from tests.training.mini_mocap import make_mini_mocap
from training.__main__ import main
from training.data import MocapWindowDataset
from training.data.noise import DetectorNoise
from training.evaluate import lift_sequences, score, sequence_windows
from training.metrics import mpjpe
from training.mocap_data import load_mocap_data
from training.sequences import DEFAULT_FILE, load_sequences, noise_preset

N, F = 5, 20  # F is not a multiple of the tiny models' T = 9: three windows, the last one edge-padded


@pytest.fixture(scope="module")
def mocap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mini_mocap(tmp_path_factory.mktemp("mocap"))


@pytest.fixture(scope="module")
def seq_file(mocap: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seq") / "mini.npz"
    args = ["sequences", "--out", str(out), "--data", str(mocap), "--no-cache", "--split", "all"]
    assert main([*args, "--sequences", str(N), "--frames", str(F), "--seed", "7", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Untrained (seeded) tiny teacher and student checkpoints: enough to check the plumbing."""
    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    save_checkpoint(create_model("teacher-tiny"), root / "teacher")
    save_checkpoint(create_model("student-tiny"), root / "student")
    return root


def test_round_trip_matches_the_dataset(seq_file: Path, mocap: Path) -> None:
    seqs = load_sequences(seq_file)
    assert len(seqs) == N and seqs.frames == F
    assert seqs.keypoints_2d.shape == (N, F, 17, 3) and seqs.keypoints_2d.dtype == np.float32
    assert seqs.poses_3d.shape == (N, F, 17, 3) and seqs.image_size.shape == (N, 2)
    assert seqs.padded is not None and seqs.padded.shape == (N, F)
    meta = seqs.meta
    assert meta["seed"] == 7 and meta["noise"]["preset"] == "v1" and meta["split"] == "all"
    assert meta["command"][:4] == ["python", "-m", "training", "sequences"] and len(meta["sources"]) == N
    assert any("CMU" in lic["name"] for lic in meta["licences"]) and "camera_config" in meta
    assert seqs.sha256 == hashlib.sha256(seq_file.read_bytes()).hexdigest()
    # The same items as the dataset, pixels -> normalised inputs, within the storage steps.
    clips = load_mocap_data(mocap, cache_dir=None, progress=False).clips("all")
    ds = MocapWindowDataset(clips, window=F, samples=N, seed=7, noise=noise_preset("v1"), train=False)
    norm = seqs.normalized()
    for i in range(N):
        item = ds[i]
        np.testing.assert_allclose(norm[i], item["inputs"].numpy(), atol=1.3e-4)  # half a storage step
        np.testing.assert_allclose(seqs.poses_3d[i], item["target"].numpy(), atol=5e-5)
        assert tuple(seqs.image_size[i]) == tuple(int(v) for v in item["camera"][4:])
        assert seqs.subjects[i] == item["subject"]
    assert (seqs.poses_3d[:, :, 0] == 0).all()
    # Camera and absolute root: the root-relative 3D put back at the root projects onto the 2D.
    assert seqs.camera is not None and seqs.root_3d is not None
    assert (seqs.camera[:, 4:] == seqs.image_size).all()
    absolute = seqs.poses_3d.astype(np.float64) + seqs.root_3d[:, :, None, :]
    fx, fy, cx, cy = (seqs.camera[:, None, None, k] for k in range(4))
    u = fx * absolute[..., 0] / absolute[..., 2] + cx
    v = fy * absolute[..., 1] / absolute[..., 2] + cy
    offset = np.hypot(u - seqs.keypoints_2d[..., 0], v - seqs.keypoints_2d[..., 1])
    assert np.median(offset) < 0.05 * seqs.image_size.max()  # within the synthetic detector noise


def test_writing_is_reproducible(mocap: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.npz"
    args = ["sequences", "--out", str(out), "--data", str(mocap), "--no-cache", "--split", "all", "--quiet"]
    shas = []
    for again in ([], ["--overwrite"]):  # --overwrite is not recorded: the same bytes
        assert main([*args, "--sequences", "3", "--frames", "50", "--seed", "7", *again]) == 0
        shas.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert shas[0] == shas[1]
    seqs = load_sequences(out)
    assert seqs.padded.any() and 0 < seqs.meta["padded_fraction"] < 1  # 40-frame clips in 50-frame sequences


def test_v1_noise_is_the_frozen_preset() -> None:
    assert noise_preset("v1") == getattr(DetectorNoise, "v1", DetectorNoise)()
    assert noise_preset("default") == DetectorNoise()
    with pytest.raises(ValueError, match="unknown noise preset"):
        noise_preset("v9")


def test_shipped_file_is_complete() -> None:
    assert DEFAULT_FILE.is_file() and DEFAULT_FILE.stat().st_size <= 6_000_000
    seqs = load_sequences(DEFAULT_FILE)
    assert len(seqs) * seqs.frames >= 20_000
    assert set(seqs.subjects.tolist()) == {"dg"} and seqs.meta["split"] == "test"
    assert seqs.meta["noise"]["preset"] == "v1" and seqs.meta["seed"] == 2025
    assert seqs.meta["noise"]["parameters"]["jitter"] == pytest.approx(0.008)
    assert any("CC BY-SA 3.0" in lic["licence"] for lic in seqs.meta["licences"])
    readme = (DEFAULT_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert " ".join(seqs.meta["command"][1:]) in readme and "CC BY-SA 3.0" in readme


def _write(path: Path, **arrays: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    return path


def _good(n: int = 2, f: int = 4) -> dict[str, np.ndarray]:
    kp = np.full((n, f, 17, 3), 100.0, np.float32)
    kp[..., 2] = 1.0
    return {
        "keypoints_2d": kp,
        "image_size": np.array([[640, 480]] * n, np.int32),
        "poses_3d": np.zeros((n, f, 17, 3), np.float32),
        "subjects": np.array(["dg"] * n),
        "meta": np.array(json.dumps({"seed": 1})),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("poses_3d"), "lacks poses_3d"),
        (lambda a: a.update(keypoints_2d=a["keypoints_2d"][..., :2]), "keypoints_2d has shape"),
        (lambda a: a.update(poses_3d=a["poses_3d"][:, :3]), "poses_3d has shape"),
        (lambda a: a.update(image_size=np.array([640, 480])), "image_size has shape"),
        (lambda a: a.update(subjects=np.array([1, 2])), "subjects"),
        (lambda a: a["poses_3d"].__setitem__((0, 1, 2, 0), np.nan), "NaN"),
        (lambda a: a["keypoints_2d"].__setitem__((1, 0, 0, 2), 1.5), r"leaves \[0, 1\]"),
        (lambda a: a.update(image_size=np.zeros((2, 2), np.int32)), "<= 0"),
        (lambda a: a.update(meta=np.array("{not json")), "meta is not JSON"),
        (lambda a: a.update(root_3d=np.zeros((2, 3, 3), np.float32)), "root_3d has shape"),
        (lambda a: a.update(camera=np.array([[500, 500, 320, 240, 640, 480.0]] * 2)) or None, None),
        (lambda a: a.update(camera=np.array([[500, 500, 320, 240, 600, 480.0]] * 2)), "image size other"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, change, message: str) -> None:
    arrays = _good()
    load_sequences(_write(tmp_path / "ok.npz", **arrays))
    change(arrays)
    path = _write(tmp_path / "bad.npz", **arrays)
    if message is None:  # a valid optional key
        assert load_sequences(path).camera is not None
        return
    with pytest.raises(InputError, match=message) as info:
        load_sequences(path)
    assert str(path) in str(info.value) and "python -m training sequences" in str(info.value)


def test_writing_never_replaces_a_file_unasked(mocap: Path, tmp_path: Path, capsys) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("my notes\n", encoding="utf-8")
    args = ["sequences", "--out", str(notes), "--data", str(mocap), "--no-cache", "--split", "all", "--quiet"]
    args += ["--sequences", "2"]
    assert main(args) == OutputError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.md already exists" in err[0] and "--overwrite" in err[0]
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    # A file that is not a sequence file: the error does not suggest writing over it.
    with pytest.raises(InputError, match="cannot be read as .npz") as info:
        load_sequences(notes)
    assert f"--out {notes}" not in str(info.value) and "--out FILE.npz" in str(info.value)
    assert main([*args, "--overwrite"]) == 0 and len(load_sequences(notes)) == 2


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found.*python -m training sequences"):
        load_sequences(tmp_path / "none.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="cannot be read as .npz"):
        load_sequences(junk)
    objects = _good()
    objects["subjects"] = np.array(["dg", None], dtype=object)  # would need pickle to load
    with pytest.raises(InputError, match="junk2.npz"):
        load_sequences(_write(tmp_path / "junk2.npz", **objects))


def _manual_lift(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Independent re-implementation of the windowing: non-overlapping T windows, last edge-padded."""
    t = model.config.window
    n = -(-len(x) // t)
    padded = np.concatenate([x, np.repeat(x[-1:], n * t - len(x), axis=0)])
    windows = torch.from_numpy(padded.reshape(n, t, 17, 3))
    with torch.no_grad():
        if getattr(model, "kind", "") == "student":
            idx = model.sample_indices(0)
            out = model(windows[:, idx], idx, return_attention=False).pose
        else:
            out = model(windows, return_attention=False).pose
    return out.numpy().reshape(n * t, 17, 3)[: len(x)]


def test_windowing_equals_model_backend_lift(seq_file: Path) -> None:
    seqs = load_sequences(seq_file)
    torch.manual_seed(1)
    for name in ("teacher-tiny", "student-tiny"):
        # the windowing is what is checked here; the test-time flip has its own tests
        model = create_model(name, test_flip=False).eval()
        got = lift_sequences(model, seqs, torch.device("cpu"))
        assert got.shape == (N, F, 17, 3)
        backend = ModelBackend(model, device="cpu")
        norm = seqs.normalized()
        for i in range(N):  # batching all sequences' windows together changes nothing but rounding
            np.testing.assert_allclose(got[i], backend.lift(seqs.pose2d(i)).poses, rtol=0, atol=1e-5)
            np.testing.assert_allclose(got[i], _manual_lift(model, norm[i]), rtol=0, atol=1e-5)
    # The last window of a sequence is padded with that sequence's last frame, never the next one's.
    x = np.arange(2 * 5, dtype=np.float32).reshape(2, 5, 1, 1)
    w = sequence_windows(x, 3)
    assert w.shape == (4, 3, 1, 1) and w[:, :, 0, 0].tolist() == [[0, 1, 2], [3, 4, 4], [5, 6, 7], [8, 9, 9]]


def test_evaluate_on_sequences_with_reference_rows(
    seq_file: Path, tiny: Path, mocap: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, card = tmp_path / "r.json", tmp_path / "CARD.md"
    rc = main(
        ["evaluate", "--teacher", str(tiny / "teacher"), "--students", f"scjd={tiny / 'student'}", "--sequences"]
        + [str(seq_file), "--data", str(mocap), "--no-cache", "--latency-repeats", "1", "--json", str(out)]
        + ["--model-card", str(card), "--quiet"]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "sequence file" in printed and "reference: training mean pose" in printed
    res = json.loads(out.read_text())
    assert [r["name"] for r in res["rows"]] == ["teacher", "scjd"]
    assert [r["name"] for r in res["references"]] == ["mean-pose"]
    m = res["meta"]
    seqs = load_sequences(seq_file)
    assert m["protocol"] == "sequences" and m["sequences"]["sha256"] == seqs.sha256
    assert m["sequences"]["total_frames"] == N * F and m["window"] == 9
    # Every frame scored, exactly as ModelBackend lifts it.
    from scjd_core.models import load_checkpoint

    teacher, _ = load_checkpoint(tiny / "teacher")
    expected = score(lift_sequences(teacher, seqs, torch.device("cpu")), seqs.poses_3d, seqs.padded)
    assert res["rows"][0]["mpjpe_mm"] == pytest.approx(expected["mpjpe_mm"])
    assert res["rows"][0]["mpjve_mm"] == pytest.approx(expected["mpjve_mm"])
    text = card.read_text()
    assert seq_file.name in text and seqs.sha256 in text and "reference: training mean pose" in text
    # Global motion: root trajectory error (the file stores cameras and roots) and foot skate.
    for row in res["rows"]:
        assert row["root_mm"] > 0 and row["root_unscaled_mm"] >= row["root_mm"] - 1e-6
        assert row["foot_skate_mm"] is None or row["foot_skate_mm"] >= 0
    assert "foot skate" in printed and "root_mm" in m["global_motion"]


def test_global_motion_skips_the_root_error_without_cameras(seq_file: Path) -> None:
    from training.evaluate import global_motion

    seqs = load_sequences(seq_file)
    exact = global_motion(seqs.poses_3d, seqs)  # the true 3D as the "prediction"
    assert exact["root_mm"] < 50 and 0.9 < exact["root_scale"] < 1.1
    seqs.camera, seqs.root_3d = None, None  # a file written before they were added
    old = global_motion(seqs.poses_3d, seqs)
    assert old["root_mm"] is None and old["root_scale"] is None


def test_evaluate_sequence_errors_are_one_line(tiny: Path, tmp_path: Path, capsys) -> None:
    bad = _write(tmp_path / "bad.npz", **{k: v for k, v in _good().items() if k != "meta"})
    base = ["evaluate", "--teacher", str(tiny / "teacher"), "--quiet", "--no-mean-pose"]
    assert main([*base, "--sequences", str(tmp_path / "missing.npz")]) == 2
    assert main([*base, "--sequences", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "not found" in err[0] and "lacks meta" in err[1]


def test_impose_lengths_keeps_directions_and_sets_lengths() -> None:
    from scjd_core.skeleton import ROOT, bone_lengths
    from tests.scripts import load_script
    from training.data.mocap_dataset import scale_bones
    from training.data.synthetic import synthetic_clip

    impose = load_script("check_body_proportions").impose_lengths
    joints = synthetic_clip(frames=12).joints.astype(np.float64)
    joints = joints - joints[:, ROOT : ROOT + 1]
    np.testing.assert_allclose(impose(joints, bone_lengths(joints)), joints, atol=1e-9)
    per_bone = np.linspace(0.8, 1.25, 17)
    scaled = scale_bones(joints, 1.0, per_bone)  # same directions, other lengths
    np.testing.assert_allclose(impose(joints, bone_lengths(scaled)), scaled, atol=1e-9)


def test_body_proportions_script_reports_actors_and_lifted_bones(
    mocap: Path, seq_file: Path, tiny: Path, tmp_path: Path
) -> None:
    from tests.scripts import load_script

    script = load_script("check_body_proportions")
    md, js = tmp_path / "bp.md", tmp_path / "bp.json"
    models = [f"teacher={tiny / 'teacher'}", f"student={tiny / 'student'}"]
    args = ["--data", str(mocap), "--sequences", str(seq_file), "--models", *models]
    assert script.main([*args, "--markdown", str(md), "--json", str(js)]) == 0
    out = json.loads(js.read_text())
    assert len(out["bones"]) == 16 and set(out["models"]) == {"teacher", "student"}
    for row in out["models"].values():
        assert np.isfinite(row["mpjpe_mm"]) and np.isfinite(row["mpjpe_true_lengths_mm"])
    assert {a["split"] for a in out["actors"].values()} <= {"train", "val", "test"}
    text = md.read_text()
    assert "median spread over the bones" in text and "| left_hip→left_knee |" in text
    assert script.main([*args[:4], "--models", "nope"]) == 2


def test_error_by_position_files_each_frame_under_its_window_position() -> None:
    from tests.scripts import load_script

    by_position = load_script("window_position_error").error_by_position
    truth = np.zeros((2, 7, 17, 3))
    pred = truth.copy()
    pred[:, :, :, 0] = (np.arange(7) % 3)[None, :, None] * 0.01  # frame f is off by (f % 3) cm
    np.testing.assert_allclose(by_position(pred, truth, 3), [0.0, 10.0, 20.0])
    assert np.isnan(by_position(pred[:, :2], truth[:, :2], 3)[2])  # no frame sits at position 2


def test_window_position_script_marks_the_frames_a_student_reads(seq_file: Path, tiny: Path, tmp_path: Path) -> None:
    from tests.scripts import load_script

    script = load_script("window_position_error")
    js = tmp_path / "pos.json"
    models = [f"teacher={tiny / 'teacher'}", f"student={tiny / 'student'}"]
    assert script.main(["--sequences", str(seq_file), "--models", *models, "--json", str(js)]) == 0
    out = json.loads(js.read_text())["models"]
    student, teacher = out["student"], out["teacher"]
    assert len(student["mpjpe_mm_by_position"]) == student["window"]
    assert student["read"] and len(student["read"]) < student["window"] and student["between_mean_mm"] is not None
    assert teacher["between_mean_mm"] is None and len(teacher["read"]) == teacher["window"]
    assert script.main(["--sequences", str(seq_file), "--models", "nope"]) == 2


def test_shifted_tilings_cover_every_frame_once() -> None:
    from tests.scripts import load_script

    tiling = load_script("shifted_windows_check").shifted_tiling
    for shift in (-4, -1, 0, 1, 2, 3, 5):
        source, valid = tiling(7, 3, shift)
        assert sorted(source[valid].tolist()) == list(range(7))
        assert source.min() >= 0 and source.max() <= 6
        assert (valid.any(axis=1)).all()  # no window is padding only
    source, valid = tiling(7, 3, 0)
    assert source.tolist() == [[0, 1, 2], [3, 4, 5], [6, 6, 6]] and valid.sum() == 7
    source, _ = tiling(7, 3, 1)  # windows start at -2, 1, 4: the first repeats frame 0
    assert source.tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]


def test_shifted_windows_script_reproduces_the_evaluation_at_shift_0(
    seq_file: Path, tiny: Path, tmp_path: Path
) -> None:
    from scjd_core.models import load_checkpoint
    from tests.scripts import load_script

    script = load_script("shifted_windows_check")
    seqs = load_sequences(seq_file)
    for kind in ("teacher", "student"):
        model, _ = load_checkpoint(tiny / kind)
        same = script.lift_shifted(model, seqs.normalized(), 0)
        np.testing.assert_allclose(same, lift_sequences(model, seqs, torch.device("cpu")), atol=1e-6)
        shifted = script.lift_shifted(model, seqs.normalized(), 2)
        assert shifted.shape == same.shape and not np.allclose(shifted, same)
    js = tmp_path / "shifts.json"
    models = [f"teacher={tiny / 'teacher'}", f"student={tiny / 'student'}"]
    args = ["--sequences", str(seq_file), "--models", *models, "--sets", "0", "2:2", "--json", str(js)]
    assert script.main(args) == 0
    rows = json.loads(js.read_text())["models"]["student"]
    assert [r["shifts"] for r in rows] == [[0], [-2, 0, 2]] and [r["lifts"] for r in rows] == [1, 3]
    assert script.main(["--sequences", str(seq_file), "--models", "nope"]) == 2
    with pytest.raises(SystemExit) as bad:
        script.main(["--sequences", str(seq_file), "--sets", "0:x"])
    assert bad.value.code == 2
    assert script.parse_sets(["0", "20:40", "10:25"]) == [[0], [-40, -20, 0, 20, 40], [-20, -10, 0, 10, 20]]


def test_height_check_scales_each_sequence_to_its_height(seq_file: Path, tiny: Path, tmp_path: Path) -> None:
    from scjd_core.models import load_checkpoint
    from scjd_core.skeleton import standing_height
    from tests.scripts import load_script

    script = load_script("height_check")
    seqs = load_sequences(seq_file)
    model, _ = load_checkpoint(tiny / "teacher")
    pred = lift_sequences(model, seqs, torch.device("cpu"))
    heights = np.array([standing_height(t) for t in seqs.poses_3d])
    scaled = script.scaled_to_heights(pred, heights)
    np.testing.assert_allclose([standing_height(s) for s in scaled], heights, atol=1e-6)
    js = tmp_path / "height.json"
    models = ["--models", f"teacher={tiny / 'teacher'}"]
    assert script.main(["--sequences", str(seq_file), *models, "--json", str(js)]) == 0
    rows = json.loads(js.read_text())["models"]["teacher"]
    assert [r["height_given"] for r in rows] == ["none", "exact", "+3 cm", "-3 cm"]
    assert rows[0]["mpjpe_mm"] == pytest.approx(mpjpe(pred, seqs.poses_3d))
    # scaling a pose about its root leaves the similarity-aligned error as it was
    for row in rows:
        assert row["p_mpjpe_mm"] == pytest.approx(rows[0]["p_mpjpe_mm"], rel=1e-6)
    assert script.main(["--sequences", str(seq_file), "--models", "nope"]) == 2
    with pytest.raises(SystemExit):
        script.main(["--sequences", str(seq_file), "--error-cm", "-1"])
