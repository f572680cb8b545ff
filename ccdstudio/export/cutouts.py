"""Cut-outs: for each box, a ``cutout_NNNN`` folder with the image or layers, labels and mask inside it.

Each folder is laid out like a crop (see :mod:`ccdstudio.export.samples`), so a cut-out of a segment
opens as a segment. ``pad`` widens every box by that many pixels on each side, clipped to the image; the
manifest records the window actually cut, in 0-based array pixels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.boxes import Box
from ccdstudio.export.inputs import check_same_shape, layer_planes, source_mask
from ccdstudio.export.output import check_output, manifest, staged_folder, write_json
from ccdstudio.export.samples import SampleInputs, write_samples
from ccdstudio.export.sampling import Orientation
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.labels.classes import ClassSet


def padded_window(box: Box, pad: int, shape: tuple[int, int]) -> Window:
    """``box`` widened by ``pad`` pixels on every side and clipped to an image of ``shape``."""
    return (slice(max(0, box.y - pad), min(shape[0], box.y + box.height + pad)),
            slice(max(0, box.x - pad), min(shape[1], box.x + box.width + pad)))


def export_cutouts(
    source: ImageSource,
    out: str | os.PathLike[str],
    boxes: Sequence[Box],
    *,
    labels: Any | None = None,
    mask: Any | None = None,
    classes: ClassSet | None = None,
    layers: tuple[int, int] | None = None,
    pad: int = 0,
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Job[Path]:
    """Write one folder per box of ``source`` (its labels and mask too) to ``out``; return ``out``.

    ``labels`` are usually the map the boxes were found in; ``mask`` defaults to the source's mask plane.
    """
    check_output(out, overwrite)
    if not boxes:
        raise CcdstudioError("no box to cut out: no region passed the limits")
    if pad < 0:
        raise CcdstudioError(f"the padding must not be negative, got {pad}")
    planes = layer_planes(source, layers)
    shape = tuple(source.planes[planes[0]].shape)
    mask = source_mask(source) if mask is None else mask
    check_same_shape(shape, labels=labels, mask=mask)
    outside = [b for b in boxes if b.y + b.height > shape[0] or b.x + b.width > shape[1]]
    if outside:
        raise CcdstudioError(f"box at x={outside[0].x}, y={outside[0].y} lies outside the "
                             f"{shape[1]}x{shape[0]} image")

    inputs = SampleInputs(source, planes, labels, mask, classes)
    digits = max(4, len(str(len(boxes) - 1)))
    names = [f"cutout_{i:0{digits}d}" for i in range(len(boxes))]
    windows = [padded_window(box, pad, shape) for box in boxes]
    total = len(boxes) * inputs.files_per_sample()
    samples = [(name, [(window, Orientation())]) for name, window in zip(names, windows)]
    with staged_folder(out, overwrite) as staging:
        for done, written in enumerate(write_samples(staging, inputs, samples), start=1):
            check(cancel)
            yield Progress(done / total, written)
        records = [{"name": name, "class": box.cls, "area": box.area,
                    "box": {"x": box.x, "y": box.y, "width": box.width, "height": box.height},
                    "window": {"y": w[0].start, "x": w[1].start, "height": w[0].stop - w[0].start,
                               "width": w[1].stop - w[1].start}}
                   for name, box, w in zip(names, boxes, windows)]
        parameters = {"pad": pad, "layers": layers, "layer_planes": [source.planes[p].name for p in planes]}
        write_json(staging / "export.json", manifest("cutouts", source.path, parameters, cutouts=records))
    return Path(out)
