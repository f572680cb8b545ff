"""Painting tools on a label map, without Qt: each returns the :class:`~ccdstudio.labels.edits.Edit` it
would make (a :class:`~ccdstudio.labels.edits.RegionEdit` for the fills; None when nothing would change)
and leaves the labels untouched; ``History.do`` applies it.

Every tool works inside the bounding rectangle of what it paints, so a brush segment on a 10000 x 8000 map
costs as much as on a small one.

Coordinates are ``(row, col)`` in array pixels, floats allowed, with pixel ``(r, c)`` centred at ``(r, c)``
(a view whose pixel edges lie on integers, like pyqtgraph's ``ImageItem``, subtracts 0.5 first). A pixel is
painted when its centre lies inside the shape; for polygons and lassos also when it lies on the outline, on
every side alike, so a polygon through pixel centres includes all its edge pixels (``skimage.draw.polygon``
leaves out some of them, e.g. along edges that double back).

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
from ccdstudio.labels.edits import Edit, RegionEdit

Mode = Literal["all", "background", "preserve"]
Shape = Literal["round", "square"]
Point = tuple[float, float]
MODES = ("all", "background", "preserve")


def paint_mask(labels: np.ndarray, y0: int, x0: int, mask: np.ndarray, value: int, mode: Mode = "all",
               selected: int | None = None, label: str = "paint") -> Edit | None:
    """The edit that sets ``value`` where ``mask`` (placed at ``(y0, x0)``, clipped to ``labels``) is true.

    Every tool but the fills ends here; ``mode`` and ``selected`` are described in the module docstring.
    """
    found = _changes(labels, y0, x0, mask, value, mode, selected)
    if found is None:
        return None
    top, left, changed = found
    before = labels[top: top + changed.shape[0], left: left + changed.shape[1]].copy()
    after = before.copy()
    after[changed] = value
    return Edit(top, left, before, after, label)


def _changes(labels: np.ndarray, y0: int, x0: int, mask: np.ndarray, value: int, mode: Mode,
             selected: int | None) -> tuple[int, int, np.ndarray] | None:
    """The pixels a tool painting ``mask`` would change, ``(y0, x0, changed)`` cropped to their bounding
    box (a fill's box can be the whole map), or None when none would."""
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
    changed = mask & (old != value)
    if mode == "background":
        changed &= old == 0
    elif mode == "preserve":
        keep = 0 if selected is None else selected
        changed &= (old == 0) | (old == keep)
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed[rows[0]: rows[-1] + 1].any(axis=0))
    window = np.s_[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    return top + int(rows[0]), left + int(cols[0]), changed[window]


def _fill_edit(labels: np.ndarray, y0: int, x0: int, region: np.ndarray, value: int, mode: Mode,
               selected: int | None, label: str) -> RegionEdit | None:
    found = _changes(labels, y0, x0, region, value, mode, selected)
    return None if found is None else RegionEdit.of(labels, *found, value, label)


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
    """Fill the polygon (or lasso path, closed automatically) through ``points``: the pixels whose centres
    lie inside it (even-odd rule) or on its outline."""
    vertices = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(vertices) < 3:
        raise CcdstudioError("a polygon needs at least 3 points")
    if not np.all(np.isfinite(vertices)):
        raise CcdstudioError("a polygon's points must be finite")
    y0, x0 = np.floor(vertices.min(axis=0)).astype(int)
    y1, x1 = np.floor(vertices.max(axis=0)).astype(int) + 1
    local = vertices - (y0, x0)
    mask = _polygon_inside(local, (y1 - y0, x1 - x0)) | _polygon_outline(local, (y1 - y0, x1 - x0))
    return paint_mask(labels, int(y0), int(x0), mask, value, mode, selected, label)


_ON = 1e-9  # how near a pixel centre may be to the outline and still count as on it (float vertices)


def _polygon_inside(vertices: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixel centres inside the polygon by the even-odd rule, found row by row (a scanline fill)."""
    ya, xa = vertices[:, 0], vertices[:, 1]
    yb, xb = np.roll(ya, -1), np.roll(xa, -1)
    # An edge crosses row r when r lies in [min y, max y) of the edge: half-open so that a vertex on the row
    # is counted once; horizontal edges never cross (the outline pass paints them). Each edge yields only
    # the rows it spans, so a long lasso costs its height, not rows x edges.
    first_row = np.ceil(np.minimum(ya, yb)).astype(np.int64)
    counts = np.maximum(np.ceil(np.maximum(ya, yb)).astype(np.int64) - first_row, 0)
    edge = np.repeat(np.arange(len(ya)), counts)
    rows = first_row[edge] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    x = xa[edge] + (rows - ya[edge]) * (xb[edge] - xa[edge]) / (yb[edge] - ya[edge])
    order = np.lexsort((x, rows))
    rows, x = rows[order], x[order]
    # Every row holds an even number of crossings (the outline is closed): they pair up (entering,
    # leaving), and each pair covers the centres between them, ends included.
    row, start, end = rows[0::2], x[0::2], x[1::2]
    first = np.clip(np.ceil(start - _ON), 0, shape[1]).astype(np.int64)
    last = np.clip(np.floor(end + _ON) + 1, 0, shape[1]).astype(np.int64)
    mask = np.zeros(shape, bool)
    for r, a, b in zip(row.tolist(), first.tolist(), last.tolist()):  # one slice per run: few, and fast
        mask[r, a:b] = True
    return mask


def _polygon_outline(vertices: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixel centres on the polygon's edges, walked along each edge's longer axis (cost: its length)."""
    mask = np.zeros(shape, bool)
    for (ya, xa), (yb, xb) in zip(vertices, np.roll(vertices, -1, axis=0)):
        if abs(yb - ya) >= abs(xb - xa):
            major_a, major_b, minor_a, minor_b, flip = ya, yb, xa, xb, False
        else:
            major_a, major_b, minor_a, minor_b, flip = xa, xb, ya, yb, True
        low, high = min(major_a, major_b), max(major_a, major_b)
        major = np.arange(np.ceil(low - _ON), np.floor(high + _ON) + 1)
        if major_b == major_a:  # a single point
            minor = np.full(major.shape, minor_a)
        else:
            minor = minor_a + (major - major_a) * (minor_b - minor_a) / (major_b - major_a)
        on = np.abs(minor - np.round(minor)) <= _ON
        rows, cols = major[on].astype(np.int64), np.round(minor[on]).astype(np.int64)
        if flip:
            rows, cols = cols, rows
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        mask[rows[inside], cols[inside]] = True
    return mask


def _seed(labels: np.ndarray, point: Point) -> tuple[int, int]:
    row, col = round(point[0]), round(point[1])
    if not (0 <= row < labels.shape[0] and 0 <= col < labels.shape[1]):
        raise CcdstudioError(f"point {point} is outside the {labels.shape[0]} x {labels.shape[1]} label map")
    return row, col


def pick(labels: np.ndarray, point: Point) -> int:
    """The class under ``point`` (the picker)."""
    return int(labels[_seed(labels, point)])


def _connectivity(connectivity: int) -> int:
    if connectivity not in (4, 8):
        raise CcdstudioError(f"connectivity is 4 or 8, got {connectivity}")
    return connectivity


FLOOD_WINDOW = 512
"""Side of the first window a fill searches; it grows 4-fold while the region reaches its edge."""


def flood_region(data: np.ndarray, seed: tuple[int, int], connectivity: int = 4,
                 tolerance: float = 0) -> tuple[int, int, np.ndarray]:
    """The pixels connected to ``seed`` whose values lie within ``tolerance`` of the seed's (ends included):
    ``(y0, x0, mask)`` of their bounding box.

    OpenCV's scanline flood fill runs in a window around the seed that grows only while the region touches
    its edge, so a fill costs what its region costs, not what the map costs. A region found inside a window
    without touching the window's edge is complete: a path leaving the window would cross that edge. uint8
    data without a tolerance (label maps) is compared as is, anything else as float32 (NaN never belongs
    to a region).
    """
    import cv2

    data = np.asarray(data)
    height, width = data.shape
    row, col = seed
    half = FLOOD_WINDOW // 2
    kind = np.uint8 if data.dtype == np.uint8 and tolerance == 0 else np.float32
    as_is = data.dtype == kind and data.strides[1] == data.itemsize  # OpenCV takes strided rows: no copy
    flags = _connectivity(connectivity) | (1 << 8) | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE
    while True:
        y0, x0 = max(row - half, 0), max(col - half, 0)
        y1, x1 = min(row + half + 1, height), min(col + half + 1, width)
        window = data[y0:y1, x0:x1] if as_is else np.ascontiguousarray(data[y0:y1, x0:x1], kind)
        mask = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)  # OpenCV's mask has a 1-pixel border
        diff = (float(tolerance),) * 4
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(window, mask, (col - x0, row - y0), 0, diff, diff, flags)
        grows = ((ry == 0 and y0 > 0) or (rx == 0 and x0 > 0) or (ry + rh == y1 - y0 and y1 < height)
                 or (rx + rw == x1 - x0 and x1 < width))
        if not grows:
            return y0 + ry, x0 + rx, mask[1 + ry: 1 + ry + rh, 1 + rx: 1 + rx + rw].view(bool)
        # Grow 4-fold, or to the whole map once the window would cover a quarter of it.
        half = half * 4 if (8 * half) ** 2 < height * width // 4 else max(height, width)


def fill(labels: np.ndarray, point: Point, value: int, connectivity: int = 4, mode: Mode = "all",
         selected: int | None = None) -> RegionEdit | None:
    """Bucket fill: the region of the class under ``point``, ``connectivity`` 4 or 8, becomes ``value``."""
    y0, x0, region = flood_region(labels, _seed(labels, point), connectivity)
    return _fill_edit(labels, y0, x0, region, value, mode, selected, "fill")


def fill_similar(labels: np.ndarray, image: np.ndarray, point: Point, value: int, tolerance: float,
                 connectivity: int = 4, mode: Mode = "all", selected: int | None = None) -> RegionEdit | None:
    """Magic wand: paint the region connected to ``point`` whose image values lie within ``tolerance`` of
    the value at ``point`` (``image`` is aligned with ``labels``; compared as float32)."""
    if image.shape[:2] != labels.shape:
        raise CcdstudioError(f"image {image.shape} and labels {labels.shape} differ in shape")
    seed = _seed(labels, point)
    if not np.isfinite(image[seed]):
        raise CcdstudioError("the image has no value (NaN) at the fill's starting point")
    if tolerance < 0:
        raise CcdstudioError(f"the fill tolerance must not be negative, got {tolerance}")
    y0, x0, region = flood_region(image, seed, connectivity, tolerance)
    return _fill_edit(labels, y0, x0, region, value, mode, selected, "fill similar")
