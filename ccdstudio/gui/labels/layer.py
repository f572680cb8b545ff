"""The label layer: a full-resolution label map drawn over the image, redrawn only where it changes.

A brush stroke on a 10000 x 8000 map must not re-upload 80 megapixels per mouse move. So the layer is a
graphics item that paints, on demand, only the part of the map Qt asks for (the exposed rectangle): it
colours that window with a lookup table and draws it. An edit patches the block-maximum pyramid over the
changed box and asks Qt to repaint just that box; zoomed out, the layer paints from the pyramid level
whose pixels are about screen-sized, so a full repaint costs about one screen of pixels at any zoom.

Coordinates are the viewer's: pixel ``[row, col]`` covers ``x in [col, col + 1)``, ``y in [row, row + 1)``.
The viewer decides whether y grows up (FITS) or down; the layer draws row 0 at y = 0 either way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.edits import Box

_SMALLEST_LEVEL_SIDE = 256


def _reduce(array: np.ndarray) -> np.ndarray:
    """2 x 2 block maximum (a partial block at the far edges uses the pixels it has)."""
    out = array[0::2, 0::2].copy()
    for dy, dx in ((0, 1), (1, 0), (1, 1)):
        part = array[dy::2, dx::2]
        view = out[: part.shape[0], : part.shape[1]]
        np.maximum(view, part, out=view)
    return out


class LabelPyramid:
    """The label map and its 2x, 4x, 8x... block-maximum reductions, built when first needed.

    The maximum keeps a one-pixel label visible when zoomed out (index 0, background, never hides a class).
    """

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self._levels = [labels]
        self.max_level = 0
        while max(labels.shape) >> (self.max_level + 1) >= _SMALLEST_LEVEL_SIDE:
            self.max_level += 1

    def level(self, k: int) -> np.ndarray:
        """The map reduced by ``2**k`` (``k`` is clipped to the levels there are)."""
        k = min(max(k, 0), self.max_level)
        while len(self._levels) <= k:
            self._levels.append(_reduce(self._levels[-1]))
        return self._levels[k]

    @property
    def built(self) -> int:
        """The deepest level built so far."""
        return len(self._levels) - 1

    def patch(self, box: Box) -> None:
        """Recompute the reduced pixels over ``box`` (level-0 coordinates) after the map changed there."""
        y0, x0, y1, x1 = box
        for k in range(1, len(self._levels)):
            r0, c0 = y0 >> k, x0 >> k
            r1, c1 = ((y1 - 1) >> k) + 1, ((x1 - 1) >> k) + 1
            finer = self._levels[k - 1][2 * r0: 2 * r1, 2 * c0: 2 * c1]
            self._levels[k][r0:r1, c0:c1] = _reduce(finer)


def argb_table(classes: ClassSet, hidden: Iterable[int] = (), only: int | None = None) -> np.ndarray:
    """A 256-entry ``uint32`` table of premultiplied ARGB colours: class colours, background and hidden
    classes transparent; with ``only``, every class but that one hidden."""
    table = np.zeros(256, np.uint32)
    hidden = set(hidden)
    for index, colour in enumerate(classes.colors):
        if index == 0 or index in hidden or (only is not None and index != only):
            continue
        r, g, b = colour
        table[index] = (0xFF << 24) | (r << 16) | (g << 8) | b
    return table


def boundary(padded: np.ndarray) -> np.ndarray:
    """Pixels whose class differs from one of their 4 neighbours, for a window given with a one-pixel
    border of its neighbours (``padded``; edge-replicated outside the map)."""
    centre = padded[1:-1, 1:-1]
    edge = (centre != padded[:-2, 1:-1]) | (centre != padded[2:, 1:-1])
    edge |= (centre != padded[1:-1, :-2]) | (centre != padded[1:-1, 2:])
    return edge


class LabelLayerItem(QGraphicsObject):
    """Draws a :class:`LabelPyramid` in the viewer's view coordinates (add it to ``viewer.box``)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.pyramid: LabelPyramid | None = None
        self._table = np.zeros(256, np.uint32)
        self.contour = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect is the dirty part
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(50)
        self.painted_pixels = 0
        """Label pixels coloured by the last paint (tests and the benchmark read it)."""

    # ------------------------------------------------------------------ content
    def set_labels(self, labels: np.ndarray | None) -> None:
        self.prepareGeometryChange()
        self.pyramid = LabelPyramid(labels) if labels is not None else None
        self.update()

    def set_table(self, table: np.ndarray) -> None:
        """Colours per class index (:func:`argb_table`)."""
        self._table = table
        self.update()

    def set_contour(self, contour: bool) -> None:
        """Draw only the outline of each labelled region."""
        self.contour = bool(contour)
        self.update()

    def labels_changed(self, box: Box) -> None:
        """Patch the pyramid over ``box`` and repaint only that part of the view."""
        if self.pyramid is None:
            return
        self.pyramid.patch(box)
        # Reduced levels draw whole blocks, and contours change one pixel around the edit.
        block = 1 << self.pyramid.built
        y0, x0, y1, x1 = box
        y0, x0 = (y0 - 1) // block * block, (x0 - 1) // block * block
        y1, x1 = -(-(y1 + 1) // block) * block, -(-(x1 + 1) // block) * block
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    # ------------------------------------------------------------------ QGraphicsItem
    def boundingRect(self) -> QRectF:
        if self.pyramid is None:
            return QRectF()
        height, width = self.pyramid.labels.shape
        return QRectF(0, 0, width, height)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.pyramid is None:
            return
        bounds = self.boundingRect()
        exposed = option.exposedRect.intersected(bounds)
        if exposed.isEmpty():
            return
        transform = painter.worldTransform()
        scale = math.hypot(transform.m11(), transform.m12())  # screen pixels per label pixel
        k = max(0, round(math.log2(1 / scale))) if scale > 0 else 0
        array = self.pyramid.level(k)
        f = 1 << min(k, self.pyramid.max_level)
        r0, c0 = int(exposed.top()) // f, int(exposed.left()) // f
        r1 = min(array.shape[0], math.ceil(exposed.bottom() / f))
        c1 = min(array.shape[1], math.ceil(exposed.right() / f))
        if r1 <= r0 or c1 <= c0:
            return
        window = array[r0:r1, c0:c1]
        argb = np.take(self._table, window)
        if self.contour:
            pad = ((int(r0 == 0), int(r1 == array.shape[0])), (int(c0 == 0), int(c1 == array.shape[1])))
            padded = np.pad(array[max(r0 - 1, 0): r1 + 1, max(c0 - 1, 0): c1 + 1], pad, mode="edge")
            argb[~boundary(padded)] = 0
        self.painted_pixels = window.size
        image = QImage(argb.data, argb.shape[1], argb.shape[0], argb.shape[1] * 4,
                       QImage.Format.Format_ARGB32_Premultiplied)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.setClipRect(bounds, Qt.ClipOperation.IntersectClip)  # a partial far-edge block is drawn whole
        painter.drawImage(QRectF(c0 * f, r0 * f, (c1 - c0) * f, (r1 - r0) * f), image)
        painter.restore()
