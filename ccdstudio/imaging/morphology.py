"""Binary morphology for masks (OpenCV for speed), size and shape rules for CCD defects, and Fiji's
clean-up recipe for network predictions (threshold, dilate, drop small particles, invert).

Masks are boolean 2-D arrays. A structuring element of ``size`` r spans ``2 r + 1`` pixels: a disk (the
pixels within distance r), a square, a cross (the 4-neighbourhood repeated r times), or a line along a
column or a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ccdstudio.errors import CcdstudioError

Shape = Literal["disk", "square", "cross", "column", "row"]


def structuring_element(size: int, shape: Shape = "disk") -> np.ndarray:
    """A ``(2 size + 1)``-square uint8 kernel of the given shape."""
    if size < 0:
        raise CcdstudioError(f"the structuring element size must be >= 0, not {size}")
    yy, xx = np.mgrid[-size:size + 1, -size:size + 1]
    if shape == "disk":
        kernel = xx * xx + yy * yy <= size * size
    elif shape == "square":
        kernel = np.ones_like(xx, dtype=bool)
    elif shape == "cross":
        kernel = np.abs(xx) + np.abs(yy) <= size
    elif shape in ("column", "row"):
        kernel = (xx if shape == "column" else yy) == 0
    else:
        raise CcdstudioError(f"unknown structuring element {shape!r}; choose disk, square, cross, column or row")
    return kernel.astype(np.uint8)


def _morph(op: int, mask: np.ndarray, size: int, shape: Shape) -> np.ndarray:
    import cv2

    if size == 0:
        return np.asarray(mask, dtype=bool).copy()
    source = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    # pixels outside the image count as background for every operation (as ImageJ pads binary images)
    out = cv2.morphologyEx(source, op, structuring_element(size, shape),
                           borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out.view(bool)


def dilate(mask: np.ndarray, size: int = 1, shape: Shape = "disk") -> np.ndarray:
    """Grow the mask by ``size`` pixels."""
    import cv2

    return _morph(cv2.MORPH_DILATE, mask, size, shape)


def erode(mask: np.ndarray, size: int = 1, shape: Shape = "disk") -> np.ndarray:
    """Shrink the mask by ``size`` pixels (the image border counts as background)."""
    import cv2

    return _morph(cv2.MORPH_ERODE, mask, size, shape)


def opening(mask: np.ndarray, size: int = 1, shape: Shape = "disk") -> np.ndarray:
    """Erode then dilate: removes specks smaller than the element."""
    return dilate(erode(mask, size, shape), size, shape)


def closing(mask: np.ndarray, size: int = 1, shape: Shape = "disk") -> np.ndarray:
    """Dilate then erode: closes gaps smaller than the element (the border does not erode the result)."""
    padded = np.pad(np.asarray(mask, dtype=bool), size)
    closed = erode(dilate(padded, size, shape), size, shape)
    return closed[size:closed.shape[0] - size, size:closed.shape[1] - size] if size else closed


def invert(mask: np.ndarray) -> np.ndarray:
    """Swap foreground and background."""
    return ~np.asarray(mask, dtype=bool)


def _components(mask: np.ndarray, connectivity: int) -> tuple[int, np.ndarray, np.ndarray]:
    import cv2

    if connectivity not in (4, 8):
        raise CcdstudioError(f"connectivity must be 4 or 8, not {connectivity}")
    source = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(source, connectivity=connectivity,
                                                               ltype=cv2.CV_32S)
    return count, labels, stats


def fill_holes(mask: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Fill the background regions that do not reach the image border.

    Holes of 8-connected objects are 4-connected background regions and vice versa, as in ImageJ.
    """
    import cv2

    background = ~np.asarray(mask, dtype=bool)
    _, labels, stats = _components(background, 12 - connectivity)
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right, bottom = left + stats[:, cv2.CC_STAT_WIDTH], top + stats[:, cv2.CC_STAT_HEIGHT]
    height, width = background.shape
    outside = (left == 0) | (top == 0) | (right == width) | (bottom == height)
    outside[0] = False  # label 0 is the mask itself
    return ~outside[labels]


