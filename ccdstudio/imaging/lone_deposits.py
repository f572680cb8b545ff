"""Deposits of one or two pixels that a network took for hot pixels, told by the charge beside them.

In a single frame a deposit of one or two pixels looks much like a hot pixel (DAMIC masks hot pixels from a
series of frames of the same CCD). Their surroundings differ: charge diffuses on its way to the pixels, so a
deposit leaks a little of it into neighbours on every side, while a hot pixel puts charge beside itself only
where the readout drags it, in a trail on the sides read after it (charge-transfer inefficiency).
:func:`trailing_sides` finds those sides from the bright lone pixels of the frame themselves (most of them
hold more charge on one side than on the opposite one); :func:`deposits` takes a lone pixel with a neighbour of
:data:`LEVEL` local noises or more on any other side for a deposit.

A neighbour must also hold :data:`MIN_SHARE` of the pixel's own excess (the brightest hot pixels of a frame
whose charge-transfer losses are too small to show on its other lone pixels still trail a few tenths of a
percent of their thousands of noises) and stand out more than any pixel of the ring around (among dark or
glow electrons one beside a hot pixel tells nothing); the local noise is at least the read noise.

On the simulated calibration and test frames of the bundled model's card (seeds 7201/7202, 7001/7002,
7101/7102) that marks 48 of the 180 lone deposits the network called hot pixels, and 3 of the 801 lone hot
pixels it called so; on 40 random raw frames (seed 9100) 64 deposits and 22 other objects (82 and 71 without
the ring's test and the noise floor). The level was chosen on the calibration frames (seeds 7201/7202),
where it gave the best hot-pixel F1 (0.874 without the step; 0.875 / 0.876 / 0.875 / 0.876 at 3.0 / 3.5 /
4.0 / 5.0 local noises, before the other tests); there the step finds 84.0 % of the clusters above 3 sigma
instead of 82.8 %, with 99.7 % of the predicted clusters real as before.

The trail works the other way too, where a frame shows one; the simulator's truth calls the charge a hot defect
trails hot_pixel where it holds a read noise or more (``CCDParams.hot_trail_sigma``). A network takes a bright
hot pixel and its trail for a small track, or the trail beside a hot pixel for a cluster of its own, and
leaves most trails in the background: :func:`trailed_pixels` finds the lone pixels whose charge beside them
lies only in the trail, and no more of it than the frame's hot pixels trail on that side
(:func:`trail_share`), :func:`in_trails` the objects that lie wholly in the trail of hot pixels, and
:func:`trail_pixels` the pixels after a hot pixel that hold :data:`TRAIL_LEVEL` local noises. No calibration
frame trails, so their settings follow from what a trail is: on a raw 4096 x 4096 frame of a test CCD of
3.5e-5 a transfer the first two took the predicted cluster objects that are real from 51 % to 96 %, for 87 %
of the clusters above 3 sigma found instead of 90 % (point-like deposits whose charge stayed in their pixel
and its trail), and the three the hot-pixel F1 from 0.83 to 0.96; on the test sets the first two changed 11
cluster objects, all false.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.imaging.objects import BoxedObjects

LEVEL = 3.5
"""Local noises a neighbour outside the trail must reach for a lone pixel to be a deposit."""
MIN_SHARE = 0.01
"""Share of a lone pixel's excess that a neighbour must hold as well: the trail of a charge-transfer
inefficiency too small to show on the frame's other lone pixels holds less (on a simulated 2048 x 2048 frame
of 1e-6 a transfer, seven hot pixels of 1200-2800 noises trailed 0.2-0.35 % into the next row; the deposits
beside them leaked 1.8 % or more)."""
MIN_ELECTRONS = 1.5
"""On a frame that counts electrons (:func:`ccdstudio.imaging.dark_counts.electron_lattice`), the least charge
of a neighbour, in electrons (the local noise taken for the read noise): one dark electron beside a hot pixel
is common (11 of the 124 hot pixels of a simulated 2048 x 2048 skipper frame of 0.018 e- a pixel and 6 read
noises an electron had one on a side outside the trail), two are not."""
MAX_PIXELS = 2
"""Largest object, in pixels, taken for a lone pixel."""
RING = 2
"""Width of the ring of pixels, around the 3 x 3 box of a lone pixel, whose median and MAD are its local
level and noise."""
MIN_NOISE = 1.0
"""The least local noise, in read noises: the MAD of the ring's 40 pixels comes out a fifth low often enough
to make noise beside a hot pixel pass for a deposit's leak."""
MIN_PEAK = 20.0
"""Local noises from which a lone pixel is bright enough for its trail to show."""
MIN_BRIGHT = 5
"""Bright lone pixels needed to tell the trailing sides."""
TRAIL_SIGNIFICANCE = 3.0
"""Standard deviations by which the bright lone pixels with more charge on one side than on the opposite one
must outnumber half of them for that side to be a trail (chance alone: 0.13 %)."""
TRAIL_ALLOWANCE = 2.0
"""How many times the share the frame's hot pixels trail on a side (:func:`trail_share`) the trail of a lone
pixel taken for a hot pixel may hold there (a deposit's second pixel often holds more)."""
NOISE_MARGIN = 2.0
"""Local noises taken off the charge after each bright lone pixel before :func:`trail_share` reads it as a
share of the pixel's own: the noise of the faintest would outweigh a trail of a few tenths of a percent."""
TRAIL_LEVEL = 1.0
"""Local noises from which the pixel after a hot pixel on a trailing side is its trail: the simulator's
truth calls a hot defect's trail hot_pixel from one read noise (``CCDParams.hot_trail_sigma``)."""
MAX_TRAIL_SHARE = 0.5
"""Largest share of a hot pixel's excess a pixel in its trail holds (a first-order trail after n transfers of
inefficiency eps holds 1 - (1 - eps)^n of it: a few percent on real CCDs)."""


