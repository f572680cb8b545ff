"""What the viewer draws, at screen resolution, from a lazy plane: overview, viewport renders, level sample.

A 10000 x 8000 layer is never held whole. When a plane is shown, :func:`prepare_plane` reads a strided
sample of its data section (for levels and the pedestal) and then an *overview*: the plane block-reduced to
about 2048 pixels on its long side, read in row bands. After each pan or zoom :func:`render_view` reads
only the visible window, reduced to about one data value per screen pixel; zoomed in far enough that is the
plane at full resolution.

Block reduction keeps, in each block, the value farthest from the pedestal (the block's max or its min).
A mean would dilute a single hot pixel 25-fold at 5x zoom-out and plain striding would skip it; with the
extreme value a one-pixel hit, a dead pixel or a one-pixel-wide trail stays visible at any zoom. NaN values
are ignored by the reduction (a block is NaN only when all of its pixels are).
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.jobs import CancelToken, Job, Progress, check, run

OVERVIEW_SIDE = 2048
"""Long side of a plane's overview, in pixels."""

BAND_BYTES = 8 << 20
"""Pixels are read in row bands of about this many bytes, so memory stays near what is displayed."""

REDUCERS = max(1, min(4, os.cpu_count() or 1))
"""Threads that block-reduce bands while the next band is read."""

SAMPLE_SIZE = 250_000
"""Pixels in the level sample of a plane."""

OUTLIER_SIGMA = 6.0
"""A block shows its extreme value when that lies this many noise sigmas from the pedestal."""

Rect = tuple[int, int, int, int]
"""``(x0, y0, x1, y1)``: columns ``x0:x1`` and rows ``y0:y1`` of a plane, 0-based, end excluded."""


@dataclass(frozen=True)
class Outliers:
    """Which values block reduction must keep: those more than ``significance`` from ``reference``."""

    reference: float
    significance: float = 0.0

    @classmethod
    def from_noise(cls, pedestal: float, noise: float) -> Outliers | None:
        """Outliers at :data:`OUTLIER_SIGMA` noise sigmas from the pedestal (None if it is not finite)."""
        if not np.isfinite(pedestal):
            return None
        return cls(float(pedestal), OUTLIER_SIGMA * float(noise) if np.isfinite(noise) else 0.0)


def block_reduce(array: np.ndarray, factor: int, outliers: Outliers | None = None) -> np.ndarray:
    """Reduce ``array`` by ``factor`` x ``factor`` blocks so that outliers survive.

    With ``outliers`` None each block keeps its maximum (masks, label maps). Otherwise a block keeps its
    value farthest from the reference (its max or its min) when that lies more than the significance away,
    and its first pixel when not (what plain subsampling shows, as DS9 does): a hot pixel, a dead pixel or a
    one-pixel track stays at full contrast, while noise keeps its true per-pixel amplitude instead of being
    exaggerated to its most extreme sample or smoothed by a mean. Partial blocks at the right and bottom
    edges use the pixels they have. NaN is ignored by the max and min (NaN only when a block is all NaN).
    """
    array = np.asarray(array)
    if array.ndim != 2:
        raise CcdstudioError(f"expected a 2-D array, got shape {array.shape}")
    if factor <= 1:
        return array.copy()
    high = _reduce(array, factor, np.fmax)
    if outliers is None:
        return high
    low = _reduce(array, factor, np.fmin)
    reference = outliers.reference
    # signed floats: uint16 differences would wrap; float32 is exact for 16-bit data, float64 otherwise
    exact = np.float32 if array.dtype.itemsize <= 2 or array.dtype == np.float32 else np.float64
    with np.errstate(invalid="ignore"):
        up = high.astype(exact)
        up -= reference
        down = low.astype(exact)
        np.subtract(reference, down, out=down)
        out = np.where(up >= down, high, low)
        np.maximum(up, down, out=up)
        quiet = up <= outliers.significance
    sample = array[::factor, ::factor]
    if sample.dtype.kind == "f":
        quiet &= np.isfinite(sample)
    np.copyto(out, sample, where=quiet)
    return out


