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

    def describe(self) -> str:
        gaps = sorted(self.gaps)
        return f"{len(gaps)} ticks, median {gaps[len(gaps) // 2]:.1f} ms, worst {gaps[-1]:.1f} ms"
