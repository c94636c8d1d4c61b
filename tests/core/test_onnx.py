"""ONNX export and the ONNX Runtime backend agree with PyTorch (skipped without onnxruntime)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from scjd_core.backends.lifter import ModelBackend  # noqa: E402
from scjd_core.backends.onnx_backend import (  # noqa: E402
    OnnxBackend,
    choose_engine,
    load_engine_backend,
)
from scjd_core.models import create_model, save_checkpoint  # noqa: E402
from scjd_core.onnx_export import export_onnx  # noqa: E402
from scjd_core.synthetic import synthetic_stream  # noqa: E402

TOLERANCE_M = 1e-4


def _model(name: str, seed: int = 0, **overrides) -> torch.nn.Module:
    """A registered model with large random weights, so outputs are metres, not ~0."""
    torch.manual_seed(seed)
    model = create_model(name, **overrides).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def _seq(frames: int):
    return next(synthetic_stream(frames, chunk=frames, seed=3))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCJD_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("flip", [True, False], ids=["test-flip", "no-flip"])
@pytest.mark.parametrize("name", ["student-tiny", "teacher-tiny"])
def test_tiny_models_agree_with_pytorch(name, flip):
    model = _model(name, test_flip=flip)
    ref_backend = ModelBackend(model, device="cpu", batch_size=4)
    onnx_backend = OnnxBackend(model, batch_size=4)
    seq = _seq(5 * model.config.window + 4)  # several batches, last window padded
    ref, got = ref_backend.lift(seq, attention=True), onnx_backend.lift(seq, attention=True)
    assert float(np.std(ref.poses)) > 0.03  # the comparison is between non-trivial poses
    assert got.poses.shape == ref.poses.shape == (len(seq), 17, 3)
    assert np.abs(got.poses - ref.poses).max() <= TOLERANCE_M
    assert got.attention.shape == ref.attention.shape
    assert np.abs(got.attention - ref.attention).max() <= 1e-5


def test_student_s_agrees_with_pytorch():
    model = _model("student-s", seed=1)
    seq = _seq(2 * model.config.window + 10)
    ref = ModelBackend(model, device="cpu").lift(seq).poses
    got = OnnxBackend(model).lift(seq).poses
    assert float(np.std(ref)) > 0.05
    diff = float(np.abs(got - ref).max())
    assert diff <= TOLERANCE_M, f"max abs difference {diff:.2e} m"


def test_exported_file_is_valid_and_has_a_dynamic_batch(tmp_path):
    import onnx

    model = _model("student-tiny")
    path = export_onnx(model, tmp_path / "student.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    window = model.config.window
    ref = ModelBackend(model, device="cpu")
    for batch in (1, 3):
        x = np.random.default_rng(batch).normal(size=(batch, window, 17, 3)).astype(np.float32)
        (pose,) = session.run(["pose"], {"windows": x})
        with torch.inference_mode():
            expected, _ = ref._forward(torch.from_numpy(x), False)
        assert pose.shape == (batch, window, 17, 3)
        assert np.abs(pose - expected.numpy()).max() <= TOLERANCE_M


def test_checkpoint_exports_are_cached_and_engines_load(tmp_path):
    model = _model("student-tiny", seed=2)
    ckpt = tmp_path / "student"
    save_checkpoint(model, ckpt, {})
    first = load_engine_backend("student", engine="onnx", device="cpu", checkpoint=ckpt)
    cached = list((tmp_path / "cache" / "onnx").glob("student-*-pose-*.onnx"))
    assert len(cached) == 1
    second = load_engine_backend("student", engine="onnx", device="cpu", checkpoint=ckpt)  # from the cache
    torch_backend = load_engine_backend("student", engine="torch", device="cpu", checkpoint=ckpt)
    assert isinstance(first, OnnxBackend) and not isinstance(torch_backend, OnnxBackend)
    seq = _seq(30)
    ref = torch_backend.lift(seq).poses
    assert np.abs(second.lift(seq).poses - ref).max() <= TOLERANCE_M
    with pytest.raises(ValueError, match="engine"):
        load_engine_backend("student", engine="tensorrt", device="cpu", checkpoint=ckpt)


def test_choose_engine_keeps_the_faster_one():
    backend = ModelBackend(_model("student-tiny"), device="cpu")
    chosen, times = choose_engine(backend, windows=2, repeats=2)
    assert set(times) == {"torch_s", "onnx_s"}
    faster_is_onnx = times["onnx_s"] < times["torch_s"]
    assert isinstance(chosen, OnnxBackend) == faster_is_onnx
    assert (chosen is backend) == (not faster_is_onnx)
