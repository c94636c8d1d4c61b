"""3D skeleton views (pyqtgraph ``GLViewWidget``) with linked cameras.

Poses arrive in the core's camera frame (x right, y down, z away from the camera). For
display they are turned into the core's world axes
(:func:`scjd_core.world.camera_axes_to_world`) and then into GL's
(:func:`world_to_display`: GL's z is up, GL's y points away from the camera), and lifted
so the lowest joint stands on the floor grid. When the clip's world-frame poses are known
(a processed clip: root trajectory and ground contact of :mod:`scjd_core.trajectory`),
the skeleton is drawn where it is in the world instead (:func:`world_to_display`), the
view follows it (``follow``), and the root's recent path is drawn on the floor as a
fading trace.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import Qt, Signal
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from scjd_app.widgets.palette import BACKGROUND, ERROR_SCALE_MM, error_colors, model_color
from scjd_core.skeleton import BONES, NUM_JOINTS, ROOT
from scjd_core.world import camera_axes_to_world

_BONE_INDEX = np.array(BONES, dtype=np.int64).reshape(-1)
#: World frame (+Y up, +Z towards the camera) -> display frame: (x, y, z) -> (x, -z, y).
_WORLD_TO_DISPLAY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_EMPTY = np.zeros((2, 3))
#: Side of the floor grid and the distance between its lines (metres).
GRID_SIZE_M, GRID_STEP_M = 4.0, 0.25
#: Height of the view's centre above the floor before :func:`frame_views` fits it (metres).
FOLLOW_HEIGHT_M = 0.85
#: Height of the root trace above the floor grid (metres), so that it is drawn over it.
TRACE_HEIGHT_M = 0.005
#: Framing: the skeletons' extent plus this margin on each side fills the view.
FIT_MARGIN_M = 0.2
#: Framing follows the skeletons' size with this much of the gap closed per drawn frame.
FIT_SMOOTHING = 0.2
#: The other model's skeleton ("ghost"): white, half transparent.
GHOST_COLOR = (1.0, 1.0, 1.0, 0.55)


def camera_to_display(pose: np.ndarray) -> np.ndarray:
    """Rotate camera-frame points ``(..., 3)`` into the upright display frame (z up): the
    core's camera -> world axes, then :func:`world_to_display` (no levelling, no floor)."""
    return world_to_display(camera_axes_to_world(pose))


def world_to_display(points: np.ndarray) -> np.ndarray:
    """Rotate world-frame points ``(..., 3)`` (``+Y`` up, floor ``y = 0``) into the display frame (z up)."""
    return np.asarray(points, dtype=np.float64) @ _WORLD_TO_DISPLAY.T


def trace_colors(n: int, rgb: tuple[float, float, float] = (1.0, 0.85, 0.3)) -> np.ndarray:
    """``(n, 4)`` colours of a trace of ``n`` points: transparent at the oldest, opaque at the newest."""
    alpha = np.linspace(0.0, 0.9, n) if n > 1 else np.full(n, 0.9)
    return np.column_stack([np.tile(rgb, (n, 1)), alpha])


class SkeletonGLView(GLViewMixin, QOpenGLWindow):
    """pyqtgraph's 3D view in a native OpenGL window; says when its camera moves (for linking).

    It is pyqtgraph's ``GLViewWidget`` logic (``GLViewMixin``) on a ``QOpenGLWindow``
    shown through a window container, not on a ``QOpenGLWidget``: with a
    ``QOpenGLWidget`` inside it, Qt composes the *whole* main window through OpenGL on
    every update, which cost 13 ms more per update than a plain window with software
    OpenGL (measured on Xvfb + llvmpipe), while a ``QOpenGLWindow`` renders and swaps on
    its own and the rest of the window keeps Qt's cheap raster updates.
    """

    cameraChanged = Signal()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: Fit the camera to the skeleton (:func:`frame_views`) until the user zooms.
        self.auto_fit = True

    def devicePixelRatioF(self) -> float:  # what GLViewMixin asks a QWidget for
        return float(self.devicePixelRatio())

    def orbit(self, azim, elev):
        super().orbit(azim, elev)
        self.cameraChanged.emit()

    def pan(self, dx, dy, dz, relative="global"):
        super().pan(dx, dy, dz, relative)
        self.cameraChanged.emit()

    def wheelEvent(self, ev):
        super().wheelEvent(ev)
        self.auto_fit = False  # the user chose a distance: stop fitting
        self.cameraChanged.emit()

    def setCameraPosition(self, *args, **kwargs):
        super().setCameraPosition(*args, **kwargs)
        self.cameraChanged.emit()


