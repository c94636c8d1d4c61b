"""ModelBackend: windows, padding, batching, attention and checkpoint loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import scjd_core
from scjd_core.backends.base import LiftingBackend
from scjd_core.backends.lifter import ModelBackend, load_backend
from scjd_core.errors import CheckpointError
from scjd_core.models import create_model, nearest_sample, save_checkpoint
from scjd_core.models.shipped import MODELS_DIR_ENV, default_checkpoint
from scjd_core.skeleton import FLIP_PERMUTATION, NUM_JOINTS, ROOT
from scjd_core.types import Pose2DSequence


def make_seq(frames: int, seed: int = 0) -> Pose2DSequence:
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 500, size=(1, NUM_JOINTS, 2))
    drift = np.cumsum(rng.normal(0, 2, size=(frames, 1, 2)), axis=0)
    return Pose2DSequence(
        keypoints=(base + drift).astype(np.float32),
        confidence=rng.uniform(0.5, 1.0, size=(frames, NUM_JOINTS)).astype(np.float32),
        found=np.ones(frames, bool),
        filled=np.zeros(frames, bool),
        times=np.arange(frames) / 30.0,
        width=640,
        height=480,
        fps=30.0,
    )


def backend(name: str, **kwargs) -> ModelBackend:
    torch.manual_seed(0)
    return ModelBackend(create_model(name, depth=2).eval(), device="cpu", **kwargs)


def mirrored(values: np.ndarray) -> np.ndarray:
    """Joints ``(..., 17, C)`` mirrored left to right: channel 0 negated, left and right swapped."""
    out = values[..., FLIP_PERMUTATION, :].copy()
    out[..., 0] *= -1.0
    return out


def _raw(model: torch.nn.Module, window: np.ndarray):
    x = torch.from_numpy(np.ascontiguousarray(window))[None]
    with torch.no_grad():
        if model.kind == "teacher":
            out = model(x)
            return out.pose[0].numpy(), torch.stack(out.attention, 2)[0].numpy()
        idx = model.sample_indices(0)
        out = model(x[:, idx], idx)
        maps = torch.stack(out.attention, 2)[0]
        return out.pose[0].numpy(), maps[nearest_sample(idx, model.window)].numpy()


def direct(model: torch.nn.Module, window: np.ndarray):
    """The model's own output on one window ``(T, 17, 3)``: (pose (T,17,3), maps (T,L,H,17,17)).

    With the test-time flip on, the pose is the mean of the direct pose and the mirrored-back
    pose of the mirrored window; the maps are the direct pass's.
    """
    pose, maps = _raw(model, window)
    if model.config.test_flip:
        pose = 0.5 * (pose + mirrored(_raw(model, mirrored(window))[0]))
    return pose, maps


@pytest.mark.parametrize("name", ["teacher-tiny", "student-tiny"])
@pytest.mark.parametrize("frames", [23, 5, 9, 1])
def test_lift_shapes_pelvis_and_attention(name, frames):
    be = backend(name)
    assert isinstance(be, LiftingBackend) and be.window == 9 and be.device == "cpu"
    lift = be.lift(make_seq(frames), attention=True)
    cfg = be.model.config
    assert lift.poses.shape == (frames, NUM_JOINTS, 3) and lift.poses.dtype == np.float32
    assert np.isfinite(lift.poses).all()
    assert np.all(lift.poses[:, ROOT] == 0)
    assert lift.attention.shape == (frames, cfg.depth, cfg.heads, NUM_JOINTS, NUM_JOINTS)
    assert lift.attention.dtype == np.float32
    np.testing.assert_allclose(lift.attention.sum(-1), 1.0, atol=1e-5)
    assert be.lift(make_seq(frames)).attention is None


@pytest.mark.parametrize("name", ["teacher-tiny", "student-tiny"])
def test_windows_and_edge_padding_match_direct_forward(name):
    be = backend(name)
    seq = make_seq(23)
    x = seq.normalized()
    lift = be.lift(seq, attention=True)
    for w in range(3):
        window = x[w * 9 : (w + 1) * 9]
        if len(window) < 9:  # last window: replicate the last frame
            window = np.concatenate([window, np.repeat(window[-1:], 9 - len(window), axis=0)])
        pose, maps = direct(be.model, np.ascontiguousarray(window))
        n = min(9, 23 - w * 9)
        np.testing.assert_allclose(lift.poses[w * 9 : w * 9 + n], pose[:n], atol=1e-5)
        np.testing.assert_allclose(lift.attention[w * 9 : w * 9 + n], maps[:n], atol=1e-6)


def test_student_non_sampled_frames_get_nearest_sampled_attention():
    be = backend("student-tiny")  # T=9, K=3, stride 4: samples 0, 4, 8
    lift = be.lift(make_seq(9), attention=True)
    assert np.array_equal(lift.attention[1], lift.attention[0])
    assert np.array_equal(lift.attention[3], lift.attention[4])
    assert np.array_equal(lift.attention[7], lift.attention[8])
    assert not np.array_equal(lift.attention[0], lift.attention[4])


def test_student_reads_only_its_sampled_frames():
    be = backend("student-tiny")
    seq = make_seq(9)
    base = be.lift(seq).poses
    seq.keypoints[[1, 2, 3, 5, 6, 7]] += 50.0  # frames it does not sample
    np.testing.assert_array_equal(be.lift(seq).poses, base)
    seq.keypoints[4] += 50.0
    assert not np.allclose(be.lift(seq).poses, base)


def test_batch_size_does_not_change_results():
    seq = make_seq(40)
    a = backend("teacher-tiny", batch_size=64).lift(seq).poses
    b = backend("teacher-tiny", batch_size=2).lift(seq).poses
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_empty_sequence():
    lift = backend("student-tiny").lift(make_seq(0), attention=True)
    assert lift.poses.shape == (0, NUM_JOINTS, 3)
    assert lift.attention.shape == (0, 2, 2, NUM_JOINTS, NUM_JOINTS)


def test_default_checkpoint_is_repo_assets(monkeypatch):
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    root = Path(scjd_core.__file__).resolve().parents[1]
    assert default_checkpoint("teacher") == root / "assets" / "models" / "teacher"
    assert default_checkpoint("student") == root / "assets" / "models" / "student"
    with pytest.raises(ValueError, match="unknown model kind"):
        default_checkpoint("critic")


def test_missing_shipped_checkpoint_says_how_to_train(monkeypatch, tmp_path):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    with pytest.raises(CheckpointError, match=r"student\.safetensors.*python -m training"):
        load_backend("student", device="cpu")


def test_load_backend_from_checkpoint(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = create_model("teacher-tiny").eval()
    save_checkpoint(model, tmp_path / "teacher", {"metrics": {"mpjpe_mm": 50.0}})
    be = load_backend("teacher", device="cpu", checkpoint=tmp_path / "teacher.safetensors")
    seq = make_seq(12)
    np.testing.assert_array_equal(be.lift(seq).poses, ModelBackend(model, device="cpu").lift(seq).poses)
    info = be.describe()
    assert info["name"] == "teacher" and info["window"] == 9 and info["metrics"] == {"mpjpe_mm": 50.0}
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert load_backend("teacher", device="cpu").window == 9  # the "shipped" one
    with pytest.raises(CheckpointError, match="holds a teacher model, not a student"):
        load_backend("student", device="cpu", checkpoint=tmp_path / "teacher")


def test_describe_shipped_models(monkeypatch, tmp_path):
    from scjd_core.models import describe_shipped_models

    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    lines = describe_shipped_models()
    assert len(lines) == 2 and all("missing" in line and "python -m training" in line for line in lines)
    save_checkpoint(create_model("student-tiny"), tmp_path / "student", {"metrics": {"mpjpe_mm": 61.25}})
    (tmp_path / "teacher.safetensors").write_bytes(b"junk")
    (tmp_path / "teacher.json").write_text("{")
    teacher, student = describe_shipped_models()
    assert teacher.startswith("teacher: unusable") and "not valid JSON" in teacher
    assert student.startswith("student: ") and "T=9, K=3" in student and "mpjpe_mm=61.2" in student
    assert "test-time flip" in student
    save_checkpoint(create_model("student-tiny", test_flip=False), tmp_path / "student", {})
    assert "test-time flip" not in describe_shipped_models()[1]


def _linear_motion(frames: int, fps: float, step: int = 1) -> Pose2DSequence:
    """A pose moving at constant velocity, sampled every ``step``-th frame of a 30 fps grid."""
    rng = np.random.default_rng(7)
    base = rng.uniform(200, 400, size=(NUM_JOINTS, 2))
    vel = rng.normal(0, 3, size=(NUM_JOINTS, 2))
    t = np.arange(frames) * step
    return Pose2DSequence(
        keypoints=(base[None] + t[:, None, None] * vel[None]).astype(np.float32),
        confidence=np.full((frames, NUM_JOINTS), 0.9, np.float32),
        found=np.ones(frames, bool),
        filled=np.zeros(frames, bool),
        times=np.arange(frames) / fps,
        width=640,
        height=480,
        fps=fps,
    )


@pytest.mark.parametrize("name", ["teacher-tiny", "student-tiny"])
def test_a_low_rate_clip_is_lifted_at_the_model_rate(name: str) -> None:
    """A 5 fps clip gives the poses the model gives the same motion filmed at 30 fps (its training rate)."""
    b = backend(name)
    slow = _linear_motion(12, fps=5.0, step=6)
    fast = _linear_motion(11 * 6 + 1, fps=30.0)
    lifted = b.lift(slow, attention=True)
    reference = b.lift(fast, attention=True)
    np.testing.assert_allclose(lifted.poses, reference.poses[::6], atol=1e-5)
    np.testing.assert_allclose(lifted.attention, reference.attention[::6], atol=1e-6)
    assert lifted.poses.shape == (12, NUM_JOINTS, 3)


def test_a_clip_near_the_model_rate_is_not_resampled() -> None:
    b = backend("student-tiny")
    seq = make_seq(23)
    ntsc = Pose2DSequence(**{**seq.__dict__, "fps": 29.97})
    np.testing.assert_array_equal(b.lift(ntsc).poses, b.lift(seq).poses)
