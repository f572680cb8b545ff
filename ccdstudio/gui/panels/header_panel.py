"""The Header dock: the shown plane's metadata (FITS cards, TIFF tags) as a table with a filter box."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QHeaderView, QLineEdit, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget


def header_rows(header: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(keyword, value, comment)`` rows of a FITS header (repeated cards kept) or any mapping."""
    cards = getattr(header, "cards", None)
    if cards is not None:
        return [(str(c.keyword), str(c.value), str(c.comment)) for c in cards]
    return [(str(k), str(v), "") for k, v in header.items()]


class HeaderPanel(QWidget):
    """Cards of the shown plane; the filter keeps rows whose keyword, value or comment contains it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter cards (keyword, value or comment)")
        self.filter.setClearButtonEnabled(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Keyword", "Value", "Comment"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        self.filter.textChanged.connect(self._apply_filter)

    def set_header(self, header: Mapping[str, Any]) -> None:
        rows = header_rows(header)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self._apply_filter(self.filter.text())

    def visible_keywords(self) -> list[str]:
        return [self.table.item(i, 0).text() for i in range(self.table.rowCount()) if not self.table.isRowHidden(i)]

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.table.rowCount()):
            cells = (self.table.item(i, j).text().lower() for j in range(3))
            self.table.setRowHidden(i, bool(needle) and not any(needle in c for c in cells))
