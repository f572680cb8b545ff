"""The threshold part of the dock: the method and its parameters, the live preview switch, and Apply."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.analysis.rule import UNIT_NAMES, ThresholdRule
from ccdstudio.gui.analysis.slider_spin import SliderSpin
from ccdstudio.imaging.autothreshold import METHODS

METHOD_TITLES = {"pedestal": "Above pedestal (k·σ, CCD)", "manual": "Manual range", "auto": "Automatic (Fiji)"}
LINES = {"image": None, "row": "rows", "column": "columns"}


class ThresholdPanel(QWidget):
    """Edits a :class:`ThresholdRule`; ``ruleChanged`` on every change, ``applyRequested`` on Apply."""

    ruleChanged = Signal(object)
    previewToggled = Signal(bool)
    applyRequested = Signal()

    def __init__(self, gain: Callable[[], float | None] = lambda: None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._gain = gain
        self.method = QComboBox()
        for key, title in METHOD_TITLES.items():
            self.method.addItem(title, key)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._pedestal_page())
        self.pages.addWidget(self._manual_page())
        self.pages.addWidget(self._auto_page())
        self.connectivity = QComboBox()
        self.connectivity.addItems(["8", "4"])
        self.preview = QCheckBox("Live preview")
        self.preview.setToolTip("Show what the threshold selects as you move the sliders (computed on the view)")
        self.apply_button = QPushButton("Apply to image")
        self.apply_button.setToolTip("Threshold the whole plane into the working mask (undoable)")
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: gray")

        box = QGroupBox("Threshold")
        form = QFormLayout(box)
        form.addRow("Method", self.method)
        form.addRow(self.pages)
        form.addRow("Connectivity", self.connectivity)
        row = QHBoxLayout()
        row.addWidget(self.preview)
        row.addStretch(1)
        row.addWidget(self.apply_button)
        form.addRow(row)
        form.addRow(self.info)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)

        self.method.currentIndexChanged.connect(self._method_changed)
        for signal in (self.low.valueChanged, self.high.valueChanged, self.k.valueChanged, self.k_low.valueChanged,
                       self.open_high.toggled, self.two_levels.toggled, self.unit.currentIndexChanged,
                       self.lines.currentIndexChanged, self.auto_method.currentIndexChanged,
                       self.dark.toggled, self.connectivity.currentIndexChanged):
            signal.connect(self._changed)
        self.preview.toggled.connect(self.previewToggled)
        self.apply_button.clicked.connect(self.applyRequested)
        self._method_changed()

    # ------------------------------------------------------------------ pages
    def _pedestal_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.k = SliderSpin(0.0, 20.0, 5.0)
        self.two_levels = QCheckBox("Grow into neighbours above")
        self.two_levels.setToolTip("Two-level (hysteresis) cluster finder: seeds above the first level grow into "
                                   "connected pixels above the second")
        self.k_low = SliderSpin(0.0, 20.0, 3.0)
        self.unit = QComboBox()
        for key, name in UNIT_NAMES.items():
            self.unit.addItem(name, key)
        self.lines = QComboBox()
        self.lines.addItems(list(LINES))
        self.lines.setToolTip("Measure the pedestal and noise per row or column to follow pedestal drift")
        form.addRow("Seed level", self.k)
        form.addRow(self.two_levels)
        form.addRow("Grow level", self.k_low)
        form.addRow("Unit", self.unit)
        form.addRow("Pedestal per", self.lines)
        return page

    def _manual_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.low = SliderSpin(0.0, 1.0, 0.5, decimals=3)
        self.high = SliderSpin(0.0, 1.0, 1.0, decimals=3)
        self.open_high = QCheckBox("No upper limit")
        self.open_high.setChecked(True)
        form.addRow("Lower", self.low)
        form.addRow("Upper", self.high)
        form.addRow(self.open_high)
        return page

    def _auto_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.auto_method = QComboBox()
        self.auto_method.addItems(list(METHODS))
        self.dark = QCheckBox("Dark background (objects bright)")
        self.dark.setChecked(True)
        form.addRow("Method", self.auto_method)
        form.addRow(self.dark)
        return page

    # ------------------------------------------------------------------ state
    def set_data_range(self, sample: np.ndarray) -> None:
        """Span the manual sliders over the data (a level sample of the plane: percentiles 0.1 to 99.99)."""
        finite = sample[np.isfinite(sample)] if sample.size else sample
        if finite.size == 0:
            return
        low, high = np.percentile(finite, [0.1, 99.99])
        top = float(max(high, finite.max()))
        for widget in (self.low, self.high):
            widget.set_range(float(low), top)
        if self.low.value() < low or self.low.value() > top:
            self.low.setValue(float(np.percentile(finite, 99)))
            self.high.setValue(top)

    def rule(self) -> ThresholdRule:
        """The rule the widgets describe."""
        method = self.method.currentData()
        return ThresholdRule(
            method=method,
            low=self.low.value(),
            high=None if self.open_high.isChecked() else self.high.value(),
            auto_method=self.auto_method.currentText(),
            dark_background=self.dark.isChecked(),
            k=self.k.value(),
            k_low=self.k_low.value() if self.two_levels.isChecked() else None,
            unit=self.unit.currentData(),
            lines=LINES[self.lines.currentText()],
            gain=self._gain(),
            connectivity=int(self.connectivity.currentText()),
        )

    def set_rule(self, rule: ThresholdRule) -> None:
        """Show ``rule`` (e.g. remembered from a previous session)."""
        self.method.setCurrentIndex(max(0, self.method.findData(rule.method)))
        self.low.setValue(rule.low)
        self.open_high.setChecked(rule.high is None)
        if rule.high is not None:
            self.high.setValue(rule.high)
        self.auto_method.setCurrentText(rule.auto_method)
        self.dark.setChecked(rule.dark_background)
        self.k.setValue(rule.k)
        self.two_levels.setChecked(rule.k_low is not None)
        if rule.k_low is not None:
            self.k_low.setValue(rule.k_low)
        self.unit.setCurrentIndex(max(0, self.unit.findData(rule.unit)))
        self.lines.setCurrentText(next(k for k, v in LINES.items() if v == rule.lines))
        self.connectivity.setCurrentText(str(rule.connectivity))

    def _method_changed(self) -> None:
        self.pages.setCurrentIndex(self.method.currentIndex())
        self._changed()

    def _changed(self) -> None:
        self.k_low.setEnabled(self.two_levels.isChecked())
        self.high.setEnabled(not self.open_high.isChecked())
        self.ruleChanged.emit(self.rule())
