"""A threshold as the dock describes it, and the masks it selects: exact on the full image, approximate on
the screen-resolution window the preview shows.

Three kinds of rule, all selecting ``low <= value <= high`` in the end:

- ``manual``: a range in data units.
- ``auto``: one of Fiji's methods (:func:`ccdstudio.imaging.threshold.auto_threshold`) on the whole plane.
- ``pedestal``: pixels ``k`` units above a robust pedestal (per image, row or column), units being the
  noise sigma, ADU, or electrons given a gain; with ``k_low`` a two-level (hysteresis) threshold grows
  seeds ``>= k`` into connected pixels ``>= k_low``. This is :func:`~ccdstudio.imaging.threshold.sigma_threshold`
  generalised to ADU and electron levels.

Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.threshold import Lines, hysteresis, threshold_range

Method = Literal["manual", "auto", "pedestal"]
Unit = Literal["sigma", "adu", "electrons"]
UNIT_NAMES: dict[str, str] = {"sigma": "σ", "adu": "ADU", "electrons": "e⁻"}


@dataclass(frozen=True)
class ThresholdRule:
    """What the threshold dock is set to."""

    method: Method = "pedestal"
    low: float = 0.0
    high: float | None = None
    """``manual``: the inclusive range in data units (no upper end when None)."""
    auto_method: str = "Default"
    dark_background: bool = True
    """``auto``: objects brighter than the background (else darker)."""
    k: float = 5.0
    k_low: float | None = None
    unit: Unit = "sigma"
    lines: Lines | None = None
    gain: float | None = None
    """``pedestal``: seed and growing levels above the pedestal, their unit, pedestal per row/column, and
    the gain in ADU per electron (needed for electrons)."""
    connectivity: int = 8

    def validate(self) -> None:
        """Raise :class:`CcdstudioError` for a rule that selects nothing by construction."""
        if self.method == "manual" and self.high is not None and self.high < self.low:
            raise CcdstudioError(f"the threshold range {self.low:g} to {self.high:g} ends before it starts")
        if self.method == "pedestal":
            if self.k_low is not None and self.k_low > self.k:
                raise CcdstudioError(f"the growing level ({self.k_low:g}) must not exceed the seed level ({self.k:g})")
            if self.unit == "electrons" and not (self.gain and self.gain > 0):
                raise CcdstudioError("a level in electrons needs the gain (ADU per electron): set it in the CCD panel")

    def describe(self) -> str:
        """One line for undo entries and the status bar."""
        if self.method == "manual":
            return f"threshold {self.low:g}" + ("" if self.high is None else f" to {self.high:g}")
        if self.method == "auto":
            return f"{self.auto_method} threshold ({'dark' if self.dark_background else 'light'} background)"
        unit = UNIT_NAMES[self.unit]
        levels = f"{self.k:g}" + ("" if self.k_low is None else f"/{self.k_low:g}")
        where = "" if self.lines is None else f" per {self.lines[:-1]}"
        return f"{levels} {unit} above pedestal{where}"


@dataclass(frozen=True)
class Background:
    """Robust pedestal and noise (ADU), scalars or arrays broadcasting against the image (``(h, 1)`` per
    row, ``(1, w)`` per column)."""

    pedestal: np.ndarray
    sigma: np.ndarray


def score_scale(rule: ThresholdRule, background: Background) -> np.ndarray:
    """What one unit of ``rule.k`` is in ADU: the noise sigma, 1 ADU, or the gain."""
    if rule.unit == "sigma":
        return np.where(background.sigma > 0, background.sigma, np.inf)
    if rule.unit == "adu":
        return np.float64(1.0)
    return np.float64(rule.gain)


def score(values: np.ndarray, rule: ThresholdRule, background: Background) -> np.ndarray:
    """``(values - pedestal) / unit`` as float32: how far above the pedestal each pixel is, in rule units.

    ``background`` must broadcast against ``values`` (crop it to the same window first).
    """
    with np.errstate(invalid="ignore"):
        return ((values - background.pedestal) / score_scale(rule, background)).astype(np.float32, copy=False)


def crop_background(background: Background, rows: slice, cols: slice) -> Background:
    """The part of a per-row/column background that a window ``[rows, cols]`` needs."""
    def crop(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim < 2:
            return a
        return a[rows if a.shape[0] > 1 else slice(None), cols if a.shape[1] > 1 else slice(None)]
    return Background(crop(background.pedestal), crop(background.sigma))


def pedestal_mask(scores: np.ndarray, rule: ThresholdRule) -> np.ndarray:
    """Seeds ``>= k``, grown into connected pixels ``>= k_low`` when there is a second level."""
    with np.errstate(invalid="ignore"):
        seeds = scores >= rule.k
        if rule.k_low is None:
            return seeds
        return hysteresis(seeds, scores >= rule.k_low, rule.connectivity)


def range_mask(values: np.ndarray, limits: tuple[float, float | None]) -> np.ndarray:
    """``low <= value <= high`` (NaN never in)."""
    with np.errstate(invalid="ignore"):
        return threshold_range(values, limits[0], limits[1])


@dataclass(frozen=True)
class ScreenData:
    """The visible part of a plane at screen resolution, for the preview: the block maximum and minimum of
    the thresholded quantity (data values, or rule scores for pedestal rules).

    ``high[i, j]`` covers plane rows ``y0 + i * factor ...`` and columns ``x0 + j * factor ...``; with
    ``factor`` 1 both arrays are the data itself and the preview is exact.
    """

    high: np.ndarray
    low: np.ndarray
    rect: tuple[int, int, int, int]
    factor: int
    key: tuple

    def preview(self, rule: ThresholdRule, limits: tuple[float, float | None] | None) -> np.ndarray:
        """The preview mask (bool, screen resolution): a block is on when some pixel of it may be selected.

        A one-sided threshold is exact per block (its maximum passes); a two-sided range is shown where the
        block's maximum reaches the low end and its minimum the high end. Pedestal rules use ``limits``
        None and the scores in ``high``.
        """
        if limits is None:
            return pedestal_mask(self.high, rule)
        with np.errstate(invalid="ignore"):
            mask = self.high >= limits[0]
            if limits[1] is not None:
                mask &= self.low <= limits[1]
        return mask
