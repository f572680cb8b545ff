"""A slow, literal re-implementation of ImageJ's particle analyzer loop, for checking the vectorised one.

It follows ImageJ's published algorithms step by step: scan rows for a thresholded pixel, trace its outline
with the wand (``Wand.traceEdge``: outside on the left, 8-connected tries to turn left first, 4-connected
right), measure the traced perimeter (``PolygonRoi.getTracedPerimeter``), take the particle's pixels (flood
fill without "include holes", the polygon's inside with it), then erase them and scan on.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def trace(image: np.ndarray, x0: int, y0: int, four: bool = False) -> tuple[list[int], list[int]]:
    """Outline polygon vertices of the particle whose first pixel (raster order) is ``(x0, y0)``."""
    height, width = image.shape

    def inside(x: int, y: int) -> bool:
        return 0 <= x < width and 0 <= y < height and bool(image[y, x])

    def inside_dir(x: int, y: int, d: int) -> bool:
        d &= 3
        return inside(x, y) if d == 0 else inside(x, y - 1) if d == 1 else inside(x - 1, y - 1) if d == 2 \
            else inside(x - 1, y)

    x = x0
    while inside(x, y0):
        x += 1
    start_x, start_y, direction = x, y0 + 1, 3  # pixel (x, y0) is outside: start downwards
    cx, cy = start_x, start_y
    xs: list[int] = []
    ys: list[int] = []
    while True:
        if four:
            new = direction
            while True:
                if not inside_dir(cx, cy, new):
                    break
                new += 1
                if not new < direction + 2:
                    break
            new -= 1
        else:
            new = direction + 1
            while True:
                if inside_dir(cx, cy, new):
                    break
                new -= 1
                if not new >= direction:
                    break
        if new != direction:
            xs.append(cx)
            ys.append(cy)
        step = new & 3
        cx += 1 if step == 0 else -1 if step == 2 else 0
        cy += -1 if step == 1 else 1 if step == 3 else 0
        direction = new
        if cx == start_x and cy == start_y and (direction & 3) == 3:
            break
    if xs[0] != cx:
        xs.append(cx)
        ys.append(cy)
    return xs, ys


def traced_perimeter(xs: list[int], ys: list[int]) -> float:
    """``PolygonRoi.getTracedPerimeter`` with unit pixels."""
    n = len(xs)
    sum_dx = sum_dy = corners = 0
    dx1, dy1 = xs[0] - xs[n - 1], ys[0] - ys[n - 1]
    side1 = abs(dx1) + abs(dy1)
    corner = False
    for i in range(n):
        nxt = (i + 1) % n
        dx2, dy2 = xs[nxt] - xs[i], ys[nxt] - ys[i]
        sum_dx += abs(dx1)
        sum_dy += abs(dy1)
        side2 = abs(dx2) + abs(dy2)
        if side1 > 1 or not corner:
            corner = True
            corners += 1
        else:
            corner = False
        dx1, dy1, side1 = dx2, dy2, side2
    return sum_dx + sum_dy - corners * (2 - math.sqrt(2))


def polygon_inside(xs: list[int], ys: list[int], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centres lie inside the polygon (even-odd rule; centres never sit on its edges)."""
    height, width = shape
    cy, cx = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros(shape, dtype=bool)
    n = len(xs)
    for i in range(n):
        x1, y1, y2 = xs[i], ys[i], ys[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (cy > min(y1, y2)) & (cy < max(y1, y2)) & (cx < x1)  # vertical edge at x = x1
        inside ^= crosses
    return inside


def analyze(mask: np.ndarray, include_holes: bool = False, four: bool = False) -> list[dict]:
    """ImageJ's Analyze Particles loop on a boolean mask: one dict per particle, in ImageJ's order."""
    image = np.array(mask, dtype=bool)
    include_holes = include_holes or four
    structure = np.ones((3, 3), bool) if not four else ndimage.generate_binary_structure(2, 1)
    results = []
    height, width = image.shape
    for y in range(height):
        for x in range(width):
            if not image[y, x]:
                continue
            xs, ys = trace(image, x, y, four)
            bx, by = min(xs), min(ys)
            bw, bh = max(xs) - bx, max(ys) - by
            if bw > 1 and bh > 1:
                if include_holes:
                    pixels = polygon_inside(xs, ys, image.shape)
                else:
                    labels, _ = ndimage.label(image, structure)
                    pixels = labels == labels[y, x]
            else:
                pixels = np.zeros_like(image)
                pixels[by:by + bh, bx:bx + bw] = True
            rr, cc = np.nonzero(pixels)
            results.append({"area": int(pixels.sum()), "perimeter": traced_perimeter(xs, ys), "bx": bx,
                            "by": by, "width": bw, "height": bh, "x": cc.mean() + 0.5, "y": rr.mean() + 0.5,
                            "edge": bx == 0 or by == 0 or bx + bw == width or by + bh == height})
            image[pixels] = False
    return results
