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

An overscan shows the pedestal but not the dark charge, which the data section collects all over: where that
is a read noise or more, the whole frame would pass for glow. :func:`dark_floor` tells it from glow by its
flatness (glow fades with the distance from the amplifier; dark charge is the same everywhere), in the
means of :data:`DARK_BLOCK`-square blocks (:func:`block_means`), and the glow is then measured above it.
"""

from __future__ import annotations

import cv2
import numpy as np

GLOW_SIGMA = 3.0
"""The level (read noises of expected glow) where "glowing" starts, the simulator's labelling convention."""
BOXES: tuple[tuple[int, int], ...] = ((16, 16), (64, 4), (4, 64))
"""``(rows, columns)`` of the boxes whose local means must all reach the level."""
MARGIN = max(rows for rows, _ in BOXES) // 2
"""Rows beyond a strip that its means read (half the tallest box)."""


def glow_mask(z: np.ndarray, exclude: np.ndarray | None = None, glow_sigma: float = GLOW_SIGMA,
              boxes: tuple[tuple[int, int], ...] = BOXES) -> np.ndarray:
    """Boolean mask of the pixels whose local mean of ``z`` (a 2-D frame in read noises over the pedestal) is
    at least ``glow_sigma`` in each of ``boxes``; False where no valid pixel is near."""
    z = np.asarray(z, np.float32)
    valid = np.isfinite(z)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    values = np.where(valid, z, np.float32(0))
    weight = valid.astype(np.float32)
    found = np.ones(z.shape, bool)
    for rows, cols in boxes:  # box sums over the frame's pixels only (zero beyond its edges)
        total = cv2.blur(values, (cols, rows), borderType=cv2.BORDER_CONSTANT)
        count = cv2.blur(weight, (cols, rows), borderType=cv2.BORDER_CONSTANT)
        found &= total >= np.float32(glow_sigma) * np.maximum(count, np.float32(1e-6))
        found &= count > 0
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


def block_means(z: np.ndarray, exclude: np.ndarray | None = None, block: int = DARK_BLOCK) -> np.ndarray:
    """Means of ``z`` over ``block``-square blocks (rows and columns beyond the last whole block dropped),
    leaving out NaN pixels and those in ``exclude``; NaN for blocks with less than a quarter of their pixels."""
    z = np.asarray(z, np.float32)
    rows, cols = z.shape[0] // block, z.shape[1] // block
    valid = np.isfinite(z)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    values = np.where(valid, z, np.float32(0))[: rows * block, : cols * block].reshape(rows, block, cols, block)
    counts = valid[: rows * block, : cols * block].reshape(rows, block, cols, block).sum((1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts >= block * block / 4, values.sum((1, 3), dtype=np.float64) / counts, np.nan)


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
