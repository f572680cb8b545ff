"""Writing one sample folder (a crop, a stitched pair of crops, a cut-out) laid out like its source.

A sample from a scroll segment is itself a segment: ``layers/00.tif ...`` (the source's dtype,
uncompressed), ``mask.png`` (grey 0/255) and ``inklabels.png`` (grey 0/255, the Vesuvius convention;
an indexed PNG with its class set when there are more than two classes), so it opens in ccdstudio as a
segment again. A sample from any other image is ``image.tif`` (the planes stacked), ``labels.png`` (an
indexed PNG with its class set) and ``mask.png``.

Layers are read and written one at a time, one window each: memory holds one layer of one sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ccdstudio.export.sampling import Orientation
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.io.write import write_png, write_tiff
from ccdstudio.labels.classes import ClassSet

Layout = Literal["segment", "image"]
Piece = tuple[Window, Orientation]
"""A window of the source and how it is turned; a sample is one piece or several side by side."""


@dataclass(frozen=True)
class SampleInputs:
    """What every sample of an export is cut from."""

    source: ImageSource
    planes: list[int]
    labels: Any | None = None
    mask: Any | None = None
    classes: ClassSet | None = None

    @property
    def layout(self) -> Layout:
        return "segment" if self.source.format == "segment" else "image"

    def files_per_sample(self) -> int:
        """Files written per sample (for progress)."""
        image_files = len(self.planes) if self.layout == "segment" else 1
        return image_files + (self.labels is not None) + (self.mask is not None)


def assemble(read: Callable[[Window], np.ndarray], pieces: Sequence[Piece]) -> np.ndarray:
    """Read each piece, turn it, and put the pieces side by side (along the last axis)."""
    parts = [orientation.apply(read(window)) for window, orientation in pieces]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def write_samples(folder: Path, inputs: SampleInputs, samples: Sequence[tuple[str, Sequence[Piece]]]) -> Iterator[str]:
    """Write each ``(name, pieces)`` sample into ``folder / name``, yielding each file's path once written.

    Segment layers are written layer by layer across all samples, so each layer file of the source is
    opened once per export (a segment keeps only a few open) while memory still holds one window.
    """
    source = inputs.source
    if inputs.layout == "segment":
        digits = max(2, len(str(len(inputs.planes) - 1)))
        for k, plane in enumerate(inputs.planes):
            for name, pieces in samples:
                path = f"{name}/layers/{k:0{digits}d}.tif"
                write_tiff(folder / path, assemble(lambda w, p=plane: source.read(p, w), pieces))
                yield path
    else:
        for name, pieces in samples:
            stack = assemble(lambda w: source.read_stack(inputs.planes, w), pieces)
            write_tiff(folder / name / "image.tif", stack[0] if len(inputs.planes) == 1 else stack)
            yield f"{name}/image.tif"
    for name, pieces in samples:
        if inputs.mask is not None:
            inside = assemble(lambda w: np.asarray(inputs.mask[w]), pieces) != 0
            write_png(folder / name / "mask.png", inside)  # grey 0/255
            yield f"{name}/mask.png"
        if inputs.labels is not None:
            labels = assemble(lambda w: np.asarray(inputs.labels[w]), pieces).astype(np.uint8)
            yield f"{name}/{save_sample_labels(folder / name, labels, inputs.classes, inputs.layout)}"


def save_sample_labels(folder: Path, labels: np.ndarray, classes: ClassSet | None, layout: Layout) -> str:
    """Write a sample's labels under the name its layout uses; return that name."""
    from ccdstudio.labels.io import save_ink_labels, save_labels

    if layout == "segment" and (classes is None or len(classes) <= 2):
        save_ink_labels(folder / "inklabels.png", labels)
        return "inklabels.png"
    name = "inklabels.png" if layout == "segment" else "labels.png"
    if classes is None:
        top = int(labels.max()) if labels.size else 0
        classes = ClassSet.from_names(["background"] + [f"class {i}" for i in range(1, max(top, 1) + 1)])
    save_labels(folder / name, labels, classes)
    return name
