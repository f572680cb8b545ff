"""CCD sections, gain, and amplifiers assembled into a mosaic by DETSEC."""

import numpy as np
import pytest
from astropy.io import fits

from ccdstudio.errors import FormatError
from ccdstudio.io import ArraySource, MosaicSource, Plane, open_image
from ccdstudio.io.ccd import (
    SectionedSource,
    amplifier_planes,
    assemble,
    bias_windows,
    data_window,
    data_window_of,
    format_section,
    gain,
    gain_unit,
    has_mosaic,
    mosaic_shape,
    parallel_overscan,
    parse_section,
    serial_overscan,
    split_mosaic,
)


def test_parse_section_is_one_based_inclusive_x_first():
    assert parse_section("[1:2048,1:4096]") == (slice(0, 4096), slice(0, 2048))
    assert parse_section("[ 11:20 , 3:5 ]") == (slice(2, 5), slice(10, 20))
    assert parse_section("[20:11,5:3]") == (slice(2, 5), slice(10, 20))  # reversed ranges


@pytest.mark.parametrize("text", ["1:2,3:4", "[0:5,1:4]", "[a:b,1:2]", "[1:2]", ""])
def test_malformed_sections(text):
    with pytest.raises(FormatError):
        parse_section(text)


def test_data_and_bias_windows():
    header = {"NAXIS1": 110, "NAXIS2": 60, "DATASEC": "[9:100,1:50]", "BIASSEC": "[101:110,1:50]"}
    assert data_window(header) == (slice(0, 50), slice(8, 100))
    assert bias_windows(header) == [(slice(0, 50), slice(100, 110))]
    implied = bias_windows({k: v for k, v in header.items() if k != "BIASSEC"})
    # Prescan left, overscan right (data rows), then the parallel overscan above (all columns).
    assert implied == [(slice(0, 50), slice(0, 8)), (slice(0, 50), slice(100, 110)), (slice(50, 60), slice(0, 110))]
    assert sum((w[0].stop - w[0].start) * (w[1].stop - w[1].start) for w in implied) == 110 * 60 - 92 * 50
    assert data_window({"DATASEC": "garbage"}) is None and bias_windows({}) == []


def test_serial_overscan_is_the_widest_bias_strip_beside_the_data_rows():
    header = {"NAXIS1": 110, "NAXIS2": 60, "DATASEC": "[9:100,1:50]"}
    assert serial_overscan(header) == (slice(0, 50), slice(100, 110))  # not the 8-column prescan, not above
    assert serial_overscan(header | {"BIASSEC": "[1:8,1:50]"}) == (slice(0, 50), slice(0, 8))
    assert serial_overscan(header | {"BIASSEC": "[1:110,51:60]"}) is None  # parallel overscan only
    assert serial_overscan({"NAXIS1": 110, "NAXIS2": 60}) is None and serial_overscan({}) is None


def test_parallel_overscan_is_the_rows_beyond_the_data_over_its_columns():
    header = {"NAXIS1": 110, "NAXIS2": 60, "DATASEC": "[9:100,1:50]", "BIASSEC": "[101:110,1:60]"}
    assert parallel_overscan(header) == (slice(50, 60), slice(8, 100))
    assert parallel_overscan(header | {"DATASEC": "[9:100,11:60]"}) == (slice(0, 10), slice(8, 100))  # below
    assert parallel_overscan(header | {"NAXIS2": 50}) is None and parallel_overscan({"NAXIS1": 110}) is None


def test_sections_set_by_hand_replace_the_header_cards_and_read_the_same_pixels():
    image = np.arange(60 * 110, dtype=np.float32).reshape(60, 110)
    header = {"NAXIS1": 110, "NAXIS2": 60, "DATASEC": "[1:110,1:60]", "BIASSEC2": "[1:2,1:2]", "OBJECT": "x"}
    source = ArraySource([image, image], headers=[header, header])
    data, bias = (slice(0, 50), slice(8, 100)), [(slice(0, 60), slice(100, 110)), (slice(0, 50), slice(0, 8))]
    sectioned = SectionedSource(source, 0, data, bias)
    cards = sectioned.planes[0].header
    assert cards["DATASEC"] == format_section(data) == "[9:100,1:50]" and cards["OBJECT"] == "x"
    assert "BIASSEC2" not in cards and bias_windows(cards) == bias
    assert serial_overscan(cards) == bias[0] and parallel_overscan(cards) == (slice(50, 60), slice(8, 100))
    assert sectioned.planes[1].header == header  # other planes as they were
    np.testing.assert_array_equal(sectioned.read(0, data), image[data])
    assert parse_section(format_section(data)) == data


def test_gain_cards():
    assert gain({"GAIN": 1.5}) == 1.5
    assert gain({"EGAIN": "2.25"}) == 2.25
    assert gain({"GAIN": 0, "EGAIN": 3.0}) == 3.0
    assert gain({"GAIN": "n/a"}) is None and gain({}) is None


@pytest.mark.parametrize(("comment", "unit"), [
    ("[ADU/e-] this amplifier's gain", "ADU/e-"), ("gain in ADU per electron", "ADU/e-"), ("ADU/e", "ADU/e-"),
    ("[e-/ADU]", "e-/ADU"), ("electrons per ADU", "e-/ADU"), ("Gain (e/ADU)", "e-/ADU"),
    ("amplifier gain", None), ("", None),
])
def test_the_gain_unit_is_read_from_the_cards_comment(comment, unit):
    header = fits.Header([("EGAIN", 2.5, comment)])
    assert gain_unit(header) == unit
    assert gain_unit({"GAIN": 2.5}) is None  # no comments to read


