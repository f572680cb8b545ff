"""One-step recipes of the dock: Fiji's clean-up of a prediction, and intensity ranges mapped to classes.

The clean-up parameters are remembered (QSettings, ``particles/clean/*``) so a batch of predictions is
cleaned the same way in every session.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui import settings
from ccdstudio.imaging.morphology import CleanParams
from ccdstudio.labels.classes import ClassSet

CLEAN_KEY = "particles/clean/"


def _double(low: float, high: float, value: float, decimals: int = 3) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setValue(value)
    return spin


class RecipesPanel(QWidget):
    """The clean-prediction recipe and the intensity rules."""

    cleanRequested = Signal(object)
    """A :class:`CleanParams`."""
    rulesRequested = Signal(list)
    """``[(low, high, class index), ...]``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.threshold = _double(-1e12, 1e12, 0.5)
        self.dilate = QSpinBox()
        self.dilate.setRange(0, 100)
        self.dilate.setSuffix(" px")
        self.min_size = QSpinBox()
        self.min_size.setRange(0, 10**9)
        self.min_size.setSuffix(" px")
        self.invert = QCheckBox("Invert the result")
        self.clean_button = QPushButton("Clean image into mask")
        self.clean_button.setToolTip("Threshold (value ≥ level), dilate, keep particles ≥ the size, optionally invert: "
                                "Fiji's clean-up of ink predictions in one undoable step")
        self.clean_button.clicked.connect(self._clean)
        clean = QGroupBox("Clean prediction")
        form = QFormLayout(clean)
        form.addRow("Threshold ≥", self.threshold)
        form.addRow("Dilate by", self.dilate)
        form.addRow("Keep particles ≥", self.min_size)
        form.addRow(self.invert)
        form.addRow(self.clean_button)

        self.rules = QTableWidget(0, 3)
        self.rules.setHorizontalHeaderLabels(["From", "To", "Class"])
        self.rules.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rules.verticalHeader().hide()
        self.rules.setMinimumHeight(110)
        add, remove, make = QPushButton("Add"), QPushButton("Remove"), QPushButton("Make labels")
        make.setToolTip("Label each pixel by the last rule whose range (inclusive) holds its value")
        add.clicked.connect(lambda: self.add_rule(0.0, 1.0, 1))
        remove.clicked.connect(self._remove_rule)
        make.clicked.connect(lambda: self.rulesRequested.emit(self.rule_list()))
        buttons = QHBoxLayout()
        for button in (add, remove, make):
            buttons.addWidget(button)
        classes = QGroupBox("Intensity rules → labels")
        box = QVBoxLayout(classes)
        box.addWidget(self.rules)
        box.addLayout(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(clean)
        layout.addWidget(classes)
        layout.addStretch(1)
        self.classes = ClassSet.preset("ccd")
        self._restore()

    # ------------------------------------------------------------------ clean recipe
    def clean_params(self) -> CleanParams:
        return CleanParams(threshold=self.threshold.value(), dilate=self.dilate.value(),
                           min_size=self.min_size.value(), invert=self.invert.isChecked())

    def _clean(self) -> None:
        params = self.clean_params()
        store = settings.settings()
        for name in ("threshold", "dilate", "min_size", "invert"):
            store.setValue(CLEAN_KEY + name, getattr(params, name))
        self.cleanRequested.emit(params)

    def _restore(self) -> None:
        store = settings.settings()
        self.threshold.setValue(float(store.value(CLEAN_KEY + "threshold", 0.5)))
        self.dilate.setValue(int(float(store.value(CLEAN_KEY + "dilate", 0))))
        self.min_size.setValue(int(float(store.value(CLEAN_KEY + "min_size", 0))))
        self.invert.setChecked(str(store.value(CLEAN_KEY + "invert", False)).lower() in ("true", "1"))

    # ------------------------------------------------------------------ intensity rules
    def set_classes(self, classes: ClassSet) -> None:
        """Offer these classes (background excluded) in the rules' class column."""
        self.classes = classes
        for row in range(self.rules.rowCount()):
            combo = self.rules.cellWidget(row, 2)
            index = combo.currentIndex()
            self._fill_classes(combo)
            combo.setCurrentIndex(min(index, combo.count() - 1))

    def _fill_classes(self, combo: QComboBox) -> None:
        combo.clear()
        for index, label_class in enumerate(self.classes):
            if index:
                combo.addItem(label_class.name, index)

    def add_rule(self, low: float, high: float, index: int) -> None:
        row = self.rules.rowCount()
        self.rules.insertRow(row)
        self.rules.setCellWidget(row, 0, _double(-1e12, 1e12, low))
        self.rules.setCellWidget(row, 1, _double(-1e12, 1e12, high))
        combo = QComboBox()
        self._fill_classes(combo)
        combo.setCurrentIndex(max(0, combo.findData(index)))
        self.rules.setCellWidget(row, 2, combo)

    def _remove_rule(self) -> None:
        row = self.rules.currentRow()
        self.rules.removeRow(row if row >= 0 else self.rules.rowCount() - 1)

    def rule_list(self) -> list[tuple[float, float, int]]:
        return [(self.rules.cellWidget(r, 0).value(), self.rules.cellWidget(r, 1).value(),
                 int(self.rules.cellWidget(r, 2).currentData())) for r in range(self.rules.rowCount())]
