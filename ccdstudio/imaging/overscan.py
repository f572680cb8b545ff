"""The level a CCD plane reads without charge, measured in its overscans.

Pixels read past the end of a row (the serial overscan, ``BIASSEC``) collect no charge: they show the
pedestal of each row, with its slow drift, and the bare read noise, however much of the frame glows. Empty
rows read after the last one (the parallel overscan, beyond ``DATASEC``'s rows) show what the serial
overscan cannot: how the pedestal changes along a row, column by column, where the readout electronics
drift while a row is read.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ccdstudio.imaging.noise import CLIPPED_STD, MAD_TO_SIGMA
from ccdstudio.io.ccd import parallel_overscan, serial_overscan
from ccdstudio.io.source import ImageSource, Window

SMOOTHING = 9
"""Rows (columns) over which the levels are median-filtered, then averaged: the pedestal drifts slowly, and
a saturated trail into one row does not move it."""


@dataclass(frozen=True)
class PlanePedestal:
    """A plane's pedestal, ``rows[y] + columns[x]`` (``columns`` None without a parallel overscan), and its
    read noise, in ADU."""

    rows: np.ndarray
    noise: float
    columns: np.ndarray | None = None

    def level(self, window: Window) -> np.ndarray:
        """The pedestal over ``window`` of the plane, ``(h, w)`` float32 (``(h, 1)`` without columns)."""
        level = self.rows[window[0], None]
        return level if self.columns is None else level + self.columns[None, window[1]]


def plane_pedestal(source: ImageSource, plane: int) -> PlanePedestal | None:
    """The pedestal and noise of ``source``'s ``plane`` from its overscans (the serial overscan's columns
    read over every row, whatever rows BIASSEC names); None without a usable serial overscan."""
    header = source.planes[plane].header
    height, width = source.planes[plane].shape
    serial = serial_overscan(header)
    if serial is not None:  # its columns over every row: the corner beside a parallel overscan reads no charge
        serial = (slice(0, height), serial[1])
    found = None if serial is None else row_pedestal(source.read(plane, serial), serial[0], height)
    if found is None:
        return None
    rows, noise = found
    parallel = parallel_overscan(header)
    columns = None
    if parallel is not None:
        values = source.read(plane, (parallel[0], slice(0, width)))
        # Relative to the row levels, which the serial overscan's columns measured.
        columns = column_pedestal(np.asarray(values, np.float64) - rows[parallel[0], None], noise)
    return PlanePedestal(rows, noise, columns)


def row_pedestal(overscan: np.ndarray, rows: slice, height: int) -> tuple[np.ndarray, float] | None:
    """``(pedestal per row, noise)`` from a serial ``overscan`` that covers plane ``rows`` of ``height``.

    The noise is the clipped standard deviation of the pixels about their row's and column's medians (the
    pedestal drifts along a row, in the overscan too). Each row's pedestal is the mean of its pixels within
    3 sigma of those (a median of integer ADU would be off by up to half an ADU), smoothed over
    :data:`SMOOTHING` rows; rows the overscan does not cover take the nearest covered row's. None when the
    overscan is unusable (fewer than 4 columns, or no finite pixels).
    """
    values = np.asarray(overscan, np.float64)
    found = _clipped_means(values) if values.ndim == 2 and values.shape[1] >= 4 else None
    if found is None:
        return None
    means, noise = found
    smooth = _smooth(means)
    start = min(rows.start or 0, height)
    profile = np.empty(height, np.float32)
    profile[start: start + smooth.size] = smooth[: height - start]
    profile[:start] = smooth[0]
    profile[start + smooth.size:] = smooth[-1]
    return profile, noise


def column_pedestal(parallel: np.ndarray, noise: float) -> np.ndarray | None:
    """The pedestal of each column (float32) from parallel overscan rows with their row levels taken out:
    clipped means over the rows, smoothed over :data:`SMOOTHING` columns. None with fewer than 4 rows."""
    values = np.asarray(parallel, np.float64)
    if values.ndim != 2 or values.shape[0] < 4:
        return None
    found = _clipped_means(values.T, noise)
    if found is None:
        return None
    return _smooth(found[0]).astype(np.float32)


def _smooth(levels: np.ndarray) -> np.ndarray:
    """A median filter, then a mean, over :data:`SMOOTHING` samples."""
    size = min(SMOOTHING, levels.size)
    return ndimage.uniform_filter1d(ndimage.median_filter(levels, size, mode="nearest"), size, mode="nearest")


def _clipped_means(values: np.ndarray, noise: float | None = None) -> tuple[np.ndarray, float] | None:
    """Per row of ``values``: the mean of the pixels within 3 sigma of their row's and column's medians (rows
    without finite pixels take their neighbours'), and sigma: ``noise``, else the clipped standard deviation
    about those medians."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(values, axis=1)
    usable = np.isfinite(medians)
    if not usable.any():
        return None
    medians = np.interp(np.arange(medians.size), np.flatnonzero(usable), medians[usable])
    deviations = values - medians[:, None]
    with warnings.catch_warnings():  # about each row's and each column's level: the pedestal drifts along rows
        warnings.simplefilter("ignore", RuntimeWarning)
        residuals = deviations - np.nanmedian(deviations, axis=0)
    if noise is None:
        finite = residuals[np.isfinite(residuals)]
        noise = MAD_TO_SIGMA * float(np.median(np.abs(finite)))
        for _ in range(2):
            inside = finite[np.abs(finite) <= 3.0 * max(noise, 0.5)]
            noise = float(np.sqrt(np.mean(inside**2))) / CLIPPED_STD
        noise = noise if noise > 0 else 1.0
    inside = np.abs(residuals) <= 3.0 * max(noise, 0.5)  # NaN compares False
    means = medians + np.where(inside, deviations, 0.0).sum(1) / np.maximum(inside.sum(1), 1)
    return means, noise
