"""``ccdstudio segment`` and the segment paths of ``ccdstudio train`` and ``predict``, end to end."""

import json

import numpy as np
import pytest
import torch

from ccdstudio.cli import main
from ccdstudio.io import open_image
from ccdstudio.jobs import run
from ccdstudio.simulate.segment import simulate_segment

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def segment(tmp_path_factory):
    """A generated 12-layer 128 x 160 segment (surface at layer 5.5)."""
    return run(simulate_segment(tmp_path_factory.mktemp("seg") / "seg", layers=12, height=128, width=160, seed=3))


def test_surface_prints_the_window_and_profile(segment, capsys):
    assert main(["segment", "surface", str(segment), "--count", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["surface"] in (5, 6) and result["reliable"] and len(result["profile"]) == 12
    assert result["window"] == [result["surface"] - 2, result["surface"] + 1]
    assert main(["segment", "surface", str(segment), "--count", "4"]) == 0
    assert "<- surface" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["max", "mean", "std"])
def test_project_writes_the_projection(segment, tmp_path, mode, capsys):
    out = tmp_path / f"{mode}.tif"
    assert main(["segment", "project", str(segment), "--range", "3-8", "--mode", mode, "--out", str(out),
                 "--quiet"]) == 0
    with open_image(segment) as source:
        layers = source.read_stack(range(3, 9)).astype(np.float64)
    expected = {"max": layers.max(0), "mean": layers.mean(0), "std": layers.std(0, ddof=1)}[mode]
    with open_image(out) as written:
        np.testing.assert_allclose(written.read(0), expected, rtol=1e-5)
    assert "layers 3-8 of 12" in capsys.readouterr().out


def test_project_errors_are_one_line(segment, tmp_path, capsys):
    assert main(["segment", "project", str(segment), "--range", "10-20", "--out", str(tmp_path / "p.tif")]) == 2
    assert "outside" in capsys.readouterr().err


def test_train_on_a_segment_then_predict_it(segment, tmp_path, capsys):
    model = tmp_path / "ink.safetensors"
    assert main(["train", "--data", str(segment), "--window", "4", "--classes", "ink", "--loss", "bce+dice",
                 "--normalization", "percentile", "--epochs", "1", "--batch-size", "4", "--crop", "32",
                 "--samples-per-epoch", "8", "--model-config", "depth=2,base=4", "--device", "cpu", "--tile", "64",
                 "--quiet", "--out", str(model)]) == 0
    from ccdstudio.ml.modelfile import read_info

    window = read_info(model).training["layer_window"]
    assert window["count"] == 4 and window["centred_on"] == "surface"
    out = tmp_path / "pred"
    assert main(["predict", str(segment), "--model", str(model), "--out", str(out), "--quiet"]) == 0
    entry = json.loads((out / "predictions.json").read_text())["predictions"][0]
    assert entry["layers"] == [window["first"], window["last"]] and entry["warnings"] == []
    assert sum(entry["pixels"].values()) == 128 * 160
    with open_image(out / "seg_prediction.png") as written:
        probability = written.read(0)
    with open_image(segment) as source:
        mask = source.read(source.indices("mask")[0]) != 0
    assert probability.shape == (128, 160) and not probability[~mask].any()
    with open_image(out / "seg_predicted_inklabels.png") as written:
        np.testing.assert_array_equal(written.read(0), np.where(probability >= 128, 255, 0))
    assert entry["pixels"]["ink"] == int((probability >= 128).sum())
    capsys.readouterr()
    # Another window than the model's, in the other z order: predicted, with warnings.
    assert main(["predict", str(segment), "--model", str(model), "--out", str(out), "--quiet", "--layers", "0-3",
                 "--reverse-layers"]) == 0
    assert "warning: " in capsys.readouterr().err
    entry = json.loads((out / "predictions.json").read_text())["predictions"][0]
    assert entry["reversed"] and len(entry["warnings"]) == 2
    assert main(["predict", str(segment), "--model", str(model), "--out", str(out), "--layers", "0-5"]) == 2
    assert "reads 4 layers" in capsys.readouterr().err


def test_clean_is_fijis_recipe_and_writes_ink_labels(tmp_path, capsys):
    """Threshold, dilate by a disk, drop particles under the size (8-connected), as skimage does it."""
    import cv2
    from skimage import measure, morphology

    from ccdstudio.labels.io import load_labels

    rng = np.random.default_rng(4)
    prediction = (cv2.GaussianBlur(rng.random((120, 150)).astype(np.float32), (0, 0), 2) * 255 * 2.2).clip(0, 255)
    prediction = prediction.astype(np.uint8)
    cv2.imwrite(str(tmp_path / "pred.png"), prediction)
    mask = np.zeros((120, 150), np.uint8)
    mask[:, :100] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    out = tmp_path / "ink.png"
    assert main(["segment", "clean", str(tmp_path / "pred.png"), "--threshold", "140", "--dilate", "2",
                 "--min-size", "30", "--mask", str(tmp_path / "mask.png"), "--out", str(out)]) == 0
    expected = morphology.dilation(prediction >= 140, morphology.disk(2))
    regions = measure.label(expected, connectivity=2)
    sizes = np.bincount(regions.ravel())
    expected = (sizes[regions] >= 30) & (regions > 0) & (mask > 0)
    assert 0 < expected.sum() < expected.size
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(written)) <= {0, 255}
    np.testing.assert_array_equal(written == 255, expected)
    labels, classes = load_labels(out)
    assert classes.names == ["background", "ink"] and "ink in" in capsys.readouterr().out
    assert main(["segment", "clean", str(tmp_path / "pred.png"), "--threshold", "140", "--invert",
                 "--out", str(tmp_path / "inverted.png")]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "inverted.png"), cv2.IMREAD_UNCHANGED) == 255,
                                  prediction < 140)
    assert main(["segment", "clean", str(tmp_path / "pred.png"), "--mask", str(tmp_path / "ink.png")[:-4] + "x.png",
                 "--out", str(tmp_path / "o.png")]) == 2
    assert main(["segment", "clean", str(tmp_path / "pred.png"), "--out", str(tmp_path / "o.fits")]) == 2
    assert "written as PNG or TIFF" in capsys.readouterr().err and not (tmp_path / "o.fits").exists()
