"""``scripts/profile_training.py`` measures a training step of teachers *and* students."""

from __future__ import annotations

import json

import pytest

from tests.scripts import load_script


@pytest.fixture(scope="module")
def profile_training():
    return load_script("profile_training")


@pytest.mark.parametrize("model", ["teacher-tiny", "student-tiny"])
def test_one_step_of_each_kind(profile_training, model, tmp_path, capsys):
    out = tmp_path / "figures.json"
    missing = tmp_path / "no-mocap-here"
    argv = ["--model", model, "--steps", "1", "--batch-size", "2", "--data", str(missing), "--json", str(out)]
    assert profile_training.main(argv) == 0
    figures = json.loads(out.read_text())
    assert figures["model"] == model
    assert figures["windows_per_s"] > 0 and figures["gflop_per_step"] > 0
    # the model figures stand without mocap data; the data side says why it is missing
    assert figures["data_windows_per_s_one_process"] is None and "data_note" in figures
    assert f"{model} " in capsys.readouterr().out
