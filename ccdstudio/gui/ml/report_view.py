"""The validation report of a trained model: the per-class table (precision, recall, F1, IoU, support,
as scikit-learn's classification report) and the confusion matrix as a heat map."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

COLUMNS = (("precision", "precision"), ("recall", "recall"), ("F1", "f1-score"), ("IoU", "iou"), ("support", "support"))


class ReportView(QWidget):
    """Shows a classification report and a confusion matrix (rows: true class, columns: predicted)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("The validation report of the best model appears here when training ends.")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.heat = pg.PlotWidget(background="#1e1e1e")
        self.heat.invertY(True)
        self.heat.setMenuEnabled(False)
        self.heat.setMouseEnabled(False, False)
        self.heat.setLabel("left", "true class")
        self.heat.setLabel("bottom", "predicted class")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.heat.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self._cells: list[tuple[str, str]] = []
        self.heat.getViewBox().sigResized.connect(lambda *_: self._fit_texts())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.heat)
        splitter.setSizes([360, 300])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)
        self.confusion: np.ndarray | None = None

    def show_report(self, report: dict[str, Any], names: list[str], confusion: np.ndarray | None, title: str = "") -> None:
        """Fill the table from ``report`` and draw ``confusion`` (row-normalised colours, counts as text)."""
        if title:
            self.title.setText(title)
        rows = [n for n in names if n in report] + [k for k in ("macro avg", "weighted avg") if k in report]
        self.table.setRowCount(len(rows) + ("accuracy" in report))
        labels = []
        for r, name in enumerate(rows):
            labels.append(name)
            for c, (_, key) in enumerate(COLUMNS):
                value = report[name].get(key, float("nan"))
                text = f"{int(value):,}" if key == "support" else f"{value:.4f}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        if "accuracy" in report:
            labels.append("accuracy")
            self.table.setItem(len(rows), 2, QTableWidgetItem(f"{report['accuracy']:.4f}"))
        self.table.setVerticalHeaderLabels(labels)
        self._draw_confusion(confusion, names)

    def _draw_confusion(self, confusion: np.ndarray | None, names: list[str]) -> None:
        for text in self._texts:
            self.heat.removeItem(text)
        self._texts, self._cells = [], []
        self.confusion = confusion
        if confusion is None:
            self.image.clear()
            return
        counts = np.asarray(confusion, np.float64)
        totals = counts.sum(1, keepdims=True)
        share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)  # recall per true class
        self.image.setImage(share, levels=(0, 1))
        self.image.setRect(0, 0, share.shape[1], share.shape[0])
        for (row, col), count in np.ndenumerate(counts):
            colour = "#000000" if share[row, col] > 0.6 else "#ffffff"
            text = pg.TextItem("", color=colour, anchor=(0.5, 0.5))
            text.setPos(col + 0.5, row + 0.5)
            self.heat.addItem(text)
            self._texts.append(text)
            self._cells.append((f"{int(count):,}", f"{100 * share[row, col]:.1f}%"))
        ticks = [(i + 0.5, name) for i, name in enumerate(names)]
        self.heat.getAxis("bottom").setTicks([ticks])
        self.heat.getAxis("left").setTicks([ticks])
        self.heat.setRange(xRange=(0, len(names)), yRange=(0, len(names)), padding=0.02)
        self._fit_texts()

    def _fit_texts(self) -> None:
        """Count and share in each cell, or only the share, or nothing, as the cells' size on screen allows."""
        if not self._cells:
            return
        n = int(round(np.sqrt(len(self._cells))))
        rect = self.heat.getViewBox().boundingRect()
        width, height = rect.width() / n, rect.height() / n
        metrics = self.fontMetrics()
        line = metrics.lineSpacing()
        for text, (count, share) in zip(self._texts, self._cells):
            if width <= metrics.horizontalAdvance(max(count, share, key=len)) + 4 or height <= line:
                text.setText("")
            elif height <= 2 * line + 2:
                text.setText(share)
            else:
                text.setText(f"{count}\n{share}")
