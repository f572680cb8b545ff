"""Bounding boxes around connected label regions that meet size and shape limits.

A box is in array pixels, 0-based, from its top-left pixel corner: ``x, y, width, height`` covers columns
``x .. x + width - 1`` and rows ``y .. y + height - 1`` (COCO's ``bbox``). Conversions to other formats
(DS9's 1-based centres, YOLO's normalised centres) live next to those formats in
:mod:`ccdstudio.export.regions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.outline import pixel_outlines, signed_area
from ccdstudio.io.source import Window


@dataclass(frozen=True)
class Box:
    """A connected region of one class and its bounding box.

    Attributes
    ----------
    cls
        The class index.
    x, y, width, height
        The box from its top-left pixel corner, in array pixels.
    area
        Pixels in the region.
    solidity
        ``area`` over the area of the convex hull of the region's outline (ImageJ's definition; 1 for a
        rectangle or a single pixel).
    mask
        The region's pixels inside the box, ``(height, width)`` bool.
    """

    cls: int
    x: int
    y: int
    width: int
    height: int
    area: int
    solidity: float
    mask: np.ndarray = field(repr=False, compare=False)

    @cached_property
    def outlines(self) -> list[np.ndarray]:
        """The region's outlines along pixel edges in image corner coordinates, outer ones first, then holes.

        See :func:`ccdstudio.export.outline.pixel_outlines`; traced on first use.
        """
        outlines = [o + (self.x, self.y) for o in pixel_outlines(self.mask)]
        return sorted(outlines, key=lambda o: signed_area(o) < 0)

    @property
    def aspect(self) -> float:
        """The box's long side over its short side (at least 1)."""
        return max(self.width, self.height) / min(self.width, self.height)

    @property
    def window(self) -> Window:
        """The box as array slices ``(rows, cols)``."""
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)

    @property
    def has_holes(self) -> bool:
        return any(signed_area(o) < 0 for o in self.outlines)


@dataclass(frozen=True)
class BoxLimits:
    """The size and shape limits of :func:`find_boxes`, as one value for dialogs and the CLI."""

    min_area: int = 1
    max_area: int | None = None
    min_solidity: float = 0.0
    max_aspect: float | None = None
    connectivity: int = 8


def find_boxes(
    labels: np.ndarray,
    classes: int | Iterable[int] | None = None,
    *,
    min_area: int = 1,
    max_area: int | None = None,
    min_solidity: float = 0.0,
    max_aspect: float | None = None,
    connectivity: int = 8,
) -> list[Box]:
    """Boxes around the connected regions of ``labels`` that pass the limits.

    Parameters
    ----------
    labels
        2-D class indices.
    classes
        The class or classes to box; None boxes every non-zero class present. Each class's regions are
        found separately, so touching regions of two classes give two boxes.
    min_area, max_area
        Limits on a region's pixel count (inclusive).
    min_solidity
        Keep regions whose solidity is at least this (0..1); compact blobs are near 1, tracks and rings lower.
    max_aspect
        Keep regions whose box's long side is at most this many times its short side.
    connectivity
        8 (pixels touching at a corner belong together) or 4.

    Returns
    -------
    list of Box
        By class, then in raster order of each region's first pixel.
    """
    from scipy import ndimage

    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise CcdstudioError(f"labels must be a 2-D image, got shape {labels.shape}")
    if connectivity not in (4, 8):
        raise CcdstudioError(f"connectivity must be 4 or 8, got {connectivity}")
    if max_area is not None and max_area < min_area:
        raise CcdstudioError(f"the largest area {max_area} is below the smallest {min_area}")
    if not 0.0 <= min_solidity <= 1.0:
        raise CcdstudioError(f"the minimum solidity must be in [0, 1], got {min_solidity}")
    present = [int(c) for c in np.unique(labels) if c != 0]
    if classes is None:
        chosen = present
    else:
        chosen = [int(classes)] if np.isscalar(classes) else [int(c) for c in classes]  # type: ignore[arg-type]
        missing = [c for c in chosen if c not in present]
        if missing:
            raise CcdstudioError(f"the labels contain no pixel of class {', '.join(map(str, missing))}")
    structure = np.ones((3, 3), bool) if connectivity == 8 else None

    boxes = []
    for cls in chosen:
        regions, _ = ndimage.label(labels == cls, structure=structure)
        for index, found in enumerate(ndimage.find_objects(regions), start=1):
            rows, cols = found
            mask = regions[found] == index
            area = int(mask.sum())
            if area < min_area or (max_area is not None and area > max_area):
                continue
            height, width = mask.shape
            if max_aspect is not None and max(width, height) / min(width, height) > max_aspect:
                continue
            solidity = 1.0 if area == width * height else area / _hull_area(mask)
            if solidity < min_solidity:
                continue
            boxes.append(Box(cls, cols.start, rows.start, width, height, area, solidity, mask))
    return boxes


def _hull_area(mask: np.ndarray) -> float:
    """Area of the convex hull of the region's pixel squares (a polygon area, not a pixel count).

    The hull only depends on the outer corners of the leftmost and rightmost pixel of each row.
    """
    import cv2

    rows = np.flatnonzero(mask.any(axis=1))
    left = mask[rows].argmax(axis=1)
    right = mask.shape[1] - mask[rows, ::-1].argmax(axis=1)  # one past the rightmost pixel
    xs = np.concatenate([left, left, right, right])
    ys = np.concatenate([rows, rows + 1, rows, rows + 1])
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    return float(cv2.contourArea(cv2.convexHull(points)))
