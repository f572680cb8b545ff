"""Random crops of a segment: alignment after augmentation, stitching, segment layout, determinism, errors."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.export.crops import CropOptions, export_crops
from ccdstudio.export.sampling import Orientation
from ccdstudio.io import ArraySource, open_image
from ccdstudio.jobs import CancelToken, run

from .conftest import SEGMENT_LAYERS, SEGMENT_SHAPE, coded_layer, ink_labels, segment_mask

H, W = SEGMENT_SHAPE


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _source_coordinates(layer0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undo the coding of layer 0: the source (y, x) of every output pixel."""
    return np.divmod(layer0.astype(np.int64), W)


def test_crops_are_aligned_after_every_augmentation(segment, tmp_path):
    options = CropOptions(size=16, count=24, min_fraction=0.3, cls=1, layers=(2, 5), flip=0.5, rot90=0.5, seed=3)
    out = run(export_crops(open_image(segment), tmp_path / "out", options))
    labels, mask = ink_labels(), segment_mask()
    meta = json.loads((out / "export.json").read_text())
    assert len(meta["samples"]) == 24
    orientations = set()
    for record in meta["samples"]:
        folder = out / record["name"]
        assert sorted(p.name for p in (folder / "layers").iterdir()) == ["00.tif", "01.tif", "02.tif", "03.tif"]
        layers = [tifffile.imread(folder / "layers" / f"{k:02d}.tif") for k in range(4)]
        assert all(a.dtype == np.uint16 and a.shape == (16, 16) for a in layers)
        ys, xs = _source_coordinates(layers[0] - np.uint16(2 * H * W))  # output layer 0 is source layer 2
        for k, layer in enumerate(layers):  # every layer holds the same source pixels as layer 0
            np.testing.assert_array_equal(layer, coded_layer(k + 2)[ys, xs])
        out_labels = np.asarray(Image.open(folder / "inklabels.png"))
        out_mask = np.asarray(Image.open(folder / "mask.png"))
        np.testing.assert_array_equal(out_labels, labels[ys, xs] * 255)
        np.testing.assert_array_equal(out_mask, mask[ys, xs] * 255)
        assert (out_labels == 255).mean() > 0.3
        # The manifest says exactly where the sample came from and how it was turned.
        piece = record["pieces"][0]
        window = (slice(piece["y"], piece["y"] + 16), slice(piece["x"], piece["x"] + 16))
        orientation = Orientation(piece["flip_lr"], piece["flip_ud"], piece["rot90"])
        np.testing.assert_array_equal(orientation.apply(coded_layer(2)[window]), layers[0])
        orientations.add(orientation)
    assert len(orientations) >= 5  # the augmentation really varied


def test_a_crop_opens_as_a_segment_again(segment, tmp_path):
    out = run(export_crops(open_image(segment), tmp_path / "out", CropOptions(size=20, count=1, seed=1)))
    with open_image(out / "sample_0000") as sample:
        assert sample.format == "segment"
        assert sample.metadata["layers"] == SEGMENT_LAYERS
        assert [p.role for p in sample.planes[-2:]] == ["mask", "labels"]
        assert sample.planes[0].dtype == np.uint16 and sample.planes[0].shape == (20, 20)


def test_stitched_pairs_sit_side_by_side(segment, tmp_path):
    options = CropOptions(size=12, count=5, stitch=True, flip=0.5, rot90=0.5, seed=2, layers=(0, 1))
    out = run(export_crops(open_image(segment), tmp_path / "out", options))
    meta = json.loads((out / "export.json").read_text())
    assert len(meta["samples"]) == 5
    for record in meta["samples"]:
        layer = tifffile.imread(out / record["name"] / "layers" / "01.tif")
        labels = np.asarray(Image.open(out / record["name"] / "inklabels.png"))
        assert layer.shape == labels.shape == (12, 24)
        for half, piece in zip((slice(0, 12), slice(12, 24)), record["pieces"]):
            window = (slice(piece["y"], piece["y"] + 12), slice(piece["x"], piece["x"] + 12))
            o = Orientation(piece["flip_lr"], piece["flip_ud"], piece["rot90"])
            np.testing.assert_array_equal(layer[:, half], o.apply(coded_layer(1)[window]))
            np.testing.assert_array_equal(labels[:, half], o.apply(ink_labels()[window]) * 255)