def _reduce(array: np.ndarray, factor: int, ufunc: np.ufunc) -> np.ndarray:
    """Block-reduce rows then columns with ``ufunc``: one strided pass per offset, no padding."""
    rows = array[::factor].copy()
    for k in range(1, factor):
        part = array[k::factor]
        ufunc(rows[: len(part)], part, out=rows[: len(part)])
    out = np.ascontiguousarray(rows[:, ::factor])
    for k in range(1, factor):
        part = rows[:, k::factor]
        ufunc(out[:, : part.shape[1]], part, out=out[:, : part.shape[1]])
    return out


def overview_factor(shape: Sequence[int], side: int = OVERVIEW_SIDE) -> int:
    """The block size that brings ``shape``'s long side to at most ``side`` pixels."""
    return max(1, math.ceil(max(shape) / side))


def read_reduced(
    source: ImageSource,
    plane: int,
    rect: Rect,
    factor: int,
    outliers: Outliers | None = None,
    cancel: CancelToken | None = None,
) -> Job[np.ndarray]:
    """Read ``rect`` of ``plane`` in row bands, block-reducing each band by ``factor`` (a job).

    Bands are read one after another in the calling thread (readers need not be thread-safe) and reduced
    by a few worker threads meanwhile (numpy releases the GIL), with at most :data:`REDUCERS` + 1 bands in
    memory. ``rect`` should start on multiples of ``factor`` so blocks fall on the overview's grid.
    """
    x0, y0, x1, y1 = rect
    itemsize = np.dtype(source.planes[plane].dtype).itemsize
    band = max(factor, BAND_BYTES // max((x1 - x0) * itemsize, 1) // factor * factor)
    starts = range(y0, y1, band)
    if len(starts) == 1:  # one band (every viewport render): no thread hand-off
        check(cancel)
        return block_reduce(source.read(plane, (slice(y0, y1), slice(x0, x1))), factor, outliers)
    parts: list[np.ndarray] = []
    pending: deque[Future[np.ndarray]] = deque()
    with ThreadPoolExecutor(REDUCERS, thread_name_prefix="ccdstudio-reduce") as pool:
        try:
            for i, start in enumerate(starts):
                check(cancel)
                stop = min(start + band, y1)
                pixels = source.read(plane, (slice(start, stop), slice(x0, x1)))
                pending.append(pool.submit(block_reduce, pixels, factor, outliers))
                del pixels
                while len(pending) > REDUCERS:
                    parts.append(pending.popleft().result())
                yield Progress((i + 1) / len(starts), f"reading rows {start}–{stop}")
            parts.extend(future.result() for future in pending)
        finally:
            for future in pending:
                future.cancel()
    return np.concatenate(parts)


@dataclass(frozen=True)
class Overview:
    """A whole plane block-reduced by ``factor``; pixel ``[i, j]`` covers rows ``i*factor`` … of the plane."""

    image: np.ndarray
    factor: int
    shape: tuple[int, int]


@dataclass(frozen=True)
class PreparedPlane:
    """What showing a plane needs first: its overview and a level sample of its data section."""

    overview: Overview
    sample: np.ndarray
    pedestal: float
    noise: float

    @property
    def outliers(self) -> Outliers | None:
        """What block reduction of this plane keeps (see :func:`block_reduce`)."""
        return Outliers.from_noise(self.pedestal, self.noise)


def level_sample(
    source: ImageSource,
    plane: int,
    data_window: Window | None = None,
    exclude: Sequence[Window] = (),
    size: int = SAMPLE_SIZE,
) -> np.ndarray:
    """A strided sample of the finite pixels in ``data_window`` (the whole plane when None), float64.

    Pixels inside any ``exclude`` window (overscan, prescan, bias strips) are dropped.
    """
    height, width = source.planes[plane].shape
    rows = _bounds(data_window[0] if data_window else slice(None), height)
    cols = _bounds(data_window[1] if data_window else slice(None), width)
    area = max((rows[1] - rows[0]) * (cols[1] - cols[0]), 1)
    step = max(1, int(math.sqrt(area / size)))
    values = source.read(plane, (slice(rows[0], rows[1], step), slice(cols[0], cols[1], step)))
    keep = np.ones(values.shape, bool)
    ys = np.arange(rows[0], rows[1], step)[: values.shape[0]]
    xs = np.arange(cols[0], cols[1], step)[: values.shape[1]]
    for window in exclude:
        r0, r1 = _bounds(window[0], height)
        c0, c1 = _bounds(window[1], width)
        keep[np.ix_((ys >= r0) & (ys < r1), (xs >= c0) & (xs < c1))] = False
    sample = values[keep].astype(np.float64, copy=False)
    return sample[np.isfinite(sample)]


def prepare_plane(
    source: ImageSource,
    plane: int,
    data_window: Window | None = None,
    exclude: Sequence[Window] = (),
    cancel: CancelToken | None = None,
    side: int = OVERVIEW_SIDE,
) -> Job[PreparedPlane]:
    """Sample the data section for levels and pedestal, then build the plane's overview (a job)."""
    shape = tuple(source.planes[plane].shape)
    if len(shape) != 2 or min(shape) < 1:
        raise CcdstudioError(f"plane {source.planes[plane].name!r} has shape {shape}; only 2-D images can be shown")
    yield Progress(0.0, "sampling levels")
    sample = level_sample(source, plane, data_window, exclude)
    pedestal, noise = robust_pedestal(sample) if sample.size else (0.0, 0.0)
    factor = overview_factor(shape, side)
    outliers = Outliers.from_noise(pedestal, noise)
    job = read_reduced(source, plane, (0, 0, shape[1], shape[0]), factor, outliers, cancel)
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            image = stop.value
            break
        yield Progress(0.05 + 0.95 * (event.fraction or 0.0), f"overview: {event.message}")
    return PreparedPlane(Overview(image, factor, shape), sample, float(pedestal), float(noise))


@dataclass(frozen=True)
class Rendered:
    """A screen-resolution render of part of a plane: ``image`` covers ``rect`` with blocks of ``factor``."""

    image: np.ndarray
    rect: Rect
    factor: int


def view_factor(visible: tuple[float, float, float, float], screen: tuple[int, int]) -> int:
    """Plane pixels per screen pixel (at least 1) for a visible ``(x0, y0, x1, y1)`` on ``screen`` (w, h)."""
    x0, y0, x1, y1 = visible
    per_pixel = max((x1 - x0) / max(screen[0], 1), (y1 - y0) / max(screen[1], 1))
    # Rounded up: a buffer larger than the screen would be thinned by the toolkit, dropping single pixels.
    return max(1, math.ceil(per_pixel - 0.05))


def render_view(
    source: ImageSource,
    plane: int,
    overview: Overview,
    visible: tuple[float, float, float, float],
    screen: tuple[int, int],
    outliers: Outliers | None = None,
    margin: float = 0.25,
) -> Rendered:
    """Render the ``visible`` part of a plane (plus ``margin`` of its size on each side) for ``screen`` pixels.

    When the view is zoomed out at least as far as the overview, the render is cut from the overview (no
    read); otherwise only the visible window is read from ``source``. Its memory is about
    ``screen`` pixels times the factor squared, bounded by the row bands of :func:`read_reduced`.
    """
    height, width = overview.shape
    factor = view_factor(visible, screen)
    x0, y0, x1, y1 = visible
    pad_x, pad_y = (x1 - x0) * margin, (y1 - y0) * margin
    if factor >= overview.factor:
        # whole overview blocks, then a further reduction on the (in-memory) overview
        step = -(-factor // overview.factor)
        grid = step * overview.factor
        rect = _snap((x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y), grid, width, height)
        f = overview.factor
        crop = overview.image[rect[1] // f : -(-rect[3] // f), rect[0] // f : -(-rect[2] // f)]
        return Rendered(block_reduce(crop, step, outliers), rect, grid)
    rect = _snap((x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y), factor, width, height)
    return Rendered(run(read_reduced(source, plane, rect, factor, outliers)), rect, factor)


def _snap(box: tuple[float, float, float, float], grid: int, width: int, height: int) -> Rect:
    """Clip ``box`` to the plane and widen it to multiples of ``grid`` (the plane's far edge excepted)."""
    def edges(low: float, high: float, size: int) -> tuple[int, int]:
        last = (size - 1) // grid * grid  # a view beside the plane still renders its nearest blocks
        start = min(max(0, math.floor(low / grid) * grid), last)
        stop = min(size, max(math.ceil(high / grid) * grid, start + grid))
        return start, stop

    x0, x1 = edges(box[0], box[2], width)
    y0, y1 = edges(box[1], box[3], height)
    return x0, y0, x1, y1


def _bounds(part: slice, size: int) -> tuple[int, int]:
    start, stop, _ = part.indices(size)
    return start, max(start, stop)

