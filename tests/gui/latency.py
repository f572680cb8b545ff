"""Measuring event-loop latency: a 10 ms timer records the gaps between its ticks."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

INTERVAL_MS = 10


class LatencyProbe:
    """``with LatencyProbe(qtbot) as probe: ...`` then ``probe.worst_ms`` is the longest gap beyond the
    timer's own interval, i.e. how long the UI thread was kept from handling events."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.gaps: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    def __enter__(self) -> LatencyProbe:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()

    @property
    def samples(self) -> int:
        return len(self.gaps)

    @property
    def worst_ms(self) -> float:
        return max(self.gaps, default=0.0) - INTERVAL_MS

    def stalls(self, over_ms: float) -> int:
        """How many times the UI thread was kept from handling events for more than ``over_ms``."""
        return sum(gap - INTERVAL_MS > over_ms for gap in self.gaps)

    def responsive(self) -> bool:
        """No stall over 100 ms but for one, and none over 1 s: work done on the UI thread shows as many long
        gaps or one very long one, while a machine shared with other jobs (a CI runner) can delay any process
        once."""
        return self.stalls(100) <= 1 and self.worst_ms < 1000

    def describe(self) -> str:
        gaps = sorted(self.gaps)
        return (f"{len(gaps)} ticks, median {gaps[len(gaps) // 2]:.1f} ms, worst {gaps[-1]:.1f} ms, "
                f"{self.stalls(100)} over 100 ms")
