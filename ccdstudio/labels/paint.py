"""Painting tools on a label map, without Qt: each returns the :class:`~ccdstudio.labels.edits.Edit` it
would make (or None when nothing would change) and leaves the labels untouched; ``History.do`` applies it.

Every tool works inside the bounding rectangle of what it paints, so a brush segment on a 10000 x 8000 map
costs as much as on a small one.

Coordinates are ``(row, col)`` in array pixels, floats allowed, with pixel ``(r, c)`` centred at ``(r, c)``
(a view whose pixel edges lie on integers, like pyqtgraph's ``ImageItem``, subtracts 0.5 first). A pixel is
painted when its centre lies inside the shape.

Modes decide which existing pixels may change:

``"all"``
    every pixel under the tool;
``"background"``
    only background (class 0) pixels ("paint only over background");
``"preserve"``
    only background pixels and those of the ``selected`` class ("preserve other classes"), which also makes
    the eraser remove only the selected class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.edits import Edit

Mode = Literal["all", "background", "preserve"]
Shape = Literal["round", "square"]
Point = tuple[float, float]
MODES = ("all", "background", "preserve")


def paint_mask(labels: np.ndarray, y0: int, x0: int, mask: np.ndarray, value: int, mode: Mode = "all",
               selected: int | None = None, label: str = "paint") -> Edit | None:
    """The edit that sets ``value`` where ``mask`` (placed at ``(y0, x0)``, clipped to ``labels``) is true.

    Every tool ends here; ``mode`` and ``selected`` are described in the module docstring.
    """
    if mode not in MODES:
        raise CcdstudioError(f"unknown paint mode {mode!r}; choose from {', '.join(MODES)}")
    if not 0 <= int(value) <= 255:
        raise CcdstudioError(f"class index {value} does not fit a label map (0-255)")
    height, width = labels.shape
    top, left = max(y0, 0), max(x0, 0)
    bottom, right = min(y0 + mask.shape[0], height), min(x0 + mask.shape[1], width)
    if bottom <= top or right <= left:
        return None
    mask = mask[top - y0: bottom - y0, left - x0: right - x0]
    old = labels[top:bottom, left:right]
    if mode == "background":
        mask = mask & (old == 0)
    elif mode == "preserve":
        keep = 0 if selected is None else selected
        mask = mask & ((old == 0) | (old == keep))
    new = np.where(mask, np.asarray(value, labels.dtype), old)
    return Edit.between(top, left, old, new, label)


def _offset(size: float) -> float:
    # An even-sized brush is centred on a pixel corner so that it covers exactly ``size`` pixels across.
    return 0.5 if round(size) % 2 == 0 else 0.0


def segment_mask(p0: Point, p1: Point, size: float, shape: Shape = "round") -> tuple[int, int, np.ndarray]:
    """Pixels swept by a brush of width ``size`` moved from ``p0`` to ``p1``: ``(y0, x0, mask)``.

    A round brush covers pixel centres closer than ``size / 2`` to the segment; a square one (axis-aligned)
    those whose distance along each axis from some point of the segment is below ``size / 2``.
    """
    if size < 1:
        raise CcdstudioError(f"brush size must be at least 1 pixel, got {size}")
    if shape not in ("round", "square"):
        raise CcdstudioError(f"unknown brush shape {shape!r}; choose round or square")
    shift = _offset(size)
    (ay, ax), (by, bx) = (p0[0] - shift, p0[1] - shift), (p1[0] - shift, p1[1] - shift)
    radius = size / 2
    y0, x0 = int(np.floor(min(ay, by) - radius)), int(np.floor(min(ax, bx) - radius))
    y1, x1 = int(np.ceil(max(ay, by) + radius)) + 1, int(np.ceil(max(ax, bx) + radius)) + 1
    ys = np.arange(y0, y1, dtype=np.float64)[:, None] - ay
    xs = np.arange(x0, x1, dtype=np.float64)[None, :] - ax
    dy, dx = by - ay, bx - ax
    if shape == "round":
        length2 = dy * dy + dx * dx
        t = np.clip((ys * dy + xs * dx) / length2, 0, 1) if length2 else np.zeros((1, 1))
        mask = (ys - t * dy) ** 2 + (xs - t * dx) ** 2 < radius * radius
    else:
        # The square at segment parameter t covers a pixel when |ys - t dy| < r and |xs - t dx| < r; each
        # axis allows an open interval of t, and the pixel is swept when both meet inside [0, 1].
        low_y, high_y = _t_interval(ys, dy, radius)
        low_x, high_x = _t_interval(xs, dx, radius)
        low, high = np.maximum(low_y, low_x), np.minimum(high_y, high_x)
        mask = (low < high) & (low < 1) & (high > 0)
    return y0, x0, mask


def _t_interval(offset: np.ndarray, step: float, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The open interval of t with ``|offset - t step| < radius``, as (low, high) arrays."""
    if step == 0:
        inside = np.abs(offset) < radius
        return np.where(inside, -np.inf, np.inf), np.where(inside, np.inf, -np.inf)
    a, b = (offset - radius) / step, (offset + radius) / step
    return np.minimum(a, b), np.maximum(a, b)


