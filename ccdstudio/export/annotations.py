"""The box export: COCO JSON, YOLO txt, a DS9 region file and a preview PNG of one labelled image.

The folder holds ``coco.json``, ``<name>.txt`` with ``classes.txt`` (YOLO), ``<name>.reg`` (DS9),
``preview.png`` and ``export.json`` (the parameters and the box count).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.boxes import Box, BoxLimits, find_boxes
from ccdstudio.export.coco import Segmentation, coco_dataset
from ccdstudio.export.output import check_output, manifest, staged_folder, write_json
from ccdstudio.export.regions import ds9_regions, image_picture, label_picture, preview, yolo_classes, yolo_lines
from ccdstudio.io.write import write_png
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.labels.classes import ClassSet


def export_boxes(
    labels: np.ndarray,
    out: str | os.PathLike[str],
    classes: ClassSet,
    *,
    name: str = "image",
    image: np.ndarray | None = None,
    box_classes: int | list[int] | None = None,
    limits: BoxLimits = BoxLimits(),
    segmentation: Segmentation = "polygon",
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Job[list[Box]]:
    """Find the boxes of ``labels`` and write them in every format to ``out``; return the boxes.

    Parameters
    ----------
    name
        The image's file name (COCO ``file_name``; its stem names the YOLO and DS9 files).
    image
        The labelled image, drawn under the boxes in the preview (else the label map's colours).
    box_classes
        The class or classes to box; None for every non-zero class.
    limits
        Size and shape limits (see :func:`ccdstudio.export.boxes.find_boxes`).
    segmentation
        ``"polygon"`` (RLE for regions with holes) or ``"rle"``.
    """
    check_output(out, overwrite)
    labels = np.asarray(labels)
    if segmentation not in ("polygon", "rle"):
        raise CcdstudioError(f"unknown segmentation {segmentation!r}; choose polygon or rle")
    if image is not None and np.shape(image)[-2:] != labels.shape:
        raise CcdstudioError(f"the image is {np.shape(image)[-1]}x{np.shape(image)[-2]} "
                             f"but the labels are {labels.shape[1]}x{labels.shape[0]}")
    if labels.size and int(labels.max()) >= len(classes):
        raise CcdstudioError(f"the labels use class {int(labels.max())} but only {len(classes)} classes are named")
    yield Progress(0.0, "finding regions")
    boxes = find_boxes(labels, box_classes, **asdict(limits))
    check(cancel)
    stem = Path(name).stem or "image"
    with staged_folder(out, overwrite) as staging:
        yield Progress(0.4, f"writing {len(boxes)} boxes")
        write_json(staging / "coco.json", coco_dataset(boxes, classes, labels.shape, name, segmentation))
        (staging / f"{stem}.txt").write_text(yolo_lines(boxes, labels.shape))
        (staging / "classes.txt").write_text(yolo_classes(classes))
        (staging / f"{stem}.reg").write_text(ds9_regions(boxes, classes))
        check(cancel)
        yield Progress(0.7, "drawing the preview")
        background = label_picture(labels, classes) if image is None else image_picture(np.asarray(image))
        write_png(staging / "preview.png", preview(boxes, classes, background))
        parameters = {"classes": box_classes, "segmentation": segmentation, **asdict(limits)}
        write_json(staging / "export.json", manifest("boxes", name, parameters, boxes=len(boxes),
                                                     classes=classes.to_dict()["classes"]))
    yield Progress(1.0, f"{len(boxes)} boxes")
    return boxes
