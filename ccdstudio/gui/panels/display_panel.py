"""The Display dock: stretch, cuts, levels, colormap and the level histogram.

The panel owns the choice of levels: given the sample of the data section (already in ADU or electrons),
it computes levels for the chosen cut and emits ``displayChanged`` with everything the viewer needs.
Dragging a level line or typing a level switches the cut to "manual".
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ccdstudio.gui.colormaps import COLORMAPS, colormap_lut, discrete_lut
from ccdstudio.gui.panels.histogram import LevelsHistogram
from ccdstudio.gui.viewer import Display
from ccdstudio.imaging.stretch import CUTS, STRETCHES, Calibration, Levels, cut_levels, electron_levels

ELECTRON_CUT = "electrons"
"""Extra cut offered when values are in electrons: one band per electron, 0 to the frame's maximum."""

DISCRETE_MAP = "discrete"
"""Extra colormap for electrons: flat colour steps so 0, 1, 2 … electrons are distinct."""


class DisplayPanel(QWidget):
    """Display controls; emits a :class:`~ccdstudio.gui.viewer.Display` whenever any of them changes."""

    displayChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stretch = QComboBox()
        self.stretch.addItems(STRETCHES)
        self.cut = QComboBox()
        self.cut.addItems(CUTS)
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.low, self.high = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.low, self.high):
            box.setRange(-1e30, 1e30)
            box.setDecimals(3)
            box.setKeyboardTracking(False)
        self.unit = QLabel("")
        self.histogram = LevelsHistogram()

        levels = QHBoxLayout()
        levels.addWidget(self.low)
        levels.addWidget(QLabel("–"))
        levels.addWidget(self.high)
        levels.addWidget(self.unit)
        form = QFormLayout()
        form.addRow("Stretch", self.stretch)
        form.addRow("Cuts", self.cut)
        form.addRow("Levels", levels)
        form.addRow("Colormap", self.colormap)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.histogram, 1)

        self._sample = np.empty(0)
        self._calibration = Calibration()
        self._levels: Levels = (0.0, 1.0)
        self.stretch.currentTextChanged.connect(lambda _: self._emit())
        self.colormap.currentTextChanged.connect(lambda _: self._emit())
        self.cut.currentTextChanged.connect(lambda _: self._recompute())
        self.low.valueChanged.connect(lambda _: self._typed())
        self.high.valueChanged.connect(lambda _: self._typed())
        self.histogram.levelsDragged.connect(self._dragged)

    # ------------------------------------------------------------------ inputs
    def set_sample(self, raw_sample: np.ndarray, calibration: Calibration) -> None:
        """A new plane or calibration: keep the cut, recompute its levels from ``raw_sample`` (raw units)."""
        self._sample = calibration.apply(raw_sample)
        electrons = bool(calibration.gain)
        if electrons != bool(self._calibration.gain):
            self._offer_electron_choices(electrons)
        self._calibration = calibration
        self.unit.setText(calibration.unit)
        self._recompute()

    def set_levels(self, levels: Levels) -> None:
        """Set levels by hand (the cut becomes manual)."""
        self._levels = (float(levels[0]), float(levels[1]))
        self._set_cut("manual")
        self._emit()

    def levels(self) -> Levels:
        return self._levels

    def display(self) -> Display:
        name = self.colormap.currentText()
        if name == DISCRETE_MAP:
            bands = max(2, int(round(self._levels[1] - self._levels[0])))
            lut, stretch = discrete_lut(bands), "linear"  # a band per unit only works without a stretch
        else:
            lut, stretch = colormap_lut(name), self.stretch.currentText()
        return Display(self._levels, stretch, lut, self._calibration)

    # ------------------------------------------------------------------ internals
    def _offer_electron_choices(self, electrons: bool) -> None:
        """Electrons get an integer-band cut and a discrete map, selected; ADU returns to zscale and grey."""
        for combo, extra, fallback in ((self.cut, ELECTRON_CUT, "zscale"), (self.colormap, DISCRETE_MAP, "grey")):
            combo.blockSignals(True)
            index = combo.findText(extra)
            if electrons and index < 0:
                combo.addItem(extra)
            if not electrons and index >= 0:
                combo.removeItem(index)
            combo.setCurrentText(extra if electrons else fallback)
            combo.blockSignals(False)

    def _recompute(self) -> None:
        cut = self.cut.currentText()
        if cut == ELECTRON_CUT:
            self._levels = electron_levels(self._sample)
        elif cut != "manual":
            self._levels = cut_levels(self._sample, cut)
        self._emit()

    def _typed(self) -> None:
        if (self.low.value(), self.high.value()) != self._levels and self.low.value() < self.high.value():
            self.set_levels((self.low.value(), self.high.value()))

    def _dragged(self, low: float, high: float) -> None:
        if high > low:
            self.set_levels((low, high))

    def _set_cut(self, cut: str) -> None:
        self.cut.blockSignals(True)
        self.cut.setCurrentText(cut)
        self.cut.blockSignals(False)

    def _emit(self) -> None:
        for box, value in ((self.low, self._levels[0]), (self.high, self._levels[1])):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.histogram.set_sample(self._sample, self._levels)
        self.displayChanged.emit(self.display())
