"""A slider and a spin box bound to one floating-point value: drag for speed, type for precision."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QSlider, QWidget

STEPS = 1000
"""Slider positions across the range."""


class SliderSpin(QWidget):
    """``valueChanged(float)`` fires on every slider move and every typed value."""

    valueChanged = Signal(float)

    def __init__(self, low: float = 0.0, high: float = 1.0, value: float = 0.0, decimals: int = 2,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(decimals)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(90)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self._low, self._high = low, high
        self.slider.valueChanged.connect(self._slid)
        self.spin.valueChanged.connect(self._typed)
        self.set_range(low, high)
        self.setValue(value)

    def value(self) -> float:
        return self.spin.value()

    def setValue(self, value: float) -> None:
        self.spin.setValue(value)  # emits through _typed, which moves the slider

    def set_range(self, low: float, high: float) -> None:
        """The slider's span; the spin box accepts any value (a threshold may lie outside the data)."""
        self._low, self._high = float(low), float(high) if high > low else float(low) + 1.0
        self.spin.setRange(-1e12, 1e12)
        span = self._high - self._low
        self.spin.setSingleStep(10 ** round(math.log10(span / 100)) if span > 0 else 1.0)
        self._place_slider(self.spin.value())

    def _place_slider(self, value: float) -> None:
        position = round((value - self._low) / (self._high - self._low) * STEPS)
        self.slider.blockSignals(True)
        self.slider.setValue(min(max(position, 0), STEPS))
        self.slider.blockSignals(False)

    def _slid(self, position: int) -> None:
        value = self._low + position / STEPS * (self._high - self._low)
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.valueChanged.emit(self.spin.value())

    def _typed(self, value: float) -> None:
        self._place_slider(value)
        self.valueChanged.emit(value)
