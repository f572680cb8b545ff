"""The Segment dock (offscreen): shown for segments only, default range, projections, overlays, z-reversal,
ink prediction and cleaning a prediction into labels."""

import numpy as np
import pytest
import tifffile
from PySide6.QtWidgets import QFileDialog

from ccdstudio.gui.segment.jobs import default_count
from ccdstudio.gui.segment.overlays import INK, MASK, PREDICTION
from ccdstudio.imaging.morphology import CleanParams, clean_prediction
from ccdstudio.io import open_image
from ccdstudio.io.segment_window import default_window
from ccdstudio.jobs import run
from ccdstudio.simulate.segment import simulate_segment
from tests.gui.conftest import wait_opened


@pytest.fixture(scope="module")
def segment_dir(tmp_path_factory):
    """A generated 12-layer 128 x 160 segment with mask.png and inklabels.png."""
    return run(simulate_segment(tmp_path_factory.mktemp("seg") / "seg", layers=12, height=128, width=160, seed=0))


def open_segment(qtbot, window, folder):
    window.open_paths([str(folder)])
    wait_opened(qtbot, window)
    feature = window.features["segment"]
    qtbot.waitUntil(lambda: feature.default is not None, timeout=15000)
    return feature


def layers(folder) -> np.ndarray:
    return np.stack([tifffile.imread(p) for p in sorted((folder / "layers").glob("*.tif"))])


def test_dock_is_shown_for_segments_only(qtbot, window, segment_dir, tiff_file):
    dock = window.docks["segment"]
    window.open_paths([str(tiff_file)])
    wait_opened(qtbot, window)
    assert not dock.isVisible() and not dock.toggleViewAction().isEnabled()
    open_segment(qtbot, window, segment_dir)
    assert dock.isVisible() and dock.toggleViewAction().isEnabled()
    window.open_paths([str(tiff_file)])
    qtbot.waitUntil(lambda: window.document.source.format != "segment", timeout=15000)
    assert not dock.isVisible()


def test_default_range_is_centred_on_the_surface(qtbot, window, segment_dir):
    feature = open_segment(qtbot, window, segment_dir)
    with open_image(segment_dir) as source:
        expected = default_window(source, default_count(12))
    assert expected[1] - expected[0] + 1 == 6  # half of the 12 layers
    assert feature.layer_range() == expected
    assert f"layer {feature.default.surface}" in feature.panel.surface_label.text()


@pytest.mark.parametrize("mode", ["max", "mean", "std"])
def test_projection_shown_equals_numpy(qtbot, window, segment_dir, mode):
    feature = open_segment(qtbot, window, segment_dir)
    feature.set_layer_range(2, 8)
    feature.panel.mode.setCurrentIndex(feature.panel.mode.findData(mode))
    feature.panel.show_projection.click()
    qtbot.waitUntil(lambda: feature.showing_projection, timeout=15000)
    stack = layers(segment_dir)[2:9].astype(np.float64)
    expected = {"max": stack.max(0), "mean": stack.mean(0), "std": stack.std(0, ddof=1)}[mode]
    shown = window.viewer._plane.source.read(0)
    np.testing.assert_allclose(shown, expected, rtol=1e-5, atol=1e-3)
    assert mode in window.plane_label.text()
    # overlays stay over the projection; unchecking shows the layer again without a new document
    assert MASK.name in window.viewer.overlay_names()
    document = window.document
    feature.panel.show_projection.click()
    assert not feature.showing_projection
    assert window.viewer._plane.source is document.source and window.document is document


def table_values(window) -> np.ndarray:
    table = window.pixel_table.table
    return np.array([[float(table.item(i, j).text()) for j in range(table.columnCount())]
                     for i in range(table.rowCount())])


def test_pixel_table_shows_the_projection_while_it_is_shown(qtbot, window, segment_dir):
    feature = open_segment(qtbot, window, segment_dir)
    window.docks["pixels"].show()
    window.pixel_table.size.setCurrentText("3 x 3")
    feature.set_layer_range(2, 8)
    feature.panel.mode.setCurrentIndex(feature.panel.mode.findData("std"))
    feature.panel.show_projection.click()
    qtbot.waitUntil(lambda: feature.showing_projection, timeout=15000)
    window.viewer.cursorMoved.emit(40, 60)
    stack = layers(segment_dir).astype(np.float64)
    expected = stack[2:9, 39:42, 59:62].std(0, ddof=1)
    np.testing.assert_allclose(table_values(window), expected, rtol=1e-5)
    assert window.value_label.text().endswith("(std)")
    # Back to the layer: the table shows the layer under the same cursor without it moving.
    feature.panel.show_projection.click()
    np.testing.assert_array_equal(table_values(window), stack[window.document.view_plane, 39:42, 59:62])


def test_moving_the_layer_slider_leaves_the_projection(qtbot, window, segment_dir):
    feature = open_segment(qtbot, window, segment_dir)
    feature.panel.show_projection.click()
    qtbot.waitUntil(lambda: feature.showing_projection, timeout=15000)
    window.plane_bar.step(1)
    qtbot.waitUntil(lambda: window.worker is None and not feature.showing_projection, timeout=15000)
    assert not feature.panel.show_projection.isChecked()
    assert window.viewer._plane.source is window.document.source
    assert MASK.name in window.viewer.overlay_names()  # put back after the window replaced the overlays


