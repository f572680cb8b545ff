"""Boxes: regions and limits, COCO decoding equal to the regions, YOLO and DS9 conventions, preview, job."""

import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.annotations import export_boxes
from ccdstudio.export.boxes import BoxLimits, find_boxes
from ccdstudio.export.coco import coco_dataset
from ccdstudio.export.outline import pixel_outlines, rle_encode, signed_area
from ccdstudio.export.regions import ds9_center, ds9_regions, preview, yolo_lines
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet

from .coco_reference import ann_to_mask, rle_to_mask

CCD = ClassSet.preset("ccd")


def _labels() -> np.ndarray:
    labels = np.zeros((20, 30), np.uint8)
    labels[2:5, 3:9] = 3  # 6 wide, 3 high: area 18
    labels[10, 10] = labels[11, 11] = 2  # diagonal neighbours: one region with 8-connectivity
    labels[14:19, 20:25] = 1
    labels[16, 22] = 0  # a hole
    labels[0, 29] = 1  # a corner pixel
    return labels


def _random_regions(rng, shape=(40, 50)) -> np.ndarray:
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 1.0)
    labels = (noise > 0.15).astype(np.uint8)
    labels[noise > 0.35] = 2
    return labels


def test_boxes_by_hand():
    boxes = find_boxes(_labels())
    found = [(b.cls, b.x, b.y, b.width, b.height, b.area) for b in boxes]
    assert found == [(1, 29, 0, 1, 1, 1), (1, 20, 14, 5, 5, 24), (2, 10, 10, 2, 2, 2), (3, 3, 2, 6, 3, 18)]
    assert [b.has_holes for b in boxes] == [False, True, False, False]
    assert boxes[3].aspect == 2.0 and boxes[3].solidity == 1.0
    assert boxes[2].solidity == pytest.approx(2 / 3)  # hull of two corner-touching squares: area 3
    assert boxes[3].window == (slice(2, 5), slice(3, 9))
    np.testing.assert_array_equal(boxes[1].mask, _labels()[14:19, 20:25] == 1)
    assert len(find_boxes(_labels(), 2, connectivity=4)) == 2


def test_limits():
    labels = np.zeros((12, 12), np.uint8)
    labels[0, 0] = labels[1, 0] = labels[1, 1] = 1  # an L: solidity 3 / 3.5
    labels[5:7, 5:7] = 1  # a square of 4
    labels[10, 2:10] = 1  # a line 8 x 1
    areas = lambda **k: [b.area for b in find_boxes(labels, **k)]  # noqa: E731
    assert areas() == [3, 4, 8]
    assert areas(min_area=4) == [4, 8] and areas(max_area=4) == [3, 4] and areas(min_area=4, max_area=4) == [4]
    assert find_boxes(labels)[0].solidity == pytest.approx(3 / 3.5)
    assert areas(min_solidity=0.9) == [4, 8]
    assert areas(max_aspect=2) == [3, 4]


@pytest.mark.parametrize("call, message", [
    (lambda: find_boxes(np.zeros((3, 3, 3))), "2-D"),
    (lambda: find_boxes(_labels(), 4), "no pixel of class 4"),
    (lambda: find_boxes(_labels(), connectivity=6), "4 or 8"),
    (lambda: find_boxes(_labels(), min_area=5, max_area=2), "below"),
    (lambda: find_boxes(_labels(), min_solidity=2), "solidity"),
])
def test_bad_box_requests(call, message):
    with pytest.raises(CcdstudioError, match=message):
        call()


def test_outlines_rebuild_the_mask(rng):
    mask = _random_regions(rng) > 0
    outlines = pixel_outlines(mask)
    assert sum(signed_area(o) for o in outlines) == mask.sum()  # outer areas minus holes
    for outline in outlines:  # every step is along a pixel edge, and corners turn
        steps = np.diff(np.vstack([outline, outline[:1]]), axis=0)
        assert np.all((steps[:, 0] == 0) ^ (steps[:, 1] == 0))


@pytest.mark.parametrize("segmentation", ["polygon", "rle"])
def test_coco_segmentations_decode_to_the_regions(rng, segmentation):
    labels = np.concatenate([_labels()[:, :25], _random_regions(rng, (20, 25))], axis=1)
    boxes = find_boxes(labels)
    data = coco_dataset(boxes, CCD, labels.shape, "frame.fits", segmentation)
    data = json.loads(json.dumps(data))  # what a reader gets
    assert len(data["annotations"]) == len(boxes) > 20
    kinds = set()
    for box, annotation in zip(boxes, data["annotations"]):
        expected = np.zeros(labels.shape, np.uint8)
        expected[box.window] = box.mask
        np.testing.assert_array_equal(ann_to_mask(annotation, *labels.shape), expected)
        assert annotation["bbox"] == [box.x, box.y, box.width, box.height]
        assert annotation["area"] == expected.sum() and annotation["category_id"] == box.cls
        kinds.add(type(annotation["segmentation"]).__name__)
    assert kinds == ({"list", "dict"} if segmentation == "polygon" else {"dict"})  # holes fall back to RLE
    assert [c["id"] for c in data["categories"]] == [1, 2, 3]
    assert data["images"] == [{"id": 1, "file_name": "frame.fits", "width": 50, "height": 20}]


