"""Live mode's frame budget: which backends fit in the time one frame may take."""

from __future__ import annotations

from collections.abc import Iterable

#: With the automatic refresh, the shortest time between two forced runs of a backend (s).
MIN_REFRESH_S = 1.0
#: With the automatic refresh, the largest share of stream time forced runs may take.
MAX_FORCED_SHARE = 0.05


class LiveBudget:
    """Decides, frame by frame, which optional backends to run in live mode.

    Required backends (the fast student) run on every frame. An optional one (the
    teacher) runs when its last measured cost fits in what is left of the frame period
    after detection and the required backends (a running average), and otherwise is
    forced once its refresh interval has passed, so its view never freezes for long.

    A forced run that does not fit delays that frame's result, and the next one's (the
    frames wait behind it). So by default (``refresh_s=None``) the interval grows with
    the backend's cost: at least :data:`MIN_REFRESH_S`, and long enough that forced runs
    take at most :data:`MAX_FORCED_SHARE` of the stream time (a 170 ms teacher on a
    2-core CPU: every 3.4 s; a 3 ms one on a GPU: every second, when it does not fit).

    Args:
        period_s: time one frame may take (1 / fps of the source).
        required: names of the backends that always run.
        refresh_s: a fixed longest stream time between two runs of an optional backend,
            or None for the cost-dependent one above.
    """

    def __init__(self, period_s: float, required: Iterable[str], refresh_s: float | None = None) -> None:
        self.period_s = float(period_s)
        self.required = set(required)
        self.refresh_s = refresh_s
        self._cost: dict[str, float] = {}
        self._last_run: dict[str, float] = {}
        self._base: float | None = None

    def choose(self, names: Iterable[str], now_s: float) -> list[str]:
        """The backends to run for the frame at stream time ``now_s`` (in the given order)."""
        spare = self.period_s - (self._base or 0.0)
        chosen = []
        for name in names:
            if name in self.required:
                chosen.append(name)
                continue
            cost = self._cost.get(name, 0.0)
            overdue = now_s - self._last_run.get(name, float("-inf")) >= self.refresh_interval(name)
            if cost <= spare or overdue:
                chosen.append(name)
                spare -= cost
        return chosen

    def refresh_interval(self, name: str) -> float:
        """Longest stream time between two runs of optional backend ``name`` (s)."""
        if self.refresh_s is not None:
            return float(self.refresh_s)
        return max(MIN_REFRESH_S, self._cost.get(name, 0.0) / MAX_FORCED_SHARE)

    def record(self, name: str, seconds: float, now_s: float) -> None:
        """Note what running ``name`` cost for the frame at ``now_s``."""
        self._cost[name] = seconds
        self._last_run[name] = now_s

    def record_base(self, seconds: float) -> None:
        """Note the per-frame cost of detection plus the required backends."""
        self._base = seconds if self._base is None else 0.8 * self._base + 0.2 * seconds
