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
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

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
    for size in boxes:
        total = ndimage.uniform_filter(values, size, mode="constant")
        count = ndimage.uniform_filter(weight, size, mode="constant")
        found &= total >= np.float32(glow_sigma) * np.maximum(count, np.float32(1e-6))
        found &= count > 0
    return found
