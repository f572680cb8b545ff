"""ImageJ's traced perimeter ("Perim.") for every particle at once, without tracing any outline.

ImageJ traces a particle with ``Wand.autoOutline`` (8-connected by default) into a polygon along pixel edges
whose vertices are the turns of the outline, then measures it with ``PolygonRoi.getTracedPerimeter``::

    perimeter = sum|dx| * pw + sum|dy| * ph - nCorners * ((pw + ph) - sqrt(pw^2 + ph^2))

walking the vertices from ``xp[0]`` and counting vertex ``i`` as a corner when the side arriving at it is
longer than one pixel or when vertex ``i - 1`` was not counted. So every vertex after a long side counts,
and along a staircase of unit sides every other vertex counts. (A single pixel: 4 - 2(2 - sqrt 2) = 2.828;
a w x h rectangle with w, h >= 2: 2(w + h) - 4(2 - sqrt 2).)

Here the same number comes from local pixel configurations. Each boundary edge of a pixel is a directed
unit edge of the outline (inside on the right, as the wand walks); whether the outline turns at either end
of it depends only on the 3 x 3 neighbourhood. A vertex ends each side, so::

    nCorners = (vertices - unit sides) + sum over runs of consecutive unit sides of floor(run length / 2)
               + 1 when xp[0] sits at an odd position of an odd-length run (the walk starts counting there)

and a polygon made only of unit sides (a pixel, a diagonal line) has ``vertices / 2`` corners. Runs are
linked by pointer jumping over the unit sides only. ``xp[0]`` is where the wand starts: it scans right from
the particle's first pixel (top row, leftmost) to the end of that run and walks down its right edge, so
``xp[0]`` is the bottom-right corner of that run's last pixel when the outline turns there.

Only the outer outline is traced: for particles with holes, pass their hole-filled pixels.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# neighbour offsets (dr, dc)
N, NE, E, SE, S, SW, W, NW = (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)
TOP, RIGHT, BOTTOM, LEFT = range(4)

# For each side of a pixel, walked with the inside on the right: the 4-neighbour across it, the pixels
# behind (before its start vertex) and ahead (after its end vertex) along the walk and the outer diagonal
# pixels there, and the side of the diagonal neighbour that follows after a left turn.
class _Side(NamedTuple):
    across: tuple[int, int]
    behind: tuple[int, int]
    behind_out: tuple[int, int]
    ahead: tuple[int, int]
    ahead_out: tuple[int, int]
    left_next: int


_SIDES = {
    TOP: _Side(across=N, behind=W, behind_out=NW, ahead=E, ahead_out=NE, left_next=LEFT),
    RIGHT: _Side(across=E, behind=N, behind_out=NE, ahead=S, ahead_out=SE, left_next=TOP),
    BOTTOM: _Side(across=S, behind=E, behind_out=SE, ahead=W, ahead_out=SW, left_next=RIGHT),
    LEFT: _Side(across=W, behind=S, behind_out=SW, ahead=N, ahead_out=NW, left_next=BOTTOM),
}
_RIGHT_TURN_NEXT = {TOP: RIGHT, RIGHT: BOTTOM, BOTTOM: LEFT, LEFT: TOP}


class PixelGrid:
    """Foreground pixels in raster order with their labels, and neighbour look-ups.

    Either over a dense label image (fast gathers), or over the pixels alone (look-ups by binary search),
    for shapes that are not in any image, e.g. particles with their holes filled.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, labels: np.ndarray,
                 label_image: np.ndarray | None = None):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.labels = np.asarray(labels)
        self.image = label_image
        if label_image is not None:
            self.height, self.width = label_image.shape
            self.flat = label_image.reshape(-1)
        else:  # a virtual grid one pixel wider than the shapes, so that no neighbour wraps to another row
            self.height = int(self.rows.max(initial=0)) + 2
            self.width = int(self.cols.max(initial=0)) + 2
        self.keys = self.rows * self.width + self.cols
        if label_image is None and np.any(np.diff(self.keys) <= 0):
            raise ValueError("pixels must be in raster order without repeats")
        self._ok = {N: self.rows > 0, S: self.rows < self.height - 1,
                    W: self.cols > 0, E: self.cols < self.width - 1}
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return self.keys.size

    def _in_bounds(self, dr: int, dc: int) -> np.ndarray:
        ok = np.ones(len(self), dtype=bool)
        if dr:
            ok &= self._ok[(dr, 0)]
        if dc:
            ok &= self._ok[(0, dc)]
        return ok

    def same(self, offset: tuple[int, int]) -> np.ndarray:
        """Whether each pixel's neighbour at ``offset`` exists and carries the same label."""
        if offset not in self._cache:
            dr, dc = offset
            target = self.keys + (dr * self.width + dc)
            ok = self._in_bounds(dr, dc)
            if self.image is not None:
                np.clip(target, 0, self.flat.size - 1, out=target)
                ok &= self.flat[target] == self.labels
            else:
                pos = np.minimum(np.searchsorted(self.keys, target), len(self) - 1)
                ok &= (self.keys[pos] == target) & (self.labels[pos] == self.labels)
            self._cache[offset] = ok
        return self._cache[offset]

    def index_of(self, which: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
        """Positions (in this grid) of the neighbours at ``offset`` of the pixels ``which`` (they must exist)."""
        dr, dc = offset
        return np.searchsorted(self.keys, self.keys[which] + (dr * self.width + dc))


def traced_perimeters(grid: PixelGrid, n_labels: int, first_pixel: np.ndarray, connectivity: int = 8,
                      pixel_size: tuple[float, float] = (1.0, 1.0), skip: np.ndarray | None = None) -> np.ndarray:
    """ImageJ's ``Perim.`` of labels ``1 .. n_labels`` (index 0 of the result is unused and 0).

    Parameters
    ----------
    grid
        The particles' pixels; each label must be one particle without holes (fill them first).
    first_pixel
        For each label, the grid position of its first pixel in raster order (``-1`` for absent labels).
    connectivity
        8 (ImageJ's default tracing) or 4.
    pixel_size
        ``(pw, ph)``, the pixel width and height in calibrated units.
    skip
        Labels (a boolean per label) not to measure, e.g. those with holes; their result is meaningless.
    """
    labels = grid.labels
    n = len(grid)
    unit_id = np.full((n, 4), -1, dtype=np.int64)
    edges_h = np.zeros(n_labels + 1, np.int64)
    edges_v = np.zeros(n_labels + 1, np.int64)
    vertices = np.zeros(n_labels + 1, np.int64)
    unit_pix, unit_side, unit_next_pix, unit_next_side = [], [], [], []
    for side, geometry in _SIDES.items():
        exists = ~grid.same(geometry.across)
        turn_start = ~(grid.same(geometry.behind) & ~grid.same(geometry.behind_out))
        turn_end = ~(grid.same(geometry.ahead) & ~grid.same(geometry.ahead_out))
        counts = np.bincount(labels[exists], minlength=n_labels + 1)
        (edges_h if side in (TOP, BOTTOM) else edges_v)[:] += counts
        vertices += np.bincount(labels[exists & turn_end], minlength=n_labels + 1)
        pix = np.flatnonzero(exists & turn_start & turn_end)
        left = grid.same(geometry.ahead_out)[pix]
        if connectivity == 4:
            left &= grid.same(geometry.ahead)[pix]
        next_pix = pix.copy()
        next_pix[left] = grid.index_of(pix[left], geometry.ahead_out)
        unit_pix.append(pix)
        unit_side.append(np.full(pix.size, side))
        unit_next_pix.append(next_pix)
        unit_next_side.append(np.where(left, geometry.left_next, _RIGHT_TURN_NEXT[side]))
    pix, side = np.concatenate(unit_pix), np.concatenate(unit_side)
    unit_id[pix, side] = np.arange(pix.size)
    unit_label = labels[pix]
    units = np.bincount(unit_label, minlength=n_labels + 1)
    anchors = vertices - units
    looped = anchors[unit_label] == 0  # outlines made only of unit sides: no run has an end
    if skip is not None:
        looped |= skip[unit_label]  # hole outlines may be loops of unit sides too
    nxt = unit_id[np.concatenate(unit_next_pix), np.concatenate(unit_next_side)]
    nxt[looped] = -1
    tail, to_tail = _rank_runs(nxt)
    run_length = np.bincount(tail, minlength=tail.size)[tail]
    is_tail = (nxt < 0) & ~looped
    corners = anchors + np.bincount(unit_label[is_tail], weights=run_length[is_tail] // 2,
                                    minlength=n_labels + 1).astype(np.int64)
    corners += _start_correction(grid, unit_id, first_pixel, run_length, to_tail, looped)
    corners = np.where(anchors == 0, vertices // 2, corners)
    pw, ph = pixel_size
    perimeter = edges_h * pw + edges_v * ph - corners * ((pw + ph) - math.hypot(pw, ph))
    perimeter[0] = 0.0
    return perimeter


def _rank_runs(nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For linked lists given by ``nxt`` (-1 at the tails, no cycles): each item's tail and distance to it."""
    succ = np.where(nxt < 0, np.arange(nxt.size), nxt)
    dist = (nxt >= 0).astype(np.int64)
    active = np.flatnonzero(succ[succ] != succ)
    for _ in range(max(nxt.size, 1).bit_length() + 1):
        if not active.size:
            break
        hop = succ[active]
        dist[active] += dist[hop]
        succ[active] = succ[hop]
        active = active[succ[succ[active]] != succ[active]]
    if active.size:
        raise ValueError("linked runs contain a cycle")
    return succ, dist


def _start_correction(grid: PixelGrid, unit_id: np.ndarray, first_pixel: np.ndarray, run_length: np.ndarray,
                      to_tail: np.ndarray, looped: np.ndarray) -> np.ndarray:
    """+1 corner for labels whose ``xp[0]`` is at an odd position (from the run's head) of an odd run."""
    correction = np.zeros(first_pixel.size, np.int64)
    present = np.flatnonzero(first_pixel >= 0)
    if present.size == 0 or unit_id.size == 0:
        return correction
    run_ends = np.flatnonzero(~grid.same(E))  # last pixel of each row run, in raster order
    last_of_first_run = run_ends[np.searchsorted(run_ends, first_pixel[present])]
    unit = unit_id[last_of_first_run, RIGHT]
    ok = unit >= 0
    ok[ok] &= ~looped[unit[ok]]
    k = run_length[unit[ok]]
    position = k - to_tail[unit[ok]]  # 1-based from the head
    correction[present[ok]] = ((k % 2 == 1) & (position % 2 == 1)).astype(np.int64)
    return correction
