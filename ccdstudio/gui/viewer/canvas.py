"""The image viewer: a pyqtgraph ViewBox showing a lazy plane at screen resolution, with overlays.

Two layers of pixels are drawn. The *backdrop* is the plane's overview (whole plane, block-reduced), drawn
at once so a pan never shows emptiness. The *detail* is the visible window rendered for the screen
(:func:`ccdstudio.imaging.render.render_view`): after each pan, zoom or resize a debounced render runs in a
background thread and replaces it, so a zoomed-in view shows full-resolution pixels and a zoomed-out view
keeps single hot pixels. Overlays (:mod:`.overlays`) are rendered for the same viewport in the same pass.

Stretching happens here in numpy (:func:`~ccdstudio.imaging.stretch.to_display`); pyqtgraph only gets
uint8 indices, a 256-entry colour table and fixed levels (0, 255): it never computes levels itself.
Coordinates in the view are array coordinates: pixel ``[row, col]`` covers ``x in [col, col + 1)``,
``y in [row, row + 1)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QEvent,
    QObject,
    QPointF,
    QRectF,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ccdstudio.gui import background
from ccdstudio.gui.viewer.overlays import Colour, Overlay
from ccdstudio.imaging.render import Outliers, Overview, Rendered, render_view
from ccdstudio.imaging.stretch import Calibration, Levels, to_display
from ccdstudio.io.source import ImageSource

log = logging.getLogger(__name__)

RENDER_DELAY_MS = 60
"""Pan/zoom events closer than this are merged into one render."""


@dataclass(frozen=True)
class Display:
    """How data values become colours: levels (in the calibration's unit), stretch, table and calibration."""

    levels: Levels = (0.0, 1.0)
    stretch: str = "linear"
    lut: np.ndarray | None = None
    calibration: Calibration = Calibration()


@dataclass(frozen=True)
class _Plane:
    source: ImageSource
    plane: int
    overview: Overview
    outliers: Outliers | None


class ImageViewer(QWidget):
    """Shows one plane of a source; emits the array pixel under the cursor."""

    cursorMoved = Signal(int, int)
    """``(row, col)`` of the array pixel under the cursor (0-based)."""
    cursorLeft = Signal()
    rendered = Signal()
    """A viewport render (image and overlays) has been drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsView(background="#1e1e1e")
        self.box = pg.ViewBox(lockAspect=True, enableMenu=False)
        self.box.setDefaultPadding(0.01)
        self.view.setCentralItem(self.box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self._backdrop = self._new_item(z=0)
        self._detail = self._new_item(z=1)
        self._overlays: dict[str, Overlay] = {}
        self._overlay_items: dict[str, pg.ImageItem] = {}
        self._plane: _Plane | None = None
        self._display = Display()
        self._detail_raw: Rendered | None = None
        self._generation = 0
        self._landed = 0  # the generation of the last render handled on this thread (drawn or failed)
        # One render at a time. The pool is created before the mailbox, so it is destroyed first, and its
        # destructor waits for a running render while the mailbox still exists.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._mailbox = background.Mailbox(self)

        self._timer = QTimer(self, singleShot=True, interval=RENDER_DELAY_MS)
        self._timer.timeout.connect(self._start_render)
        self.box.sigRangeChanged.connect(lambda *_: self.schedule_render())
        self.box.sigResized.connect(lambda *_: self.schedule_render())
        # an event filter, not the scene's sigMouseMoved: the scene drops moves closer than 1/60 s, which
        # could leave the status bar showing a pixel the cursor has already left
        self.view.viewport().installEventFilter(self)
        self._mailbox.delivered.connect(self._on_delivered)

    # ---------------------------------------------------------------- plane and display
    def set_plane(
        self,
        source: ImageSource,
        plane: int,
        overview: Overview,
        outliers: Outliers | None,
        origin_bottom: bool,
        keep_view: bool = False,
    ) -> None:
        """Show ``plane`` of ``source``; ``outliers`` says what block reduction must keep (hot pixels)."""
        same_shape = self._plane is not None and self._plane.overview.shape == overview.shape
        self._plane = _Plane(source, plane, overview, outliers)
        self._detail_raw = None
        self._detail.clear()
        self.box.invertY(not origin_bottom)
        height, width = overview.shape
        span = max(width, height)  # limits on the long side, so a wide plane fits a tall view and vice versa
        self.box.setLimits(
            xMin=-span, xMax=width + span, yMin=-span, yMax=height + span,
            minXRange=4, minYRange=4, maxXRange=3 * span, maxYRange=3 * span,
        )
        self._draw(self._backdrop, overview.image, (0, 0), overview.factor)
        if not (keep_view and same_shape):
            self.fit()
        self.schedule_render()

    def set_display(self, display: Display) -> None:
        """Change levels, stretch, colour table or calibration; redraws from the pixels already rendered."""
        self._display = display
        if self._plane is None:
            return
        self._draw(self._backdrop, self._plane.overview.image, (0, 0), self._plane.overview.factor)
        if self._detail_raw is not None:
            rect = self._detail_raw.rect
            self._draw(self._detail, self._detail_raw.image, rect[:2], self._detail_raw.factor)

    @property
    def display(self) -> Display:
        return self._display

    def wait_idle(self) -> None:
        """Block until the render running in the background (if any) has finished reading."""
        self._pool.waitForDone()

    def render_pending(self) -> bool:
        """Whether a render of the current view is scheduled, running, or finished but not yet drawn."""
        return self._timer.isActive() or (self._plane is not None and self._landed != self._generation)

    def clear(self) -> None:
        """Show nothing (no file open)."""
        self._generation += 1
        self._plane = None
        self._detail_raw = None
        self._backdrop.clear()
        self._detail.clear()
        self.clear_overlays()

    # ---------------------------------------------------------------- overlays
    def set_overlay(
        self,
        name: str,
        data: np.ndarray | tuple[ImageSource, int],
        *,
        colour: Colour | None = None,
        lut: np.ndarray | None = None,
        opacity: float = 0.5,
        visible: bool = True,
    ) -> None:
        """Add or replace the overlay ``name`` over the shown plane.

        Parameters
        ----------
        name
            The key for later calls (``set_overlay_visible``, ``remove_overlay``) and what panels list.
        data
            A 2-D array or a ``(source, plane)`` pair with the plane's shape; values are table indices.
        colour, lut
            RGB(A) for a mask (0 transparent, other values in this colour) or a 256 x 4 uint8 table.
        opacity, visible
            Drawing opacity in [0, 1] and whether it is drawn.
        """
        if self._plane is None:
            raise RuntimeError("set_overlay needs a plane on screen")
        overlay = Overlay.create(name, data, self._plane.overview.shape, colour, lut, opacity, visible)
        self.remove_overlay(name)
        self._overlays[name] = overlay
        item = self._new_item(z=10 + len(self._overlay_items))
        item.setOpacity(overlay.opacity)
        item.setVisible(overlay.visible)
        self._overlay_items[name] = item
        self.schedule_render(immediately=True)

    def overlay(self, name: str) -> Overlay:
        return self._overlays[name]

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    def set_overlay_visible(self, name: str, visible: bool) -> None:
        self._overlays[name].visible = visible
        self._overlay_items[name].setVisible(visible)
        if visible:
            self.schedule_render(immediately=True)

    def set_overlay_opacity(self, name: str, opacity: float) -> None:
        self._overlays[name].opacity = float(opacity)
        self._overlay_items[name].setOpacity(float(opacity))

    def remove_overlay(self, name: str) -> None:
        if name in self._overlays:
            del self._overlays[name]
            item = self._overlay_items.pop(name)
            self.box.removeItem(item)

    def clear_overlays(self) -> None:
        for name in list(self._overlays):
            self.remove_overlay(name)

    # ---------------------------------------------------------------- view
    def fit(self) -> None:
        """Show the whole plane."""
        if self._plane is not None:
            height, width = self._plane.overview.shape
            self.box.setRange(QRectF(0, 0, width, height), padding=0.01)

    def zoom(self, factor: float) -> None:
        """Zoom in (factor > 1) or out about the centre of the view."""
        self.box.scaleBy(s=(1 / factor, 1 / factor))

    def zoom_actual(self) -> None:
        """One plane pixel per screen pixel, about the centre of the view."""
        x0, y0, x1, y1 = self.visible_rect()
        width, height = self.screen_size()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.box.setRange(xRange=(cx - width / 2, cx + width / 2), yRange=(cy - height / 2, cy + height / 2), padding=0)

    def centre_on(self, x: float, y: float, pixels_across: float | None = None) -> None:
        """Centre the view on array coordinates ``(x, y)``, optionally showing ``pixels_across`` pixels."""
        x0, y0, x1, y1 = self.visible_rect()
        half = (pixels_across or (x1 - x0)) / 2
        aspect = (y1 - y0) / max(x1 - x0, 1e-9)
        self.box.setRange(xRange=(x - half, x + half), yRange=(y - half * aspect, y + half * aspect), padding=0)

    def visible_rect(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` of the view, in array coordinates."""
        (x0, x1), (y0, y1) = self.box.viewRange()
        return x0, y0, x1, y1

    def screen_size(self) -> tuple[int, int]:
        """The view's size in device pixels."""
        ratio = self.devicePixelRatioF()
        rect = self.box.boundingRect()
        return max(1, int(rect.width() * ratio)), max(1, int(rect.height() * ratio))

    def scene_pos(self, x: float, y: float) -> QPointF:
        """Widget position (of ``self.view.viewport()``) of array coordinates ``(x, y)``; for tests and tools."""
        return self.view.mapFromScene(self.box.mapViewToScene(QPointF(x, y)))

    # ---------------------------------------------------------------- rendering
    def schedule_render(self, immediately: bool = False) -> None:
        """Render the viewport soon (merging the bursts of events a pan produces)."""
        if self._plane is not None:
            self._timer.start(0 if immediately else RENDER_DELAY_MS)

    def _start_render(self) -> None:
        if self._plane is None:
            return
        self._generation += 1
        generation, plane = self._generation, self._plane
        visible, screen = self.visible_rect(), self.screen_size()
        overlays = [o for o in self._overlays.values() if o.visible]
        background.start(self._pool, lambda: self._render(generation, plane, visible, screen, overlays))

    def _render(self, generation, plane: _Plane, visible, screen, overlays: list[Overlay]) -> None:  # thread
        if generation != self._generation:
            return  # superseded while waiting for the thread
        try:
            image = render_view(plane.source, plane.plane, plane.overview, visible, screen, plane.outliers)
            drawn = {o.name: o.render(visible, screen) for o in overlays}
            result = (generation, image, drawn, None)
        except Exception as error:  # a failed read: keep the backdrop, say why in the log
            result = (generation, None, {}, error)
        try:
            self._mailbox.delivered.emit(result)
        except RuntimeError:  # the viewer was deleted while rendering
            pass

    def _on_delivered(self, result: tuple) -> None:
        generation, image, overlays, error = result
        if generation != self._generation or self._plane is None:
            return  # a newer render is on its way
        self._landed = generation
        if error is not None:
            log.warning("viewport render failed: %s", error)
            return
        self._detail_raw = image
        self._draw(self._detail, image.image, image.rect[:2], image.factor)
        for name, drawn in overlays.items():
            if name in self._overlay_items:
                item = self._overlay_items[name]
                item.setImage(drawn.image, levels=(0, 255), lut=self._overlays[name].lut, autoLevels=False)
                self._place(item, drawn.image.shape, drawn.rect[:2], drawn.factor)
        self.rendered.emit()

    def _draw(self, item: pg.ImageItem, raw: np.ndarray, origin: tuple[int, int], factor: int) -> None:
        display = self._display
        indices = to_display(display.calibration.apply(raw), display.levels, display.stretch)
        item.setImage(indices, levels=(0, 255), lut=display.lut, autoLevels=False)
        self._place(item, indices.shape, origin, factor)

    @staticmethod
    def _place(item: pg.ImageItem, shape: tuple[int, ...], origin: tuple[int, int], factor: int) -> None:
        # A partial block at the far edge is drawn full size: at most factor - 1 pixels, under one screen pixel.
        item.setRect(QRectF(origin[0], origin[1], shape[1] * factor, shape[0] * factor))

    def _new_item(self, z: float) -> pg.ImageItem:
        item = pg.ImageItem(axisOrder="row-major", autoDownsample=False)
        item.setZValue(z)
        self.box.addItem(item)
        return item

    # ---------------------------------------------------------------- cursor
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.MouseMove:
            self._mouse_moved(self.view.mapToScene(event.position().toPoint()))
        elif event.type() == QEvent.Type.Leave:
            self.cursorLeft.emit()
        return False

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        if self._plane is None or not self.box.sceneBoundingRect().contains(scene_pos):
            self.cursorLeft.emit()
            return
        point = self.box.mapSceneToView(scene_pos)
        row, col = math.floor(point.y()), math.floor(point.x())
        height, width = self._plane.overview.shape
        if 0 <= row < height and 0 <= col < width:
            self.cursorMoved.emit(row, col)
        else:
            self.cursorLeft.emit()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        # Up/Down step planes in the main window; the viewer must not swallow them.
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            event.ignore()
            return
        super().keyPressEvent(event)
