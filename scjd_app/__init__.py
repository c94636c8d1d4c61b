"""SCJD viewer (``scjd-viewer``): a PySide6 + pyqtgraph front end to :mod:`scjd_core`.

The viewer computes no pose: a worker thread drives :class:`scjd_core.pipeline.Pipeline`
and hands immutable results to the GUI thread, which only draws them.
"""

__version__ = "0.1.0"
