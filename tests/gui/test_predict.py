"""Predict in the window: a tiny model over a small frame gives the overlay, legend, objects and cluster
table; cancel; the model picker and card; accept as labels; close during a prediction; event-loop latency."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from PySide6.QtCore import QPoint, Qt
from scipy import ndimage

from ccdstudio.gui.ml import confirm
from ccdstudio.gui.ml.devices import wait_warm
from ccdstudio.gui.ml.model_picker import default_model, recent_models, remember_model
from tests.gui.conftest import wait_opened
from tests.gui.latency import LatencyProbe
from tests.gui.ml_fixtures import CLASSES, toy_frame, train_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return train_tiny_model(tmp_path_factory.mktemp("tiny"))


pytestmark = pytest.mark.usefixtures("no_questions")


@pytest.fixture
def frame(tmp_path):
    """A 96 x 160 toy frame with its truth labels (clusters are class 3)."""
    image, labels = toy_frame(np.random.default_rng(7), (96, 160), blobs=10, hot=8)
    path = tmp_path / "frame.fits"
    fits.PrimaryHDU(image).writeto(path)
    return path, labels


def open_and_predict(qtbot, window, path, model):
    window.resize(1600, 1000)  # room for the image beside the docks
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    feature = window.features["predict"]
    feature.set_default_model(model)
    feature.predict_action.trigger()
    assert feature.running
    qtbot.waitUntil(lambda: not feature.running, timeout=30000)
    return feature


def test_predict_shows_overlay_legend_objects_and_cluster_table(qtbot, window, frame, tiny_model, errors):
    path, truth = frame
    feature = open_and_predict(qtbot, window, path, tiny_model)
    assert not errors
    result = feature.result
    assert result is not None and result.labels.shape == truth.shape
    # the tiny model finds the clusters: most truth cluster pixels are predicted cluster
    cluster = CLASSES.index("cluster")
    recall = (result.labels[truth == cluster] == cluster).mean()
    assert recall > 0.8
    assert result.pixels == {n: int((result.labels == i).sum()) for i, n in enumerate(CLASSES.names)}
    # overlay: class colours, background transparent
    overlay = window.viewer.overlay("prediction")
    assert tuple(overlay.lut[cluster]) == (*CLASSES.colors[cluster], 255) and overlay.lut[0, 3] == 0
    # legend: a check box per class, pixel counts shown
    assert [c.text() for c in feature.panel.class_checks] == CLASSES.names
    window.docks["predict"].raise_()
    checks, viewport = feature.panel.class_checks, feature.panel.legend_scroll.viewport()
    qtbot.waitUntil(lambda: all(check.isVisible() for check in checks))
    for check in checks:  # all four rows in sight, not one cut off
        top = check.mapTo(viewport, QPoint(0, 0)).y()
        assert 0 <= top and top + check.height() <= viewport.height(), check.text()
        assert check.height() >= check.sizeHint().height(), check.text()  # nor squeezed
    dock = window.docks["prediction"]
    assert not dock.visibleRegion().isEmpty()  # the results come forward
    # cluster table: one row per 8-connected predicted cluster, computed independently with scipy
    from scipy import ndimage

    _, count = ndimage.label(result.labels == cluster, np.ones((3, 3)))
    assert feature.results.table_model.rowCount() == count == len(result.objects["cluster"])
    assert feature.results.table_model.headerData(2, Qt.Orientation.Horizontal) == "energy (ADU)"  # no gain given
    assert feature.panel.status.text().startswith("Done in") and feature.panel.time_label.text() == ""  # once


def test_hiding_a_class_makes_it_transparent(qtbot, window, frame, tiny_model):
    feature = open_and_predict(qtbot, window, frame[0], tiny_model)
    cluster = CLASSES.index("cluster")
    feature.panel.class_checks[cluster].setChecked(False)
    assert window.viewer.overlay("prediction").lut[cluster, 3] == 0
    feature.panel.class_checks[cluster].setChecked(True)
    assert window.viewer.overlay("prediction").lut[cluster, 3] == 255
    feature.panel.opacity.setValue(20)
    assert window.viewer.overlay("prediction").opacity == pytest.approx(0.2)
    feature.panel.shown.setChecked(False)
    assert not window.viewer.overlay("prediction").visible
    feature.panel.shown.setChecked(True)
    assert window.viewer.overlay("prediction").visible


def test_navigation_and_table_clicks_centre_the_view(qtbot, window, frame, tiny_model):
    feature = open_and_predict(qtbot, window, frame[0], tiny_model)
    results = feature.results
    assert results.object_class.currentData() == "cluster"  # what a CCD user steps through first
    centres = feature.result.objects["cluster"]
    results.step(1)
    x0, y0, x1, y1 = window.viewer.visible_rect()
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx(tuple(centres[0]), abs=0.5)
    results.step(-1)  # wraps to the last
    x0, y0, x1, y1 = window.viewer.visible_rect()
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx(tuple(centres[-1]), abs=0.5)
    assert results.position_label.text() == f"{len(centres)} / {len(centres)}"
    # sort the table by pixels (ascending) and click the first row: the view centres on that cluster
    table = feature.result.clusters.table
    results.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    first = results.table_model.index(0, 0)
    results._row_clicked(first)
    row = int(np.argmin(table["npix"]))
    x0, y0, x1, y1 = window.viewer.visible_rect()
    assert (x0 + x1) / 2 == pytest.approx(table["X"][row], abs=0.5)
    assert (y0 + y1) / 2 == pytest.approx(table["Y"][row], abs=0.5)
    # DS9 coordinates in the table for a FITS frame: ImageJ X + 0.5
    x_col = [c.heading for c in results.table_model.columns].index("x")
    assert results.table_model.value(0, x_col) == pytest.approx(table["X"][row] + 0.5)
    pixels = [results.table_model.value(r, 1) for r in range(results.table_model.rowCount())]
    assert pixels == sorted(table["npix"].tolist())


def slow_prediction(qtbot, window, tmp_path, tiny_model):
    """The predict feature, set up on a 1024² noise frame with tiles of 64 px: many tiles, time to cancel."""
    image = np.random.default_rng(0).normal(1000, 3, (1024, 1024)).astype(np.float32)
    path = tmp_path / "big.fits"
    fits.PrimaryHDU(image).writeto(path)
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    feature = window.features["predict"]
    feature.set_default_model(tiny_model)
    feature.panel.tile.setValue(64)
    return feature


def test_cancel_stops_the_prediction(qtbot, window, tmp_path, tiny_model):
    feature = slow_prediction(qtbot, window, tmp_path, tiny_model)
    feature.predict()
    qtbot.waitUntil(lambda: feature.panel.progress.value() > 0, timeout=20000)
    feature.panel.cancel_button.click()
    qtbot.waitUntil(lambda: not feature.running, timeout=20000)
    assert feature.result is None and "cancelled" in feature.panel.status.text().lower()
    assert "prediction" not in window.viewer.overlay_names()


def test_model_picker_lists_recent_models_and_shows_the_card(qtbot, window, tiny_model, tmp_path):
    card = tiny_model.with_name(tiny_model.name.removesuffix(".safetensors") + ".md")
    card.write_text("Trained on toy frames for the tests.")
    try:
        picker = window.features["predict"].panel.picker
        picker.set_path(tiny_model)
        assert recent_models()[0] == tiny_model.resolve()
        text = picker.card.toPlainText()
        assert "background, glowing, hot_pixel, cluster" in text
        assert "1 channel" in text and "Trained on toy frames for the tests." in text
        assert "Validation" in text  # the best epoch's report from the model file
        items = [picker.combo.itemText(i) for i in range(picker.combo.count())]
        assert tiny_model.name in items and items[-1] == "Browse…"
    finally:
        card.unlink()


def test_default_model_last_used_for_ccd_frames_else_bundled_for_fits(tmp_path, tiny_model, monkeypatch):
    from ccdstudio.gui.ml import model_picker
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.modelfile import DEFAULT_MODEL, ModelInfo, save_model
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.unet import UNet, UNetConfig

    bundled = tmp_path / f"{DEFAULT_MODEL}.safetensors"
    bundled.write_bytes(tiny_model.read_bytes())
    monkeypatch.setattr(model_picker, "bundled", lambda: [bundled])
    remember_model(tiny_model)  # trained here on FITS frames: a CCD model, still the default after a restart
    assert default_model(is_fits=True) == default_model(is_fits=False) == tiny_model.resolve()
    config = UNetConfig(4, 2, depth=2, base=4)
    ink = tmp_path / "ink.safetensors"
    save_model(ink, UNet(config), ModelInfo(config, ClassSet.preset("ink"), Normalization("percentile"), 64, 0.5,
                                            training={}))
    remember_model(ink)  # a scroll model: FITS frames get the bundled CCD model
    assert default_model(is_fits=True) == bundled
    assert default_model(is_fits=False) == ink.resolve()


def test_a_bad_model_file_is_reported_not_raised(qtbot, window, frame, tmp_path, errors):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a model")
    window.open_paths([str(frame[0])])
    wait_opened(qtbot, window)
    feature = window.features["predict"]
    feature.set_default_model(bad)
    assert "Cannot read this model" in feature.panel.picker.card.toPlainText()
    feature.predict()
    qtbot.waitUntil(lambda: not feature.running, timeout=10000)
    assert errors and errors[0][0] == "Prediction failed" and "broken.safetensors" in errors[0][1]


def test_out_of_memory_is_reported_with_advice(qtbot, window, frame, tiny_model, errors, monkeypatch):
    from ccdstudio.gui.ml import prediction

    def exhausted(*args, **kwargs):
        raise MemoryError()
        yield  # a job

    monkeypatch.setattr(prediction, "scaled", exhausted)
    open_and_predict(qtbot, window, frame[0], tiny_model)
    assert errors and "ran out of memory" in errors[0][1] and "smaller tiles" in errors[0][1]


def test_accept_as_labels_hands_over_or_keeps_the_overlay(qtbot, window, frame, tiny_model):
    feature = open_and_predict(qtbot, window, frame[0], tiny_model)
    received = []

    class Labels:
        def accept_labels(self, labels, classes, title):
            received.append((labels, classes, title))

    window.features.pop("labels", None)
    assert not feature.accept_labels()
    assert "stays an overlay" in feature.results.summary.text()
    window.features["labels"] = Labels()
    assert feature.accept_labels()
    labels, classes, title = received[0]
    assert np.array_equal(labels, feature.result.labels) and classes == CLASSES and "tiny" in title
    # the labels show the prediction now: the overlay is hidden so it cannot mask corrections
    assert not window.viewer.overlay("prediction").visible and not feature.panel.shown.isChecked()


def test_closing_during_a_prediction_asks_and_cancels(qtbot, window, tmp_path, tiny_model, monkeypatch):
    feature = slow_prediction(qtbot, window, tmp_path, tiny_model)
    answers = [False, True]
    monkeypatch.setattr(confirm, "ask", lambda *args: answers.pop(0))
    feature.predict()
    qtbot.waitUntil(lambda: feature.worker.isRunning(), timeout=5000)
    assert not window.close() and feature.running  # "No": the window stays, the prediction goes on
    assert window.close()  # "Yes": cancelled and closed
    assert not feature.worker or not feature.worker.isRunning()


def test_the_window_stays_responsive_while_predicting_a_2048_frame(qtbot, window, tmp_path, tiny_model):
    image, _ = toy_frame(np.random.default_rng(3), (2048, 2048), blobs=400, hot=300)
    path = tmp_path / "frame2048.fits"
    fits.PrimaryHDU(image).writeto(path)
    window.resize(1600, 1000)
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    feature = window.features["predict"]
    feature.set_default_model(tiny_model)
    feature.panel.tile.setValue(512)
    assert wait_warm()  # the libraries load in the background while the window starts
    with LatencyProbe(qtbot) as probe:
        feature.predict()
        qtbot.waitUntil(lambda: not feature.running, timeout=120000)
        qtbot.waitSignal(window.viewer.rendered, timeout=10000)  # the overlay drawn, too
        qtbot.wait(200)
    assert feature.result is not None and feature.result.labels.shape == (2048, 2048)
    assert feature.results.table_model.rowCount() > 100
    assert probe.samples > 50
    assert probe.responsive(), probe.describe()


def test_a_hot_pixel_mask_decides_hot_pixels(qtbot, window, frame, tiny_model, errors, tmp_path):
    path, truth = frame
    feature = open_and_predict(qtbot, window, path, tiny_model)
    plain = feature.result.labels.copy()
    hot = CLASSES.index("hot_pixel")
    known = truth == hot
    mask = tmp_path / "hot_mask.npy"
    np.save(mask, known.astype(np.uint8))
    feature.panel.set_hot_mask(mask)
    assert feature.panel.hot_mask_button.text() == "hot_mask.npy"
    feature.predict_action.trigger()
    qtbot.waitUntil(lambda: not feature.running, timeout=30000)
    assert not errors
    labels = feature.result.labels
    assert known.any() and (labels[known] == hot).all()
    far = ~ndimage.maximum_filter(known, size=5)  # hot calls away from the mask are clusters
    assert not (labels[far] == hot).any() and ((labels != plain) <= (known | (plain == hot))).all()
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((8, 8), np.uint8))
    feature.panel.set_hot_mask(wrong)
    feature.predict_action.trigger()
    qtbot.waitUntil(lambda: not feature.running, timeout=30000)
    assert errors and errors[0][0] == "Prediction failed" and "hot-pixel mask is 8x8" in errors[0][1]
    feature.panel.hot_mask_clear.click()
    assert feature.panel.options(tiny_model).hot_mask is None


def test_a_mosaic_is_predicted_amplifier_by_amplifier_with_their_overscans(qtbot, window, tmp_path):
    """What the window predicts on a CCD of two amplifiers is what ``ccdstudio predict`` writes for it."""
    from ccdstudio.cli import main
    from ccdstudio.gui.document import MOSAIC
    from ccdstudio.io import open_image
    from ccdstudio.imaging.particles import ParticleOptions, analyze_particles
    from ccdstudio.imaging.threshold import amplifier_background
    from ccdstudio.io.ccd import MosaicSource
    from ccdstudio.jobs import run
    from ccdstudio.ml.infer import predict, predict_mosaic
    from ccdstudio.ml.modelfile import load_model, resolve_model

    assert main(["simulate", "ccd", "--out", str(tmp_path), "--height", "64", "--width", "128", "--amplifiers", "2",
                 "--overscan", "16", "--seed", "1", "--quiet"]) == 0
    path = tmp_path / "frame_0000.fits"
    feature = open_and_predict(qtbot, window, path, resolve_model(None))
    assert window.document.plane == MOSAIC
    model = load_model(resolve_model(None), "cpu")
    with open_image(path) as source:
        expected = run(predict_mosaic(model, source))
        assembled_first = run(predict(model, MosaicSource(source), planes=[0])).labels  # no overscans to read
    assert expected.planes == [0, 1] and feature.result.labels.shape == (64, 128)
    assert (assembled_first != expected.labels).sum() > 10  # this frame tells the two apart
    np.testing.assert_array_equal(feature.result.labels, expected.labels)
    with open_image(path) as source:  # the clusters' energies over each amplifier's own pedestal
        level = amplifier_background(source)[0]
        assert np.ptp(level) > 0
        image = MosaicSource(source).read().astype(np.float32)
    mask = expected.labels == CLASSES.names.index("cluster")
    energies = analyze_particles(mask, image, ParticleOptions(pedestal=level)).table["energy_adu"]
    shown = feature.result.clusters.table["energy_adu"]
    assert len(shown) > 0
    np.testing.assert_allclose(np.sort(shown), np.sort(energies), rtol=1e-6)


def test_with_a_gain_in_the_header_cluster_energies_are_in_kev(qtbot, window, tmp_path, tiny_model):
    image, _ = toy_frame(np.random.default_rng(7), (96, 160), blobs=10, hot=8)
    path = tmp_path / "gain.fits"
    fits.PrimaryHDU(image, fits.Header([("GAIN", 4.0, "[ADU/e-]")])).writeto(path)
    feature = open_and_predict(qtbot, window, path, tiny_model)
    assert not window.ccd_panel.electrons.isChecked()  # shown in ADU, measured in keV all the same
    table = feature.result.clusters.table
    assert feature.results.table_model.headerData(2, Qt.Orientation.Horizontal) == "energy (keV)"
    np.testing.assert_allclose(table["energy_kev"], table["energy_adu"] / 4.0 * 3.75 / 1000, rtol=1e-6)
