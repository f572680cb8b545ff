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