def test_same_seed_gives_byte_identical_folders(segment, tmp_path):
    options = CropOptions(size=16, count=6, min_fraction=0.2, flip=0.5, rot90=0.5, stitch=True, seed=7)
    a = run(export_crops(open_image(segment), tmp_path / "a", options))
    b = run(export_crops(open_image(segment), tmp_path / "b", options))
    c = run(export_crops(open_image(segment), tmp_path / "c", CropOptions(**{**options.__dict__, "seed": 8})))
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_layers_are_read_one_window_at_a_time(tmp_path):
    """Streaming: every read is one plane and one window, never a whole layer."""
    class Counting(ArraySource):
        reads: list = []

        def read(self, plane=0, window=None):
            assert window is not None, "a whole plane was read"
            Counting.reads.append(plane)
            return super().read(plane, window)

    source = Counting([coded_layer(k) for k in range(5)])
    run(export_crops(source, tmp_path / "out", CropOptions(size=10, count=3, cls=None)))
    assert sorted(Counting.reads) == sorted(list(range(5)) * 3)  # image layout: one stacked read per plane


def test_image_layout_for_non_segment_sources(tmp_path, rng):
    image = rng.normal(100, 5, (40, 50)).astype(np.float32)
    labels = np.zeros((40, 50), np.uint8)
    labels[5:30, 10:40] = 2
    options = CropOptions(size=8, count=4, cls=2, min_fraction=0.5, seed=1, flip=1.0, rot90=1.0)
    out = run(export_crops(ArraySource([image]), tmp_path / "out", options, labels=labels))
    folder = out / "sample_0000"
    assert sorted(p.name for p in folder.iterdir()) == ["image.tif", "labels.png", "labels.png.classes.json"]
    piece = json.loads((out / "export.json").read_text())["samples"][0]["pieces"][0]
    window = (slice(piece["y"], piece["y"] + 8), slice(piece["x"], piece["x"] + 8))
    expected = np.rot90(image[window][::-1, ::-1])
    np.testing.assert_array_equal(tifffile.imread(folder / "image.tif"), expected)


def test_bad_requests_fail_before_anything_is_written(segment, tmp_path):
    source = open_image(segment)
    out = tmp_path / "out"
    cases = [
        (CropOptions(size=100), "larger than the image"),
        (CropOptions(size=10, layers=(5, 8)), r"layers 5-8 are outside seg0001, which has 8 layers \(0-7\)"),
        (CropOptions(size=10, cls=3, min_fraction=0.1), "no pixel of class 3"),
        (CropOptions(size=10, count=0), "at least 1"),
        (CropOptions(size=(10, 12), stitch=True, rot90=0.5), "square"),
        (CropOptions(size=10, flip=2.0), "flip probability"),
        (CropOptions(size=30, count=5, min_fraction=0.95, max_attempts=200), "found only"),
    ]
    for options, message in cases:
        with pytest.raises(CcdstudioError, match=message):
            run(export_crops(source, out, options))
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["seg0001"]  # no staging folder left behind either


def test_existing_output_is_never_silently_overwritten(segment, tmp_path):
    source, out = open_image(segment), tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CcdstudioError, match="not empty"):
        run(export_crops(source, out, CropOptions(size=10, count=1)))
    with pytest.raises(CcdstudioError, match="holds no ccdstudio export"):
        run(export_crops(source, out, CropOptions(size=10, count=1), overwrite=True))
    assert (out / "notes.txt").read_text() == "mine"
    other = tmp_path / "other"
    run(export_crops(source, other, CropOptions(size=10, count=3)))
    run(export_crops(source, other, CropOptions(size=10, count=1), overwrite=True))
    assert sorted(p.name for p in other.iterdir()) == ["export.json", "sample_0000"]  # no stale samples


def test_cancel_leaves_no_partial_folder(segment, tmp_path):
    token = CancelToken()
    job = export_crops(open_image(segment), tmp_path / "out", CropOptions(size=10, count=4), cancel=token)
    next(job), next(job)  # drawing windows, then the first file
    token.cancel()
    with pytest.raises(Cancelled):
        run(job)
    assert [p.name for p in tmp_path.iterdir()] == ["seg0001"]
