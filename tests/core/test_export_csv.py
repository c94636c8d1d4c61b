"""CSV export: wide format round trip and header validation."""

from __future__ import annotations

import numpy as np
import pytest

from scjd_core.errors import InputError, OutputError
from scjd_core.export import read_csv, write_csv
from scjd_core.export.csv_io import csv_header
from scjd_core.skeleton import JOINT_NAMES
from tests.core.synthetic_poses import walking_clip


def test_csv_round_trip(tmp_path):
    poses = walking_clip(frames=12).astype(np.float32)
    times = np.arange(12) / 30.0
    path = tmp_path / "clip.csv"
    write_csv(path, poses, times)
    frames, t, got = read_csv(path)
    assert np.array_equal(frames, np.arange(12))
    assert np.allclose(t, times, atol=1e-6)
    assert got.shape == (12, 17, 3) and np.abs(got - poses).max() < 1e-6
    header = path.read_text().splitlines()[0].split(",")
    assert header[:5] == ["frame", "time_s", "pelvis_x", "pelvis_y", "pelvis_z"]
    assert header[-1] == f"{JOINT_NAMES[-1]}_z" and len(header) == 2 + 17 * 3


def test_csv_custom_frame_numbers_and_empty_clip(tmp_path):
    poses = walking_clip(frames=3)
    write_csv(tmp_path / "a.csv", poses, np.array([1.0, 1.5, 2.0]), frames=np.array([10, 15, 20]))
    frames, times, _ = read_csv(tmp_path / "a.csv")
    assert frames.tolist() == [10, 15, 20] and times.tolist() == [1.0, 1.5, 2.0]
    write_csv(tmp_path / "empty.csv", np.zeros((0, 17, 3)), np.zeros(0))
    frames, times, got = read_csv(tmp_path / "empty.csv")
    assert len(frames) == 0 and got.shape == (0, 17, 3)


def test_csv_rejects_wrong_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_csv(tmp_path / "missing.csv")
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="not a SCJD pose CSV"):
        read_csv(other)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="not a SCJD pose CSV"):
        read_csv(tmp_path / "empty.csv")
    bad = tmp_path / "bad.csv"
    row = ["0", "0.0"] + ["0.1"] * 51
    bad.write_text(",".join(csv_header()) + "\n" + ",".join(row) + "\n" + ",".join(row[:-1]) + "\n")
    with pytest.raises(InputError, match="line 3"):
        read_csv(bad)
    bad.write_text(",".join(csv_header()) + "\n" + ",".join(row[:-1] + ["x"]) + "\n")
    with pytest.raises(InputError, match="line 2"):
        read_csv(bad)


def test_csv_refuses_to_clobber_and_checks_shapes(tmp_path):
    path = tmp_path / "clip.csv"
    path.write_text("keep")
    with pytest.raises(OutputError, match="already exists"):
        write_csv(path, walking_clip(frames=2), np.zeros(2))
    assert path.read_text() == "keep"
    with pytest.raises(ValueError, match="times"):
        write_csv(tmp_path / "x.csv", walking_clip(frames=2), np.zeros(3))
