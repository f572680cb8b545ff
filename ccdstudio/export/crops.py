"""Random crops of a scroll segment (or any image) with a minimum label fraction, as done for ink datasets.

Windows are drawn by :func:`ccdstudio.export.sampling.random_windows` (inside the mask, more than
``min_fraction`` of the chosen class), the same window is cut from every layer in the range, the labels
and the mask, turned by one random flip/rot90 shared by all of them, optionally put side by side in
pairs, and written as one segment-like folder per sample (see :mod:`ccdstudio.export.samples`).

Everything is decided before the first file is written: a request that cannot be met (a window larger
than the image, a layer range outside the segment, a class absent from the labels, too few windows within
the attempts) fails with nothing written. The same seed gives byte-identical folders.

Example
-------
>>> from ccdstudio.io import open_image
>>> options = CropOptions(size=1028, count=40, min_fraction=0.15, layers=(15, 50), flip=0.5, rot90=0.5)
>>> run(export_crops(open_image("20230702185753"), "crops", options))  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.inputs import check_same_shape, layer_planes, source_labels, source_mask
from ccdstudio.export.output import check_output, manifest, staged_folder, write_json
from ccdstudio.export.samples import Piece, SampleInputs, write_samples
from ccdstudio.export.sampling import check_probabilities, random_orientation, random_windows, window_size
from ccdstudio.io.source import ImageSource
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.labels.classes import ClassSet


@dataclass(frozen=True)
class CropOptions:
    """The parameters of a crop export (the CLI options and the dialog fields).

    Parameters
    ----------
    size
        Window side, or ``(height, width)``.
    count
        Samples to write; with ``stitch`` each sample is two windows side by side.
    min_fraction
        Keep a window only when more than this share of it is labelled ``cls``.
    cls
        The class counted; None counts every non-zero label.
    layers
        ``(first, last)`` layers, inclusive and 0-based; None for all.
    flip, rot90
        Probabilities of each flip and of a quarter turn, drawn per window.
    stitch
        Put windows side by side in pairs.
    seed
        The seed of the window and orientation draws.
    max_attempts
        Candidate windows tried before giving up (default: see :func:`random_windows`).
    """

    size: int | tuple[int, int] = 256
    count: int = 10
    min_fraction: float = 0.0
    cls: int | None = 1
    layers: tuple[int, int] | None = None
    flip: float = 0.0
    rot90: float = 0.0
    stitch: bool = False
    seed: int = 0
    max_attempts: int | None = None


def export_crops(
    source: ImageSource,
    out: str | os.PathLike[str],
    options: CropOptions,
    *,
    labels: Any | None = None,
    mask: Any | None = None,
    classes: ClassSet | None = None,
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Job[Path]:
    """Write ``options.count`` random crops of ``source`` to ``out``; return ``out``.

    ``labels`` (class indices) and ``mask`` (non-zero inside) default to the source's own label and mask
    planes; they may be lazy arrays. Without labels the windows are only kept inside the mask, and
    ``min_fraction`` must be 0.
    """
    check_output(out, overwrite)
    planes = layer_planes(source, options.layers)
    shape = tuple(source.planes[planes[0]].shape)
    if labels is None:
        labels, found_classes = source_labels(source)
        classes = classes or found_classes
    mask = source_mask(source) if mask is None else mask
    check_same_shape(shape, labels=labels, mask=mask)
    if options.count < 1:
        raise CcdstudioError(f"the number of crops must be at least 1, got {options.count}")
    win_h, win_w = window_size(options.size)
    check_probabilities(options.flip, options.rot90)
    if options.stitch and win_h != win_w and options.rot90 > 0:
        raise CcdstudioError("stitched pairs need square windows when they may be turned (rot90 > 0)")
    if labels is None and options.min_fraction > 0:
        raise CcdstudioError("a minimum label fraction needs labels, and the image has none")

    yield Progress(0.0, "drawing windows")
    rng = np.random.default_rng(options.seed)
    per_sample = 2 if options.stitch else 1
    windows = random_windows(
        shape, (win_h, win_w), options.count * per_sample, rng, mask=mask, labels=labels,
        cls=options.cls if labels is not None else None, min_fraction=options.min_fraction,
        max_attempts=options.max_attempts,
    )
    orientations = [random_orientation(rng, options.flip, options.rot90) for _ in windows]
    pieces: list[Piece] = list(zip(windows, orientations))
    samples = [pieces[i : i + per_sample] for i in range(0, len(pieces), per_sample)]

    inputs = SampleInputs(source, planes, labels, mask, classes)
    names = [f"sample_{i:04d}" for i in range(len(samples))]
    total = len(samples) * inputs.files_per_sample()
    with staged_folder(out, overwrite) as staging:
        for done, written in enumerate(write_samples(staging, inputs, list(zip(names, samples))), start=1):
            check(cancel)
            yield Progress(done / total, written)
        records = [{"name": name, "pieces": [_piece_record(w, o) for w, o in sample]}
                   for name, sample in zip(names, samples)]
        parameters = asdict(options) | {"layer_planes": [source.planes[p].name for p in planes]}
        write_json(staging / "export.json", manifest("crops", source.path, parameters, samples=records))
    return Path(out)


def _piece_record(window: Any, orientation: Any) -> dict[str, Any]:
    """Where a piece came from: its window in source pixels (0-based ``[y, x]``) and its orientation."""
    rows, cols = window
    return {"y": rows.start, "x": cols.start, "height": rows.stop - rows.start, "width": cols.stop - cols.start,
            **asdict(orientation)}
