"""``ccdstudio train --init``: fine-tuning the bundled model from the command line, and its refusals."""

import hashlib
import json

import numpy as np
import pytest
import torch

from ccdstudio.cli import build_parser, main
from ccdstudio.jobs import run
from ccdstudio.ml.modelfile import read_checkpoint, read_info, resolve_model
from ccdstudio.simulate.ccd_files import simulate_frames
from tests.ml.conftest import CLASSES, toy_frame, write_pair

torch.set_num_threads(1)

FAST = ["--epochs", "1", "--batch-size", "2", "--crop", "128", "--samples-per-epoch", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    """One simulated 256x256 CCD frame with its truth labels (ccd classes)."""
    folder = tmp_path_factory.mktemp("sim")
    run(simulate_frames(folder, 1, (256, 256), seed=7))
    return folder


def test_finetuning_the_bundled_model_from_the_cli(frame, tmp_path, capsys):
    out = tmp_path / "ft.safetensors"
    assert main(["train", "--data", str(frame), "--init", "ccd-unet-v1", "--classes", "ccd", "--lr", "1e-4",
                 *FAST, "--out", str(out)]) == 0
    assert "starting from ccd-unet-v1" in capsys.readouterr().err
    bundled = resolve_model("ccd-unet-v1")
    info, source = read_info(out), read_info(bundled)
    assert info.architecture == source.architecture and info.classes.names == source.classes.names
    assert info.normalization == source.normalization  # the bundled model's dark pedestal, not re-estimated
    record = info.training["init"]
    assert record["name"] == "ccd-unet-v1" and record["bytes"] == bundled.stat().st_size
    assert record["sha256"] == hashlib.sha256(bundled.read_bytes()).hexdigest()
    # One small step at a low rate: the weights moved, but stay close to the bundled ones.
    before, after = read_checkpoint(bundled)[1], read_checkpoint(out)[1]
    assert not torch.equal(before["head.weight"], after["head.weight"])
    drift = torch.linalg.vector_norm(after["head.weight"] - before["head.weight"])
    assert drift < 0.05 * torch.linalg.vector_norm(before["head.weight"])
    # ... and the fine-tuned model predicts.
    assert main(["predict", str(frame / "frame_0000.fits"), "--model", str(out), "--out", str(tmp_path / "p"),
                 "--quiet", "--device", "cpu"]) == 0
    entry = json.loads((tmp_path / "p" / "predictions.json").read_text())["predictions"][0]
    assert entry["classes"] == source.classes.names and sum(entry["pixels"].values()) == 256 * 256


def test_init_refusals_are_one_line_errors(tmp_path, rng, capsys):
    data = tmp_path / "data"
    write_pair(data, "f", *toy_frame(rng))
    out = str(tmp_path / "m.safetensors")
    cases = [
        (["--init", "ccd-unet-v1", "--resume"], "--init and --resume"),
        (["--init", "no-such-model"], "pass --init PATH"),
        (["--init", "ccd-unet-v1", "--model-config", "base=32"], "drop the conflicting settings base=32 (it has 8)"),
        (["--init", "ccd-unet-v1", "--normalization", "percentile"], "trained on CCD frames"),
    ]
    for extra, message in cases:
        assert main(["train", "--data", str(data), *FAST, "--crop", "32", *extra, "--out", out]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "m.safetensors").exists()


def test_init_refuses_images_of_another_kind(tmp_path, rng, capsys):
    import tifffile

    from ccdstudio.labels.io import save_labels

    image, labels = toy_frame(rng)
    tifffile.imwrite(tmp_path / "img.tif", image.astype(np.uint16))
    save_labels(tmp_path / "img_labels.png", labels, CLASSES)
    code = main(["train", "--data", str(tmp_path / "img.tif"), *FAST, "--init", "ccd-unet-v1",
                 "--out", str(tmp_path / "m.safetensors")])
    assert code == 2 and "ccd normalisation if this data is of its kind" in capsys.readouterr().err


def test_help_shows_a_finetuning_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["train"]
    assert "ccdstudio train --data my-project/ --init ccd-unet-v1" in sub.epilog
