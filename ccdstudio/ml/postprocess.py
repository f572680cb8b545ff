"""Steps a model file asks :func:`~ccdstudio.ml.infer.predict` to run on its class map.

A model lists them by name in its description (``ModelInfo.postprocess``); ``ccdstudio train --postprocess``
and the training presets set them. Each step needs some classes and a normalisation; :func:`check_steps`
refuses a model that asks for a step it cannot run.

- ``"hot_lines"``: hot columns and rows too faint for a network to see pixel by pixel (about 1 sigma per pixel
  or less) are plain over their length; :func:`ccdstudio.imaging.hot_lines.find_hot_lines` finds them on
  the noise-scaled frame and their pixels the network called ``background`` or ``glowing`` become
  ``hot_pixel``. Needs the classes background, glowing (optional), hot_pixel and cluster, and the ``ccd``
  normalisation.
- ``"glow_edge"``: on a raw plane, with a serial and a parallel overscan, glow and background are decided
  again by the local mean excess over the pedestal the overscans show (row by row and column by column,
  :func:`ccdstudio.imaging.overscan.plane_pedestal`), in units of their read noise
  (:func:`ccdstudio.imaging.glow_edge.glow_mask`, at least 3 sigma is glowing), above the dark charge, which
  the overscans do not collect (:func:`ccdstudio.imaging.glow_edge.dark_floor`): the faint edge of a glow
  that fades over hundreds of pixels is where a network, seeing a fraction of a sigma per pixel, misplaces
  it. The means do not reach across the edge of a flat band of glow, which every row (column) shows at the
  same place (:func:`ccdstudio.imaging.glow_edge.band_edges`). Clusters (and their 3 px surroundings) and
  hot pixels are left out of the means and kept. Without both overscans the network's glow stays: the
  pedestal's drift along a row, up to a few sigma, would otherwise pass for glow. Needs the classes
  background and glowing, and the ``ccd`` normalisation.
- ``"faint_clusters"``: small clusters a network lets go (one pixel, two, or a few pixels of 2-5 sigma
  each) stand out in sums over small pixel groups against the local noise
  (:func:`ccdstudio.imaging.faint_clusters.faint_clusters`); their bright pixels among the network's
  background, away from its clusters, hot pixels and glow, become ``cluster``; not where the surroundings
  scatter upwards far more than downwards (the shot noise of dark charge). The glow is searched too, against
  its own shot noise and at a higher level. Needs the classes background and cluster (glowing is optional),
  and the ``ccd`` normalisation.
- ``"dark_counts"``: on frames whose pixel values fall into peaks at whole electrons (skipper readouts of
  many samples, :func:`ccdstudio.imaging.dark_counts.electron_lattice`), cluster and hot-pixel objects that
  hold no more electrons than the dark charge of their 64 x 64 block puts into as many pixels by chance
  somewhere in the frame (:func:`ccdstudio.imaging.dark_counts.dark_like`) become background, or glowing
  where their surroundings glow. Needs the classes background and cluster (hot_pixel is optional), and the
  ``ccd`` normalisation.
- ``"lone_deposits"``: hot-pixel objects of one or two pixels with charge beside them on a side that the
  readout's trail does not reach (:func:`ccdstudio.imaging.lone_deposits.deposits`; on frames that count
  electrons more than one dark electron) become ``cluster``: a deposit diffuses into its neighbours on every
  side, a hot pixel only trails. Where the frame's hot pixels show a trail, that trail is hot_pixel (as in
  the simulator's truth): the pixel after a hot pixel holding a read noise or more
  (:func:`~ccdstudio.imaging.lone_deposits.trail_pixels`), cluster objects that are a bright lone pixel and
  its trail, with nothing beside them outside it (:func:`~ccdstudio.imaging.lone_deposits.trailed_pixels`),
  and cluster objects lying wholly in a hot pixel's trail (:func:`~ccdstudio.imaging.lone_deposits.in_trails`)
  become hot_pixel. Needs the classes background, hot_pixel and cluster, and the ``ccd`` normalisation.
- ``"empty_clusters"``: cluster objects whose pixels stand no higher than their surroundings
  (:func:`ccdstudio.imaging.empty_clusters.significance` below 3 local noises: a network's calls beside a
  bright hot pixel or on a grain of shot noise) become background, or glowing where their surroundings glow.
  Needs the classes background and cluster, and the ``ccd`` normalisation.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ccdstudio.errors import CcdstudioError
from ccdstudio.jobs import CancelToken, Job, Progress, check, scaled

if TYPE_CHECKING:
    import numpy as np

    from ccdstudio.imaging.dark_counts import Lattice
    from ccdstudio.imaging.objects import Box, BoxedObjects
    from ccdstudio.io.source import ImageSource
    from ccdstudio.ml.normalize import Stats

STEPS: dict[str, tuple[str, ...]] = {"hot_lines": ("background", "hot_pixel", "cluster"),
                                     "glow_edge": ("background", "glowing"),
                                     "faint_clusters": ("background", "cluster"),
                                     "dark_counts": ("background", "cluster"),
                                     "lone_deposits": ("background", "hot_pixel", "cluster"),
                                     "empty_clusters": ("background", "cluster")}
"""Every known step and the classes it needs."""


def usable_steps(steps: Sequence[str], class_names: Sequence[str], normalization_method: str) -> tuple[str, ...]:
    """Those of ``steps`` a model with these classes and normalisation can run."""
    return tuple(step for step in steps if _unusable(step, class_names, normalization_method) is None)


def check_steps(steps: Sequence[str], class_names: Sequence[str], normalization_method: str) -> tuple[str, ...]:
    """``steps`` as a tuple, or a :class:`CcdstudioError` saying why a model cannot use one of them."""
    for step in steps:
        reason = _unusable(step, class_names, normalization_method)
        if reason is not None:
            raise CcdstudioError(reason)
    return tuple(steps)


def _unusable(step: str, class_names: Sequence[str], normalization_method: str) -> str | None:
    """Why a model with these classes and normalisation cannot run ``step``; None when it can."""
    if step not in STEPS:
        known = ", ".join(STEPS)
        return f"unknown post-processing step {step!r}; this ccdstudio knows {known} (a newer one may know more)"
    missing = [name for name in STEPS[step] if name not in class_names]
    if missing:
        return f"post-processing step {step!r} needs the class(es) {', '.join(missing)}"
    if normalization_method != "ccd":
        return f"post-processing step {step!r} needs the ccd normalisation, not {normalization_method!r}"
    return None


STRIP = 512
"""Columns (rows) read at a time: memory stays bounded on frames of any size."""


def _pool() -> ThreadPoolExecutor:
    """Threads for a step's strips: numpy and scipy let go of the interpreter while they work."""
    return ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 8))


