"""Cluster objects that hold no charge of their own: a network's calls beside hot pixels and in noise.

A network calls a few objects "cluster" whose pixels stand no higher than the pixels around them: the pixels
just above and below a bright hot pixel, a grain of glow or dark-charge shot noise. :func:`significance`
measures each object against its surroundings: its pixels' summed excess over the local level (the median of
the pixels within :data:`MARGIN` of its box, away from clusters and hot pixels) in units of the local noise
(their MAD) and of the square root of its pixel count, as a matched sum would; an object below :data:`LEVEL`
is empty.

On the simulated frames of the bundled model's card, after all its other steps, the objects below 3 are
nearly all false: 10 false and 1 real on the calibration frames (seeds 7201/7202), where the level was chosen
(from 3 to 4: 1 more false, 5 more real); 14 false and 1 real, 21 false and none on the two test sets; 152
false and 5 real on 40 random raw frames (seed 9100), of 425 false objects there.
"""

from __future__ import annotations

import numpy as np

from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.imaging.objects import BoxedObjects

LEVEL = 3.0
"""Summed excess, in local noises times the square root of the pixel count, below which an object is empty."""
MARGIN = 4
"""Pixels around an object's box whose level and scatter are its surroundings'."""
MIN_SURROUNDINGS = 10
"""Fewest pixels the surroundings need to be measured; an object with fewer is left as it is."""


def significance(z: np.ndarray, objects: np.ndarray, settled: np.ndarray, boxes: BoxedObjects) -> np.ndarray:
    """The summed excess of objects of the object map ``objects`` over their surroundings, in local noises
    over the square root of their finite pixel count; NaN where it cannot be measured.

    ``z`` is the frame (or a window of it, as ``objects`` and ``settled``: the pixels left out of the
    surroundings, clusters and hot pixels with a pixel around them); ``boxes`` are the objects to measure,
    boxed in that window (:func:`~ccdstudio.imaging.objects.boxed_objects`).
    """
    height, width = z.shape
    result = np.full(len(boxes), np.nan)
    for k, (index, box) in enumerate(boxes):
        rows = slice(max(box[0].start - MARGIN, 0), min(box[0].stop + MARGIN, height))
        cols = slice(max(box[1].start - MARGIN, 0), min(box[1].stop + MARGIN, width))
        values = z[rows, cols]
        around = values[~settled[rows, cols]]
        own = values[objects[rows, cols] == index]
        own = own[np.isfinite(own)]
        level, noise = robust_pedestal(around)
        if np.count_nonzero(np.isfinite(around)) >= MIN_SURROUNDINGS and noise > 0 and own.size:
            result[k] = float(np.sum(own - level)) / noise / np.sqrt(own.size)
    return result
