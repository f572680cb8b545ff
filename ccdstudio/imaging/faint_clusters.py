"""Faint clusters that no network call shows: small pixel groups summed against the local noise.

A diffusion-limited deposit of 5-50 read noises puts its charge in one pixel, two side by side or a few
pixels of 2-5 sigma each: a network, or a per-pixel threshold, that must stay quiet on millions of noise
pixels lets many of them go. :func:`faint_clusters` measures each pixel against its surroundings (the mean
and the clipped spread over a ``window``-square box, so neither a smooth glow edge nor a pedestal drift
passes for a cluster) and sums that over every placement of each of :data:`SHAPES` (one pixel, two pixels
in a row or a column, a 3 x 3 box); where a sum reaches ``threshold`` of its own noise (the square root of
the pixels summed), the pixels of that placement that are themselves at least ``mark`` sigma over their
surroundings are a cluster: the cluster's bright pixels, not the whole box.

Only the pixels marked ``usable`` (a model's background, away from its clusters, hot pixels and glow) are
measured and summed, and of those only where the surroundings scatter by at most ``max_noise`` times the
frame's noise unit, and upwards by at most ``max_skew`` times as much as downwards: where the shot noise of
a faint glow or of dark charge adds to the read noise, each electron worth a good part of a sigma, the
pixels have an upward tail far heavier than Gaussian, and a small sum of them passes for a cluster; read
noise scatters both ways alike. Amplifier glow is searched on its own, against its shot noise as the
surroundings show it, at the higher level :data:`IN_GLOW` and with no limit on the scatter.

The levels were chosen on simulated raw frames other than the model card's test frames (seeds 7201 and
7202, after the bundled network): of the clusters above 3 sigma the network finds 75.9 %; the 3 x 3 box
alone at 5.5 brought that to 77.6 % (23 of its detections real, 2 false), single pixels and pairs at the
same level to 80.4 % (58 real, 2 false). Without the limit on the upward scatter the same search made 154
false detections, in the frames whose single electrons are a sigma or more (on the frames trimmed of their
overscans: 100, and 3 with it). In glow, 6 sigma found 32 more clusters (82.9 %) with 15 false detections,
most of them hot pixels the network took for glow; 5.5 found 37 with 37 false; a limit on the glow's upward
scatter cost recall (1.15: 82.0 %).
"""

from __future__ import annotations

import cv2
import numpy as np

THRESHOLD = 5.5
"""The sum over a shape, in its own noise, from which a cluster is called."""
IN_GLOW = 6.0
"""The level for searching amplifier glow (with no limit on its scatter): the glow's shot noise, measured
in the surroundings like any noise, is less Gaussian than read noise."""
MARK = 2.5
"""Sigma over its surroundings from which a pixel of a called shape is marked."""
SHAPES: dict[str, np.ndarray] = {
    "pixel": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32),
    "row pair": np.array([[0, 0, 0], [0, 1, 1], [0, 0, 0]], np.float32),
    "column pair": np.array([[0, 0, 0], [0, 1, 0], [0, 1, 0]], np.float32),
    "3 x 3 box": np.ones((3, 3), np.float32),
}
"""The pixel groups summed, as footprints around each placement's pixel."""
WINDOW = 31
"""Side of the box over which each pixel's surroundings (level and noise) are measured."""
MARGIN = 2 * (WINDOW // 2) + 3
"""Rows beyond a strip that the result inside it depends on (the level around the pixels the noise reads,
and a shape's reach on both sides)."""
CLIP = 4.0
"""Pixels further than this many sigma from their surroundings are left out of the noise."""
MAX_NOISE = 1.15
"""Pixels whose surroundings scatter by more than this many noise units are not searched."""
MAX_SKEW = 1.15
"""Nor those whose surroundings scatter upwards (the root mean square of the pixels above their mean) by more
than this many times as much as downwards: there the shot noise of glow or dark charge, a few electrons a
pixel, has an upward tail no Gaussian level controls."""


def faint_clusters(z: np.ndarray, usable: np.ndarray, threshold: float = THRESHOLD, mark: float = MARK,
                   window: int = WINDOW, max_noise: float = MAX_NOISE, max_skew: float = MAX_SKEW) -> np.ndarray:
    """Boolean mask of the faint cluster pixels in ``z`` (a 2-D frame in noise units), among ``usable``."""
    z = np.asarray(z, np.float32)
    usable = np.asarray(usable, bool) & np.isfinite(z)
    if not usable.any():
        return np.zeros(z.shape, bool)

    def box_mean(values: np.ndarray) -> np.ndarray:  # mirrored at the edges
        return cv2.blur(values, (window, window), borderType=cv2.BORDER_REFLECT)

    def local_mean(values: np.ndarray, where: np.ndarray, count: np.ndarray | None = None) -> np.ndarray:
        if count is None:
            count = box_mean(where.astype(np.float32))
        with np.errstate(invalid="ignore", divide="ignore"):
            return box_mean(np.where(where, values, np.float32(0))) / count

    count = box_mean(usable.astype(np.float32))
    residual = np.where(usable, z - local_mean(z, usable, count), np.float32(0))
    square = residual * residual
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = local_mean(square, usable, count)
        searched = usable & (spread <= np.float32(max_noise**2))
        if np.isfinite(max_skew):
            upwards = local_mean(square, usable & (residual > 0)) / local_mean(square, usable & (residual < 0))
            searched &= upwards <= np.float32(max_skew**2)
        noise = np.sqrt(local_mean(square, usable & (square < np.float32(CLIP**2) * spread)))
        s = np.where(searched & (noise > 0), residual / noise, np.float32(0))
    weight = searched.astype(np.float32)
    found = np.zeros(z.shape, bool)
    for footprint in SHAPES.values():
        total = _correlate(s, footprint)
        pixels = _correlate(weight, footprint)
        with np.errstate(invalid="ignore", divide="ignore"):
            called = np.nan_to_num(total / np.sqrt(pixels), nan=0.0) >= threshold
        # The pixels of each called placement: the footprint turned around.
        found |= _correlate(called.astype(np.float32), footprint[::-1, ::-1]) > 0
    return found & searched & (s >= mark)


def _correlate(values: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """The sum of ``values`` (float32) over ``footprint`` centred on each pixel, zero beyond the edges."""
    return cv2.filter2D(values, -1, np.ascontiguousarray(footprint), borderType=cv2.BORDER_CONSTANT)
