"""Fitting the ML features into the window: the shared Model menu."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMenu


def model_menu(window: Any) -> QMenu:
    """``window.menus["model"]``, added to the menu bar on first use (by Predict or Train)."""
    if "model" not in window.menus:
        window.menus["model"] = window.menuBar().addMenu("&Model")
    return window.menus["model"]
