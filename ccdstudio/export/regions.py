"""Boxes as YOLO label lines, DS9 region files and a preview picture.

Each format's coordinate convention is converted here, in one place:

- YOLO: ``class cx cy w h`` with the box centre and size divided by the image width and height; the
  YOLO class is the label class minus one (YOLO has no background class), names in ``classes.txt``.
- DS9 ``image`` coordinates are 1-based and put a pixel's centre on an integer: array pixel ``x`` (0-based)
  is DS9 ``x + 1``, so a box covering columns ``x .. x + w - 1`` has its centre at ``x + w / 2 + 0.5``.
  FITS rows are stored in array order, so array row ``y`` is DS9 ``y + 1`` too (DS9 shows row 1 at the
  bottom; nothing is flipped in the file).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ccdstudio.export.boxes import Box
from ccdstudio.labels.classes import ClassSet


def yolo_lines(boxes: Sequence[Box], shape: tuple[int, int]) -> str:
    """YOLO label text for one image of ``shape``: one ``class cx cy w h`` line per box."""
    height, width = shape
    lines = [
        f"{b.cls - 1} {(b.x + b.width / 2) / width:.6f} {(b.y + b.height / 2) / height:.6f} "
        f"{b.width / width:.6f} {b.height / height:.6f}"
        for b in boxes
    ]
    return "".join(line + "\n" for line in lines)


def yolo_classes(classes: ClassSet) -> str:
    """``classes.txt``: the YOLO class names, one per line, YOLO class 0 first (label class 1)."""
    return "".join(name + "\n" for name in classes.names[1:])


def ds9_center(box: Box) -> tuple[float, float]:
    """The box centre in DS9 image coordinates (1-based, pixel centres on integers)."""
    return box.x + box.width / 2 + 0.5, box.y + box.height / 2 + 0.5


def ds9_regions(boxes: Sequence[Box], classes: ClassSet) -> str:
    """A DS9 region file: one ``box`` per region in image coordinates, coloured and named by class."""
    lines = ["# Region file format: DS9 version 4.1",
             'global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 '
             "dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1",
             "image"]
    for b in boxes:
        cx, cy = ds9_center(b)
        name = classes[b.cls].name if b.cls < len(classes) else f"class {b.cls}"
        color = "#{:02x}{:02x}{:02x}".format(*(classes[b.cls].color if b.cls < len(classes) else (0, 255, 0)))
        lines.append(f"box({cx:g},{cy:g},{b.width},{b.height},0) # color={color} text={{{name}}}")
    return "\n".join(lines) + "\n"


PREVIEW_SIDE = 4096
"""Longest side of a preview picture; larger frames are shrunk (boxes are drawn after shrinking)."""


def preview(boxes: Sequence[Box], classes: ClassSet, background: np.ndarray) -> np.ndarray:
    """An RGB picture of ``background`` (uint8 grey or RGB) with a one-pixel box outline per region."""
    import cv2

    rgb = background if background.ndim == 3 else np.repeat(background[..., None], 3, axis=2)
    height, width = rgb.shape[:2]
    scale = min(1.0, PREVIEW_SIDE / max(height, width))
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(rgb)
    for b in boxes:
        color = classes[b.cls].color if b.cls < len(classes) else (0, 255, 0)
        if color == (0, 0, 0):
            color = (255, 255, 255)
        # The outline runs along the box's outermost pixels (corner pixels included).
        x0, y0 = int(b.x * scale), int(b.y * scale)
        x1, y1 = max(x0, int(np.ceil((b.x + b.width) * scale)) - 1), max(y0, int(np.ceil((b.y + b.height) * scale)) - 1)
        cv2.rectangle(rgb, (x0, y0), (x1, y1), tuple(int(c) for c in color), 1)
    return rgb


def label_picture(labels: np.ndarray, classes: ClassSet) -> np.ndarray:
    """The label map in its class colours at half brightness, as a preview background without an image."""
    return (classes.lut()[labels] // 2).astype(np.uint8)


def image_picture(image: np.ndarray) -> np.ndarray:
    """A grey uint8 picture of an image with zscale levels (CCD frames: a few ADU of noise visible)."""
    from ccdstudio.imaging.stretch import cut_levels, finite_sample, to_display

    levels = cut_levels(finite_sample(image), "zscale")
    return to_display(image, levels)
