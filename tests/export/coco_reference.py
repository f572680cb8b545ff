"""An independent decoder of COCO segmentations following pycocotools' C code (maskApi.c) step by step.

pycocotools cannot be assumed in CI, so this mirrors its semantics: ``rleFrPoly`` (polygon scan conversion
at 5x upsampling, then the y-boundary crossings per column) and the decoding of uncompressed RLE (runs in
column-major order, starting with zeros). Polygons from several parts are merged by union, as ``annToRLE``
does with ``merge``.
"""

import math

import numpy as np


def rle_to_mask(counts: list[int], height: int, width: int) -> np.ndarray:
    flat = np.zeros(height * width, np.uint8)
    position, value = 0, 0
    for run in counts:
        flat[position : position + run] = value
        position += run
        value = 1 - value
    assert position == height * width, "RLE counts do not add up to the image size"
    return flat.reshape((width, height)).T  # column-major


def polygon_to_mask(xy: list[float], height: int, width: int) -> np.ndarray:
    """``rleFrPoly`` of maskApi.c, transcribed."""
    scale = 5.0
    k = len(xy) // 2
    x = [int(scale * xy[2 * j] + 0.5) for j in range(k)] + [int(scale * xy[0] + 0.5)]
    y = [int(scale * xy[2 * j + 1] + 0.5) for j in range(k)] + [int(scale * xy[1] + 0.5)]
    u, v = [], []
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx >= dy:
            s = 0.0 if dx == 0 else (ye - ys) / dx
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + xs)
                v.append(int(ys + s * t + 0.5))
        else:
            s = 0.0 if dy == 0 else (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + ys)
                u.append(int(xs + s * t + 0.5))
    bx, by = [], []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = (min(u[j], u[j - 1]) + 0.5) / scale - 0.5
        if math.floor(xd) != xd or xd < 0 or xd > width - 1:
            continue
        yd = (min(v[j], v[j - 1]) + 0.5) / scale - 0.5
        yd = min(max(yd, 0.0), float(height))
        bx.append(int(xd))
        by.append(int(math.ceil(yd)))
    a = sorted([xx * height + yy for xx, yy in zip(bx, by)] + [height * width])
    diffs, previous = [], 0
    for value in a:
        diffs.append(value - previous)
        previous = value
    counts, j = [diffs[0]], 1
    while j < len(diffs):  # a zero-length run merges its neighbours, as in the C code
        if diffs[j] > 0:
            counts.append(diffs[j])
            j += 1
        else:
            j += 1
            if j < len(diffs):
                counts[-1] += diffs[j]
                j += 1
    return rle_to_mask(counts, height, width)


def ann_to_mask(annotation: dict, height: int, width: int) -> np.ndarray:
    segm = annotation["segmentation"]
    if isinstance(segm, list):
        mask = np.zeros((height, width), np.uint8)
        for polygon in segm:
            mask |= polygon_to_mask(polygon, height, width)
        return mask
    assert segm["size"] == [height, width]
    return rle_to_mask(segm["counts"], height, width)
