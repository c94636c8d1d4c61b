"""KeypointFileDetector: precomputed 2D keypoints from .npz and .csv files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scjd_core.detect import KeypointFileDetector, detect_all
from scjd_core.errors import InputError, NoPersonError
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS
from scjd_core.sources import VideoFileSource
from tests.core.test_sources import H, W, write_video


def random_keypoints(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(0, 60, size=(frames, NUM_JOINTS, 2)).astype(np.float32)
    conf = rng.uniform(0.2, 1.0, size=(frames, NUM_JOINTS)).astype(np.float32)
    return kp, conf


def write_csv(path: Path, kp: np.ndarray, conf: np.ndarray | None, skip: tuple[int, ...] = ()) -> Path:
    cols = ["frame"]
    for name in JOINT_NAMES:
        cols += [f"{name}_x", f"{name}_y"] + ([f"{name}_c"] if conf is not None else [])
    lines = [",".join(cols)]
    for f in range(len(kp)):
        if f in skip:
            continue
        cells = [str(f)]
        for j in range(NUM_JOINTS):
            cells += [f"{kp[f, j, 0]:.4f}", f"{kp[f, j, 1]:.4f}"]
            if conf is not None:
                cells.append(f"{conf[f, j]:.4f}")
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_npz_alone_gives_a_sequence(tmp_path: Path) -> None:
    kp, conf = random_keypoints(6)
    conf[2] = 0.0  # nobody in frame 2
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints=kp, confidence=conf, width=640, height=360, fps=25.0)
    det = KeypointFileDetector(path)
    assert len(det) == 6
    info = det.info
    assert (info.width, info.height, info.fps, info.frame_count, info.kind) == (640, 360, 25.0, 6, "keypoints")
    seq = det.sequence()
    assert seq.found.tolist() == [True, True, False, True, True, True]
    assert seq.keypoints[[0, 1, 3]] == pytest.approx(kp[[0, 1, 3]])
    assert seq.keypoints[2] == pytest.approx((kp[1] + kp[3]) / 2, abs=1e-4)
    assert seq.confidence[[0, 1, 3]] == pytest.approx(conf[[0, 1, 3]])
    assert seq.times == pytest.approx(np.arange(6) / 25.0)
    assert seq.world is None and (seq.width, seq.height) == (640, 360)


def test_npz_with_confidence_channel_and_arguments_overriding(tmp_path: Path) -> None:
    kp, conf = random_keypoints(3)
    kp[1, 4] = np.nan  # a joint that was not seen
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints=np.concatenate([kp, conf[..., None]], axis=-1), width=100, height=100)
    det = KeypointFileDetector(path, width=200, height=150, fps=50.0)
    assert (det.info.width, det.info.height, det.info.fps) == (200, 150, 50.0)
    seq = det.sequence()
    assert seq.confidence[1, 4] == 0.0 and np.isfinite(seq.keypoints).all()
    assert seq.confidence[0] == pytest.approx(conf[0])


def test_csv_with_missing_frames_and_cells(tmp_path: Path) -> None:
    kp, conf = random_keypoints(5, seed=1)
    path = write_csv(tmp_path / "kp.csv", kp, conf, skip=(3,))
    text = path.read_text().splitlines()
    cells = text[2].split(",")  # frame 1
    cells[1 + 3 * 7] = ""  # spine_x empty
    text[2] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    det = KeypointFileDetector(path, width=W, height=H, fps=10.0)
    seq = det.sequence()
    assert len(seq) == 5
    assert seq.found.tolist() == [True, True, True, False, True]
    assert seq.filled.tolist() == [False, False, False, True, False]
    assert seq.keypoints[4] == pytest.approx(kp[4], abs=1e-3)
    assert seq.keypoints[3] == pytest.approx((kp[2] + kp[4]) / 2, abs=1e-3)
    assert seq.confidence[1, 7] == 0.0 and seq.confidence[1, 8] == pytest.approx(conf[1, 8], abs=1e-3)


def test_csv_without_confidence_columns(tmp_path: Path) -> None:
    kp, _ = random_keypoints(2, seed=2)
    det = KeypointFileDetector(write_csv(tmp_path / "kp.csv", kp, None), width=W, height=H)
    seq = det.sequence()
    assert seq.confidence == pytest.approx(np.ones((2, NUM_JOINTS)))
    assert seq.fps == 30.0  # the documented default


def test_with_a_video_source(tmp_path: Path) -> None:
    kp, conf = random_keypoints(4, seed=3)
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints=kp, confidence=conf)  # no size: the video gives it
    video = write_video(tmp_path / "clip.mp4", 4, fps=10.0)
    with VideoFileSource(video) as src, KeypointFileDetector(path) as det:
        dets = detect_all(det, src)
    assert [d.index for d in dets] == [0, 1, 2, 3]
    assert [d.time_s for d in dets] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert np.stack([d.keypoints for d in dets]) == pytest.approx(kp)
    assert all(d.found for d in dets)


def test_video_longer_than_the_file_or_of_another_size(tmp_path: Path) -> None:
    kp, conf = random_keypoints(2)
    short = tmp_path / "short.npz"
    np.savez(short, keypoints=kp, confidence=conf)
    video = write_video(tmp_path / "clip.mp4", 4)
    with pytest.raises(InputError, match="has 2 frames but the video has more"):
        detect_all(KeypointFileDetector(short), VideoFileSource(video))
    sized = tmp_path / "sized.npz"
    np.savez(sized, keypoints=kp, confidence=conf, width=1920, height=1080)
    with pytest.raises(InputError, match="1920x1080 images but the video is 64x48"):
        detect_all(KeypointFileDetector(sized), VideoFileSource(video))


def test_alone_without_size_asks_for_it(tmp_path: Path) -> None:
    kp, _ = random_keypoints(2)
    det = KeypointFileDetector(write_csv(tmp_path / "kp.csv", kp, None))
    with pytest.raises(InputError, match="pass width and height"):
        det.sequence()


def test_all_zero_confidence_is_no_person(tmp_path: Path) -> None:
    kp, conf = random_keypoints(3)
    path = tmp_path / "empty.npz"
    np.savez(path, keypoints=kp, confidence=np.zeros_like(conf), width=64, height=48)
    with pytest.raises(NoPersonError, match="any of the 3 frames of empty.npz"):
        KeypointFileDetector(path).sequence()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.npz", {"points": np.zeros((2, 17, 2))}, "no 'keypoints' array"),
        ("bad.npz", {"keypoints": np.zeros((2, 16, 2))}, r"shape \(2, 16, 2\), expected"),
        ("bad.npz", {"keypoints": np.zeros((2, 17, 2)), "confidence": np.ones(2)}, "'confidence' has shape"),
        ("bad.npz", {"keypoints": np.zeros((2, 17, 2)), "width": -5}, "'width' must be one positive number"),
        ("junk.npz", b"not a zip file", "not a valid .npz"),
        ("bad.csv", "frame,pelvis_x,pelvis_y\n0,1,2\n", "lacks the column"),
        ("bad.csv", "frame\n", "no keypoint rows"),
        ("kp.json", "{}", "unknown keypoint file type"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, content, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, dict):
        np.savez(path, **content)
        path = path if path.exists() else path.with_suffix(".npz")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        KeypointFileDetector(path)


def test_csv_bad_frame_number(tmp_path: Path) -> None:
    kp, _ = random_keypoints(1)
    path = write_csv(tmp_path / "kp.csv", kp, None)
    path.write_text(path.read_text().replace("\n0,", "\nzero,", 1))
    with pytest.raises(InputError, match="line 2: bad frame number"):
        KeypointFileDetector(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="keypoint file not found"):
        KeypointFileDetector(tmp_path / "absent.npz")


def test_non_numeric_image_size_is_an_input_error(tmp_path: Path) -> None:
    kp, conf = random_keypoints(3)
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints=kp, confidence=conf, width=np.array("wide"), height=48)
    with pytest.raises(InputError, match=r"'width' must be one positive number.*save it as a number"):
        KeypointFileDetector(path)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_absurd_coordinates_are_refused_not_lifted_to_nan(tmp_path: Path, suffix: str) -> None:
    kp, conf = random_keypoints(4)
    kp[2, 5] = (1e30, -1e30)
    path = tmp_path / f"kp{suffix}"
    if suffix == ".npz":
        np.savez(path, keypoints=kp, confidence=conf, width=W, height=H)
    else:
        write_csv(path, kp, conf)
    with pytest.raises(InputError, match=rf"frame 2, joint {JOINT_NAMES[5]} .*pixel coordinates"):
        KeypointFileDetector(path)
