"""A feature's job shown in the main window's status bar too: its progress bar and Cancel button (the
window's own, for its background jobs) follow the job while the window runs none, so a run started from
the toolbar shows wherever the user looks, whatever dock tab is in front."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class StatusProgress:
    """Mirrors one job at a time in ``window.progress`` and ``window.cancel_button``."""

    def __init__(self, window: Any, cancel: Callable[[], None]) -> None:
        self.window = window
        self.active = False
        self._cancel = cancel
        window.cancel_button.clicked.connect(self._cancel_clicked)

    def start(self) -> None:
        self.active = True
        self.update(-1.0, "")

    def update(self, fraction: float, message: str) -> None:
        """Show ``fraction`` (negative: unknown) unless the window shows a job of its own."""
        window = self.window
        if not self.active or window.worker is not None:
            return  # the window's job (opening a file, say) owns the bar
        if window.progress.isHidden():
            window.show_busy(True)
        window.show_progress(fraction, message or "%p%")

    def stop(self) -> None:
        if self.active and self.window.worker is None:
            self.window.show_busy(False)
        self.active = False

    def _cancel_clicked(self) -> None:
        # the window's Cancel cancels the window's job when there is one; ours only when the bar is ours
        if self.active and self.window.worker is None:
            self._cancel()
