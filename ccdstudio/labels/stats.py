"""How many pixels each class has in a label map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccdstudio.labels.classes import ClassSet

_CHUNK_ROWS = 1024


@dataclass(frozen=True)
class ClassCount:
    """Pixels of one class and their share of the map."""

    index: int
    name: str
    pixels: int
    fraction: float


def pixel_counts(labels: np.ndarray, minlength: int = 1) -> np.ndarray:
    """Pixels per class index of a uint8 map (``np.bincount``), at least ``minlength`` entries.

    Counted in row bands, so a memory-mapped map is never copied whole.
    """
    counts = np.zeros(256, np.int64)
    for y in range(0, labels.shape[0], _CHUNK_ROWS):
        counts += np.bincount(np.asarray(labels[y: y + _CHUNK_ROWS]).ravel(), minlength=256)
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
