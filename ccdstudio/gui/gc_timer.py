"""Python's cyclic garbage collection, on a timer in the UI thread.

Left automatic, a collection runs in whichever thread happens to allocate, so a worker thread (training,
a fill) can end up destroying Qt objects of a closed dialog or window while the UI thread touches them, and
the two deadlock. Collecting here instead keeps every Qt destructor on the UI thread. The objects alive
once the window is up are frozen (:func:`gc.freeze`), so later collections only walk what came after, and
full collections are rationed: they are the slow ones.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

FULL_EVERY_S = 60.0
"""The least time between two full collections."""


class UiThreadCollector(QObject):
    """Disables automatic collection and collects every ``interval_ms`` what the thresholds call for."""

    def __init__(self, interval_ms: int = 1000) -> None:
        super().__init__()
        gc.disable()
        self._last_full = time.monotonic()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        young, middle, old = gc.get_count()
        first, second, third = gc.get_threshold()
        if young <= first:
            return
        if middle > second and old > third and time.monotonic() - self._last_full > FULL_EVERY_S:
            gc.collect(2)
            self._last_full = time.monotonic()
        else:
            gc.collect(1 if middle > second else 0)

    @staticmethod
    def freeze() -> None:
        """Collect once, then leave every object alive now out of later collections (call when started)."""
        gc.collect()
        gc.freeze()


_collector: UiThreadCollector | None = None


def collect_in_the_ui_thread() -> UiThreadCollector:
    """The one collector of this process (made on first call, with a QApplication in place)."""
    global _collector
    if _collector is None:
        _collector = UiThreadCollector()
    return _collector
