"""Helpers shared by the sub-commands: parsers with examples, progress bars, argument types."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time
from typing import Any, TypeVar

from ccdstudio.errors import CcdstudioError
from ccdstudio.jobs import Job, Progress, run

T = TypeVar("T")


def add_command(subparsers: Any, name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
    """Add a sub-command whose ``--help`` ends with worked examples."""
    return subparsers.add_parser(
        name,
        help=summary,
        description=textwrap.dedent(description).strip(),
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def has_screen() -> bool:
    """Whether a window can be shown (a display server, or a Qt platform set explicitly)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal), or JSON lines."""

    def __init__(self, json_lines: bool = False, stream: Any = None) -> None:
        self.json_lines = json_lines
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self._last = 0.0

    def __call__(self, event: Progress) -> None:
        if self.json_lines:
            record = {"fraction": event.fraction, "message": event.message, **event.data}
            print(json.dumps(record, default=float), file=sys.stdout, flush=True)
            return
        now = time.monotonic()
        done = event.fraction is not None and event.fraction >= 1
        if not self.tty and not done and now - self._last < 2.0 and not event.data:
            return
        self._last = now
        elapsed = now - self.start
        if event.fraction:
            eta = elapsed * (1 - event.fraction) / event.fraction
            bar = "#" * int(event.fraction * 30)
            text = f"[{bar:<30}] {event.fraction:6.1%}  {elapsed:5.0f}s elapsed, {eta:5.0f}s left  {event.message}"
        else:
            text = f"{elapsed:5.0f}s  {event.message}"
        if self.tty:
            print("\r" + text[:150].ljust(150), end="\n" if done else "", file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty and not self.json_lines:
            print(file=self.stream, flush=True)


def run_job(job: Job[T], quiet: bool = False, json_lines: bool = False) -> T:
    """Run a job in the foreground under a progress bar (nothing when ``quiet``)."""
    if quiet and not json_lines:
        return run(job)
    bar = ProgressBar(json_lines=json_lines)
    try:
        return run(job, bar)
    finally:
        bar.finish()


def int_range(text: str) -> tuple[int, int]:
    """Parse ``"15-50"`` (inclusive) or ``"7"`` into ``(first, last)``."""
    try:
        first, _, last = text.partition("-")
        low, high = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a range like 15-50, got {text!r}") from None
    if high < low:
        raise argparse.ArgumentTypeError(f"range {text!r} ends before it starts")
    return low, high


def positive_float(text: str) -> float:
    """An argument type: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def json_text(data: Any, indent: int | None = 2) -> str:
    """``data`` as strict JSON: NaN and infinities become null (Python's ``NaN`` is not JSON), NumPy
    scalars plain numbers, tuples and sets lists, anything else its text."""
    return json.dumps(_strict(data), indent=indent, allow_nan=False)


def _strict(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def require(condition: bool, message: str) -> None:
    """Raise a user-facing error unless ``condition`` holds."""
    if not condition:
        raise CcdstudioError(message)
