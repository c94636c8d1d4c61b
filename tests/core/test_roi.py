"""Choosing the person: the ROI box, the crop that follows them, finding people, ``--roi``.

The tracker's logic is tested with a stand-in detector on drawn "people" (white
rectangles), where every frame's truth is known; the real MediaPipe path is tested on a
two-person clip made from the shipped demo footage (``scripts/roi_check.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scjd_core.cli import main
from scjd_core.detect.base import Detector2D, empty_detection
from scjd_core.detect.people import find_people
from scjd_core.detect.roi import Box, RoiDetector, check_roi, person_box
from scjd_core.errors import InputError
from scjd_core.skeleton import NUM_JOINTS
from scjd_core.types import Detection2D, Frame
from tests.core.test_cli import _run_error
from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ the box
def test_parse_box():
    assert Box.parse("10,20,30,40") == Box(10, 20, 30, 40)
    assert Box.parse(" 10, 20 ,30.5 40 ") == Box(10, 20, 30.5, 40)
    assert Box.parse("1,2,3,4").text() == "1,2,3,4"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,2,3", "not four numbers"),
        ("a,b,c,d", "not four numbers"),
        ("1,2,3,4,5", "not four numbers"),
        ("1,2,nan,4", "not four numbers"),
        ("", "not four numbers"),
        ("10,10,0,50", "zero or negative size"),
        ("10,10,50,-5", "zero or negative size"),
    ],
)
def test_malformed_box_says_what_to_give(text, words):
    with pytest.raises(InputError, match=words) as info:
        Box.parse(text, what="--roi")
    assert "X,Y,W,H" in str(info.value)


def test_check_roi_cuts_a_box_partly_outside_and_refuses_one_outside():
    assert check_roi(Box(-10, -20, 50, 60), 100, 80) == Box(0, 0, 40, 40)
    with pytest.raises(InputError, match="outside the 100x80 image"):
        check_roi(Box(100, 10, 20, 20), 100, 80)
    with pytest.raises(InputError, match="covers only 5x20 pixels"):
        check_roi(Box(95, 10, 20, 20), 100, 80)


# --------------------------------------------------------------- a stand-in detector
SIZE = (240, 320)  # height, width


def _scene(people: list[tuple[int, int]], w: int = 40, h: int = 100) -> np.ndarray:
    """A dark frame with a white ``w`` x ``h`` rectangle ("person") at each top-left corner."""
    image = np.zeros((*SIZE, 3), np.uint8)
    for x, y in people:
        image[max(y, 0) : y + h, max(x, 0) : x + w] = 255
    return image


class LeftmostBlob(Detector2D):
    """Finds the leftmost white rectangle in what it is shown (like MediaPipe, one person)."""

    name = "blob"

    def __init__(self) -> None:
        self.resets = 0
        self.crops: list[tuple[int, int]] = []

    def detect(self, frame: Frame) -> Detection2D:
        self.crops.append(frame.image.shape[:2])
        mask = frame.image[..., 0] > 128
        if not mask.any():
            return empty_detection(frame.index, frame.time_s)
        cols = np.flatnonzero(mask.any(axis=0))
        first = cols[0]
        last = first
        while last + 1 < mask.shape[1] and mask[:, last + 1].any():
            last += 1
        rows = np.flatnonzero(mask[:, first : last + 1].any(axis=1))
        xs = np.linspace(first, last, NUM_JOINTS)
        ys = np.linspace(rows[0], rows[-1], NUM_JOINTS)
        return Detection2D(
            index=frame.index,
            time_s=frame.time_s,
            keypoints=np.stack([xs, ys], axis=1).astype(np.float32),
            confidence=np.ones(NUM_JOINTS, np.float32),
            found=True,
        )

    def reset(self) -> None:
        self.resets += 1


def _frames(scenes: list[np.ndarray]) -> list[Frame]:
    return [Frame(i, i / 30.0, image, 0.0) for i, image in enumerate(scenes)]


def _center_x(det: Detection2D) -> float:
    return float(det.keypoints[:, 0].mean())


def test_plain_detector_takes_the_other_person_but_the_roi_keeps_the_chosen_one():
    # person A stands still on the left; person B (the chosen one) walks right to left
    scenes = [_scene([(20, 60), (200 - 3 * i, 70)]) for i in range(40)]
    plain = [LeftmostBlob().detect(f) for f in _frames(scenes)]
    assert all(abs(_center_x(d) - 40) < 1 for d in plain)  # always A
    tracker = RoiDetector(LeftmostBlob(), Box(190, 60, 60, 120))
    dets = [tracker.detect(f) for f in _frames(scenes)]
    assert all(d.found for d in dets)
    for i, det in enumerate(dets):
        assert abs(_center_x(det) - (200 - 3 * i + 20)) < 1.5, i  # B's centre, in full-frame pixels
        x, y, w, h = det.box
        assert x <= _center_x(det) <= x + w  # the searched crop is around B
        assert not (x <= 40 <= x + w), "the crop reached the other person"


def test_a_miss_keeps_the_crop_there_and_the_person_is_reacquired():
    scenes = [_scene([(20, 60), (200, 70)]) for _ in range(5)]
    scenes += [_scene([(20, 60)]) for _ in range(4)]  # B leaves the frame (or is hidden)
    scenes += [_scene([(20, 60), (205, 70)]) for _ in range(5)]
    tracker = RoiDetector(LeftmostBlob(), Box(190, 60, 60, 120))
    dets = [tracker.detect(f) for f in _frames(scenes)]
    assert [d.found for d in dets] == [True] * 5 + [False] * 4 + [True] * 5
    widths = [d.box[2] for d in dets[5:9]]
    assert widths == sorted(widths) and widths[-1] > widths[0]  # the search widens while missing
    assert all(abs(_center_x(d) - 225) < 1 for d in dets[9:])


class Scripted(Detector2D):
    """Returns a 40 x 100 "person" centred where the test says (full-frame pixels)."""

    name = "scripted"

    def __init__(self) -> None:
        self.at: tuple[float, float] | None = None
        self.offset = (0.0, 0.0)
        self.resets = 0

    def detect(self, frame: Frame) -> Detection2D:
        if self.at is None:
            return empty_detection(frame.index, frame.time_s)
        cx, cy = self.at[0] - self.offset[0], self.at[1] - self.offset[1]
        xs = np.linspace(cx - 20, cx + 20, NUM_JOINTS)
        ys = np.linspace(cy - 50, cy + 50, NUM_JOINTS)
        kp = np.stack([xs, ys], axis=1).astype(np.float32)
        return Detection2D(frame.index, frame.time_s, kp, np.ones(NUM_JOINTS, np.float32), True)

    def reset(self) -> None:
        self.resets += 1


def _step(tracker: RoiDetector, inner: Scripted, at: tuple[float, float] | None) -> Detection2D:
    search = tracker.search_box(SIZE[1], SIZE[0])
    x0, y0, _x1, _y1 = search.pixel_bounds(SIZE[1], SIZE[0])
    inner.at, inner.offset = at, (x0, y0)
    return tracker.detect(Frame(0, 0.0, np.zeros((*SIZE, 3), np.uint8), 0.0))


def test_somebody_else_in_the_crop_is_refused_not_followed():
    inner = Scripted()
    tracker = RoiDetector(inner, Box(190, 60, 60, 120))
    assert _step(tracker, inner, (220, 120)).found  # the chosen person
    assert _step(tracker, inner, (226, 122)).found  # moving a little: still them
    # a detection more than half a body away from where they were is somebody else
    det = _step(tracker, inner, (226 - 70, 122))
    assert not det.found and inner.resets == 1 and tracker.misses == 1
    assert tracker.track.center == pytest.approx((226, 122))  # the track stays on the chosen person
    assert _step(tracker, inner, (228, 124)).found  # and takes them back when they show again


def test_first_frame_takes_only_the_person_inside_the_box():
    inner = Scripted()
    tracker = RoiDetector(inner, Box(190, 60, 60, 120))
    assert not _step(tracker, inner, (120, 120)).found  # found in the grown crop, but centred outside the box
    assert inner.resets == 1


def test_reset_starts_again_from_the_roi():
    tracker = RoiDetector(LeftmostBlob(), Box(190, 60, 60, 120))
    for frame in _frames([_scene([(200 - 10 * i, 70)]) for i in range(5)]):
        tracker.detect(frame)
    assert tracker.track != tracker.roi
    tracker.reset()
    assert tracker.track == tracker.roi and tracker.misses == 0


def test_person_box_prefers_visible_landmarks():
    landmarks = np.zeros((33, 4), np.float32)
    landmarks[:, 0] = np.linspace(10, 50, 33)
    landmarks[:, 1] = np.linspace(20, 120, 33)
    landmarks[:, 3] = 0.9
    landmarks[0] = (500, 500, 0, 0.01)  # invisible: ignored
    det = Detection2D(0, 0.0, np.zeros((17, 2), np.float32), np.ones(17, np.float32), True, landmarks=landmarks)
    box = person_box(det)
    assert box.x == pytest.approx(landmarks[1, 0]) and box.x + box.w == pytest.approx(50)
    assert person_box(empty_detection(0, 0.0)) is None


def test_find_people_paints_over_each_one_found():
    scene = _scene([(20, 60), (150, 40), (260, 80)])
    people = find_people(scene, detector_factory=LeftmostBlob)
    assert [round(p.box.x) for p in people] == [20, 150, 260]
    assert find_people(_scene([]), detector_factory=LeftmostBlob) == []


# ---------------------------------------------------------- real footage, MediaPipe
@pytest.fixture(scope="module")
def roi_check():
    return load_script("roi_check")


@pytest.fixture(scope="module")
def two_people(roi_check, tmp_path_factory):
    pytest.importorskip("mediapipe")
    out = tmp_path_factory.mktemp("two_people")
    return out, roi_check.run(out, frames=60)


def test_roi_keeps_the_2d_on_each_person_of_a_real_two_person_clip(two_people):
    _out, report = two_people
    assert len(report["candidates"]) == 2  # `scjd people` offers both dancers
    for person in report["people"]:
        assert person["within_tolerance"] >= 0.95, person
    # without --roi MediaPipe follows one of them only: the other needs the box
    assert min(p["without_roi_within_tolerance"] for p in report["people"]) < 0.5


def test_cli_roi_records_the_box_and_the_tracked_crop(two_people, tmp_path, capsys):
    out_dir, report = two_people
    right = report["people"][1]["roi"]
    code = main(
        ["process", str(out_dir / "two_people.mp4"), "--roi", right, "--export", "json", "--out", str(tmp_path)]
        + ["--quiet"]
    )
    assert code == 0
    data = json.loads((tmp_path / "two_people.json").read_text())["data"]
    assert data["meta"]["roi"] == [float(v) for v in right.split(",")]
    boxes = np.array(data["tracked_box"]["data"], dtype=np.float64)
    assert boxes.shape == (60, 4)
    keypoints = np.array(data["keypoints_2d"]["data"])
    assert (keypoints[:, :, 0] > 576).mean() > 0.99  # the right dancer, all along
    assert (
        (keypoints[:, :, 0] >= boxes[:, None, 0]) & (keypoints[:, :, 0] <= boxes[:, None, 0] + boxes[:, None, 2])
    ).mean() > 0.95


def test_cli_people_lists_both_dancers(two_people, capsys):
    out_dir, _report = two_people
    assert main(["people", str(out_dir / "two_people.mp4"), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["people"]
    assert len(listed) == 2 and listed[0]["box"][0] < 576 < listed[1]["box"][0]


def test_bundle_without_roi_says_so(tmp_path):
    demo = REPO / "assets" / "demo" / "pose_1.mp4"
    assert (
        main(["process", str(demo), "--export", "json", "--out", str(tmp_path), "--quiet", "--max-frames", "20"]) == 0
    )
    data = json.loads((tmp_path / "pose_1.json").read_text())["data"]
    assert data["meta"]["roi"] is None and "tracked_box" not in data


# ----------------------------------------------------------------- bad boxes at the CLI
@pytest.mark.parametrize(
    ("roi", "words"),
    [
        ("700,10,40,50", "lies outside the 576x576 image"),
        ("-100,-100,50,50", "lies outside the 576x576 image"),
        ("570,10,40,50", "covers only 6x50 pixels"),
        ("10,10,0,50", "zero or negative size"),
        ("1,2,3", "not four numbers"),
        ("left", "not four numbers"),
    ],
)
def test_bad_roi_is_one_error_line_and_nothing_written(capsys, tmp_path, roi, words):
    demo = REPO / "assets" / "demo" / "pose_1.mp4"
    out = tmp_path / "out"
    line = _run_error(capsys, ["process", str(demo), f"--roi={roi}", "--out", str(out), "--quiet"], tmp_path)
    assert words in line and "--roi" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "words"),
    [(["--frame", "500"], "has no frame 500"), (["--frame", "-1"], "--frame must be 0 or more")],
)
def test_people_bad_frame(capsys, tmp_path, extra, words):
    demo = REPO / "assets" / "demo" / "pose_1.mp4"
    line = _run_error(capsys, ["people", str(demo), *extra], tmp_path)
    assert words in line


def test_people_missing_input(capsys, tmp_path):
    line = _run_error(capsys, ["people", str(tmp_path / "nope.mp4")], tmp_path)
    assert "input not found" in line
