"""Faint hot columns and rows: segments brighter than their neighbours on both sides, over their length.

A hot column that adds a fraction of the noise to each pixel is invisible pixel by pixel and plain in its
sum. :func:`find_hot_lines` works on a frame in units of its noise (``z``). For each pixel, the *excess*
is ``z`` minus the mean of the ``side`` columns to its left or of those to its right, whichever is higher,
so that a step (the edge of a glowing band) is no line; it is divided by its local noise as sums along a
column see it (:func:`local_noise`), since glow's shot noise, smeared by charge transfer, makes bright
regions noisier and correlated along the columns. In every column the segment with the largest sum of
``excess - offset`` (a maximum-sum segment, found for all columns at once from cumulative sums) is a hot
line when that sum reaches ``min_score``; ``rounds`` segments per column at most. Rows are the columns of
the transposed frame.

Pure noise gives a column a best score above ``s`` with a probability of at most about ``exp(-2 offset s)``
(6e-6 at the defaults, beside a step; taking the higher side makes it far less elsewhere). A line of ``mu``
sigma per pixel scores about ``0.9 mu - 0.35`` per pixel: it is found over some 110 pixels at 1 sigma, 45 at
2 sigma, 600 at 0.5 sigma. The defaults were chosen on simulated frames other than the model card's test
frames (hot-pixel F1 there 0.68 -> 0.87 after the bundled model).
"""

from __future__ import annotations

import cv2
import numpy as np

from ccdstudio.imaging.blocks import padded_blocks
from ccdstudio.imaging.morphology import closing
from ccdstudio.imaging.noise import MAD_TO_SIGMA, nanmedian

OFFSET = 0.1
MIN_SCORE = 60.0
SIDE = 4
RUN = 32
BLOCK = 64
MIN_RUN = 4
"""Hot pixels one after another along a column (row) that :func:`line_gaps` takes for part of a line."""
MAX_GAP = 32
"""The longest gap :func:`line_gaps` fills between two such runs."""


def find_hot_lines(z: np.ndarray, exclude: np.ndarray | None = None, *, offset: float = OFFSET,
                   min_score: float = MIN_SCORE, side: int = SIDE, rounds: int = 2) -> np.ndarray:
    """Boolean mask of hot column and row segments in ``z`` (a 2-D frame in units of its noise).

    ``exclude`` marks pixels to leave out (clusters and their surroundings, known hot pixels, saturation);
    they neither add to a line nor break it. NaN pixels are left out as well.
    """
    columns = find_hot_columns(z, exclude, offset=offset, min_score=min_score, side=side, rounds=rounds)
    rows = find_hot_columns(z.T, None if exclude is None else exclude.T, offset=offset, min_score=min_score,
                            side=side, rounds=rounds).T
    return columns | rows


def find_hot_columns(z: np.ndarray, exclude: np.ndarray | None = None, *, offset: float = OFFSET,
                     min_score: float = MIN_SCORE, side: int = SIDE, rounds: int = 2) -> np.ndarray:
    """Boolean mask of hot column segments (see :func:`find_hot_lines`)."""
    z = np.ascontiguousarray(z, np.float32)
    valid = np.isfinite(z)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    excess = excess_over_sides(z, valid, side)
    valid &= np.isfinite(excess)
    score = np.where(valid, np.clip(excess / local_noise(excess, valid), -5, 5) - offset, 0)
    return best_segments(score.astype(np.float32), min_score, rounds)


