"""Training presets: the bundled recipe's settings, cached simulated data, and `train --preset` end to end;
and the dark-block pedestal the preset normalises with."""

import dataclasses

import numpy as np
import pytest
import torch

from ccdstudio.cli import main
from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.jobs import run
from ccdstudio.ml import presets
from ccdstudio.ml.modelfile import read_info
from ccdstudio.ml.normalize import dark_pedestal
from ccdstudio.ml.presets import Preset, SimulatedSet, get_preset, prepare_data

torch.set_num_threads(1)


@pytest.fixture
def tiny(monkeypatch):
    base = get_preset("ccd-default")
    config = dataclasses.replace(base.config, epochs=1, crop=32, batch_size=4, samples_per_epoch=4, val_split=0.1,
                                 tile=64)
    preset = Preset("tiny", "for tests", (SimulatedSet(2, (64, 96), seed=5),), "ccd", base.normalization,
                    {"depth": 2, "base": 4}, config)
    monkeypatch.setitem(presets.PRESETS, "tiny", preset)
    return preset


def test_the_bundled_recipe():
    preset = get_preset("ccd-default")
    assert preset.classes == "ccd" and preset.normalization.method == "ccd"
    assert preset.normalization.pedestal == "dark"
    assert all(part.noise == (2.0, 30.0) for part in preset.data)
    assert len(preset.config.class_weights) == 4
    with pytest.raises(CcdstudioError, match="ccd-default"):
        get_preset("nope")


def test_data_is_simulated_once_then_reused(tiny, tmp_path):
    folders = run(prepare_data(tiny, tmp_path))
    assert folders == [tmp_path / "ccd-2x64x96-seed5-noise2-30"]
    images = sorted(folders[0].glob("frame_????.fits"))
    assert len(images) == 2
    stamps = [p.stat().st_mtime_ns for p in images]
    assert run(prepare_data(tiny, tmp_path)) == folders
    assert [p.stat().st_mtime_ns for p in images] == stamps


def test_train_with_a_preset(tiny, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", "--preset", "tiny", "--cache", str(tmp_path / "cache"), "--device", "cpu", "--quiet",
                 "--out", str(out)]) == 0
    info = read_info(out)
    assert info.classes.names == ["background", "glowing", "hot_pixel", "cluster"]
    assert info.normalization.pedestal == "dark" and info.architecture.base == 4
    assert info.training["config"]["class_weights"] == [1.0, 1.0, 4.0, 1.0]
    assert "validation report" in capsys.readouterr().out


def test_train_needs_data_or_a_preset(tmp_path):
    assert main(["train", "--out", str(tmp_path / "m.safetensors")]) == 2


def test_dark_pedestal_ignores_glow_covering_most_of_the_frame(rng):
    pedestal, sigma = 1000.0, 2.0
    image = rng.normal(pedestal, sigma, (256, 256))
    yy, xx = np.mgrid[:256, :256]
    glow = 100 * np.exp(-np.hypot(yy, xx) / 80)
    assert 0.55 < (glow > 3 * sigma).mean() < 0.65  # the frame's median is a glowing pixel
    image = np.rint(image + glow)  # integer ADU, as a camera writes them
    image[:, 50] = np.nan
    found_pedestal, found_sigma = dark_pedestal(image)
    whole_pedestal, whole_sigma = robust_pedestal(image)
    assert abs(found_sigma - np.hypot(sigma, np.sqrt(1 / 12))) < 0.15  # rounding adds 1/12 ADU^2
    assert whole_sigma > 3 * sigma  # what the whole-frame MAD says
    assert abs(found_pedestal - pedestal) < abs(whole_pedestal - pedestal) and found_pedestal >= pedestal


def test_dark_pedestal_of_integer_noise_is_not_quantised(rng):
    image = np.rint(rng.normal(500.0, 2.2, (512, 512)))
    found_pedestal, found_sigma = dark_pedestal(image)
    assert abs(found_pedestal - 500.0) <= 1
    assert abs(found_sigma - np.hypot(2.2, np.sqrt(1 / 12))) < 0.05
    assert abs(robust_pedestal(image)[1] - 2.2) > 0.5  # the MAD of integers: a multiple of 1.4826 / 2
