"""Architecture boundaries: the core stays headless and does not depend on training."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import scjd_core

CORE = Path(scjd_core.__file__).parent
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "OpenGL", "scjd_app", "training")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_source_never_imports_gui_or_training():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for name in _imported_modules(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(CORE.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_every_core_module_imports_with_gui_packages_absent():
    """Import each scjd_core module in a fresh interpreter where Qt/pyqtgraph/OpenGL cannot load."""
    modules = [m.name for m in pkgutil.walk_packages([str(CORE)], prefix="scjd_core.")]
    assert "scjd_core.pipeline" in modules
    code = (
        "import sys\n"
        f"for name in {FORBIDDEN!r}:\n"
        "    sys.modules[name] = None\n"
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "leaked = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'OpenGL')"
        " and sys.modules[m] is not None]\n"
        "assert not leaked, leaked\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_import_scjd_core_is_light():
    """``import scjd_core`` must not drag in torch, mediapipe or cv2."""
    code = "import sys, scjd_core; print(sorted(m for m in ('torch','mediapipe','cv2') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_no_import_cycles_between_modules():
    """No module of the three packages imports itself through others (lazy imports included)."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (pip install 'scjd[dev]')")
    graph = grimp.build_graph("scjd_core", "scjd_app", "training", cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & graph.modules for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges) + 100))
    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)
