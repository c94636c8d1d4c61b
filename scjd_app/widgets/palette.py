"""Colours shared by the viewer's panels (one place, so the panels agree)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from scjd_core.skeleton import JOINT_NAMES

#: RGBA (0-1) of each model's skeleton when no error colouring applies.
MODEL_COLORS: dict[str, tuple[float, float, float, float]] = {
    "teacher": (0.35, 0.65, 1.0, 1.0),
    "student": (1.0, 0.62, 0.2, 1.0),
    "mediapipe": (0.75, 0.75, 0.75, 1.0),
    "ground_truth": (0.4, 1.0, 0.5, 1.0),
}
#: Background of the 3D views and plots.
BACKGROUND = "#1e1f24"
#: Per-joint error (mm) at which the joint colour saturates to red, before the clip says otherwise.
ERROR_SCALE_MM = 80.0
#: The scales the automatic range rounds up to (mm), and the ones the View menu offers.
NICE_SCALES_MM = (25.0, 50.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0)
#: The automatic scale puts this percentile of the clip's per-frame mean errors at the top.
AUTO_SCALE_PERCENTILE = 90.0

_ERROR_MAP = pg.ColorMap(
    pos=np.array([0.0, 0.5, 1.0]),
    color=np.array([[60, 200, 90, 255], [240, 220, 60, 255], [230, 60, 50, 255]], dtype=np.ubyte),
)


def model_color(name: str) -> tuple[float, float, float, float]:
    """RGBA of a backend's skeleton."""
    return MODEL_COLORS.get(name, (0.9, 0.9, 0.9, 1.0))


def error_colors(errors_mm: np.ndarray, mode: str = "float", scale_mm: float = ERROR_SCALE_MM) -> np.ndarray:
    """``(N, 4)`` RGBA for per-joint errors: green (0) -> yellow -> red (>= ``scale_mm``).

    Args:
        errors_mm: per-joint errors in millimetres.
        mode: ``"float"`` (0-1, for GL items) or ``"byte"`` (0-255, for brushes).
        scale_mm: the error drawn full red.
    """
    x = np.clip(np.asarray(errors_mm, dtype=np.float64) / max(float(scale_mm), 1e-6), 0.0, 1.0)
    return _ERROR_MAP.map(x, mode=mode)


def auto_error_scale(mean_errors_mm: np.ndarray) -> float:
    """The colour scale for a clip: the :data:`AUTO_SCALE_PERCENTILE` of its per-frame mean
    errors, rounded up to the next of :data:`NICE_SCALES_MM` (so the colours spread over
    the clip instead of saturating), :data:`ERROR_SCALE_MM` when there are none yet."""
    values = np.asarray(mean_errors_mm, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return ERROR_SCALE_MM
    top = float(np.percentile(values, AUTO_SCALE_PERCENTILE))
    return next((s for s in NICE_SCALES_MM if s >= top), NICE_SCALES_MM[-1])


def error_gradient_stops() -> list[tuple[float, tuple[int, int, int, int]]]:
    """The error colour map as ``(position 0-1, RGBA 0-255)`` stops (for a legend bar)."""
    pos, colors = _ERROR_MAP.getStops(mode="byte")
    return [(float(p), tuple(int(v) for v in c)) for p, c in zip(pos, colors, strict=True)]


def confidence_brushes(confidence: np.ndarray) -> list:
    """Brushes for 2D joints: red (0) -> yellow -> green (1) by detector confidence."""
    x = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    rgba = _ERROR_MAP.map(1.0 - x, mode="byte")
    return [pg.mkBrush(*c) for c in rgba]


def short_joint_name(index: int) -> str:
    """A compact label for axes: ``right_shoulder`` -> ``R shoulder``."""
    name = JOINT_NAMES[index]
    for prefix, tag in (("right_", "R "), ("left_", "L ")):
        if name.startswith(prefix):
            return tag + name[len(prefix) :]
    return name
