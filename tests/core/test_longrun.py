"""Long streams lifted chunk by chunk to disk equal the in-memory lifting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scjd_core.backends.lifter import ModelBackend
from scjd_core.bench.longrun import lift_to_disk, rechunk
from scjd_core.errors import OutputError
from scjd_core.models import create_model
from scjd_core.skeleton import JOINT_NAMES
from scjd_core.synthetic import synthetic_stream

FRAMES = 131  # not a multiple of the window (9) nor of a block (9 * 4)


class SpyBackend(ModelBackend):
    """Records the length of every sequence it lifts."""

    calls: list[int]

    def lift(self, seq, attention=False):
        self.calls.append(len(seq))
        return super().lift(seq, attention)


@pytest.fixture
def backend() -> SpyBackend:
    torch.manual_seed(0)
    model = create_model("student-tiny").eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    spy = SpyBackend(model, device="cpu", batch_size=4)
    spy.calls = []
    return spy


def _whole() -> object:
    return next(synthetic_stream(FRAMES, chunk=FRAMES))


def test_npy_on_disk_equals_in_memory_lifting(backend, tmp_path):
    expected = backend.lift(_whole()).poses
    backend.calls.clear()
    stats = lift_to_disk(backend, synthetic_stream(FRAMES, chunk=7), tmp_path / "out.npy", FRAMES, block_windows=4)
    got = np.load(tmp_path / "out.npy")
    assert got.dtype == np.float32 and got.shape == (FRAMES, 17, 3)
    np.testing.assert_array_equal(got, expected)
    assert stats.frames == FRAMES and stats.blocks == len(backend.calls)
    # bounded memory: never more than one block of 4 windows is lifted at once
    assert max(backend.calls) == 4 * backend.window and sum(backend.calls) == FRAMES


def test_csv_on_disk_equals_in_memory_lifting(backend, tmp_path):
    expected = backend.lift(_whole()).poses
    lift_to_disk(backend, synthetic_stream(FRAMES, chunk=50), tmp_path / "out.csv", block_windows=4)
    header = (tmp_path / "out.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["frame", f"{JOINT_NAMES[0]}_x", f"{JOINT_NAMES[0]}_y", f"{JOINT_NAMES[0]}_z"]
    rows = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(rows[:, 0], np.arange(FRAMES))
    np.testing.assert_allclose(rows[:, 1:].reshape(FRAMES, 17, 3), expected, rtol=1e-6, atol=1e-7)


def test_wrong_lengths_and_formats_fail_cleanly(backend, tmp_path):
    with pytest.raises(OutputError, match="total frame count"):
        lift_to_disk(backend, synthetic_stream(20), tmp_path / "a.npy")
    with pytest.raises(OutputError, match="ended after 20"):
        lift_to_disk(backend, synthetic_stream(20), tmp_path / "b.npy", total_frames=30)
    with pytest.raises(OutputError, match="more than the 10"):
        lift_to_disk(backend, synthetic_stream(20), tmp_path / "c.npy", total_frames=10)
    with pytest.raises(OutputError, match=".npy or .csv"):
        lift_to_disk(backend, synthetic_stream(20), tmp_path / "d.txt")
    assert list(tmp_path.iterdir()) == []  # nothing partial left behind


def test_rechunk_regroups_exactly():
    sizes = [len(s) for s in rechunk(synthetic_stream(100, chunk=13), 36)]
    assert sizes == [36, 36, 28]
    times = np.concatenate([s.times for s in rechunk(synthetic_stream(100, chunk=13), 36)])
    np.testing.assert_allclose(times, np.arange(100) / 30.0)
