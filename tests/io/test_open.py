"""open_image: the reader is chosen by content, and every kind of bad input gets a clear FormatError."""

import numpy as np
import pytest
import tifffile
from astropy.io import fits

from ccdstudio.errors import FormatError
from ccdstudio.io import open_image


def test_content_wins_over_extension(tmp_path):
    path = tmp_path / "really_a_tiff.fits"
    tifffile.imwrite(path, np.zeros((4, 4), np.uint8))
    assert open_image(path).format == "tiff"


def test_gzipped_fits(tmp_path):
    path = tmp_path / "frame.fits.gz"
    fits.PrimaryHDU(np.arange(12, dtype=np.float32).reshape(3, 4)).writeto(path)
    with open_image(path) as source:
        assert source.format == "fits" and not source.metadata["memmap"]
        assert source.read(0)[2, 3] == 11


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.fits", b"", "empty"),
        ("notes.txt", b"just some text", "unknown format"),
        ("fake.tif", b"this is not a tiff at all", "named like a .tif file"),
        ("bad.fits", b"SIMPLE  = T" + b" " * 100, "not a readable FITS"),
        ("bad.tif", b"MM\x00*" + b"\x00" * 50, "TIFF"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        open_image(path)


def test_missing_path(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        open_image(tmp_path / "nowhere.fits")
