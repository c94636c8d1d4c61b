"""The viewer uses only the core's public API, and a Qt binding that keeps references right."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import scjd_app

APP_DIR = Path(scjd_app.__file__).parent


def _core_imports() -> list[tuple[str, int, str]]:
    """``(file, line, what)`` for every import of ``scjd_core`` in the app's sources."""
    found = []
    for path in sorted(APP_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path.name, node.lineno, a.name) for a in node.names if a.name.startswith("scjd_core")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scjd_core"):
                found += [(path.name, node.lineno, f"{node.module}:{a.name}") for a in node.names]
    return found


def test_app_imports_only_public_core_names():
    imports = _core_imports()
    assert len(imports) > 10  # the scan sees the app's imports
    private = [
        (f, line, what)
        for f, line, what in imports
        if any(part.startswith("_") for part in what.replace(":", ".").split("."))
    ]
    assert private == [], f"scjd_app reaches into private core code: {private}"


def test_private_import_is_detected(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text("from scjd_core.pipeline import _Decoder\nimport scjd_core._x\n")
    monkeypatch.setattr(sys.modules[__name__], "APP_DIR", tmp_path)
    names = [what for _, _, what in _core_imports()]
    assert names == ["scjd_core.pipeline:_Decoder", "scjd_core._x"]


def test_core_does_not_import_qt():
    core = Path(scjd_app.__file__).parent.parent / "scjd_core"
    for path in core.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            assert not any(m.split(".")[0] in {"PySide6", "pyqtgraph", "OpenGL", "scjd_app"} for m in mods), path


def test_qt_binding_keeps_reference_counts():
    """PySide6 6.12.0 drops a reference to None on every void call: the viewer dies within seconds."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(2000):
        obj.setObjectName("x")  # a void method
    assert sys.getrefcount(None) - before > -100
