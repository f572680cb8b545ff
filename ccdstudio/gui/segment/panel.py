"""The Segment dock's widget: layer range, projection, overlays and ink prediction controls.

It only shows state and emits what the user asked for; :class:`ccdstudio.gui.features.segment.SegmentFeature`
does the work. Up/Down keep stepping layers through the plane bar: the spin boxes here take the keyboard only
once clicked.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.gui.segment.overlays import STYLES
from ccdstudio.imaging.morphology import CleanParams
from ccdstudio.imaging.projection import MODES

MODE_TITLES = {"max": "Maximum", "mean": "Mean", "std": "Standard deviation"}


class SegmentPanel(QWidget):
    """Controls for one open segment."""

    rangeChanged = Signal(int, int)
    centreRequested = Signal()
    reverseToggled = Signal(bool)
    projectionToggled = Signal(bool)
    modeChanged = Signal(str)
    overlayVisibilityChanged = Signal(str, bool)
    overlayOpacityChanged = Signal(str, float)
    predictRequested = Signal()
    cleanRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(self._range_group())
        layout.addWidget(self._projection_group())
        layout.addWidget(self._overlay_group())
        layout.addWidget(self._ink_group())
        layout.addStretch(1)

    # ------------------------------------------------------------------ building
    def _range_group(self) -> QGroupBox:
        group = QGroupBox("Layer range")
        self.first = QSpinBox()
        self.last = QSpinBox()
        for spin, tip in ((self.first, "First layer of the range"), (self.last, "Last layer of the range")):
            spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Up/Down stay with the plane bar
            spin.setKeyboardTracking(False)
            spin.setToolTip(tip)
            spin.valueChanged.connect(self._range_edited)
        self.centre_button = QPushButton(icon("target"), "Centre on surface")
        self.centre_button.setToolTip("Put the range around the surface layer estimated from the data")
        self.centre_button.clicked.connect(self.centreRequested)
        self.surface_label = QLabel("")
        self.surface_label.setWordWrap(True)
        self.reverse = QCheckBox("Reverse z order")
        self.reverse.setToolTip("Reopen the segment with its layers from the last file to the first")
        self.reverse.toggled.connect(self.reverseToggled)
        row = QHBoxLayout()
        row.addWidget(self.first)
        row.addWidget(QLabel("to"))
        row.addWidget(self.last)
        form = QFormLayout(group)
        form.addRow("Layers", row)
        form.addRow(self.centre_button)
        form.addRow(self.surface_label)
        form.addRow(self.reverse)
        return group

    def _projection_group(self) -> QGroupBox:
        group = QGroupBox("Projection over the range")
        self.mode = QComboBox()
        for mode in MODES:
            self.mode.addItem(MODE_TITLES[mode], mode)
        self.mode.currentIndexChanged.connect(lambda _: self.modeChanged.emit(self.current_mode()))
        self.show_projection = QPushButton(icon("layers-triple-outline"), "Show projection")
        self.show_projection.setCheckable(True)
        self.show_projection.setToolTip("Show the projection of the layer range instead of the current layer")
        self.show_projection.toggled.connect(self.projectionToggled)
        form = QFormLayout(group)
        form.addRow("Projection", self.mode)
        form.addRow(self.show_projection)
        return group

    def _overlay_group(self) -> QGroupBox:
        group = QGroupBox("Overlays")
        grid = QGridLayout(group)
        self.overlay_checks: dict[str, QCheckBox] = {}
        self.overlay_sliders: dict[str, QSlider] = {}
        for row, style in enumerate(STYLES):
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*style.colour))
            check = QCheckBox(style.title)
            check.setIcon(QIcon(swatch))
            check.setChecked(style.visible)
            check.toggled.connect(lambda on, n=style.name: self.overlayVisibilityChanged.emit(n, on))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(round(style.opacity * 100))
            slider.setToolTip("Opacity")
            slider.valueChanged.connect(lambda v, n=style.name: self.overlayOpacityChanged.emit(n, v / 100))
            grid.addWidget(check, row, 0)
            grid.addWidget(slider, row, 1)
            self.overlay_checks[style.name], self.overlay_sliders[style.name] = check, slider
        self.prediction_label = QLabel("")
        self.prediction_label.setWordWrap(True)
        grid.addWidget(self.prediction_label, len(STYLES), 0, 1, 2)
        return group

    def _ink_group(self) -> QGroupBox:
        group = QGroupBox("Ink")
        self.predict_button = QPushButton(icon("brain"), "Predict ink…")
        self.predict_button.setToolTip("Predict ink over the whole segment from the layer range with a model file; "
                                       "writes <segment>_prediction.png into the segment folder")
        self.predict_button.clicked.connect(self.predictRequested)
        self.threshold = QSpinBox()
        self.threshold.setRange(1, 255)
        self.threshold.setValue(128)
        self.threshold.setToolTip("Probability (0-255) from which a pixel is ink; 128 is p = 0.5")
        self.dilate = QSpinBox()
        self.dilate.setRange(0, 50)
        self.dilate.setSuffix(" px")
        self.dilate.setToolTip("Grow the thresholded ink by this radius")
        self.min_size = QSpinBox()
        self.min_size.setRange(0, 10_000_000)
        self.min_size.setSingleStep(50)
        self.min_size.setSuffix(" px")
        self.min_size.setToolTip("Drop ink particles smaller than this (after dilation)")
        self.invert = QCheckBox("Invert")
        self.invert.setToolTip("Label what is NOT ink")
        self.clean_button = QPushButton(icon("auto-fix"), "Clean into labels")
        self.clean_button.setToolTip("Threshold, dilate, drop small particles (and invert) the prediction, "
                                     "and make the result the ink labels (one undo step)")
        self.clean_button.clicked.connect(self.cleanRequested)
        form = QFormLayout(group)
        form.addRow(self.predict_button)
        form.addRow("Threshold", self.threshold)
        form.addRow("Dilate", self.dilate)
        form.addRow("Min size", self.min_size)
        form.addRow(self.invert)
        form.addRow(self.clean_button)
        return group

    # ------------------------------------------------------------------ state
    def set_layers(self, layers: int, first: int, last: int, reversed_: bool) -> None:
        """A segment of ``layers`` layers with the range ``first..last``; emits nothing."""
        for spin in (self.first, self.last):
            spin.blockSignals(True)
            spin.setRange(0, max(layers - 1, 0))
        self.first.setValue(first)
        self.last.setValue(last)
        for spin in (self.first, self.last):
            spin.blockSignals(False)
        self.reverse.blockSignals(True)
        self.reverse.setChecked(reversed_)
        self.reverse.blockSignals(False)

    def layer_range(self) -> tuple[int, int]:
        return self.first.value(), self.last.value()

    def set_surface_text(self, text: str) -> None:
        self.surface_label.setText(text)

    def current_mode(self) -> str:
        return str(self.mode.currentData())

    def set_projection_shown(self, shown: bool) -> None:
        """Check or uncheck "Show projection" without asking for anything."""
        self.show_projection.blockSignals(True)
        self.show_projection.setChecked(shown)
        self.show_projection.blockSignals(False)

    def overlay_state(self, name: str) -> tuple[bool, float]:
        """``(visible, opacity)`` of one of the dock's overlays as the user set it."""
        return self.overlay_checks[name].isChecked(), self.overlay_sliders[name].value() / 100

    def set_overlay_available(self, name: str, available: bool, visible: bool | None = None) -> None:
        check = self.overlay_checks[name]
        check.setEnabled(available)
        self.overlay_sliders[name].setEnabled(available)
        if visible is not None:
            check.blockSignals(True)
            check.setChecked(visible)
            check.blockSignals(False)

    def set_prediction_text(self, text: str) -> None:
        self.prediction_label.setText(text)

    def clean_params(self) -> CleanParams:
        return CleanParams(threshold=self.threshold.value(), dilate=self.dilate.value(),
                           min_size=self.min_size.value(), invert=self.invert.isChecked())

    def _range_edited(self) -> None:
        first, last = self.layer_range()
        if first > last:  # keep first <= last by moving the other end
            other = self.last if self.sender() is self.first else self.first
            other.blockSignals(True)
            other.setValue(first if other is self.last else last)
            other.blockSignals(False)
        self.rangeChanged.emit(*self.layer_range())
