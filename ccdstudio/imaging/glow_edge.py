"""Where glow reaches a given level: the local mean excess over the pedestal, which one pixel cannot show.

Amplifier glow is "glowing" where its expected charge is at least ``glow_sigma`` read noises (3 by the
simulator's convention). Near that edge a pixel holds a fraction of its own noise of glow, so only a mean
over many pixels tells: with the pedestal row by row and the bare read noise (a serial overscan gives both),
the mean of ``z = (ADU - pedestal) / sigma`` over a box of 256 pixels is known to 0.06 sigma.

:func:`glow_mask` calls glow where the local mean is at least ``glow_sigma`` in every one of its boxes: a
square and a tall and a wide one (:data:`BOXES`). A square box alone blurs a sharp edge, such as that of a
glowing band beside the amplifier, by half its side; the thin boxes keep such edges to a few pixels, and
where glow varies smoothly all three agree. Pixels marked in ``exclude`` (clusters and their surroundings,
hot pixels) and NaN pixels are left out of the means. The boxes were chosen on simulated raw frames other
than the model card's test frames (glowing F1 there 0.77 with the bundled network alone, 0.953 with a 32 px
square box, 0.960 with these).

A flat band of glow beside the amplifier ends in a step that every row shows at the same column. Where the
band is narrow and faint (a few read noises over a few dozen columns), boxes across its edge dilute it and it
shrinks by up to half a box. :func:`band_edges` finds such steps in the column means of blocks of rows
(:data:`STEP_BLOCK`), and :func:`glow_mask` keeps its boxes on one side of them.

An overscan shows the pedestal but not the dark charge, which the data section collects all over: where that
is a read noise or more, the whole frame would pass for glow. :func:`dark_floor` tells it from glow by its
flatness (glow fades with the distance from the amplifier; dark charge is the same everywhere), in the
means of :data:`DARK_BLOCK`-square blocks (:func:`block_means`), and the glow is then measured above it.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ccdstudio.imaging.noise import MAD_TO_SIGMA, nanmedian

GLOW_SIGMA = 3.0
"""The level (read noises of expected glow) where "glowing" starts, the simulator's labelling convention."""
BOXES: tuple[tuple[int, int], ...] = ((16, 16), (64, 4), (4, 64))
"""``(rows, columns)`` of the boxes whose local means must all reach the level."""
MARGIN = max(rows for rows, _ in BOXES) // 2
"""Rows beyond a strip that its means read (half the tallest box)."""


def glow_mask(z: np.ndarray, exclude: np.ndarray | None = None, glow_sigma: float = GLOW_SIGMA,
              boxes: tuple[tuple[int, int], ...] = BOXES,
              edges: tuple[Sequence[int], Sequence[int]] = ((), ())) -> np.ndarray:
    """Boolean mask of the pixels whose local mean of ``z`` (a 2-D frame in read noises over the pedestal) is
    at least ``glow_sigma`` in each of ``boxes``; False where no valid pixel is near. ``edges`` are the rows and
    the columns (each a boundary before that index) that no box reaches across."""
    z = np.asarray(z, np.float32)
    valid = np.isfinite(z)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    values = np.where(valid, z, np.float32(0))
    weight = valid.astype(np.float32)
    found = np.zeros(z.shape, bool)
    row_cuts, col_cuts = ([0, *sorted(e for e in cuts if 0 < e < n), n] for cuts, n in zip(edges, z.shape))
    for top, bottom in zip(row_cuts[:-1], row_cuts[1:]):
        for left, right in zip(col_cuts[:-1], col_cuts[1:]):
            piece = (slice(top, bottom), slice(left, right))
            found[piece] = _all_boxes(values[piece], weight[piece], glow_sigma, boxes)
    return found


