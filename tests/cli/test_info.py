"""``ccdstudio info``: the summary of a file in text and JSON, and a clean failure on bad input."""

import json

import numpy as np
from astropy.io import fits

from ccdstudio.cli import main


def _ccd_file(path):
    sci = np.full((10, 14), 500.0, np.float32)
    sci[:, 12:] = 9000.0  # overscan, outside DATASEC
    sci[2, 3] = 1500.0
    primary = fits.PrimaryHDU(header=fits.Header([("EXPTIME", 60.0), ("DATE-OBS", "2024-05-01T03:00:00")]))
    cards = fits.Header([("DATASEC", "[1:12,1:10]"), ("BIASSEC", "[13:14,1:10]"), ("GAIN", 2.0), ("NSAMP", 400)])
    mask = fits.ImageHDU(np.zeros((10, 14), np.int16), name="MASK")
    fits.HDUList([primary, fits.ImageHDU(sci, header=cards, name="SCI"), mask]).writeto(path)


def test_text_summary(tmp_path, capsys):
    path = tmp_path / "frame.fits"
    _ccd_file(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "FITS, 2 planes" in out
    assert "SCI" in out and "14x10" in out and "float32" in out and "mask" in out
    assert "DATASEC  = [1:12,1:10]" in out and "NSAMP    = 400" in out and "EXPTIME  = 60.0" in out
    assert "over [1:12,1:10]" in out and "max 1500" in out and "min 500" in out


def test_json_and_hdu_choice(tmp_path, capsys):
    path = tmp_path / "frame.fits"
    _ccd_file(path)
    assert main(["info", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "fits" and [p["hdu"] for p in report["planes"]] == [1, 2]
    assert report["gain"] == 2.0 and report["cards"]["DATE-OBS"] == "2024-05-01T03:00:00"
    assert report["stats"]["max"] == 1500.0 and report["stats"]["pixels"] == 120
    assert main(["info", str(path), "--hdu", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["plane"] == 1 and report["stats"]["max"] == 0 and report["cards"]["EXTNAME"] == "MASK"


def test_segment_summary(tmp_path, capsys):
    import tifffile

    layers = tmp_path / "20230101" / "layers"
    layers.mkdir(parents=True)
    for i in range(3):
        tifffile.imwrite(layers / f"{i:02d}.tif", np.full((6, 8), i, np.uint16))
    assert main(["info", str(tmp_path / "20230101")]) == 0
    out = capsys.readouterr().out
    assert "SEGMENT, 3 planes" in out and "segment_id=20230101" in out and "layer 02" in out
    tifffile.imwrite(layers / "01.tif", np.zeros((6, 8), np.float32))  # a layer unlike the others
    assert main(["info", str(tmp_path / "20230101")]) == 2
    assert "01.tif is 8x6 float32, unlike the first layer" in capsys.readouterr().err


def test_corrupt_file_exit_2(tmp_path, capsys):
    path = tmp_path / "broken.fits"
    fits.PrimaryHDU(np.ones((50, 50), np.float32)).writeto(path)
    path.write_bytes(path.read_bytes()[:4000])
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ccdstudio info: error:") and "truncated" in err and "\n" not in err


def test_plane_out_of_range_exit_2(tmp_path, capsys):
    path = tmp_path / "frame.fits"
    _ccd_file(path)
    assert main(["info", str(path), "--hdu", "7"]) == 2
    assert "planes 0 to 1" in capsys.readouterr().err
