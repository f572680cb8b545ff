"""Small background work on a thread pool whose result comes back to the UI thread through a signal."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Mailbox(QObject):
    """Carries a result from a pool thread to the UI thread (``delivered`` is a queued signal there)."""

    delivered = Signal(object)


class _Task(QRunnable):
    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self._work = work

    def run(self) -> None:
        self._work()


def start(pool: QThreadPool, work: Callable[[], None]) -> None:
    """Run ``work()`` on ``pool``; it should end by emitting a :class:`Mailbox`'s ``delivered``."""
    pool.start(_Task(work))
