"""Running a job (see :mod:`ccdstudio.jobs`) off the UI thread and turning its events into signals.

>>> worker = JobWorker(lambda cancel: open_document(path, cancel=cancel))
>>> worker.finished_with.connect(show); worker.failed.connect(report); worker.start()

The job runs in a QThread; each ``Progress`` becomes ``progress(fraction, message)`` (fraction -1 when
unknown). Exactly one of ``finished_with(result)``, ``failed(message)`` or ``cancelled()`` ends it.
:meth:`JobWorker.cancel` sets the job's cancel token; the job stops at its next ``check``.
:meth:`JobWorker.pause` holds the job between two events (its generator simply is not advanced, so it keeps
all its state) until :meth:`JobWorker.resume` or :meth:`JobWorker.cancel`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.jobs import CancelToken, Job

log = logging.getLogger(__name__)

JobFactory = Callable[[CancelToken], Job[Any]]
"""Builds the job given the worker's cancel token."""


class JobWorker(QThread):
    """A thread that drives one job to its end."""

    progress = Signal(float, str)
    finished_with = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    pausedChanged = Signal(bool)
    """True when the job has actually halted after :meth:`pause` (its current step done), False when it
    goes on again."""

    def __init__(self, factory: JobFactory, title: str = "", parent: Any = None) -> None:
        super().__init__(parent)
        self.title = title
        self.token = CancelToken()
        self._factory = factory
        self._go = threading.Event()
        self._go.set()

    def cancel(self) -> None:
        """Ask the job to stop at its next check (returns at once); a paused job goes on to reach it."""
        self.token.cancel()
        self._go.set()

    def pause(self) -> None:
        """Hold the job after its current step (returns at once; ``pausedChanged(True)`` when it halts)."""
        self._go.clear()

    def resume(self) -> None:
        """Let a paused job go on."""
        self._go.set()

    @property
    def paused(self) -> bool:
        """Whether a pause was asked for and not yet lifted."""
        return not self._go.is_set()

    def run(self) -> None:  # runs in the worker thread
        try:
            job = self._factory(self.token)
            while True:
                self._hold()
                try:
                    event = next(job)
                except StopIteration as stop:
                    result = stop.value
                    break
                fraction = -1.0 if event.fraction is None else float(event.fraction)
                self.progress.emit(fraction, event.message)
        except Cancelled:
            self.cancelled.emit()
            return
        except CcdstudioError as error:
            self.failed.emit(str(error))
            return
        except MemoryError:
            self.failed.emit("not enough memory for this operation")
            return
        except Exception as error:  # a bug: log it in full, tell the user in one line
            log.exception("%s failed", self.title or "job")
            self.failed.emit(f"unexpected error: {type(error).__name__}: {error}")
            return
        if self.token.cancelled:
            self.cancelled.emit()
        else:
            self.finished_with.emit(result)

    def _hold(self) -> None:
        """Wait here (between two steps of the job) while paused."""
        if self._go.is_set():
            return
        self.pausedChanged.emit(True)
        self._go.wait()
        self.pausedChanged.emit(False)
