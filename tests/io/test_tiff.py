"""TIFF reading: pages, bit depths, memory maps for contiguous files, zarr windows for tiled ones, ImageJ."""

import tracemalloc

import numpy as np
import pytest
import tifffile

from ccdstudio.errors import FormatError
from ccdstudio.io import TiffSource, open_image


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.float32, np.float64])
def test_single_image_every_depth(tmp_path, rng, dtype):
    path = tmp_path / "one.tif"
    data = (rng.random((30, 40)) * 200).astype(dtype)
    tifffile.imwrite(path, data)
    with open_image(path) as source:
        assert isinstance(source, TiffSource) and source.access == "memmap"
        assert [p.name for p in source.planes] == ["image"] and source.planes[0].dtype == dtype
        out = source.read(0, (slice(3, 20, 2), slice(5, 9)))
        np.testing.assert_array_equal(out, data[3:20:2, 5:9])
        assert out.dtype == dtype


def test_big_endian_file_reads_native(tmp_path, rng):
    path = tmp_path / "be.tif"
    data = rng.integers(0, 60000, (10, 12)).astype(np.uint16)
    tifffile.imwrite(path, data, byteorder=">")
    out = open_image(path).read(0)
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, data)


def test_multi_page_stack(tmp_path, rng):
    path = tmp_path / "stack.tif"
    stack = rng.integers(0, 4000, (4, 16, 20)).astype(np.uint16)
    tifffile.imwrite(path, stack, photometric="minisblack")
    with open_image(path) as source:
        assert [p.name for p in source.planes] == [f"page {i}" for i in range(4)]
        np.testing.assert_array_equal(source.read(3), stack[3])
        np.testing.assert_array_equal(source.read_stack([0, 2], (slice(1, 5), slice(2, 4))), stack[[0, 2], 1:5, 2:4])


def test_tiled_compressed_window_uses_zarr(tmp_path, rng):
    path = tmp_path / "tiled.tif"
    data = rng.integers(0, 65535, (2, 200, 150)).astype(np.uint16)
    tifffile.imwrite(path, data, tile=(32, 32), compression="zlib")
    with open_image(path) as source:
        assert source.access == "zarr"
        window = (slice(40, 130, 3), slice(7, 140))
        np.testing.assert_array_equal(source.read(1, window), data[1][window])
        assert source.metadata["compression"] == "ADOBE_DEFLATE"


def test_contiguous_big_file_is_memory_mapped(tmp_path):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, shape=(20000, 20000), dtype=np.uint16)  # 800 MB, a hole in the file system
    tracemalloc.start()
    try:
        with open_image(path) as source:
            window = source.read(0, (slice(15000, 15256), slice(100, 356)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert window.shape == (256, 256)
    assert peak < 30 * 2**20, f"reading a window allocated {peak / 2**20:.0f} MiB"


def test_imagej_metadata_and_labels(tmp_path, rng):
    path = tmp_path / "ij.tif"
    stack = rng.random((3, 8, 9)).astype(np.float32)
    tifffile.imwrite(path, stack, imagej=True,
                     metadata={"axes": "ZYX", "Labels": ["dark", "flat", "sci"], "Info": "run 42", "spacing": 2.5})
    with open_image(path) as source:
        assert [p.name for p in source.planes] == ["dark", "flat", "sci"]
        assert source.metadata["imagej"]["Info"] == "run 42"
        assert source.metadata["imagej"]["spacing"] == 2.5
        assert source.planes[0].header["Info"] == "run 42"
        assert source.planes[0].header["ImageWidth"] == 9
        np.testing.assert_array_equal(source.read(2), stack[2])


def test_hyperstack_pages_flattened_in_file_order(tmp_path, rng):
    path = tmp_path / "hyper.tif"
    data = rng.random((2, 3, 5, 6)).astype(np.float32)  # T, Z, Y, X
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZYX"})
    with open_image(path) as source:
        assert len(source.planes) == 6
        np.testing.assert_array_equal(source.read(4), data[1, 1])


def test_rgb_becomes_channel_planes(tmp_path, rng):
    path = tmp_path / "rgb.tif"
    data = rng.integers(0, 255, (10, 12, 3)).astype(np.uint8)
    tifffile.imwrite(path, data, photometric="rgb")
    with open_image(path) as source:
        assert [p.name for p in source.planes] == ["red", "green", "blue"]
        np.testing.assert_array_equal(source.read(2), data[..., 2])


def test_corrupt_and_truncated(tmp_path):
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00" + b"\xff" * 200)
    with pytest.raises(FormatError, match="corrupt"):
        open_image(corrupt)
    truncated = tmp_path / "truncated.tif"
    tifffile.imwrite(truncated, np.ones((3, 100, 100), np.uint16), photometric="minisblack")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="corrupt|truncated"):
        open_image(truncated)
    single = tmp_path / "single.tif"
    tifffile.imwrite(single, np.ones((100, 100), np.uint16))
    single.write_bytes(single.read_bytes()[:5000])
    with pytest.raises(FormatError, match="truncated"):
        open_image(single)
