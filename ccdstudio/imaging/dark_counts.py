"""Objects no brighter than dark charge makes by chance, on frames that count electrons.

A skipper readout of many samples brings the read noise below a fifth of an electron (DAMIC-M and SENSEI
read 0.15-0.2 e-, down to 0.02 e- with more samples): pixel values then fall into peaks at whole electrons,
and dark charge or glow puts one, two or a few electrons into single pixels all over the frame, each of
them 5 to 50 read noises bright. Such a pixel looks exactly like
the smallest cluster; the truth convention calls it background, and so does a skipper analysis, which
counts dark electrons and looks for more charge than they give.

:func:`electron_lattice` finds the peaks, measuring each pixel against its neighbours along the row (the
pedestal drifts by many read noises on such frames, over a few pixels by little) and the peaks' width from
the data (a frame's noise scale, measured where it is darkest, is often several read noises there).
:func:`block_electrons` and :func:`dark_rates` measure the dark charge (with the glow) block by block;
:func:`dark_like` then tells which objects hold no more electrons than that dark charge puts into as many
pixels, by chance, at least once among all of the frame's pixels (Poisson). With 0.01 electrons a pixel on a
megapixel frame, a single pixel of 1 or 2 electrons is dark charge, one of 3 is not; where a glow brings 0.5,
a pixel needs 8.

On the first 12 simulated raw 1024 x 1024 frames of seeds 8000-8999 whose electron is worth 8 read noises or
more (``ccdstudio bench ccd_model``) the bundled network's cluster objects were 11.6 % real, and 97.0 % after
this step, with 98.1 % of the clusters above 3 sigma found instead of 98.4 %. Of the first 12 whose
electron is worth 4.5-8 read noises it recognises 6 (their cluster objects 35-89 % real before, 97-100 %
after), not those below 5.1 read noises with little dark charge, where the peak of one electron hardly
rises above the tail of the read noise, nor one of 6.3 whose glow puts several electrons into most pixels:
41.2 % real before, 45.5 % after. Of the random raw 768 x 768 frames of seeds 8000-8999 it takes for ones that
count electrons all 34 whose electron is worth 8 read noises or more (the differences of neighbouring
pixels it looked at before: 23), 10 of the 17 worth 5-8 (before: none), and none of the 944 worth less
than 4.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from ccdstudio.imaging.blocks import padded_blocks
from ccdstudio.imaging.morphology import dilate

MIN_STEP = 4.5
"""Read noises between the peaks at whole electrons from which a frame counts electrons (closer peaks merge,
and single electrons no longer stand out as clusters)."""
NEIGHBOURS = 4
"""Pixels on each side along the row whose second lowest is a pixel's level of no electron when the peaks are
looked for: it follows the pedestal's drift and ignores up to six electrons among the eight."""
BASELINE_SPREAD = 1.113
"""The spread of a pixel less the second lowest of eight others, in read noises (unit Gaussian draws)."""
CLIP = 2.5
"""Widths of the central peak (no electron) within which its width is measured."""
MIN_PEAK = 50
"""Pixels one electron up (within a core width of the peak's top) needed to measure the step."""
DIP = 1.5
"""How many times as many pixels the peak of one electron holds as the dip between it and no electron."""
SIGNIFICANCE = 10.0
"""Poisson standard deviations by which that peak must rise above the dip."""
PEAK_WIDTH = (0.4, 0.7)
"""Bounds of the spread of the values within one core width of the peak's top, in core widths: a peak of
read noise, as wide as the one of no electron, has 0.54 (a Gaussian's spread within one sigma)."""
BIN = 0.25
"""Histogram bins, in core widths."""
RUN = 15
"""Pixels along a row whose lowest gives the level of no electron (:func:`electron_counts`)."""
LOWEST = 1.74
"""How far the lowest of :data:`RUN` unit Gaussian draws lies below their mean, on average."""
BRIGHT = 10
"""Electrons in a pixel from which it and its neighbours are left out of the dark charge: a cluster's core
(dark charge of an electron a pixel puts 10 into one pixel in ten million)."""
BLOCK = 64
"""Side of the blocks in which the dark charge is measured."""


