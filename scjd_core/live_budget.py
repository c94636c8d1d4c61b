"""Live mode's frame budget: which backends fit in the time one frame may take."""

from __future__ import annotations

from collections.abc import Iterable


class LiveBudget:
    """Decides, frame by frame, which optional backends to run in live mode.

    Required backends (the fast student) run on every frame. An optional one (the
    teacher) runs when its last measured cost fits in what is left of the frame period
    after detection and the required backends (a running average), and at least once
    every ``refresh_s`` of stream time, so its view never freezes for long.

    Args:
        period_s: time one frame may take (1 / fps of the source).
        required: names of the backends that always run.
        refresh_s: longest stream time between two runs of an optional backend.
    """

    def __init__(self, period_s: float, required: Iterable[str], refresh_s: float = 1.0) -> None:
        self.period_s = float(period_s)
        self.required = set(required)
        self.refresh_s = float(refresh_s)
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
            overdue = now_s - self._last_run.get(name, float("-inf")) >= self.refresh_s
            if cost <= spare or overdue:
                chosen.append(name)
                spare -= cost
        return chosen

    def record(self, name: str, seconds: float, now_s: float) -> None:
        """Note what running ``name`` cost for the frame at ``now_s``."""
        self._cost[name] = seconds
        self._last_run[name] = now_s

    def record_base(self, seconds: float) -> None:
        """Note the per-frame cost of detection plus the required backends."""
        self._base = seconds if self._base is None else 0.8 * self._base + 0.2 * seconds
