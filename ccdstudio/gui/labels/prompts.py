"""Every question the label editor asks the user, in one place so tests can answer them.

Tests replace these functions with ``monkeypatch.setattr(prompts, "ask_text", ...)``; the widgets always
call them through this module.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QWidget,
)

Colour = tuple[int, int, int]


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> str | None:
    """A line of text, or None when cancelled (or left empty)."""
    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value.strip() or None if ok else None


def ask_choice(parent: QWidget | None, title: str, label: str, items: Sequence[str], current: int = 0) -> int | None:
    """The index of the chosen item, or None when cancelled."""
    value, ok = QInputDialog.getItem(parent, title, label, list(items), current, False)
    return list(items).index(value) if ok and value in items else None


def ask_colour(parent: QWidget | None, title: str, colour: Colour) -> Colour | None:
    chosen = QColorDialog.getColor(QColor(*colour), parent, title)
    return (chosen.red(), chosen.green(), chosen.blue()) if chosen.isValid() else None


def ask_save(parent: QWidget | None, title: str, text: str) -> str:
    """``"save"``, ``"discard"`` or ``"cancel"``, for unsaved labels."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.warning(parent, title, text, buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    buttons = QMessageBox.StandardButton
    return QMessageBox.question(parent, title, text, buttons.Yes | buttons.No, buttons.Yes) == buttons.Yes


def ask_open_path(parent: QWidget | None, title: str, folder: str, filters: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, folder, filters)
    return path or None


def ask_open_paths(parent: QWidget | None, title: str, folder: str, filters: str) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, title, folder, filters)
    return list(paths)


def ask_save_path(parent: QWidget | None, title: str, suggestion: str, filters: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggestion, filters, matching_filter(filters, suggestion))
    return path or None


def matching_filter(filters: str, path: str) -> str:
    """The first of ``filters`` (``"PNG (*.png);;FITS (*.fits *.fit)"``) whose patterns match ``path``'s suffix,
    so that the dialog lists the suggested file's kind; "" when none does."""
    name = path.lower()
    for entry in filters.split(";;"):
        patterns = entry[entry.find("(") + 1: entry.rfind(")")].split()
        if any(p.startswith("*.") and name.endswith(p[1:]) for p in patterns):
            return entry
    return ""


def ask_folder(parent: QWidget | None, title: str, folder: str) -> str | None:
    return QFileDialog.getExistingDirectory(parent, title, folder) or None
