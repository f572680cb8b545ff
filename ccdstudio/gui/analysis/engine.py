"""The numbers behind the threshold dock for one plane: the plane in memory, its robust backgrounds and
automatic limits (each computed once), the screen-resolution data the live preview thresholds, and the
exact full-plane mask that Apply produces.

Thread-safe: the preview thread and a job thread may call it at once; the caches are filled under a lock.
Qt-free.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ccdstudio.gui.analysis.rule import (
    Background,
    ScreenData,
    ThresholdRule,
    crop_background,
    pedestal_mask,
    range_mask,
    score,
)
from ccdstudio.imaging.render import block_reduce, view_factor
from ccdstudio.imaging.threshold import Lines, amplifier_background, auto_threshold, robust_background
from ccdstudio.io.ccd import MosaicSource
from ccdstudio.io.source import ImageSource
from ccdstudio.jobs import CancelToken, Job, Progress, check

Rect = tuple[int, int, int, int]

PREVIEW_MARGIN = 0.1
"""Screen data covers the view plus this share of its size on each side."""


class ThresholdEngine:
    """Thresholds of ``plane`` of ``source`` (the plane on screen)."""

    def __init__(self, source: ImageSource, plane: int) -> None:
        self.source, self.plane = source, plane
        self.shape: tuple[int, int] = tuple(source.planes[plane].shape)  # type: ignore[assignment]
        self._lock = threading.RLock()
        self._image: np.ndarray | None = None
        self._backgrounds: dict[Lines | None, Background] = {}
        self._limits: dict[tuple[str, bool], tuple[float, float]] = {}

    # ------------------------------------------------------------------ cached measurements
    def image(self) -> np.ndarray:
        """The whole plane (read once)."""
        with self._lock:
            if self._image is None:
                self._image = np.asarray(self.source.read(self.plane))
            return self._image

    def background(self, lines: Lines | None) -> Background:
        """Robust pedestal and noise of the plane, per image or per row/column, per amplifier of a mosaic
        (measured once)."""
        with self._lock:
            if lines not in self._backgrounds:
                if isinstance(self.source, MosaicSource):  # each amplifier at its own pedestal and noise
                    pedestal, sigma = amplifier_background(self.source.wrapped, lines)
                else:
                    pedestal, sigma = robust_background(self.image(), lines)
                self._backgrounds[lines] = Background(np.asarray(pedestal), np.asarray(sigma))
            return self._backgrounds[lines]

    def limits(self, rule: ThresholdRule) -> tuple[float, float | None] | None:
        """The data range a manual or automatic rule selects; None for pedestal rules."""
        if rule.method == "manual":
            return rule.low, rule.high
        if rule.method == "auto":
            key = (rule.auto_method, rule.dark_background)
            with self._lock:
                if key not in self._limits:
                    self._limits[key] = auto_threshold(self.image(), *key)
                return self._limits[key]
        return None

    def ready(self, rule: ThresholdRule) -> bool:
        """Whether everything ``rule`` needs is measured already (then previews cost no reading)."""
        with self._lock:
            if self._image is None:
                return False
            if rule.method == "auto":
                return (rule.auto_method, rule.dark_background) in self._limits
            return rule.method == "manual" or rule.lines in self._backgrounds

    # ------------------------------------------------------------------ preview
    @staticmethod
    def screen_key(rule: ThresholdRule) -> tuple:
        """What the screen data depends on: data values for ranges, the score transform for pedestal rules."""
        if rule.method == "pedestal":
            return ("score", rule.lines, rule.unit, rule.gain)
        return ("value",)

    def screen(self, rule: ThresholdRule, visible: tuple[float, float, float, float],
               screen: tuple[int, int]) -> ScreenData:
        """Block max/min of the thresholded quantity over the visible window (plus a small margin, so a
        short pan shows no gap before the next fetch), at about one value per screen pixel."""
        factor = view_factor(visible, screen)
        rect = snapped_rect(visible, factor, self.shape, PREVIEW_MARGIN)
        x0, y0, x1, y1 = rect
        rows, cols = slice(y0, y1), slice(x0, x1)
        window = self.image()[rows, cols]
        if rule.method == "pedestal":
            high = block_reduce(score(window, rule, crop_background(self.background(rule.lines), rows, cols)), factor)
            low = high
        else:
            values = window.astype(np.float32, copy=False)
            high = block_reduce(values, factor)
            low = high if factor == 1 else np.negative(block_reduce(np.negative(values), factor))
        return ScreenData(high, low, rect, factor, self.screen_key(rule))

    # ------------------------------------------------------------------ apply
    def full_mask(self, rule: ThresholdRule, cancel: CancelToken | None = None) -> Job[np.ndarray]:
        """The exact mask of ``rule`` on the whole plane (a job)."""
        rule.validate()
        yield Progress(None, "reading the plane")
        image = self.image()
        check(cancel)
        if rule.method == "pedestal":
            yield Progress(None, "measuring the pedestal")
            background = self.background(rule.lines)
            check(cancel)
            yield Progress(None, "thresholding")
            return pedestal_mask(score(image, rule, background), rule)
        yield Progress(None, "thresholding")
        return range_mask(image, self.limits(rule))  # type: ignore[arg-type]


def snapped_rect(visible: tuple[float, float, float, float], factor: int, shape: tuple[int, int],
                 margin: float) -> Rect:
    """The visible box widened by ``margin`` of its size, clipped to the plane, on a ``factor`` grid."""
    height, width = shape
    x0, y0, x1, y1 = visible
    pad_x, pad_y = (x1 - x0) * margin, (y1 - y0) * margin

    def edges(low: float, high: float, size: int) -> tuple[int, int]:
        last = (size - 1) // factor * factor
        start = min(max(0, math.floor(low / factor) * factor), last)
        return start, min(size, max(math.ceil(high / factor) * factor, start + factor))

    (left, right), (top, bottom) = edges(x0 - pad_x, x1 + pad_x, width), edges(y0 - pad_y, y1 + pad_y, height)
    return left, top, right, bottom
