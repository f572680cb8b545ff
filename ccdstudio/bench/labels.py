"""Label editing figures on a scroll-segment-sized map (10000 x 8000; 2000 x 1600 with ``quick``).

A brush segment must cost what its dirty rectangle costs, so it is timed against what touching the whole map
would cost (a full copy for undo, a full colour-table redraw). A bucket fill is timed against the previous
method (scikit-image's flood over the whole map, then the same edit). A fill of the whole map is computed in
a worker thread; what the UI thread still does (write the region, update the class counts) is timed against
the previous synchronous fill, and its undo record against an :class:`Edit` of the map. Autosave is timed
against a plain ``np.save``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.edits import Edit, History
from ccdstudio.labels.paint import fill, flood_region, paint_mask, stroke_segment

GROUP = "labels"


def _map(quick: bool) -> np.ndarray:
    shape = (2000, 1600) if quick else (10000, 8000)
    labels = np.zeros(shape, np.uint8)
    labels[shape[0] // 4: shape[0] // 2, shape[1] // 4: shape[1] // 2] = 1
    return labels


def _stroke_time(labels: np.ndarray, segments: int, size: float) -> float:
    """Seconds per segment of a stroke: compute the edit, apply it, record it (one undo step per stroke)."""
    history = History()
    height, width = labels.shape
    points = [(height / 3 + 2 * i, width / 3 + 3 * i) for i in range(segments + 1)]
    history.begin("brush")
    t0 = time.perf_counter()
    for p0, p1 in zip(points, points[1:]):
        edit = stroke_segment(labels, p0, p1, 2, size=size)
        if edit is not None:
            edit.apply(labels)
            history.push(edit)
    elapsed = time.perf_counter() - t0
    history.end(labels)
    history.undo(labels)
    return elapsed / segments


def _whole_map_fill(labels: np.ndarray, seed: tuple[int, int], value: int) -> None:
    """The previous fill: scikit-image's flood (which pads and scans the whole map), then the same edit."""
    from skimage.segmentation import flood

    region = flood(labels, seed, connectivity=1)
    paint_mask(labels, 0, 0, region, value, label="fill")


def _fill_figures(labels: np.ndarray, size_note: str) -> Iterator[Figure]:
    height, width = labels.shape
    labels = labels.copy()
    labels[height // 10: height // 10 + 200, width // 10: width // 10 + 200] = 3  # a cluster-sized region
    fill(labels, (0, 0), 2)  # imports OpenCV outside the timing
    for name, seed in (("200 x 200 region", (height // 10 + 5, width // 10 + 5)),
                       ("quarter-map region", (height * 3 // 8, width * 3 // 8))):
        ours = best_time(lambda seed=seed: fill(labels, seed, 2), repeat=3)
        previous = best_time(lambda seed=seed: _whole_map_fill(labels, seed, 2), repeat=2)
        yield Figure(GROUP, f"fill, {name}", ours * 1e3, "ms", previous * 1e3, "skimage flood (previous)",
                     note=f"{size_note}; region + edit")


def _previous_sync_fill(labels: np.ndarray, seed: tuple[int, int], value: int) -> Edit:
    """The previous fill on the UI thread: flood, an :class:`Edit` of the region's box, apply, recount."""
    y0, x0, region = flood_region(labels, seed)
    edit = paint_mask(labels, y0, x0, region, value, label="fill")
    assert edit is not None
    labels[edit.window] = edit.new
    np.bincount(edit.new.ravel(), minlength=256) - np.bincount(edit.old.ravel(), minlength=256)
    return edit


def _whole_map_fill_figures(labels: np.ndarray, size_note: str) -> Iterator[Figure]:
    labels = labels.copy()
    counts = np.zeros(256, np.int64)
    edit = fill(labels, (0, 0), 2)  # computed in the worker thread in the GUI
    assert edit is not None

    def ui_thread() -> None:
        """What the UI thread does for the fill, then for its undo: write the pixels, update the counts."""
        edit.apply(labels)
        np.add(counts, edit.count_change(), out=counts)
        edit.revert(labels)
        np.subtract(counts, edit.count_change(), out=counts)

    previous_edits: list[Edit] = []

    def previous() -> None:
        previous_edits.append(_previous_sync_fill(labels, (0, 0), 2))
        labels[previous_edits[-1].window] = previous_edits[-1].old  # its undo

    ours, before = best_time(ui_thread, repeat=3), best_time(previous, repeat=2)
    yield Figure(GROUP, "whole-map fill, UI thread (fill + undo)", ours * 1e3, "ms", before * 1e3,
                 "synchronous fill (previous)", note=f"{size_note}; flood + record in a worker thread")
    yield Figure(GROUP, "whole-map fill, undo record", edit.nbytes / 2**20, "MB",
                 previous_edits[-1].nbytes / 2**20, "Edit of the box (previous)", note=size_note)


def run(quick: bool) -> Iterator[Figure]:
    labels = _map(quick)
    size_note = f"{labels.shape[1]} x {labels.shape[0]} map"
    yield from _fill_figures(labels, size_note)
    yield from _whole_map_fill_figures(labels, size_note)
    segments = 50 if quick else 200
    for brush in (10, 50):
        per_segment = min(_stroke_time(labels, segments, brush) for _ in range(3))
        copy_time = best_time(labels.copy, repeat=3)
        yield Figure(GROUP, f"brush segment, size {brush}", per_segment * 1e3, "ms", copy_time * 1e3,
                     "full-map copy", note=f"{size_note}; edit + apply + record")
    # The fastest full redraw numpy offers: one packed-RGBA lookup per pixel.
    rgba = np.concatenate([ClassSet.preset("ccd").lut(), np.full((256, 1), 255, np.uint8)], axis=1)
    packed = rgba.view(np.uint32).ravel()
    per_segment = min(_stroke_time(labels, segments, 10) for _ in range(3))
    redraw = best_time(lambda: np.take(packed, labels), repeat=2)
    yield Figure(GROUP, "brush segment vs full redraw", per_segment * 1e3, "ms", redraw * 1e3,
                 "full-map colour redraw", note=size_note)

    with tempfile.TemporaryDirectory() as folder:
        from ccdstudio.labels import autosave

        plain = Path(folder) / "plain.npy"
        saved = best_time(lambda: np.save(plain, labels), repeat=3)
        auto = best_time(lambda: autosave.write(Path(folder), "bench", labels, ClassSet.preset("ink")), repeat=3)
        yield Figure(GROUP, "autosave (atomic, fsync)", auto, "s", saved, "plain np.save", note=size_note)

        from ccdstudio.labels.io import load_labels, save_labels

        for suffix in ("png", "tif", "fits"):
            path = Path(folder) / f"labels.{suffix}"
            write = best_time(lambda: save_labels(path, labels, ClassSet.preset("ink")), repeat=2)
            read = best_time(lambda: load_labels(path), repeat=2)
            yield Figure(GROUP, f"save labels .{suffix}", write, "s", saved, "plain np.save", note=size_note)
            yield Figure(GROUP, f"load labels .{suffix}", read, "s", None, note=size_note)
