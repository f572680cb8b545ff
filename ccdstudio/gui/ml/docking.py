"""Fitting the ML features into the window: the shared Model menu, and docks that scroll instead of
making the window taller."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QScrollArea, QWidget


def model_menu(window: Any) -> QMenu:
    """``window.menus["model"]``, added to the menu bar on first use (by Predict or Train)."""
    if "model" not in window.menus:
        window.menus["model"] = window.menuBar().addMenu("&Model")
    return window.menus["model"]


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a vertical scroll area, so a dock's minimum height does not grow the window."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + 16)
    return area
