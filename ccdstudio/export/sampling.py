"""Random windows inside a mask with a minimum label fraction, and flips/rot90 applied identically.

One sampler, two uses: training draws fresh windows every epoch (:func:`random_windows` with its own
generator), and ``ccdstudio export crops`` runs it once with a seed to write a pre-cropped dataset.

Masks and label maps may be lazy (numpy memory maps, zarr arrays, anything with ``shape`` and numpy
slicing): they are read once on a coarse grid (every ``s``-th pixel, at most about a million pixels) to
screen candidates cheaply, and exactly only inside the few windows that pass the screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.inputs import check_same_shape
from ccdstudio.io.source import Window

COARSE_PIXELS = 1 << 20
"""Most pixels read for the coarse screening map of a lazy mask or label map."""

_BATCH = 256
"""Candidates drawn per batch: a fixed number, so a seed always gives the same windows."""


def window_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of a window given as one side or as a pair; both must be positive."""
    height, width = (size, size) if np.isscalar(size) else tuple(size)  # type: ignore[misc]
    if int(height) < 1 or int(width) < 1:
        raise CcdstudioError(f"window size must be positive, got {height}x{width}")
    return int(height), int(width)


def random_windows(
    shape: tuple[int, int],
    size: int | tuple[int, int],
    count: int,
    rng: np.random.Generator,
    *,
    mask: Any | None = None,
    labels: Any | None = None,
    cls: int | None = None,
    min_fraction: float = 0.0,
    max_attempts: int | None = None,
) -> list[Window]:
    """Draw ``count`` random windows of ``size`` inside an image of ``shape``.

    Parameters
    ----------
    shape
        ``(height, width)`` of the image.
    size
        Window side, or ``(height, width)``.
    count
        Windows to return (they may overlap; origins are uniform over the accepted positions).
    rng
        The generator; the same generator state gives the same windows.
    mask
        Optional 2-D array (non-zero inside). A window is inside the mask when its centre pixel and its
        four corner pixels are in the mask: five exact point reads, so narrow gaps are allowed but a
        window never starts, ends or centres outside the papyrus.
    labels
        Optional 2-D label map (class indices). With labels, a window is kept only when the share of its
        pixels labelled ``cls`` (any non-zero class when ``cls`` is None) is greater than
        ``min_fraction``.
    cls
        The class counted in ``labels``; None counts every non-zero label.
    min_fraction
        Threshold in [0, 1) for the label share (strictly greater than).
    max_attempts
        Candidate windows to try before giving up; default ``1000 * count`` (at least 10,000).

    Returns
    -------
    list of Window
        ``(rows, cols)`` slices, in the order drawn.

    Raises
    ------
    CcdstudioError
        A window larger than the image, arrays of the wrong shape, a class absent from the labels, or
        fewer than ``count`` windows found within ``max_attempts``.
    """
    height, width = int(shape[0]), int(shape[1])
    win_h, win_w = window_size(size)
    if win_h > height or win_w > width:
        raise CcdstudioError(f"the window {win_w}x{win_h} is larger than the image {width}x{height}")
    if count < 0:
        raise CcdstudioError(f"the number of windows must not be negative, got {count}")
    if not 0.0 <= min_fraction < 1.0:
        raise CcdstudioError(f"the minimum label fraction must be in [0, 1), got {min_fraction}")
    check_same_shape((height, width), mask=mask, labels=labels)
    if cls is not None and labels is None:
        raise CcdstudioError("a label class was given without a label map")
    attempts = max_attempts if max_attempts is not None else max(1000 * count, 10_000)

    screen = _LabelScreen(labels, cls, min_fraction, win_h, win_w) if labels is not None else None
    found: list[Window] = []
    tried = 0
    while len(found) < count and tried < attempts:
        n = min(_BATCH, attempts - tried)
        # Draw both coordinates for the whole batch even if only a few are needed, so the stream of
        # random numbers does not depend on how many windows were accepted before.
        ys = rng.integers(0, height - win_h + 1, size=_BATCH)[:n]
        xs = rng.integers(0, width - win_w + 1, size=_BATCH)[:n]
        tried += n
        keep = np.ones(n, bool) if screen is None else screen.promising(ys, xs)
        if mask is not None and keep.any():
            keep[keep] = _inside_mask(mask, ys[keep], xs[keep], win_h, win_w)
        for y0, x0 in zip(ys[keep], xs[keep]):
            window = (slice(int(y0), int(y0) + win_h), slice(int(x0), int(x0) + win_w))
            if screen is None or screen.exact(window):
                found.append(window)
                if len(found) == count:
                    break
    if len(found) < count:
        what = f"{win_w}x{win_h} windows"
        if labels is not None:
            target = "labelled pixels" if cls is None else f"class {cls}"
            what += f" with more than {min_fraction:.0%} of {target}"
        if mask is not None:
            what += " inside the mask"
        raise CcdstudioError(
            f"found only {len(found)} of {count} {what} in {tried} attempts; "
            "ask for fewer or smaller windows or a lower label fraction"
        )
    return found


