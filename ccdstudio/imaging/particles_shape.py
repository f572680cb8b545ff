"""Shape measurements of particles as ImageJ makes them: the best-fitting ellipse (``EllipseFitter``), the
convex hull of the traced outline (Solidity) and Feret's diameters, vectorised over all particles.

Coordinates here are pixel *corners*: pixel ``(r, c)`` covers ``[c, c + 1] x [r, r + 1]``, as ImageJ's
traced polygons do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# ImageJ's EllipseFitter constants, kept verbatim so that results (and exact ties) match it
_HALFPI = 1.5707963267949
_SQRT_PI = 1.772453851
_ONE_TWELFTH = 0.08333333


@dataclass(frozen=True)
class Ellipse:
    """Per-particle ellipse fits: axis lengths in pixels and the angle in degrees (0-180, counterclockwise
    from the x axis as seen on screen)."""

    major: np.ndarray
    minor: np.ndarray
    angle: np.ndarray


def fit_ellipses(n: np.ndarray, xsum: np.ndarray, ysum: np.ndarray, x2sum: np.ndarray, y2sum: np.ndarray,
                 xysum: np.ndarray, width: np.ndarray, height: np.ndarray) -> Ellipse:
    """ImageJ's ``EllipseFitter`` from per-particle pixel sums.

    The sums are over pixel indices relative to the particle's bounding box (``x = col - left``), as
    ImageJ computes them. A particle one pixel wide or high has no mask in ImageJ's particle analyzer and is
    fitted as its bounding rectangle (``major = 2 * width / sqrt(pi)``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = (x2sum + _ONE_TWELFTH * n) / n
        y2 = (y2sum + _ONE_TWELFTH * n) / n
        x1, y1, xy = xsum / n, ysum / n, xysum / n
        u20, u02, u11 = x2 - x1 * x1, y2 - y1 * y1, xy - x1 * y1
        m4 = 4.0 * np.abs(u02 * u20 - u11 * u11)
        m4 = np.where(m4 < 0.000001, 0.000001, m4)
        a11, a12, a22 = u02 / m4, u11 / m4, u20 / m4
        tmp = a11 - a22
        tmp = np.where(tmp == 0.0, 0.000001, tmp)
        theta = 0.5 * np.arctan(2.0 * a12 / tmp)
        theta = np.where(theta < 0.0, theta + _HALFPI, theta)
        theta = np.where(a12 > 0.0, theta + _HALFPI, theta)
        swap = (a12 == 0.0) & (a22 > a11)
        theta = np.where(swap, 0.0, theta)
        theta = np.where((a12 == 0.0) & ~swap & (a11 != a22), _HALFPI, theta)
        a11, a22 = np.where(swap, a22, a11), np.where(swap, a11, a22)
        sin = np.sin(theta)
        z = a12 * np.cos(theta) / np.where(sin == 0.0, 0.000001, sin)
        major = np.sqrt(1.0 / np.abs(a22 + z))
        minor = np.sqrt(1.0 / np.abs(a11 - z))
        scale = np.sqrt(n / (math.pi * major * minor))
        major, minor = major * scale * 2.0, minor * scale * 2.0
    angle = 180.0 * theta / math.pi
    angle = np.where(angle == 180.0, 0.0, angle)
    major, minor = np.maximum(major, minor), np.minimum(major, minor)
    thin = (width == 1) | (height == 1)
    rect_w, rect_h = width * 2 / _SQRT_PI, height * 2 / _SQRT_PI
    major = np.where(thin, np.maximum(rect_w, rect_h), major)
    minor = np.where(thin, np.minimum(rect_w, rect_h), minor)
    angle = np.where(thin, np.where(rect_w < rect_h, 90.0, 0.0), angle)
    return Ellipse(major, minor, angle)


@dataclass(frozen=True)
class HullChains:
    """The convex hull of each particle as a left and a right chain of corner points, top to bottom.

    ``left_*`` and ``right_*`` are concatenated over particles; ``*_label`` says whose point it is.
    """

    left_y: np.ndarray
    left_x: np.ndarray
    left_label: np.ndarray
    right_y: np.ndarray
    right_x: np.ndarray
    right_label: np.ndarray

    def area(self, n_labels: int) -> np.ndarray:
        """Hull areas (index = label), the area between the two chains."""
        return (_trapezoids(self.right_y, self.right_x, self.right_label, n_labels)
                - _trapezoids(self.left_y, self.left_x, self.left_label, n_labels))

    def polygon(self, label: int) -> np.ndarray:
        """The hull of one particle as ``(k, 2)`` ``(x, y)`` vertices, starting at its top-left corner and
        running down the left side (counterclockwise on screen), without repeated points."""
        left = slice(*np.searchsorted(self.left_label, (label, label + 1)))
        right = slice(*np.searchsorted(self.right_label, (label, label + 1)))
        xs = np.concatenate((self.left_x[left], self.right_x[right][::-1]))
        ys = np.concatenate((self.left_y[left], self.right_y[right][::-1]))
        points = np.stack((xs, ys), axis=1)
        keep = np.ones(len(points), dtype=bool)
        keep[1:] = np.any(points[1:] != points[:-1], axis=1)
        points = points[keep]
        if len(points) > 1 and np.array_equal(points[0], points[-1]):
            points = points[:-1]
        return points


def _trapezoids(y: np.ndarray, x: np.ndarray, label: np.ndarray, n_labels: int) -> np.ndarray:
    same = label[1:] == label[:-1]
    parts = (y[1:] - y[:-1]) * (x[1:] + x[:-1]) / 2.0
    return np.bincount(label[1:][same], weights=parts[same], minlength=n_labels + 1)


def hull_chains(run_label: np.ndarray, run_row: np.ndarray, run_first: np.ndarray,
                run_last: np.ndarray) -> HullChains:
    """Convex hulls from the particles' row runs (each run: label, row, first and last column).

    Only each row's leftmost and rightmost pixel corners matter; they are pruned to the convex chains.
    """
    order = np.argsort(run_label, kind="stable")  # runs stay in raster order within each particle
    label, row = run_label[order], run_row[order]
    first, last = run_first[order], run_last[order] + 1
    new_row = np.ones(label.size, dtype=bool)
    new_row[1:] = (label[1:] != label[:-1]) | (row[1:] != row[:-1])
    starts = np.flatnonzero(new_row)
    g_label, g_row = label[starts], row[starts]
    g_left = np.minimum.reduceat(first, starts) if label.size else first
    g_right = np.maximum.reduceat(last, starts) if label.size else last
    chains = []
    for xs, better in ((g_left, np.minimum), (g_right, np.maximum)):
        previous_same = np.zeros(g_label.size, dtype=bool)
        previous_same[1:] = g_label[1:] == g_label[:-1]
        # the corner line y = row is shared by this row and the one above: keep the outer x of the two
        x_top = xs.copy()
        x_top[previous_same] = better(xs[1:], xs[:-1])[previous_same[1:]]
        last_of_label = np.append(~previous_same[1:], True)[:g_label.size]
        ys = np.concatenate((g_row, g_row[last_of_label] + 1))
        xv = np.concatenate((x_top, xs[last_of_label]))
        lv = np.concatenate((g_label, g_label[last_of_label]))
        order2 = np.lexsort((ys, lv))
        chains.append(_prune(ys[order2], xv[order2], lv[order2], convex_left=better is np.minimum))
    (ly, lx, ll), (ry, rx, rl) = chains
    return HullChains(ly, lx, ll, ry, rx, rl)


def _prune(y: np.ndarray, x: np.ndarray, label: np.ndarray, convex_left: bool) -> tuple[np.ndarray, ...]:
    """Drop chain points that are not strict hull vertices, all particles at once, until none is left.

    Dropping every point that does not bulge outwards past its two neighbours, all at the same time, is
    safe: each such point lies inside the hull of the points that remain.
    """
    idx = np.arange(y.size)
    sign = -1.0 if convex_left else 1.0
    while idx.size > 2:
        lab = label[idx]
        interior = np.zeros(idx.size, dtype=bool)
        interior[1:-1] = (lab[1:-1] == lab[:-2]) & (lab[1:-1] == lab[2:])
        a, b, c = idx[:-2], idx[1:-1], idx[2:]
        cross = (x[b] - x[a]) * (y[c] - y[a]) - (x[c] - x[a]) * (y[b] - y[a])
        drop = np.zeros(idx.size, dtype=bool)
        drop[1:-1] = interior[1:-1] & (sign * cross <= 0)
        if not drop.any():
            break
        idx = idx[~drop]
    return y[idx], x[idx], label[idx]


@dataclass(frozen=True)
class Feret:
    """Feret's diameter (max caliper), its angle (degrees, 0-180), start point, and the min caliper."""

    feret: np.ndarray
    angle: np.ndarray
    min_feret: np.ndarray
    x: np.ndarray
    y: np.ndarray


def feret_values(hulls: HullChains, labels: np.ndarray, pixel_size: float = 1.0) -> Feret:
    """ImageJ's ``Roi.getFeretValues`` on each particle's convex hull (one small loop per particle).

    The diameter's start point is its left end (ImageJ's FeretX, FeretY); ties between equally long
    diameters go to the first pair in hull order, starting at the top-left corner.
    """
    out = np.zeros((5, labels.size))
    for i, label in enumerate(labels):
        points = hulls.polygon(int(label)).astype(np.float64)
        d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        d2 = np.triu(d2, 1)
        p1, p2 = np.unravel_index(int(np.argmax(d2)), d2.shape)  # first maximum in (i, j) order
        if points[p1, 0] > points[p2, 0]:
            p1, p2 = p2, p1
        (x1, y1), (x2, y2) = points[p1], points[p2]
        angle = math.degrees(math.atan2(y1 - y2, x2 - x1))
        out[:, i] = (math.sqrt(d2.max()), angle + 180.0 if angle < 0 else angle, _min_caliper(points), x1, y1)
    feret, angle, min_feret, fx, fy = out
    return Feret(feret * pixel_size, angle, min_feret * pixel_size, fx * pixel_size, fy * pixel_size)


def _min_caliper(points: np.ndarray) -> float:
    """The smallest width of a convex polygon: over its edges, the largest distance of a vertex from it."""
    if len(points) < 3:
        return 0.0
    edge = np.roll(points, -1, axis=0) - points
    normal = np.stack((edge[:, 1], -edge[:, 0]), axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    distance = np.abs((points[None, :, :] - points[:, None, :]) @ normal[:, :, None])[..., 0]
    return float(distance.max(axis=1).min())
