"""``ccdstudio labels info|convert|remap`` end to end, through ``main``."""

import json

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from ccdstudio.cli import main
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels, save_labels

SIX = ClassSet.from_names(["background", "glowing", "hot_pixel", "cluster", "muon", "electron"])


@pytest.fixture
def labels():
    array = np.zeros((10, 12), np.uint8)
    array[1:3, 1:4] = 1  # 6 px
    array[5, 5:9] = 4  # 4 px
    array[8, 0:2] = 5  # 2 px
    array[9, 11] = 3  # 1 px
    return array


def test_info_text_and_json(tmp_path, labels, capsys):
    save_labels(tmp_path / "l.png", labels, SIX)
    assert main(["labels", "info", str(tmp_path / "l.png")]) == 0
    out = capsys.readouterr().out
    assert "12 x 10 pixels, 6 classes" in out and "muon" in out
    assert main(["labels", "info", str(tmp_path / "l.png"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shape"] == [10, 12]
    assert [c["pixels"] for c in report["classes"]] == [107, 6, 0, 1, 4, 2]


@pytest.mark.parametrize("src, dst", [("png", "fits"), ("fits", "tif"), ("tif", "npy"), ("npy", "png")])
def test_convert_between_formats(tmp_path, labels, src, dst):
    save_labels(tmp_path / f"in.{src}", labels, SIX)
    assert main(["labels", "convert", str(tmp_path / f"in.{src}"), str(tmp_path / f"out.{dst}")]) == 0
    back, classes = load_labels(tmp_path / f"out.{dst}")
    np.testing.assert_array_equal(back, labels)
    assert classes == SIX


def test_convert_keeps_fits_header_and_copies_one(tmp_path, labels):
    save_labels(tmp_path / "in.fits", labels, SIX, header={"CRVAL1": 4.5})
    main(["labels", "convert", str(tmp_path / "in.fits"), str(tmp_path / "out.fits")])
    assert fits.getheader(tmp_path / "out.fits")["CRVAL1"] == 4.5
    fits.PrimaryHDU(np.zeros((10, 12), np.float32), header=fits.Header({"OBJECT": "dark"})).writeto(
        tmp_path / "frame.fits")
    save_labels(tmp_path / "in.png", labels, SIX)
    main(["labels", "convert", str(tmp_path / "in.png"), str(tmp_path / "wcs.fits"), "--header",
          str(tmp_path / "frame.fits")])
    assert fits.getheader(tmp_path / "wcs.fits")["OBJECT"] == "dark"


def test_convert_ink_both_ways(tmp_path):
    grey = np.zeros((4, 5), np.uint8)
    grey[1:3, 2:4] = 255
    Image.fromarray(grey).save(tmp_path / "inklabels.png")
    assert main(["labels", "convert", str(tmp_path / "inklabels.png"), str(tmp_path / "ink.fits")]) == 0
    back, classes = load_labels(tmp_path / "ink.fits")
    np.testing.assert_array_equal(back, grey // 255)
    assert classes == ClassSet.preset("ink")
    assert main(["labels", "convert", str(tmp_path / "ink.fits"), str(tmp_path / "again.png"), "--ink"]) == 0
    with Image.open(tmp_path / "again.png") as image:
        np.testing.assert_array_equal(np.asarray(image), grey)


def test_convert_with_preset(tmp_path, capsys):
    np.save(tmp_path / "bare.npy", np.array([[0, 3]], np.uint8))
    main(["labels", "convert", str(tmp_path / "bare.npy"), str(tmp_path / "out.png"), "--classes", "ccd"])
    assert load_labels(tmp_path / "out.png")[1] == ClassSet.preset("ccd")
    assert main(["labels", "convert", str(tmp_path / "bare.npy"), str(tmp_path / "o.png"), "--classes", "ink"]) == 2
    assert "preset 'ink'" in capsys.readouterr().err


def test_remap_merges_and_saves_the_remap(tmp_path, labels, capsys):
    save_labels(tmp_path / "in.fits", labels, SIX)
    assert main(["labels", "remap", str(tmp_path / "in.fits"), str(tmp_path / "out.fits"), "--map", "4:3,5:3",
                 "--save-remap", str(tmp_path / "remap.json")]) == 0
    assert "muon -> cluster" in capsys.readouterr().out
    back, classes = load_labels(tmp_path / "out.fits")
    expected = np.where(labels >= 4, 3, labels)
    np.testing.assert_array_equal(back, expected)
    assert classes == ClassSet.preset("ccd")
    assert json.loads((tmp_path / "remap.json").read_text())["table"] == [0, 1, 2, 3, 3, 3]


def test_remap_by_name_with_new_names(tmp_path, labels):
    save_labels(tmp_path / "in.png", labels, SIX)
    main(["labels", "remap", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--map",
          "muon:track,electron:track", "--names", "bg,glow,hot,clu,trk"])
    back, classes = load_labels(tmp_path / "out.png")
    assert classes.names == ["bg", "glow", "hot", "clu", "trk"]
    assert (back == 4).sum() == 6


@pytest.mark.parametrize("argv, message", [
    (["labels", "info", "missing.png"], "no label file"),
    (["labels", "remap", "{in}", "out.png", "--map", "9:1"], "no class 9"),
    (["labels", "remap", "{in}", "out.png", "--map", "nonsense"], "FROM:TO"),
    (["labels", "convert", "{in}", "out.jpg"], "label format"),
])
def test_errors_are_one_line_exit_2(tmp_path, labels, capsys, argv, message):
    save_labels(tmp_path / "in.png", labels, SIX)
    argv = [a.replace("{in}", str(tmp_path / "in.png")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
