"""What the Export dialog asks for, checked before anything is written, previewed as rectangles, and run.

An :class:`ExportRequest` holds the same options as ``ccdstudio export`` (see :mod:`ccdstudio.cli.export`);
:func:`check_request` raises :class:`CcdstudioError` with a sentence for the user for everything that can
be known before writing (an existing non-empty folder, a window larger than the image, a layer range outside
the image, a class the labels do not contain); :func:`preview_rects` gives the windows or boxes the export
will write, drawn with the same seed; :func:`export_job` runs it on a source of its own, so the viewer's
reads and the export's never share a file handle. Qt-free.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.boxes import Box, BoxLimits, find_boxes
from ccdstudio.export.crops import CropOptions
from ccdstudio.export.cutouts import padded_window
from ccdstudio.export.inputs import (
    classes_for,
    layer_planes,
    source_labels,
    source_mask,
)
from ccdstudio.export.output import check_output
from ccdstudio.export.sampling import random_windows, window_size
from ccdstudio.export.tiles import tile_windows
from ccdstudio.io import open_image
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.jobs import CancelToken, Job
from ccdstudio.labels.classes import ClassSet

Kind = Literal["tiles", "crops", "boxes", "cutouts"]
Rect = tuple[int, int, int, int]
"""``(x, y, width, height)`` from the top-left pixel corner, in array pixels."""


@dataclass(frozen=True)
class ExportRequest:
    """One export as the dialog describes it; ``cls``/``box_classes`` are class indices (None: any/every)."""

    kind: Kind
    out: str
    layers: tuple[int, int] | None = None
    seed: int = 0
    tile_size: int = 256
    pad_tiles: bool = False
    skip_without: int | None = None
    crop: CropOptions = field(default_factory=CropOptions)
    box_classes: list[int] | None = None
    limits: BoxLimits = field(default_factory=BoxLimits)
    segmentation: Literal["polygon", "rle"] = "polygon"
    pad: int = 0

    @property
    def crop_options(self) -> CropOptions:
        """The crop options with the request's layer range and seed."""
        return replace(self.crop, layers=self.layers, seed=self.seed)


@dataclass
class ExportInputs:
    """The labels (and their classes) an export uses: a map in memory, or None for the source's own."""

    labels: Any | None = None
    classes: ClassSet | None = None

    def resolve(self, source: ImageSource) -> tuple[Any | None, ClassSet | None]:
        if self.labels is not None:
            return self.labels, self.classes
        return source_labels(source)


def _shape(source: ImageSource, layers: tuple[int, int] | None) -> tuple[int, int]:
    return tuple(source.planes[layer_planes(source, layers)[0]].shape)  # type: ignore[return-value]


def _label_array(labels: Any) -> np.ndarray:
    return np.asarray(labels[:, :])


def _require_class(labels: Any | None, cls: int | None, what: str) -> None:
    if cls is None:
        return
    if labels is None:
        raise CcdstudioError(f"{what} needs labels, and none are chosen")
    if not np.any(_label_array(labels) == cls):
        raise CcdstudioError(f"the labels contain no pixel of class {cls}: {what} has nothing to find")