def test_mask_dims_outside_and_ink_labels_overlay(qtbot, window, segment_dir):
    feature = open_segment(qtbot, window, segment_dir)
    assert feature.overlay_names() == [MASK.name, INK.name]
    overlay = window.viewer.overlay(MASK.name)
    from PIL import Image

    inside = overlay.source.read(overlay.plane) != 0
    assert 0 < inside.mean() < 1
    np.testing.assert_array_equal(inside, np.asarray(Image.open(segment_dir / "mask.png")) != 0)
    assert tuple(overlay.lut[0]) == (0, 0, 0, 255)  # outside: opaque black, scaled by the opacity
    assert overlay.lut[1:, 3].max() == 0  # inside: transparent
    assert overlay.visible and overlay.opacity == pytest.approx(MASK.opacity)
    feature.panel.overlay_sliders[MASK.name].setValue(30)
    assert window.viewer.overlay(MASK.name).opacity == pytest.approx(0.3)
    feature.panel.overlay_checks[INK.name].setChecked(True)
    assert window.viewer.overlay(INK.name).visible
    feature.panel.overlay_checks[MASK.name].setChecked(False)
    assert not window.viewer.overlay(MASK.name).visible


def test_z_reversal_reopens_the_segment_reversed(qtbot, window, segment_dir):
    feature = open_segment(qtbot, window, segment_dir)
    feature.panel.reverse.setChecked(True)
    qtbot.waitUntil(lambda: window.worker is None and window.document.source.metadata["reversed"], timeout=15000)
    source = window.document.source
    assert source.planes[0].name == "layer 11"
    assert feature.panel.reverse.isChecked()


def test_found_prediction_is_offered_and_cleaned_into_labels(qtbot, window, segment_dir, tmp_path, monkeypatch):
    import shutil

    from ccdstudio.io.write import write_png

    folder = tmp_path / "seg"
    shutil.copytree(segment_dir, folder)
    rng = np.random.default_rng(0)
    probability = rng.integers(0, 150, (128, 160)).astype(np.uint8)
    probability[rng.random((128, 160)) < 0.005] = 255  # isolated speckle, removed by the minimum size
    probability[40:60, 50:90] = 230  # one big ink blob
    write_png(folder / "seg_prediction.png", probability)
    feature = open_segment(qtbot, window, folder)
    check = feature.panel.overlay_checks[PREDICTION.name]
    assert check.isEnabled() and not check.isChecked()
    assert "seg_prediction.png" in feature.panel.prediction_label.text()

    accepted = []
    editor = window.features["labels"]
    monkeypatch.setattr(editor, "accept_labels", lambda labels, classes, title, merge=False:
                        accepted.append((labels, classes, title)))
    panel = feature.panel
    panel.threshold.setValue(200)
    panel.dilate.setValue(1)
    panel.min_size.setValue(30)
    panel.clean_button.click()
    qtbot.waitUntil(lambda: bool(accepted), timeout=15000)
    labels, classes, _ = accepted[0]
    expected = clean_prediction(probability, CleanParams(threshold=200, dilate=1, min_size=30))
    np.testing.assert_array_equal(labels, expected.astype(np.uint8))
    assert labels[50, 70] == 1 and 0.03 < labels.mean() < 0.2  # the blob (grown by one), not the speckle
    assert classes.names == ["background", "ink"]
    assert PREDICTION.name in window.viewer.overlay_names() and check.isChecked()


def test_predict_ink_asks_where_then_writes_and_shows_the_prediction(qtbot, window, segment_dir, tmp_path,
                                                                    monkeypatch):
    import shutil

    import torch

    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.modelfile import ModelInfo, save_model
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.unet import UNet, UNetConfig

    folder = tmp_path / "seg"
    shutil.copytree(segment_dir, folder)
    torch.manual_seed(0)
    config = UNetConfig(4, 2, depth=2, base=4)
    info = ModelInfo(config, ClassSet.preset("ink"), Normalization("percentile"), 64, 0.5, training={})
    model = tmp_path / "ink.safetensors"
    save_model(model, UNet(config).eval(), info)
    feature = open_segment(qtbot, window, folder)
    out = tmp_path / "predictions"
    out.mkdir()
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(model), ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: asked.append(a) or str(out))
    feature.choose_model_and_predict()  # the 6-layer range is narrowed to the model's 4, centred
    qtbot.waitUntil(lambda: feature.prediction is not None, timeout=60000)
    written = out / "seg_prediction.png"
    assert asked and written.is_file() and (out / "seg_predicted_inklabels.png").is_file()
    assert not list(folder.glob("*prediction*"))  # the segment folder is left alone
    from PIL import Image

    np.testing.assert_array_equal(np.asarray(Image.open(written)), feature.prediction)
    assert PREDICTION.name in window.viewer.overlay_names()
    assert "4 layers" in feature.panel.prediction_label.text()
