"""Self-describing checkpoints: ``NAME.safetensors`` (weights) + ``NAME.json`` (everything else).

Loading never unpickles anything: the weights are safetensors, the description is
JSON. The JSON holds the constructor arguments, so a model is rebuilt without any
training code::

    {
      "format_version": 1,
      "kind": "student",                      # "teacher" | "student"
      "config": {...},                        # StudentConfig.to_dict()
      "joints": ["pelvis", ...],              # skeleton.JOINT_NAMES
      "parents": [-1, 0, ...],                # skeleton.PARENTS
      "input": {...},                         # what the model reads and how it is normalised
      "output": {...},                        # what it predicts, in which frame and unit
      "training": {...}, "metrics": {...},    # free dicts from the trainer; metrics known to
                                              # `scjd info`: val_mpjpe_mm + val_split (validation),
                                              # test_mpjpe_mm + test_set (held-out test)
      "weights_file": "student.safetensors",
      "sha256": "..."                         # of the weights file
    }
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from scjd_core import __version__
from scjd_core.atomic import atomic_write
from scjd_core.device import torch_device
from scjd_core.errors import CheckpointError
from scjd_core.models.config import TEST_FLIP_DEFAULT
from scjd_core.models.registry import KINDS, model_from_config, model_kind
from scjd_core.models.shipped import MODEL_KINDS, default_checkpoint
from scjd_core.skeleton import JOINT_NAMES, PARENTS, ROOT

FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
META_SUFFIX = ".json"
#: What to do about a damaged checkpoint description.
_RESTORE_JSON = "restore the .json that came with the .safetensors, or re-save the checkpoint"
_RESERVED = ("format_version", "kind", "config", "joints", "parents", "weights_file", "sha256")

INPUT_DESCRIPTION: dict[str, Any] = {
    "normalization": "x/w*2-1, y/w*2-h/w, confidence",
    "channels": ["x", "y", "confidence"],
    "note": "pixels normalised by the image width (aspect kept), see scjd_core.skeleton.normalize_screen; "
    "confidence in [0, 1], 0 for missing joints",
}
OUTPUT_DESCRIPTION: dict[str, Any] = {
    "frame": "camera",
    "unit": "metre",
    "axes": "x right, y down, z away from the camera",
    "root_relative": True,
    "root": JOINT_NAMES[ROOT],
}


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(weights, json)`` paths of a checkpoint given with or without an extension."""
    path = Path(path)
    if path.suffix in (WEIGHTS_SUFFIX, META_SUFFIX):
        path = path.with_suffix("")
    return Path(f"{path}{WEIGHTS_SUFFIX}"), Path(f"{path}{META_SUFFIX}")


def _io_description(model: nn.Module) -> dict[str, Any]:
    cfg = model.config
    desc = dict(INPUT_DESCRIPTION)
    if model_kind(model) == "teacher":
        desc["shape"] = f"(B, {cfg.window}, {cfg.num_joints}, {cfg.in_dim}): all T frames of a window"
    else:
        desc["shape"] = (
            f"(B, {cfg.frames}, {cfg.num_joints}, {cfg.in_dim}): K frames of a {cfg.window}-frame window, "
            f"{cfg.sampling} sampling (stride {cfg.stride}), plus their window positions"
        )
    return desc


def save_checkpoint(
    model: nn.Module, path: str | os.PathLike[str], meta: dict[str, Any] | None = None, overwrite: bool = True
) -> tuple[Path, Path]:
    """Write ``path.safetensors`` and ``path.json`` atomically (weights first, then the JSON).

    Args:
        model: a :class:`~scjd_core.models.Teacher` or :class:`~scjd_core.models.Student`.
        path: checkpoint path, with or without extension.
        meta: extra JSON-serialisable facts; ``training`` and ``metrics`` are the usual keys
            (free dicts), any other non-reserved key is kept as given.
        overwrite: replace an existing checkpoint of the same name.

    Returns:
        ``(weights path, json path)``.

    Raises:
        ValueError: when ``meta`` tries to set a reserved key.
        OutputError: when a file exists and ``overwrite`` is False, or cannot be written.
    """
    from safetensors.torch import save as save_tensors

    meta = dict(meta or {})
    clash = sorted(set(meta) & set(_RESERVED))
    if clash:
        raise ValueError(f"meta may not set the reserved checkpoint key(s) {', '.join(clash)}")
    weights_path, json_path = checkpoint_paths(path)
    kind = model_kind(model)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    blob = save_tensors(tensors, metadata={"kind": kind, "format_version": str(FORMAT_VERSION)})
    record: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": model.config.to_dict(),
        "joints": list(JOINT_NAMES),
        "parents": list(PARENTS),
        "input": _io_description(model),
        "output": {**OUTPUT_DESCRIPTION, "shape": f"(B, {model.config.window}, {model.config.num_joints}, 3)"},
        "training": {},
        "metrics": {},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "scjd_version": __version__,
        **meta,
        "weights_file": weights_path.name,
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    text = json.dumps(record, indent=2, sort_keys=False) + "\n"
    with atomic_write(weights_path, "wb", overwrite=overwrite) as handle:
        handle.write(blob)
    with atomic_write(json_path, "w", overwrite=overwrite) as handle:
        handle.write(text)
    return weights_path, json_path


