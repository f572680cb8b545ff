"""Every ImageJ measurement of every particle of a mask, vectorised: the engine under
:func:`ccdstudio.imaging.particles.analyze_particles` (read that module for the definitions).

The work is done on the list of foreground pixels only: OpenCV labels the mask, per-particle sums are
``np.bincount`` over the pixel list, neighbour tests are gathers into the label image. Particles with
holes (found by their Euler number) are the only ones handled one by one, to fill their holes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ccdstudio.imaging.particles_shape import feret_values, fit_ellipses, hull_chains
from ccdstudio.imaging.perimeter import (
    NE,
    NW,
    SE,
    SW,
    E,
    N,
    PixelGrid,
    S,
    W,
    traced_perimeters,
)
from ccdstudio.imaging.table import Table

if TYPE_CHECKING:
    from ccdstudio.imaging.particles import ParticleOptions

IMAGEJ_COLUMNS = ("Area", "Mean", "StdDev", "Min", "Max", "X", "Y", "XM", "YM", "Perim.", "BX", "BY", "Width",
                  "Height", "Major", "Minor", "Angle", "Circ.", "Feret", "IntDen", "RawIntDen", "FeretX",
                  "FeretY", "FeretAngle", "MinFeret", "AR", "Round", "Solidity")
"""ImageJ's Results columns in ImageJ's order (Feret columns only when asked for)."""

BINARY_VALUE = 255.0
"""What ImageJ measures inside a particle of an 8-bit binary mask."""


@dataclass(frozen=True)
class Measured:
    """All particles in ImageJ's order, before the size/circularity/edge filters."""

    table: Table
    perimeter_px: np.ndarray
    touches_edge: np.ndarray
    swallowed: np.ndarray
    """Particles inside another particle's hole, erased by it when holes are included."""
    pixel_index: np.ndarray
    """Flat image index of every pixel that belongs to a particle (holes included when asked)."""
    pixel_label: np.ndarray
    """The particle (1-based, ImageJ order) of each entry of ``pixel_index``."""
    label_image: np.ndarray
    """OpenCV's label image, zero wherever ``pixel_index`` does not point; free to reuse."""

    @property
    def count(self) -> int:
        return len(self.table)


