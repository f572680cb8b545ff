"""The Prediction results dock: object navigation per class, the cluster table, and what to do with the
prediction (accept as labels, save it, export the table)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml.prediction import CLUSTER_CLASS, PredictionResult
from ccdstudio.gui.ml.table_model import Column, TableModel
from ccdstudio.imaging.table import Table


ENERGY_COLUMNS = (("energy_kev", "keV"), ("energy_e", "e-"), ("energy_adu", "ADU"), ("RawIntDen", "ADU"))
"""The cluster table's energy: the first of these columns the table has, and its unit."""


def cluster_columns(one_based: bool, table: Table | None = None) -> list[Column]:
    """The cluster table's columns (for ``table``, whose energy unit heads its column). Centroids are shown
    as the window names pixels: the particle table's ImageJ ``X``/``Y`` put a pixel's centre at +0.5, so DS9
    (1-based) adds 0.5 and 0-based subtracts it."""
    shift = 0.5 if one_based else -0.5
    convention = "FITS/DS9, 1-based" if one_based else "0-based array"
    name, unit = next(((n, u) for n, u in ENERGY_COLUMNS if table is not None and n in table), ENERGY_COLUMNS[-1])

    return [
        Column("#", lambda t: t["label"], "{:.0f}", "particle number (raster order)"),
        Column("pixels", lambda t: t["npix"], "{:.0f}"),
        Column(f"energy ({unit})", lambda t: t[name], "{:.5g}",
               "charge above the pedestal: keV with a gain (Predict uses the CCD dock's), else ADU"),
        Column("x", lambda t: t["X"] + shift, "{:.1f}", f"centroid ({convention})"),
        Column("y", lambda t: t["Y"] + shift, "{:.1f}", f"centroid ({convention})"),
        Column("width", lambda t: t["Width"], "{:.0f}", "bounding box width"),
        Column("height", lambda t: t["Height"], "{:.0f}", "bounding box height"),
        Column("σx", lambda t: t["sigma_x"] if "sigma_x" in t else t["Width"] * float("nan"), "{:.2f}",
               "charge-weighted RMS width along x"),
        Column("σy", lambda t: t["sigma_y"] if "sigma_y" in t else t["Height"] * float("nan"), "{:.2f}",
               "charge-weighted RMS width along y"),
        Column("major", lambda t: t["Major"], "{:.2f}", "fitted ellipse major axis"),
        Column("minor", lambda t: t["Minor"], "{:.2f}", "fitted ellipse minor axis"),
        Column("circ.", lambda t: t["Circ."], "{:.3f}", "circularity 4π area / perimeter²"),
        Column("max", lambda t: t["Max"], "{:.6g}", "brightest pixel"),
    ]


CONTROLS_WIDTH = 420
"""Width (pixels) of the summary, actions and navigation beside the table in a wide dock."""
SIDE_BY_SIDE_WIDTH = 900
"""From this width on the controls sit beside the table instead of above it."""
UNLIMITED = 16777215
"""Qt's QWIDGETSIZE_MAX: no maximum width."""


class _FixedHeightLabel(QLabel):
    """A word-wrapped label of fixed height: it does not ask for a height for each width, so the dock's
    scroll area fits the panel to the dock instead of scrolling it."""

    def hasHeightForWidth(self) -> bool:
        return False


