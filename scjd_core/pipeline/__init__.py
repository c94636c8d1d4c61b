"""The one pipeline: frame source -> 2D detection -> 3D lifting, as a stream of results.

The ``scjd`` command line and the viewer's worker both drive :class:`Pipeline`; nothing
else re-implements a step. The package is split by concern:

* :mod:`~scjd_core.pipeline.core`: the :class:`Pipeline` object (detector + backends);
* :mod:`~scjd_core.pipeline.clip`: clip mode (:meth:`Pipeline.iter_clip`,
  :meth:`Pipeline.process`), with its decoding and lifting threads;
* :mod:`~scjd_core.pipeline.live`: live mode (:meth:`Pipeline.iter_live`), bounded
  look-ahead and the frame budget;
* :mod:`~scjd_core.pipeline.results`: the one :class:`~scjd_core.types.FrameResult`
  builder, :class:`ClipResult` and :func:`collect_results`.
"""

from __future__ import annotations

from scjd_core.pipeline.core import Cancelled, Pipeline
from scjd_core.pipeline.results import ClipResult, collect_results

__all__ = ["Cancelled", "ClipResult", "Pipeline", "collect_results"]
