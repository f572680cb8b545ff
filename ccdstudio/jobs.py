"""The job protocol: how long work reports progress and is cancelled.

A job is a generator that yields :class:`Progress` events and returns its result. It takes a
:class:`CancelToken` and calls :meth:`CancelToken.check` between steps. The GUI runs a job in a worker
thread and turns events into signals, the CLI draws a progress bar, tests call :func:`run`.

Example
-------
>>> def count(n: int, cancel: CancelToken | None = None) -> Job[int]:
...     for i in range(n):
...         check(cancel)
...         yield Progress((i + 1) / n, f"step {i + 1} of {n}")
...     return n
>>> run(count(3))
3
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ccdstudio.errors import Cancelled

T = TypeVar("T")

Job = Generator["Progress", None, T]
"""A generator that yields progress and returns a result of type ``T``."""


@dataclass(frozen=True)
class Progress:
    """One progress report of a job.

    Parameters
    ----------
    fraction
        Share of the work done, in [0, 1], or None when unknown.
    message
        What the job is doing, for a status line.
    data
        Structured extras, e.g. ``{"loss": 0.31, "epoch": 2}`` from training.
    """

    fraction: float | None = None
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class CancelToken:
    """A thread-safe flag that asks a running job to stop at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`~ccdstudio.errors.Cancelled` if cancellation was asked for."""
        if self._event.is_set():
            raise Cancelled()


def check(cancel: CancelToken | None) -> None:
    """:meth:`CancelToken.check` for an optional token."""
    if cancel is not None:
        cancel.check()


def run(job: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive ``job`` to its end, handing each event to ``on_progress``, and return its result."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(event)


def scaled(job: Job[T], start: float, span: float) -> Job[T]:
    """``job`` as a part of a larger one: its fractions are mapped into ``[start, start + span]``."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        fraction = None if event.fraction is None else start + span * event.fraction
        yield Progress(fraction, event.message, event.data)


def steps(total: int, message: str, cancel: CancelToken | None = None) -> Generator[tuple[int, Progress], None, None]:
    """Yield ``(i, progress)`` for ``i`` in ``range(total)``, checking ``cancel`` before each step.

    The progress event reports the step as done; yield it from the job after doing the work.
    """
    for i in range(total):
        check(cancel)
        yield i, Progress((i + 1) / max(total, 1), f"{message} {i + 1}/{total}")
