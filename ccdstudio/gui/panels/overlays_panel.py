"""The Overlays dock: each overlay (mask planes now, label maps later) with a check box and an opacity."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QSlider, QVBoxLayout, QWidget


class OverlaysPanel(QWidget):
    """Lists overlays by name; emits the user's changes for the viewer to apply."""

    visibilityChanged = Signal(str, bool)
    opacityChanged = Signal(str, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout()
        self._empty = QLabel("No overlays: this plane has no mask or label planes of its size.")
        self._empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self._empty)
        layout.addLayout(self._grid)
        layout.addStretch(1)
        self.checks: dict[str, QCheckBox] = {}
        self.sliders: dict[str, QSlider] = {}

    def set_overlays(self, overlays: list[tuple[str, tuple[int, int, int], float, bool]]) -> None:
        """Show ``(name, colour, opacity, visible)`` rows, replacing the previous ones."""
        while self._grid.count():
            self._grid.takeAt(0).widget().deleteLater()
        self.checks.clear()
        self.sliders.clear()
        self._empty.setVisible(not overlays)
        for row, (name, colour, opacity, visible) in enumerate(overlays):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*colour))
            check = QCheckBox(name)
            check.setIcon(QIcon(swatch))
            check.setChecked(visible)
            check.toggled.connect(lambda on, n=name: self.visibilityChanged.emit(n, on))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(round(opacity * 100))
            slider.setToolTip("opacity")
            slider.valueChanged.connect(lambda v, n=name: self.opacityChanged.emit(n, v / 100))
            self._grid.addWidget(check, row, 0)
            self._grid.addWidget(slider, row, 1)
            self.checks[name], self.sliders[name] = check, slider
