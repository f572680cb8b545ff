"""Questions the ML features ask the user; tests replace :func:`ask` and :func:`ask_save_first`."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask(parent: QWidget | None, title: str, question: str) -> bool:
    """Whether the user answered Yes to ``question``."""
    answer = QMessageBox.question(parent, title, question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_save_first(parent: QWidget | None, title: str, text: str, go_on: str) -> str:
    """``"save"`` (save, then go on), ``"go on"`` (without saving, the button labelled ``go_on``) or
    ``"cancel"``."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
    save = box.addButton(QMessageBox.StandardButton.Save)
    without = box.addButton(go_on, QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save)
    box.exec()
    clicked = box.clickedButton()
    return "save" if clicked is save else "go on" if clicked is without else "cancel"
