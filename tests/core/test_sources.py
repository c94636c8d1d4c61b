"""Frame sources: video files, image folders, webcams, open_source, and their errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from scjd_core.errors import InputError
from scjd_core.sources import (
    ImageFolderSource,
    LivePacedSource,
    VideoFileSource,
    WebcamSource,
    open_source,
)
from scjd_core.sources import webcam as webcam_module

W, H = 64, 48


def shade(i: int) -> int:
    """Grey level that encodes frame ``i`` (survives lossy compression)."""
    return 20 + 10 * i


def write_video(path: Path, frames: int, fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((H, W, 3), shade(i), np.uint8))
    writer.release()
    return path


def write_image(path: Path, value: int, size: tuple[int, int] = (W, H)) -> Path:
    ok, data = cv2.imencode(
        path.suffix if path.suffix.lower() != ".jpeg" else ".jpg", np.full((size[1], size[0], 3), value, np.uint8)
    )
    assert ok
    path.write_bytes(data.tobytes())
    return path


def mean_level(image: np.ndarray) -> float:
    return float(image.mean())


# ---------------------------------------------------------------------------------- video


def test_video_info_frames_and_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", 6, fps=10.0)
    before = time.perf_counter()
    with VideoFileSource(path) as src:
        info = src.info
        frames = list(src)
    after = time.perf_counter()
    assert (info.name, info.kind, info.fps, info.width, info.height, info.frame_count) == (
        "clip.mp4",
        "video",
        10.0,
        W,
        H,
        6,
    )
    assert [f.index for f in frames] == list(range(6))
    assert [f.time_s for f in frames] == pytest.approx([i / 10.0 for i in range(6)])
    assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in frames)
    levels = [mean_level(f.image) for f in frames]
    assert levels == pytest.approx([shade(i) for i in range(6)], abs=4)
    captures = [f.capture_time for f in frames]
    assert before <= captures[0] and captures == sorted(captures) and captures[-1] <= after


def test_video_iterates_again_from_the_start_and_refuses_after_close(tmp_path: Path) -> None:
    src = VideoFileSource(write_video(tmp_path / "clip.mp4", 4))
    first = [f.index for f in src]
    partial = iter(src)
    next(partial)
    again = [f.index for f in src]
    assert first == again == [0, 1, 2, 3]
    src.close()
    assert src.closed
    with pytest.raises(RuntimeError, match="closed"):
        iter(src)


def test_video_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found.*check the path"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_video_given_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        VideoFileSource(tmp_path)


def test_not_a_video_is_reported_without_native_noise(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is a text file, not a video\n" * 20)
    with pytest.raises(InputError, match=r"cannot open notes\.mp4 as a video.*ffmpeg"):
        VideoFileSource(fake)
    assert capfd.readouterr().err == ""


def test_video_with_zero_frames(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    # An AVI container written with no frame opens fine but holds nothing (an mp4 with no
    # frame lacks its index and does not even open, which the "not a video" test covers).
    empty = write_video(tmp_path / "empty.avi", 0, fourcc="MJPG")
    with pytest.raises(InputError, match="contains no frames"):
        VideoFileSource(empty)
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------------------------- images


def test_image_folder_natural_order_extensions_and_fps(tmp_path: Path) -> None:
    names = ["frame10.png", "frame2.JPG", "frame1.jpeg", "Frame3.BMP", "frame11.tiff", "frame4.webp"]
    values = {
        "frame1.jpeg": 10,
        "frame2.JPG": 40,
        "Frame3.BMP": 70,
        "frame4.webp": 100,
        "frame10.png": 130,
        "frame11.tiff": 160,
    }
    for name in names:
        write_image(tmp_path / name, values[name])
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "sub.png").mkdir()  # a folder with an image-like name is ignored too
    with ImageFolderSource(tmp_path, fps=5.0) as src:
        assert [p.name for p in src.files] == [
            "frame1.jpeg",
            "frame2.JPG",
            "Frame3.BMP",
            "frame4.webp",
            "frame10.png",
            "frame11.tiff",
        ]
        assert (src.info.kind, src.info.fps, src.info.width, src.info.height, src.info.frame_count) == (
            "images",
            5.0,
            W,
            H,
            6,
        )
        frames = list(src)
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert [mean_level(f.image) for f in frames] == pytest.approx([10, 40, 70, 100, 130, 160], abs=3)


def test_image_folder_missing_or_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="image folder not found"):
        ImageFolderSource(tmp_path / "absent")
    afile = write_image(tmp_path / "one.png", 1)
    with pytest.raises(InputError, match="is not a folder"):
        ImageFolderSource(afile)


def test_image_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no frames here")
    with pytest.raises(InputError, match="no images found.*jpg"):
        ImageFolderSource(tmp_path)


def test_image_folder_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_image(tmp_path / "a.png", 1)

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(InputError, match="permission denied"):
        ImageFolderSource(tmp_path)


def test_image_folder_damaged_images(tmp_path: Path) -> None:
    bad = tmp_path / "first"
    bad.mkdir()
    (bad / "0001.png").write_bytes(b"not a png at all")
    with pytest.raises(InputError, match=r"cannot decode image .*0001\.png"):
        ImageFolderSource(bad)

    later = tmp_path / "later"
    later.mkdir()
    write_image(later / "0001.png", 50)
    (later / "0002.jpg").write_bytes(b"")
    src = ImageFolderSource(later)
    with pytest.raises(InputError, match=r"0002\.jpg"):
        list(src)


def test_image_folder_size_mismatch(tmp_path: Path) -> None:
    write_image(tmp_path / "1.png", 50)
    write_image(tmp_path / "2.png", 50, size=(W * 2, H))
    with pytest.raises(InputError, match="same size"):
        list(ImageFolderSource(tmp_path))


def test_image_folder_rejects_bad_fps(tmp_path: Path) -> None:
    write_image(tmp_path / "1.png", 50)
    with pytest.raises(InputError, match="frame rate"):
        ImageFolderSource(tmp_path, fps=0)


# ---------------------------------------------------------------------------------- webcam


class FakeCamera:
    """Stands in for cv2.VideoCapture(index)."""

    def __init__(self, frames: int, opened: bool = True, block_s: float = 0.0) -> None:
        self.left = frames
        self.opened = opened
        self.block_s = block_s
        self.released = False

    def isOpened(self) -> bool:  # OpenCV spells it so
        return self.opened

    def read(self):
        time.sleep(self.block_s)
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.full((H, W, 3), 100, np.uint8)

    def get(self, prop: int) -> float:
        return 25.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True


def test_missing_webcam_is_reported_quickly_and_quietly(capfd: pytest.CaptureFixture) -> None:
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=r"webcam 97 could not be opened.*webcam:0"):
        WebcamSource(97)
    assert time.perf_counter() - t0 < 10.0
    assert capfd.readouterr().err == ""


def test_webcam_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    cams: list[FakeCamera] = []
    monkeypatch.setattr(webcam_module, "_open_capture", lambda i: cams.append(FakeCamera(5)) or cams[-1])
    with open_source("webcam:3") as src:
        assert isinstance(src, WebcamSource)
        assert (src.info.name, src.info.kind, src.info.fps, src.info.frame_count) == ("webcam:3", "webcam", 25.0, None)
        assert (src.info.width, src.info.height) == (W, H)
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]  # the probe frame is not lost
    times = [f.time_s for f in frames]
    assert times[0] == 0.0 and times == sorted(times)
    assert all(f.capture_time >= frames[0].capture_time for f in frames)
    assert cams[0].released


def test_webcam_that_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webcam_module, "_open_capture", lambda i: FakeCamera(0))
    with pytest.raises(InputError, match="sent no frame"):
        WebcamSource(0)
    monkeypatch.setattr(webcam_module, "_open_capture", lambda i: FakeCamera(5, block_s=2.0))
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="within 0.2 s"):
        WebcamSource(0, open_timeout_s=0.2)
    assert time.perf_counter() - t0 < 1.5  # gave up instead of hanging


def test_webcam_negative_index() -> None:
    with pytest.raises(InputError, match="0 or more"):
        WebcamSource(-1)


# ---------------------------------------------------------------------------------- open_source


def test_open_source_picks_the_right_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = write_video(tmp_path / "clip.mp4", 3)
    folder = tmp_path / "frames"
    folder.mkdir()
    write_image(folder / "1.png", 5)
    assert isinstance(open_source(str(video)), VideoFileSource)
    assert isinstance(open_source(video), VideoFileSource)  # a Path works too
    images = open_source(str(folder), fps=12.5)
    assert isinstance(images, ImageFolderSource) and images.info.fps == 12.5
    live = open_source(str(video), live=True)
    assert isinstance(live, LivePacedSource) and live.info.kind == "live" and live.info.frame_count == 3
    assert isinstance(open_source(str(folder), live=True).inner, ImageFolderSource)
    seen: list[int] = []
    monkeypatch.setattr(webcam_module, "_open_capture", lambda i: seen.append(i) or FakeCamera(1))
    assert isinstance(open_source("webcam:2"), WebcamSource)
    assert isinstance(open_source("WEBCAM"), WebcamSource)
    assert seen == [2, 0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no input given"),
        ("   ", "no input given"),
        ("webcam:abc", "bad webcam spec"),
        ("webcam:-1", "bad webcam spec"),
        ("rtsp://camera.local/stream", "unsupported input"),
        ("https://example.com/video.mp4", "unsupported input"),
        ("no/such/clip.mp4", "input not found"),
    ],
)
def test_open_source_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_source(spec)


@pytest.mark.parametrize("stated", [0.0, float("nan")])
def test_video_without_a_frame_rate_is_read_at_30_fps_with_a_warning(tmp_path, stated):
    src = VideoFileSource(write_video(tmp_path / "clip.mp4", 3))
    assert src._frame_rate(stated, None) == (30.0, True)
    assert len(src.warnings) == 1 and "does not state its frame rate" in src.warnings[0]
    assert "--fps" in src.warnings[0]


def test_video_frame_times_come_from_the_container_unless_fps_is_given(tmp_path):
    path = write_video(tmp_path / "clip.mp4", 4, fps=10.0)
    with VideoFileSource(path) as src:
        assert [f.time_s for f in src] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    with VideoFileSource(path, fps=4.0) as src:
        assert src.info.fps == 4.0
        assert [f.time_s for f in src] == pytest.approx([0.0, 0.25, 0.5, 0.75])