def fit_distance(extent: np.ndarray, width: int, height: int, fov_deg: float) -> float:
    """Camera distance at which a box of ``extent`` (display x, y, z sizes in metres, plus
    :data:`FIT_MARGIN_M` each side) fits a ``width`` x ``height`` view (pyqtgraph's
    ``fov`` is horizontal)."""
    tan = np.tan(np.radians(fov_deg) / 2.0)
    across = max(float(extent[0]), float(extent[1])) + 2 * FIT_MARGIN_M  # any azimuth
    tall = float(extent[2]) + 2 * FIT_MARGIN_M
    aspect = max(height, 1) / max(width, 1)
    # parts nearer the camera than the centre (half the depth, at most) look bigger
    return max(across / (2 * tan), tall / (2 * tan * aspect)) + 0.5 * max(float(extent[0]), float(extent[1]))


def frame_views(panels: list[Skeleton3DPanel], snap: bool = False) -> None:
    """Fit the (linked) cameras of ``panels`` to their skeletons: the distance at which
    the taller and wider of the shown poses fills the view, and the centre at its
    mid-height, moving a part of the way per call (all the way with ``snap``). Does
    nothing once the user has zoomed a view (``auto_fit`` off)."""
    shown = [p for p in panels if p.pose_display is not None]
    if not shown or not all(p.view.auto_fit for p in panels):
        return
    pts = np.concatenate([p.pose_display for p in shown])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    for panel in panels:
        view = panel.view
        target = fit_distance(hi - lo, view.width(), view.height(), float(view.opts["fov"]))
        mid = float(lo[2] + hi[2]) / 2.0
        step = 1.0 if snap else FIT_SMOOTHING
        view.opts["distance"] += step * (target - float(view.opts["distance"]))
        centre = view.opts["center"]
        view.opts["center"] = type(centre)(centre.x(), centre.y(), centre.z() + step * (mid - centre.z()))
        view.update()


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
        self.title_text = title
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: bold; padding: 2px;")
        self.view = SkeletonGLView()
        self.view.setBackgroundColor(BACKGROUND)
        self.view_widget = QWidget.createWindowContainer(self.view, self)
        self.view_widget.setMinimumSize(200, 180)
        self.view.setCameraPosition(distance=2.7, elevation=12, azimuth=-90)
        self.view.opts["center"] = type(self.view.opts["center"])(0.0, 0.0, FOLLOW_HEIGHT_M)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.view_widget, 1)
        self._build_items()
        self.show_ghost = True
        self.show_overlay = True
        self.follow = True  # with world poses: keep the view centred on the skeleton
        self.scale_mm = ERROR_SCALE_MM  # the joint error drawn full red
        self.pose_display: np.ndarray | None = None

    def set_skipped(self, skipped: bool) -> None:
        """Say in the title that live mode skipped this model on the frame shown (it did
        not fit in the frame time)."""
        text = f"{self.title_text} — skipped live (too slow for every frame)"
        text = text if skipped else self.title_text
        if self.title.text() != text:
            self.title.setText(text)

    def _build_items(self) -> None:
        grid = gl.GLGridItem()
        grid.setSize(GRID_SIZE_M, GRID_SIZE_M)
        grid.setSpacing(GRID_STEP_M, GRID_STEP_M)
        grid.setColor((255, 255, 255, 60))
        self.grid = grid
        axes = gl.GLAxisItem()
        axes.setSize(0.3, 0.3, 0.3)
        color = model_color(self.name)
        self.bones = gl.GLLinePlotItem(pos=_EMPTY, mode="lines", color=color, width=4, antialias=True)
        self.joints = gl.GLScatterPlotItem(pos=_EMPTY[:1], size=11, color=color, pxMode=True)
        self.ghost = gl.GLLinePlotItem(pos=_EMPTY, mode="lines", color=GHOST_COLOR, width=3, antialias=True)
        self.overlay = gl.GLLinePlotItem(pos=_EMPTY, mode="lines", color=(0.4, 1, 0.5, 0.85), width=2, antialias=True)
        self.trace = gl.GLLinePlotItem(pos=_EMPTY, mode="line_strip", color=trace_colors(2), width=3)
        self.trace.setVisible(False)
        for item in (grid, axes, self.trace, self.ghost, self.overlay, self.bones, self.joints):
            self.view.addItem(item)
        for item in (self.joints, self.trace, self.ghost, self.overlay):
            item.setGLOptions("translucent")

    def set_pose(
        self,
        pose: np.ndarray | None,
        errors_mm: np.ndarray | None = None,
        ghost: np.ndarray | None = None,
        overlay: np.ndarray | None = None,
        world: np.ndarray | None = None,
        trace: np.ndarray | None = None,
    ) -> None:
        """Draw a pose (camera metres, ``(17, 3)``); None hides the skeleton.

        Args:
            pose: this panel's model pose.
            errors_mm: per-joint error used to colour the joints (model colour if None).
            ghost: the other model's pose, drawn faintly (when the ghost is on).
            overlay: a third source (MediaPipe world or ground truth), when on.
            world: the same pose in the world frame (``(17, 3)``, ``+Y`` up, floor at
                ``y = 0``, moving with the root): drawn where it is instead of above
                the origin; the ghost and overlay are drawn around its root.
            trace: the root's recent positions ``(K, 3)`` in the world frame, oldest
                first, drawn on the floor and fading into the past.
        """
        if pose is None:
            self.pose_display = None
            for item in (self.bones, self.joints, self.ghost, self.overlay, self.trace):
                item.setVisible(False)
            return
        self.bones.setVisible(True)
        self.joints.setVisible(True)
        if world is not None:
            shown = world_to_display(world)
            lift = 0.0
            # The grid stays under the skeleton, moved by whole cells: its lines stay put in the world.
            cell = np.round(shown[ROOT, :2] / GRID_STEP_M) * GRID_STEP_M
            self.grid.resetTransform()
            self.grid.translate(float(cell[0]), float(cell[1]), 0.0)
            if self.follow:
                root = shown[ROOT]
                centre = self.view.opts["center"]  # its height is the framing's (frame_views)
                self.view.opts["center"] = type(centre)(root[0], root[1], centre.z())
                self.view.update()
        else:
            shown = camera_to_display(pose)
            lift = -float(shown[:, 2].min())  # lowest joint on the floor
            self.grid.resetTransform()
            shown[:, 2] += lift
        self._set_trace(trace if world is not None else None)
        self.pose_display = shown
        self.bones.setData(pos=shown[_BONE_INDEX])
        if errors_mm is None:
            colors = np.tile(np.array(model_color(self.name)), (NUM_JOINTS, 1))
        else:
            colors = error_colors(errors_mm, scale_mm=self.scale_mm)
        self.joints.setData(pos=shown, color=colors)
        for item, other, on in ((self.ghost, ghost, self.show_ghost), (self.overlay, overlay, self.show_overlay)):
            item.setVisible(other is not None and on)
            if other is not None and on:
                pts = camera_to_display(other)
                if world is not None:  # around this pose's root, wherever it is
                    pts += shown[ROOT] - pts[ROOT]
                else:
                    pts[:, 2] += lift
                item.setData(pos=pts[_BONE_INDEX])

    def _set_trace(self, trace: np.ndarray | None) -> None:
        if trace is None or len(trace) < 2:
            self.trace.setVisible(False)
            return
        pts = world_to_display(trace)
        pts[:, 2] = TRACE_HEIGHT_M  # on the floor
        self.trace.setData(pos=pts, color=trace_colors(len(pts)))
        self.trace.setVisible(True)

    def set_overlay_color(self, rgba: tuple[float, float, float, float]) -> None:
        """Colour of the third-source overlay."""
        self.overlay.setData(color=rgba)
