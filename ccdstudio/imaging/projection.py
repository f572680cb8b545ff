"""Projections of a range of layers (maximum, mean, standard deviation), computed a block of rows at a time.

A segment's layers are far larger than memory together (30 layers of 10000 x 8000 uint16 are 4.8 GB), so
a projection never stacks them: it walks the image in blocks of rows and, within a block, reads one layer
at a time into running accumulators (the maximum, or float64 sums of values and squares). Memory is one
block of one layer plus two float64 blocks, whatever the number of layers.

The standard deviation is the sample one (divided by ``n - 1``), as Fiji's Z Project computes it; it is 0
for a single layer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.jobs import CancelToken, Job, Progress, check

Mode = Literal["max", "mean", "std"]
MODES: tuple[Mode, ...] = ("max", "mean", "std")

BLOCK_PIXELS = 4_000_000
"""Pixels per block (about 500 rows of an 8000-wide layer: 8 MB of uint16, 32 MB per float64 sum)."""


def _span(window: Window | None, shape: tuple[int, int]) -> tuple[range, range]:
    """The rows and columns a window selects, as ranges (steps kept)."""
    rows, cols = window if window is not None else (slice(None), slice(None))
    return range(shape[0])[rows], range(shape[1])[cols]


def project(source: ImageSource, planes: Sequence[int], mode: Mode = "max", window: Window | None = None,
            block_pixels: int = BLOCK_PIXELS, cancel: CancelToken | None = None) -> Job[np.ndarray]:
    """A job projecting ``planes`` of ``source`` along z; returns the projection.

    Parameters
    ----------
    planes
        The planes to project (e.g. a segment's layers ``first..last``), all of one shape.
    mode
        ``"max"`` (in the planes' dtype), ``"mean"`` or ``"std"`` (float32; sample deviation).
    window
        Rows and columns to project (steps allowed, e.g. a screen-sized preview); the whole plane when None.
    block_pixels
        Pixels of output computed per block.
    """
    if mode not in MODES:
        raise CcdstudioError(f"unknown projection {mode!r}; choose from {', '.join(MODES)}")
    planes = list(planes)
    if not planes:
        raise CcdstudioError("a projection needs at least one layer")
    shapes = {source.planes[p].shape for p in planes}
    if len(shapes) != 1:
        raise CcdstudioError(f"the layers to project differ in size: {sorted(shapes)}")
    rows, cols = _span(window, shapes.pop())
    if not rows or not cols:
        raise CcdstudioError("the window to project is empty")
    dtype = np.dtype(source.planes[planes[0]].dtype)
    out = np.empty((len(rows), len(cols)), dtype if mode == "max" else np.float32)
    block = max(1, block_pixels // len(cols))
    starts = range(0, len(rows), block)
    total = len(starts) * len(planes)
    for b, start in enumerate(starts):
        stop = min(start + block, len(rows))
        # The block's rows of the source: every rows.step-th from its first to its last row.
        read = (slice(rows[start], rows[stop - 1] + 1, rows.step), slice(cols.start, cols.stop, cols.step))
        acc = square = None
        for k, plane in enumerate(planes):
            check(cancel)
            values = source.read(plane, read)
            if mode == "max":
                acc = values.copy() if acc is None else np.maximum(acc, values, out=acc)
            else:
                values = values.astype(np.float64)
                acc = values if acc is None else np.add(acc, values, out=acc)
                if mode == "std":
                    square = values * values if square is None else np.add(square, values * values, out=square)
            done = b * len(planes) + k + 1
            yield Progress(done / total, f"{mode} projection: rows {start}-{stop - 1}, layer {k + 1}/{len(planes)}")
        out[start:stop] = _finish(mode, acc, square, len(planes))
    return out


def _finish(mode: Mode, acc: np.ndarray, square: np.ndarray | None, n: int) -> np.ndarray:
    if mode == "max":
        return acc
    if mode == "mean":
        return acc / n
    if n < 2:
        return np.zeros_like(acc)
    # (sum x² - (sum x)² / n) / (n - 1); float64 keeps this exact enough for 16-bit data and any n.
    variance = (square - acc * acc / n) / (n - 1)
    return np.sqrt(np.maximum(variance, 0))


def save_projection(path: str | os.PathLike[str], image: np.ndarray, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a projection: TIFF (ImageJ, ``metadata`` as Info lines), FITS (``metadata`` as cards), PNG or NPY.

    PNG holds only 8- and 16-bit integers, so a mean or standard deviation is rounded into uint16 there.
    """
    from ccdstudio.io.write import write_fits, write_png, write_tiff

    path = Path(path)
    name = path.name.lower()
    meta = dict(metadata or {})
    if name.endswith((".tif", ".tiff")):
        info = "\n".join(f"{k}={v}" for k, v in meta.items())
        write_tiff(path, image, {"Info": info} if info else None)
    elif name.endswith((".fits", ".fit", ".fts")):
        write_fits(path, image, {k[:8].upper(): v for k, v in meta.items()})
    elif name.endswith(".png"):
        if image.dtype not in (np.uint8, np.uint16):
            image = np.clip(np.rint(image), 0, 65535).astype(np.uint16)
        write_png(path, image)
    elif name.endswith(".npy"):
        from ccdstudio.io.atomic import writing

        with writing(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, image, allow_pickle=False)
    else:
        raise CcdstudioError(f"cannot tell the format of {path}: use .tif, .fits, .png or .npy")
    return path