_MARGIN = 16
"""Neighbouring columns read beside a strip: the sides compared with and the clusters' surroundings."""
SETTLED = {"cluster": 7, "hot_pixel": 1}
"""Pixels a step leaves out of its statistics: ``{class: side of the box around each of its pixels}``
(clusters with their 3 px surroundings, hot pixels)."""


def _near(labels: np.ndarray, class_names: Sequence[str], boxes: Mapping[str, int]) -> np.ndarray:
    """Pixels of ``labels`` within the box of side ``boxes[name]`` around a pixel of class ``name``; classes
    the model does not have are skipped."""
    import numpy as np

    from ccdstudio.imaging.morphology import dilate

    near = np.zeros(labels.shape, bool)
    for name, size in boxes.items():
        if name in class_names:
            near |= dilate(labels == class_names.index(name), size // 2, "square")
    return near


def run_steps(steps: Sequence[str], class_names: Sequence[str], source: ImageSource, plane: int,
              stats: Stats, labels: np.ndarray, cancel: CancelToken | None = None) -> Job[int]:
    """Run ``steps`` on ``labels`` (changed in place) of ``source``'s ``plane``, which the model's
    normalisation measured as ``stats`` (its first channel: pedestal and noise); a job returning the number
    of pixels changed."""
    from ccdstudio.ml.normalize import Stats

    first = Stats(stats.offset[:1], stats.scale[:1], None if stats.row_pedestal is None else stats.row_pedestal[:1])

    def read(window: tuple[slice, slice]) -> np.ndarray:
        return first.standardize(source.read(plane, window), window[0])[0]

    lattice = functools.cache(lambda: _lattice(read, labels.shape))  # looked for once, by the first step asking
    changed = 0
    for i, step in enumerate(steps):
        if step == "hot_lines":
            job = _hot_lines(class_names, read, labels, cancel)
        elif step == "glow_edge":
            job = _glow_edge(class_names, source, plane, labels, cancel)
        elif step == "faint_clusters":
            job = _faint_clusters(class_names, read, labels, cancel)
        elif step == "dark_counts":
            job = _dark_counts(class_names, read, labels, lattice, cancel)
        elif step == "lone_deposits":
            job = _lone_deposits(class_names, read, labels, lattice, cancel)
        elif step == "empty_clusters":
            job = _empty_clusters(class_names, read, labels, cancel)
        else:  # check_steps keeps unknown steps out of a ModelInfo
            raise CcdstudioError(f"unknown post-processing step {step!r}")
        changed += yield from scaled(job, i / len(steps), 1 / len(steps))
    return changed


def _hot_lines(class_names: Sequence[str], read: Callable[[tuple[slice, slice]], np.ndarray], labels: np.ndarray,
               cancel: CancelToken | None) -> Job[int]:
    """Hot columns, then hot rows; their background or glowing pixels become hot_pixel, and so do those in
    short gaps along a column (row) between runs of hot pixels.

    Strips of a pass are searched in parallel threads on the labels as the pass found them, then applied, so
    the result does not depend on the number of cores.
    """
    import numpy as np

    from ccdstudio.imaging.hot_lines import find_hot_columns, line_gaps

    hot = class_names.index("hot_pixel")
    free = [class_names.index(name) for name in ("background", "glowing") if name in class_names]
    height, width = labels.shape

    def search(columns: bool, start: int) -> np.ndarray:
        """The hot segments in the ``STRIP`` columns (rows) from ``start``."""
        check(cancel)
        length = width if columns else height
        low, high = max(start - _MARGIN, 0), min(start + STRIP + _MARGIN, length)
        window = (slice(0, height), slice(low, high)) if columns else (slice(low, high), slice(0, width))
        exclude = _near(labels[window], class_names, SETTLED)
        inner = slice(start - low, start - low + min(STRIP, length - start))
        if columns:
            return find_hot_columns(read(window), exclude)[:, inner]
        return find_hot_columns(read(window).T, exclude.T)[:, inner].T

    passes = [(True, range(0, width, STRIP)), (False, range(0, height, STRIP))]
    total, done, changed = sum(len(starts) for _, starts in passes), 0, 0
    with _pool() as pool:
        for columns, starts in passes:
            found = pool.map(lambda start, columns=columns: search(columns, start), starts)
            for start, segments in zip(starts, list(found)):
                target = labels[:, start: start + STRIP] if columns else labels[start: start + STRIP]
                mask = segments & np.isin(target, free)
                target[mask] = hot
                changed += int(mask.sum())
                done += 1
                yield Progress(done / total, f"hot columns and rows: strip {done}/{total}")
    gaps = line_gaps(labels == hot) & np.isin(labels, free)
    labels[gaps] = hot
    return changed + int(gaps.sum())


def _glow_edge(class_names: Sequence[str], source: ImageSource, plane: int, labels: np.ndarray,
               cancel: CancelToken | None) -> Job[int]:
    """Background and glowing pixels of the data section re-decided by the local mean over the overscan's
    pedestal, strips of ``STRIP`` rows in parallel threads; nothing changes on a plane without a serial
    overscan."""
    import numpy as np

    from ccdstudio.imaging.glow_edge import (DARK_BLOCK, MARGIN, STEP_BLOCK, band_edges, block_means, dark_floor,
                                             glow_mask, glowing_bands)
    from ccdstudio.imaging.overscan import plane_pedestal
    from ccdstudio.io.ccd import data_window

    header = source.planes[plane].header
    height, width = labels.shape
    pedestal = plane_pedestal(source, plane)
    if pedestal is None or pedestal.columns is None:
        yield Progress(1.0, "glow edge: no serial and parallel overscan, the network's glow is kept")
        return 0
    rows, cols = data_window(header) or (slice(0, height), slice(0, width))
    background, glowing = class_names.index("background"), class_names.index("glowing")
    starts = range(rows.start, rows.stop, STRIP)

    def excess(read: slice) -> tuple[np.ndarray, np.ndarray]:
        """``z`` over the pedestal in read noises, and the pixels left out of means, of the data's ``read`` rows."""
        z = (np.asarray(source.read(plane, (read, cols)), np.float32) - pedestal.level((read, cols)))
        return z / np.float32(pedestal.noise), _near(labels[read, cols], class_names, SETTLED)

    def strip_means(start: int) -> tuple[np.ndarray, ...]:
        """The square block means of the ``STRIP`` rows from ``start``, their column means over blocks of rows
        and their row means over blocks of columns (STRIP is a multiple of both blocks: blocks stay whole)."""
        check(cancel)
        z, exclude = excess(slice(start, min(start + STRIP, rows.stop)))
        return tuple(block_means(z, exclude, block) for block in (DARK_BLOCK, (STEP_BLOCK, 1), (1, STEP_BLOCK)))

    with _pool() as pool:
        means = []
        for done, found in enumerate(pool.map(strip_means, starts), start=1):
            means.append(found)
            yield Progress(0.5 * done / len(starts), f"glow edge: dark charge and bands, strip {done}/{len(starts)}")
        squares, columns, lines = (np.concatenate(each) for each in zip(*means))
        dark = np.float32(dark_floor(squares))
        row_edges, col_edges = band_edges(lines.T), band_edges(columns)
        row_bands, col_bands = glowing_bands(lines.T - dark, row_edges), glowing_bands(columns - dark, col_edges)

        def decide(start: int) -> np.ndarray:
            """Glowing or background for each pixel of the ``STRIP`` rows from ``start``."""
            check(cancel)
            stop = min(start + STRIP, rows.stop)
            read = slice(max(start - MARGIN, rows.start), min(stop + MARGIN, rows.stop))
            z, exclude = excess(read)
            inner = slice(start - read.start, stop - read.start)
            shift = rows.start - read.start  # from the data section's rows to those read
            glows = glow_mask(z - dark, exclude, edges=([edge + shift for edge in row_edges], col_edges))
            for first, stop in row_bands:
                glows[max(first + shift, 0): max(stop + shift, 0)] = True
            for first, stop in col_bands:
                glows[:, first:stop] = True
            return np.where(glows[inner], np.uint8(glowing), np.uint8(background))

        changed = 0
        for done, (start, decided) in enumerate(zip(starts, pool.map(decide, starts)), start=1):
            target = labels[start: start + len(decided), cols]  # only background and glowing change: the
            free = (target == background) | (target == glowing)  # clusters and hot pixels others read stay
            changed += int((free & (target != decided)).sum())
            target[free] = decided[free]
            yield Progress(0.5 + 0.5 * done / len(starts), f"glow edge: strip {done}/{len(starts)}")
    return changed


def _faint_clusters(class_names: Sequence[str], read: Callable[[tuple[slice, slice]], np.ndarray],
                    labels: np.ndarray, cancel: CancelToken | None) -> Job[int]:
    """Faint clusters among the background, and at a higher level among the glow, become cluster; strips of
    ``STRIP`` rows are searched in parallel threads on the labels as the network left them, then applied."""
    import numpy as np

    from ccdstudio.imaging.faint_clusters import IN_GLOW, MARGIN, faint_clusters

    background, cluster = class_names.index("background"), class_names.index("cluster")
    glowing = class_names.index("glowing") if "glowing" in class_names else None
    keep_away = {"cluster": 7, "hot_pixel": 3}  # boxes around them that are not searched
    height, width = labels.shape

    def search(start: int) -> np.ndarray:
        """The faint cluster pixels in the ``STRIP`` rows from ``start``."""
        check(cancel)
        window = (slice(max(start - MARGIN, 0), min(start + STRIP + MARGIN, height)), slice(0, width))
        near, z = labels[window], read(window)
        free = ~_near(near, class_names, keep_away)
        usable = free & (near == background) & ~_near(near, class_names, {"glowing": 5})
        found = faint_clusters(z, usable)
        if glowing is not None:
            found |= faint_clusters(z, free & (near == glowing), threshold=IN_GLOW, max_noise=np.inf,
                                    max_skew=np.inf)
        return found[start - window[0].start: min(start + STRIP, height) - window[0].start]

    starts = range(0, height, STRIP)
    with _pool() as pool:
        found = []
        for done, mask in enumerate(pool.map(search, starts), start=1):
            found.append(mask)
            yield Progress(done / len(starts), f"faint clusters: strip {done}/{len(starts)}")
    mask = np.concatenate(found)
    labels[mask] = cluster
    return int(mask.sum())


SAMPLE = 1_000_000
"""Pixels (whole rows, evenly spread) in which ``dark_counts`` and ``lone_deposits`` look for peaks at whole
electrons."""


def _lattice(read: Callable[[tuple[slice, slice]], np.ndarray], shape: tuple[int, int]) -> Lattice | None:
    """The frame's peaks at whole electrons (:func:`ccdstudio.imaging.dark_counts.electron_lattice`), looked
    for in :data:`SAMPLE` of its pixels; None on frames that do not count electrons."""
    from ccdstudio.imaging.dark_counts import electron_lattice

    height, width = shape
    every = max(1, -(-height * width // SAMPLE))
    return electron_lattice(read((slice(0, height, every), slice(0, width))))


def _dark_counts(class_names: Sequence[str], read: Callable[[tuple[slice, slice]], np.ndarray], labels: np.ndarray,
                 find_lattice: Callable[[], Lattice | None], cancel: CancelToken | None) -> Job[int]:
    """Cluster and hot-pixel objects dark charge explains become background (glowing where most of their
    surroundings glow), on frames that count electrons; nothing changes on others. Electrons are counted
    ``STRIP`` rows at a time."""
    import numpy as np
    from scipy import ndimage

    from ccdstudio.imaging.dark_counts import BLOCK, block_electrons, dark_like, dark_rates, electron_counts
    from ccdstudio.imaging.objects import object_mask, object_sizes

    height, width = labels.shape
    lattice = find_lattice()
    if lattice is None:
        yield Progress(1.0, "dark counts: the frame does not count electrons")
        return 0
    classes = [class_names.index(name) for name in ("cluster", "hot_pixel") if name in class_names]
    objects = [ndimage.label(labels == index, np.ones((3, 3), bool)) for index in classes]
    charges = [np.zeros(count + 1) for _, count in objects]
    starts = range(0, height, STRIP)  # STRIP is a multiple of BLOCK
    electrons = []
    for done, start in enumerate(starts, start=1):
        check(cancel)
        rows = slice(start, min(start + STRIP, height))
        counts = electron_counts(read((rows, slice(0, width))), lattice)
        electrons.append(block_electrons(counts))
        for (found, _), charge in zip(objects, charges):
            inside = found[rows] > 0
            charge += np.bincount(found[rows][inside], np.nan_to_num(counts[inside]), charge.size)
        yield Progress(done / len(starts), f"dark counts: electrons, strip {done}/{len(starts)}")
    rates = dark_rates(np.concatenate(electrons))
    freed, dark = np.zeros(labels.shape, bool), 0
    for (found, count), charge in zip(objects, charges):
        boxes = ndimage.find_objects(found)
        first = np.array([(box[0].start // BLOCK, box[1].start // BLOCK) for box in boxes], np.int64).reshape(-1, 2)
        like = dark_like(charge[1:], object_sizes(found, count)[1:],
                         rates[first[:, 0], first[:, 1]], labels.size)
        freed |= object_mask(found, np.flatnonzero(like) + 1)
        dark += int(like.sum())
    _release(labels, freed, class_names)
    yield Progress(1.0, f"dark counts: {dark} objects of dark charge (an electron is "
                        f"{lattice.step / lattice.noise:.1f} read noises: {lattice.noise / lattice.step:.3f} e-)")
    return int(freed.sum())


def _lone_deposits(class_names: Sequence[str], read: Callable[[tuple[slice, slice]], np.ndarray],
                   labels: np.ndarray, find_lattice: Callable[[], Lattice | None], cancel: CancelToken | None
                   ) -> Job[int]:
    """Hot-pixel objects of one or two pixels with charge beside them outside the readout's trail become
    cluster (on frames that count electrons, more charge than one dark electron); on a frame with a trail, the
    trail beside the other hot pixels, cluster objects that are a lone bright pixel and its trail and those
    lying wholly in a hot pixel's trail become hot_pixel. Objects are measured by the ``STRIP`` rows their
    boxes start in."""
    import numpy as np
    from scipy import ndimage

    from ccdstudio.imaging.lone_deposits import (
        LEVEL, MAX_PIXELS, MIN_ELECTRONS, RING, LonePixels, deposits, lone_pixels, trail_pixels, trail_share,
        trailing_sides)
    from ccdstudio.imaging.objects import boxed_objects, object_mask, object_sizes

    objects, count = ndimage.label(labels == class_names.index("hot_pixel"), np.ones((3, 3), bool))
    small = np.flatnonzero(object_sizes(objects, count)[1:] <= MAX_PIXELS) + 1
    parts = []
    strips = _strips(boxed_objects(objects, small), labels.shape[0], RING + 1)
    for done, (rows, boxes) in enumerate(strips, start=1):
        check(cancel)
        parts.append(lone_pixels(read((rows, slice(0, labels.shape[1]))), objects[rows], boxes, rows.start))
        yield Progress(0.5 * done / len(strips), f"lone deposits: strip {done}/{len(strips)}")
    lone = LonePixels.join(parts)
    lattice = find_lattice() if lone.index.size else None
    level = LEVEL if lattice is None else max(LEVEL, MIN_ELECTRONS * lattice.step / lattice.noise)
    trail = trailing_sides(lone)
    found = deposits(lone, trail, level)
    mask = object_mask(objects, found)
    labels[mask] = class_names.index("cluster")
    changed = int(mask.sum())
    if trail != (0, 0):
        shares = trail_share(lone, trail)
        # Inside the frame: a lone pixel's ring is.
        ys, xs = trail_pixels(lone.take(np.isin(lone.index, found, invert=True)), trail, shares).T
        free = np.isin(labels[ys, xs], [class_names.index(name) for name in ("background", "glowing")
                                         if name in class_names])
        labels[ys[free], xs[free]] = class_names.index("hot_pixel")
        changed += int(free.sum())
        changed += yield from _trailed(class_names, read, labels, trail, shares, level, cancel)
    yield Progress(1.0, f"lone deposits: {found.size} of {lone.index.size} lone hot pixels are deposits")
    return changed


def _trailed(class_names: Sequence[str], read: Callable[[tuple[slice, slice]], np.ndarray], labels: np.ndarray,
             trail: tuple[int, int], shares: dict[tuple[int, int], float], level: float,
             cancel: CancelToken | None) -> Job[int]:
    """Cluster objects that are a lone bright pixel and its ``trail`` (holding no more than the frame's hot
    pixels trail, ``shares`` of their excess by side) and those lying wholly in the trail of hot pixels
    become hot_pixel."""
    import numpy as np
    from scipy import ndimage

    from ccdstudio.imaging.lone_deposits import MIN_PEAK, RING, following, in_trails, lone_pixels, trailed_pixels
    from ccdstudio.imaging.objects import boxed_objects, object_mask, object_sizes

    hot, cluster = class_names.index("hot_pixel"), class_names.index("cluster")
    objects, count = ndimage.label(labels == cluster, np.ones((3, 3), bool))
    boxes = boxed_objects(objects)
    sizes = object_sizes(objects, count)
    # A lone pixel and its trail fit in a 2 x 2 box; an object in a trail has a pixel that follows a hot one.
    small = {index for index, box in boxes
             if sizes[index] <= 3 and box[0].stop - box[0].start <= 2 and box[1].stop - box[1].start <= 2}
    behind = set(np.unique(objects[following(labels == hot, trail) & (objects > 0)]).tolist())
    singles, trailing = [], []
    strips = _strips([(index, box) for index, box in boxes if index in small | behind], labels.shape[0], RING + 1)
    for done, (rows, here) in enumerate(strips, start=1):
        check(cancel)
        z, window, where = read((rows, slice(0, labels.shape[1]))), objects[rows], dict(here)
        # The local noise is at least the read noise: an object below MIN_PEAK read noises cannot reach it.
        lone = lone_pixels(z, window, [(index, box) for index, box in here if index in small
                                       and np.nanmax(z[box][window[box] == index], initial=-np.inf) >= MIN_PEAK])
        singles.append(trailed_pixels(lone, trail, shares, level))
        trailing.append(in_trails(z, window, labels[rows] == hot, [(i, where[i]) for i in where if i in behind], trail))
        yield Progress(0.5 + 0.5 * done / len(strips), f"lone deposits: trails, strip {done}/{len(strips)}")
    marked = object_mask(objects, np.concatenate([np.zeros(0, np.int64), *singles, *trailing]))
    labels[marked] = hot
    return int(marked.sum())


def _empty_clusters(class_names: Sequence[str], read: Callable[[tuple[slice, slice]], np.ndarray],
                    labels: np.ndarray, cancel: CancelToken | None) -> Job[int]:
    """Cluster objects no brighter than their surroundings become background (glowing where most of their
    surroundings glow); they are measured by the ``STRIP`` rows their boxes start in."""
    import numpy as np
    from scipy import ndimage

    from ccdstudio.imaging.empty_clusters import LEVEL, MARGIN, significance
    from ccdstudio.imaging.objects import boxed_objects, object_mask

    objects, count = ndimage.label(labels == class_names.index("cluster"), np.ones((3, 3), bool))
    settled = _near(labels, class_names, {"cluster": 3, "hot_pixel": 3})
    empty = []
    strips = _strips(boxed_objects(objects), labels.shape[0], MARGIN)
    for done, (rows, boxes) in enumerate(strips, start=1):
        check(cancel)
        measured = significance(read((rows, slice(0, labels.shape[1]))), objects[rows], settled[rows], boxes)
        empty.append(np.array([index for index, _ in boxes])[measured < LEVEL])
        yield Progress(done / len(strips), f"empty clusters: strip {done}/{len(strips)}")
    found = np.concatenate(empty) if empty else np.zeros(0, np.int64)
    freed = object_mask(objects, found)
    _release(labels, freed, class_names)
    yield Progress(1.0, f"empty clusters: {found.size} of {count} cluster objects hold no charge of their own")
    return int(freed.sum())


def _strips(boxes: BoxedObjects, height: int, margin: int) -> list[tuple[slice, list[tuple[int, Box]]]]:
    """``boxes`` grouped by the :data:`STRIP` rows of a frame ``height`` high their boxes start in: for each
    strip with objects, the rows to read (the boxes and ``margin`` around them) and the boxes in those rows."""
    groups: dict[int, list[tuple[int, Box]]] = {}
    for index, box in boxes:
        groups.setdefault(box[0].start // STRIP, []).append((index, box))
    strips = []
    for key in sorted(groups):
        here = groups[key]
        rows = slice(max(key * STRIP - margin, 0), min(max(box[0].stop for _, box in here) + margin, height))
        strips.append((rows, [(index, (slice(box[0].start - rows.start, box[0].stop - rows.start), box[1]))
                              for index, box in here]))
    return strips


def _release(labels: np.ndarray, freed: np.ndarray, class_names: Sequence[str]) -> None:
    """The ``freed`` pixels of ``labels`` become background, or glowing where most of the 15 x 15 px around
    them glow (the frame mirrored at its edges); counted around the freed pixels only, a few thousand at a
    time, so no frame-sized counts are made."""
    import numpy as np

    labels[freed] = class_names.index("background")
    if "glowing" not in class_names or not freed.any():
        return
    glowing, side = class_names.index("glowing"), 15
    ys, xs = np.nonzero(freed)
    offsets = np.arange(side) - side // 2
    rows, cols = _mirrored(ys[:, None] + offsets, labels.shape[0]), _mirrored(xs[:, None] + offsets, labels.shape[1])
    most = np.zeros(ys.size, bool)
    for start in range(0, ys.size, 4096):
        part = slice(start, start + 4096)
        glow = np.count_nonzero(labels[rows[part, :, None], cols[part, None, :]] == glowing, axis=(1, 2))
        most[part] = 2 * glow > side * side
    labels[ys[most], xs[most]] = glowing


def _mirrored(index: np.ndarray, length: int) -> np.ndarray:
    """Indices beyond ``0 .. length - 1`` mirrored back in (-1 -> 0, length -> length - 1)."""
    import numpy as np

    return np.where(index < 0, -index - 1, np.where(index >= length, 2 * length - index - 1, index))
