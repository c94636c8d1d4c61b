"""Self-describing safetensors + JSON checkpoints and their failure modes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from scjd_core.errors import CheckpointError, OutputError
from scjd_core.models import (
    FORMAT_VERSION,
    checkpoint_paths,
    create_model,
    load_checkpoint,
    model_kind,
    read_checkpoint_meta,
    save_checkpoint,
)
from scjd_core.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS


def outputs(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(123)
    cfg = model.config
    if model_kind(model) == "teacher":
        return model(torch.randn(2, cfg.window, NUM_JOINTS, 3)).pose
    idx = model.sample_indices(1)
    out = model(torch.randn(2, len(idx), NUM_JOINTS, 3), idx)
    return torch.cat([out.pose.flatten(), out.pose_sparse.flatten(), out.attention[0].flatten()])


@pytest.fixture
def saved(tmp_path: Path):
    torch.manual_seed(0)
    model = create_model("student-tiny").eval()
    meta = {"training": {"data": "synthetic", "steps": 2}, "metrics": {"mpjpe_mm": 123.4}, "notes": "test"}
    save_checkpoint(model, tmp_path / "student", meta)
    return model, tmp_path / "student"


@pytest.mark.parametrize("name", ["teacher-tiny", "student-tiny"])
@pytest.mark.parametrize("suffix", ["", ".safetensors", ".json"])
def test_round_trip_is_bit_identical(tmp_path, name, suffix):
    torch.manual_seed(0)
    model = create_model(name, depth=2).eval()
    weights, meta_path = save_checkpoint(model, tmp_path / "ckpt.v1", {"metrics": {"a": 1}})
    assert weights == tmp_path / "ckpt.v1.safetensors" and meta_path == tmp_path / "ckpt.v1.json"
    loaded, meta = load_checkpoint(str(tmp_path / "ckpt.v1") + suffix)
    assert not loaded.training
    assert type(loaded) is type(model) and loaded.config == model.config
    with torch.no_grad():
        assert torch.equal(outputs(loaded), outputs(model))
    assert meta["metrics"] == {"a": 1}


def test_json_is_self_describing(saved):
    model, path = saved
    weights, meta_path = checkpoint_paths(path)
    meta = json.loads(meta_path.read_text())
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["kind"] == "student"
    assert meta["config"] == model.config.to_dict()
    assert meta["joints"] == list(JOINT_NAMES) and meta["parents"] == list(PARENTS)
    assert meta["input"]["normalization"] == "x/w*2-1, y/w*2-h/w, confidence"
    assert meta["output"]["unit"] == "metre" and meta["output"]["root_relative"] is True
    assert meta["training"] == {"data": "synthetic", "steps": 2}
    assert meta["metrics"] == {"mpjpe_mm": 123.4} and meta["notes"] == "test"
    assert meta["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert meta["weights_file"] == "student.safetensors"
    assert read_checkpoint_meta(path)["config"] == meta["config"]


def test_reserved_meta_keys_and_overwrite(saved, tmp_path):
    model, path = saved
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(model, tmp_path / "x", {"sha256": "0"})
    with pytest.raises(OutputError, match="already exists"):
        save_checkpoint(model, path, overwrite=False)


def test_missing_weights(tmp_path):
    with pytest.raises(CheckpointError, match=r"nowhere\.safetensors not found"):
        load_checkpoint(tmp_path / "nowhere")


def test_missing_json(saved):
    _, path = saved
    checkpoint_paths(path)[1].unlink()
    with pytest.raises(CheckpointError, match=r"student\.json not found"):
        load_checkpoint(path)


def test_truncated_weights(saved):
    _, path = saved
    weights = checkpoint_paths(path)[0]
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"student\.safetensors are truncated or corrupt"):
        load_checkpoint(path)


def test_garbage_weights(saved):
    _, path = saved
    checkpoint_paths(path)[0].write_bytes(b"\x80\x04not a safetensors file at all")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path)


def test_tampered_weights(saved):
    _, path = saved
    weights = checkpoint_paths(path)[0]
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # last byte of the last tensor: still parses, different numbers
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="do not match the sha256"):
        load_checkpoint(path)


def edit_json(path: Path, **changes) -> None:
    meta_path = checkpoint_paths(path)[1]
    meta = json.loads(meta_path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            meta[key].update(value)
        else:
            meta[key] = value
    meta_path.write_text(json.dumps(meta))


def test_mismatched_config_shapes(saved):
    _, path = saved
    edit_json(path, config={"dim": 16})
    with pytest.raises(CheckpointError, match=r"does not fit the config in student\.json: .* is \("):
        load_checkpoint(path)


def test_mismatched_depth_names_missing_tensors(saved):
    _, path = saved
    edit_json(path, config={"depth": 2})
    with pytest.raises(CheckpointError, match="missing encoder"):
        load_checkpoint(path)


def test_invalid_config(saved):
    _, path = saved
    edit_json(path, config={"heads": 3})
    with pytest.raises(CheckpointError, match="invalid student config"):
        load_checkpoint(path)
    edit_json(path, config={"heads": 2, "wings": 2})
    with pytest.raises(CheckpointError, match="unknown StudentConfig field"):
        load_checkpoint(path)


def test_kind_swapped(saved):
    """A student's weights described as a teacher fail on config or tensor names, cleanly."""
    _, path = saved
    edit_json(path, kind="teacher")
    with pytest.raises(CheckpointError, match="student.json: invalid teacher config"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "critic"}, "unknown model kind 'critic'"),
        ({"format_version": 99}, "unsupported checkpoint format_version 99"),
        ({"joints": list(JOINT_NAMES[::-1])}, "joint layout differs"),
        ({"sha256": None}, "lacks 'sha256'"),
    ],
)
def test_bad_description(saved, changes, message):
    _, path = saved
    edit_json(path, **changes)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_json_not_parseable(saved):
    _, path = saved
    checkpoint_paths(path)[1].write_text("{not json")
    with pytest.raises(CheckpointError, match=r"student\.json is not valid JSON"):
        load_checkpoint(path)


def test_auto_device_loads(saved):
    _, path = saved
    model, _ = load_checkpoint(path, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(model.parameters()).device.type == expected