def read_checkpoint_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoint's JSON (no weights are read).

    Raises:
        CheckpointError: for a missing or malformed JSON, an unsupported format version,
            an unknown kind or a different joint layout.
    """
    _, json_path = checkpoint_paths(path)
    if not json_path.is_file():
        raise CheckpointError(
            f"checkpoint description {json_path} not found: keep the .json beside the .safetensors it describes"
        )
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"checkpoint description {json_path} is not valid JSON ({exc}): {_RESTORE_JSON}"
        ) from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint description {json_path} is not a JSON object: {_RESTORE_JSON}")
    version = meta.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"{json_path}: unsupported checkpoint format_version {version!r} "
            f"(this scjd reads 1..{FORMAT_VERSION}): upgrade scjd or re-export the checkpoint"
        )
    if meta.get("kind") not in KINDS:
        raise CheckpointError(
            f"{json_path}: unknown model kind {meta.get('kind')!r}, expected one of {sorted(KINDS)}: "
            "pass a teacher or student checkpoint written by scjd"
        )
    if meta.get("joints") != list(JOINT_NAMES) or meta.get("parents") != list(PARENTS):
        raise CheckpointError(
            f"{json_path}: the checkpoint's joint layout differs from scjd's 17-joint skeleton: "
            "it was made for another skeleton and cannot be used"
        )
    if not isinstance(meta.get("sha256"), str) or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{json_path}: the description lacks 'sha256' or 'config': re-save the checkpoint")
    return meta


def _shape_problems(model: nn.Module, tensors: dict[str, torch.Tensor]) -> str:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in tensors.items()}
    problems = [f"missing {k}" for k in sorted(set(expected) - set(got))]
    problems += [f"unexpected {k}" for k in sorted(set(got) - set(expected))]
    problems += [
        f"{k} is {got[k]} but the config needs {expected[k]}"
        for k in sorted(set(got) & set(expected))
        if got[k] != expected[k]
    ]
    if len(problems) > 3:
        problems = problems[:3] + [f"... {len(problems) - 3} more"]
    return "; ".join(problems)


def load_checkpoint(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model from its checkpoint, verified, in eval mode on ``device``.

    Args:
        path: checkpoint path, with or without ``.safetensors`` / ``.json``.
        device: ``"cpu"``, ``"cuda"``, ``"auto"`` or a :class:`torch.device`.

    Returns:
        ``(model, meta)`` where ``meta`` is the checkpoint's JSON.

    Raises:
        CheckpointError: naming the file and the problem: missing file, missing or bad JSON,
            truncated/corrupt safetensors, hash mismatch (tampered weights), weights that do
            not match the config, unknown kind.
    """
    from safetensors.torch import load as load_tensors

    weights_path, json_path = checkpoint_paths(path)
    if not weights_path.is_file():
        raise CheckpointError(
            f"checkpoint weights {weights_path} not found: check the path or train one with `python -m training`"
        )
    meta = read_checkpoint_meta(json_path)
    try:
        blob = weights_path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint weights {weights_path} ({exc.strerror})") from None
    try:
        tensors = load_tensors(blob)
    except Exception as exc:  # the safetensors parser raises its own error types on bad bytes
        raise CheckpointError(
            f"checkpoint weights {weights_path} are truncated or corrupt ({exc}): re-copy or re-train them"
        ) from None
    if hashlib.sha256(blob).hexdigest() != meta["sha256"]:
        raise CheckpointError(
            f"checkpoint weights {weights_path} do not match the sha256 in {json_path.name}: "
            "the file was modified or belongs to another checkpoint"
        )
    try:
        model = model_from_config(meta["kind"], meta["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{json_path}: invalid {meta['kind']} config ({exc})") from None
    problems = _shape_problems(model, tensors)
    if problems:
        raise CheckpointError(f"{weights_path} does not fit the config in {json_path.name}: {problems}")
    model.load_state_dict(tensors, strict=True)
    return model.to(torch_device(device)).eval(), meta


def describe_shipped_models() -> list[str]:
    """One line per shipped checkpoint (for ``scjd info``); never raises for a bad checkpoint.

    Only the JSON is read (no weights, no hash check): a line says where the checkpoint
    is, its kind and size, and its accuracy figures, each saying what it measures
    (:func:`accuracy_facts`), or what is wrong with it.
    """
    lines = []
    for kind in MODEL_KINDS:
        weights, _ = checkpoint_paths(default_checkpoint(kind))
        if not weights.is_file():
            lines.append(f"{kind}: missing ({weights}): train with `python -m training recipe`")
            continue
        try:
            meta = read_checkpoint_meta(weights)
        except CheckpointError as exc:
            lines.append(f"{kind}: unusable: {exc}")
            continue
        cfg = meta["config"]
        shape = f"T={cfg.get('window')}" + (f", K={cfg['frames']}" if "frames" in cfg else "")
        facts = [f"{meta['kind']} {shape}", f"{meta.get('parameters', '?')} parameters"]
        if cfg.get("test_flip", TEST_FLIP_DEFAULT):  # checkpoints older than the field take its default
            facts.append("test-time flip")
        lines.append(f"{kind}: {weights} ({', '.join(facts)})" + "".join(f"; {f}" for f in accuracy_facts(meta)))
    return lines


#: Metric keys ``scjd info`` names: key -> (label, the metrics key naming the data, default data).
_LABELLED_METRICS = {
    "val_mpjpe_mm": ("validation MPJPE", "val_split", "val"),
    "test_mpjpe_mm": ("held-out test MPJPE", "test_set", "test"),
}


def record_metrics(path: str | os.PathLike[str], metrics: dict[str, Any]) -> None:
    """Add ``metrics`` (e.g. a held-out ``test_mpjpe_mm`` and its ``test_set``) to a
    checkpoint's JSON, written atomically; the weights are not touched."""
    meta = read_checkpoint_meta(path)
    meta["metrics"] = {**(meta.get("metrics") or {}), **metrics}
    _, json_path = checkpoint_paths(path)
    with atomic_write(json_path, "w", overwrite=True) as handle:
        json.dump(meta, handle, indent=2)
        handle.write("\n")


def accuracy_facts(meta: dict[str, Any]) -> list[str]:
    """The accuracy figures of a checkpoint's ``metrics``, each saying what it is.

    ``val_mpjpe_mm`` reads e.g. ``validation MPJPE 55.0 mm (val split: 13 clips of cmu,
    512 windows; synthetic 2D from mocap)``; a held-out ``test_mpjpe_mm`` is shown the
    same way (its ``test_set`` names the data); up to three other numbers as ``key=value``.
    """
    metrics = meta.get("metrics") or {}
    facts = []
    for key, (label, data_key, default) in _LABELLED_METRICS.items():
        value = metrics.get(key)
        if isinstance(value, int | float):
            facts.append(f"{label} {value:.1f} mm ({_data_note(meta, str(metrics.get(data_key) or default))})")
    other = [f"{k}={v:.1f}" for k, v in metrics.items() if isinstance(v, int | float) and k not in _LABELLED_METRICS]
    return facts + other[:3]


def _data_note(meta: dict[str, Any], name: str) -> str:
    """What a figure was measured on, as far as the JSON says.

    ``name`` is a split the checkpoint's ``training.data`` describes (``val`` ->
    ``val split: 13 clips of cmu, 512 windows; synthetic 2D from mocap``) or a free
    description kept as it is (a fixed evaluation file, say).
    """
    training = meta.get("training")
    training = training if isinstance(training, dict) else {}
    data = training.get("data")
    part = data.get(name) if isinstance(data, dict) else None
    if not isinstance(part, dict):
        return f"{name} split" if name.isidentifier() else name
    sizes = []
    if part.get("clips"):
        subjects = part.get("subjects")
        sizes.append(f"{part['clips']} clips" + (f" of {', '.join(map(str, subjects))}" if subjects else ""))
    recipe = training.get("recipe")
    windows = recipe.get(f"{name}_windows") if isinstance(recipe, dict) else None
    if windows:
        sizes.append(f"{windows} windows")
    return f"{name} split: {', '.join(sizes) or 'size not recorded'}; synthetic 2D from mocap"