_FIELDS = ("index", "peak", "neighbours", "ring", "own", "position")


@dataclass(frozen=True)
class LonePixels:
    """Measured lone pixels: object ``index`` (as in the object map), the brightest pixel's excess over its
    local level (``peak``), the excess of the 3 x 3 box around it (``neighbours``, NaN on the object's own
    pixels), the largest excess of the ring beyond (``ring``) and the excess of the object's other pixels in
    that box (``own``, NaN elsewhere), all in local noises, and the brightest pixel's ``(row, column)``
    (``position``)."""

    index: np.ndarray
    peak: np.ndarray
    neighbours: np.ndarray
    ring: np.ndarray
    own: np.ndarray
    position: np.ndarray

    def take(self, keep: np.ndarray) -> LonePixels:
        """The lone pixels ``keep`` selects (a mask or indices)."""
        return LonePixels(*(getattr(self, name)[keep] for name in _FIELDS))

    @staticmethod
    def join(parts: list[LonePixels]) -> LonePixels:
        """One :class:`LonePixels` of several."""
        if not parts:
            return LonePixels(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3, 3)), np.zeros(0),
                              np.zeros((0, 3, 3)), np.zeros((0, 2), np.int64))
        return LonePixels(*(np.concatenate([getattr(part, name) for part in parts]) for name in _FIELDS))


def lone_pixels(z: np.ndarray, objects: np.ndarray, boxes: BoxedObjects, first_row: int = 0) -> LonePixels:
    """Measure the objects ``boxes`` (:func:`~ccdstudio.imaging.objects.boxed_objects`) of the object map
    ``objects`` (the same window as the frame ``z``, in units of its read noise: the local noise is at least
    :data:`MIN_NOISE`; the window's first row is ``first_row`` of the frame); those whose ring reaches past the
    window are left out."""
    found, peaks, near_boxes, rings, owns, positions = [], [], [], [], [], []
    reach = RING + 1
    height, width = z.shape
    for index, where in boxes:
        ys, xs = np.nonzero(objects[where] == index)
        values = z[where][ys, xs]
        if not np.isfinite(values).any():
            continue
        top = int(np.nanargmax(values))
        y, x = ys[top] + where[0].start, xs[top] + where[1].start
        if not (reach <= y < height - reach and reach <= x < width - reach):
            continue
        box = z[y - reach: y + reach + 1, x - reach: x + reach + 1].astype(np.float64)
        ring = np.ones(box.shape, bool)
        ring[RING: -RING, RING: -RING] = False  # the 3 x 3 box holds the whole object
        level, noise = robust_pedestal(box[ring])
        if not np.isfinite(level):
            continue
        noise = max(noise, MIN_NOISE)
        near = (box[RING: -RING, RING: -RING] - level) / noise
        mine = objects[y - 1: y + 2, x - 1: x + 2] == index
        mine[1, 1] = False
        owns.append(np.where(mine, near, np.nan))
        near[mine] = np.nan
        near[1, 1] = np.nan
        found.append(index)
        positions.append((y + first_row, x))
        peaks.append((box[reach, reach] - level) / noise)
        near_boxes.append(near)
        rings.append((np.nanmax(box[ring]) - level) / noise)
    if not found:
        return LonePixels.join([])
    return LonePixels(np.array(found, np.int64), np.array(peaks), np.array(near_boxes), np.array(rings),
                      np.array(owns), np.array(positions, np.int64))


