"""Robust pedestal and read-noise estimates for CCD frames (median and MAD, NaN-safe)."""

from __future__ import annotations

import warnings

import numpy as np

MAD_TO_SIGMA = 1.4826
"""MAD of a Gaussian times this is its standard deviation."""
CLIPPED_STD = 0.9866
"""Standard deviation of a unit Gaussian cut at +-3 sigma."""


def _sample(values: np.ndarray, max_samples: int) -> np.ndarray:
    flat = np.asarray(values).ravel()
    if flat.size > max_samples:
        flat = flat[:: flat.size // max_samples + 1]
    flat = flat.astype(np.float64, copy=False)
    return flat[np.isfinite(flat)]


def nanmedian(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``np.nanmedian`` along ``axis`` (NaN where no value is finite, without a warning) by one sort: numpy's
    goes through masked arrays for short lines and is some 20 times slower on many of them."""
    ordered = np.sort(np.moveaxis(np.asarray(values), axis, -1), axis=-1)  # NaN sorts last
    count = np.count_nonzero(~np.isnan(ordered), axis=-1)[..., None]
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis=-1)
    high = np.take_along_axis(ordered, count // 2, axis=-1)
    median = np.where(count > 0, (low + high) / 2, np.nan).astype(ordered.dtype, copy=False)
    return np.moveaxis(median, -1, axis) if keepdims else median[..., 0]


def robust_pedestal(values: np.ndarray, max_samples: int = 2_000_000) -> tuple[float, float]:
    """Return ``(pedestal, sigma)``: the median and the MAD-based noise of the finite values.

    Clusters and hot pixels barely move either figure. Large arrays are sampled on a regular grid.
    Returns ``(nan, nan)`` when no value is finite.
    """
    sample = _sample(values, max_samples)
    if sample.size == 0:
        return float("nan"), float("nan")
    median = float(np.median(sample))
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(sample - median)))
    return median, sigma


def robust_pedestal_lines(image: np.ndarray, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (``axis=1``) or per-column (``axis=0``) medians and MAD noise, following pedestal drift."""
    data = np.asarray(image, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(data, axis=axis, keepdims=True)
        sigma = MAD_TO_SIGMA * np.nanmedian(np.abs(data - median), axis=axis)
    return np.squeeze(median, axis=axis), sigma
