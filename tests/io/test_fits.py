"""FITS reading: planes per HDU, scaling window by window, compressed HDUs, memory maps, masks."""

import tracemalloc

import numpy as np
import pytest
from astropy.io import fits

from ccdstudio.errors import FormatError
from ccdstudio.io import FitsSource, open_image


def _reference(path, hdu):
    """What astropy itself returns when it scales the whole array in memory."""
    with fits.open(path, memmap=False) as hdul:
        return np.array(hdul[hdu].data)


def test_multi_extension_planes_names_and_headers(tmp_path, rng):
    path = tmp_path / "mef.fits"
    a = rng.normal(100, 3, (20, 30)).astype(np.float32)
    b = rng.integers(0, 50, (20, 30)).astype(np.int32)
    fits.HDUList([
        fits.PrimaryHDU(header=fits.Header([("EXPTIME", 300.0)])),
        fits.ImageHDU(a, name="SCI"),
        fits.ImageHDU(b),  # no EXTNAME
        fits.BinTableHDU.from_columns([fits.Column("x", "E", array=np.arange(3.0))]),
    ]).writeto(path)
    with open_image(path) as source:
        assert isinstance(source, FitsSource) and source.format == "fits"
        assert [p.name for p in source.planes] == ["SCI", "HDU 2"]  # empty primary and table skipped
        assert [source.hdu_number(i) for i in range(2)] == [1, 2]
        assert source.planes[0].header["EXTNAME"] == "SCI"
        assert isinstance(source.planes[0].header, fits.Header)
        assert source.metadata["primary_header"]["EXPTIME"] == 300.0
        np.testing.assert_array_equal(source.read(0), a)
        np.testing.assert_array_equal(source.read(1, (slice(2, 5), slice(10, 20, 3))), b[2:5, 10:20:3])
        assert source.read(1).dtype == np.int32 and source.read(1).dtype.isnative


def test_unsigned_16_via_bzero_reads_uint16(tmp_path):
    path = tmp_path / "u16.fits"
    data = np.array([[0, 1, 32767], [32768, 65534, 65535]], dtype=np.uint16)
    fits.PrimaryHDU(data).writeto(path)
    assert fits.getheader(path)["BZERO"] == 32768
    with open_image(path) as source:
        assert source.planes[0].dtype == np.uint16
        out = source.read(0)
        assert out.dtype == np.uint16
        np.testing.assert_array_equal(out, data)
        np.testing.assert_array_equal(source.read(0, (slice(1, 2), slice(1, 3))), data[1:2, 1:3])


def test_bscale_bzero_and_blank_match_astropy(tmp_path, rng):
    path = tmp_path / "scaled.fits"
    raw = rng.integers(-1000, 1000, (16, 12)).astype(np.int16)
    raw[3, 4] = -32768
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"] = 0.25
    hdu.header["BZERO"] = 1000.0
    hdu.header["BLANK"] = -32768
    hdu.writeto(path)
    expected = _reference(path, 0)
    with open_image(path) as source:
        assert source.planes[0].dtype == np.float32 == expected.dtype
        window = (slice(2, 9), slice(1, 7))
        np.testing.assert_allclose(source.read(0, window), expected[window])
        assert np.isnan(source.read(0)[3, 4])
        assert source.read(0)[0, 0] == pytest.approx(raw[0, 0] * 0.25 + 1000)
        # The raw data stays a memory map even though it is scaled.
        assert source.metadata["memmap"] and source.raw_array(0).dtype == np.dtype(">i2")


def test_nan_and_inf_kept(tmp_path):
    path = tmp_path / "nan.fits"
    data = np.arange(12, dtype=np.float64).reshape(3, 4)
    data[0, 1], data[2, 2], data[1, 3] = np.nan, np.inf, -np.inf
    fits.PrimaryHDU(data).writeto(path)
    out = open_image(path).read(0)
    assert np.isnan(out[0, 1]) and out[2, 2] == np.inf and out[1, 3] == -np.inf
    np.testing.assert_array_equal(np.nan_to_num(out), np.nan_to_num(data))


def test_compressed_hdu_window(tmp_path, rng):
    path = tmp_path / "comp.fits.fz"
    data = rng.integers(0, 60000, (120, 90)).astype(np.uint16)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, name="COMP", tile_shape=(16, 16))]).writeto(path)
    with open_image(path) as source:
        assert [p.name for p in source.planes] == ["COMP"]
        assert source.planes[0].dtype == np.uint16
        window = (slice(30, 70), slice(5, 80, 7))
        np.testing.assert_array_equal(source.read(0, window), data[window])


def test_cube_becomes_planes(tmp_path, rng):
    path = tmp_path / "cube.fits"
    cube = rng.random((3, 8, 10)).astype(np.float32)
    fits.PrimaryHDU(cube[None]).writeto(path)  # (1, 3, 8, 10): the length-1 axis is dropped
    with open_image(path) as source:
        assert [p.name for p in source.planes] == ["HDU 0 [0]", "HDU 0 [1]", "HDU 0 [2]"]
        np.testing.assert_array_equal(source.read(2, (slice(1, 4), slice(None))), cube[2, 1:4])


def test_mask_extensions_get_mask_role(tmp_path):
    path = tmp_path / "damic.fits"
    fits.HDUList([
        fits.PrimaryHDU(np.zeros((4, 5), np.float32)),
        fits.ImageHDU(np.zeros((4, 5), np.int32), name="MASK_CLUSTERS"),
        fits.ImageHDU(np.zeros((4, 5), np.int16), name="DQ"),
        fits.ImageHDU(np.zeros((4, 5), np.float32), name="DQ_FLOAT_IMAGE"),
    ]).writeto(path)
    roles = [p.role for p in open_image(path).planes]
    assert roles == ["image", "mask", "mask", "image"]


def test_window_of_huge_file_reads_only_the_window(tmp_path, sparse_fits):
    path = sparse_fits(tmp_path / "huge.fits", (20000, 20000))  # 1.6 GB of float32, all a hole
    tracemalloc.start()
    try:
        with open_image(path) as source:
            assert source.planes[0].shape == (20000, 20000)
            window = source.read(0, (slice(10000, 10512), slice(5000, 5512)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert window.shape == (512, 512) and not window.any()
    assert peak < 50 * 2**20, f"reading a window allocated {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_truncated_file(tmp_path, cut):
    path = tmp_path / "t.fits"
    fits.PrimaryHDU(np.ones((100, 100), np.float32)).writeto(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut) - 2880 * (cut > 0.9)])
    with pytest.raises(FormatError, match="truncated"):
        open_image(path)


def test_header_only_file_is_refused(tmp_path):
    path = tmp_path / "empty.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("x", "E", array=[1.0])])]).writeto(path)
    with pytest.raises(FormatError, match="no 2-D or 3-D image"):
        open_image(path)


@pytest.mark.parametrize("shape", [(50,), (2, 2, 3, 4, 5)])
def test_one_d_and_four_d_refused(tmp_path, shape):
    path = tmp_path / "odd.fits"
    fits.PrimaryHDU(np.zeros(shape, np.float32)).writeto(path)
    with pytest.raises(FormatError, match="axes"):
        open_image(path)


def test_truncated_compressed_file(tmp_path, rng):
    path = tmp_path / "comp.fits"
    data = rng.integers(0, 60000, (200, 100)).astype(np.uint16)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, tile_shape=(16, 16))]).writeto(path)
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(FormatError, match="truncated"):
        open_image(path)
    path.write_bytes(full[: len(full) - 2880 - 100])  # inside the last block: seen when the tiles are read
    with pytest.raises(FormatError):
        open_image(path).read(0)
