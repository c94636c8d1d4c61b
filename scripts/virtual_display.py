"""A virtual X display for the GUI scripts when the machine has none (Xvfb via pyvirtualdisplay)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def virtual_display(size: tuple[int, int] = (1600, 1000)) -> Iterator[None]:
    """Run the block on a virtual display of ``size`` unless ``DISPLAY`` is already set."""
    if os.environ.get("DISPLAY"):
        yield
        return
    from pyvirtualdisplay import Display

    display = Display(visible=False, size=size, color_depth=24)
    display.start()
    try:
        yield
    finally:
        display.stop()
