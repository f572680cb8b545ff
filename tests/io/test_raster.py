"""PNG, JPEG and NPY files."""

import cv2
import numpy as np
import pytest

from ccdstudio.errors import FormatError
from ccdstudio.io import NpySource, RasterSource, open_image
from ccdstudio.io.raster import raster_header


def test_grey_png_16_bit(tmp_path, rng):
    path = tmp_path / "g.png"
    data = rng.integers(0, 65535, (20, 30)).astype(np.uint16)
    cv2.imwrite(str(path), data)
    assert raster_header(path) == ((20, 30), np.dtype(np.uint16), 1)
    with open_image(path) as source:
        assert isinstance(source, RasterSource) and source.format == "png"
        assert [p.name for p in source.planes] == ["image"]
        np.testing.assert_array_equal(source.read(0, (slice(2, 6), slice(3, 9, 2))), data[2:6, 3:9:2])


def test_colour_png_is_rgb_channel_planes(tmp_path, rng):
    path = tmp_path / "c.png"
    rgb = rng.integers(0, 255, (7, 9, 3)).astype(np.uint8)
    cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    with open_image(path) as source:
        assert [p.name for p in source.planes] == ["red", "green", "blue"]
        for channel in range(3):
            np.testing.assert_array_equal(source.read(channel), rgb[..., channel])


def test_jpeg_size_from_header(tmp_path):
    path = tmp_path / "j.jpg"
    cv2.imwrite(str(path), np.full((33, 44), 128, np.uint8))
    assert raster_header(path) == ((33, 44), np.dtype(np.uint8), 1)
    with open_image(path) as source:
        assert source.format == "jpeg" and abs(int(source.read(0)[10, 10]) - 128) <= 1


def test_npy_memory_mapped_2d_and_3d(tmp_path, rng):
    flat, stack = tmp_path / "a.npy", tmp_path / "s.npy"
    a = rng.random((6, 7)).astype(np.float32)
    s = rng.integers(0, 9, (3, 4, 5)).astype(np.int16)
    np.save(flat, a)
    np.save(stack, s)
    with open_image(flat) as source:
        assert isinstance(source, NpySource) and source.format == "npy"
        np.testing.assert_array_equal(source.read(0), a)
    with open_image(stack) as source:
        assert len(source.planes) == 3 and isinstance(source._arrays[0], np.memmap)
        out = source.read(2, (slice(1, 3), slice(None)))
        out[:] = 0  # a copy: the file is untouched
        np.testing.assert_array_equal(source.read(2), s[2])


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4, 5)])
def test_npy_wrong_dimensions(tmp_path, shape):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(shape))
    with pytest.raises(FormatError, match=f"{len(shape)}-D"):
        open_image(path)


def test_corrupt_png(tmp_path):
    path = tmp_path / "bad.png"
    good = cv2.imencode(".png", np.zeros((10, 10), np.uint8))[1].tobytes()
    path.write_bytes(good[:40])
    with pytest.raises(FormatError, match="corrupt"):
        open_image(path).read(0)
