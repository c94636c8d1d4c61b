"""Every exporter writes atomically: a failure mid-way leaves no file, nor a temp file,
and never damages the file it was asked to overwrite. Also: format names."""

from __future__ import annotations

import numpy as np
import pytest

import scjd_core.export.bundle as bundle_mod
import scjd_core.export.bvh_writer as bvh_mod
import scjd_core.export.csv_io as csv_mod
from scjd_core.errors import OutputError
from scjd_core.export import EXPORT_FORMATS, parse_formats, write_bundle, write_bvh, write_csv
from tests.core.synthetic_poses import walking_clip


class Boom(RuntimeError):
    pass


def _half_savetxt(handle, rows, **kwargs):
    handle.write("0.0 1.0 2.0\n")  # some of the motion made it to disk...
    raise Boom("disk full")  # ...then the writer fails


def _half_savez(handle, **arrays):
    handle.write(b"PK\x03\x04partial")
    raise Boom("disk full")


class _HalfWriter:
    def __init__(self, handle, **kwargs):
        self.handle, self.rows = handle, 0

    def writerow(self, row):
        self.rows += 1
        if self.rows > 2:
            raise Boom("disk full")
        self.handle.write(",".join(map(str, row)) + "\n")


CASES = {
    "bvh": (bvh_mod.np, "savetxt", _half_savetxt, lambda p: write_bvh(p, walking_clip(4), 30.0, True)),
    "csv": (csv_mod.csv, "writer", _HalfWriter, lambda p: write_csv(p, walking_clip(4), np.zeros(4), True)),
    "npz": (bundle_mod, "_write_npz", lambda h, d: _half_savez(h), lambda p: write_bundle(p, {"x": 1}, True)),
}


@pytest.mark.parametrize("fmt", sorted(CASES))
@pytest.mark.parametrize("existing", [False, True])
def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, fmt, existing):
    target, attr, broken, write = CASES[fmt]
    path = tmp_path / f"out.{fmt}"
    if existing:
        path.write_bytes(b"previous export")
    monkeypatch.setattr(target, attr, broken)
    with pytest.raises(Boom):
        write(path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == (["out." + fmt] if existing else [])
    if existing:
        assert path.read_bytes() == b"previous export"
    monkeypatch.undo()
    write(path)  # and the same call works once the failure is gone
    assert path.stat().st_size > len(b"previous export")


def test_parse_formats():
    assert EXPORT_FORMATS == ("bvh", "csv", "json", "npz")
    assert parse_formats("bvh,csv") == ["bvh", "csv"]
    assert parse_formats(" NPZ , .json,bvh,npz ") == ["npz", "json", "bvh"]
    with pytest.raises(OutputError, match=r"'fbx'.*bvh, csv, json, npz"):
        parse_formats("bvh,fbx")
    with pytest.raises(OutputError, match="no export format"):
        parse_formats(" , ")


def test_output_set_is_all_or_nothing(tmp_path):
    from scjd_core.atomic import OutputSet

    with OutputSet(tmp_path) as outputs:
        write_csv(tmp_path / "a.csv", walking_clip(4), np.zeros(4))
        write_bvh(tmp_path / "a.bvh", walking_clip(4), 30.0)
        assert [p.name for p in outputs.pending] == ["a.csv", "a.bvh"]
        assert not (tmp_path / "a.csv").exists()  # nothing in place before the commit
        assert outputs.commit() == [tmp_path / "a.csv", tmp_path / "a.bvh"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bvh", "a.csv"]
    with pytest.raises(Boom), OutputSet(tmp_path):
        write_bundle(tmp_path / "b.json", {"x": 1})
        raise Boom("later failure")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bvh", "a.csv"]


def test_export_refuses_non_finite_poses(tmp_path):
    from scjd_core.errors import InputError
    from scjd_core.outputs import export_clip
    from scjd_core.pipeline import ClipResult
    from scjd_core.types import Lift3D, Pose2DSequence

    n = 4
    poses = walking_clip(n).astype(np.float32)
    poses[2, 3] = np.nan
    seq = Pose2DSequence(
        keypoints=np.zeros((n, 17, 2), np.float32),
        confidence=np.ones((n, 17), np.float32),
        found=np.ones(n, bool),
        filled=np.zeros(n, bool),
        times=np.arange(n) / 30.0,
        width=64,
        height=64,
        fps=30.0,
    )
    from scjd_core.types import SourceInfo

    clip = ClipResult(SourceInfo("x.mp4", "video", 30.0, 64, 64, n), seq, {"student": Lift3D(poses)})
    with pytest.raises(InputError, match="non-finite 3D poses for 1 of 4 frames"):
        export_clip(clip, tmp_path / "out", ["csv"], "x")
    assert not (tmp_path / "out").exists()
