"""Persistent settings (QSettings, organisation "ccdstudio"): recent files, window geometry and dock state.

Tests point QSettings at a temporary folder (``QSettings.setPath``) so they never touch the user's own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "ccdstudio"
APPLICATION = "ccdstudio"
MAX_RECENT = 12


def settings() -> QSettings:
    """The application's settings store (in ``QSettings.defaultFormat()``, so a caller can redirect it)."""
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def recent_files() -> list[str]:
    """Recently opened files and folders, most recent first (those that no longer exist are dropped)."""
    value = settings().value("recent_files", [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if Path(p).exists()]


def add_recent_file(path: str | Path) -> list[str]:
    """Put ``path`` first in the recent files and return the new list."""
    path = str(Path(path).resolve())
    paths = [path] + [p for p in recent_files() if p != path]
    settings().setValue("recent_files", paths[:MAX_RECENT])
    return paths[:MAX_RECENT]


def clear_recent_files() -> None:
    settings().setValue("recent_files", [])
