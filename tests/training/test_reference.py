"""Reference rows: the training mean pose and the frame-wise MLP (training, checkpoints, evaluation, card)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scjd_core.errors import CheckpointError, InputError
from scjd_core.models import create_model, save_checkpoint
from scjd_core.skeleton import JOINT_INDEX
from tests.training.mini_mocap import make_mini_mocap
from training.__main__ import main
from training.common import fixed_batches
from training.data.noise import DetectorNoise
from training.evaluate import score
from training.metrics import mpjpe
from training.mlp_training import MLPTrainOptions, train_mlp, training_noise_models
from training.mocap_data import load_mocap_data
from training.model_card import render_model_card
from training.reference import (
    FrameMLP,
    MLPConfig,
    flops_per_frame,
    load_mlp,
    mean_pose,
    predict_frames,
    save_mlp,
)

SMALL = MLPConfig(hidden=64, blocks=2, dropout=0.0)


@pytest.fixture(scope="module")
def mocap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mini_mocap(tmp_path_factory.mktemp("mocap"))


@pytest.fixture(scope="module")
def mocap(mocap_dir: Path):
    return load_mocap_data(mocap_dir, cache_dir=None, progress=False)


def _opts(out: Path, mocap, **kw) -> MLPTrainOptions:
    base = dict(out=out, minutes=0.0, max_steps=20, window=9, batch_windows=8, frames_per_window=8, lr=3e-3,
                warmup=2, val_windows=8, config=SMALL, mocap=mocap, device="cpu", progress=False)  # fmt: skip
    return MLPTrainOptions(**{**base, **kw})


def test_mean_pose_is_deterministic_and_upright(mocap) -> None:
    a = mean_pose(mocap.splits["train"], windows=64)
    b = mean_pose(mocap.splits["train"], windows=64)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (17, 3) and a.dtype == np.float32 and (a[0] == 0).all()
    head, ankle = a[JOINT_INDEX["head"]], a[JOINT_INDEX["left_ankle"]]
    assert head[1] < -0.3 and ankle[1] > 0.5  # camera y points down: head above, ankles below the pelvis
    # Mirrors half of the time: left and right are nearly symmetric in x on average.
    assert abs(a[JOINT_INDEX["left_hip"], 0] + a[JOINT_INDEX["right_hip"], 0]) < 0.05


def test_mlp_shapes_flops_and_checkpoint_round_trip(tmp_path: Path) -> None:
    model = FrameMLP(SMALL).eval()
    x = torch.randn(2, 5, 17, 3)
    y = model(x)
    assert y.shape == (2, 5, 17, 3) and torch.all(y[..., 0, :] == 0)
    params = sum(p.numel() for p in model.parameters())
    # ~2 FLOPs per weight and lifted frame; the test-time flip lifts each frame twice
    assert 3.0 * params < flops_per_frame(model) < 5.0 * params
    plain = FrameMLP(MLPConfig(hidden=64, blocks=2, dropout=0.0, test_flip=False)).eval()
    assert 1.5 * params < flops_per_frame(plain) < 2.5 * params
    assert sum(p.numel() for p in FrameMLP().parameters()) > 1_000_000  # the default 512-wide MLP
    save_mlp(model, tmp_path / "m", {"training": {"minutes": 1.5}})
    again, meta = load_mlp(tmp_path / "m.safetensors")
    assert meta["kind"] == "frame-mlp" and meta["config"]["hidden"] == 64
    torch.testing.assert_close(again(x), y)
    np.testing.assert_allclose(predict_frames(again, x.numpy(), torch.device("cpu")), y.detach().numpy(), atol=1e-6)
    blob = bytearray((tmp_path / "m.safetensors").read_bytes())
    blob[-1] ^= 1
    (tmp_path / "m.safetensors").write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="sha256"):
        load_mlp(tmp_path / "m")
    with pytest.raises(CheckpointError, match="python -m training mlp"):
        load_mlp(tmp_path / "missing")
    save_checkpoint(create_model("teacher-tiny"), tmp_path / "lifter")
    with pytest.raises(CheckpointError, match="not a frame-wise MLP"):
        load_mlp(tmp_path / "lifter")
    assert training_noise_models("v1") == (DetectorNoise.v1(),) and len(training_noise_models()) >= 1
    with pytest.raises(InputError, match="unknown noise preset"):
        training_noise_models("v9")


def test_mlp_training_reduces_the_loss(mocap, tmp_path: Path) -> None:
    batches = fixed_batches(mocap.clips("train"), 9, 16, 16, seed=5)
    x = torch.cat([b["inputs"] for b in batches]).numpy()
    y = torch.cat([b["target"] for b in batches]).numpy()
    torch.manual_seed(0)  # train_mlp seeds the same way: this is its starting point
    before = mpjpe(predict_frames(FrameMLP(SMALL), x, torch.device("cpu")), y)
    tr = train_mlp(_opts(tmp_path / "mlp", mocap))
    model, meta = load_mlp(tmp_path / "mlp")
    after = mpjpe(predict_frames(model, x, torch.device("cpu")), y)
    assert tr["steps_done"] == 20 and meta["training"]["finished"] and meta["metrics"]["val_mpjpe_mm"] > 0
    assert after < 0.5 * before
    assert meta["training"]["frames_seen"] == 20 * 8 * 8 and meta["training"]["licences"]


def test_mlp_cli_evaluate_and_model_card(mocap_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mlp = tmp_path / "mlp"
    args = ["mlp", "--out", str(mlp), "--minutes", "0", "--steps", "2", "--window", "9", "--batch-windows", "2"]
    args += ["--frames-per-window", "4", "--val-windows", "2", "--data", str(mocap_dir), "--no-cache", "--quiet"]
    assert main(args) == 0
    assert "mlp: 2 steps" in capsys.readouterr().out
    torch.manual_seed(0)
    save_checkpoint(create_model("teacher-tiny"), tmp_path / "teacher")
    out = tmp_path / "r.json"
    rc = main(
        ["evaluate", "--teacher", str(tmp_path / "teacher"), "--mlp", str(mlp), "--data", str(mocap_dir)]
        + ["--no-cache", "--windows", "4", "--latency-repeats", "1", "--json", str(out), "--quiet"]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "reference: frame-wise MLP (2steps)" in printed and "reference: training mean pose" in printed
    res = json.loads(out.read_text())
    assert [r["name"] for r in res["rows"]] == ["teacher"]  # the model rows stay as they were
    mean_row, mlp_row = res["references"]
    assert (mean_row["name"], mlp_row["name"]) == ("mean-pose", "mlp-2steps")
    assert mean_row["params"] is None and mlp_row["params"] > 1_000_000 and mlp_row["flops_per_frame"] > 2e6
    assert mlp_row["latency_frame_ms"] == pytest.approx(mlp_row["latency_window_ms"] / 9)
    # The mean-pose row is the training mean pose scored on the same windows.
    data = load_mocap_data(mocap_dir, cache_dir=None, progress=False)
    target = torch.cat([b["target"] for b in fixed_batches(data.clips("auto"), 9, 4, 32, 2025)]).numpy()
    pose = mean_pose(data.splits["train"])
    assert mean_row["mpjpe_mm"] == pytest.approx(score(np.broadcast_to(pose, target.shape), target)["mpjpe_mm"])
    card = render_model_card(res)
    assert "reference: training mean pose" in card and "frame-wise MLP" in card and "| — |" in card
    # Older results (no reference rows) still render.
    res.pop("references")
    res["meta"].pop("references")
    assert "No reference rows" in render_model_card(res)
    # A student may not take a reference row's name.
    assert main(["evaluate", "--teacher", str(tmp_path / "teacher"), "--students", "mean-pose=x", "--quiet"]) == 2
    assert main(["mlp", "--out", str(mlp), "--minutes", "0", "--quiet", "--data", str(mocap_dir)]) == 2


def test_recipe_mlp_stage_trains_once(mocap, tmp_path: Path) -> None:
    from training.recipe import RecipeOptions, _mlp_stage

    torch.manual_seed(0)
    save_checkpoint(create_model("teacher-tiny"), tmp_path / "teacher")
    opts = RecipeOptions(runs=tmp_path / "runs", mlp_minutes=0.002, progress=False, device="cpu")
    assert opts.sequences is None or opts.sequences.name == "hdm05_dg_v1.npz"
    skip = _mlp_stage(RecipeOptions(runs=tmp_path / "runs"), mocap, tmp_path / "teacher")
    assert skip == (None, True)  # 0 minutes = skip
    path, skipped = _mlp_stage(opts, mocap, tmp_path / "teacher")
    assert path == tmp_path / "runs" / "mlp" and not skipped
    meta = json.loads((tmp_path / "runs" / "mlp.json").read_text())
    assert meta["training"]["minutes"] == 0.002 and meta["training"]["options"]["window"] == 9
    assert meta["training"]["noise"] == "training" and meta["training"]["noise_models"]  # the teacher's noise
    before = (tmp_path / "runs" / "mlp.safetensors").read_bytes()
    assert _mlp_stage(opts, mocap, tmp_path / "teacher") == (path, True)  # finished: not trained again
    assert (tmp_path / "runs" / "mlp.safetensors").read_bytes() == before
