"""Tiles: full coverage of the frame, stitching back exactly, class skipping, padding, errors."""

import json

import numpy as np
import pytest
import tifffile

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.tiles import export_tiles, stitch_tiles, tile_origins, tile_windows
from ccdstudio.io import ArraySource
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels


def test_origins_cover_the_axis():
    assert tile_origins(10, 5) == [0, 5]
    assert tile_origins(11, 5) == [0, 5, 6]  # the last tile moves back to end at the edge
    assert tile_origins(11, 5, "pad") == [0, 5, 10]
    assert tile_origins(5, 5) == [0]
    assert tile_origins(3, 5, "pad") == [0]


@pytest.mark.parametrize("shape, size, mode", [((37, 50), 16, "overlap"), ((37, 50), 16, "pad"), ((32, 48), 16, "overlap")])
def test_every_pixel_is_covered(shape, size, mode):
    covered = np.zeros(shape, int)
    for rows, cols in tile_windows(shape, size, mode):
        assert rows.stop - rows.start == size == cols.stop - cols.start
        assert mode == "pad" or (rows.stop <= shape[0] and cols.stop <= shape[1])
        covered[rows, cols] += 1
    assert covered.min() >= 1


def _ccd(rng, shape=(37, 50)):
    image = rng.normal(1000, 3, shape).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    labels[3:6, 4:9] = 3
    labels[30, 45] = 2
    return image, labels


@pytest.mark.parametrize("mode", ["overlap", "pad"])
def test_tiles_stitch_back_to_the_frame(tmp_path, rng, mode):
    image, labels = _ccd(rng)
    classes = ClassSet.preset("ccd")
    out = run(export_tiles(ArraySource([image]), tmp_path / "t", 16, labels=labels, classes=classes, mode=mode))
    meta = json.loads((out / "export.json").read_text())
    assert meta["image_shape"] == [37, 50] and len(meta["tiles"]) == 12
    tiles = [tifffile.imread(out / "images" / f"{t['name']}.tif") for t in meta["tiles"]]
    assert all(t.shape == (16, 16) and t.dtype == np.float32 for t in tiles)
    np.testing.assert_array_equal(stitch_tiles(out, tiles), image)
    label_tiles = {t["name"]: load_labels(out / "labels" / f"{t['name']}.png") for t in meta["tiles"]}
    assert all(c == classes for _, c in label_tiles.values())
    np.testing.assert_array_equal(stitch_tiles(meta, {k: v for k, (v, _) in label_tiles.items()}), labels)
    if mode == "pad":  # the padded corner tile is zero beyond the frame
        last = tiles[-1]
        assert (last[5:, :] == 0).all() and (last[:, 2:] == 0).all()


def test_multi_plane_tiles_and_predictions_with_leading_axes(tmp_path, rng):
    planes = [rng.normal(0, 1, (20, 24)).astype(np.float32) for _ in range(3)]
    out = run(export_tiles(ArraySource(planes), tmp_path / "t", 8, layers=(1, 2)))
    meta = json.loads((out / "export.json").read_text())
    tiles = [tifffile.imread(out / "images" / f"{t['name']}.tif") for t in meta["tiles"]]
    assert tiles[0].shape == (2, 8, 8)
    np.testing.assert_array_equal(stitch_tiles(meta, tiles), np.stack(planes[1:]))


def test_skip_tiles_without_a_class(tmp_path, rng):
    image, labels = _ccd(rng)
    out = run(export_tiles(ArraySource([image]), tmp_path / "t", 16, labels=labels, skip_without=3))
    meta = json.loads((out / "export.json").read_text())
    assert [(t["y"], t["x"]) for t in meta["tiles"]] == [(0, 0)]  # the only tile holding class 3
    stitched = stitch_tiles(meta, [tifffile.imread(out / "images" / "0000.tif")], fill=-1)
    np.testing.assert_array_equal(stitched[:16, :16], image[:16, :16])
    assert (stitched[16:] == -1).all()


def test_bad_tile_requests(tmp_path, rng):
    image, labels = _ccd(rng)
    source = ArraySource([image])
    for kwargs, message in [
        (dict(size=64), "larger than the image side"),
        (dict(size=8, labels=labels, skip_without=1), "no pixel of class 1"),
        (dict(size=8, skip_without=1), "needs labels"),
        (dict(size=8, labels=labels[:, :10]), "labels are 10x37"),
        (dict(size=8, layers=(0, 1)), "outside"),
        (dict(size=8, mode="reflect"), "unknown tile mode"),
    ]:
        with pytest.raises(CcdstudioError, match=message):
            run(export_tiles(source, tmp_path / "t", **kwargs))
        assert not (tmp_path / "t").exists()
    with pytest.raises(CcdstudioError, match="tiles given"):
        out = run(export_tiles(source, tmp_path / "ok", 16))
        stitch_tiles(out, [np.zeros((16, 16))])
