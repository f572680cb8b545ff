"""Labelled objects measured one at a time, each as its index in the object map and its box.

The box is the one :func:`scipy.ndimage.find_objects` gives, so a measurement reads only the pixels around
the object; :func:`object_mask` turns the objects a measurement picked back into pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import ndimage

Box = tuple[slice, slice]
BoxedObjects = Sequence[tuple[int, Box]]
"""``(index, box)`` of each object to measure."""


def boxed_objects(objects: np.ndarray, indices: Iterable[int] | None = None) -> list[tuple[int, Box]]:
    """``(index, box)`` of the objects ``indices`` (every object when None) of the object map ``objects``;
    indices with no pixels are left out."""
    boxes = ndimage.find_objects(objects)
    chosen = range(1, len(boxes) + 1) if indices is None else (int(i) for i in indices)
    return [(i, boxes[i - 1]) for i in chosen if 0 < i <= len(boxes) and boxes[i - 1] is not None]


def object_sizes(objects: np.ndarray, count: int) -> np.ndarray:
    """Pixels of each object ``0 .. count`` of the object map ``objects`` (0, the background, counted as
    none): counted over the objects' pixels only, no frame-sized temporary beyond one mask."""
    return np.bincount(objects[objects > 0], minlength=count + 1)


def object_mask(objects: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The pixels of the objects ``indices`` of the object map ``objects``."""
    lookup = np.zeros(int(objects.max(initial=0)) + 1, bool)
    lookup[indices] = True
    return lookup[objects]
