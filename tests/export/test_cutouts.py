"""Cut-outs: one folder per box holding exactly the box (plus padding) of every layer, labels and mask."""

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.boxes import find_boxes
from ccdstudio.export.cutouts import export_cutouts, padded_window
from ccdstudio.io import ArraySource, open_image
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels

from .conftest import coded_layer, segment_mask


def _two_blobs(shape=(60, 80)) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[1:5, 2:9] = 1  # near the top-left corner: padding is clipped
    labels[30:40, 50:55] = 1
    return labels


def test_segment_cutouts_hold_the_padded_box(segment, tmp_path):
    labels = _two_blobs()
    boxes = find_boxes(labels)
    out = run(export_cutouts(open_image(segment), tmp_path / "cut", boxes, labels=labels, layers=(3, 4), pad=3))
    meta = json.loads((out / "export.json").read_text())
    assert [c["name"] for c in meta["cutouts"]] == ["cutout_0000", "cutout_0001"]
    assert meta["cutouts"][0]["window"] == {"y": 0, "x": 0, "height": 8, "width": 12}  # clipped at 0
    assert meta["cutouts"][1]["window"] == {"y": 27, "x": 47, "height": 16, "width": 11}
    mask = segment_mask()
    for record in meta["cutouts"]:
        w = record["window"]
        window = (slice(w["y"], w["y"] + w["height"]), slice(w["x"], w["x"] + w["width"]))
        folder = out / record["name"]
        for k, source_layer in enumerate((3, 4)):
            np.testing.assert_array_equal(tifffile.imread(folder / "layers" / f"{k:02d}.tif"),
                                          coded_layer(source_layer)[window])
        np.testing.assert_array_equal(np.asarray(Image.open(folder / "inklabels.png")), labels[window] * 255)
        np.testing.assert_array_equal(np.asarray(Image.open(folder / "mask.png")), mask[window] * 255)
        with open_image(folder) as cut:
            assert cut.format == "segment" and cut.metadata["layers"] == 2


def test_image_cutouts_keep_dtype_and_classes(tmp_path, rng):
    image = rng.normal(1000, 3, (30, 40)).astype(np.float32)
    labels = np.zeros((30, 40), np.uint8)
    labels[10:14, 20:23] = 3
    classes = ClassSet.preset("ccd")
    boxes = find_boxes(labels)
    out = run(export_cutouts(ArraySource([image]), tmp_path / "cut", boxes, labels=labels, classes=classes))
    folder = out / "cutout_0000"
    np.testing.assert_array_equal(tifffile.imread(folder / "image.tif"), image[10:14, 20:23])
    cut_labels, cut_classes = load_labels(folder / "labels.png")
    assert cut_classes == classes and (cut_labels == 3).all()


def test_padded_window_is_clipped():
    box = find_boxes(_two_blobs())[0]
    assert padded_window(box, 0, (60, 80)) == (slice(1, 5), slice(2, 9))
    assert padded_window(box, 100, (60, 80)) == (slice(0, 60), slice(0, 80))


def test_bad_cutout_requests(segment, tmp_path):
    source = open_image(segment)
    boxes = find_boxes(_two_blobs())
    wide = np.zeros((60, 120), np.uint8)
    wide[5:9, 100:104] = 1  # a box found in a wider image than the source
    for kwargs, message in [
        (dict(boxes=[]), "no box"),
        (dict(boxes=boxes, pad=-1), "negative"),
        (dict(boxes=boxes, layers=(0, 9)), "outside"),
        (dict(boxes=find_boxes(wide)), "x=100, y=5 lies outside the 80x60 image"),
        (dict(boxes=boxes, labels=np.zeros((5, 5), np.uint8)), "labels are 5x5"),
    ]:
        with pytest.raises(CcdstudioError, match=message):
            run(export_cutouts(source, tmp_path / "cut", **kwargs))
    assert not (tmp_path / "cut").exists()
