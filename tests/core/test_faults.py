"""``scjd process`` under faults, interrupts and damaged video (issue 10).

Every case checks the exit code, that stderr holds exactly one ``scjd: error:`` line (or
none, for the runs that must succeed) and no traceback, and the output folder's exact
contents afterwards. The 2D detector is replaced by a fast fake one (the real MediaPipe
is covered by test_cli.py), the 3D backend is ``mediapipe`` (the detector's own 3D), and
the videos are tiny ones made here with OpenCV; damaged, variable-frame-rate and odd-rate
videos are made from them by editing their bytes.
"""

from __future__ import annotations

import errno
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import scjd_core.atomic as atomic
import scjd_core.cli as cli
import scjd_core.export as export
import scjd_core.inputs as inputs
from scjd_core.atomic import atomic_write
from scjd_core.errors import MissingDependencyError
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Detection2D
from tests.core.synthetic_poses import walking_clip

REPO = Path(__file__).resolve().parents[2]
STEM = "clip"
THREE = [f"{STEM}.json", f"{STEM}.mediapipe.bvh", f"{STEM}.mediapipe.csv"]  # bvh, csv, json


# ---------------------------------------------------------------------------- helpers
class FakeDetector:
    """A person walking on the spot, in every frame: 2D in pixels and camera-frame 3D."""

    name = "fake"
    world = walking_clip(60) * np.array([1.0, -1.0, -1.0])  # world (+Y up) -> camera axes (y down)

    def detect(self, frame) -> Detection2D:
        pose = self.world[frame.index % len(self.world)]
        h, w = frame.image.shape[:2]
        keypoints = np.stack([w / 2 + pose[:, 0] * h / 2.5, h * 0.1 + (pose[:, 1] + 1.7) * h / 2.5], -1)
        return Detection2D(
            index=frame.index,
            time_s=frame.time_s,
            keypoints=keypoints.astype(np.float32),
            confidence=np.ones(NUM_JOINTS, np.float32),
            found=True,
            world=(pose - pose[0]).astype(np.float32),
        )

    def close(self) -> None:
        pass


def install_fakes(patch, mode: str = "") -> None:
    """Use the fake detector; ``mode`` adds a fault (also used by the subprocess driver)."""
    if mode != "detector-fails":
        patch(inputs, "image_detector", FakeDetector)
    real_csv = export.write_csv
    if mode == "sigterm-between-files":

        def write_csv(path, *args, **kwargs):
            real_csv(path, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGTERM)

        patch(export, "write_csv", write_csv)
    elif mode == "detector-fails":

        class BrokenPose:
            def Pose(self, **_options):  # MediaPipe's name
                raise RuntimeError("CalculatorGraph::Initialize failed: could not load the pose model")

        import scjd_core.detect.mediapipe_pose as mp_pose

        patch(mp_pose, "import_mediapipe_pose", lambda: BrokenPose())
        patch(mp_pose, "_check_model", lambda *_: None)


@pytest.fixture
def fake(monkeypatch):
    install_fakes(monkeypatch.setattr)
    return monkeypatch


