"""A histogram of the level sample with two draggable level lines (pyqtgraph, never auto-levels)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ccdstudio.imaging.stretch import Levels

BINS = 256


class LevelsHistogram(pg.PlotWidget):
    """Counts (log scale) of the sample; dragging the shaded region sets the levels."""

    levelsDragged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="#262626")
        self.setMinimumHeight(130)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLogMode(y=True)
        self.getAxis("left").setStyle(showValues=False)
        self.getAxis("left").setWidth(6)
        self._curve = self.plot(stepMode="center", fillLevel=0, brush=(120, 160, 220, 90), pen=(160, 190, 240))
        self._region = pg.LinearRegionItem(orientation="vertical", brush=(255, 200, 60, 40))
        for line in self._region.lines:
            line.setPen(pg.mkPen((255, 200, 60), width=2))
        self._region.setZValue(10)
        self.addItem(self._region)
        self._region.sigRegionChangeFinished.connect(self._dragged)
        self._silent = False
        self._sample = np.empty(0)
        self._integer = False

    def set_sample(self, sample: np.ndarray, levels: Levels) -> None:
        """Show ``sample``'s distribution over a range a little wider than ``levels``."""
        self._sample = np.asarray(sample, dtype=np.float64)
        head = self._sample[:1000]
        self._integer = bool(head.size) and bool(np.all(head == np.round(head)))
        self.set_levels(levels)

    def set_levels(self, levels: Levels) -> None:
        low, high = levels
        pad = (high - low) * 0.6
        edges = np.linspace(low - pad, high + pad, BINS + 1)
        if self._integer and edges[1] - edges[0] < 4:
            # integer data (ADU): bins of whole units centred on the integers, or the histogram is a comb
            width = max(1, round(edges[1] - edges[0]))
            edges = np.arange(np.floor(low - pad) - 0.5, np.ceil(high + pad) + 0.5 + width, width)
        counts, _ = np.histogram(self._sample, bins=edges)
        # log axis: empty bins drawn at 1 (the fill level, log 0) so the step line stays continuous
        self._curve.setData(edges, np.maximum(counts, 1))
        self.setXRange(edges[0], edges[-1], padding=0)
        self._silent = True
        self._region.setRegion((low, high))
        self._silent = False

    def levels(self) -> Levels:
        low, high = self._region.getRegion()
        return float(low), float(high)

    def _dragged(self) -> None:
        if not self._silent:
            self.levelsDragged.emit(*self.levels())
