"""The Pixel table dock: the values around the cursor, 3 x 3 up to 9 x 9, laid out as on screen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ccdstudio.gui.viewer import PixelConvention
from ccdstudio.imaging.stretch import Calibration
from ccdstudio.io.source import ImageSource

SIZES = (3, 5, 7, 9)


def format_value(value: float) -> str:
    """A pixel value as the table and status bar show it (integers exactly, NaN as NaN)."""
    if not np.isfinite(value):
        return "NaN" if np.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.6g}" if abs(value) >= 1e-3 else f"{value:.3e}"


class PixelTable(QWidget):
    """A table of the values around the cursor; headers give the user's pixel coordinates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.size = QComboBox()
        self.size.addItems([f"{n} x {n}" for n in SIZES])
        self.size.setCurrentIndex(1)
        self.unit = QLabel("")
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.table.setFont(font)
        # rows as low as the text: a 5 x 5 table fits the short stack it shares with the overlays and header
        self.table.verticalHeader().setMinimumSectionSize(QFontMetrics(font).height() + 2)
        top = QHBoxLayout()
        top.addWidget(QLabel("Size"))
        top.addWidget(self.size)
        top.addStretch(1)
        top.addWidget(self.unit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.size.currentIndexChanged.connect(lambda _: self._refresh())
        self._last: tuple | None = None

    def side(self) -> int:
        return SIZES[self.size.currentIndex()]

    @property
    def position(self) -> tuple[int, int] | None:
        """The array pixel ``(row, col)`` the table is centred on, None when empty."""
        return None if self._last is None else (self._last[2], self._last[3])

    def show_around(
        self,
        source: ImageSource,
        plane: int,
        row: int,
        col: int,
        convention: PixelConvention,
        calibration: Calibration,
    ) -> np.ndarray:
        """Fill the table with the values around array pixel ``[row, col]``; returns them (rows as shown)."""
        self._last = (source, plane, row, col, convention, calibration)
        height, width = source.planes[plane].shape
        half = self.side() // 2
        r0, r1 = max(0, row - half), min(height, row + half + 1)
        c0, c1 = max(0, col - half), min(width, col + half + 1)
        values = np.asarray(calibration.apply(source.read(plane, (slice(r0, r1), slice(c0, c1)))), dtype=np.float64)
        rows = list(range(r0, r1))
        if convention.origin_bottom:  # as on screen: the highest row on top
            values, rows = values[::-1], rows[::-1]
        self.unit.setText(calibration.unit)
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(c1 - c0)
        self.table.setHorizontalHeaderLabels([str(convention.xy(row, c)[0]) for c in range(c0, c1)])
        self.table.setVerticalHeaderLabels([str(convention.xy(r, col)[1]) for r in rows])
        for i, r in enumerate(rows):
            for j, c in enumerate(range(c0, c1)):
                item = QTableWidgetItem(format_value(values[i, j]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if (r, c) == (row, col):
                    item.setBackground(QBrush(QColor(255, 200, 60, 90)))
                    item.setFont(QFont(self.table.font().family(), weight=QFont.Weight.Bold))
                self.table.setItem(i, j, item)
        return values

    def clear(self) -> None:
        self._last = None
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def _refresh(self) -> None:
        if self._last is not None:
            self.show_around(*self._last)
