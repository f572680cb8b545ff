"""The live threshold preview: a coloured layer over the viewer showing what the threshold selects.

It thresholds screen-resolution data of the visible window (:class:`~ccdstudio.gui.analysis.rule.ScreenData`,
block max/min of about one value per screen pixel) instead of the plane, so moving a slider costs a
comparison of about a screen's worth of pixels whatever the plane's size. The screen data is fetched in a
background thread after each pan or zoom (the viewer's ``rendered`` signal) and when the rule changes what
is thresholded (data values or pedestal scores); the automatic limits and backgrounds it needs are measured
there once per plane by the :class:`~ccdstudio.gui.analysis.engine.ThresholdEngine`.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QThreadPool, Signal

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import background
from ccdstudio.gui.analysis.engine import ThresholdEngine
from ccdstudio.gui.analysis.rule import ScreenData, ThresholdRule
from ccdstudio.gui.viewer import ImageViewer
from ccdstudio.gui.viewer.overlays import colour_lut

PREVIEW_Z = 40
"""Above the image (0, 1) and the viewer's overlays (10 and up)."""


class ThresholdPreview(QObject):
    """Draws ``rule``'s selection over ``viewer`` while enabled."""

    redrawn = Signal(float)
    """Milliseconds the last redraw took (threshold of the screen data plus handing it to the view)."""
    status = Signal(str)
    """A line for the dock: what the preview shows, or why it cannot."""

    def __init__(self, viewer: ImageViewer, colour: tuple[int, int, int] = (0, 230, 118), parent: QObject | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.item = pg.ImageItem(axisOrder="row-major", autoDownsample=False)
        self.item.setZValue(PREVIEW_Z)
        self.item.setOpacity(0.6)
        self.item.setVisible(False)
        viewer.box.addItem(self.item)
        self._lut = colour_lut(colour)
        self.engine: ThresholdEngine | None = None
        self.rule: ThresholdRule | None = None
        self.data: ScreenData | None = None
        self.enabled = False
        self.last_ms = 0.0
        self._generation = 0
        self._pool = QThreadPool(self)  # created before the mailbox: destroyed first, waiting for its task
        self._pool.setMaxThreadCount(1)
        self._mailbox = background.Mailbox(self)
        self._mailbox.delivered.connect(self._delivered)
        viewer.rendered.connect(self._view_changed)

    def set_engine(self, engine: ThresholdEngine | None) -> None:
        """Threshold another plane (None: nothing on screen)."""
        self.engine = engine
        self.data = None
        self._generation += 1
        self.item.clear()
        if self.enabled:
            self._fetch()

    def set_rule(self, rule: ThresholdRule) -> None:
        self.rule = rule
        if self.enabled:
            self.redraw()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.item.setVisible(enabled)
        if enabled:
            self.redraw()

    def set_opacity(self, opacity: float) -> None:
        self.item.setOpacity(opacity)

    def wait_idle(self) -> None:
        self._pool.waitForDone()

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        """Redraw from the screen data at hand, or fetch new data first when it does not fit the rule."""
        engine, rule, data = self.engine, self.rule, self.data
        if engine is None or rule is None:
            return
        if data is None or data.key != engine.screen_key(rule) or not engine.ready(rule):
            self._fetch()
            return
        start = time.perf_counter()
        try:
            rule.validate()
            mask = data.preview(rule, engine.limits(rule))
        except CcdstudioError as error:
            self.item.clear()
            self.status.emit(str(error))
            return
        self.item.setImage(mask.view(np.uint8), levels=(0, 255), lut=self._lut, autoLevels=False)
        x0, y0 = data.rect[:2]
        self.item.setRect(QRectF(x0, y0, mask.shape[1] * data.factor, mask.shape[0] * data.factor))
        self.last_ms = (time.perf_counter() - start) * 1000
        self.redrawn.emit(self.last_ms)
        blocks = "full resolution" if data.factor == 1 else f"blocks of {data.factor}x{data.factor} px"
        self.status.emit(f"preview: {blocks}; {self.last_ms:.1f} ms")

    def _view_changed(self) -> None:
        if self.enabled:
            self._fetch()

    def _fetch(self) -> None:
        engine, rule = self.engine, self.rule
        if engine is None or rule is None:
            return
        self._generation += 1
        generation = self._generation
        visible, screen = self.viewer.visible_rect(), self.viewer.screen_size()
        self.status.emit("preview: reading…" if not engine.ready(rule) else "preview: updating…")
        background.start(self._pool, lambda: self._work(generation, engine, rule, visible, screen))

    def _work(self, generation: int, engine: ThresholdEngine, rule: ThresholdRule, visible, screen) -> None:  # thread
        if generation != self._generation:
            return
        try:
            engine.limits(rule)  # measured once, here rather than on the UI thread
            result: object = engine.screen(rule, visible, screen)
        except CcdstudioError as error:
            result = error
        except MemoryError:
            result = CcdstudioError("not enough memory for the preview")
        try:
            self._mailbox.delivered.emit((generation, result))
        except RuntimeError:  # the preview was deleted meanwhile
            pass

    def _delivered(self, message: tuple[int, object]) -> None:
        generation, result = message
        if generation != self._generation:
            return
        if isinstance(result, CcdstudioError):
            self.item.clear()
            self.status.emit(str(result))
            return
        self.data = result  # type: ignore[assignment]
        if self.enabled:
            self.redraw()