def trailing_sides(lone: LonePixels) -> tuple[int, int]:
    """``(dy, dx)``: the row and column sides (+1 the next, -1 the previous, 0 neither) on which most of the
    bright lone pixels hold more charge than on the opposite side, by a sign test (a cluster beside one hot
    pixel, or a deposit's uneven leak, outweighs no other pixel)."""
    bright = lone.peak >= MIN_PEAK
    if np.count_nonzero(bright) < MIN_BRIGHT:
        return 0, 0
    near = np.nan_to_num(lone.neighbours[bright])
    sides = []
    for after, before in ((near[:, 2, 1], near[:, 0, 1]), (near[:, 1, 2], near[:, 1, 0])):
        more, fewer = np.count_nonzero(after > before), np.count_nonzero(after < before)
        excess = (more - fewer) / 2
        sides.append(0 if abs(excess) <= TRAIL_SIGNIFICANCE * np.sqrt(more + fewer) / 2 else int(np.sign(excess)))
    return sides[0], sides[1]


def _beside(lone: LonePixels, trail: tuple[int, int]) -> np.ndarray:
    """The largest excess beside each lone pixel outside the ``trail`` sides (-inf where there is none)."""
    offsets = np.arange(-1, 2)
    outside = np.ones((3, 3), bool)
    if trail[0]:
        outside &= (offsets != trail[0])[:, None]
    if trail[1]:
        outside &= (offsets != trail[1])[None, :]
    beside = np.where(outside, lone.neighbours, -np.inf)
    return np.nan_to_num(beside, nan=-np.inf).reshape(len(lone.index), 9).max(axis=1, initial=-np.inf)


def deposits(lone: LonePixels, trail: tuple[int, int], level: float = LEVEL, share: float = MIN_SHARE
             ) -> np.ndarray:
    """The object indices of the lone pixels with a neighbour of ``level`` local noises or more, ``share`` of
    their own excess or more and more than any pixel of their ring (where dark or glow electrons stand out
    as much, one beside a hot pixel tells nothing), outside the ``trail`` sides (:func:`trailing_sides`)."""
    return lone.index[_beside(lone, trail) >= np.maximum(np.maximum(level, share * lone.peak), lone.ring)]


def _trail_positions(trail: tuple[int, int]) -> list[tuple[int, int]]:
    """The positions in a lone pixel's 3 x 3 box of the pixels after it on the ``trail`` sides, row side first."""
    return ([(1 + trail[0], 1)] if trail[0] else []) + ([(1, 1 + trail[1])] if trail[1] else [])


def trail_share(lone: LonePixels, trail: tuple[int, int]) -> dict[tuple[int, int], float]:
    """For each position after a lone pixel on a ``trail`` side (its 3 x 3 box), the share of their own excess
    the bright lone pixels put there, at most: the 90th percentile, :data:`NOISE_MARGIN` taken off first."""
    bright = lone.peak >= MIN_PEAK
    shares = {}
    for y, x in _trail_positions(trail):
        share = (lone.neighbours[bright, y, x] - NOISE_MARGIN) / lone.peak[bright]
        share = share[np.isfinite(share)]
        shares[y, x] = max(float(np.percentile(share, 90)), 0.0) if share.size else 0.0
    return shares


