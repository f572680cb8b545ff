"""Outlines of pixel regions along pixel edges, and COCO run-length encoding.

Coordinates here are pixel *corners*: pixel ``[y, x]`` covers the square from corner ``(x, y)`` to
``(x + 1, y + 1)``. This is COCO's convention for boxes and polygons, so an outline traced here and
rasterised by pycocotools gives back exactly the pixels it was traced from.
"""

from __future__ import annotations

import numpy as np

# Unit steps between corners, in (dx, dy): right, down, left, up. Image y points down, so walking these
# with the region on the right-hand side goes clockwise on screen around a region and anticlockwise
# around a hole.
_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


def pixel_outlines(mask: np.ndarray) -> list[np.ndarray]:
    """Closed outlines of the ``True`` pixels of ``mask``, as ``(k, 2)`` int arrays of ``(x, y)`` corners.

    Outer outlines run clockwise on screen (positive :func:`signed_area`), outlines of holes the other
    way (negative). Only corners where the outline turns are kept. Pixels touching only at a corner are
    kept apart (4-connectivity), so every outline is a simple polygon and the union of the outer ones minus
    the holes is exactly the mask.
    """
    m = np.pad(np.asarray(mask, bool), 1)
    inside = m[1:-1, 1:-1]
    # Directed boundary edges with the region on their right, one array of start corners per direction.
    starts = [
        np.argwhere(inside & ~m[:-2, 1:-1])[:, ::-1],  # top edge, walking right from the top-left corner
        np.argwhere(inside & ~m[1:-1, 2:])[:, ::-1] + (1, 0),  # right edge, walking down from the top-right
        np.argwhere(inside & ~m[2:, 1:-1])[:, ::-1] + (1, 1),  # bottom edge, walking left from bottom-right
        np.argwhere(inside & ~m[1:-1, :-2])[:, ::-1] + (0, 1),  # left edge, walking up from the bottom-left
    ]
    outgoing: dict[tuple[int, int], list[int]] = {}
    for direction, corners in enumerate(starts):
        for x, y in corners.tolist():
            outgoing.setdefault((x, y), []).append(direction)

    outlines = []
    while outgoing:
        start = next(iter(outgoing))
        start_is_saddle = len(outgoing[start]) == 2
        corner, first = start, outgoing[start][0]
        direction, points = first, []
        while True:
            directions = outgoing[corner]
            if corner != start or points:
                # Where two pixels touch only at this corner, turn right (towards the region being walked
                # around) so they stay apart; anywhere else there is one way on.
                direction = (direction + 1) % 4 if len(directions) == 2 else directions[0]
            directions.remove(direction)
            if not directions:
                del outgoing[corner]
            points.append((corner, direction))
            dx, dy = _STEPS[direction]
            corner = (corner[0] + dx, corner[1] + dy)
            # Back at the start the loop is closed, unless the start is such a corner and this walk
            # arrives on the edge that pairs with the start's other way out.
            if corner == start and (not start_is_saddle or (direction + 1) % 4 == first):
                break
        outlines.append(_turning_corners(points))
    return outlines


def _turning_corners(points: list[tuple[tuple[int, int], int]]) -> np.ndarray:
    """The corners of a walk where its direction changes."""
    kept = [corner for i, (corner, direction) in enumerate(points) if direction != points[i - 1][1]]
    return np.array(kept, dtype=np.int64)


def signed_area(outline: np.ndarray) -> float:
    """Shoelace area of a closed outline: positive for outer outlines, negative for holes."""
    x, y = outline[:, 0].astype(float), outline[:, 1].astype(float)
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def rle_encode(mask: np.ndarray, offset: tuple[int, int] = (0, 0), shape: tuple[int, int] | None = None) -> dict:
    """COCO's uncompressed RLE of ``mask`` placed at ``offset = (y, x)`` in a frame of ``shape``.

    The counts alternate runs of 0 and 1 in column-major order (down each column, then the next column),
    starting with a (possibly empty) run of 0, as pycocotools expects. Only the box's columns are touched,
    so a small region in a huge frame is cheap.
    """
    mask = np.asarray(mask, bool)
    height, width = shape or mask.shape
    y0, x0 = offset
    # Toggle positions: within each column of the box, where a run of 1 starts or ends.
    columns = np.pad(mask.T, ((0, 0), (1, 1))).astype(np.int8)
    col, row = np.nonzero(np.diff(columns, axis=1))
    positions = (x0 + col) * height + (y0 + row)
    # A run ending at the bottom of one column and one starting at the top of the next are the same
    # position: the run simply continues, so both toggles vanish.
    positions, repeats = np.unique(positions, return_counts=True)
    positions = positions[(repeats % 2 == 1) & (positions < height * width)]  # a run may end the frame
    bounds = np.concatenate([[0], positions, [height * width]])
    return {"size": [int(height), int(width)], "counts": np.diff(bounds).astype(int).tolist()}
