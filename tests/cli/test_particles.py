"""``ccdstudio particles``: thresholds from the command line, ImageJ-style CSV, notes and errors."""

import csv

import numpy as np
import pytest
import tifffile
from astropy.io import fits

from ccdstudio.cli import main


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def ccd_frame(tmp_path, rng):
    """A two-HDU FITS file whose second HDU holds a noisy frame with two clusters."""
    image = rng.normal(1000.0, 3.0, (64, 80)).astype(np.float32)
    image[10:12, 10:13] += 200.0     # 6 px cluster
    image[40, 50] += 150.0           # single hot pixel
    image[40, 51] += 12.0            # its 4-sigma neighbour: grown with --sigma-low
    path = tmp_path / "frame.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, name="SCI")]).writeto(path)
    return path, image


def test_sigma_threshold_with_energy(tmp_path, ccd_frame):
    path, _ = ccd_frame
    out = tmp_path / "clusters.csv"
    mask_out = tmp_path / "count.tif"
    code = main(["particles", str(path), "--sigma", "6", "--sigma-low", "3", "--gain", "2",
                 "--out", str(out), "--mask-out", str(mask_out), "--quiet"])
    assert code == 0
    rows = _rows(out)
    header = rows[0]
    assert header[:6] == [" ", "Area", "Mean", "StdDev", "Min", "Max"]
    assert {"energy_adu", "energy_e", "energy_kev", "sigma_x", "sigma_y", "label", "npix"} <= set(header)
    table = [dict(zip(header, row)) for row in rows[1:]]
    assert [r[" "] for r in table] == ["1", "2"] and [r["Area"] for r in table] == ["6", "2"]
    assert float(table[0]["energy_adu"]) == pytest.approx(1200, abs=20)
    assert float(table[0]["energy_e"]) == pytest.approx(float(table[0]["energy_adu"]) / 2)
    counts = tifffile.imread(mask_out)
    assert counts.max() == 2 and (counts == 1).sum() == 6 and counts[40, 51] == 2


def test_method_and_manual_threshold(tmp_path):
    image = np.zeros((20, 20), np.uint8)
    image[2:6, 2:6] = 200
    image[10:13, 12:14] = 120
    path = tmp_path / "blobs.npy"
    np.save(path, image)
    out = tmp_path / "r.csv"
    assert main(["particles", str(path), "--method", "Otsu", "--out", str(out), "--quiet"]) == 0
    assert [row[1] for row in _rows(out)[1:]] == ["16", "6"]
    assert main(["particles", str(path), "--threshold", "150:255", "--out", str(out), "--quiet"]) == 0
    assert [row[1] for row in _rows(out)[1:]] == ["16"]
    assert main(["particles", str(path), "--threshold", "100", "--min-area", "10", "--exclude-edges",
                 "--out", str(out), "--quiet"]) == 0
    assert [row[1] for row in _rows(out)[1:]] == ["16"]


def test_empty_results_write_a_header_and_exit_zero(tmp_path, capsys):
    path = tmp_path / "flat.npy"
    np.save(path, np.full((8, 8), 5.0))
    out = tmp_path / "r.csv"
    assert main(["particles", str(path), "--threshold", "100:200", "--out", str(out)]) == 0
    assert "no pixel lies in the threshold range 100 to 200" in capsys.readouterr().err
    assert len(_rows(out)) == 1 and _rows(out)[0][1] == "Area"
    assert main(["particles", str(path), "--method", "Otsu", "--out", str(out)]) == 0  # constant image
    assert "constant" in capsys.readouterr().err and len(_rows(out)) == 1


def test_bad_input_exits_two(tmp_path, capsys):
    path = tmp_path / "nan.npy"
    np.save(path, np.full((8, 8), np.nan))
    out = tmp_path / "r.csv"
    assert main(["particles", str(path), "--threshold", "1", "--out", str(out)]) == 2
    assert "finite" in capsys.readouterr().err
    good = tmp_path / "ok.npy"
    np.save(good, np.zeros((4, 4)))
    assert main(["particles", str(good), "--method", "Nope", "--out", str(out)]) == 2
    assert main(["particles", str(good), "--threshold", "a:b", "--out", str(out)]) == 2
    assert main(["particles", str(good), "--hdu", "3", "--threshold", "1", "--out", str(out)]) == 2
    assert main(["particles", str(tmp_path / "missing.fits"), "--threshold", "1", "--out", str(out)]) == 2


def test_a_ccd_of_two_amplifiers_is_analysed_whole_each_against_its_own_pedestal(tmp_path, capsys):
    from ccdstudio.io import open_image
    from ccdstudio.io.ccd import assemble

    sims = tmp_path / "amps"
    assert main(["simulate", "ccd", "--out", str(sims), "--height", "128", "--width", "256", "--amplifiers", "2",
                 "--overscan", "16", "--seed", "2", "--quiet"]) == 0
    frame = sims / "frame_0000.fits"
    common = ["--sigma", "5", "--sigma-low", "3", "--gain", "4"]
    assert main(["particles", str(frame), *common, "--out", str(tmp_path / "all.csv"),
                 "--mask-out", str(tmp_path / "all.tif")]) == 0
    whole = tifffile.imread(tmp_path / "all.tif")
    assert whole.shape == (128, 256)  # the CCD, not its first amplifier
    for hdu in ("0", "1"):
        assert main(["particles", str(frame), "--hdu", hdu, *common, "--out", str(tmp_path / f"{hdu}.csv"),
                     "--mask-out", str(tmp_path / f"{hdu}.tif")]) == 0
    with open_image(frame) as source:
        alone = {p: tifffile.imread(tmp_path / f"{p}.tif") > 0 for p in (0, 1)}
        np.testing.assert_array_equal(assemble(source, alone), whole > 0)
    def energies(*names):
        tables = [_rows(tmp_path / name) for name in names]
        return sorted(float(row[t[0].index("energy_adu")]) for t in tables for row in t[1:])

    energies, by_amplifier = energies("all.csv"), energies("0.csv", "1.csv")
    assert len(energies) == 14 and np.allclose(energies, by_amplifier, rtol=1e-3)  # none crosses here
