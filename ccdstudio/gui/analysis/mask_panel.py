"""The mask part of the dock: morphology and shape rules acting on the working mask, undo and redo.

Each button emits ``operationRequested(text, function)`` with a ``mask -> mask`` function from
:mod:`ccdstudio.imaging.morphology`; the feature runs it as a job and records it as one undo step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.imaging import morphology

MaskFunction = Callable[[np.ndarray], np.ndarray]


def _spin(low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class MaskPanel(QWidget):
    """Buttons over the working mask."""

    operationRequested = Signal(str, object)
    """``(undo text, mask -> mask function)``."""
    defectsRequested = Signal(int, int)
    """``(min line length, max cluster size)``: make hot-pixel/cluster labels from the mask."""
    visibilityToggled = Signal(bool)

    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.size = _spin(1, 100, 1, " px")
        self.shape = QComboBox()
        self.shape.addItems(["disk", "square", "cross"])
        self.connectivity = QComboBox()
        self.connectivity.addItems(["8", "4"])
        self.min_size = _spin(1, 10**9, 5, " px")
        self.max_size = _spin(1, 10**9, 500, " px")
        self.line_length = _spin(1, 100000, 1, " px")
        self.orientation = QComboBox()
        self.orientation.addItems(["any", "rows", "columns"])
        self.show_mask = QCheckBox("Show mask")
        self.show_mask.setChecked(True)
        self.show_mask.toggled.connect(self.visibilityToggled)
        self.summary = QLabel("No mask yet: apply a threshold.")
        self.summary.setStyleSheet("color: gray")
        self.buttons: dict[str, QPushButton] = {}

        morph = QGroupBox("Morphology")
        grid = QGridLayout(morph)
        grid.addWidget(QLabel("Element"), 0, 0)
        grid.addWidget(self.size, 0, 1)
        grid.addWidget(self.shape, 0, 2)
        for i, name in enumerate(["Dilate", "Erode", "Open", "Close"]):
            column = i % 2  # the right-hand buttons also span the shape column
            grid.addWidget(self._button(name, self._morph), 1 + i // 2, column, 1, 1 + column)
        grid.addWidget(self._button("Fill holes", self._fill), 3, 0)
        grid.addWidget(self._button("Invert", lambda _: ("Invert", morphology.invert)), 3, 1, 1, 2)
        grid.addWidget(QLabel("Connectivity"), 4, 0)
        grid.addWidget(self.connectivity, 4, 1, 1, 2)
        grid.addWidget(self._button("Remove smaller than", self._small), 5, 0)
        grid.addWidget(self.min_size, 5, 1, 1, 2)
        grid.addWidget(self._button("Remove larger than", self._large), 6, 0)
        grid.addWidget(self.max_size, 6, 1, 1, 2)

        rules = QGroupBox("CCD shape rules")
        rgrid = QGridLayout(rules)
        rgrid.addWidget(QLabel("Line length ≥"), 0, 0)
        rgrid.addWidget(self.line_length, 0, 1)
        rgrid.addWidget(self.orientation, 0, 2)
        rgrid.addWidget(self._button("Keep line objects", self._lines), 1, 0, 1, 3)
        self.buttons["Keep line objects"].setToolTip("Keep one-pixel-thick runs along a row or column "
                                                     "(hot pixels and hot columns)")
        defects = QPushButton("Hot pixels + clusters → labels")
        defects.setToolTip("Line objects become hot_pixel, other objects up to the cap (Remove larger than) "
                           "become cluster; larger ones stay background")
        defects.clicked.connect(lambda: self.defectsRequested.emit(self.line_length.value(), self.max_size.value()))
        self.buttons["defects"] = defects
        rgrid.addWidget(defects, 2, 0, 1, 3)

        undo_row = QHBoxLayout()
        for action, name in ((stack.createUndoAction(self, "Undo"), "undo"), (stack.createRedoAction(self, "Redo"),
                                                                                 "redo")):
            action.setIcon(icon(name))
            button = QToolButton()
            button.setDefaultAction(action)
            undo_row.addWidget(button)
        undo_row.addWidget(self.show_mask)
        undo_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(undo_row)
        layout.addWidget(self.summary)
        layout.addWidget(morph)
        layout.addWidget(rules)
        self.set_mask(None)

    def _button(self, text: str, make: Callable[[str], tuple[str, MaskFunction]]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda: self.operationRequested.emit(*make(text)))
        self.buttons[text] = button
        return button

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Enable the buttons and say what the mask holds."""
        for button in self.buttons.values():
            button.setEnabled(mask is not None)
        if mask is None:
            self.summary.setText("No mask yet: apply a threshold.")
        else:
            count = int(np.count_nonzero(mask))
            self.summary.setText(f"Mask: {count:,} px ({100 * count / mask.size:.3g}% of the plane)")

    # ------------------------------------------------------------------ operations
    def _element(self) -> dict:
        return {"size": self.size.value(), "shape": self.shape.currentText()}

    def _morph(self, text: str) -> tuple[str, MaskFunction]:
        function = {"Dilate": morphology.dilate, "Erode": morphology.erode, "Open": morphology.opening,
                    "Close": morphology.closing}[text]
        element = self._element()
        return f"{text} ({element['size']} px {element['shape']})", functools.partial(function, **element)

    def _connectivity(self) -> int:
        return int(self.connectivity.currentText())

    def _fill(self, text: str) -> tuple[str, MaskFunction]:
        return text, functools.partial(morphology.fill_holes, connectivity=self._connectivity())

    def _small(self, _: str) -> tuple[str, MaskFunction]:
        size = self.min_size.value()
        return (f"Remove particles < {size} px",
                functools.partial(morphology.remove_small, min_size=size, connectivity=self._connectivity()))

    def _large(self, _: str) -> tuple[str, MaskFunction]:
        size = self.max_size.value()
        return (f"Remove particles > {size} px",
                functools.partial(morphology.remove_large, max_size=size, connectivity=self._connectivity()))

    def _lines(self, text: str) -> tuple[str, MaskFunction]:
        return text, functools.partial(morphology.line_objects, min_length=self.line_length.value(),
                                       orientation=self.orientation.currentText(),
                                       connectivity=self._connectivity())
