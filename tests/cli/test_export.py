"""``ccdstudio export``: every kind end to end on small files, determinism, and clean errors."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ccdstudio.cli import main
from ccdstudio.io.write import write_fits
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import save_labels
from tests.export.conftest import make_segment


@pytest.fixture
def frame(tmp_path, rng) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    image = rng.normal(1000, 3, (40, 50)).astype(np.float32)
    labels = np.zeros((40, 50), np.uint8)
    labels[5:9, 6:12] = 3
    labels[20, 30] = 2
    labels[30:35, 40:44] = 3
    write_fits(tmp_path / "frame.fits", image)
    save_labels(tmp_path / "frame.labels.png", labels, ClassSet.preset("ccd"))
    return tmp_path / "frame.fits", tmp_path / "frame.labels.png", image, labels


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_tiles(frame, tmp_path):
    image_path, labels_path, image, _ = frame
    out = tmp_path / "tiles"
    assert main(["export", "tiles", str(image_path), "--labels", str(labels_path), "--size", "16",
                 "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "export.json").read_text())
    assert len(meta["tiles"]) == 12 and meta["image_shape"] == [40, 50]
    assert main(["export", "tiles", str(image_path), "--labels", str(labels_path), "--size", "16",
                 "--skip-without", "hot_pixel", "--out", str(tmp_path / "few"), "--quiet"]) == 0
    few = json.loads((tmp_path / "few" / "export.json").read_text())["tiles"]
    assert [(t["y"], t["x"]) for t in few] == [(16, 16)]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "few" / "images" / "0000.tif"), image[16:32, 16:32])


def test_crops_are_repeatable(tmp_path):
    segment = make_segment(tmp_path / "seg")
    args = ["export", "crops", str(segment), "--size", "16", "--min-fraction", "0.15", "--layers", "2-5",
            "--count", "4", "--flip", "0.5", "--rot90", "0.5", "--stitch", "--seed", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    sample = tmp_path / "a" / "sample_0003"
    assert len(list((sample / "layers").iterdir())) == 4 and (sample / "inklabels.png").is_file()
    assert tifffile.imread(sample / "layers" / "00.tif").shape == (16, 32)


def test_boxes(frame, tmp_path, capsys):
    image_path, labels_path, _, _ = frame
    out = tmp_path / "boxes"
    assert main(["export", "boxes", str(labels_path), "--image", str(image_path), "--min-area", "2",
                 "--out", str(out), "--quiet"]) == 0
    assert "2 boxes" in capsys.readouterr().out
    coco = json.loads((out / "coco.json").read_text())
    assert [a["bbox"] for a in coco["annotations"]] == [[6, 5, 6, 4], [40, 30, 4, 5]]
    assert coco["images"][0]["file_name"] == "frame.fits"
    assert (out / "frame.reg").read_text().count("box(") == 2
    assert (out / "frame.txt").is_file() and (out / "preview.png").is_file()
    assert main(["export", "boxes", str(labels_path), "--class", "hot_pixel", "--out", str(tmp_path / "hot"),
                 "--quiet"]) == 0
    assert len(json.loads((tmp_path / "hot" / "coco.json").read_text())["annotations"]) == 1


def test_cutouts(frame, tmp_path):
    image_path, labels_path, image, _ = frame
    out = tmp_path / "cut"
    assert main(["export", "cutouts", str(image_path), "--labels", str(labels_path), "--class", "cluster",
                 "--pad", "2", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["cutout_0000", "cutout_0001", "export.json"]
    np.testing.assert_array_equal(tifffile.imread(out / "cutout_0000" / "image.tif"), image[3:11, 4:14])


def test_labels_of_a_whole_ccd_export_its_mosaic(tmp_path):
    from ccdstudio.io import open_image
    from ccdstudio.io.ccd import MosaicSource

    sims = tmp_path / "amps"
    assert main(["simulate", "ccd", "--out", str(sims), "--height", "64", "--width", "128", "--amplifiers", "2",
                 "--overscan", "16", "--seed", "3", "--quiet"]) == 0
    frame, labels = sims / "frame_0000.fits", sims / "frame_0000_labels.fits"
    assert main(["export", "tiles", str(frame), "--labels", str(labels), "--size", "32", "--out",
                 str(tmp_path / "tiles"), "--quiet"]) == 0
    assert json.loads((tmp_path / "tiles" / "export.json").read_text())["image_shape"] == [64, 128]
    assert main(["export", "cutouts", str(frame), "--labels", str(labels), "--class", "glowing", "--pad", "0",
                 "--out", str(tmp_path / "cut"), "--quiet"]) == 0
    cutout = json.loads((tmp_path / "cut" / "export.json").read_text())["cutouts"][0]
    window = cutout["window"]
    with open_image(frame) as source:
        whole = MosaicSource(source).read()
    expected = whole[window["y"]: window["y"] + window["height"], window["x"]: window["x"] + window["width"]]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "cut" / cutout["name"] / "image.tif"), expected)


@pytest.mark.parametrize("args, message", [
    (["crops", "{seg}", "--size", "500"], "larger than the image"),
    (["crops", "{seg}", "--size", "10", "--layers", "5-70"], "layers 5-70 are outside"),
    (["crops", "{seg}", "--size", "10", "--class", "7", "--min-fraction", "0.1"], "no pixel of class 7"),
    (["crops", "{seg}", "--size", "10", "--class", "gold"], "no class 'gold'"),
    (["boxes", "{labels}", "--class", "glowing"], "no pixel of class 1"),
    (["tiles", "{image}", "--labels", "{labels}", "--size", "100"], "larger than the image side"),
    (["cutouts", "{image}"], "need labels"),
    (["crops", "{seg}", "--size", "10", "--out", "{exists}"], "not empty"),
])
def test_bad_input_exits_with_one_line(frame, tmp_path, capsys, args, message):
    image_path, labels_path, _, _ = frame
    segment = make_segment(tmp_path / "seg")
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "keep.txt").write_text("mine")
    names = {"seg": segment, "labels": labels_path, "image": image_path, "exists": tmp_path / "exists"}
    argv = ["export"] + [a.format(**names) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "new")]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ccdstudio export: error:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "new").exists()
    assert (tmp_path / "exists" / "keep.txt").read_text() == "mine"
