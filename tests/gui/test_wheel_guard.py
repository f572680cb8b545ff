"""A wheel turn over an unclicked combo box (or spin box, slider) in a dock leaves its value alone."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QSpinBox, QVBoxLayout, QWidget

from ccdstudio.gui import wheel_guard


def turn(widget: QWidget) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_a_wheel_turn_changes_a_box_only_once_it_is_clicked(qtbot):
    app = QApplication.instance()
    guard = wheel_guard.install(app)
    try:
        assert wheel_guard.install(app) is guard  # once
        area, form = QScrollArea(), QWidget()
        combo, spin = QComboBox(), QSpinBox()
        combo.addItems(["8-connected", "4-connected"])
        layout = QVBoxLayout(form)
        layout.addWidget(combo)
        layout.addWidget(spin)
        layout.addSpacing(2000)  # a long form that scrolls
        area.setWidget(form)
        qtbot.addWidget(area)
        area.show()
        qtbot.waitExposed(area)
        assert combo.focusPolicy() == spin.focusPolicy() == Qt.FocusPolicy.StrongFocus
        turn(combo)
        turn(spin)
        assert combo.currentIndex() == 0 and spin.value() == 0
        area.activateWindow()
        combo.setFocus()
        qtbot.waitUntil(combo.hasFocus)
        turn(combo)
        assert combo.currentIndex() == 1
    finally:
        app.removeEventFilter(guard)
        guard.setParent(None)
