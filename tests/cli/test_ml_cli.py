"""``ccdstudio train``, ``predict``, ``evaluate`` and ``models`` end to end on tiny files."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.io import fits

from ccdstudio.cli import main
from ccdstudio.labels.io import load_labels
from tests.ml.conftest import CLASSES, toy_frame, write_pair

torch.set_num_threads(1)


@pytest.fixture
def trained(tmp_path, rng, capsys):
    data = tmp_path / "data"
    for i in range(3):
        write_pair(data, f"frame{i}", *toy_frame(rng, (64, 64)))
    model = tmp_path / "model.safetensors"
    code = main(["train", "--data", str(data), "--epochs", "2", "--batch-size", "4", "--crop", "32",
                 "--samples-per-epoch", "8", "--model-config", "depth=2,base=8", "--device", "cpu",
                 "--tile", "64", "--out", str(model)])
    assert code == 0
    return data, model


def test_train_prints_report_then_predict_and_evaluate(trained, tmp_path, capsys):
    data, model = trained
    printed = capsys.readouterr().out
    assert "validation report" in printed and "validation confusion matrix" in printed
    out = tmp_path / "pred"
    files = [str(data / f"frame{i}.fits") for i in range(3)]
    assert main(["predict", *files[:2], "--model", str(model), "--out", str(out), "--quiet", "--shard", "0/1"]) == 0
    # A second shard writing into the same folder merges its entry; an existing output is skipped.
    assert main(["predict", *files, "--model", str(model), "--out", str(out), "--quiet", "--skip-existing",
                 "--probabilities"]) == 0
    record = json.loads((out / "predictions.json").read_text())
    assert record["model"] == str(model) and len(record["predictions"]) == 3
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no lock or temporary file left
    entry = record["predictions"][0]
    assert set(entry) == {"input", "labels", "planes", "mosaic", "classes", "pixels", "seconds"}
    assert entry["planes"] == [0] and not entry["mosaic"]
    assert entry["classes"] == CLASSES.names and sum(entry["pixels"].values()) == 64 * 64
    labels, classes = load_labels(entry["labels"])
    assert labels.shape == (64, 64) and classes.names == CLASSES.names
    from astropy.io import fits

    assert fits.getheader(entry["labels"])["EXPTIME"] == 30.0  # the input header is kept
    assert (out / "frame2_probabilities.tif").is_file() and not (out / "frame0_probabilities.tif").is_file()
    capsys.readouterr()
    assert main(["evaluate", "--pred", str(out), "--truth", str(data), "--json", str(tmp_path / "ev.json")]) == 0
    printed = capsys.readouterr().out
    assert "precision" in printed and "det.recall" in printed
    summary = json.loads((tmp_path / "ev.json").read_text())
    assert summary["images"] == 3 and np.sum(summary["confusion_matrix"]) == 3 * 64 * 64


def test_a_batch_goes_on_past_a_bad_file_and_names_it(trained, tmp_path, capsys):
    data, model = trained
    bad = tmp_path / "blank.fits"
    fits.PrimaryHDU(np.full((64, 64), np.nan, np.float32)).writeto(bad)
    out = tmp_path / "pred"
    files = [str(data / "frame0.fits"), str(bad), str(data / "frame1.fits")]
    assert main(["predict", *files, "--model", str(model), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: " in err and "1 of 3 files could not be predicted" in err
    entries = json.loads((out / "predictions.json").read_text())["predictions"]
    assert [e["input"] for e in entries] == [files[0], files[2]]
    assert (out / "frame1_labels.fits").is_file() and not (out / "blank_labels.fits").exists()


def test_outputs_of_the_same_name_are_refused_and_hdus_named(trained, tmp_path, capsys):
    data, model = trained
    other = tmp_path / "other"
    other.mkdir()
    (other / "frame0.fits").write_bytes((data / "frame0.fits").read_bytes())
    out = tmp_path / "pred"
    assert main(["predict", str(data / "frame0.fits"), str(other / "frame0.fits"), "--model", str(model),
                 "--out", str(out), "--quiet"]) == 2
    assert "would both be written as frame0_" in capsys.readouterr().err and not out.exists()
    two = tmp_path / "two.fits"
    image = fits.getdata(data / "frame0.fits")
    fits.HDUList([fits.PrimaryHDU(image), fits.ImageHDU(image, name="B")]).writeto(two)
    for hdu in ("0", "1"):
        assert main(["predict", str(two), "--hdu", hdu, "--model", str(model), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    entries = json.loads((out / "predictions.json").read_text())["predictions"]
    assert [(Path(e["labels"]).name, e["planes"]) for e in entries] == [("two_hdu1_labels.fits", [1])]  # by input
    assert (out / "two_hdu0_labels.fits").is_file()
    assert main(["predict", str(two), "--hdu", "2", "--model", str(model), "--out", str(out), "--quiet"]) == 2
    assert "no plane 2: the file's planes are 0 (HDU 0), 1 (B)" in capsys.readouterr().err
    assert main(["predict", str(two), "--model", str(model), "--out", str(two), "--quiet"]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err


def test_json_events_and_models_commands(trained, tmp_path, capsys):
    data, model = trained
    capsys.readouterr()
    assert main(["train", "--data", str(data), "--epochs", "1", "--batch-size", "4", "--crop", "32",
                 "--samples-per-epoch", "4", "--model-config", '{"depth": 1, "base": 4}', "--device", "cpu",
                 "--out", str(tmp_path / "m2.safetensors"), "--json-events"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["event"] == "finished" and any(e.get("event") == "epoch" for e in events)
    assert main(["models", "list", str(model), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["classes"] == CLASSES.names and rows[-1]["in_channels"] == 1
    assert main(["models", "show", str(model)]) == 0
    shown = capsys.readouterr().out
    assert f"classes            {', '.join(CLASSES.names)}" in shown and "best epoch" in shown
    assert main(["models", "show", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "ccdstudio-unet"


def test_json_is_strict_and_nonsense_numbers_are_refused(tmp_path, capsys):
    path = tmp_path / "blank.fits"
    fits.PrimaryHDU(np.full((8, 8), np.nan, np.float32)).writeto(path)
    assert main(["info", str(path), "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and json.loads(text)["stats"]["mean"] is None
    for option in (["--sigma", "-1"], ["--sigma", "0"], ["--threshold", "1", "--gain", "0"]):
        with pytest.raises(SystemExit) as raised:
            main(["particles", str(path), *option, "--out", str(tmp_path / "p.csv")])
        assert raised.value.code == 2 and "must be above 0" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("ccdstudio.paths.models_dir", lambda: tmp_path / "no-models")
    image = write_pair(tmp_path, "img", toy_frame(np.random.default_rng(0))[0], None)
    assert main(["predict", str(image)]) == 2
    assert "--model" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model at all")
    assert main(["predict", str(image), "--model", str(bad)]) == 2
    assert "not a readable safetensors" in capsys.readouterr().err
    assert main(["train", "--data", str(image), "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "no labels for" in capsys.readouterr().err


def test_a_raw_frame_is_predicted_whole_and_scored_over_its_data_section(tmp_path, capsys):
    sims, out = tmp_path / "raw", tmp_path / "pred"
    assert main(["simulate", "ccd", "--out", str(sims), "--height", "64", "--width", "96", "--overscan", "16",
                 "--seed", "2", "--quiet"]) == 0
    assert main(["predict", str(sims / "frame_0000.fits"), "--out", str(out), "--quiet"]) == 0
    predicted, _ = load_labels(out / "frame_0000_labels.fits")
    assert predicted.shape == (64, 112)  # the plane as stored: data section and overscan
    assert main(["evaluate", "--pred", str(out), "--truth", str(sims), "--json", str(tmp_path / "ev.json")]) == 0
    summary = json.loads((tmp_path / "ev.json").read_text())
    assert np.sum(summary["confusion_matrix"]) == 64 * 96


def test_a_multi_amplifier_frame_is_predicted_amplifier_by_amplifier_into_one_mosaic(tmp_path, capsys):
    from ccdstudio.io import open_image
    from ccdstudio.io.ccd import assemble

    sims, out = tmp_path / "amps", tmp_path / "pred"
    assert main(["simulate", "ccd", "--out", str(sims), "--height", "64", "--width", "128", "--amplifiers", "2",
                 "--overscan", "16", "--seed", "3", "--quiet"]) == 0
    frame = sims / "frame_0000.fits"
    assert main(["predict", str(frame), "--out", str(out), "--quiet"]) == 0
    entry = json.loads((out / "predictions.json").read_text())["predictions"][0]
    assert entry["mosaic"] and entry["planes"] == [0, 1]
    mosaic, _ = load_labels(out / "frame_0000_labels.fits")
    truth, _ = load_labels(sims / "frame_0000_labels.fits")
    assert mosaic.shape == truth.shape == (64, 128)
    for hdu in ("0", "1"):  # each amplifier alone, as stored, with its overscan
        assert main(["predict", str(frame), "--hdu", hdu, "--out", str(out), "--quiet"]) == 0
    with open_image(frame) as source:
        alone = {p: load_labels(out / f"frame_0000_hdu{p}_labels.fits")[0] for p in (0, 1)}
        np.testing.assert_array_equal(assemble(source, alone), mosaic)
    assert main(["evaluate", "--pred", str(out / "frame_0000_labels.fits"), "--truth", str(sims / "frame_0000_labels.fits"),
                 "--json", str(tmp_path / "ev.json")]) == 0
    assert np.sum(json.loads((tmp_path / "ev.json").read_text())["confusion_matrix"]) == 64 * 128


def test_labels_of_a_whole_ccd_train_each_amplifier_as_stored(tmp_path, capsys):
    from ccdstudio.ml.data import DataSpec, load_items
    from ccdstudio.ml.normalize import Normalization

    sims = tmp_path / "amps"
    assert main(["simulate", "ccd", "--out", str(sims), "--count", "2", "--height", "64", "--width", "128",
                 "--amplifiers", "2", "--overscan", "16", "--seed", "3", "--quiet"]) == 0
    spec = DataSpec(sims / "frame_0000.fits", sims / "frame_0000_labels.fits")
    items, _ = load_items(spec, 1, Normalization("ccd"), None)
    assert [item.planes for item in items] == [[0], [1]] and all(item.shape == (64, 80) for item in items)
    truth, _ = load_labels(spec.labels)
    np.testing.assert_array_equal(items[0].labels[:, :64], truth[:, :64])  # amplifier L's data section
    assert (items[0].labels[:, 64:] == 255).all()  # its overscan is unlabelled
    model = tmp_path / "m.safetensors"
    assert main(["train", "--data", str(sims), "--classes", "ccd", "--epochs", "1", "--crop", "32",
                 "--batch-size", "4", "--samples-per-epoch", "4", "--model-config", "depth=2,base=4",
                 "--device", "cpu", "--quiet", "--out", str(model)]) == 0
    assert main(["predict", str(sims / "frame_0001.fits"), "--model", str(model), "--out", str(tmp_path / "p"),
                 "--quiet"]) == 0
    assert load_labels(tmp_path / "p" / "frame_0001_labels.fits")[0].shape == (64, 128)


def test_a_new_model_can_take_its_pedestal_from_the_overscan(tmp_path, capsys):
    from ccdstudio.ml.modelfile import read_info

    sims, model = tmp_path / "raw", tmp_path / "m.safetensors"
    assert main(["simulate", "ccd", "--out", str(sims), "--count", "2", "--height", "64", "--width", "64",
                 "--overscan", "16", "--overscan-rows", "8", "--quiet"]) == 0
    common = ["train", "--data", str(sims), "--classes", "ccd", "--epochs", "1", "--crop", "32", "--batch-size", "4",
              "--samples-per-epoch", "4", "--model-config", "depth=2,base=4", "--device", "cpu", "--quiet",
              "--out", str(model)]
    assert main([*common, "--pedestal", "overscan", "--postprocess", "glow_edge"]) == 0
    info = read_info(model)
    assert info.normalization.pedestal == "overscan" and info.postprocess == ("glow_edge",)
    assert main([*common, "--pedestal", "dark", "--normalization", "percentile"]) == 2
    assert "--pedestal" in capsys.readouterr().err


def test_a_series_is_corrected_with_its_own_hot_pixel_mask(tmp_path, capsys):
    sims, out = tmp_path / "series", tmp_path / "pred"
    assert main(["simulate", "ccd", "--out", str(sims), "--count", "3", "--size", "96", "--seed", "2", "--same-ccd",
                 "--quiet"]) == 0
    frames = [str(sims / f"frame_000{i}.fits") for i in range(3)]
    assert main(["predict", *frames, "--out", str(out), "--quiet", "--hot-mask", "auto"]) == 0
    assert "hot-pixel mask from 3 frames" in capsys.readouterr().out
    mask = fits.getdata(out / "hot_mask.fits")
    assert mask.shape == (96, 96) and set(np.unique(mask)) <= {0, 1}
    entries = json.loads((out / "predictions.json").read_text())["predictions"]
    for entry in entries:  # the recorded counts are those of the corrected maps
        labels, classes = load_labels(entry["labels"])
        assert entry["pixels"]["hot_pixel"] == int((labels == classes.names.index("hot_pixel")).sum())
        assert (labels[mask == 1] == classes.names.index("hot_pixel")).all()
    again = tmp_path / "again"
    assert main(["predict", frames[0], "--out", str(again), "--quiet", "--hot-mask", str(out / "hot_mask.fits")]) == 0
    assert np.array_equal(load_labels(again / "frame_0000_labels.fits")[0], load_labels(entries[0]["labels"])[0])


def test_hot_pixel_mask_errors_are_one_line(tmp_path, capsys):
    sims = tmp_path / "series"
    assert main(["simulate", "ccd", "--out", str(sims), "--count", "2", "--size", "64", "--quiet"]) == 0
    frames = [str(sims / f"frame_000{i}.fits") for i in range(2)]
    assert main(["predict", *frames, "--out", str(tmp_path / "p"), "--quiet", "--hot-mask", "auto"]) == 2
    assert "at least 3 frames" in capsys.readouterr().err
    assert main(["predict", *frames, "--quiet", "--hot-mask", "auto", "--shard", "0/2"]) == 2
    assert "whole series in one run" in capsys.readouterr().err
    small = tmp_path / "small.npy"
    np.save(small, np.ones((8, 8), np.uint8))
    assert main(["predict", frames[0], "--out", str(tmp_path / "p"), "--quiet", "--hot-mask", str(small)]) == 2
    assert "the hot-pixel mask is 8x8 pixels, the frame 64x64" in capsys.readouterr().err


def test_shards_recording_at_once_lose_no_entry(tmp_path, monkeypatch):
    import threading
    import time

    import ccdstudio.io.atomic as atomic
    from ccdstudio.cli.predict import record_predictions

    write = atomic.write_text
    monkeypatch.setattr(atomic, "write_text", lambda *a, **k: time.sleep(0.05) or write(*a, **k))  # a slow disk
    threads = [threading.Thread(target=record_predictions, args=(tmp_path, "m", [{"input": f"f{i}"}]))
               for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = json.loads((tmp_path / "predictions.json").read_text())["predictions"]
    assert sorted(e["input"] for e in entries) == [f"f{i}" for i in range(6)]
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.json"]