def make_video(path: Path, frames: int = 20, fps: float = 30.0, fourcc: str = "mp4v", size=(64, 64)) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        image = np.full((size[1], size[0], 3), (i * 12) % 250, np.uint8)
        cv2.putText(image, str(i), (4, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        writer.write(image)
    writer.release()
    return path


def _box(buf: bytes | bytearray, chain: list[bytes], start: int = 0, end: int | None = None) -> list[int]:
    """Offsets of the MP4 boxes along ``chain`` (e.g. moov/trak/.../stts)."""
    end = len(buf) if end is None else end
    while start < end:
        size, kind = struct.unpack(">I4s", buf[start : start + 8])
        if kind == chain[0]:
            if len(chain) == 1:
                return [start]
            return [start, *_box(buf, chain[1:], start + 8, start + size)]
        start += size
    raise KeyError(chain[0])


def make_vfr(src: Path, dst: Path, durations: list[int]) -> Path:
    """Give frame k of an OpenCV-written MP4 the duration ``durations[k]`` (media time units):
    rewrite its time-to-sample table, and the durations and edit list that would cut it."""
    buf = bytearray(src.read_bytes())
    path = _box(buf, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    stts = path[-1]
    old = struct.unpack(">I", buf[stts : stts + 4])[0]
    body = struct.pack(">II", 0, len(durations)) + b"".join(struct.pack(">II", 1, d) for d in durations)
    new = struct.pack(">I4s", 8 + len(body), b"stts") + body
    buf[stts : stts + old] = new
    for off in path[:-1]:  # the enclosing boxes grow; the media data comes first, so no offset moves
        size = struct.unpack(">I", buf[off : off + 4])[0]
        buf[off : off + 4] = struct.pack(">I", size + len(new) - old)
    mdhd = buf.find(b"mdhd") - 4
    scale = struct.unpack(">I", buf[mdhd + 20 : mdhd + 24])[0]
    buf[mdhd + 24 : mdhd + 28] = struct.pack(">I", sum(durations))
    mvhd = buf.find(b"mvhd") - 4
    movie = round(sum(durations) / scale * struct.unpack(">I", buf[mvhd + 20 : mvhd + 24])[0])
    buf[mvhd + 24 : mvhd + 28] = struct.pack(">I", movie)
    tkhd = buf.find(b"tkhd") - 4
    buf[tkhd + 28 : tkhd + 32] = struct.pack(">I", movie)
    elst = buf.find(b"elst") - 4
    buf[elst + 16 : elst + 20] = struct.pack(">I", movie)
    dst.write_bytes(bytes(buf))
    return dst


def media_timescale(path: Path) -> int:
    buf = path.read_bytes()
    mdhd = buf.find(b"mdhd") - 4
    return struct.unpack(">I", buf[mdhd + 20 : mdhd + 24])[0]


def truncated(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def corrupted(src: Path, dst: Path, start: float = 0.4, stop: float = 0.55) -> Path:
    data = bytearray(src.read_bytes())
    a, b = int(len(data) * start), int(len(data) * stop)
    data[a:b] = np.random.default_rng(7).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def listing(folder: Path) -> list[str] | None:
    """Every file and folder under ``folder`` (relative, sorted), or None when it does not exist."""
    if not folder.exists():
        return None
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def check(code: int, err: str, expected: int, contains: tuple[str, ...] = ()) -> str:
    """Exit code ``expected``; one ``scjd: error:`` line (none when 0); no traceback."""
    assert code == expected, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    errors = [line for line in _lines(err) if line.startswith("scjd: error:")]
    if expected == 0:
        assert errors == [], err
        return ""
    assert len(errors) == 1, err
    assert all(line.startswith("scjd: ") for line in _lines(err)), err  # nothing but our lines
    for text in contains:
        assert text in errors[0], errors[0]
    return errors[0]


def run(capsys, video: Path, out: Path, *extra: str, export_: str = "bvh,csv,json") -> tuple[int, str, str]:
    argv = ["process", str(video), "--backend", "mediapipe", "--export", export_, "--out", str(out), "--quiet"]
    code = cli.main([*argv, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_times(csv_path: Path) -> np.ndarray:
    from scjd_core.export import read_csv

    return read_csv(csv_path)[1]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    v = {
        "clip": make_video(d / "clip.mp4", 20),
        "avi": make_video(d / "clip.avi", 30, fourcc="MJPG"),
        "mp4_30": make_video(d / "m30.mp4", 30),
        "k1000": make_video(d / "k1000.mp4", 20, fps=1000.0),
        "slow": make_video(d / "slow.mp4", 6, fps=0.5),
    }
    v["truncated"] = truncated(v["avi"], d / "truncated.avi", 0.6)
    v["corrupted"] = corrupted(v["mp4_30"], d / "corrupted.mp4")
    v["no_index"] = truncated(v["mp4_30"], d / "no_index.mp4", 0.6)
    step = media_timescale(v["mp4_30"]) // 30
    v["vfr"] = make_vfr(v["mp4_30"], d / "vfr.mp4", [step] * 15 + [3 * step] * 15)
    return v


def _stage(folder: Path, names: list[str], text: str = "previous export\n") -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(text)
    return {name: text for name in names}


def _unchanged(folder: Path, before: dict[str, str]) -> None:
    assert listing(folder) == sorted(before)
    for name, text in before.items():
        assert (folder / name).read_text() == text


# ---------------------------------------------------------------------------- output faults
def _fail_on(monkeypatch, writer: str, exc: OSError) -> None:
    """Make ``export.<writer>`` write some bytes to its temporary file, then fail with ``exc``."""

    def failing(path, *args, **kwargs):
        with atomic_write(path, "w", overwrite=True) as handle:
            handle.write("half a file\n")
            raise exc

    monkeypatch.setattr(export, writer, failing)


def test_enospc_during_second_of_three_files(capsys, fake, videos, tmp_path):
    _fail_on(fake, "write_csv", OSError(errno.ENOSPC, "No space left on device"))
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    msg = check(code, err, 4, ("clip.mediapipe.csv", "no space left on device", "free some space"))
    assert f"nothing was written ({out} was not created)" in msg
    assert listing(out) is None


def test_enospc_during_second_of_three_files_keeps_the_previous_export(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    before = _stage(out, THREE)
    _fail_on(fake, "write_csv", OSError(errno.ENOSPC, "No space left on device"))
    code, _, err = run(capsys, videos["clip"], out, "--overwrite")
    check(code, err, 4, ("no space left on device", f"nothing was written or changed in {out}"))
    _unchanged(out, before)


def test_enospc_in_an_existing_folder_leaves_it_as_it_was(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    before = _stage(out, ["notes.txt"])
    _fail_on(fake, "write_bundle", OSError(errno.EDQUOT, "Disk quota exceeded"))
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("clip.json", "quota", "nothing was written or changed"))
    _unchanged(out, before)


def test_permission_denied_while_writing(capsys, fake, videos, tmp_path):
    _fail_on(fake, "write_bvh", PermissionError(errno.EACCES, "Permission denied"))
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("clip.mediapipe.bvh", "permission denied", "--out"))
    assert listing(out) is None


def test_io_error_on_the_last_file(capsys, fake, videos, tmp_path):
    _fail_on(fake, "write_bundle", OSError(errno.EIO, "Input/output error"))
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("clip.json", "input/output error"))
    assert listing(out) is None


class _RenameFails:
    """Stands in for the ``os`` module inside scjd_core.atomic; the n-th rename fails."""

    def __init__(self, n: int, error: OSError | None = None, on_first=None) -> None:
        self.n, self.calls, self.error, self.on_first = n, 0, error, on_first

    def rename(self, src, dst):
        self.calls += 1
        if self.on_first is not None and self.calls == 1:
            self.on_first()
        if self.calls == self.n and self.error is not None:
            raise self.error
        os.rename(src, dst)

    def __getattr__(self, name):
        return getattr(os, name)


def test_failed_rename_puts_every_file_back(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    before = _stage(out, THREE)
    # with every file existing, each is moved aside then replaced: rename 4 is the 2nd file's
    fake.setattr(atomic, "os", _RenameFails(4, OSError(errno.EIO, "Input/output error")))
    code, _, err = run(capsys, videos["clip"], out, "--overwrite")
    check(code, err, 4, ("input/output error", f"nothing was written or changed in {out}"))
    _unchanged(out, before)


def test_signal_during_the_renames_waits_for_them(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    fake.setattr(atomic, "os", _RenameFails(0, on_first=lambda: os.kill(os.getpid(), signal.SIGTERM)))
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 143, ("interrupted by SIGTERM after the outputs were written",))
    assert listing(out) == THREE


def test_a_folder_in_the_way_of_an_output(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    (out / "clip.mediapipe.csv").mkdir(parents=True)
    code, _, err = run(capsys, videos["clip"], out, "--overwrite")
    check(code, err, 4, ("clip.mediapipe.csv", "a folder is in the way"))
    assert listing(out) == ["clip.mediapipe.csv"]


def test_out_in_a_pseudo_file_system(capsys, fake, videos):
    code, _, err = run(capsys, videos["clip"], Path("/proc"))
    check(code, err, 4, ("/proc",))
    assert not Path("/proc/clip.json").exists()


def test_out_is_a_file(capsys, fake, videos, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, videos["clip"], blocker)
    check(code, err, 4, ("is a file",))
    assert listing(tmp_path) == ["file"] and blocker.read_text() == "x"


def test_out_below_a_file(capsys, fake, videos, tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, videos["clip"], tmp_path / "file" / "sub")
    check(code, err, 4, ("is a file",))
    assert listing(tmp_path) == ["file"]


def test_unwritable_out_is_found_before_processing(capsys, fake, videos, tmp_path, monkeypatch):
    """A read-only file system (simulated: root may write anywhere else) fails at once."""

    class ReadOnly:
        def mkstemp(self, *args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic, "tempfile", ReadOnly())
    monkeypatch.setattr(inputs, "image_detector", lambda: pytest.fail("processing started"))
    out = tmp_path / "ro"
    out.mkdir()
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("read-only", "choose another --out"))
    assert listing(out) == []


def test_existing_outputs_are_not_overwritten(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    before = _stage(out, THREE[:1])
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("already exists", "--overwrite"))
    _unchanged(out, before)


def test_unexpected_failure_is_one_line_and_leaves_nothing(capsys, fake, videos, tmp_path):
    def broken(path, data, overwrite=False):
        with atomic_write(path, "w", overwrite=overwrite) as handle:
            handle.write("{")
            raise ValueError("an unexpected bug")

    fake.setattr(export, "write_bundle", broken)
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 1, ("internal error", "an unexpected bug", "report"))
    assert listing(out) is None


def test_stale_temporary_files_are_removed_safely(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = 2**22 + 12345  # above the largest pid_max Linux allows, so no process has it
    old = time.time() - 2 * 3600
    (out / f".scjd-{dead}-abc123.part").write_text("killed run")
    os.utime(out / f".scjd-{dead}-abc123.part", (old, old))
    (out / f".scjd-{dead}-fresh1.part").write_text("a run in another pid namespace, maybe")
    (out / f".scjd-{os.getppid()}-live01.part").write_text("a run still writing")
    (out / f".scjd-{dead}-aside1.old").write_text("an original moved aside")
    (out / ".clip.mediapipe.csv.ab12cd34.part").write_text("older scjd, killed")
    os.utime(out / ".clip.mediapipe.csv.ab12cd34.part", (old, old))
    (out / ".other.txt.ab12cd34.part").write_text("not ours")
    os.utime(out / ".other.txt.ab12cd34.part", (old, old))
    (out / f".scjd-{dead}-link01.part").symlink_to(out / f".scjd-{dead}-aside1.old")
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 0)
    assert listing(out) == sorted(
        [
            f".scjd-{os.getppid()}-live01.part",
            f".scjd-{dead}-fresh1.part",
            f".scjd-{dead}-aside1.old",
            f".scjd-{dead}-link01.part",
            ".other.txt.ab12cd34.part",
            *THREE,
        ]
    )


def _driver(tmp_path: Path, mode: str) -> Path:
    script = tmp_path / "driver.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, threading
            sys.path.insert(0, {str(REPO)!r})
            from tests.core import test_faults
            from scjd_core import cli

            def patch(obj, name, value):
                setattr(obj, name, value)

            test_faults.install_fakes(patch, {mode!r})
            code = cli.main(sys.argv[1:])
            with open({str(tmp_path / "threads.txt")!r}, "w") as fh:
                fh.write(",".join(sorted(t.name for t in threading.enumerate() if t.is_alive())))
            sys.exit(code)
            """
        )
    )
    return script


def _run_driver(tmp_path: Path, mode: str, argv: list[str], stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(_driver(tmp_path, mode)), *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def _argv(video: Path, out: Path, *extra: str) -> list[str]:
    return ["process", str(video), "--backend", "mediapipe", "--out", str(out), "--quiet", *extra]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_on_a_full_device(videos, tmp_path):
    out = tmp_path / "out"
    with open("/dev/full", "w") as full:
        proc = _run_driver(tmp_path, "", _argv(videos["clip"], out), stdout=full)
    check(proc.returncode, proc.stderr, 4, ("cannot write to standard output", "no space left", "were written"))
    assert listing(out) == THREE


# ---------------------------------------------------------------------------- interrupts
def _signal_between_files(monkeypatch, signum: int) -> None:
    real_csv = export.write_csv

    def write_csv(path, *args, **kwargs):
        real_csv(path, *args, **kwargs)
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(export, "write_csv", write_csv)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_between_files_of_a_set(capsys, fake, videos, tmp_path, signum, code):
    _signal_between_files(fake, signum)
    out = tmp_path / "out"
    got, _, err = run(capsys, videos["clip"], out)
    check(got, err, code, ("interrupted by", f"nothing was written to {out}"))
    assert listing(out) is None


def test_sigterm_between_files_keeps_the_previous_export(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    before = _stage(out, THREE)
    _signal_between_files(fake, signal.SIGTERM)
    code, _, err = run(capsys, videos["clip"], out, "--overwrite")
    check(code, err, 143, ("SIGTERM", "nothing was written"))
    _unchanged(out, before)


def test_sigterm_to_a_real_process_between_files(videos, tmp_path):
    out = tmp_path / "out"
    proc = _run_driver(tmp_path, "sigterm-between-files", _argv(videos["clip"], out))
    check(proc.returncode, proc.stderr, 143, ("interrupted by SIGTERM: nothing was written",))
    assert listing(out) is None
    assert "scjd-" not in (tmp_path / "threads.txt").read_text()  # no decoding or lifting thread left


def test_ctrl_c_while_processing(capsys, fake, videos, tmp_path):
    class Interrupting(FakeDetector):
        def detect(self, frame):
            if frame.index == 5:
                os.kill(os.getpid(), signal.SIGINT)
            return super().detect(frame)

    fake.setattr(inputs, "image_detector", Interrupting)
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 130, ("interrupted by Ctrl-C (SIGINT): nothing was written",))
    assert listing(out) is None


# ---------------------------------------------------------------------------- damaged video
def test_cut_off_video_is_an_error(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["truncated"], out)
    msg = check(code, err, 2, ("truncated.avi", "damaged or cut off", "of the 30 frames", "--allow-partial"))
    assert 10 <= int(msg.split(" of the 30")[0].rsplit(" ", 1)[1]) < 30
    assert listing(out) is None


def test_cut_off_video_accepted_with_allow_partial(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["truncated"], out, "--allow-partial")
    check(code, err, 0)
    warnings = [line for line in _lines(err) if line.startswith("scjd: warning:")]
    assert len(warnings) == 1 and "of the 30 frames" in warnings[0], err
    read = int(warnings[0].split(" of the 30")[0].rsplit(" ", 1)[1])
    assert 10 <= read < 30
    assert listing(out) == [name.replace("clip", "truncated") for name in THREE]
    assert len(read_times(out / "truncated.mediapipe.csv")) == read


def test_mid_corrupted_video_is_an_error_and_ffmpeg_stays_quiet(videos, tmp_path):
    out = tmp_path / "out"
    proc = _run_driver(tmp_path, "", _argv(videos["corrupted"], out))
    msg = check(proc.returncode, proc.stderr, 2, ("corrupted.mp4", "of the 30 frames", "--allow-partial"))
    assert "@ 0x" not in proc.stderr and "[mpeg4" not in proc.stderr  # no FFmpeg line
    assert int(msg.split(" of the 30")[0].rsplit(" ", 1)[1]) > 12  # decoding went on past the damage
    assert listing(out) is None


def test_mid_corrupted_video_with_allow_partial_keeps_real_times(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["corrupted"], out, "--allow-partial")
    check(code, err, 0)
    assert listing(out) == [name.replace("clip", "corrupted") for name in THREE]
    times = read_times(out / "corrupted.mediapipe.csv")
    assert len(times) < 30
    assert times[-1] == pytest.approx(29 / 30, abs=1e-3)  # the frames after the damage keep their times
    assert np.diff(times).max() > 1.5 / 30  # and the gap shows


def test_video_cut_before_its_index(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["no_index"], out)
    check(code, err, 2, ("cannot open", "no_index.mp4"))
    assert listing(out) is None


# ---------------------------------------------------------------------------- time
def _frame_time(bvh: Path) -> float:
    line = next(ln for ln in bvh.read_text().splitlines() if ln.startswith("Frame Time:"))
    return float(line.split(":")[1])


def test_1000_fps_video_keeps_its_rate(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run(capsys, videos["k1000"], out)
    check(code, err, 0)
    assert listing(out) == [name.replace("clip", "k1000") for name in THREE]
    assert "1000 fps source" in stdout
    assert _frame_time(out / "k1000.mediapipe.bvh") == pytest.approx(0.001)
    assert np.allclose(np.diff(read_times(out / "k1000.mediapipe.csv")), 0.001, atol=1e-6)


def test_variable_frame_rate_video_gets_the_container_times(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["vfr"], out)
    check(code, err, 0)
    assert listing(out) == [name.replace("clip", "vfr") for name in THREE]
    times = read_times(out / "vfr.mediapipe.csv")
    expected = np.concatenate([np.arange(15) / 30, 0.5 + np.arange(15) / 10])
    assert len(times) == 30
    assert np.allclose(times, expected, atol=2e-3)


def test_frame_rate_outside_the_sane_range_is_refused(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["slow"], out)
    check(code, err, 2, ("0.5 fps", "--fps"))
    assert listing(out) is None


def test_frame_rate_given_with_fps_is_taken_as_given(capsys, fake, videos, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["slow"], out, "--fps", "0.5")
    check(code, err, 0)
    assert listing(out) == [name.replace("clip", "slow") for name in THREE]
    assert _frame_time(out / "slow.mediapipe.bvh") == pytest.approx(2.0)
    assert np.allclose(read_times(out / "slow.mediapipe.csv"), np.arange(6) * 2.0)


@pytest.mark.parametrize("value", ["0", "-30", "nan"])
def test_bad_fps_option(capsys, fake, videos, tmp_path, value):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out, "--fps", value)
    check(code, err, 2, ("--fps must be a positive number",))
    assert listing(out) is None


# ---------------------------------------------------------------------------- detector
def test_detector_that_fails_to_start(videos, tmp_path):
    out = tmp_path / "out"
    proc = _run_driver(tmp_path, "detector-fails", _argv(videos["clip"], out))
    check(proc.returncode, proc.stderr, 2, ("2D detector (MediaPipe Pose) could not start", "CalculatorGraph"))
    assert "scjd-" not in (tmp_path / "threads.txt").read_text()  # no decoding thread left behind
    assert listing(out) is None


def test_detector_not_installed(capsys, fake, videos, tmp_path):
    def missing():
        raise MissingDependencyError("MediaPipe is not installed (needed for 2D detection): pip install mediapipe")

    fake.setattr(inputs, "image_detector", missing)
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 2, ("pip install mediapipe",))
    assert listing(out) is None


# ---------------------------------------------------------------------------- smaller items
@pytest.mark.parametrize("value", ["0", "-3"])
def test_max_frames_must_be_positive(capsys, fake, videos, tmp_path, value):
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out, "--max-frames", value)
    check(code, err, 2, ("--max-frames must be 1 or more",))
    assert listing(out) is None


def test_unicode_names_do_not_collide(capsys, fake, videos, tmp_path):
    out = tmp_path / "Ausgabe – ü 出力"
    for name in ("tanz_舞.mp4", "tanz_歌.mp4"):
        video = tmp_path / name
        video.write_bytes(videos["clip"].read_bytes())
        code, stdout, err = run(capsys, video, out, export_="csv")
        check(code, err, 0)
        assert name.replace(".mp4", ".mediapipe.csv") in stdout
    assert listing(out) == ["tanz_歌.mediapipe.csv", "tanz_舞.mediapipe.csv"]


def test_unicode_name_in_an_error(capsys, fake, tmp_path):
    out = tmp_path / "out"
    code, _, err = run(capsys, tmp_path / "vidéo_舞.mp4", out)
    check(code, err, 2, ("vidéo_舞.mp4", "check the path"))
    assert listing(out) is None


def test_long_input_name(capsys, fake, videos, tmp_path):
    """229 characters: the outputs fit (temporary names are short); 250: the stem is cut to 230 bytes."""
    out = tmp_path / "out"
    for n in (229, 250):
        video = tmp_path / ("x" * (n - 4) + ".mp4")
        video.write_bytes(videos["clip"].read_bytes())
        code, _, err = run(capsys, video, out, export_="bvh")
        check(code, err, 0)
    assert listing(out) == ["x" * 225 + ".mediapipe.bvh", "x" * 230 + ".mediapipe.bvh"]


def test_usage_errors_are_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["process", "clip.mp4", "--max-frames", "many", "--out", str(tmp_path / "out")])
    check(exit_info.value.code, capsys.readouterr().err, 2, ("--max-frames", "invalid int value", "--help"))
    assert listing(tmp_path) == []


def test_real_detector_run_prints_only_its_own_line(videos, tmp_path):
    """The real MediaPipe on a corrupted clip: no FFmpeg, OpenCV or MediaPipe line reaches stderr."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "scjd_core.cli", *_argv(videos["corrupted"], out, "--allow-partial")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    check(proc.returncode, proc.stderr, 3, ("no person was detected",))  # the clip shows no one
    assert [line.split(":")[1] for line in _lines(proc.stderr)] == [" warning", " error"], proc.stderr
    assert listing(out) is None


def test_out_folder_name_too_long(capsys, fake, videos, tmp_path):
    out = tmp_path / ("y" * 300) / "sub"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("too long", "choose a shorter --out path"))
    assert listing(tmp_path) == []


def test_output_name_too_long_for_the_file_system(capsys, fake, videos, tmp_path, monkeypatch):
    import scjd_core.outputs as outputs

    monkeypatch.setattr(outputs, "name_max", lambda _folder: 16)  # e.g. an old or encrypted file system
    out = tmp_path / "out"
    code, _, err = run(capsys, videos["clip"], out)
    check(code, err, 4, ("clip.mediapipe.bvh", "longer than the 16 bytes", "rename the input"))
    assert listing(out) is None
