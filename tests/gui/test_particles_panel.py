"""The Particles dock end to end (offscreen): preview, apply, morphology with undo, the Results
table against the core, centring on a particle, CSV and mask export, labels hand-over."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from scipy import ndimage

from ccdstudio.gui import settings
from ccdstudio.imaging.particles import ParticleOptions, analyze_particles
from ccdstudio.imaging.threshold import sigma_threshold
from tests.gui.conftest import wait_opened

PEDESTAL, NOISE = 1000.0, 5.0


def frame(rng) -> np.ndarray:
    """A 90 x 120 CCD-like frame: noise over a pedestal, three clusters and a hot column."""
    image = np.round(rng.normal(PEDESTAL, NOISE, (90, 120))).astype(np.float32)
    image[20:24, 30:35] += 200.0  # a 4 x 5 cluster
    image[22, 35] += 20.0  # a 4-sigma neighbour that only the grow level keeps
    image[60:63, 80:82] += 300.0  # a 3 x 2 cluster
    image[5, 100] += 500.0  # a single hot pixel
    image[40:70, 10] += 120.0  # a hot column segment, 30 px long
    return image


@pytest.fixture
def ccd_file(tmp_path, rng):
    from astropy.io import fits

    image = frame(rng)
    path = tmp_path / "clusters.fits"
    fits.PrimaryHDU(image).writeto(path)
    return path, image


def opened(qtbot, window, path):
    """Open ``path`` with only the Results dock showing, so the view is wide whatever other features add."""
    window.resize(1400, 900)
    for key, dock in window.docks.items():
        dock.setVisible(key == "results")
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    return window.features["particles"]


def wait_job(qtbot, window):
    qtbot.waitUntil(lambda: window.worker is None, timeout=15000)


def preview_pixels(feature) -> int:
    image = feature.preview.item.image
    return -1 if image is None else int(np.count_nonzero(image))


def test_preview_appears_and_follows_the_slider(qtbot, window, ccd_file, errors):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    panel = feature.dock.threshold
    panel.method.setCurrentIndex(panel.method.findData("pedestal"))
    panel.k.setValue(5.0)
    panel.preview.setChecked(True)
    qtbot.waitUntil(lambda: preview_pixels(feature) > 0, timeout=10000)
    assert feature.preview.item.isVisible()
    strict = preview_pixels(feature)
    panel.k.slider.setValue(panel.k.slider.value() // 2)  # 2.5 sigma: noise pixels join in
    assert preview_pixels(feature) > strict  # redrawn at once from the screen data, no read
    assert 0 < feature.preview.last_ms < 1000
    panel.preview.setChecked(False)
    assert not feature.preview.item.isVisible()
    assert errors == []


def test_preview_is_exact_at_full_resolution(qtbot, window, ccd_file):
    path, image = ccd_file
    feature = opened(qtbot, window, path)
    panel = feature.dock.threshold
    panel.method.setCurrentIndex(panel.method.findData("manual"))
    panel.open_high.setChecked(True)
    panel.low.setValue(1100.0)
    window.viewer.zoom_actual()  # one plane pixel per screen pixel: blocks of 1
    panel.preview.setChecked(True)
    qtbot.waitUntil(lambda: feature.preview.data is not None and feature.preview.data.factor == 1
                    and preview_pixels(feature) > 0, timeout=10000)
    x0, y0, x1, y1 = feature.preview.data.rect
    assert np.array_equal(feature.preview.item.image.astype(bool), image[y0:y1, x0:x1] >= 1100.0)


def test_apply_gives_the_two_level_cluster_mask(qtbot, window, ccd_file):
    path, image = ccd_file
    feature = opened(qtbot, window, path)
    panel = feature.dock.threshold
    panel.method.setCurrentIndex(panel.method.findData("pedestal"))
    panel.k.setValue(5.0)
    panel.two_levels.setChecked(True)
    panel.k_low.setValue(3.0)
    panel.apply_button.click()
    wait_job(qtbot, window)
    expected = sigma_threshold(image, 5.0, 3.0).mask
    assert np.array_equal(feature.history.mask, expected)
    assert feature.history.mask[22, 35]  # grown from the cluster at 4 sigma
    assert "threshold mask" in window.viewer.overlay_names()
    assert json.loads(settings.settings().value("particles/rule"))["k_low"] == 3.0


def test_manual_range_apply(qtbot, window, ccd_file):
    path, image = ccd_file
    feature = opened(qtbot, window, path)
    panel = feature.dock.threshold
    panel.method.setCurrentIndex(panel.method.findData("manual"))
    panel.open_high.setChecked(False)
    panel.low.setValue(1150.0)
    panel.high.setValue(1250.0)
    panel.apply_button.click()
    wait_job(qtbot, window)
    assert np.array_equal(feature.history.mask, (image >= 1150.0) & (image <= 1250.0))


def apply_sigma(qtbot, window, feature, k=5.0):
    panel = feature.dock.threshold
    panel.method.setCurrentIndex(panel.method.findData("pedestal"))
    panel.two_levels.setChecked(False)
    panel.k.setValue(k)
    panel.apply_button.click()
    wait_job(qtbot, window)
    return feature.history.mask.copy()


def test_morphology_steps_undo_and_redo(qtbot, window, ccd_file):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    thresholded = apply_sigma(qtbot, window, feature)
    masks = feature.dock.mask
    masks.size.setValue(1)
    masks.shape.setCurrentText("square")
    masks.buttons["Dilate"].click()
    wait_job(qtbot, window)
    dilated = ndimage.binary_dilation(thresholded, np.ones((3, 3), bool))
    assert np.array_equal(feature.history.mask, dilated)
    masks.min_size.setValue(10)
    masks.buttons["Remove smaller than"].click()
    wait_job(qtbot, window)
    labels, count = ndimage.label(dilated, np.ones((3, 3)))
    sizes = ndimage.sum(dilated, labels, range(1, count + 1))
    assert np.array_equal(feature.history.mask, np.isin(labels, 1 + np.flatnonzero(sizes >= 10)))
    assert feature.history.stack.count() == 3
    feature.history.stack.undo()
    assert np.array_equal(feature.history.mask, dilated)
    feature.history.stack.undo()
    assert np.array_equal(feature.history.mask, thresholded)
    feature.history.stack.redo()
    assert np.array_equal(feature.history.mask, dilated)
    masks.buttons["Invert"].click()
    wait_job(qtbot, window)
    assert np.array_equal(feature.history.mask, ~dilated)
    assert feature.history.stack.count() == 3  # the undone step was replaced


def test_keep_line_objects_keeps_the_hot_column_and_pixel(qtbot, window, ccd_file):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    apply_sigma(qtbot, window, feature, k=8.0)
    feature.dock.mask.buttons["Keep line objects"].click()
    wait_job(qtbot, window)
    mask = feature.history.mask
    assert mask[40:70, 10].all() and mask[5, 100]
    assert not mask[20:24, 30:35].any() and not mask[60:63, 80:82].any()


def analyze(qtbot, window, feature):
    feature.dock.particles.analyze.click()
    wait_job(qtbot, window)
    return feature.result


def test_results_table_equals_analyze_particles(qtbot, window, ccd_file):
    path, image = ccd_file
    feature = opened(qtbot, window, path)
    mask = apply_sigma(qtbot, window, feature)
    feature.dock.particles.size.setText("2-Infinity")
    result = analyze(qtbot, window, feature)
    from ccdstudio.imaging.threshold import robust_background

    pedestal, _ = robust_background(image)
    expected = analyze_particles(mask, image, ParticleOptions(min_size=2, pedestal=pedestal)).table
    model = feature.results.model
    assert model.rowCount() == len(expected) == 3  # two clusters and the column; the lone hot pixel is too small
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] == expected.names
    for name in ("Area", "X", "Y", "BX", "Width", "energy_adu"):
        np.testing.assert_allclose(result.table[name], expected[name])
    area_column = expected.names.index("Area")
    assert model.index(0, area_column).data() == str(int(expected["Area"][0])) or \
        float(model.index(0, area_column).data()) == expected["Area"][0]
    assert "Count 3" in feature.results.summary.text()
    assert "particles" in window.viewer.overlay_names()


def test_sorting_and_selecting_rows_marks_particles(qtbot, window, ccd_file):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    apply_sigma(qtbot, window, feature)
    result = analyze(qtbot, window, feature)
    view, model = feature.results.view, feature.results.model
    column = result.table.names.index("Area")
    view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    largest = int(np.argmax(result.table["Area"]))
    assert model.table_row(0) == largest
    feature.results.select_rows([largest, 0])
    assert feature.results.selected_rows() == sorted({largest, 0})
    assert feature.selected_marks.count == len({largest, 0})
    rect = feature.selected_marks.item.path().boundingRect()
    bx, by = result.table["BX"][largest], result.table["BY"][largest]
    assert rect.left() <= bx and rect.top() <= by


def test_clicking_a_row_centres_the_view_on_the_particle(qtbot, window, ccd_file):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    apply_sigma(qtbot, window, feature)
    result = analyze(qtbot, window, feature)
    row = int(np.argmax(result.table["Y"]))  # the 3 x 2 cluster at rows 60-62
    view = feature.results.view
    position = [feature.results.model.table_row(r) for r in range(len(result.table))].index(row)
    cell = view.visualRect(feature.results.model.index(position, 0)).center()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    x0, y0, x1, y1 = window.viewer.visible_rect()
    assert (x0 + x1) / 2 == pytest.approx(result.table["X"][row], abs=0.5)
    assert (y0 + y1) / 2 == pytest.approx(result.table["Y"][row], abs=0.5)
    assert (x0 + x1) / 2 == pytest.approx(81.0) and (y0 + y1) / 2 == pytest.approx(61.5)  # by hand: cols 80-81
    outline = feature.focus_marks.item.path().boundingRect()
    assert (outline.left(), outline.top(), outline.width(), outline.height()) == (80, 60, 2, 3)


def test_export_csv_and_masks(qtbot, window, ccd_file, tmp_path):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    apply_sigma(qtbot, window, feature)
    result = analyze(qtbot, window, feature)
    csv = tmp_path / "results.csv"
    feature.export_csv(csv)
    text = csv.read_text()
    assert text.startswith(" ,Area,Mean,")
    assert text == result.table.to_csv_text()
    assert len(text.splitlines()) == len(result.table) + 1
    import tifffile
    from PIL import Image

    feature.save_mask(tmp_path / "mask.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "mask.png")) > 0, result.masks)
    feature.save_mask(tmp_path / "count.tif")
    assert np.array_equal(tifffile.imread(tmp_path / "count.tif"), result.count_mask)


class FakeLabels:
    """Stands in for the labels feature: holds a map and records what it is given."""

    def __init__(self, shape):
        from ccdstudio.labels.classes import ClassSet

        self.labels = np.zeros(shape, np.uint8)
        self.labels[0, 0] = 1
        self.classes = ClassSet.preset("ccd")
        self.accepted = []

    def current_labels(self):
        return self.labels, self.classes

    def accept_labels(self, labels, classes, title):
        self.accepted.append((labels, classes, title))


def test_particles_and_defects_go_to_the_labels_feature(qtbot, window, ccd_file):
    path, image = ccd_file
    feature = opened(qtbot, window, path)
    fake = window.features["labels"] = FakeLabels(image.shape)
    apply_sigma(qtbot, window, feature)
    result = analyze(qtbot, window, feature)
    cluster = fake.classes.index("cluster")
    feature.results.label_class.setCurrentIndex(feature.results.label_class.findData(cluster))
    feature.results.labels_button.click()
    labels, _, title = fake.accepted[-1]
    assert labels[0, 0] == 1  # the existing labels are kept
    assert np.array_equal(labels == cluster, result.masks)
    assert "cluster" in title
    feature.dock.mask.max_size.setValue(25)
    feature.dock.mask.buttons["defects"].click()
    wait_job(qtbot, window)
    labels, _, _ = fake.accepted[-1]
    hot = fake.classes.index("hot_pixel")
    assert labels[40:70, 10].tolist() == [hot] * 30 and labels[5, 100] == hot
    assert (labels[20:24, 30:35] == cluster).all() and (labels[60:63, 80:82] == cluster).all()


def test_rules_and_clean_recipe(qtbot, window, ccd_file):
    path, image = ccd_file
    feature = opened(qtbot, window, path)
    fake = window.features["labels"] = FakeLabels(image.shape)
    recipes = feature.dock.recipes
    recipes.add_rule(1100.0, 1250.0, 3)
    recipes.add_rule(1250.0, 1e9, 2)
    recipes.rulesRequested.emit(recipes.rule_list())
    wait_job(qtbot, window)
    labels, _, title = fake.accepted[-1]
    expected = np.zeros(image.shape, np.uint8)
    expected[(image >= 1100) & (image <= 1250)] = 3
    expected[image >= 1250] = 2
    assert np.array_equal(labels, expected) and title == "Intensity rules"

    recipes.threshold.setValue(1100.0)
    recipes.dilate.setValue(1)
    recipes.min_size.setValue(40)
    recipes.invert.setChecked(False)
    recipes.clean_button.click()
    wait_job(qtbot, window)
    disk = ndimage.generate_binary_structure(2, 1)  # a disk of radius 1 is the 4-neighbour cross
    grown = ndimage.binary_dilation(image >= 1100, disk)
    lab, count = ndimage.label(grown, np.ones((3, 3)))
    sizes = ndimage.sum(grown, lab, range(1, count + 1))
    assert np.array_equal(feature.history.mask, np.isin(lab, 1 + np.flatnonzero(sizes >= 40)))
    assert float(settings.settings().value("particles/clean/min_size")) == 40


def test_analyze_without_mask_says_why(qtbot, window, ccd_file, errors):
    path, _ = ccd_file
    feature = opened(qtbot, window, path)
    feature.analyze()
    assert errors and "threshold" in errors[0][1].lower()
    feature.dock.threshold.method.setCurrentIndex(feature.dock.threshold.method.findData("pedestal"))
    apply_sigma(qtbot, window, feature)
    feature.dock.particles.size.setText("ten-twenty")
    feature.analyze()
    assert "range like" in errors[-1][1]


def test_results_show_whole_numbers_plain_as_imagej_does(qtbot):
    from ccdstudio.gui.analysis.results_model import ResultsModel
    from ccdstudio.imaging.table import Table

    model = ResultsModel()
    model.set_table(Table({"Area": np.array([37975.0, 2.0]), "Mean": np.array([12.34567, 3.0]),
                           "Calibrated": np.array([0.5, 2.0]), "Count": np.array([3, 4])}))
    shown = [[model.data(model.index(r, c)) for c in range(4)] for r in range(2)]
    assert shown == [["37975", "12.346", "0.500", "3"], ["2", "3.000", "2.000", "4"]]


def test_a_mosaic_is_thresholded_against_each_amplifiers_pedestal():
    from ccdstudio.gui.analysis.engine import ThresholdEngine
    from ccdstudio.gui.analysis.rule import ThresholdRule
    from ccdstudio.io.ccd import MosaicSource
    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import run

    rng = np.random.default_rng(4)
    planes = [rng.normal(1000, 2, (30, 40)).astype(np.float32), rng.normal(1100, 2, (30, 40)).astype(np.float32)]
    planes[0][5, 5] += 50  # 25 sigma over its amplifier's pedestal, below the other's
    headers = [{"DATASEC": "[1:40,1:30]", "DETSEC": "[1:40,1:30]"}, {"DATASEC": "[1:40,1:30]", "DETSEC": "[41:80,1:30]"}]
    engine = ThresholdEngine(MosaicSource(ArraySource(planes, headers=headers)), 0)
    mask = run(engine.full_mask(ThresholdRule(method="pedestal", k=5.0)))
    assert mask[5, 5] and mask.sum() < 5  # not the whole brighter amplifier
