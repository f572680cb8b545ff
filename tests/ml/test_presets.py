"""Training presets: the bundled CCD and ink recipes' settings, cached simulated data (frames and segments),
and `train --preset` end to end; and the dark-block pedestal the CCD preset normalises with."""

import dataclasses

import numpy as np
import pytest
import tifffile
import torch

from ccdstudio.cli import main
from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.jobs import run
from ccdstudio.ml import presets
from ccdstudio.ml.modelfile import read_info
from ccdstudio.ml.normalize import dark_pedestal
from ccdstudio.ml.presets import (
    Preset,
    SimulatedSegments,
    SimulatedSet,
    get_preset,
    prepare_data,
)

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


@pytest.fixture
def tiny_ink(monkeypatch):
    base = get_preset("ink-default")
    config = dataclasses.replace(base.config, epochs=1, crop=32, batch_size=4, samples_per_epoch=4, tile=64)
    preset = dataclasses.replace(base, name="tiny-ink", data=(SimulatedSegments(2, 10, (128, 128), seed=7),),
                                 architecture={"depth": 2, "base": 4}, config=config, window=4)
    monkeypatch.setitem(presets.PRESETS, "tiny-ink", preset)
    return preset


def test_the_bundled_recipe():
    preset = get_preset("ccd-default")
    assert preset.classes == "ccd" and preset.normalization.method == "ccd"
    assert preset.normalization.pedestal == "dark"
    assert all(part.noise == (2.0, 30.0) for part in preset.data)
    # The frames ccd-unet-v1 was trained on: hot defects' trails background, the cache's name as then.
    assert [part.name for part in preset.data] == ["ccd-40x1024x1024-seed1000-noise2-30"]
    assert not any(part.hot_trails for part in preset.data)
    assert len(preset.config.class_weights) == 4
    with pytest.raises(CcdstudioError, match="ccd-default"):
        get_preset("nope")


def test_data_is_simulated_once_then_reused(tiny, tmp_path):
    folders = run(prepare_data(tiny, tmp_path))
    assert folders == [tmp_path / "ccd-2x64x96-seed5-noise2-30-hot-trails"]
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


def test_the_ink_recipe():
    preset = get_preset("ink-default")
    assert preset.classes == "ink" and preset.normalization.method == "percentile"
    assert preset.window == 16 and preset.config.loss == "bce+dice"
    assert [(part.count, part.layers) for part in preset.data] == [(3, 65)]  # Vesuvius-like 65-layer stacks


def test_segments_are_simulated_once_then_reused(tiny_ink, tmp_path):
    paths = run(prepare_data(tiny_ink, tmp_path))
    folder = tmp_path / "ink-2x10x128x128-seed7"
    assert paths == [folder / "segment_00", folder / "segment_01"]
    layers = sorted(paths[1].glob("layers/*.tif"))
    assert len(layers) == 10 and (paths[1] / "inklabels.png").is_file()
    stamps = [p.stat().st_mtime_ns for p in layers]
    assert run(prepare_data(tiny_ink, tmp_path)) == paths
    assert [p.stat().st_mtime_ns for p in layers] == stamps
    first, second = (np.asarray(tifffile.imread(p / "layers" / "05.tif")) for p in paths)
    assert not np.array_equal(first, second)  # each segment has its own seed


def test_train_with_the_ink_preset_records_the_surface_window(tiny_ink, tmp_path):
    out = tmp_path / "ink.safetensors"
    assert main(["train", "--preset", "tiny-ink", "--cache", str(tmp_path / "cache"), "--device", "cpu", "--quiet",
                 "--out", str(out)]) == 0
    info = read_info(out)
    assert info.classes.names == ["background", "ink"] and info.architecture.in_channels == 4
    window = info.training["layer_window"]
    assert window["count"] == 4 and window["centred_on"] == "surface" and len(window["images"]) == 2
    # The simulator puts the surface near the middle of the 10 layers (4.5, undulating by about a layer).
    assert all(first <= surface <= last and 3 <= surface <= 6 for first, last, surface in window["images"].values())
    assert info.training["config"]["loss"] == "bce+dice"


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
