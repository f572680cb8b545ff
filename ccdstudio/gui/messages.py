"""Telling the user something went wrong. Everything goes through :func:`show_error`, which tests replace."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """Show a modal error dialog with ``message`` (a sentence for the user, not a traceback)."""
    QMessageBox.critical(parent, title, message)
