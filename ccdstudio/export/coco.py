"""COCO object-detection JSON for boxes, loadable by pycocotools (``COCO(path)``, ``annToMask``).

Conventions (those of the COCO format): ``bbox`` is ``[x, y, width, height]`` from the top-left pixel
corner, 0-based; polygons are corner coordinates ``[x1, y1, x2, y2, ...]`` traced along pixel edges, which
pycocotools rasterises back to exactly the region's pixels; RLE is uncompressed, its counts in
column-major order starting with a run of zeros. Category ids are the class indices (background, 0, is
not a category), so they match the label maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ccdstudio.export.boxes import Box
from ccdstudio.export.outline import rle_encode, signed_area
from ccdstudio.labels.classes import ClassSet

Segmentation = Literal["polygon", "rle"]


def coco_dataset(
    boxes: Sequence[Box],
    classes: ClassSet,
    shape: tuple[int, int],
    file_name: str,
    segmentation: Segmentation = "polygon",
    description: str = "",
) -> dict[str, Any]:
    """A COCO dataset dict with one image and an annotation per box.

    With ``segmentation="polygon"`` each region is written as its outer outlines; a region with a hole
    cannot be a union of polygons, so it is written as RLE instead (pycocotools reads both the same way).
    """
    from ccdstudio import __version__

    height, width = shape
    annotations = []
    for number, box in enumerate(boxes, start=1):
        if segmentation == "polygon" and not box.has_holes:
            segm: Any = [o.ravel().tolist() for o in box.outlines if signed_area(o) > 0]
        else:
            segm = rle_encode(box.mask, (box.y, box.x), shape)
        annotations.append({
            "id": number,
            "image_id": 1,
            "category_id": box.cls,
            "bbox": [box.x, box.y, box.width, box.height],
            "area": box.area,
            "segmentation": segm,
            "iscrowd": 0,
            "solidity": round(box.solidity, 6),
        })
    return {
        "info": {"description": description or f"boxes of {file_name}", "version": "1.0",
                 "contributor": f"ccdstudio {__version__}"},
        "licenses": [],
        "images": [{"id": 1, "file_name": file_name, "width": width, "height": height}],
        "annotations": annotations,
        "categories": [{"id": i, "name": c.name, "supercategory": "label"} for i, c in enumerate(classes) if i > 0],
    }
