"""Writers: round trips through the readers, and atomic writes that explain disk failures."""

import errno
import os

import numpy as np
import pytest
from astropy.io import fits

import ccdstudio.io.atomic as atomic
from ccdstudio.errors import CcdstudioError
from ccdstudio.io import open_image, write_fits, write_png, write_tiff


def test_fits_single_array_round_trip(tmp_path, rng):
    path = tmp_path / "one.fits"
    data = rng.integers(0, 65535, (12, 9)).astype(np.uint16)
    write_fits(path, data, header={"EXPTIME": (30.0, "seconds"), "OBJECT": "dark"})
    with open_image(path) as source:
        np.testing.assert_array_equal(source.read(0), data)
        assert source.read(0).dtype == np.uint16
        assert source.planes[0].header["EXPTIME"] == 30.0
        assert source.planes[0].header.comments["EXPTIME"] == "seconds"


def test_fits_extensions_round_trip(tmp_path, rng):
    path = tmp_path / "mef.fits"
    sci = rng.normal(0, 1, (5, 6)).astype(np.float32)
    mask = rng.random((5, 6)) > 0.5
    write_fits(path, [(sci, {"DATASEC": "[1:6,1:5]"}, "SCI"), (mask, None, "MASK")], header={"ORIGIN": "test"})
    with open_image(path) as source:
        assert [(p.name, p.role) for p in source.planes] == [("SCI", "image"), ("MASK", "mask")]
        np.testing.assert_array_equal(source.read(0), sci)
        np.testing.assert_array_equal(source.read(1), mask.astype(np.uint8))
        assert source.planes[0].header["DATASEC"] == "[1:6,1:5]"
    assert fits.getheader(path, 0)["ORIGIN"] == "test"


def test_tiff_imagej_round_trip(tmp_path, rng):
    path = tmp_path / "stack.tif"
    stack = rng.integers(0, 255, (3, 7, 8)).astype(np.uint8)
    write_tiff(path, stack, {"Labels": ["a", "b", "c"], "Info": "made by a test"})
    with open_image(path) as source:
        assert [p.name for p in source.planes] == ["a", "b", "c"] and source.access == "memmap"
        assert source.metadata["imagej"]["Info"] == "made by a test"
        np.testing.assert_array_equal(source.read_stack([0, 1, 2]), stack)


def test_tiff_non_imagej_types(tmp_path, rng):
    path = tmp_path / "i32.tif"
    data = rng.integers(-5, 5, (4, 5)).astype(np.int32)
    write_tiff(path, data, {"origin": "test"})
    np.testing.assert_array_equal(open_image(path).read(0), data)


def test_png_round_trip_grey_colour_bool(tmp_path, rng):
    grey = rng.integers(0, 65535, (6, 7)).astype(np.uint16)
    rgb = rng.integers(0, 255, (6, 7, 3)).astype(np.uint8)
    write_png(tmp_path / "g.png", grey)
    write_png(tmp_path / "c.png", rgb)
    write_png(tmp_path / "m.png", grey > 30000)
    np.testing.assert_array_equal(open_image(tmp_path / "g.png").read(0), grey)
    colour = open_image(tmp_path / "c.png")
    np.testing.assert_array_equal(colour.read_stack([0, 1, 2]), np.moveaxis(rgb, 2, 0))
    np.testing.assert_array_equal(open_image(tmp_path / "m.png").read(0), np.where(grey > 30000, 255, 0))
    with pytest.raises(CcdstudioError, match="8- or 16-bit"):
        write_png(tmp_path / "f.png", np.zeros((3, 3), np.float32))


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.fits"
    write_fits(path, np.ones((3, 3), np.float32))
    before = path.read_bytes()

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    for writer, array in ((write_fits, np.zeros((3, 3), np.float32)), (write_tiff, np.zeros((3, 3), np.uint8)),
                          (write_png, np.zeros((3, 3), np.uint8))):
        with pytest.raises(CcdstudioError, match="disk is full"):
            writer(path, array)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.fits"]  # no temporary file left


def test_read_only_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: simulate the refusal the OS would give
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(CcdstudioError, match="no permission to write"):
            write_png(folder / "x.png", np.zeros((2, 2), np.uint8))
    finally:
        folder.chmod(0o755)


def test_a_failure_names_the_file_asked_for_not_the_temporary_one(tmp_path):
    folder = tmp_path / "out.csv"
    folder.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(IsADirectoryError) as raised, atomic.atomic_path(folder) as tmp:
        tmp.write_text("x")
    assert raised.value.filename == str(folder)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"] and not any(folder.iterdir())