def test_rle_counts_by_hand():
    mask = np.array([[0, 1], [1, 1], [0, 0]], bool)  # column-major: 0 1 0 | 1 1 0
    assert rle_encode(mask)["counts"] == [1, 1, 1, 2, 1]
    assert rle_encode(np.ones((2, 2), bool))["counts"] == [0, 4]
    placed = rle_encode(np.ones((1, 1), bool), offset=(2, 1), shape=(3, 2))  # last pixel of the frame
    assert placed == {"size": [3, 2], "counts": [5, 1]}
    np.testing.assert_array_equal(rle_to_mask([1, 1, 1, 2, 1], 3, 2), mask)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside pycocotools, with numpy 2
def test_pycocotools_loads_the_file(tmp_path, rng):
    coco_module = pytest.importorskip("pycocotools.coco")
    labels = np.concatenate([_labels(), _random_regions(rng, (20, 30))], axis=1)
    run(export_boxes(labels, tmp_path / "out", CCD, name="frame.fits"))
    coco = coco_module.COCO(str(tmp_path / "out" / "coco.json"))
    boxes = find_boxes(labels)
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert len(annotations) == len(boxes)
    for box, annotation in zip(boxes, annotations):
        expected = np.zeros(labels.shape, np.uint8)
        expected[box.window] = box.mask
        np.testing.assert_array_equal(coco.annToMask(annotation), expected)


def test_ds9_centres_are_one_based():
    labels = np.zeros((10, 10), np.uint8)
    labels[0, 0] = 1  # array pixel (0, 0) is DS9 pixel (1, 1)
    labels[4:7, 2:5] = 2  # columns 2..4 are DS9 3..5, centre 4; rows 4..6 are DS9 5..7, centre 6
    first, second = find_boxes(labels)
    assert ds9_center(first) == (1.0, 1.0) and ds9_center(second) == (4.0, 6.0)
    text = ds9_regions([first, second], CCD)
    assert text.splitlines()[2] == "image"
    assert "box(1,1,1,1,0) # color=#ffaa00 text={glowing}" in text
    assert "box(4,6,3,3,0) # color=#ff2828 text={hot_pixel}" in text


def test_yolo_lines_by_hand():
    labels = np.zeros((10, 20), np.uint8)
    labels[2:6, 4:8] = 3  # centre (6, 4) of 20x10 -> 0.3, 0.4; size 0.2 x 0.4; YOLO class 2
    assert yolo_lines(find_boxes(labels), labels.shape) == "2 0.300000 0.400000 0.200000 0.400000\n"


def test_preview_draws_each_box_in_its_class_colour():
    labels = _labels()
    boxes = find_boxes(labels)
    picture = preview(boxes, CCD, np.zeros(labels.shape, np.uint8))
    assert picture.shape == (20, 30, 3)
    box = boxes[3]  # cluster (class 3) at x 3..8, y 2..4
    for y, x in [(2, 3), (2, 8), (4, 3), (4, 8), (3, 3)]:
        assert tuple(picture[y, x]) == (40, 200, 255)
    assert tuple(picture[3, 5]) == (0, 0, 0)  # inside the outline stays as it was
    assert box.cls == 3


def test_box_export_writes_every_format_and_repeats_exactly(tmp_path, rng):
    labels = _labels()
    image = rng.normal(1000, 3, labels.shape).astype(np.float32)
    boxes = run(export_boxes(labels, tmp_path / "a", CCD, name="frame.fits", image=image,
                             limits=BoxLimits(min_area=2)))
    assert len(boxes) == 3
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["classes.txt", "coco.json", "export.json", "frame.reg", "frame.txt", "preview.png"]
    assert (tmp_path / "a" / "classes.txt").read_text() == "glowing\nhot_pixel\ncluster\n"
    assert len((tmp_path / "a" / "frame.txt").read_text().splitlines()) == 3
    assert np.asarray(Image.open(tmp_path / "a" / "preview.png")).shape == (20, 30, 3)
    run(export_boxes(labels, tmp_path / "b", CCD, name="frame.fits", image=image, limits=BoxLimits(min_area=2)))
    digest = lambda d: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()}  # noqa: E731
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_box_export_refuses_bad_input_before_writing(tmp_path):
    labels = _labels()
    for kwargs, message in [
        (dict(box_classes=4), "no pixel of class 4"),
        (dict(image=np.zeros((5, 5))), "the image is 5x5"),
        (dict(segmentation="mask"), "unknown segmentation"),
    ]:
        with pytest.raises(CcdstudioError, match=message):
            run(export_boxes(labels, tmp_path / "out", CCD, **kwargs))
    with pytest.raises(CcdstudioError, match="only 2 classes"):
        run(export_boxes(labels, tmp_path / "out", ClassSet.preset("ink")))
    assert list(tmp_path.iterdir()) == []
