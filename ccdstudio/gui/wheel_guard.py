"""The mouse wheel scrolls a dock, not the value of a box the pointer happens to pass over.

Docks are long forms that scroll; Qt lets an unfocused combo box, spin box or slider take a wheel turn, so
scrolling down the Particles dock changed its connectivity on the way. :func:`install` makes such
widgets take the wheel only once clicked (focused); before that the turn goes on to the scroll area.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QSlider

_VALUE_WIDGETS = (QComboBox, QAbstractSpinBox, QSlider)


class WheelGuard(QObject):
    """An application event filter: see the module docstring."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if not isinstance(watched, _VALUE_WIDGETS):
            return False
        if event.type() == QEvent.Type.Polish:  # a wheel turn must not focus it either
            watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()  # ignored and filtered: Qt offers the turn to the parents, the scroll area among them
            return True
        return False


def install(app: QApplication) -> WheelGuard:
    """Install the guard on ``app`` once; returns it."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard
