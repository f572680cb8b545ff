"""The label tools driven by the mouse on the viewer: brush, eraser, fill, picker, rectangle, polygon, lasso.

The controller watches the viewer's viewport with an event filter (the viewer needs no change). With a tool
chosen, the left button draws and is kept from pyqtgraph, which would pan; the middle button still pans and
the wheel still zooms. Every tool computes a Qt-free edit (:mod:`ccdstudio.labels.paint`) and hands it to
the :class:`~ccdstudio.gui.labels.session.LabelSession`; a brush stroke is one undo step.

View coordinates put pixel ``[row, col]`` at ``x in [col, col + 1)``, ``y in [row, row + 1)``;
``paint`` centres pixel ``(r, c)`` at ``(r, c)``, hence the 0.5 subtracted in :meth:`ToolController.to_array`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
)

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui.labels.session import LabelSession
from ccdstudio.gui.viewer import ImageViewer
from ccdstudio.labels import paint
from ccdstudio.labels.paint import Mode, Point, Shape

TOOLS = ("pan", "paint", "erase", "fill", "pick", "rectangle", "polygon", "lasso")
"""Tool names; "pan" leaves the mouse to the viewer."""
STROKE_TOOLS = ("paint", "erase")
MAX_BRUSH = 500
BACKGROUND_FILL_PIXELS = 8 * 2**20
"""Label maps larger than this fill in a worker thread: a fill of the whole map there takes longer than a
UI frame should (about 0.1 s per 8 megapixels), even though most fills are small."""

_Event = QEvent.Type


@dataclass
class ToolOptions:
    """How the tools paint (the toolbar edits these)."""

    size: int = 10
    shape: Shape = "round"
    mode: Mode = "all"
    connectivity: int = 4
    fill_on_image: bool = False
    tolerance: float = 10.0


def _pen(colour: str) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)  # one screen pixel wide at any zoom
    pen.setWidthF(1.5)
    return pen


class ToolController(QObject):
    """Turns mouse events on ``viewer`` into label edits of :attr:`session`.

    ``read_image`` returns the shown plane as an array, for the fill that follows image values.
    """

    toolChanged = Signal(str)
    sizeChanged = Signal(int)
    picked = Signal(int)
    """The class under the cursor, chosen with the picker."""
    failed = Signal(str)
    """A tool could not run (e.g. the image cannot be read for a tolerance fill)."""

    def __init__(self, viewer: ImageViewer, read_image: Callable[[], np.ndarray], parent: QObject | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.read_image = read_image
        self.session: LabelSession | None = None
        self.options = ToolOptions()
        self.selected = 1
        self.tool = "pan"
        self._last: Point | None = None
        self._points: list[Point] = []
        self._anchor: Point | None = None
        self._outline = QGraphicsPathItem()
        self._outline.setPen(_pen("#ffff40"))
        self._outline.setZValue(60)
        self._brush = QGraphicsEllipseItem()
        self._square = QGraphicsRectItem()
        for item in (self._brush, self._square):
            item.setPen(_pen("#ffffff"))
            item.setZValue(61)
            item.setVisible(False)
        for item in (self._outline, self._brush, self._square):
            viewer.box.addItem(item, ignoreBounds=True)
        viewer.view.viewport().installEventFilter(self)
        viewer.view.installEventFilter(self)  # key presses (Return, Escape) for the polygon

    # ------------------------------------------------------------------ choosing
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise CcdstudioError(f"unknown label tool {tool!r}")
        self.cancel_shape()
        self.tool = tool
        cursor = Qt.CursorShape.ArrowCursor if tool == "pan" else Qt.CursorShape.CrossCursor
        self.viewer.view.viewport().setCursor(cursor)
        self._brush.setVisible(False)
        self._square.setVisible(False)
        self.toolChanged.emit(tool)

    def set_size(self, size: int) -> None:
        size = int(min(max(size, 1), MAX_BRUSH))
        if size != self.options.size:
            self.options.size = size
            self.sizeChanged.emit(size)

    def grow(self, steps: int) -> None:
        """``]`` and ``[``: change the brush size by about 15% (at least one pixel) per step."""
        size = self.options.size
        for _ in range(abs(steps)):
            size += (1 if steps > 0 else -1) * max(1, round(size * 0.15))
        self.set_size(size)

    # ------------------------------------------------------------------ coordinates
    def to_array(self, widget_pos: QPointF) -> Point:
        """Array ``(row, col)`` (pixel centres on integers) of a position on the viewport."""
        view = self.viewer.box.mapSceneToView(self.viewer.view.mapToScene(widget_pos.toPoint()))
        return view.y() - 0.5, view.x() - 0.5

    # ------------------------------------------------------------------ events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == _Event.KeyPress:
            return self._key(event.key())
        if watched is not self.viewer.view.viewport():
            return False
        if kind == _Event.Leave:
            self._brush.setVisible(False)
            self._square.setVisible(False)
            return False
        if kind not in (_Event.MouseButtonPress, _Event.MouseMove, _Event.MouseButtonRelease,
                        _Event.MouseButtonDblClick):
            return False
        if self.tool == "pan" or self.session is None:
            return False
        point = self.to_array(event.position())
        if kind == _Event.MouseMove:
            self._show_brush(point)
            if event.buttons() & Qt.MouseButton.LeftButton:
                self._drag(point)
                return True
            elif self.tool == "polygon" and self._points:
                self._show_outline(self._points + [point], closed=False)
            return False  # the viewer's own filter shows the pixel under the cursor
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        try:
            if kind == _Event.MouseButtonPress:
                self._press(point)
            elif kind == _Event.MouseButtonRelease:
                self._release(point)
            elif self.tool == "polygon":
                self.finish_polygon()
        except CcdstudioError as error:
            self.failed.emit(str(error))
        return True

    def _key(self, key: int) -> bool:
        if self.tool == "polygon" and self._points and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_polygon()
            return True
        if key == Qt.Key.Key_Escape and (self._points or self._anchor is not None):
            self.cancel_shape()
            return True
        return False

    def _press(self, point: Point) -> None:
        session = self.session
        assert session is not None
        tool = self.tool
        if tool in STROKE_TOOLS:
            session.begin_stroke("brush" if tool == "paint" else "eraser")
            self._last = point
            session.stroke(self._segment(point, point))
        elif tool == "fill":
            self._fill(point)
        elif tool == "pick":
            if self._inside(point):
                self.picked.emit(paint.pick(session.labels, point))
        elif tool == "rectangle":
            self._anchor = point
            self._show_outline(self._corners(point, point), closed=True)
        elif tool == "lasso":
            self._points = [point]
        elif tool == "polygon":
            self._points.append(point)
            self._show_outline(self._points, closed=False)

    def _drag(self, point: Point) -> None:
        session = self.session
        assert session is not None
        if self.tool in STROKE_TOOLS and session.stroking and self._last is not None:
            session.stroke(self._segment(self._last, point))
            self._last = point
        elif self.tool == "rectangle" and self._anchor is not None:
            self._show_outline(self._corners(self._anchor, point), closed=True)
        elif self.tool == "lasso" and self._points:
            self._points.append(point)
            self._show_outline(self._points, closed=False)

    def _release(self, point: Point) -> None:
        session = self.session
        assert session is not None
        if self.tool in STROKE_TOOLS and session.stroking:
            if self._last is not None and self._last != point:
                session.stroke(self._segment(self._last, point))
            session.end_stroke()
            self._last = None
        elif self.tool == "rectangle" and self._anchor is not None:
            anchor, self._anchor = self._anchor, None
            self._outline.setPath(QPainterPath())
            o = self.options
            session.do(paint.rectangle(session.labels, anchor, point, self.selected, o.mode, self.selected),
                       "rectangle")
        elif self.tool == "lasso" and self._points:
            points, self._points = self._points + [point], []
            self._outline.setPath(QPainterPath())
            if len(points) >= 3:
                o = self.options
                session.do(paint.polygon(session.labels, _centres(points), self.selected, o.mode, self.selected,
                                         "lasso"), "lasso")

    # ------------------------------------------------------------------ tool bodies
    def _segment(self, p0: Point, p1: Point):
        session, o = self.session, self.options
        assert session is not None
        if self.tool == "erase":
            only = self.selected if o.mode == "preserve" else None
            return paint.erase_segment(session.labels, p0, p1, o.size, o.shape, only)
        return paint.stroke_segment(session.labels, p0, p1, self.selected, o.size, o.shape, o.mode, self.selected)

    def _inside(self, point: Point) -> bool:
        height, width = self.session.shape  # type: ignore[union-attr]
        return 0 <= round(point[0]) < height and 0 <= round(point[1]) < width

    def _fill(self, point: Point) -> None:
        """Fill at ``point``: at once on a small map, in a worker thread on a large one (the session waits)."""
        session, o = self.session, self.options
        assert session is not None
        if not self._inside(point):
            return
        labels, value = session.labels, self.selected
        if o.fill_on_image:
            compute = partial(paint.fill_similar, labels, self.read_image(), point, value, o.tolerance,
                              o.connectivity, o.mode, value)
        else:
            compute = partial(paint.fill, labels, point, value, o.connectivity, o.mode, value)
        text = "fill similar" if o.fill_on_image else "fill"
        if labels.size > BACKGROUND_FILL_PIXELS:
            session.do_in_background(compute, text)
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            edit = compute()
        finally:
            QApplication.restoreOverrideCursor()
        session.do(edit, text)

    def finish_polygon(self) -> None:
        """Fill the polygon clicked so far (double-click or Return)."""
        points, self._points = self._points, []
        self._outline.setPath(QPainterPath())
        # A double-click adds its point twice (press, release, double-click); drop repeats.
        centres = _centres(points)
        unique = [p for i, p in enumerate(centres) if i == 0 or p != centres[i - 1]]
        if len(unique) >= 3 and self.session is not None:
            o = self.options
            self.session.do(paint.polygon(self.session.labels, unique, self.selected, o.mode, self.selected),
                            "polygon")

    def cancel_shape(self) -> None:
        """Forget a polygon, lasso or rectangle being drawn (Escape)."""
        self._points, self._anchor = [], None
        self._outline.setPath(QPainterPath())

    # ------------------------------------------------------------------ feedback
    @staticmethod
    def _corners(a: Point, b: Point) -> list[Point]:
        return [a, (a[0], b[1]), b, (b[0], a[1])]

    def _show_outline(self, points: list[Point], closed: bool) -> None:
        path = QPainterPath()
        path.moveTo(points[0][1] + 0.5, points[0][0] + 0.5)
        for row, col in points[1:]:
            path.lineTo(col + 0.5, row + 0.5)
        if closed:
            path.closeSubpath()
        self._outline.setPath(path)

    def _show_brush(self, point: Point) -> None:
        stroke = self.tool in STROKE_TOOLS
        size = self.options.size
        # Centre the outline on the pixels the brush covers (an even brush sits on a pixel corner).
        offset = 0.5 if size % 2 == 0 else 0.0
        row, col = round(point[0] - offset) + offset, round(point[1] - offset) + offset
        rect = QRectF(col + 0.5 - size / 2, row + 0.5 - size / 2, size, size)
        square = self.options.shape == "square"
        shown, hidden = (self._square, self._brush) if square else (self._brush, self._square)
        hidden.setVisible(False)
        if shown.rect() != rect:
            shown.setRect(rect)
        shown.setVisible(stroke)


def _centres(points: list[Point]) -> list[Point]:
    """Polygon and lasso points snapped to the centres of the pixels clicked, so the clicked pixels and the
    outline between them are painted (:func:`ccdstudio.labels.paint.polygon` includes its outline)."""
    return [(float(round(row)), float(round(col))) for row, col in points]
