"""A Qt table model over a :class:`ccdstudio.imaging.table.Table` (the Results of Analyze Particles).

The columns stay NumPy arrays; sorting is an ``argsort`` into a row order, so tens of thousands of
particles sort at once. ``ROW_ROLE`` gives a view row's index in the table (its particle is
``count_mask == row + 1``).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ccdstudio.imaging.table import Table

ROW_ROLE = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def format_cell(value: float, integer: bool) -> str:
    """As ImageJ shows results: integers plain, other values with 3 decimals (4 significant digits when huge
    or tiny)."""
    if integer:
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
        return f"{value:.4g}"
    return f"{value:.3f}"


def _integral(column: np.ndarray) -> bool:
    """Whether a column is shown as integers: of an integer type, or (ImageJ's auto format) every value whole
    (Area, BX, BY of an uncalibrated image)."""
    if column.dtype.kind in "iub":
        return True
    return column.dtype.kind == "f" and bool(np.all(np.isfinite(column) & (column == np.round(column))))


class ResultsModel(QAbstractTableModel):
    """Rows are particles, columns the table's columns, sortable by any column."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = Table()
        self.order = np.zeros(0, np.int64)
        self._integral: list[bool] = []

    def set_table(self, table: Table) -> None:
        self.beginResetModel()
        self.table = table
        self.order = np.arange(len(table))
        self._integral = [_integral(table[name]) for name in table.names]
        self.endResetModel()

    def table_row(self, view_row: int) -> int:
        """The table index shown at ``view_row``."""
        return int(self.order[view_row])

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.table)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.table.names)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = int(self.order[index.row()])
        if role == ROW_ROLE:
            return row
        column = self.table[self.table.names[index.column()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(column[row].item(), self._integral[index.column()])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.table.names[section]
        return str(int(self.order[section]) + 1)  # ImageJ's 1-based row numbers, kept with their particle

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not len(self.table):
            return
        self.layoutAboutToBeChanged.emit()
        kept = self.persistentIndexList()  # the selection: it must follow its particles to their new rows
        kept_rows = [int(self.order[index.row()]) for index in kept]
        ranks = np.argsort(self.table[self.table.names[column]], kind="stable")
        self.order = ranks[::-1].copy() if order == Qt.SortOrder.DescendingOrder else ranks
        position = np.empty_like(self.order)
        position[self.order] = np.arange(self.order.size)
        self.changePersistentIndexList(kept, [self.index(int(position[r]), i.column()) for r, i in zip(kept_rows, kept)])
        self.layoutChanged.emit()