def trailed_pixels(lone: LonePixels, trail: tuple[int, int], shares: dict[tuple[int, int], float],
                   level: float = LEVEL) -> np.ndarray:
    """The object indices of the lone pixels (objects of their brightest pixel and pixels in its trail) bright
    enough for the ``trail`` to show (:data:`MIN_PEAK`) with nothing beside them: no neighbour outside the
    trail, no pixel of their ring and no pixel in the trail beyond :data:`TRAIL_ALLOWANCE` times the share
    the frame's hot pixels put there (``shares``, :func:`trail_share`) reaching ``level`` local noises or
    :data:`MIN_SHARE` of their own excess: a single pixel of charge, as a hot pixel puts there (none on a
    frame without a trail)."""
    if trail == (0, 0):
        return np.zeros(0, np.int64)
    allowed = np.zeros((3, 3), bool)
    for y, x in _trail_positions(trail):
        allowed[y, x] = True
    in_trail = ~(np.isfinite(lone.own) & ~allowed).reshape(len(lone.index), 9).any(axis=1)
    floor = np.maximum(level, MIN_SHARE * lone.peak)
    quiet = (_beside(lone, trail) < floor) & (lone.ring < floor)
    for (y, x), share in shares.items():
        after = np.fmax(lone.neighbours[:, y, x], lone.own[:, y, x])
        quiet &= ~(after - TRAIL_ALLOWANCE * share * lone.peak >= floor)
    return lone.index[in_trail & quiet & (lone.peak >= MIN_PEAK)]


def trail_pixels(lone: LonePixels, trail: tuple[int, int], shares: dict[tuple[int, int], float],
                 level: float = TRAIL_LEVEL) -> np.ndarray:
    """``(row, column)`` of the pixels after the lone pixels on the ``trail`` sides that hold ``level`` local
    noises or more, where :data:`TRAIL_ALLOWANCE` times the share the frame's hot pixels put there (``shares``,
    :func:`trail_share`) of the lone pixel's excess reaches it too: the trail of a hot pixel."""
    found = [np.zeros((0, 2), np.int64)]
    for (y, x), share in shares.items():
        held = (lone.neighbours[:, y, x] >= level) & (TRAIL_ALLOWANCE * share * lone.peak >= level)
        found.append(lone.position[held] + (y - 1, x - 1))
    return np.concatenate(found)


def following(mask: np.ndarray, trail: tuple[int, int]) -> np.ndarray:
    """The pixels one step after a ``mask`` pixel on a trailing side (``trail`` as :func:`trailing_sides`)."""
    after = np.zeros_like(mask)
    height, width = mask.shape
    dy, dx = trail
    if dy:
        rows = slice(max(dy, 0), height + min(dy, 0))
        after[rows] |= mask[max(-dy, 0): height - max(dy, 0)]
    if dx:
        cols = slice(max(dx, 0), width + min(dx, 0))
        after[:, cols] |= mask[:, max(-dx, 0): width - max(dx, 0)]
    return after


def in_trails(z: np.ndarray, objects: np.ndarray, hot: np.ndarray, boxes: BoxedObjects, trail: tuple[int, int],
              share: float = MAX_TRAIL_SHARE) -> np.ndarray:
    """The indices of the objects ``boxes`` of the object map ``objects`` that lie wholly in the trail of the
    ``hot`` pixels: each of their pixels follows a hot pixel, or one of theirs that does, on a ``trail``
    side, and none holds more than ``share`` of the brightest hot pixel they follow (``z``, ``objects`` and
    ``hot`` the same window)."""
    height, width = z.shape
    found = []
    for index, box in boxes:
        rows = slice(max(box[0].start - 1, 0), min(box[0].stop + 1, height))
        cols = slice(max(box[1].start - 1, 0), min(box[1].stop + 1, width))
        own, sources = objects[rows, cols] == index, hot[rows, cols]
        reached = own & following(sources, trail)
        while True:
            grown = reached | (own & following(reached, trail))
            if np.array_equal(grown, reached):
                break
            reached = grown
        followed = sources & following(own, (-trail[0], -trail[1]))
        if not followed.any() or not np.array_equal(reached, own):
            continue
        values = z[rows, cols]
        if np.nanmax(values[own], initial=-np.inf) <= share * np.nanmax(values[followed], initial=-np.inf):
            found.append(index)
    return np.array(found, np.int64)
