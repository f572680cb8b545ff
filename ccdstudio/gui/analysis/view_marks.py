"""Rectangles and outlines drawn over the viewer (particle boxes, the particle in focus, export windows).

One ``QGraphicsPathItem`` in the viewer's ViewBox per set of marks, with a cosmetic pen (the same width on
screen at every zoom). Coordinates are array coordinates as the viewer uses them: pixel ``[row, col]``
covers ``x in [col, col + 1)``, ``y in [row, row + 1)``, so a box ``(x, y, w, h)`` from pixel corners
(COCO's convention) is drawn as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from ccdstudio.gui.viewer import ImageViewer

MARKS_Z = 50
"""Above the threshold preview (40)."""


class ViewMarks:
    """A set of shapes drawn over ``viewer`` in one colour."""

    def __init__(self, viewer: ImageViewer, colour: Sequence[int], width: float = 1.5, fill_alpha: int = 0) -> None:
        self.viewer = viewer
        self.item = QGraphicsPathItem()
        pen = QPen(QColor(*colour))
        pen.setCosmetic(True)
        pen.setWidthF(width)
        self.item.setPen(pen)
        self.item.setBrush(QBrush(QColor(*colour[:3], fill_alpha)) if fill_alpha else QBrush(Qt.BrushStyle.NoBrush))
        self.item.setZValue(MARKS_Z)
        viewer.box.addItem(self.item, ignoreBounds=True)
        self.count = 0

    def set_rects(self, rects: Iterable[tuple[float, float, float, float]]) -> None:
        """Draw ``(x, y, width, height)`` boxes (replacing what was drawn)."""
        path = QPainterPath()
        count = 0
        for x, y, w, h in rects:
            path.addRect(QRectF(float(x), float(y), float(w), float(h)))
            count += 1
        self._show(path, count)

    def set_outlines(self, outlines: Iterable[np.ndarray]) -> None:
        """Draw closed polygons of ``(x, y)`` corners (replacing what was drawn)."""
        path = QPainterPath()
        count = 0
        for outline in outlines:
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in outline]))
            path.closeSubpath()
            count += 1
        self._show(path, count)

    def clear(self) -> None:
        self._show(QPainterPath(), 0)

    def _show(self, path: QPainterPath, count: int) -> None:
        self.item.setPath(path)
        self.count = count
