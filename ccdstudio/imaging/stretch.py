"""Display levels and stretches, in numpy only (the Ginga way: the toolkit only gets a screen-sized buffer).

Cut levels (the data values shown as black and white) come from a *sample* of the data section, never from
the whole frame and never from overscan or bias strips, so a 100-megapixel frame gets its levels in
milliseconds and a bright overscan does not wash out the image. NaN and Inf are ignored when levels are
computed and marked with :data:`NONFINITE_INDEX` when an array is turned into display indices, so the
viewer can draw them in a colour of their own.

>>> levels = cut_levels(sample, "zscale")
>>> indices = to_display(visible_pixels, levels, "asinh")   # uint8, 0..254 data, 255 non-finite
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ccdstudio.errors import CcdstudioError

Levels = tuple[float, float]

STRETCHES = ("linear", "sqrt", "log", "asinh")
"""Stretch names, in the order a menu shows them."""

CUTS = ("zscale", "99.5%", "99%", "95%", "90%", "minmax", "manual")
"""Cut names: zscale (IRAF), central percentiles, full range, or levels set by hand."""

DISPLAY_LEVELS = 255
"""Data map to indices ``0 .. DISPLAY_LEVELS - 1``; the last index of a 256-entry table is for NaN/Inf."""

NONFINITE_INDEX = 255
"""The display index of NaN and ±Inf pixels."""

LOG_EXPONENT = 1000.0
"""DS9's log stretch: ``log10(a x + 1) / log10(a + 1)``."""

ASINH_SOFTENING = 10.0
"""``asinh(b x) / asinh(b)``: linear near the low cut, logarithmic above about ``1/b`` of the range."""


