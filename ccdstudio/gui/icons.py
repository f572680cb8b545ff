"""Toolbar and menu icons from qtawesome's Material Design Icons 6 set, tinted to the window's text colour."""

from __future__ import annotations

import qtawesome
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication


def icon(name: str) -> QIcon:
    """The ``mdi6`` icon ``name`` (e.g. ``"folder-open-outline"``)."""
    app = QApplication.instance()
    colour = app.palette().windowText().color().name() if app is not None else "#444444"
    return qtawesome.icon(f"mdi6.{name}", color=colour, color_disabled="#999999")
