"""``ccdstudio simulate``: ccd, segment and demo from the command line."""

import numpy as np
import tifffile
from astropy.io import fits

from ccdstudio.cli import main
from ccdstudio.labels.io import load_labels


def test_simulate_ccd_writes_frames_labels_and_clusters(tmp_path, capsys):
    out = tmp_path / "sims"
    code = main(["simulate", "ccd", "--out", str(out), "--count", "2", "--height", "48", "--width", "40",
                 "--seed", "3", "--noise", "4-9", "--kinds", "--amplifiers", "2", "--quiet"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["frame_0000.fits", "frame_0000_clusters.json", "frame_0000_labels.fits",
                     "frame_0001.fits", "frame_0001_clusters.json", "frame_0001_labels.fits"]
    with fits.open(out / "frame_0001.fits") as hdus:
        assert [h.name for h in hdus[1:]] == ["L", "R"] and hdus[0].header["SIMSEED"] == 3
        assert 4 <= hdus[0].header["RDNOISE1"] <= 9
    labels, classes = load_labels(out / "frame_0000_labels.fits")
    assert labels.shape == (48, 40) and "electron" in classes.names


def test_hot_trails_can_be_left_background(tmp_path):
    """Frame 1 of seed 7001 trails 3.5e-5 a transfer: one pixel after a hot pixel holds a read noise or more."""
    common = ["simulate", "ccd", "--count", "2", "--size", "128", "--seed", "7001", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "trails")]) == 0
    assert main([*common, "--out", str(tmp_path / "none"), "--no-hot-trails"]) == 0
    (trails, _), (none, _) = (load_labels(tmp_path / name / "frame_0001_labels.fits") for name in ("trails", "none"))
    changed = trails != none
    assert np.count_nonzero(changed) == 1 and trails[changed].tolist() == [2] and none[changed].tolist() == [0]
    assert fits.getheader(tmp_path / "none" / "frame_0001.fits")["HOTTRSIG"] == 0.0


def test_simulate_ccd_square_size_and_progress(tmp_path, capsys):
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--size", "32"]) == 0
    captured = capsys.readouterr()
    assert "wrote 1 frame(s) of 32 x 32" in captured.out and "frame 1/1" in captured.err
    with fits.open(tmp_path / "frame_0000.fits") as hdus:
        assert hdus[0].data.shape == (32, 32)


def test_simulate_segment(tmp_path):
    out = tmp_path / "seg"
    assert main(["simulate", "segment", "--out", str(out), "--layers", "3", "--height", "32", "--width", "48",
                 "--quiet"]) == 0
    assert sorted(p.name for p in (out / "layers").iterdir()) == ["00.tif", "01.tif", "02.tif"]
    assert tifffile.imread(out / "layers" / "02.tif").shape == (32, 48)
    assert (out / "mask.png").is_file() and (out / "inklabels.png").is_file()


def test_bad_input_is_one_line_and_exit_two(tmp_path, capsys):
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--size", "2", "--quiet"]) == 2
    assert "at least 4 x 4" in capsys.readouterr().err
    assert main(["simulate", "segment", "--out", str(tmp_path), "--layers", "0", "--quiet"]) == 2
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--seed", "-1", "--quiet"]) == 2
    assert main(["simulate", "segment", "--out", str(tmp_path), "--seed", "-1", "--quiet"]) == 2


def test_json_lines_progress(tmp_path, capsys):
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--size", "16", "--count", "2", "--json-lines"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 2 and '"fraction": 1.0' in lines[-1]
    assert np.isfinite(fits.getdata(tmp_path / "frame_0001.fits")).all()


def test_simulate_raw_frames_with_overscans(tmp_path):
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--height", "40", "--width", "30", "--overscan", "8",
                 "--overscan-rows", "5", "--quiet"]) == 0
    with fits.open(tmp_path / "frame_0000.fits") as hdus:
        assert hdus[1].data.shape == (45, 38) and hdus[0].header["NOVERSCR"] == 5
        assert hdus[1].header["DATASEC"] == "[1:30,1:40]" and hdus[1].header["BIASSEC"] == "[31:38,1:45]"
    assert load_labels(tmp_path / "frame_0000_labels.fits")[0].shape == (40, 30)
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--overscan", "-1", "--quiet"]) == 2
    assert main(["simulate", "ccd", "--out", str(tmp_path), "--overscan-rows", "-1", "--quiet"]) == 2