def finite_sample(values: np.ndarray, max_samples: int = 200_000) -> np.ndarray:
    """The finite values of ``values`` as float64, thinned on a regular grid to at most ``max_samples``."""
    flat = np.asarray(values).ravel()
    if flat.size > max_samples:
        flat = flat[:: -(-flat.size // max_samples)]
    flat = flat.astype(np.float64, copy=False)
    return flat[np.isfinite(flat)]


def minmax_levels(sample: np.ndarray) -> Levels:
    """The smallest and largest finite value."""
    values = finite_sample(sample, max_samples=np.iinfo(np.int64).max)
    if values.size == 0:
        return 0.0, 1.0
    return _widen(float(values.min()), float(values.max()))


def percentile_levels(sample: np.ndarray, percent: float) -> Levels:
    """Levels that keep the central ``percent`` of the finite values (99.5 clips 0.25 % at each end)."""
    if not 0 < percent <= 100:
        raise CcdstudioError(f"percentile cut must be in (0, 100], got {percent}")
    values = finite_sample(sample, max_samples=np.iinfo(np.int64).max)
    if values.size == 0:
        return 0.0, 1.0
    tail = (100.0 - percent) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return _widen(float(low), float(high))


def zscale_levels(
    sample: np.ndarray,
    contrast: float = 0.25,
    max_samples: int = 1000,
    max_reject: float = 0.5,
    min_pixels: int = 5,
    krej: float = 2.5,
    max_iterations: int = 5,
) -> Levels:
    """IRAF's zscale: fit a line to the sorted sample and widen its slope by ``1 / contrast``.

    The sorted values of a noisy flat frame lie on a straight line near the median; hot pixels and
    clusters bend its ends and are rejected iteratively (``krej`` sigma, each rejected point growing by 1 %
    of the sample on both sides). The levels are ``median ± slope / contrast`` times the distance to either
    end of the sorted sample, clipped to the data range. With too few good points left the data range is
    returned, as IRAF does.
    """
    values = np.sort(finite_sample(sample, max_samples))
    n = values.size
    if n == 0:
        return 0.0, 1.0
    zmin, zmax = float(values[0]), float(values[-1])
    centre = (n - 1) // 2  # IRAF's 1-based centre (n + 1) / 2, made 0-based
    median = float(values[centre]) if n % 2 else 0.5 * float(values[centre] + values[centre + 1])
    min_good = max(min_pixels, int(n * max_reject))
    if n < min_good:
        return _widen(zmin, zmax)
    # x runs over [-1, 1] as in IRAF, which keeps the fit well conditioned
    x = np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
    grow = max(1, int(n * 0.01))
    good = np.ones(n, bool)
    slope = intercept = 0.0
    for _ in range(max_iterations):
        n_good = int(good.sum())
        if n_good < min_good:
            break
        slope, intercept = np.polyfit(x[good], values[good], 1) if n > 1 else (0.0, values[0])
        residual = values - (intercept + slope * x)
        sigma = float(residual[good].std())
        bad = ~good | (np.abs(residual) > krej * sigma)  # once rejected, a point stays rejected
        # grow each rejected point over its neighbours, like IRAF's ngrow
        bad = np.convolve(bad.astype(np.int32), np.ones(2 * grow + 1, np.int32), mode="same") > 0
        new_good = ~bad
        if int(new_good.sum()) >= n_good:
            break
        good = new_good
    if int(good.sum()) < min_good:
        return _widen(zmin, zmax)
    per_index = slope * (2.0 / max(n - 1, 1))  # back from x in [-1, 1] to sample index
    if contrast > 0:
        per_index /= contrast
    low = max(zmin, median - centre * per_index)
    high = min(zmax, median + (n - 1 - centre) * per_index)
    return _widen(low, high)


def cut_levels(sample: np.ndarray, cut: str, manual: Levels | None = None) -> Levels:
    """Levels for the cut named ``cut`` (one of :data:`CUTS`); ``manual`` is returned for ``"manual"``."""
    if cut == "zscale":
        return zscale_levels(sample)
    if cut == "minmax":
        return minmax_levels(sample)
    if cut.endswith("%"):
        return percentile_levels(sample, float(cut[:-1]))
    if cut == "manual":
        if manual is None:
            raise CcdstudioError("manual cut needs levels")
        return _widen(float(manual[0]), float(manual[1]))
    raise CcdstudioError(f"unknown cut {cut!r}; choose from {', '.join(CUTS)}")


def stretch_unit(t: np.ndarray, stretch: str) -> np.ndarray:
    """Apply ``stretch`` to values already scaled to [0, 1] (in place when ``t`` is a float array)."""
    if stretch == "linear":
        return t
    if stretch == "sqrt":
        return np.sqrt(t, out=t)
    if stretch == "log":
        t *= LOG_EXPONENT
        t += 1.0
        np.log10(t, out=t)
        t /= np.log10(LOG_EXPONENT + 1.0)
        return t
    if stretch == "asinh":
        t *= ASINH_SOFTENING
        np.arcsinh(t, out=t)
        t /= np.arcsinh(ASINH_SOFTENING)
        return t
    raise CcdstudioError(f"unknown stretch {stretch!r}; choose from {', '.join(STRETCHES)}")


def to_display(array: np.ndarray, levels: Levels, stretch: str = "linear") -> np.ndarray:
    """Map ``array`` to uint8 display indices: ``levels`` to 0 .. 254 through ``stretch``, NaN/Inf to 255.

    Values outside the levels saturate. Meant for screen-sized buffers (a few megapixels).
    """
    low, high = _widen(float(levels[0]), float(levels[1]))
    t = np.asarray(array, dtype=np.float32)
    t = t - np.float32(low)  # a new array: the caller's buffer is never modified
    t *= np.float32(1.0 / (high - low))
    nonfinite = ~np.isfinite(t)
    t[nonfinite] = 0.0
    np.clip(t, 0.0, 1.0, out=t)
    t = stretch_unit(t, stretch)
    t *= DISPLAY_LEVELS - 1
    t += 0.5
    out = t.astype(np.uint8)
    out[nonfinite] = NONFINITE_INDEX
    return out


def _widen(low: float, high: float) -> Levels:
    """Levels with ``low < high`` (a flat frame gets a range of one unit around its value)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return 0.0, 1.0
    if high < low:
        low, high = high, low
    if high == low:
        return low - 0.5, high + 0.5
    return low, high


@dataclass(frozen=True)
class Calibration:
    """How raw values are shown: as read (ADU for a CCD frame), or electrons ``(ADU - pedestal) / gain``.

    ``gain`` is in ADU per electron (a skipper CCD's single-electron peak spacing); None shows values as read,
    in ``raw_unit`` ("" for images whose values have no unit to name, a CT scan's say).
    """

    pedestal: float = 0.0
    gain: float | None = None
    raw_unit: str = "ADU"

    @property
    def unit(self) -> str:
        return "e-" if self.gain else self.raw_unit

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Values in this calibration's unit (float32 for arrays; the input is not modified)."""
        if not self.gain:
            return np.asarray(values)
        return (np.asarray(values, dtype=np.float32) - np.float32(self.pedestal)) / np.float32(self.gain)

    def apply_scalar(self, value: float) -> float:
        return (value - self.pedestal) / self.gain if self.gain else value

    def levels(self, raw_levels: Sequence[float]) -> Levels:
        """Raw-unit levels in this calibration's unit."""
        return self.apply_scalar(float(raw_levels[0])), self.apply_scalar(float(raw_levels[1]))


def electron_levels(sample_electrons: np.ndarray, max_electrons: int = 9) -> Levels:
    """Levels for a skipper frame in electrons: one display band per electron, centred on the integers.

    Runs from -0.5 to the 99.9th percentile rounded up (at least 1, at most ``max_electrons``) + 0.5, so
    with a discrete colour table 0, 1, 2 … electrons each get one colour.
    """
    values = finite_sample(sample_electrons)
    top = float(np.percentile(values, 99.9)) if values.size else 1.0
    n = int(np.clip(np.ceil(top), 1, max_electrons))
    return -0.5, n + 0.5
