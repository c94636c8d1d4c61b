"""JSON / NPZ bundles: round trip, no pickle, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scjd_core.errors import InputError, OutputError
from scjd_core.export import read_bundle, write_bundle
from scjd_core.skeleton import JOINT_NAMES


def _bundle(frames: int = 6) -> dict:
    rng = np.random.default_rng(0)
    conf = rng.uniform(size=(frames, 17)).astype(np.float32)
    conf[1, 3] = np.nan
    return {
        "meta": {
            "fps": 30.0,
            "width": 640,
            "height": 480,
            "source": "clip.mp4",
            "versions": {"scjd": "0.1.0", "numpy": np.__version__},
            "joint_names": list(JOINT_NAMES),
            "coordinate_frame": "metres, +Y up",
            "note": None,
        },
        "times": np.arange(frames) / 30.0,
        "keypoints_2d": rng.uniform(0, 640, size=(frames, 17, 2)).astype(np.float32),
        "confidence": conf,
        "found": np.array([True, False] * (frames // 2)),
        "filled": np.zeros(frames, dtype=bool),
        "frame_index": np.arange(frames, dtype=np.int64),
        "labels": np.array(["a", "bb", "ccc"]),
        "poses_world": {
            "student": rng.normal(size=(frames, 17, 3)).astype(np.float32),
            "teacher": rng.normal(size=(frames, 17, 3)),
        },
        "empty": np.zeros((0, 17, 3), dtype=np.float32),
    }


def _assert_same(a, b) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b)
        for k in a:
            _assert_same(a[k], b[k])
    else:
        assert a == b


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_bundle_round_trip(tmp_path, suffix):
    data = _bundle()
    path = tmp_path / f"clip{suffix}"
    write_bundle(path, data)
    _assert_same(data, read_bundle(path))


def test_npz_loads_without_pickle(tmp_path):
    path = tmp_path / "clip.npz"
    write_bundle(path, _bundle())
    with np.load(path, allow_pickle=False) as npz:
        assert "poses_world/student" in npz.files
        assert npz["poses_world/student"].shape == (6, 17, 3)
        header = json.loads(str(npz["__scjd_bundle__"]))
        assert header["data"]["meta"]["fps"] == 30.0


def test_json_is_strict_and_readable(tmp_path):
    path = tmp_path / "clip.json"
    write_bundle(path, _bundle())
    text = path.read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert doc["data"]["confidence"]["data"][1][3] is None  # NaN -> null
    assert doc["data"]["meta"]["joint_names"][0] == "pelvis"
    # float32 values are written by their shortest repr, not as long doubles
    first = doc["data"]["keypoints_2d"]["data"][0][0][0]
    assert len(repr(first)) <= 12


def test_bundle_rejects_bad_paths_and_data(tmp_path):
    with pytest.raises(OutputError, match=r"\.json or \.npz"):
        write_bundle(tmp_path / "clip.txt", {})
    with pytest.raises(ValueError, match="dtype object"):
        write_bundle(tmp_path / "clip.npz", {"x": np.array([{}], dtype=object)})
    with pytest.raises(ValueError, match="'/'"):
        write_bundle(tmp_path / "clip.npz", {"a/b": np.zeros(2)})
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(OutputError, match="already exists"):
        write_bundle(tmp_path / "c.json", {"x": 1})
    assert (tmp_path / "c.json").read_text() == "{}"


def test_read_bundle_rejects_other_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_bundle(tmp_path / "nope.json")
    with pytest.raises(InputError, match=r"\.json or \.npz"):
        read_bundle(tmp_path / "nope.csv")
    (tmp_path / "a.json").write_text('{"foo": 1}')
    with pytest.raises(InputError, match="not a SCJD bundle"):
        read_bundle(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(InputError, match="not a readable SCJD bundle"):
        read_bundle(tmp_path / "b.json")
    np.savez(tmp_path / "c.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="not a SCJD bundle"):
        read_bundle(tmp_path / "c.npz")
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match="not a readable SCJD bundle"):
        read_bundle(tmp_path / "d.npz")
