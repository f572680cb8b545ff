"""The Train panel's presets and defaults: consistent with the ml.presets recipes, simulated data made by
those recipes into the shared cache, the form following the open document (Ink and the open segment for a
scroll segment, CCD for a frame) until the user changes it, and fine-tuning the Predict model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ccdstudio.gui.ml.training import (
    MODEL_SIZES,
    PRESETS,
    TrainSettings,
    from_recipe,
    init_fits,
    prepare_data,
    simulation_recipe,
    train_command,
)
from ccdstudio.errors import CcdstudioError
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml import presets as recipes
from ccdstudio.ml.modelfile import ModelInfo, read_info, save_model
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.unet import UNet, UNetConfig
from ccdstudio.paths import cache_dir
from tests.gui.conftest import wait_opened
from tests.gui.ml_fixtures import write_frames

pytestmark = pytest.mark.usefixtures("no_questions")


@pytest.fixture(scope="module")
def segment_dir(tmp_path_factory):
    """A generated 20-layer 96 x 128 segment with mask.png and inklabels.png."""
    from ccdstudio.simulate.segment import simulate_segment

    return run(simulate_segment(tmp_path_factory.mktemp("seg") / "seg", layers=20, height=96, width=128, seed=0))


def write_model(path, classes: str, in_channels: int, base: int = 4):
    """An untrained U-Net file (depth 2, width ``base``) for ``classes`` and ``in_channels``."""
    names = ClassSet.preset(classes)
    arch = UNetConfig.from_dict({"in_channels": in_channels, "n_classes": len(names), "depth": 2, "base": base})
    method = "ccd" if classes == "ccd" else "percentile"
    save_model(path, UNet(arch), ModelInfo(arch, names, Normalization(method)))
    return path


@pytest.mark.parametrize("name, recipe", [("CCD", "ccd-default"), ("Ink", "ink-default")])
def test_the_presets_follow_the_ml_recipes(name, recipe):
    gui, ml = PRESETS[name], recipes.get_preset(recipe)
    arch = MODEL_SIZES[gui.model_size]
    assert (arch["depth"], arch["base"]) == (ml.architecture["depth"], ml.architecture["base"])
    assert gui.classes == ml.classes and gui.layers == str(ml.window or "")
    assert (gui.crop, gui.batch_size, gui.lr, gui.loss) == (ml.config.crop, ml.config.batch_size, ml.config.lr,
                                                            ml.config.loss)
    # the simulator a preset trains on is its recipe's, seed and noise included
    made = simulation_recipe(gui).data[0]
    assert type(made) is type(ml.data[0]) and made.seed == ml.data[0].seed
    assert made.shape == (gui.simulate_size, gui.simulate_size) and made.count == gui.simulate_count


def test_the_ccd_preset_keeps_the_recipes_post_processing_where_the_data_allow_it(toy_ccd_data):
    from ccdstudio.gui.ml.training import train_config

    steps = ("hot_lines", "glow_edge", "faint_clusters", "dark_counts", "lone_deposits", "empty_clusters")
    assert PRESETS["CCD"].extra["postprocess"] == recipes.get_preset("ccd-default").config.postprocess == steps
    ccd, other = toy_ccd_data
    assert train_config(PRESETS["CCD"], ccd).postprocess == steps
    assert train_config(PRESETS["CCD"], other).postprocess == ()  # the user's own classes: no cluster class
    assert train_config(PRESETS["Ink"], other).postprocess == ()


def test_the_subprocess_command_asks_for_the_recipes_post_processing_where_it_can(tmp_path):
    from ccdstudio.cli import build_parser
    from ccdstudio.ml.data import DataSpec

    fits, tiff = DataSpec(tmp_path / "a.fits", tmp_path / "a_labels.fits"), DataSpec(tmp_path / "a.tif", None)

    def steps(settings, specs):
        command = train_command(settings, specs, processes=2)
        return build_parser().parse_args(command[command.index("ccdstudio") + 1:]).postprocess

    ccd = replace(PRESETS["CCD"], source="folder", folders=("x",), out=str(tmp_path / "m.safetensors"))
    assert steps(ccd, [fits]) == ["hot_lines", "glow_edge", "faint_clusters", "dark_counts", "lone_deposits",
                                  "empty_clusters"]
    assert steps(ccd, [tiff]) == []  # percentile normalisation
    assert steps(replace(ccd, classes="background,cluster"), [fits]) == ["faint_clusters", "dark_counts",
                                                                         "empty_clusters"]  # all they need
    assert steps(replace(ccd, classes=""), [fits]) == []  # the labels' own classes: unknown before loading


def test_the_form_carries_the_presets_post_processing(qtbot):
    from ccdstudio.gui.ml.train_form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    assert form.settings().extra == {"postprocess": ("hot_lines", "glow_edge", "faint_clusters", "dark_counts",
                                                     "lone_deposits", "empty_clusters")}
    form.apply_preset("Ink")
    assert form.settings().extra == {}


@pytest.fixture
def toy_ccd_data(tmp_path):
    """Training data with the ccd classes, and with other classes."""
    import numpy as np

    from ccdstudio.labels.io import save_labels
    from ccdstudio.ml.data import find_pairs
    from ccdstudio.ml.train import load_data
    from tests.ml.conftest import CLASSES, toy_frame, write_pair

    rng = np.random.default_rng(0)
    image, labels = toy_frame(rng)
    write_pair(tmp_path / "ccd", "f", image, None)
    save_labels(tmp_path / "ccd" / "f_labels.fits", labels, ClassSet.preset("ccd"))
    write_pair(tmp_path / "other", "f", image, labels)
    load = [load_data(find_pairs([tmp_path / name]), crop=32, val_split=0.0) for name in ("ccd", "other")]
    assert load[1].classes == CLASSES
    return load


def test_a_recipe_network_the_panel_cannot_name_is_an_error(monkeypatch):
    recipe = recipes.get_preset("ccd-default")
    deep = replace(recipe, architecture={**recipe.architecture, "depth": 7})
    monkeypatch.setitem(recipes.PRESETS, "ccd-default", deep)
    with pytest.raises(CcdstudioError, match="none of the panel's model sizes"):
        from_recipe("ccd-default")
    assert from_recipe("ink-default", epochs=3).epochs == 3


def test_ink_is_the_laptop_sized_ink_default_recipe_on_its_own_cached_segments():
    ink = PRESETS["Ink"]
    assert ink.epochs == 10 and ink.crop == 128 and ink.layers == "16" and ink.loss == "bce+dice"
    assert MODEL_SIZES[ink.model_size] == {"depth": 3, "base": 8}
    # the very segments `ccdstudio train --preset ink-default` simulates, so both find them in the cache
    assert simulation_recipe(ink).data == recipes.get_preset("ink-default").data


def test_simulated_segments_are_made_once_into_the_shared_cache():
    settings = TrainSettings(source="segment-simulator", simulate_count=1, simulate_size=64, classes="ink",
                             layers="16")
    job = prepare_data(settings)
    messages = []
    while True:
        try:
            messages.append(next(job).message)
        except StopIteration as done:
            specs = done.value
            break
    folder = cache_dir() / recipes.SimulatedSegments(1, 65, (64, 64), seed=2000).name / "segment_00"
    assert [s.image for s in specs] == [folder] and (folder / "inklabels.png").is_file()
    assert any("simulating" in m for m in messages)
    again = prepare_data(settings)
    assert not any("simulating" in event.message for event in again)  # found in the cache


def test_a_segment_opens_the_ink_preset_on_its_ink_labels_and_a_frame_the_ccd_one(qtbot, window, segment_dir,
                                                                                   tmp_path):
    form = window.features["train"].panel.form
    window.open_paths([str(segment_dir)])
    wait_opened(qtbot, window)
    settings = form.settings()
    assert form.preset.currentText() == "Ink" and settings.layers == "16" and settings.model_size == "compact"
    assert settings.source == "open-segment" and settings.segment == str(segment_dir)
    assert segment_dir.name in form.source.currentText()
    frame = write_frames(tmp_path / "frames", 1)[0]
    window.open_paths([str(frame)])
    wait_opened(qtbot, window)
    settings = form.settings()
    assert form.preset.currentText() == "CCD" and settings.source == "simulator" and settings.layers == ""
    assert not form.source.model().item(form.source.findData("open-segment")).isEnabled()
    # once the user changed something, opening another document leaves the form alone
    form.epochs.setValue(3)
    window.open_paths([str(segment_dir)])
    wait_opened(qtbot, window)
    assert form.preset.currentText() == "CCD" and form.settings().epochs == 3
    assert form.source.model().item(form.source.findData("open-segment")).isEnabled()


def test_training_on_the_open_segment_makes_an_ink_model_of_its_layer_window(qtbot, window, segment_dir, tmp_path,
                                                                            errors):
    window.open_paths([str(segment_dir)])
    wait_opened(qtbot, window)
    feature = window.features["train"]
    form = feature.panel.form
    assert form.settings().source == "open-segment"
    form.model_size.setCurrentIndex(form.model_size.findData("tiny"))
    form.epochs.setValue(1)
    form.crop.setValue(32)
    form.device.setCurrentIndex(form.device.findData("cpu"))
    form.out.setText(str(tmp_path / "ink.safetensors"))
    assert not form.init_path()  # the bundled CCD model does not fit 16 layers and ink
    assert feature.start()
    qtbot.waitUntil(lambda: not feature.running, timeout=120000)
    assert not errors, errors
    info = read_info(tmp_path / "ink.safetensors")
    assert info.in_channels == 16 and info.classes.names == ["background", "ink"]
    assert info.training["images"] == [str(segment_dir)] and info.training["layer_window"]["count"] == 16


def test_the_predict_model_is_the_start_when_it_fits_the_data(qtbot, window, tmp_path):
    ccd = write_model(tmp_path / "ccd-small.safetensors", "ccd", 1)
    ink = write_model(tmp_path / "ink-small.safetensors", "ink", 16)
    form = window.features["train"].panel.form
    picker = window.features["predict"].panel.picker
    window.features["train"].refresh_project()
    form.apply_preset("CCD")
    picker.set_path(ccd, by_user=False)
    assert form.init.currentText() == "The Predict model (ccd-small)" and form.init_path() == str(ccd)
    assert not form.model_size.isEnabled()
    form.apply_preset("Ink")  # 16 layers and two classes: the CCD model does not fit
    assert form.init_path() == "" and form.model_size.isEnabled()
    picker.set_path(ink, by_user=False)
    assert form.init_path() == str(ink)
    assert init_fits(ink, form.settings()) and not init_fits(ccd, form.settings())
    # the user's choice stands, whatever fits
    form.init.setCurrentIndex(form.init.findData(""))
    form.init.activated.emit(form.init.currentIndex())
    picker.set_path(tmp_path / "ink-small.safetensors", by_user=False)
    form.apply_preset("Ink")
    assert form.init_path() == "" and form.model_size.isEnabled()


def test_fine_tuning_the_predict_model_from_the_panel(qtbot, window, tmp_path, errors):
    data = write_frames(tmp_path / "data", 2, seed=4)[0].parent
    start = write_model(tmp_path / "start.safetensors", "ccd", 1, base=4)
    window.features["train"].refresh_project()
    window.features["predict"].panel.picker.set_path(start, by_user=False)
    feature = window.features["train"]
    form = feature.panel.form
    out = tmp_path / "tuned.safetensors"
    form.apply(TrainSettings(source="folder", folders=(str(data),), classes="ccd", model_size="tiny", epochs=1,
                             batch_size=8, crop=32, lr=1e-3, val_split=0.2, out=str(out)))
    form.device.setCurrentIndex(form.device.findData("cpu"))
    assert form.settings().init == str(start)
    assert feature.start()
    qtbot.waitUntil(lambda: not feature.running, timeout=120000)
    assert not errors, errors
    info = read_info(out)
    # the architecture is the start model's (width 4), not the greyed-out size's (tiny: width 8)
    assert info.architecture.base == 4 and info.training["init"]["path"] == str(start)
    assert "fine-tuning start.safetensors" in feature.panel.log.toPlainText()
    assert feature.outcome.confusion is not None and feature.outcome.report


def test_the_subprocess_command_passes_the_init_model(tmp_path):
    from ccdstudio.cli import build_parser
    from ccdstudio.ml.data import DataSpec

    start = write_model(tmp_path / "start.safetensors", "ccd", 1)
    settings = TrainSettings(source="folder", folders=("x",), classes="ccd", init=str(start),
                             out=str(tmp_path / "m.safetensors"))
    command = train_command(settings, [DataSpec(tmp_path / "a.fits", tmp_path / "a_labels.fits")], processes=1)
    args = build_parser().parse_args(command[command.index("ccdstudio") + 1:])
    assert args.init == str(start) and args.model_config is None
