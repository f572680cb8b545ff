"""Running ML work off the UI thread: jobs in a :class:`~ccdstudio.gui.workers.JobWorker` whose event data
reach the UI as a signal, and ``ccdstudio train --json-events`` subprocesses (torchrun) read line by line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from ccdstudio.gui.ml.devices import warmed_up
from ccdstudio.gui.ml.job_events import with_events
from ccdstudio.gui.ml.training import parse_event_line
from ccdstudio.gui.workers import JobFactory, JobWorker

KILL_AFTER_MS = 5000
"""How long a subprocess asked to stop may take before it is killed."""


class _Relay(QObject):
    """Lives in the UI thread; a signal emitted from the worker thread is delivered there (queued)."""

    event = Signal(object)


def start_job(factory: JobFactory, title: str, parent: QObject, on_event: Callable[[dict], None] | None = None,
              advice: str = "") -> JobWorker:
    """Start ``factory``'s job in a worker whose events' ``data`` go to ``on_event`` on the UI thread.

    Out of memory ends the job with a message that adds ``advice`` (see
    :func:`ccdstudio.gui.ml.job_events.with_events`). Connect the worker's signals, then it runs.
    """
    relay = _Relay()
    if on_event is not None:
        relay.event.connect(on_event)
    def job(cancel):
        warmed_up()
        return with_events(factory(cancel), relay.event.emit, advice)

    worker = JobWorker(job, title, parent)
    relay.setParent(worker)
    QTimer.singleShot(0, worker.start)  # after the caller connected its slots
    return worker


class TrainProcess(QObject):
    """A ``ccdstudio train --json-events`` command (possibly under torchrun) whose JSON lines become events."""

    event = Signal(object)
    """An event dict, as :mod:`ccdstudio.ml.train` yields them."""
    log = Signal(str)
    """Any other line of output (stderr, warnings)."""
    ended = Signal(int, bool)
    """``(exit code, whether it was asked to stop)``."""

    def __init__(self, command: list[str], parent: QObject | None = None,
                 environment: Mapping[str, str] | None = None) -> None:
        super().__init__(parent)
        self.command = command
        self.stopping = False
        self._buffers = {"out": b"", "err": b""}
        self.process = QProcess(self)
        if environment:
            from PySide6.QtCore import QProcessEnvironment

            env = QProcessEnvironment.systemEnvironment()
            for key, value in environment.items():
                env.insert(key, value)
            self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(lambda: self._read("out"))
        self.process.readyReadStandardError.connect(lambda: self._read("err"))
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._kill_timer = QTimer(self, singleShot=True, interval=KILL_AFTER_MS)
        self._kill_timer.timeout.connect(self.process.kill)

    def start(self) -> None:
        self.log.emit("$ " + " ".join(self.command))
        self.process.start(self.command[0], self.command[1:])

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask the run to end (SIGTERM, which torchrun passes on to its ranks); kill it if it lingers.
        The best model is already on disk: it is written atomically whenever it improves."""
        if self.running:
            self.stopping = True
            self.process.terminate()
            self._kill_timer.start()

    def wait(self, msecs: int = 30000) -> bool:
        return self.process.waitForFinished(msecs) if self.running else True

    def _read(self, stream: str) -> None:
        data = self.process.readAllStandardOutput() if stream == "out" else self.process.readAllStandardError()
        text = self._buffers[stream] + bytes(data)
        *lines, self._buffers[stream] = text.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace"))

    def _line(self, line: str) -> None:
        event = parse_event_line(line)
        if event is not None:
            self.event.emit(event)
        elif line.strip():
            self.log.emit(line.rstrip())

    def _finished(self, code: int, _status: Any) -> None:
        self._kill_timer.stop()
        for stream in ("out", "err"):
            if self._buffers[stream]:
                self._line(self._buffers[stream].decode("utf-8", "replace"))
                self._buffers[stream] = b""
        self.ended.emit(int(code), self.stopping)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.log.emit(f"could not start {self.command[0]}: {self.process.errorString()}")
            self.ended.emit(-1, self.stopping)
