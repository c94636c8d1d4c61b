"""App tests need PySide6, pyqtgraph and an X server (pytest-xvfb starts Xvfb)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6", reason="the viewer tests need PySide6 (pip install 'scjd[dev]')")
pytest.importorskip("pyqtgraph", reason="the viewer tests need pyqtgraph")
pytest.importorskip("pytestqt", reason="the viewer tests need pytest-qt")

from scjd_app.main import prepare_qt

prepare_qt()  # before pytest-qt creates the QApplication


@pytest.fixture
def no_dialogs(monkeypatch):
    """Replace the blocking message boxes; returns the list of (kind, text) shown."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []

    def fake(kind):
        def show(_parent, _title, text, *args, **kwargs):
            shown.append((kind, text))
            return QMessageBox.StandardButton.Ok

        return show

    for kind in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return shown


@pytest.fixture(scope="session", autouse=True)
def _delete_windows_while_the_display_lives():
    """Delete every window left at the end of the session, before pytest-xvfb stops Xvfb.

    The 3D views are native OpenGL windows; if Qt destroys them at interpreter exit, after
    the X server is gone, the process crashes. (The viewer itself exits from ``app.exec()``
    with its display still there.)
    """
    yield
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    for widget in app.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    app.processEvents()
