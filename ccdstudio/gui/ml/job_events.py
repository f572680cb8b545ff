"""Qt-free helpers around jobs for the ML features: forwarding event data, friendly out-of-memory errors,
and elapsed/remaining time (leaving out pauses) for a status line."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ccdstudio.errors import CcdstudioError
from ccdstudio.jobs import Job

T = TypeVar("T")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is host or device memory running out (``MemoryError``, CUDA/MPS out of memory)."""
    if isinstance(error, MemoryError):
        return True
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def with_events(job: Job[T], emit: Callable[[Mapping[str, Any]], None] | None = None,
                advice: str = "") -> Job[T]:
    """``job`` passed through, handing every event's non-empty ``data`` to ``emit``.

    Running out of memory becomes a :class:`CcdstudioError` that says so and adds ``advice`` (e.g. "use
    smaller tiles"), so the window reports it instead of showing a traceback.
    """
    try:
        while True:
            try:
                event = next(job)
            except StopIteration as stop:
                return stop.value
            if emit is not None and event.data:
                emit(dict(event.data))
            yield event
    except (MemoryError, RuntimeError) as error:
        if not is_out_of_memory(error):
            raise
        _release_device_memory()
        where = "GPU" if "cuda" in str(error).lower() or type(error).__name__ == "OutOfMemoryError" else "computer"
        raise CcdstudioError(f"the {where} ran out of memory. {advice}".strip()) from None


def _release_device_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class Stopwatch:
    """Time a job has been running, leaving out the time it was paused (so the estimate of what is left
    does not grow while the user takes a break)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.restart()

    def restart(self) -> None:
        self._started = self._clock()
        self._paused_for = 0.0
        self._paused_at: float | None = None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self._clock()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_for += self._clock() - self._paused_at
            self._paused_at = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    @property
    def elapsed(self) -> float:
        """Seconds running since :meth:`restart`, pauses left out."""
        now = self._paused_at if self._paused_at is not None else self._clock()
        return now - self._started - self._paused_for


def time_text(elapsed: float, fraction: float | None) -> str:
    """``"12 s elapsed, about 30 s left"`` (no estimate before 2 % done or 1 s passed)."""
    text = f"{_duration(elapsed)} elapsed"
    if fraction is not None and 0.02 <= fraction < 1 and elapsed >= 1:
        text += f", about {_duration(elapsed * (1 - fraction) / fraction)} left"
    return text


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def leave_a_core_for_the_window() -> int:
    """Let torch use every core but one, so the window's own thread is never starved by inference or
    training in a worker (which matters on a 2-core laptop); returns the thread count.

    ``OMP_NUM_THREADS`` is set too when absent, because :func:`ccdstudio.ml.device.prepare` would otherwise
    set torch back to all cores when a job chooses its device.
    """
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, min(torch.get_num_threads(), cores - 1))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    torch.set_num_threads(threads)
    return threads
