"""Value statistics of a plane, streamed over row blocks so a plane larger than memory can be measured.

Minimum, maximum, mean and the finite/NaN/Inf counts are exact; the median and the robust sigma (MAD) come
from a regular grid of at most ``max_samples`` pixels, which changes them by far less than the noise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.io.ccd import data_window
from ccdstudio.io.source import ImageSource, Window

BLOCK_BYTES = 32 * 2**20
"""Rows are read in blocks of about this size."""


def _format_window(window: Window) -> str:
    """A 0-based window as the 1-based inclusive FITS section users know."""
    rows, cols = window
    return f"[{cols.start + 1}:{cols.stop},{rows.start + 1}:{rows.stop}]"


def plane_stats(source: ImageSource, plane: int = 0, exclude_bias: bool = True,
                max_samples: int = 4_000_000) -> dict[str, Any]:
    """Statistics of one plane's values.

    Parameters
    ----------
    source, plane
        What to measure.
    exclude_bias
        Measure only the data section (DATASEC) when the plane's header has one, leaving out the prescan and
        overscan, whose pedestal would bias every figure.
    max_samples
        Most pixels the median and sigma are computed from.

    Returns
    -------
    dict
        ``min``, ``max``, ``mean``, ``median``, ``sigma`` (MAD-based) over the finite values (NaN when there
        is none), the counts ``finite``, ``nan``, ``inf``, ``pixels``, the measured ``section`` (1-based, FITS
        style), and ``sampled`` (whether the median and sigma come from a subset).
    """
    info = source.planes[plane]
    height, width = info.shape
    window = data_window(info.header) if exclude_bias else None
    rows, cols = window or (slice(0, height), slice(0, width))
    n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
    pixels = n_rows * n_cols
    stride = max(1, math.ceil(math.sqrt(pixels / max_samples))) if max_samples > 0 else 1
    block = max(stride, BLOCK_BYTES // max(1, n_cols * info.dtype.itemsize) // stride * stride)
    low, high, total, finite, nan, inf = math.inf, -math.inf, 0.0, 0, 0, 0
    samples = []
    for start in range(rows.start, rows.stop, block):
        data = source.read(plane, (slice(start, min(start + block, rows.stop)), cols))
        if np.issubdtype(data.dtype, np.floating):
            good, is_nan = np.isfinite(data), np.isnan(data)
            nan += int(is_nan.sum())
            inf += int(data.size - good.sum() - is_nan.sum())
            values = data if good.all() else data[good]
        else:
            values = data
        finite += int(values.size)
        if values.size:
            low, high = min(low, values.min().item()), max(high, values.max().item())
            total += float(values.sum(dtype=np.float64))
        # Block starts are multiples of the stride from rows.start, so the grid is regular across blocks.
        samples.append(data[::stride, ::stride].ravel())
    median, sigma = robust_pedestal(np.concatenate(samples) if samples else np.empty(0), max_samples=2**62)
    return {
        "min": low if finite else math.nan,
        "max": high if finite else math.nan,
        "mean": total / finite if finite else math.nan,
        "median": median,
        "sigma": sigma,
        "finite": finite,
        "nan": nan,
        "inf": inf,
        "pixels": pixels,
        "section": _format_window((rows, cols)),
        "sampled": stride > 1,
    }