def check_request(request: ExportRequest, source: ImageSource, inputs: ExportInputs) -> None:
    """Raise :class:`CcdstudioError` for a request that cannot be met, before any file is written."""
    if not request.out.strip():
        raise CcdstudioError("choose an output folder")
    check_output(request.out, overwrite=False)
    shape = _shape(source, request.layers)  # raises for a layer range outside the image
    labels, _ = inputs.resolve(source)
    if labels is not None and tuple(labels.shape) != shape:
        raise CcdstudioError(f"the labels are {labels.shape[1]}x{labels.shape[0]} but the image is "
                             f"{shape[1]}x{shape[0]}")
    if request.kind == "tiles":
        size = request.tile_size
        if size < 1 or (not request.pad_tiles and size > min(shape)):
            raise CcdstudioError(f"tiles of {size} pixels do not fit the {shape[1]}x{shape[0]} image; "
                                 "use a smaller size or pad the last tiles")
        _require_class(labels, request.skip_without, "skipping tiles without a class")
    if request.kind == "crops":
        height, width = window_size(request.crop.size)
        if height > shape[0] or width > shape[1]:
            raise CcdstudioError(f"the window {width}x{height} is larger than the image {shape[1]}x{shape[0]}")
        if request.crop.min_fraction > 0:
            if labels is None:
                raise CcdstudioError("a minimum label fraction needs labels, and none are chosen")
            _require_class(labels, request.crop.cls, "a minimum class fraction")
    if request.kind in ("boxes", "cutouts"):
        if labels is None:
            raise CcdstudioError("boxes are found in labels, and none are chosen")
        for cls in request.box_classes or []:
            _require_class(labels, cls, "boxing that class")


def find_request_boxes(request: ExportRequest, labels: Any) -> list[Box]:
    return find_boxes(_label_array(labels), request.box_classes, **asdict(request.limits))


def preview_rects(request: ExportRequest, source: ImageSource, inputs: ExportInputs) -> list[Rect]:
    """The windows (tiles, crops) or boxes (boxes, padded cut-outs) the export would write."""
    shape = _shape(source, request.layers)
    if request.kind == "tiles":
        windows = tile_windows(shape, request.tile_size, "pad" if request.pad_tiles else "overlap")
        return [_rect(w) for w in windows]
    labels, _ = inputs.resolve(source)
    if request.kind == "crops":
        options = request.crop_options
        rng = np.random.default_rng(options.seed)  # the export's first draws: the same windows
        count = options.count * (2 if options.stitch else 1)
        windows = random_windows(shape, options.size, count, rng, mask=source_mask(source), labels=labels,
                                 cls=options.cls if labels is not None else None, min_fraction=options.min_fraction,
                                 max_attempts=options.max_attempts)
        return [_rect(w) for w in windows]
    boxes = find_request_boxes(request, labels)
    if request.kind == "cutouts":
        return [_rect(padded_window(box, request.pad, shape)) for box in boxes]
    return [(b.x, b.y, b.width, b.height) for b in boxes]


def _rect(window: Window) -> Rect:
    rows, cols = window
    return cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start


def export_job(request: ExportRequest, path: str | os.PathLike[str], inputs: ExportInputs,
               cancel: CancelToken | None = None) -> Job[str]:
    """Run the export on ``path`` opened afresh; returns a one-line summary."""
    from ccdstudio.export.annotations import export_boxes
    from ccdstudio.export.crops import export_crops
    from ccdstudio.export.cutouts import export_cutouts
    from ccdstudio.export.tiles import export_tiles

    with open_image(path) as source:
        check_request(request, source, inputs)
        labels, classes = inputs.resolve(source)
        out = request.out
        if request.kind == "tiles":
            yield from export_tiles(source, out, request.tile_size, layers=request.layers, labels=labels, classes=classes,
                                    mode="pad" if request.pad_tiles else "overlap", skip_without=request.skip_without,
                                    cancel=cancel)
            return f"tiles written to {out}"
        if request.kind == "crops":
            yield from export_crops(source, out, request.crop_options, labels=labels, classes=classes, cancel=cancel)
            return f"{request.crop.count} crops written to {out}"
        array = _label_array(labels)
        if request.kind == "boxes":
            image = source.read(layer_planes(source, request.layers)[0])
            boxes = yield from export_boxes(array, out, classes_for(array, classes), name=Path(path).name, image=image,
                                            box_classes=request.box_classes, limits=request.limits,
                                            segmentation=request.segmentation, cancel=cancel)
            return f"{len(boxes)} boxes written to {out}"
        boxes = find_request_boxes(request, array)
        yield from export_cutouts(source, out, boxes, labels=array, classes=classes, layers=request.layers,
                                  pad=request.pad, cancel=cancel)
        return f"{len(boxes)} cut-outs written to {out}"
