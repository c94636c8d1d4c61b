"""3D skeleton views (pyqtgraph ``GLViewWidget``) with linked cameras.

Poses arrive in the core's camera frame (x right, y down, z away from the camera). For
display they are turned upright with a fixed rotation (:func:`camera_to_display`: GL's
z is up, GL's y points away from the camera) and lifted so the lowest joint stands on
the floor grid.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from scjd_app.widgets.palette import BACKGROUND, error_colors, model_color
from scjd_core.skeleton import BONES, NUM_JOINTS

_BONE_INDEX = np.array(BONES, dtype=np.int64).reshape(-1)
#: Camera frame -> display frame: (x, y, z) -> (x, z, -y), a proper rotation.
_CAM_TO_DISPLAY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_EMPTY = np.zeros((2, 3))


def camera_to_display(pose: np.ndarray) -> np.ndarray:
    """Rotate camera-frame points ``(..., 3)`` into the upright display frame (z up)."""
    return np.asarray(pose, dtype=np.float64) @ _CAM_TO_DISPLAY.T


class SkeletonGLView(gl.GLViewWidget):
    """A ``GLViewWidget`` that says when its camera moves (for linking)."""

    cameraChanged = Signal()

    def orbit(self, azim, elev):
        super().orbit(azim, elev)
        self.cameraChanged.emit()

    def pan(self, dx, dy, dz, relative="global"):
        super().pan(dx, dy, dz, relative)
        self.cameraChanged.emit()

    def wheelEvent(self, ev):
        super().wheelEvent(ev)
        self.cameraChanged.emit()

    def setCameraPosition(self, *args, **kwargs):
        super().setCameraPosition(*args, **kwargs)
        self.cameraChanged.emit()


def link_cameras(*views: SkeletonGLView) -> None:
    """Make the cameras of ``views`` follow each other (orbit, pan and zoom)."""
    busy = [False]

    def follow(source: SkeletonGLView) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            opts = source.opts
            for other in views:
                if other is source:
                    continue
                other.opts["center"] = type(opts["center"])(opts["center"])
                for key in ("distance", "elevation", "azimuth", "fov"):
                    other.opts[key] = opts[key]
                other.update()
        finally:
            busy[0] = False

    for view in views:
        view.cameraChanged.connect(lambda v=view: follow(v))


class Skeleton3DPanel(QWidget):
    """One model's 3D skeleton: floor grid, axes, bones, joints, ghost and overlay.

    Args:
        name: the backend whose pose this panel shows (``teacher``, ``student``...).
        title: the label above the view.
    """

    def __init__(self, name: str, title: str, parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: bold; padding: 2px;")
        self.view = SkeletonGLView()
        self.view.setBackgroundColor(BACKGROUND)
        self.view.setMinimumSize(200, 180)
        self.view.setCameraPosition(distance=2.7, elevation=12, azimuth=-90)
        self.view.opts["center"] = type(self.view.opts["center"])(0.0, 0.0, 0.85)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self._build_items()
        self.show_ghost = True
        self.show_overlay = True
        self.pose_display: np.ndarray | None = None

    def _build_items(self) -> None:
        grid = gl.GLGridItem()
        grid.setSize(4, 4)
        grid.setSpacing(0.25, 0.25)
        grid.setColor((255, 255, 255, 60))
        axes = gl.GLAxisItem()
        axes.setSize(0.3, 0.3, 0.3)
        color = model_color(self.name)
        self.bones = gl.GLLinePlotItem(pos=_EMPTY, mode="lines", color=color, width=4, antialias=True)
        self.joints = gl.GLScatterPlotItem(pos=_EMPTY[:1], size=11, color=color, pxMode=True)
        self.ghost = gl.GLLinePlotItem(pos=_EMPTY, mode="lines", color=(1, 1, 1, 0.3), width=2)
        self.overlay = gl.GLLinePlotItem(pos=_EMPTY, mode="lines", color=(0.4, 1, 0.5, 0.7), width=2)
        for item in (grid, axes, self.ghost, self.overlay, self.bones, self.joints):
            self.view.addItem(item)
        self.joints.setGLOptions("translucent")

    def set_pose(
        self,
        pose: np.ndarray | None,
        errors_mm: np.ndarray | None = None,
        ghost: np.ndarray | None = None,
        overlay: np.ndarray | None = None,
    ) -> None:
        """Draw a pose (camera metres, ``(17, 3)``); None hides the skeleton.

        Args:
            pose: this panel's model pose.
            errors_mm: per-joint error used to colour the joints (model colour if None).
            ghost: the other model's pose, drawn faintly (when the ghost is on).
            overlay: a third source (MediaPipe world or ground truth), when on.
        """
        if pose is None:
            self.pose_display = None
            for item in (self.bones, self.joints, self.ghost, self.overlay):
                item.setVisible(False)
            return
        self.bones.setVisible(True)
        self.joints.setVisible(True)
        shown = camera_to_display(pose)
        lift = -float(shown[:, 2].min())  # lowest joint on the floor
        shown[:, 2] += lift
        self.pose_display = shown
        self.bones.setData(pos=shown[_BONE_INDEX])
        if errors_mm is None:
            colors = np.tile(np.array(model_color(self.name)), (NUM_JOINTS, 1))
        else:
            colors = error_colors(errors_mm)
        self.joints.setData(pos=shown, color=colors)
        for item, other, on in ((self.ghost, ghost, self.show_ghost), (self.overlay, overlay, self.show_overlay)):
            item.setVisible(other is not None and on)
            if other is not None and on:
                pts = camera_to_display(other)
                pts[:, 2] += lift
                item.setData(pos=pts[_BONE_INDEX])

    def set_overlay_color(self, rgba: tuple[float, float, float, float]) -> None:
        """Colour of the third-source overlay."""
        self.overlay.setData(color=rgba)