class ResultsPanel(QWidget):
    """Navigation between predicted objects and the sortable cluster table."""

    objectRequested = Signal(float, float, float)
    """Centre the view on array ``(x, y)`` showing about this many pixels across."""
    acceptRequested = Signal()
    saveRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: PredictionResult | None = None
        self._position = -1

        self.summary = _FixedHeightLabel("Predict an image to see its objects here.")
        self.summary.setWordWrap(True)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setFixedHeight(3 * self.summary.fontMetrics().lineSpacing() + 4)  # never relayout the window
        self.object_class = QComboBox()
        self.object_class.currentIndexChanged.connect(lambda *_: self._reset_position())
        self.prev_button = QToolButton()
        self.prev_button.setIcon(icon("chevron-left"))
        self.prev_button.setToolTip("Previous object of this class (Alt+Left)")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QToolButton()
        self.next_button.setIcon(icon("chevron-right"))
        self.next_button.setToolTip("Next object of this class (Alt+Right)")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.position_label = QLabel("")
        self.object_class.setToolTip("Check one object at a time: pick a class, then step with the arrows")
        navigate = QHBoxLayout()
        navigate.addWidget(QLabel("Objects"))
        navigate.addWidget(self.object_class, 1)
        navigate.addWidget(self.prev_button)
        navigate.addWidget(self.next_button)
        navigate.addWidget(self.position_label)

        self.table_model = TableModel(cluster_columns(False), self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        # widths from the headings and a typical number, not from measuring rows (which stalls on thousands);
        # a "g" format writes large numbers with an exponent
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = self.table.fontMetrics()
        for column, spec in enumerate(self.table_model.columns):
            number = spec.format.format(-1.23456e5) if spec.format.endswith("g}") else "-00000.0"
            sample = max(spec.heading + "  ▼", number, key=metrics.horizontalAdvance)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 12)
        self.table.clicked.connect(self._row_clicked)
        self.table.activated.connect(self._row_clicked)
        self.table_label = QLabel("Clusters")

        self.accept_button = QPushButton(icon("check-bold"), "Accept as labels")
        self.accept_button.setToolTip("Turn the prediction into editable labels (one undoable step)")
        self.accept_button.clicked.connect(self.acceptRequested)
        self.save_button = QPushButton(icon("content-save-outline"), "Save…")
        self.save_button.setToolTip("Save the predicted class map as a label file")
        self.save_button.clicked.connect(self.saveRequested)
        self.export_button = QPushButton(icon("table-arrow-right"), "Table…")
        self.export_button.setToolTip("Export the cluster table as CSV (ImageJ layout)")
        self.export_button.clicked.connect(self.exportRequested)
        actions = QHBoxLayout()
        actions.addWidget(self.accept_button, 1)
        actions.addWidget(self.save_button)
        actions.addWidget(self.export_button)

        # the actions go right under the summary: below the long table they would be scrolled out of sight
        self._controls = QWidget()
        self._controls.setMaximumWidth(CONTROLS_WIDTH)
        column = QVBoxLayout(self._controls)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.summary)
        column.addLayout(actions)
        column.addLayout(navigate)
        column.addStretch(1)
        table_box = QVBoxLayout()
        table_box.addWidget(self.table_label)
        table_box.addWidget(self.table, 1)
        self.layout_box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.layout_box.setContentsMargins(6, 4, 6, 4)  # the bottom stack's strip holds it without scrolling
        self.layout_box.addWidget(self._controls)
        self.layout_box.addLayout(table_box, 1)
        self.show_result(None)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Controls beside the table in a wide dock (the bottom stack), above it in a narrow one."""
        wide = event.size().width() >= SIDE_BY_SIDE_WIDTH
        self.layout_box.setDirection(QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom)
        self._controls.setMaximumWidth(CONTROLS_WIDTH if wide else UNLIMITED)
        super().resizeEvent(event)

    def show_result(self, result: PredictionResult | None, one_based: bool = False) -> None:
        """Show ``result``'s objects and clusters (``one_based``: name pixels as DS9 does, for FITS)."""
        self.result = result
        table = result.clusters.table if result is not None and result.clusters else None
        self.table_model.columns = cluster_columns(one_based, table)
        self.table_model.set_table(table)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.object_class.blockSignals(True)
        self.object_class.clear()
        if result is not None:
            for name, centres in result.objects.items():
                self.object_class.addItem(f"{name} ({len(centres)})", name)
            self.object_class.setCurrentIndex(max(self.object_class.findData(CLUSTER_CLASS), 0))
        self.object_class.blockSignals(False)
        has = result is not None
        clusters = len(result.clusters.table) if has and result.clusters else 0
        self.table_label.setText(f"Clusters: {clusters}" + (" (largest energy first; click a row to go there)"
                                                             if clusters else ""))
        for widget in (self.accept_button, self.save_button, self.object_class):
            widget.setEnabled(has)
        self.export_button.setEnabled(clusters > 0)
        if has:
            objects = ", ".join(f"{len(c)} {name}" for name, c in result.objects.items()) or "no objects"
            self.summary.setText(f"{result.model.name} on {result.device}, {result.seconds:.1f} s: {objects}."
                                 + (f"  {result.note}" if result.note else ""))
        else:
            self.summary.setText("Predict an image to see its objects here.")
        self._reset_position()

    def step(self, delta: int) -> None:
        """Go to the next (``delta`` 1) or previous (-1) object of the chosen class, wrapping around."""
        centres = self._centres()
        if centres is None or not len(centres):
            return
        self._position = (self._position + delta) % len(centres) if self._position >= 0 else (0 if delta > 0 else len(centres) - 1)
        x, y = centres[self._position]
        self.position_label.setText(f"{self._position + 1} / {len(centres)}")
        self.objectRequested.emit(float(x), float(y), 64.0)

    def _centres(self):
        name = self.object_class.currentData()
        if self.result is None or name is None:
            return None
        return self.result.objects.get(name)

    def _reset_position(self) -> None:
        self._position = -1
        centres = self._centres()
        self.position_label.setText(f"– / {len(centres)}" if centres is not None else "")
        enabled = centres is not None and len(centres) > 0
        self.prev_button.setEnabled(enabled)
        self.next_button.setEnabled(enabled)

    def _row_clicked(self, index) -> None:
        table = self.result.clusters.table if self.result is not None and self.result.clusters else None
        if table is None or not index.isValid():
            return
        row = self.table_model.source_row(index.row())
        across = max(48.0, 6.0 * max(float(table["Width"][row]), float(table["Height"][row])))
        # the particle table's X, Y (ImageJ: pixel centre at +0.5) are the viewer's array coordinates
        self.objectRequested.emit(float(table["X"][row]), float(table["Y"][row]), across)