def _all_boxes(values: np.ndarray, weight: np.ndarray, glow_sigma: float,
               boxes: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Where the mean of ``values`` (weighted 0 or 1) reaches ``glow_sigma`` in every box."""
    found = np.ones(values.shape, bool)
    for rows, cols in boxes:  # box sums over the piece's pixels only (zero beyond its edges)
        total = cv2.blur(values, (cols, rows), borderType=cv2.BORDER_CONSTANT)
        count = cv2.blur(weight, (cols, rows), borderType=cv2.BORDER_CONSTANT)
        found &= total >= np.float32(glow_sigma) * np.maximum(count, np.float32(1e-6))
        found &= count > 0
    return found


STEP_BLOCK = 64
"""Rows (columns) per block whose column (row) means :func:`band_edges` compares."""
STEP_WINDOW = 8
"""Columns on each side of an edge whose median level is compared (a hot column among them does not count)."""
MIN_STEP = 0.5
"""The smallest step (read noises) taken for a band's edge: a smaller one moves the boxes' means by little."""
STEP_SIGNIFICANCE = 10.0
"""How many times its scatter over the blocks a step must be: a band's edge is the same in every row, the
steepening of a glow spot near the amplifier is not."""


def band_edges(means: np.ndarray, window: int = STEP_WINDOW, min_step: float = MIN_STEP,
               significance: float = STEP_SIGNIFICANCE) -> list[int]:
    """The columns where a flat band ends: each ``c`` has the band's edge between columns ``c - 1`` and ``c``.

    ``means`` are column means of ``z`` over blocks of rows, ``(blocks, columns)`` (:func:`block_means` with
    ``(STEP_BLOCK, 1)``). In each block the median level of the ``window`` columns on either side of ``c`` is
    compared, less the change the slope beyond them (on one side or both) predicts over that distance; the
    median of that step over the blocks must reach ``min_step`` (and the plain difference of levels too, with
    the same sign) and ``significance`` times its scatter. Of neighbouring candidates the largest is kept, on
    the column within ``window / 2`` of it where the mean changes most (a step moves the medians over that range).
    """
    means = np.asarray(means, np.float64)
    blocks, n = means.shape
    k = window
    if blocks < 3 or n < 2 * k:
        return []
    padded = np.pad(means, ((0, 0), (k, 2 * k)), constant_values=np.nan)
    level = nanmedian(sliding_window_view(padded, k, axis=1), axis=-1)  # [:, i]: columns i - k .. i - 1
    c = np.arange(k // 2, n - k // 2 + 1)
    left, right = level[:, c], level[:, c + k]
    slopes = np.stack([np.where(c >= 2 * k, level[:, np.maximum(c - k, 0)] - left, np.nan),
                       np.where(n - c >= 2 * k, right - level[:, c + 2 * k], np.nan)]) / k
    known = np.isfinite(slopes).sum(0)
    slope = np.where(known > 0, np.nansum(slopes, 0) / np.maximum(known, 1), 0.0)
    across = (np.minimum(k, c) + np.minimum(k, n - c)) / 2  # columns between the two levels' centres
    jump = left - right
    per_block = jump - slope * across
    step, plain = nanmedian(per_block, axis=0), nanmedian(jump, axis=0)
    spread = MAD_TO_SIGMA * nanmedian(np.abs(per_block - step), axis=0)
    scatter = 1.25 * spread / np.sqrt(np.maximum(np.isfinite(per_block).sum(0), 1))  # a median's error
    found = (np.abs(step) >= np.maximum(min_step, significance * scatter)) & (np.abs(plain) >= min_step)
    score = np.where(found & (plain * step > 0), np.abs(step), 0.0)
    profile = nanmedian(means, axis=0)
    change = np.abs(np.nan_to_num(np.diff(profile)))  # change[j]: between columns j and j + 1
    edges = set()
    for i in np.flatnonzero(score):
        if score[i] == score[max(i - k, 0): i + k + 1].max():
            near = np.arange(max(c[i] - k // 2, 1), min(c[i] + k // 2 + 1, n))  # the medians' plateau
            edges.add(int(near[np.argmax(change[near - 1])]))
    return sorted(edges)


def glowing_bands(means: np.ndarray, edges: Sequence[int], glow_sigma: float = GLOW_SIGMA,
                  window: int = STEP_WINDOW) -> list[tuple[int, int]]:
    """The bands between ``edges`` (:func:`band_edges` of ``means``, the frame's ends too) that glow at
    ``glow_sigma`` or more all over, as ``(first, stop)`` columns.

    Glow fades away from the amplifier, so a band is faintest in the columns at one of its ends: a band
    glows all over when the mean of the ``window`` columns at each end reaches ``glow_sigma`` in every block
    of rows. Over a band's height that mean is known far better than in any box, where a band within a
    fraction of a read noise of the level would be called in parts.
    """
    means = np.asarray(means, np.float64)
    if not edges or means.shape[0] < 3:
        return []
    cuts = [0, *edges, means.shape[1]]
    found = []
    for first, stop in zip(cuts[:-1], cuts[1:]):
        ends = [means[:, first: min(first + window, stop)], means[:, max(stop - window, first): stop]]
        counts = [np.isfinite(end).sum(1) for end in ends]
        if all((count > 0).all() for count in counts) and all(
                (np.nansum(end, 1) >= glow_sigma * count).all() for end, count in zip(ends, counts)):
            found.append((first, stop))
    return found


DARK_BLOCK = 64
"""Side of the blocks whose means :func:`dark_floor` compares."""
DARK_TOLERANCE = 0.2
"""Blocks within this share of the darkest ones' level (at least this many read noises) of it are as dark."""
DARK_SHARE = 0.15
"""The share of blocks that must be as dark as the darkest for their level to be dark charge: glow leaves
few (0.11 at most on 400 simulated raw 768 x 768 frames, mostly 0.04-0.07); dark charge covers the frame."""
MIN_DARK = 0.5
"""Dark charge below this (read noises) is left in: it moves the glow's edge by less than that."""


def block_means(z: np.ndarray, exclude: np.ndarray | None = None,
                block: int | tuple[int, int] = DARK_BLOCK) -> np.ndarray:
    """Means of ``z`` over blocks of ``block`` pixels square, or ``(rows, columns)`` (rows and columns beyond
    the last whole block dropped), leaving out NaN pixels and those in ``exclude``; NaN for blocks with less
    than a quarter of their pixels."""
    z = np.asarray(z, np.float32)
    high, wide = (block, block) if isinstance(block, int) else block
    rows, cols = z.shape[0] // high, z.shape[1] // wide
    valid = np.isfinite(z)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    values = np.where(valid, z, np.float32(0))[: rows * high, : cols * wide].reshape(rows, high, cols, wide)
    counts = valid[: rows * high, : cols * wide].reshape(rows, high, cols, wide).sum((1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts >= high * wide / 4, values.sum((1, 3), dtype=np.float64) / counts, np.nan)


def dark_floor(means: np.ndarray) -> float:
    """The dark charge (read noises) under block means of ``z`` over an overscan's pedestal: the median of the
    blocks within :data:`DARK_TOLERANCE` of the darkest (the 2nd percentile) when they are at least
    :data:`DARK_SHARE` of all and it is at least :data:`MIN_DARK`; else 0 (no dark charge to speak of, or
    glow fading away)."""
    means = np.asarray(means, np.float64)
    means = means[np.isfinite(means)]
    if means.size < 16:
        return 0.0
    darkest = float(np.percentile(means, 2))
    flat = means[means <= darkest + DARK_TOLERANCE * max(abs(darkest), 1.0)]
    level = float(np.median(flat))
    return level if level >= MIN_DARK and flat.size >= DARK_SHARE * means.size else 0.0
