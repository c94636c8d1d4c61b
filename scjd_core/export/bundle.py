"""One file holding everything about a processed clip: JSON (readable) or NPZ (compact).

A bundle is a nested ``dict`` whose leaves are numpy arrays or JSON values (numbers,
strings, booleans, ``None``, lists, dicts): typically ``meta`` (fps, size, source,
versions, joint names, coordinate frames), ``times``, ``keypoints_2d``, ``confidence``,
``found``, ``filled`` and per-backend 3D under ``poses_camera`` / ``poses_world``.
:func:`read_bundle` gives back the same structure, arrays with their dtype and shape.

* **JSON**: ``{"scjd_bundle": 1, "data": ...}``; an array is written as
  ``{"__ndarray__": dtype, "shape": [...], "data": nested lists}``. Non-finite floats
  (NaN, ±inf) are written as ``null`` and read back as NaN, so the file is strict JSON.
* **NPZ**: every array under its ``/``-joined key path (``poses_world/student``), and
  everything else as one JSON string under ``__scjd_bundle__``; no pickled objects, so
  ``np.load(path, allow_pickle=False)`` opens it.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scjd_core.atomic import atomic_write
from scjd_core.errors import InputError, OutputError

BUNDLE_VERSION = 1
BUNDLE_SUFFIXES = (".json", ".npz")
_ARRAY_TAG = "__ndarray__"
_NPZ_META_KEY = "__scjd_bundle__"
_ARRAY_KINDS = "biufU"  # bool, int, uint, float, unicode (never object: no pickle)


def _suffix(path: Path, error: type[Exception]) -> str:
    suffix = path.suffix.lower()
    if suffix not in BUNDLE_SUFFIXES:
        raise error(f"{path}: a bundle must end in .json or .npz (got {suffix or 'no suffix'!r})")
    return suffix


def _check_array(key: str, value: np.ndarray) -> None:
    if value.dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"bundle entry {key!r} has dtype {value.dtype}: use bool, numeric or str arrays")


def _json_array(key: str, value: np.ndarray) -> dict:
    _check_array(key, value)
    data: Any = value
    if value.dtype.kind == "f":
        # float32 via its shortest repr, so the file shows 0.1234567 rather than 0.12345670163631439
        data = (value.astype(str).astype(np.float64) if value.dtype.itemsize < 8 else value).astype(object)
        data[~np.isfinite(value)] = None
    return {_ARRAY_TAG: value.dtype.str, "shape": list(value.shape), "data": np.asarray(data).tolist()}


def _to_json(value: Any, key: str) -> Any:
    if isinstance(value, np.ndarray):
        return _json_array(key, value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"bundle keys must be strings, got {k!r} under {key!r}")
            out[k] = _to_json(v, f"{key}/{k}" if key else k)
        return out
    if isinstance(value, list | tuple):
        return [_to_json(v, key) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            dtype = np.dtype(value[_ARRAY_TAG])
            data = value["data"]
            if dtype.kind == "f":
                data = np.array(data, dtype=object)
                data[np.equal(data, None)] = np.nan
            return np.asarray(data, dtype=dtype).reshape(value["shape"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _split_arrays(data: Mapping, prefix: str, arrays: dict[str, np.ndarray]) -> dict:
    """Move the arrays of ``data`` into ``arrays`` (flat ``a/b`` keys); return the rest."""
    rest: dict = {}
    for k, v in data.items():
        if not isinstance(k, str) or "/" in k or not k or k == _NPZ_META_KEY:
            raise ValueError(f"bundle keys must be non-empty strings without '/', got {k!r}")
        key = f"{prefix}{k}"
        if isinstance(v, np.ndarray):
            _check_array(key, v)
            arrays[key] = v
        elif isinstance(v, Mapping):
            rest[k] = _split_arrays(v, key + "/", arrays)
        else:
            rest[k] = _to_json(v, key)
    return rest


def _write_npz(handle: Any, data: Mapping) -> None:
    arrays: dict[str, np.ndarray] = {}
    rest = _split_arrays(data, "", arrays)
    meta = json.dumps({"scjd_bundle": BUNDLE_VERSION, "data": rest, "arrays": sorted(arrays)})
    np.savez_compressed(handle, **{_NPZ_META_KEY: np.array(meta)}, **arrays)


def write_bundle(path: str | os.PathLike[str], data: Mapping, overwrite: bool = False) -> None:
    """Write ``data`` as a ``.json`` or ``.npz`` bundle (atomically), chosen by the suffix.

    Args:
        path: file ending in ``.json`` or ``.npz``.
        data: nested dict; leaves are numpy arrays (bool, numeric or str dtypes) or
            JSON values. Keys are non-empty strings without ``/``.
        overwrite: replace an existing file instead of refusing.

    Raises:
        OutputError: unknown suffix, the file exists (and ``overwrite`` is False), or it
            cannot be written.
        ValueError: ``data`` holds something a bundle cannot store (object arrays, ...).
    """
    path = Path(path)
    if _suffix(path, OutputError) == ".json":
        text = json.dumps({"scjd_bundle": BUNDLE_VERSION, "data": _to_json(dict(data), "")}, allow_nan=False)
        with atomic_write(path, "w", overwrite=overwrite) as handle:
            handle.write(text)
            handle.write("\n")
    else:
        arrays: dict[str, np.ndarray] = {}
        _split_arrays(data, "", arrays)  # validate before creating any file
        with atomic_write(path, "wb", overwrite=overwrite) as handle:
            _write_npz(handle, data)


def _nest(rest: dict, key: str, value: np.ndarray) -> None:
    *parents, leaf = key.split("/")
    node = rest
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def _read_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        if _NPZ_META_KEY not in npz.files:
            raise InputError(f"{path} is not a SCJD bundle (no {_NPZ_META_KEY} entry): pass one scjd wrote")
        header = json.loads(str(npz[_NPZ_META_KEY]))
        data = _from_json(header.get("data", {}))
        for key in header.get("arrays", []):
            _nest(data, key, npz[key])
    return data


def read_bundle(path: str | os.PathLike[str]) -> dict:
    """Read a bundle written by :func:`write_bundle`.

    Returns:
        The nested dict, arrays as numpy arrays with their original dtype and shape.

    Raises:
        InputError: the file is missing, has an unknown suffix, is corrupt or is not a
            SCJD bundle.
    """
    path = Path(path)
    suffix = _suffix(path, InputError)
    if not path.is_file():
        raise InputError(f"bundle {path} not found: check the path")
    try:
        if suffix == ".npz":
            return _read_npz(path)
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except InputError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path} is not a readable SCJD bundle ({exc}): re-export it") from None
    if not isinstance(doc, dict) or "scjd_bundle" not in doc:
        raise InputError(f"{path} is not a SCJD bundle (no 'scjd_bundle' key): pass one scjd wrote")
    return _from_json(doc["data"])
