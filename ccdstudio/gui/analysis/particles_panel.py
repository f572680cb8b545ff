"""Analyze Particles: Fiji's options, and the Results table with its actions.

The size and circularity ranges are typed as Fiji types them (``0-Infinity``, ``0.00-1.00``). Clicking a
row emits ``particleActivated(table_row)``, selecting rows ``selectionChanged(table_rows)``; the feature
centres and marks them in the viewer.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui.analysis.results_model import ROW_ROLE, ResultsModel
from ccdstudio.imaging.particles import ParticleOptions, ParticleResult
from ccdstudio.imaging.table import Table
from ccdstudio.labels.classes import ClassSet

SHOW_CHOICES = ("Nothing", "Masks", "Outlines", "Count masks")


def parse_range(text: str, what: str) -> tuple[float, float]:
    """Fiji's ``LOW-HIGH`` (``Infinity`` allowed; a single number means ``number-Infinity``)."""
    parts = text.replace(" ", "").lower().replace("infinity", "inf").split("-")
    try:
        if len(parts) == 1:
            return float(parts[0]), math.inf
        if len(parts) == 2:
            return float(parts[0]), float(parts[1])
    except ValueError:
        pass
    raise CcdstudioError(f"{what}: expected a range like 0-Infinity or 10-500, not {text!r}")


class ParticleOptionsBox(QGroupBox):
    """Fiji's Analyze Particles dialog, as a group box; ``analyzeRequested`` on Analyze."""

    analyzeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Analyze particles", parent)
        self.size = QLineEdit("0-Infinity")
        self.size.setToolTip("Particle size in pixels (inclusive), e.g. 5-Infinity")
        self.circularity = QLineEdit("0.00-1.00")
        self.connectivity = QComboBox()
        self.connectivity.addItems(["8", "4"])
        self.exclude_edges = QCheckBox("Exclude on edges")
        self.include_holes = QCheckBox("Include holes")
        self.show = QComboBox()
        self.show.addItems(list(SHOW_CHOICES))
        self.show.setCurrentText("Outlines")
        self.summarize = QCheckBox("Summarize")
        self.summarize.setChecked(True)
        self.analyze = QPushButton("Analyze")
        form = QFormLayout(self)
        form.addRow("Size (px²)", self.size)
        form.addRow("Circularity", self.circularity)
        form.addRow("Connectivity", self.connectivity)
        checks = QHBoxLayout()
        checks.addWidget(self.exclude_edges)
        checks.addWidget(self.include_holes)
        form.addRow(checks)
        form.addRow("Show", self.show)
        row = QHBoxLayout()
        row.addWidget(self.summarize)
        row.addStretch(1)
        row.addWidget(self.analyze)
        form.addRow(row)
        self.analyze.clicked.connect(self.analyzeRequested)

    def options(self, pedestal: object = None, gain: float | None = None) -> ParticleOptions:
        """The options typed, validated (raises :class:`CcdstudioError`)."""
        low, high = parse_range(self.size.text(), "Size")
        circ_low, circ_high = parse_range(self.circularity.text(), "Circularity")
        options = ParticleOptions(min_size=low, max_size=high, min_circularity=circ_low,
                                  max_circularity=min(circ_high, 1.0), connectivity=int(self.connectivity.currentText()),
                                  exclude_edges=self.exclude_edges.isChecked(),
                                  include_holes=self.include_holes.isChecked(), pedestal=pedestal, gain=gain)
        options.validate()
        return options


class ResultsPanel(QWidget):
    """The Results table, the Summary line and what can be done with them."""

    particleActivated = Signal(int)
    selectionChanged = Signal(list)
    exportRequested = Signal()
    saveMaskRequested = Signal()
    toLabelsRequested = Signal(int)
    """The class index the particles' mask should become."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.summary = QLabel("No results: threshold the image, then Analyze.")
        self.summary.setWordWrap(True)
        self.export_button = QPushButton("Export CSV…")
        self.mask_button = QPushButton("Save mask…")
        self.label_class = QComboBox()
        self.labels_button = QPushButton("To labels")
        self.labels_button.setToolTip("Write the measured particles into the label map as the chosen class")
        buttons = QHBoxLayout()
        for widget in (self.export_button, self.mask_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("as"))
        buttons.addWidget(self.label_class)
        buttons.addWidget(self.labels_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

        self.view.clicked.connect(lambda index: self.particleActivated.emit(int(index.data(ROW_ROLE))))
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.export_button.clicked.connect(self.exportRequested)
        self.mask_button.clicked.connect(self.saveMaskRequested)
        self.labels_button.clicked.connect(lambda: self.toLabelsRequested.emit(int(self.label_class.currentData())))
        self.set_classes(ClassSet.preset("ccd"))
        self.set_result(None)

    def set_classes(self, classes: ClassSet) -> None:
        current = self.label_class.currentText()
        self.label_class.clear()
        for index, label_class in enumerate(classes):
            if index:
                self.label_class.addItem(label_class.name, index)
        if self.label_class.findText(current) >= 0:
            self.label_class.setCurrentText(current)
        elif self.label_class.findText("cluster") >= 0:
            self.label_class.setCurrentText("cluster")

    def set_result(self, result: ParticleResult | None, summarize: bool = True) -> None:
        """Show ``result`` (None: no analysis yet)."""
        self.model.set_table(result.table if result is not None else Table())
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        for button in (self.export_button, self.mask_button, self.labels_button):
            button.setEnabled(result is not None)
        if result is None:
            self.summary.setText("No results: threshold the image, then Analyze.")
        elif not len(result.table):
            self.summary.setText(f"No particles: {result.note}.")
        elif summarize:
            s = result.summary
            self.summary.setText(f"Count {s.count:,}   Total area {s.total_area:,.0f}   Average size "
                                 f"{s.average_size:.4g}   %Area {s.percent_area:.4g}   Mean {s.mean:.4g}")
        else:
            self.summary.setText(f"{len(result.table):,} particles")
        self.view.resizeColumnsToContents()

    def select_rows(self, table_rows: list[int]) -> None:
        """Select the given particles (table rows) in the view."""
        selection = self.view.selectionModel()
        selection.clearSelection()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        position = np.empty_like(self.model.order)
        position[self.model.order] = np.arange(self.model.order.size)
        for row in table_rows:
            selection.select(self.model.index(int(position[row]), 0), flags)

    def selected_rows(self) -> list[int]:
        return sorted(int(index.data(ROW_ROLE)) for index in self.view.selectionModel().selectedRows())

    def _selection_changed(self) -> None:
        self.selectionChanged.emit(self.selected_rows())