def _inside_mask(mask: Any, ys: np.ndarray, xs: np.ndarray, win_h: int, win_w: int) -> np.ndarray:
    """Whether the centre and four corners of each window are non-zero in ``mask`` (exact point reads)."""
    rows = np.stack([ys, ys, ys + win_h - 1, ys + win_h - 1, ys + win_h // 2])
    cols = np.stack([xs, xs + win_w - 1, xs, xs + win_w - 1, xs + win_w // 2])
    if isinstance(mask, np.ndarray):
        values = mask[rows, cols]
    else:  # zarr, h5py and friends do not all take fancy indices: read the points one by one
        values = np.array([[mask[int(r), int(c)] for r, c in zip(rr, cc)] for rr, cc in zip(rows, cols)])
    return np.all(values != 0, axis=0)


class _LabelScreen:
    """The label share of windows: estimated from a coarse map at once, then checked exactly.

    With a step of 1 (small or in-memory maps of up to :data:`COARSE_PIXELS`) the estimate is exact and
    no window is read again. Otherwise a window whose estimate is below half the threshold is skipped,
    and the rest are read and counted exactly.
    """

    def __init__(self, labels: Any, cls: int | None, min_fraction: float, win_h: int, win_w: int):
        self.labels, self.cls, self.min_fraction = labels, cls, min_fraction
        self.win_h, self.win_w = win_h, win_w
        height, width = labels.shape
        self.step = max(1, math.ceil(math.sqrt(height * width / COARSE_PIXELS)))
        hits = self._hits(np.asarray(labels[:: self.step, :: self.step]))
        if not hits.any() and not self._any_hit():
            target = "no labelled pixel" if cls is None else f"no pixel of class {cls}"
            raise CcdstudioError(f"the labels contain {target}")
        # Summed-area table with a zero row and column in front: the count of hits in coarse rows
        # [a, b) and columns [c, d) is S[b, d] - S[a, d] - S[b, c] + S[a, c].
        self.table = np.zeros((hits.shape[0] + 1, hits.shape[1] + 1), np.int64)
        np.cumsum(np.cumsum(hits, axis=0), axis=1, out=self.table[1:, 1:])

    def _hits(self, values: np.ndarray) -> np.ndarray:
        return values != 0 if self.cls is None else values == self.cls

    def _any_hit(self) -> bool:
        """Whether any pixel is a hit, read in strips of rows (only when the coarse map found none)."""
        if self.step == 1:
            return False
        rows = max(1, COARSE_PIXELS // self.labels.shape[1])
        return any(
            self._hits(np.asarray(self.labels[r : r + rows])).any() for r in range(0, self.labels.shape[0], rows)
        )

    def promising(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Which windows may pass: exactly those that pass when the step is 1."""
        s = self.step
        # Coarse row i samples pixel row i*s; a window [y0, y0+h) holds coarse rows ceil(y0/s)..ceil((y0+h)/s).
        r0, r1 = -(-ys // s), -(-(ys + self.win_h) // s)
        c0, c1 = -(-xs // s), -(-(xs + self.win_w) // s)
        t = self.table
        hits = t[r1, c1] - t[r0, c1] - t[r1, c0] + t[r0, c0]
        cells = (r1 - r0) * (c1 - c0)
        # A window narrower than the step may hold no coarse pixel: no estimate, so read it exactly.
        share = np.divide(hits, cells, out=np.ones(len(ys)), where=cells > 0)
        return share > self.min_fraction if s == 1 else share >= self.min_fraction / 2

    def exact(self, window: Window) -> bool:
        """Whether the window's label share is greater than the threshold, reading the window if needed."""
        if self.step == 1:
            return True  # the coarse screen was exact
        hits = np.count_nonzero(self._hits(np.asarray(self.labels[window])))
        return hits > self.min_fraction * self.win_h * self.win_w


@dataclass(frozen=True)
class Orientation:
    """One of the eight flips/quarter turns of the square, applied to the last two axes.

    Applied in the order: left-right flip, up-down flip, then a quarter turn counter-clockwise
    (``np.rot90`` with ``k=1``), so an ``(h, w)`` window becomes ``(w, h)`` when ``rot90`` is set.
    """

    flip_lr: bool = False
    flip_ud: bool = False
    rot90: bool = False

    def apply(self, array: np.ndarray) -> np.ndarray:
        """The oriented array (a contiguous copy; leading axes such as layers are kept)."""
        out = np.asarray(array)
        if self.flip_lr:
            out = out[..., ::-1]
        if self.flip_ud:
            out = out[..., ::-1, :]
        if self.rot90:
            out = np.rot90(out, 1, axes=(-2, -1))
        return np.ascontiguousarray(out)

    def shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """The ``(height, width)`` of an oriented window of ``shape``."""
        return (shape[1], shape[0]) if self.rot90 else (shape[0], shape[1])


def check_probabilities(flip: float, rot90: float) -> None:
    """Raise unless both augmentation probabilities are in [0, 1]."""
    for name, p in (("flip", flip), ("rot90", rot90)):
        if not 0.0 <= p <= 1.0:
            raise CcdstudioError(f"the {name} probability must be in [0, 1], got {p}")


def random_orientation(rng: np.random.Generator, flip: float = 0.5, rot90: float = 0.5) -> Orientation:
    """Draw an orientation: each flip with probability ``flip``, a quarter turn with probability ``rot90``.

    With 0.5 for both, all eight orientations are equally likely (two flips make a half turn). Three
    numbers are always drawn, so the generator advances the same way whatever the probabilities.
    """
    check_probabilities(flip, rot90)
    u = rng.random(3)
    return Orientation(bool(u[0] < flip), bool(u[1] < flip), bool(u[2] < rot90))


def augment(arrays: Sequence[np.ndarray], rng: np.random.Generator, flip: float = 0.5, rot90: float = 0.5) -> list[np.ndarray]:
    """Apply one random orientation (see :func:`random_orientation`) identically to every array.

    The last two axes of each array are spatial, so ``(layers, h, w)`` stacks, masks and label maps of
    the same window stay aligned.
    """
    orientation = random_orientation(rng, flip, rot90)
    return [orientation.apply(a) for a in arrays]
