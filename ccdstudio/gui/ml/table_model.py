"""A Qt table model over :class:`ccdstudio.imaging.table.Table` columns, sortable by value.

Sorting is one ``numpy.argsort`` in the model (a proxy model would call back into Python for every
comparison, which stalls the window on tables of thousands of clusters); :meth:`TableModel.source_row`
maps a shown row back to the table's row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ccdstudio.imaging.table import Table

SORT_ROLE = Qt.ItemDataRole.UserRole
"""The role holding a cell's number."""


@dataclass(frozen=True)
class Column:
    """A shown column: heading, how to get its values from the table, and its number format."""

    heading: str
    values: Callable[[Table], np.ndarray]
    format: str = "{:.4g}"
    tooltip: str = ""


class TableModel(QAbstractTableModel):
    """Rows of a :class:`Table` shown through ``columns``; values are computed once per table."""

    def __init__(self, columns: Sequence[Column], parent=None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._values: list[np.ndarray] = []
        self._order = np.zeros(0, np.intp)

    def set_table(self, table: Table | None) -> None:
        self.beginResetModel()
        self._values = [np.asarray(c.values(table)) for c in self.columns] if table is not None and len(table) else []
        self._order = np.arange(len(table) if table is not None else 0)
        self.endResetModel()

    def source_row(self, row: int) -> int:
        """The table row shown at ``row``."""
        return int(self._order[row])

    def value(self, row: int, column: int) -> float:
        """The number shown at ``row`` (after sorting) in ``column``."""
        return float(self._values[column][self._order[row]])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not self._values:
            return
        self.layoutAboutToBeChanged.emit()
        keys = self._values[column]
        ranked = np.argsort(keys, kind="stable")
        self._order = ranked[::-1] if order == Qt.SortOrder.DescendingOrder else ranked
        self.layoutChanged.emit()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            value = self.value(index.row(), index.column())
            return "" if np.isnan(value) else self.columns[index.column()].format.format(value)
        if role == SORT_ROLE:
            return self.value(index.row(), index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].heading
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.columns[section].tooltip or None
        return super().headerData(section, orientation, role)