@dataclass(frozen=True)
class Lattice:
    """The peaks at whole electrons of a frame's values: their spacing and the read noise, in its units."""

    step: float
    noise: float


def electron_lattice(z: np.ndarray) -> Lattice | None:
    """The peaks at whole electrons in ``z`` (a 2-D frame in any units, whole rows or runs of neighbouring
    pixels along them); None when the frame does not count electrons.

    Each pixel is measured against the second lowest of its :data:`NEIGHBOURS` neighbours on either side,
    which follows the pedestal's drift; the width of the peak of no electron is measured, not assumed, so the
    frame's scale need not be its read noise. The first peak beyond it must rise above the dip between them,
    be as wide and lie at least :data:`MIN_STEP` read noises away; columns whose pixels stand out far more
    often than their neighbours' (hot column segments, a peak of their own) are left out."""
    z = np.asarray(z, np.float32)
    footprint = np.ones((1, 2 * NEIGHBOURS + 1), bool)
    footprint[0, NEIGHBOURS] = False
    level = ndimage.rank_filter(np.where(np.isfinite(z), z, np.inf), 1, footprint=footprint, mode="nearest")
    residuals = z - level
    finite = np.isfinite(residuals)
    if np.count_nonzero(finite) < 1000:
        return None
    centre, width, empty = _central_peak(residuals[finite])
    if width <= 0:  # no noise at all
        return None
    units = (residuals - centre) / np.float32(width)
    bright = np.count_nonzero(units > 3.0, axis=0)
    lines = bright > 2 * ndimage.median_filter(bright, 7, mode="nearest") + 5
    units = units[:, ~lines]
    units = units[np.isfinite(units) & (units > 0)]
    edges = np.arange(0.0, min(float(units.max(initial=0.0)), 300.0) + BIN, BIN)
    if edges.size < 4:
        return None
    counts = np.histogram(units, edges)[0]
    centres = edges[:-1] + BIN / 2
    windows = np.convolve(counts, np.ones(int(1.25 / BIN)), "same")
    dip = np.minimum.accumulate(windows)
    beyond = np.flatnonzero(centres >= 2.5)
    if beyond.size == 0:
        return None
    top = beyond[np.argmax((windows - dip)[beyond])]
    peak, low = windows[top], dip[top]
    near = units[np.abs(units - centres[top]) < 1.0]
    spread = float(near.std()) if near.size > 1 else 0.0
    step = _first_peak(centres, counts - empty * BIN * _gaussian(centres), centres[top]) * width
    noise = width / BASELINE_SPREAD
    if (step < MIN_STEP * noise or peak < MIN_PEAK or peak < DIP * low
            or peak - low < SIGNIFICANCE * np.sqrt(peak + low) or not PEAK_WIDTH[0] <= spread <= PEAK_WIDTH[1]):
        return None
    return Lattice(float(step), float(noise))