def stroke_segment(labels: np.ndarray, p0: Point, p1: Point, value: int, size: float = 1,
                   shape: Shape = "round", mode: Mode = "all", selected: int | None = None) -> Edit | None:
    """Paint class ``value`` along one segment of a brush stroke (a single dab when ``p0 == p1``)."""
    y0, x0, mask = segment_mask(p0, p1, size, shape)
    return paint_mask(labels, y0, x0, mask, value, mode, selected, "brush")


def erase_segment(labels: np.ndarray, p0: Point, p1: Point, size: float = 1, shape: Shape = "round",
                  only_class: int | None = None) -> Edit | None:
    """Set background along a segment; with ``only_class``, erase that class and keep the others."""
    y0, x0, mask = segment_mask(p0, p1, size, shape)
    mode: Mode = "all" if only_class is None else "preserve"
    return paint_mask(labels, y0, x0, mask, 0, mode, only_class, "eraser")


def rectangle(labels: np.ndarray, p0: Point, p1: Point, value: int, mode: Mode = "all",
              selected: int | None = None) -> Edit | None:
    """Fill the rectangle with corner pixels ``p0`` and ``p1`` (both included)."""
    (ay, ax), (by, bx) = p0, p1
    y0, y1 = int(round(min(ay, by))), int(round(max(ay, by)))
    x0, x1 = int(round(min(ax, bx))), int(round(max(ax, bx)))
    mask = np.ones((y1 - y0 + 1, x1 - x0 + 1), bool)
    return paint_mask(labels, y0, x0, mask, value, mode, selected, "rectangle")


def polygon(labels: np.ndarray, points: Sequence[Point], value: int, mode: Mode = "all",
            selected: int | None = None, label: str = "polygon") -> Edit | None:
    """Fill the polygon (or lasso path, closed automatically) through ``points``."""
    from skimage.draw import polygon as raster

    vertices = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(vertices) < 3:
        raise CcdstudioError("a polygon needs at least 3 points")
    y0, x0 = np.floor(vertices.min(axis=0)).astype(int)
    y1, x1 = np.ceil(vertices.max(axis=0)).astype(int) + 1
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    rows, cols = raster(vertices[:, 0] - y0, vertices[:, 1] - x0, mask.shape)
    mask[rows, cols] = True
    return paint_mask(labels, int(y0), int(x0), mask, value, mode, selected, label)


def _seed(labels: np.ndarray, point: Point) -> tuple[int, int]:
    row, col = int(round(point[0])), int(round(point[1]))
    if not (0 <= row < labels.shape[0] and 0 <= col < labels.shape[1]):
        raise CcdstudioError(f"point {point} is outside the {labels.shape[0]} x {labels.shape[1]} label map")
    return row, col


def pick(labels: np.ndarray, point: Point) -> int:
    """The class under ``point`` (the picker)."""
    return int(labels[_seed(labels, point)])


def _flood_edit(labels: np.ndarray, region: np.ndarray, value: int, mode: Mode, selected: int | None,
                label: str) -> Edit | None:
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region[rows[0]: rows[-1] + 1].any(axis=0))
    box = region[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    return paint_mask(labels, int(rows[0]), int(cols[0]), box, value, mode, selected, label)


def _connectivity(connectivity: int) -> int:
    if connectivity not in (4, 8):
        raise CcdstudioError(f"connectivity is 4 or 8, got {connectivity}")
    return 1 if connectivity == 4 else 2


def fill(labels: np.ndarray, point: Point, value: int, connectivity: int = 4, mode: Mode = "all",
         selected: int | None = None) -> Edit | None:
    """Bucket fill: the region of the class under ``point``, ``connectivity`` 4 or 8, becomes ``value``."""
    from skimage.segmentation import flood

    seed = _seed(labels, point)
    region = flood(labels, seed, connectivity=_connectivity(connectivity))
    return _flood_edit(labels, region, value, mode, selected, "fill")


def fill_similar(labels: np.ndarray, image: np.ndarray, point: Point, value: int, tolerance: float,
                 connectivity: int = 4, mode: Mode = "all", selected: int | None = None) -> Edit | None:
    """Magic wand: paint the region connected to ``point`` whose image values lie within ``tolerance`` of
    the value at ``point`` (``image`` is aligned with ``labels``)."""
    from skimage.segmentation import flood

    if image.shape[:2] != labels.shape:
        raise CcdstudioError(f"image {image.shape} and labels {labels.shape} differ in shape")
    seed = _seed(labels, point)
    data = np.asarray(image, dtype=np.float64 if image.dtype.kind == "f" else np.int64)
    if not np.isfinite(data[seed]):
        raise CcdstudioError("the image has no value (NaN) at the fill's starting point")
    region = flood(data, seed, connectivity=_connectivity(connectivity), tolerance=float(tolerance))
    return _flood_edit(labels, region, value, mode, selected, "fill similar")
