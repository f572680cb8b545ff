"""How many pixels each class has in a label map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccdstudio.labels.classes import ClassSet

_EXACT_COUNT = 2**24
"""Most values OpenCV's histogram counts in one call: its float32 counts are exact up to here."""


@dataclass(frozen=True)
class ClassCount:
    """Pixels of one class and their share of the map."""

    index: int
    name: str
    pixels: int
    fraction: float


def pixel_counts(labels: np.ndarray, minlength: int = 1) -> np.ndarray:
    """Pixels per class index of a uint8 map (or any uint8 array), at least ``minlength`` entries.

    Counted by OpenCV's histogram, ~50x faster than ``np.bincount`` (which widens every byte to 64 bits
    first: 2 s and 800 MB for a 100-megapixel map), in bands of rows, so a memory-mapped map is never
    copied whole.
    """
    import cv2

    labels = np.asarray(labels, np.uint8)
    if labels.ndim < 2:
        labels = labels.reshape(1, -1)
    rows = max(1, _EXACT_COUNT // max(1, labels[0].size))
    counts = np.zeros(256, np.int64)
    for y in range(0, labels.shape[0], rows):
        band = np.ascontiguousarray(labels[y: y + rows]).reshape(-1)
        for start in range(0, band.size, _EXACT_COUNT):  # one row may be longer than that
            part = band[start: start + _EXACT_COUNT]
            counts += cv2.calcHist([part], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    return counts[: max(minlength, int(np.flatnonzero(counts).max(initial=0)) + 1)]


def class_stats(labels: np.ndarray, classes: ClassSet) -> list[ClassCount]:
    """One :class:`ClassCount` per class (and per unnamed index present), in index order."""
    counts = pixel_counts(labels, len(classes))
    total = max(int(labels.size), 1)
    names = classes.names + [f"(unnamed {i})" for i in range(len(classes), counts.size)]
    return [ClassCount(i, names[i], int(n), int(n) / total) for i, n in enumerate(counts)]


def stats_dict(labels: np.ndarray, classes: ClassSet) -> dict[str, dict[str, float]]:
    """``{name: {"pixels": n, "fraction": f}}``, JSON-ready (for the project manifest and ``labels info``)."""
    return {c.name: {"pixels": c.pixels, "fraction": c.fraction} for c in class_stats(labels, classes)}