def _central_peak(values: np.ndarray) -> tuple[float, float, float]:
    """``(centre, width, pixels)`` of the peak of ``values`` around their median: a clipped mean and
    standard deviation grown from the smallest width the values resolve (their quantum) to the first that
    holds, so a peak at one electron, however large, is not taken in; ``pixels`` as a whole Gaussian."""
    centre = float(np.median(values))
    distinct = np.unique(values[:: max(1, values.size // 200_000)])
    gaps = np.diff(distinct)
    gaps = gaps[gaps > 1e-6 * (distinct[-1] - distinct[0])]
    quantum = float(gaps.min()) if gaps.size else 0.0
    width = max(1e-3 * float(np.percentile(np.abs(values - centre), 90)), quantum, 1e-12)
    inside = 2 * special.ndtr(CLIP) - 1
    truncated = float(np.sqrt(1 - 2 * CLIP * _gaussian(CLIP) / inside))  # the standard deviation within the clip
    for _ in range(100):
        near = values[np.abs(values - centre) < CLIP * width]
        if near.size < 100:
            width *= 1.5
            continue
        grown = max(float(near.std()) / truncated, quantum)
        centre = float(near.mean())
        if abs(grown - width) <= 0.002 * width:
            return centre, grown, near.size / inside
        width = grown
    return centre, width, values.size


def _first_peak(centres: np.ndarray, excess: np.ndarray, guess: float) -> float:
    """Where a Gaussian of unit width best fits ``excess`` (counts above the central peak's Gaussian tail, at
    ``centres``) between 1.5 and ``guess`` + 2.5, its top within 1.5 of ``guess``."""
    fit = (centres > 1.5) & (centres < guess + 2.5)
    x, y = centres[fit], excess[fit]
    tops = np.arange(guess - 1.5, guess + 1.5, 0.02)
    shapes = _gaussian(x[None, :] - tops[:, None])
    scale = np.maximum((shapes @ y) / (shapes * shapes).sum(axis=1), 0.0)
    return float(tops[np.argmin(((y[None, :] - scale[:, None] * shapes) ** 2).sum(axis=1))])


def _gaussian(x: np.ndarray | float) -> np.ndarray:
    """The standard normal density (importing scipy.stats would take most of a second of every prediction)."""
    return np.exp(-0.5 * np.square(x)) / np.sqrt(2 * np.pi)


def electron_counts(z: np.ndarray, lattice: Lattice) -> np.ndarray:
    """Whole electrons in each pixel of ``z`` (its peaks at whole electrons ``lattice``; NaN kept): the excess
    over the level of no electron, the lowest of the :data:`RUN` pixels along the row around it (the
    lowest of that many read noise draws lies 1.7 read noises below their mean), rounded. The level follows the
    pedestal's drift, which over a few tens of pixels can reach a step."""
    z = np.asarray(z, np.float32)
    empty = ndimage.minimum_filter1d(np.where(np.isfinite(z), z, np.inf), RUN, axis=1, mode="nearest")
    with np.errstate(invalid="ignore"):
        return np.maximum(np.rint((z - empty - np.float32(LOWEST * lattice.noise)) / np.float32(lattice.step)),
                          np.float32(0))


def block_electrons(counts: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """The mean number of electrons a pixel holds in each ``block``-square block of ``counts``
    (:func:`electron_counts`; the last blocks partial), from the share of its pixels without one (Poisson:
    ``-log`` of it), so a cluster's few bright pixels hardly count; pixels of :data:`BRIGHT` electrons or
    more and their neighbours are left out. NaN where fewer than a quarter of a whole block's pixels are left."""
    counts = np.array(counts, np.float32)
    counts[dilate(np.nan_to_num(counts) >= BRIGHT, 2, "square")] = np.nan
    blocks = padded_blocks(counts, block, block)
    valid = np.isfinite(blocks).sum(axis=(1, 3))
    empty = (blocks == 0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        electrons = -np.log(np.maximum(empty, 1) / valid)
    return np.where(valid >= block * block / 4, electrons, np.nan)


def dark_rates(electrons: np.ndarray) -> np.ndarray:
    """Each block's dark charge (electrons a pixel) for :func:`dark_like`: its own mean, at least the mean of
    the darker half of the blocks (what dark current alone gives, known far better than in one block);
    blocks without a mean take that."""
    finite = electrons[np.isfinite(electrons)]
    floor = float(np.mean(np.sort(finite)[: max(finite.size // 2, 1)])) if finite.size else 0.0
    return np.where(np.isfinite(electrons), np.maximum(electrons, floor), floor)


def dark_like(charges: np.ndarray, pixels: np.ndarray, rates: np.ndarray, trials: int) -> np.ndarray:
    """Which objects dark charge explains, given each one's ``charges`` (whole electrons, the sum of its
    pixels' :func:`electron_counts`), its number of ``pixels`` and the dark charge of its block (``rates``,
    electrons a pixel, :func:`dark_rates`): those without an electron, and those of which at least one group
    of as many pixels among the frame's ``trials`` pixels is expected to hold as much by chance (Poisson)."""
    charges = np.rint(np.asarray(charges, np.float64))
    chance = special.pdtrc(np.maximum(charges - 1, 0), np.asarray(pixels) * np.asarray(rates))  # P(N >= charge)
    expected = trials * chance
    return (charges <= 0) | (expected >= 1.0)
