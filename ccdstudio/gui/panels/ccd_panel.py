"""The CCD dock: data/bias sections, pedestal and noise, and the gain that turns ADU into electrons."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from ccdstudio.gui.document import Document
from ccdstudio.io.ccd import ADU_PER_ELECTRON as ADU_PER_E
from ccdstudio.io.ccd import ELECTRONS_PER_ADU as E_PER_ADU
from ccdstudio.io.ccd import format_section

SKIPPER_GAIN_THRESHOLD = 5.0
"""A header gain whose comment does not name its unit is taken as ADU per electron at or above this
(skipper CCDs: ~100s of ADU/e-), below it as e-/ADU, the usual meaning of the GAIN card in conventional CCD
headers."""


class CcdPanel(QWidget):
    """Shows the plane's sections and noise; sets the gain and whether values are shown in electrons."""

    editSectionsRequested = Signal()
    calibrationChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = QLabel("–")
        self.bias = QLabel("–")
        self.bias.setWordWrap(True)
        self.noise = QLabel("–")
        self.noise.setWordWrap(True)
        self.edit = QPushButton("Edit sections…")
        self.gain = QDoubleSpinBox()
        self.gain.setRange(0.0, 1e6)
        self.gain.setDecimals(4)
        self.gain.setSpecialValueText("none")
        self.gain.setKeyboardTracking(False)
        self.gain_unit = QComboBox()
        self.gain_unit.addItems([ADU_PER_E, E_PER_ADU])
        self.electrons = QCheckBox("Show electrons: (ADU − pedestal) / gain")
        gain_row = QHBoxLayout()
        gain_row.addWidget(self.gain, 1)
        gain_row.addWidget(self.gain_unit)
        form = QFormLayout(self)
        form.addRow("Data section", self.data)
        form.addRow("Bias sections", self.bias)
        form.addRow("", self.edit)
        form.addRow("Pedestal, noise", self.noise)
        form.addRow("Gain", gain_row)
        form.addRow("", self.electrons)
        self.edit.clicked.connect(self.editSectionsRequested)
        self.gain.valueChanged.connect(self._gain_changed)
        self.gain_unit.currentTextChanged.connect(lambda _: self._gain_changed())
        self.electrons.toggled.connect(lambda _: self.calibrationChanged.emit())
        self.electrons.setEnabled(False)

    def show_document(self, document: Document) -> None:
        """Describe the shown plane; a gain from the header is filled in (the user's typed gain is kept)."""
        sections = document.sections
        origin = "" if sections.from_header else "  (set by hand)"
        self.data.setText((format_section(sections.data) if sections.data else "whole plane") + origin)
        self.bias.setText("; ".join(format_section(w) for w in sections.bias) or "none")
        prepared = document.prepared
        text = f"{prepared.pedestal:.2f} ADU, σ {prepared.noise:.3g} ADU (MAD)"
        read = document.overscan_noise
        if read is not None:  # the bare read noise: the MAD over the data also holds glow and drift
            text += f"; read noise {read:.3g} ADU (overscan)"
        self.noise.setText(text)
        gain = document.header_gain
        if gain and self.gain.value() == 0:
            self.gain.blockSignals(True)
            self.gain.setValue(gain)
            unit = document.header_gain_unit or (ADU_PER_E if gain >= SKIPPER_GAIN_THRESHOLD else E_PER_ADU)
            self.gain_unit.setCurrentText(unit)
            self.gain.blockSignals(False)
            self._gain_changed(emit=False)

    def adu_per_electron(self) -> float | None:
        """The gain to divide by when electrons are shown, else None."""
        return self.gain_adu_per_electron() if self.electrons.isChecked() else None

    def gain_adu_per_electron(self) -> float | None:
        """The gain (ADU per electron) when one is set, shown in electrons or not: clusters' energies in keV."""
        value = self.gain.value()
        if not value > 0:
            return None
        return value if self.gain_unit.currentText() == ADU_PER_E else 1.0 / value

    def _gain_changed(self, *_: object, emit: bool = True) -> None:
        self.electrons.setEnabled(self.gain.value() > 0)
        if self.gain.value() == 0:
            self.electrons.setChecked(False)
        if emit and self.electrons.isChecked():
            self.calibrationChanged.emit()
