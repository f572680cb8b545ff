"""Scroll segments and fragments: naming variants, plane order and roles, laziness, reversed layers."""

import numpy as np
import pytest

import ccdstudio.io.raster as raster
import ccdstudio.io.segment as segment
from ccdstudio.errors import FormatError
from ccdstudio.io import SegmentSource, open_image


def test_layers_then_mask_then_inklabels(make_segment):
    root = make_segment(layers=5)
    with open_image(root) as source:
        assert isinstance(source, SegmentSource) and source.format == "segment"
        names = [p.name for p in source.planes]
        assert names == ["layer 00", "layer 01", "layer 02", "layer 03", "layer 04", "mask", "inklabels"]
        assert [p.role for p in source.planes] == ["image"] * 5 + ["mask", "labels"]
        assert source.metadata["segment_id"] == root.name and source.metadata["layers"] == 5
        assert source.planes[0].shape == (24, 32) and source.planes[0].dtype == np.uint16
        assert source.read(3)[0, 0] == 1003
        np.testing.assert_array_equal(np.unique(source.read(5)), [0, 255])
        assert source.read(6, (slice(0, 2), slice(0, 3))).tolist() == [[1, 1, 1], [1, 1, 1]]
        np.testing.assert_array_equal(source.read_stack([0, 4], (slice(0, 1), slice(0, 1))).ravel(), [1000, 1004])


def test_prefixed_pieces_three_digit_jpeg_layers(make_segment):
    root = make_segment(segment_id="20231005123336", layers=3, digits=3, suffix=".jpg",
                        mask="20231005123336_mask.png", inklabels="20231005123336_inklabels.png")
    with open_image(root) as source:
        assert [p.name for p in source.planes] == ["layer 000", "layer 001", "layer 002", "mask", "inklabels"]
        assert source.planes[0].dtype == np.uint8
        assert abs(int(source.read(2)[5, 5]) - 20) <= 2  # JPEG is lossy


def test_fragment_with_surface_volume_and_ir(make_segment):
    root = make_segment(segment_id="Frag1", layers=4, folder="surface_volume", inklabels=None, ir=True)
    with open_image(root) as source:
        assert [p.name for p in source.planes][-2:] == ["mask", "ir"]
        assert source.planes[-1].role == "image"
        assert source.read(len(source.planes) - 1)[0, 0] == 77
        assert source.metadata["layer_folder"] == "surface_volume"


def test_opening_the_layer_folder_itself(make_segment):
    root = make_segment(layers=3)
    with open_image(root / "layers") as source:
        assert source.metadata["segment_id"] == root.name and source.planes[-1].name == "inklabels"


def test_reverse_layers(make_segment):
    root = make_segment(layers=4)
    with open_image(root, reverse_layers=True) as source:
        assert [p.name for p in source.planes[:4]] == ["layer 03", "layer 02", "layer 01", "layer 00"]
        assert source.read(0)[0, 0] == 1003 and source.metadata["reversed"]
        assert source.planes[4].name == "mask"


def test_opening_is_lazy_and_few_files_stay_open(make_segment, monkeypatch):
    root = make_segment(layers=20, shape=(8, 10))
    opened, decoded = [], []
    original_open, original_decode = segment._open_layer, raster.decode
    monkeypatch.setattr(segment, "_open_layer", lambda path: opened.append(path.name) or original_open(path))
    monkeypatch.setattr(raster, "decode", lambda path: decoded.append(path.name) or original_decode(path))
    with open_image(root) as source:
        assert opened == ["00.tif"] and decoded == []  # only layer 0's header, no PNG decoded
        source.read(19, (slice(0, 2), slice(0, 2)))
        assert opened == ["00.tif", "19.tif"]
        for i in range(20):
            source.read(i, (slice(0, 1), slice(0, 1)))
        assert len(source.open_layers) == segment.OPEN_LAYERS
        assert source.open_layers[-1] == 19
        source.read(20)
        assert decoded == ["mask.png"]


def test_layer_of_another_size_is_reported(make_segment):
    import tifffile

    root = make_segment(layers=3)
    tifffile.imwrite(root / "layers" / "02.tif", np.zeros((5, 5), np.uint16))
    with open_image(root) as source, pytest.raises(FormatError, match="02.tif"):
        source.read(2)


def test_folder_that_is_not_a_segment(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    with pytest.raises(FormatError, match="not a scroll segment"):
        open_image(tmp_path / "notes")


def test_a_missing_layer_or_a_piece_of_another_size_is_refused_at_opening(make_segment):
    import cv2

    root = make_segment(layers=5)
    (root / "layers" / "02.tif").unlink()
    with pytest.raises(FormatError, match=r"layers/ lacks layer 02 \(of 00 to 04\)"):
        open_image(root)
    root = make_segment(segment_id="other", layers=3)
    cv2.imwrite(str(root / "mask.png"), np.zeros((12, 16), np.uint8))
    with pytest.raises(FormatError, match="mask.png is 16x12 but the layers are 32x24"):
        open_image(root)


def test_check_layers_reads_every_header(make_segment):
    import tifffile

    root = make_segment(layers=4)
    with open_image(root) as source:
        source.check_layers()  # all alike
    tifffile.imwrite(root / "layers" / "01.tif", np.zeros((24, 32), np.float32))
    tifffile.imwrite(root / "layers" / "03.tif", np.zeros((5, 5), np.uint16))
    (root / "layers" / "02.tif").write_bytes((root / "layers" / "02.tif").read_bytes()[:300])
    with open_image(root) as source, pytest.raises(FormatError) as raised:
        source.check_layers()
    message = str(raised.value)
    assert "01.tif is 32x24 float32, unlike the first layer (32x24 uint16)" in message
    assert "02.tif" in message and "truncated" in message and "03.tif is 5x5 uint16" in message
