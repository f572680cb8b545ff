"""Handing label maps to the labels feature (``window.features["labels"]``), the one owner of the label map.

The analysis docks never edit labels themselves: they build a whole new map and hand it over with
``accept_labels(labels, classes, title)``, one undoable replacement there. Writing a mask *into* the
existing labels needs the current map: it is asked for with the feature's public
``current_labels() -> (labels, classes) | None``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.classes import ClassSet


def labels_feature(window: Any) -> Any | None:
    """The installed labels feature, if it can take a label map."""
    feature = getattr(window, "features", {}).get("labels")
    return feature if feature is not None and hasattr(feature, "accept_labels") else None


def current_labels(window: Any, shape: tuple[int, int]) -> tuple[np.ndarray | None, ClassSet | None]:
    """A copy of the label map being edited and its classes, or ``(None, None)`` when there is none."""
    feature = labels_feature(window)
    if feature is None:
        return None, None
    found = feature.current_labels() if hasattr(feature, "current_labels") else None
    labels, classes = found if found is not None else (None, None)
    if labels is None or tuple(np.shape(labels)) != tuple(shape):
        return None, classes
    return np.array(labels, dtype=np.uint8), classes


def hand_over(window: Any, labels: np.ndarray, classes: ClassSet, title: str) -> None:
    """Give ``labels`` to the labels feature as one undoable replacement."""
    feature = labels_feature(window)
    if feature is None:
        raise CcdstudioError("labels cannot be edited in this window (the labels feature is not installed)")
    feature.accept_labels(labels, classes, title)


def paint_mask(window: Any, mask: np.ndarray, cls: int, default: ClassSet) -> tuple[np.ndarray, ClassSet]:
    """The current labels (or an empty map with ``default`` classes) with ``mask`` set to class ``cls``."""
    labels, classes = current_labels(window, mask.shape)
    classes = classes or default
    if cls >= len(classes):
        raise CcdstudioError(f"class {cls} is not one of the {len(classes)} classes of the labels")
    if labels is None:
        labels = np.zeros(mask.shape, np.uint8)
    labels[mask] = cls
    return labels, classes