def _two_amp_file(path):
    """A 6x4 detector read by two amplifiers, each a 4-row x 5-column array with one prescan column.

    Amplifier L reads left to right; amplifier R reads right to left (its DATASEC is reversed), so its data
    column 3 (0-based, the one nearest its prescan) lands on detector column 3.
    """
    left = np.arange(20, dtype=np.float32).reshape(4, 5)
    right = 100 + np.arange(20, dtype=np.float32).reshape(4, 5)
    hdus = [fits.PrimaryHDU(header=fits.Header([("DETSIZE", "[1:6,1:4]")]))]
    hdus.append(fits.ImageHDU(left, name="L", header=fits.Header([("DATASEC", "[2:4,1:4]"), ("DETSEC", "[1:3,1:4]")])))
    hdus.append(fits.ImageHDU(right, name="R", header=fits.Header([("DATASEC", "[4:2,1:4]"), ("DETSEC", "[4:6,1:4]")])))
    fits.HDUList(hdus).writeto(path)
    expected = np.empty((4, 6), np.float32)
    for y in range(4):
        for x in range(3):
            expected[y, x] = left[y, 1 + x]  # data columns 1..3 of L at detector 0..2
            expected[y, 3 + x] = right[y, 3 - x]  # data columns 3, 2, 1 of R at detector 3..5
    return expected


def test_two_amplifier_mosaic_with_reversed_datasec(tmp_path):
    expected = _two_amp_file(tmp_path / "amps.fits")
    with open_image(tmp_path / "amps.fits") as source:
        assert has_mosaic(source)
        mosaic = MosaicSource(source)
        assert mosaic.planes[0].shape == (4, 6) and mosaic.metadata["amplifiers"] == ["L", "R"]
        np.testing.assert_array_equal(mosaic.read(0), expected)
        for window in [(slice(1, 3), slice(2, 5)), (slice(0, 4, 3), slice(1, 6, 2)), (slice(2, 3), slice(4, 6))]:
            np.testing.assert_array_equal(mosaic.read(0, window), expected[window])


def test_the_mosaic_keeps_the_primary_headers_comments(tmp_path):
    _two_amp_file(tmp_path / "amps.fits")
    with fits.open(tmp_path / "amps.fits", mode="update") as hdus:
        hdus[0].header["GAIN"] = (4.25, "[ADU/e-] conversion gain")
    with open_image(tmp_path / "amps.fits") as source:
        header = MosaicSource(source).planes[0].header
        assert gain(header) == 4.25 and gain_unit(header) == "ADU/e-"  # the unit is in the comment


def test_per_amplifier_arrays_are_assembled_as_the_mosaic_places_the_data(tmp_path):
    expected = _two_amp_file(tmp_path / "amps.fits")
    with open_image(tmp_path / "amps.fits") as source:
        assert amplifier_planes(source) == [0, 1]
        classes = {p: (source.read(p) % 7).astype(np.uint8) for p in (0, 1)}  # e.g. class maps, one per amplifier
        np.testing.assert_array_equal(assemble(source, classes), (expected % 7).astype(np.uint8))
        parts = split_mosaic(source, assemble(source, classes), fill=255)  # and back, 255 off the data
        for plane, window in ((0, (slice(None), slice(1, 4))), (1, (slice(None), slice(1, 4)))):
            np.testing.assert_array_equal(parts[plane][window], classes[plane][window])
            outside = np.ones(parts[plane].shape, bool)
            outside[window] = False
            assert (parts[plane][outside] == 255).all()
        assert mosaic_shape(source) == (4, 6)
        with pytest.raises(FormatError, match="amplifier plane"):
            assemble(source, {0: classes[0]})
        with pytest.raises(FormatError, match="its array"):
            assemble(source, {0: classes[0], 1: classes[1][:, 1:]})


def test_reversed_rows_and_gaps():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = 10 + np.arange(6, dtype=np.float32).reshape(2, 3)
    planes = [
        {"DETSEC": "[1:3,1:2]"},
        {"DETSEC": "[1:3,5:4]"},  # rows placed upside down, one empty row (y = 3) in between
    ]
    source = ArraySource([a, b], names=["A", "B"])
    source.planes = [Plane(p.name, p.shape, p.dtype, h) for p, h in zip(source.planes, planes)]
    mosaic = MosaicSource(source)
    out = mosaic.read()
    np.testing.assert_array_equal(out[:2], a)
    assert np.isnan(out[2]).all()
    np.testing.assert_array_equal(out[3:], b[::-1])


def test_no_mosaic_without_detsec(tmp_path, rng):
    source = ArraySource([rng.random((3, 3))] * 2)
    assert not has_mosaic(source)
    with pytest.raises(FormatError, match="no mosaic"):
        MosaicSource(source)


def test_data_window_of_a_given_size():
    header = {"NAXIS1": 110, "NAXIS2": 60, "DATASEC": "[9:100,1:50]"}
    assert data_window_of(header, (50, 92)) == (slice(0, 50), slice(8, 100))
    assert data_window_of(header, (60, 110)) is None and data_window_of({}, (50, 92)) is None