def excess_over_sides(z: np.ndarray, valid: np.ndarray, side: int) -> np.ndarray:
    """``z`` minus the higher of the means of the valid pixels in the ``side`` columns to the left and to the
    right, row by row; NaN where ``valid`` is False or a side has no valid pixel (at the frame's edges)."""
    height, width = z.shape

    def side_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.zeros((height, width + 2 * side + 1), np.float32)  # cumulative, ``side`` zeros each end
        np.cumsum(values, axis=1, out=total[:, side + 1: side + 1 + width])
        total[:, side + 1 + width:] = total[:, side + width: side + 1 + width]
        left = total[:, side: side + width] - total[:, :width]
        right = total[:, 2 * side + 1:] - total[:, side + 1: side + 1 + width]
        return left, right

    (left_sum, right_sum), (left_count, right_count) = side_sums(np.where(valid, z, 0)), side_sums(valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.where(left_count > 0.5, left_sum / left_count, np.nan)
        right = np.where(right_count > 0.5, right_sum / right_count, np.nan)
    level = np.maximum(left, right)  # NaN where a side has no valid pixel (the frame's edges): left out
    return np.where(valid, z - level, np.nan).astype(np.float32)


def local_noise(excess: np.ndarray, valid: np.ndarray, run: int = RUN, block: int = BLOCK) -> np.ndarray:
    """The noise of ``excess`` per pixel as sums along a column see it: ``sqrt(run)`` times the robust spread
    (MAD) of its ``run``-row means (taken every quarter run) in each ``block``-square block, so that noise
    correlated along the columns (charge-transfer smear of bright glow) counts. At least 1e-3."""
    usable = (valid & np.isfinite(excess)).astype(np.float32)
    sums = cv2.blur(np.where(usable > 0, excess, 0).astype(np.float32), (1, run), borderType=cv2.BORDER_REFLECT)
    counts = cv2.blur(usable, (1, run), borderType=cv2.BORDER_REFLECT)  # mirrored at the ends of the columns
    height, width = excess.shape
    every = max(run // 4, 1)  # neighbouring run means overlap; a quarter of a run apart is enough
    means = np.where(counts > 0.5, sums / np.maximum(counts, 1e-6), np.nan)[::every]
    blocks = padded_blocks(means, max(block // every, 1), block)
    rows, cols = blocks.shape[0], blocks.shape[2]
    blocks = blocks.transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    empty = ~np.isfinite(blocks).any(axis=2)
    deviation = np.abs(blocks - nanmedian(blocks, axis=2, keepdims=True))
    spread = MAD_TO_SIGMA * nanmedian(deviation, axis=2) * np.sqrt(run)
    spread[empty] = np.median(spread[~empty]) if (~empty).any() else 1.0
    noise = np.repeat(np.repeat(spread, block, axis=0), block, axis=1)[:height, :width]
    return np.maximum(np.nan_to_num(noise, nan=1.0), 1e-3)


def best_segments(score: np.ndarray, min_score: float, rounds: int = 1) -> np.ndarray:
    """Per column of ``score``, the contiguous run of rows with the largest sum, where that sum reaches
    ``min_score``; ``rounds`` times, each later round without the runs found before."""
    score = np.array(score, np.float32)
    height, width = score.shape
    found = np.zeros(score.shape, bool)
    rows = np.arange(height + 1)[:, None]
    for _ in range(rounds):
        prefix = np.zeros((height + 1, width), np.float64)
        np.cumsum(score, axis=0, out=prefix[1:])
        lowest = np.minimum.accumulate(prefix, axis=0)
        gain = prefix[1:] - lowest[:-1]  # the best run ending at each row
        hit = np.flatnonzero(gain.max(axis=0) >= min_score)  # few columns: the rest is not searched
        if not hit.size:
            break
        end = gain[:, hit].argmax(axis=0)
        start = np.where(rows <= end, prefix[:, hit], np.inf).argmin(axis=0)
        run = (rows[:-1] >= start) & (rows[:-1] <= end)
        found[:, hit] |= run
        score[:, hit] = np.where(run, np.float32(-1e3), score[:, hit])  # later rounds go around it
    return found


def line_gaps(hot: np.ndarray, min_run: int = MIN_RUN, max_gap: int = MAX_GAP) -> np.ndarray:
    """The pixels not in ``hot`` in gaps of at most ``max_gap`` (an even number) along a column (row) between
    two runs of at least ``min_run`` pixels of it.

    A hot column is continuous, and a network may leave short gaps in one it finds, where the noise happens to
    hide it; such a gap alone is too short for :func:`find_hot_lines`, which does not count the pixels known
    to be hot. The levels were chosen on simulated raw frames other than the model card's test frames
    (hot-pixel F1 there 0.876 -> 0.881 after all the bundled model's steps; runs of 2-4 pixels and gaps of
    32-256 gave the same).
    """
    hot = np.ascontiguousarray(hot, bool)
    outside = {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0}  # nothing is hot beyond the frame
    filled = np.zeros(hot.shape, bool)
    for shape in ("column", "row"):
        run = np.ones((min_run, 1) if shape == "column" else (1, min_run), np.uint8)
        last = (0, min_run - 1) if shape == "column" else (min_run - 1, 0)  # (x, y) of the kernel's far end
        starts = cv2.erode(hot.view(np.uint8), run, anchor=(0, 0), **outside)  # where a run of min_run begins
        runs = cv2.dilate(starts, run, anchor=last, **outside).view(bool)  # an even run: no centred element
        filled |= closing(runs, max_gap // 2, shape)
    return filled & ~hot