def filter_size(mask: np.ndarray, min_size: float = 0, max_size: float = math.inf,
                connectivity: int = 8) -> np.ndarray:
    """Keep the objects of ``min_size`` to ``max_size`` pixels (inclusive), as Analyze Particles' size range."""
    import cv2

    _, labels, stats = _components(mask, connectivity)
    area = stats[:, cv2.CC_STAT_AREA]
    keep = (area >= min_size) & (area <= max_size)
    keep[0] = False
    return keep[labels]


def remove_small(mask: np.ndarray, min_size: float, connectivity: int = 8) -> np.ndarray:
    """Drop objects smaller than ``min_size`` pixels."""
    return filter_size(mask, min_size=min_size, connectivity=connectivity)


def remove_large(mask: np.ndarray, max_size: float, connectivity: int = 8) -> np.ndarray:
    """Drop objects larger than ``max_size`` pixels."""
    return filter_size(mask, max_size=max_size, connectivity=connectivity)


Orientation = Literal["any", "rows", "columns"]


def line_objects(mask: np.ndarray, min_length: int = 1, orientation: Orientation = "any",
                 connectivity: int = 8) -> np.ndarray:
    """Keep only objects that are one pixel thick: a run along a row or a column (hot pixels and columns).

    ``orientation`` "rows" keeps horizontal runs, "columns" vertical ones, "any" both; single pixels are
    both. Runs shorter than ``min_length`` pixels are dropped.
    """
    import cv2

    _, labels, stats = _components(mask, connectivity)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    horizontal = (h == 1) & (w >= min_length)
    vertical = (w == 1) & (h >= min_length)
    keep = {"any": horizontal | vertical, "rows": horizontal, "columns": vertical}.get(orientation)
    if keep is None:
        raise CcdstudioError(f"unknown orientation {orientation!r}; choose any, rows or columns")
    keep[0] = False
    return keep[labels]


def classify_defects(mask: np.ndarray, *, hot_class: int | None = None, cluster_class: int | None = None,
                     min_line_length: int = 1, max_cluster_size: float = math.inf,
                     connectivity: int = 8) -> np.ndarray:
    """A uint8 label map of CCD defects: line-shaped objects (``>= min_line_length`` pixels along one row
    or column) as hot pixels/columns, the other objects up to ``max_cluster_size`` pixels as clusters.

    Class indices default to the "ccd" preset's ``hot_pixel`` and ``cluster``; larger objects stay 0.
    """
    from ccdstudio.labels.classes import ClassSet

    preset = ClassSet.preset("ccd")
    hot = preset.index("hot_pixel") if hot_class is None else hot_class
    cluster = preset.index("cluster") if cluster_class is None else cluster_class
    lines = line_objects(mask, min_line_length, "any", connectivity)
    others = filter_size(np.asarray(mask, dtype=bool) & ~lines, max_size=max_cluster_size,
                         connectivity=connectivity)
    labels = np.zeros(np.shape(mask), dtype=np.uint8)
    labels[others] = cluster
    labels[lines] = hot
    return labels


@dataclass(frozen=True)
class CleanParams:
    """Fiji's clean-up recipe for a prediction: threshold -> dilate -> Analyze Particles (min size) ->
    masks -> invert.

    ``threshold`` selects ``value >= threshold``; ``dilate`` is in pixels (0: none); ``min_size`` in pixels.
    """

    threshold: float = 0.5
    dilate: int = 0
    min_size: float = 0
    invert: bool = False
    shape: Shape = "disk"
    connectivity: int = 8


def clean_prediction(prob_or_image: np.ndarray, params: CleanParams | None = None) -> np.ndarray:
    """Turn a probability map (or any image) into a clean boolean mask with the :class:`CleanParams` recipe."""
    params = params or CleanParams()
    data = np.asarray(prob_or_image)
    if data.ndim != 2:
        raise CcdstudioError(f"expected a 2-D probability map, not shape {data.shape}")
    with np.errstate(invalid="ignore"):
        mask = data >= params.threshold
    mask = dilate(mask, params.dilate, params.shape)
    if params.min_size > 0:
        mask = remove_small(mask, params.min_size, params.connectivity)
    return invert(mask) if params.invert else mask
