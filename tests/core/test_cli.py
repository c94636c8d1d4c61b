"""The ``scjd`` command line: the demo clip end to end, and every kind of bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scjd_core import skeleton as sk
from scjd_core.cli import main

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo" / "pose_1.mp4"


def _write_video(path: Path, frames: int, size=(64, 48), fps=10.0) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 40, size=(size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def _run_error(capsys, argv, out_dir: Path) -> str:
    before = set(out_dir.rglob("*")) if out_dir.exists() else set()
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "Traceback" not in err
    # the progress bar (stderr, cleared with carriage returns) may precede the message
    lines = [ln for ln in err.splitlines() if ln.strip() and "frame/s" not in ln and "%|" not in ln]
    assert len(lines) == 1 and lines[0].startswith("scjd: error: "), err
    after = set(out_dir.rglob("*")) if out_dir.exists() else set()
    assert after == before, f"files were written: {sorted(after - before)}"
    return lines[0]


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(
        [
            "process",
            str(DEMO),
            "--backend",
            "student",
            "--export",
            "bvh,csv,json",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_demo_clip_produces_plausible_skeletons(demo_outputs):
    from scjd_core.export import read_csv

    files = sorted(p.name for p in demo_outputs.iterdir())
    assert files == ["pose_1.json", "pose_1.student.bvh", "pose_1.student.csv"]
    _frames, times, poses = read_csv(demo_outputs / "pose_1.student.csv")
    assert poses.shape == (120, 17, 3)
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-4)
    lengths = sk.bone_lengths(poses)  # (F, 16) in BONES order
    short = [
        i
        for i, (p, c) in enumerate(sk.BONES)
        if (p == sk.ROOT and c in (sk.JOINT_INDEX["left_hip"], sk.JOINT_INDEX["right_hip"]))
        or c == sk.JOINT_INDEX["head"]
    ]
    other = [i for i in range(len(sk.BONES)) if i not in short]
    # Limb and trunk bones of an adult: 0.1-0.6 m. Two segments of our layout are shorter by
    # anatomy and get their own range: pelvis->hip is half the distance between the hip joint
    # centres (0.07-0.10 m in the mocap we train on, CMU 0.092 m) and neck->head runs from the
    # skull base to the crown (CMU 0.092 m).
    assert lengths[:, other].min() >= 0.1 and lengths[:, other].max() <= 0.6
    assert lengths[:, short].min() >= 0.05 and lengths[:, short].max() <= 0.2
    y = poses[..., 1]  # world frame: +Y up
    head, pelvis = y[:, sk.JOINT_INDEX["head"]], y[:, sk.ROOT]
    ankles = np.minimum(y[:, sk.JOINT_INDEX["left_ankle"]], y[:, sk.JOINT_INDEX["right_ankle"]])
    assert (head > pelvis).mean() > 0.95 and (pelvis > ankles).mean() > 0.95
    assert abs(np.percentile(y.min(axis=1), 5)) < 0.1  # feet near the floor at y = 0


def test_refuses_to_clobber_without_overwrite(capsys, demo_outputs):
    msg = _run_error(capsys, ["process", str(DEMO), "--export", "csv", "--out", str(demo_outputs)], demo_outputs)
    assert "already exists" in msg and "--overwrite" in msg


def test_missing_file(capsys, tmp_path):
    msg = _run_error(capsys, ["process", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o")], tmp_path)
    assert "nope.mp4" in msg


def test_not_a_video(capsys, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n")
    _run_error(capsys, ["process", str(bad), "--out", str(tmp_path / "o")], tmp_path)


def test_zero_frame_video(capsys, tmp_path):
    empty = _write_video(tmp_path / "empty.mp4", frames=0)
    _run_error(capsys, ["process", str(empty), "--out", str(tmp_path / "o")], tmp_path)


def test_unreadable_image_folder(capsys, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a png")
    _run_error(capsys, ["process", str(folder), "--out", str(tmp_path / "o")], tmp_path)


def test_missing_webcam(capsys, tmp_path):
    msg = _run_error(capsys, ["process", "webcam:57", "--out", str(tmp_path / "o")], tmp_path)
    assert "57" in msg


def test_unwritable_output_dir(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    video = _write_video(tmp_path / "v.mp4", frames=3)
    _run_error(capsys, ["process", str(video), "--out", str(blocker / "sub")], tmp_path)


def test_unknown_export_format(capsys, tmp_path):
    msg = _run_error(capsys, ["process", str(DEMO), "--export", "bvh,fbx", "--out", str(tmp_path / "o")], tmp_path)
    assert "fbx" in msg


def test_no_person_in_clip(capsys, tmp_path):
    video = _write_video(tmp_path / "noise.mp4", frames=8, size=(128, 96))
    msg = _run_error(capsys, ["process", str(video), "--backend", "mediapipe", "--out", str(tmp_path / "o")], tmp_path)
    assert "no person" in msg


def test_real_process_exit_code_and_single_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "scjd_core.cli", "process", str(tmp_path / "missing.avi")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("scjd: error:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "scjd_output").exists()


def test_info_runs(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device" in out


# ------------------------------------------------------------------ root trajectory (issue 12)
def _lower_sole(poses: np.ndarray) -> np.ndarray:
    from scjd_core.world import ANKLE_TO_SOLE_M

    y = poses[..., 1]
    return np.minimum(y[:, sk.JOINT_INDEX["left_ankle"]], y[:, sk.JOINT_INDEX["right_ankle"]]) - ANKLE_TO_SOLE_M


def test_demo_clip_root_moves_by_default_and_stays_with_root_fixed(demo_outputs, tmp_path):
    from scjd_core.export import read_bundle, read_csv

    meta = read_bundle(demo_outputs / "pose_1.json")["meta"]
    assert meta["root"] == "trajectory" and meta["fov_deg"] == 60.0
    _f, _t, moving = read_csv(demo_outputs / "pose_1.student.csv")
    assert np.ptp(moving[:, sk.ROOT, [0, 2]], axis=0).max() > 0.02  # the root moves over the floor
    sole = _lower_sole(moving)
    assert sole.min() > -0.05 and np.mean(np.abs(sole) < 0.1) > 0.9  # the lower foot on the floor
    out = tmp_path / "fixed"
    argv = ["process", str(DEMO), "--root", "fixed", "--export", "csv,json", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert read_bundle(out / "pose_1.json")["meta"]["root"] == "fixed"
    _f, _t, fixed = read_csv(out / "pose_1.student.csv")
    assert np.allclose(fixed[:, sk.ROOT, [0, 2]], 0.0, atol=1e-6)
    assert abs(np.percentile(fixed[..., 1].min(axis=1), 5)) < 0.1


def test_bad_fov(capsys, tmp_path):
    msg = _run_error(capsys, ["process", str(DEMO), "--fov", "0", "--out", str(tmp_path / "o")], tmp_path)
    assert "--fov" in msg


def test_keypoint_file_walk_root_travels_like_the_truth(tmp_path, monkeypatch):
    """A person walking across the room (known camera): the exported root travels as far as the truth."""
    from scjd_core import inputs
    from scjd_core.detect import KeypointFileDetector
    from scjd_core.export import read_bundle, read_csv
    from scjd_core.trajectory import CameraIntrinsics
    from tests.core.synthetic_poses import walking_clip

    frames, size = 60, (640, 480)
    world = walking_clip(frames=frames, turn_rate=0.0)
    path = np.stack([np.linspace(-1.0, 1.0, frames), np.zeros(frames), np.linspace(0.0, -1.0, frames)], -1)
    world = world + path[:, None, :]
    cam = np.stack([world[..., 0], 1.0 - world[..., 1], 5.0 - world[..., 2]], -1)  # camera 1 m high, 5 m away
    kp = CameraIntrinsics.from_fov(*size, 60.0).project(cam)
    kp_path = tmp_path / "walk.npz"
    np.savez(kp_path, keypoints=kp.astype(np.float32), confidence=np.full((frames, 17), 0.9, np.float32))
    video = _write_video(tmp_path / "walk.mp4", frames=frames, size=size, fps=30.0)
    monkeypatch.setattr(inputs, "image_detector", lambda: KeypointFileDetector(kp_path))
    truth = np.linalg.norm(np.diff(path[:, [0, 2]], axis=0), axis=-1).sum()  # 2.24 m
    for mode in ("trajectory", "fixed"):
        out = tmp_path / mode
        assert main(["process", str(video), "--root", mode, "--export", "csv,npz", "--out", str(out), "--quiet"]) == 0
        _f, _t, poses = read_csv(out / "walk.student.csv")
        root = poses[:, sk.ROOT]
        travelled = np.linalg.norm(root[-1, [0, 2]] - root[0, [0, 2]])
        if mode == "trajectory":
            assert travelled == pytest.approx(truth, rel=0.2)
            assert read_bundle(out / "walk.npz")["root_camera"]["student"].shape == (frames, 3)
        else:
            assert np.allclose(root[:, [0, 2]], 0.0, atol=1e-6)
        assert _lower_sole(poses).min() > -0.05


# ------------------------------------------------------------------ keypoint and mocap files as inputs
KEYPOINTS = REPO / "tests" / "data" / "bench" / "pose_1_keypoints.npz"  # MediaPipe's 2D of the demo clip


def test_height_scales_the_exported_skeleton_and_its_distance(tmp_path):
    """``--height``: the exported skeleton is that tall, and the solved path is farther away in proportion."""
    from scjd_core.export import read_bundle, read_csv

    sizes = {}
    for name, extra in (("own", []), ("tall", ["--height", "1.95"])):
        out = tmp_path / name
        argv = ["process", str(KEYPOINTS), "--engine", "torch", "--export", "csv,json", "--out", str(out), "--quiet"]
        assert main([*argv, *extra]) == 0
        _f, _t, poses = read_csv(out / "pose_1_keypoints.student.csv")
        bundle = read_bundle(out / "pose_1_keypoints.json")
        sizes[name] = (sk.standing_height(poses), bundle["root_camera"]["student"][:, 2], bundle["meta"])
    assert sizes["tall"][0] == pytest.approx(1.95, abs=2e-3)
    assert sizes["own"][2]["person_height_m"] is None and sizes["tall"][2]["person_height_m"] == 1.95
    factor = (1.95 - sk.HEIGHT_OFFSET_M) / (sizes["own"][0] - sk.HEIGHT_OFFSET_M)
    np.testing.assert_allclose(sizes["tall"][1], factor * sizes["own"][1], rtol=0.02)


@pytest.mark.parametrize("height", ["175", "0", "nan"])
def test_bad_height(capsys, tmp_path, height):
    msg = _run_error(capsys, ["process", str(KEYPOINTS), "--height", height, "--out", str(tmp_path / "o")], tmp_path)
    assert "--height" in msg and "metres" in msg


def test_process_a_2d_keypoint_file_like_a_video(tmp_path, capsys):
    """``scjd process walk.npz``: the same outputs as for a video; ``all`` leaves mediapipe out."""
    from scjd_core.export import read_bundle, read_csv

    src = tmp_path / "pose_1_kp.npz"
    src.write_bytes(KEYPOINTS.read_bytes())
    out = tmp_path / "out"
    argv = ["process", str(src), "--backend", "all", "--engine", "torch", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    report = capsys.readouterr().out
    files = sorted(p.name for p in out.iterdir())
    assert files == ["pose_1_kp.json"] + [f"pose_1_kp.{b}.{f}" for b in ("student", "teacher") for f in ("bvh", "csv")]
    bundle = read_bundle(out / "pose_1_kp.json")
    assert bundle["meta"]["source_kind"] == "keypoints" and bundle["meta"]["frames"] == 120
    assert set(bundle["poses_camera"]) == {"teacher", "student"}
    np.testing.assert_allclose(bundle["keypoints_2d"], np.load(KEYPOINTS)["keypoints"], atol=1e-4)
    _f, times, poses = read_csv(out / "pose_1_kp.student.csv")
    assert poses.shape == (120, 17, 3) and np.isfinite(poses).all()
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-4)
    assert "(read from the keypoint file)" in report and "mediapipe" not in report
    assert "start-up" in report and "wall time" in report


def test_process_a_mocap_file_with_its_ground_truth(tmp_path, capsys):
    from scjd_core.compare import per_joint_distance_mm
    from scjd_core.export import read_bundle
    from tests.training.mini_mocap import write_bvh
    from training.data.synthetic import walking_joints

    path = write_bvh(tmp_path / "walk_1.bvh", walking_joints(30, 30.0, 1.3, 0.0))
    out = tmp_path / "out"
    argv = ["process", str(path), "--engine", "torch", "--export", "csv,npz", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    report = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["walk_1.npz", "walk_1.student.csv"]
    bundle = read_bundle(out / "walk_1.npz")
    assert bundle["meta"]["source_kind"] == "mocap" and bundle["meta"]["backends"] == ["student", "ground_truth"]
    truth, student = bundle["poses_camera"]["ground_truth"], bundle["poses_camera"]["student"]
    assert truth.shape == student.shape == (30, 17, 3)
    assert np.median(per_joint_distance_mm(student, truth)) < 250  # the shipped student, near the truth
    assert "ground_truth   (the mocap file's true 3D" in report
    assert sorted(tmp_path.iterdir()) == sorted([path, out])  # nothing else written


@pytest.mark.parametrize("suffix", [".npz", ".bvh"])
def test_mediapipe_asked_for_on_a_2d_only_input_is_one_error_line(capsys, tmp_path, suffix):
    src = tmp_path / f"walk{suffix}"
    src.write_bytes(b"never read: the backend is refused first")
    msg = _run_error(
        capsys, ["process", str(src), "--backend", "student,mediapipe", "--out", str(tmp_path / "o")], tmp_path
    )
    assert "mediapipe backend needs MediaPipe's own 3D" in msg


def test_an_output_that_would_replace_the_input_is_refused(capsys, tmp_path):
    src = tmp_path / "walk.npz"
    src.write_bytes(KEYPOINTS.read_bytes())
    argv = ["process", str(src), "--export", "npz", "--out", str(tmp_path), "--overwrite"]
    msg = _run_error(capsys, argv, tmp_path)
    assert "would replace the input itself" in msg


def test_summary_of_the_demo_clip_reports_start_up_wall_time_and_mediapipe_as_free(tmp_path, capsys):
    """MediaPipe's own 3D costs nothing beyond detection: no speed is printed for it."""
    argv = ["process", str(DEMO), "--backend", "student,mediapipe", "--engine", "torch", "--export", "csv"]
    assert main([*argv, "--max-frames", "20", "--out", str(tmp_path), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    by_stage = {line[:15].strip(): line[15:].strip() for line in lines}
    assert by_stage["mediapipe"] == "(MediaPipe's own 3D, no extra cost)"
    assert by_stage["student"].endswith("frames/s") and by_stage["detect"].endswith("frames/s")
    startup = float(by_stage["start-up"].split()[0])
    wall = float(by_stage["wall time"].split()[0])
    assert 0 < startup < wall