def measure_components(mask: np.ndarray, image: np.ndarray | None, options: ParticleOptions) -> Measured:
    """Label ``mask`` as ImageJ traces it and measure every particle (no filtering)."""
    import cv2

    height, width = mask.shape
    include_holes = options.include_holes or options.connectivity == 4
    count, label_image, stats, _ = cv2.connectedComponentsWithStats(
        mask.view(np.uint8), connectivity=options.connectivity, ltype=cv2.CV_32S)
    n = count - 1
    flat_index = np.flatnonzero(mask)
    labels = label_image.reshape(-1)[flat_index]
    rows, cols = np.divmod(flat_index, width)
    grid = PixelGrid(rows, cols, labels, label_image)

    first = np.full(count, flat_index.size, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(flat_index.size))
    first[0] = -1
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    box_w, box_h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]

    holes = _holes(grid, count, options.connectivity)
    holed = np.flatnonzero(holes > 0)
    filled = _fill_holes(label_image, holed, stats, options.connectivity, count)

    perimeter = traced_perimeters(grid, n, first, options.connectivity, skip=holes > 0)
    if holed.size:
        perimeter[holed] = traced_perimeters(filled.grid, n, filled.first_pixel, options.connectivity)[holed]

    # the pixels each particle is measured over
    swallowed = np.zeros(count, dtype=bool)
    if include_holes and holed.size:
        swallowed[filled.swallowed] = True
        own = ~swallowed[labels]
        own_holes = ~swallowed[filled.hole_labels]
        m_rows = np.concatenate((rows[own], filled.hole_rows[own_holes]))
        m_cols = np.concatenate((cols[own], filled.hole_cols[own_holes]))
        m_labels = np.concatenate((labels[own], filled.hole_labels[own_holes]))
    else:
        m_rows, m_cols, m_labels = rows, cols, labels
    m_index = m_rows * width + m_cols
    values = (np.full(m_index.size, BINARY_VALUE) if image is None
              else np.asarray(image).reshape(-1)[m_index].astype(np.float64))

    def total(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(m_labels, weights=weights, minlength=count)

    npix = total()
    safe_n = np.maximum(npix, 1)
    rel_x = (m_cols - left[m_labels]).astype(np.float64)
    rel_y = (m_rows - top[m_labels]).astype(np.float64)
    sx, sy = total(rel_x), total(rel_y)
    sum_v, sum_v2 = total(values), total(values * values)
    sum_xv, sum_yv = total(rel_x * values), total(rel_y * values)
    v_min = np.full(count, np.inf)
    v_max = np.full(count, -np.inf)
    np.minimum.at(v_min, m_labels, values)
    np.maximum.at(v_max, m_labels, values)

    px = options.pixel_size
    mean = sum_v / safe_n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (npix * sum_v2 - sum_v * sum_v) / npix / (npix - 1)
        std = np.where(npix > 1, np.sqrt(np.maximum(var, 0.0)), 0.0)
        xm = np.where(sum_v != 0, sum_xv / sum_v, sx / safe_n)
        ym = np.where(sum_v != 0, sum_yv / sum_v, sy / safe_n)
    ellipse = fit_ellipses(npix, sx, sy, total(rel_x * rel_x), total(rel_y * rel_y), total(rel_x * rel_y),
                           box_w, box_h)
    area = npix * px * px
    perim_cal = perimeter * px
    hulls = hull_chains(*_row_runs(grid))
    hull_area = hulls.area(n)

    columns: dict[str, np.ndarray] = {
        "Area": area,
        "Mean": mean,
        "StdDev": std,
        "Min": v_min,
        "Max": v_max,
        "X": (sx / safe_n + left + 0.5) * px,
        "Y": (sy / safe_n + top + 0.5) * px,
        "XM": (xm + left + 0.5) * px,
        "YM": (ym + top + 0.5) * px,
        "Perim.": perim_cal,
        "BX": left * px,
        "BY": top * px,
        "Width": box_w * px,
        "Height": box_h * px,
        "Major": ellipse.major * px,
        "Minor": ellipse.minor * px,
        "Angle": ellipse.angle,
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["Circ."] = np.minimum(np.where(perim_cal > 0, 4.0 * math.pi * area / perim_cal ** 2, 0.0), 1.0)
        columns["IntDen"] = area * mean
        columns["RawIntDen"] = sum_v
        columns["AR"] = ellipse.major / ellipse.minor
        columns["Round"] = 4.0 * area / (math.pi * (ellipse.major * px) ** 2)
        columns["Solidity"] = npix / np.where(hull_area > 0, hull_area, np.nan)
    order = np.argsort(first[1:], kind="stable") + 1  # ImageJ numbers particles in raster order
    if options.feret:
        feret = feret_values(hulls, order, px)
        feret_columns = {"Feret": feret.feret, "FeretX": feret.x, "FeretY": feret.y,
                         "FeretAngle": feret.angle, "MinFeret": feret.min_feret}
    table = Table()
    for name in IMAGEJ_COLUMNS:
        if name in columns:
            table[name] = columns[name][order]
        elif options.feret:
            table[name] = feret_columns[name]
    table["label"] = np.zeros(n, dtype=np.int32)
    table["npix"] = npix[order].astype(np.int64)
    if options.pedestal is not None:
        _add_energy(table, order, m_labels, m_rows, m_cols, rel_x, rel_y, values, count, mask.shape, options)

    rank = np.zeros(count, dtype=np.int32)
    rank[order] = np.arange(1, n + 1, dtype=np.int32)
    right, bottom = left + box_w, top + box_h
    touches = (left == 0) | (top == 0) | (right == width) | (bottom == height)
    return Measured(table, perimeter[order], touches[order], swallowed[order], m_index, rank[m_labels],
                    label_image)


def _add_energy(table: Table, order: np.ndarray, m_labels: np.ndarray, m_rows: np.ndarray, m_cols: np.ndarray,
                rel_x: np.ndarray, rel_y: np.ndarray, values: np.ndarray, count: int,
                shape: tuple[int, int], options: ParticleOptions) -> None:
    """The CCD columns: charge above the pedestal and its RMS spread."""
    pedestal = np.asarray(options.pedestal, dtype=np.float64)
    if pedestal.ndim:
        pedestal = np.broadcast_to(pedestal, shape)[m_rows, m_cols]
    charge = values - pedestal
    energy = np.bincount(m_labels, weights=charge, minlength=count)
    table["energy_adu"] = energy[order]
    if options.gain is not None:
        electrons = energy / options.gain
        table["energy_e"] = electrons[order]
        table["energy_kev"] = (electrons * options.ev_per_electron / 1000.0)[order]
    weight = np.maximum(charge, 0.0)  # negative noise pixels would make a variance negative
    w = np.bincount(m_labels, weights=weight, minlength=count)
    safe_w = np.where(w > 0, w, np.nan)
    for name, rel in (("sigma_x", rel_x), ("sigma_y", rel_y)):
        first_moment = np.bincount(m_labels, weights=weight * rel, minlength=count) / safe_w
        second = np.bincount(m_labels, weights=weight * rel * rel, minlength=count) / safe_w
        table[name] = np.sqrt(np.maximum(second - first_moment ** 2, 0.0))[order]


def _row_runs(grid: PixelGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row run of a particle: its label, row, first and last column (runs are in raster order)."""
    starts = np.flatnonzero(~grid.same(W))
    ends = np.flatnonzero(~grid.same(E))
    return grid.labels[starts], grid.rows[starts], grid.cols[starts], grid.cols[ends]


def _holes(grid: PixelGrid, count: int, connectivity: int) -> np.ndarray:
    """Number of holes of each particle, from its Euler number counted over 2 x 2 pixel quads.

    Each quad that holds pixels of a particle is counted once, by its first pixel in raster order;
    ``euler = (Q1 - Q3 -/+ 2 QD) / 4`` for 8-/4-connected particles (Gray's bit quads), holes = 1 - euler.
    """
    same = grid.same
    none = np.zeros(len(grid), dtype=bool)
    # each quad a pixel owns: (owned?, its other member pixels, is it a diagonal pair?)
    quads = (
        (~none, (same(E), same(S), same(SE)), same(SE) & ~same(E) & ~same(S)),  # the pixel is top-left
        (~same(W), (same(SW), same(S)), same(SW) & ~same(S)),                  # top-right, top-left empty
        (~same(N) & ~same(NE), (same(E),), none),                              # bottom-left, top row empty
        (~same(NW) & ~same(N) & ~same(W), (), none),                           # bottom-right, alone
    )
    q1 = np.zeros(count, np.int64)
    q3 = np.zeros(count, np.int64)
    qd = np.zeros(count, np.int64)
    for owned, others, diagonal in quads:
        members = 1 + sum((o.astype(np.int8) for o in others), np.zeros(len(grid), np.int8))
        q1 += np.bincount(grid.labels[owned & (members == 1)], minlength=count)
        q3 += np.bincount(grid.labels[owned & (members == 3)], minlength=count)
        qd += np.bincount(grid.labels[owned & (members == 2) & diagonal], minlength=count)
    sign = -2 if connectivity == 8 else 2
    euler = (q1 - q3 + sign * qd) // 4
    holes = 1 - euler
    holes[0] = 0
    return holes


@dataclass(frozen=True)
class _Filled:
    grid: PixelGrid
    first_pixel: np.ndarray
    hole_rows: np.ndarray
    hole_cols: np.ndarray
    hole_labels: np.ndarray
    swallowed: np.ndarray


def _fill_holes(label_image: np.ndarray, holed: np.ndarray, stats: np.ndarray, connectivity: int,
                count: int) -> _Filled:
    """The particles with holes, filled, laid side by side on a virtual grid; and their hole pixels."""
    import cv2

    rows, cols, labs, h_rows, h_cols, h_labs, swallowed = [], [], [], [], [], [], []
    offset = 1
    for label in holed:
        x0, y0, w, h = (int(v) for v in stats[label, :4])  # cv2's LEFT, TOP, WIDTH, HEIGHT
        crop = label_image[y0:y0 + h, x0:x0 + w]
        own = crop == label
        # background reachable from the frame around the box is outside; the rest is hole
        background = np.ones((h + 2, w + 2), np.uint8)
        background[1:-1, 1:-1] = ~own
        _, regions = cv2.connectedComponents(background, connectivity=12 - connectivity, ltype=cv2.CV_32S)
        filled = regions[1:-1, 1:-1] != regions[0, 0]
        fr, fc = np.nonzero(filled)
        rows.append(fr + 1)
        cols.append(fc + offset)
        labs.append(np.full(fr.size, label, dtype=np.int32))
        hole = filled & ~own
        hr, hc = np.nonzero(hole)
        h_rows.append(hr + y0)
        h_cols.append(hc + x0)
        h_labs.append(np.full(hr.size, label, dtype=np.int32))
        swallowed.append(np.unique(crop[hole]))
        offset += w + 2
    empty = np.zeros(0, dtype=np.int64)
    rows_a, cols_a = np.concatenate(rows or [empty]), np.concatenate(cols or [empty])
    labs_a = np.concatenate(labs or [empty.astype(np.int32)])
    order = np.lexsort((cols_a, rows_a))
    grid = PixelGrid(rows_a[order], cols_a[order], labs_a[order])
    first_pixel = np.full(count, -1, dtype=np.int64)
    unique, first_index = np.unique(grid.labels, return_index=True)
    first_pixel[unique] = first_index
    swallowed_a = np.concatenate(swallowed or [empty]).astype(np.int64)
    return _Filled(grid, first_pixel, np.concatenate(h_rows or [empty]), np.concatenate(h_cols or [empty]),
                   np.concatenate(h_labs or [empty.astype(np.int32)]), swallowed_a[swallowed_a > 0])
