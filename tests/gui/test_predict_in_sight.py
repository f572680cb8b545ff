"""What a prediction shows stays in sight: started from the toolbar while another dock tab is in front, the
Predict dock comes forward and the status bar follows the run (its Cancel cancels it); the cluster table
is in the bottom stack, across the window, with its buttons beside it (above it in a narrow dock)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from astropy.io import fits
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QTabBar

from ccdstudio.gui.features import predict as predict_feature
from ccdstudio.gui.ml.results_panel import ResultsPanel
from ccdstudio.jobs import Progress, check
from tests.gui.conftest import wait_opened

LEFT = Qt.MouseButton.LeftButton


pytestmark = pytest.mark.usefixtures("no_questions")


@pytest.fixture
def slow_prediction(monkeypatch):
    """Predicting takes until cancelled, reporting its progress: 1 % every 20 ms (the ``errors`` fixture keeps
    the error of a run left to its end from waiting in a dialog)."""

    def predict_image(options, source, plane, pedestal=None, gain=None, cancel=None):
        for step in range(100):
            check(cancel)
            yield Progress(step / 100, f"tile {step + 1} of 100")
            time.sleep(0.02)
        raise AssertionError("the test should have cancelled the prediction")

    monkeypatch.setattr(predict_feature, "predict_image", predict_image)


def in_front(window, dock) -> bool:
    """Whether ``dock`` is the current tab of its stack (its tab bar's, as the user sees it)."""
    for bar in window.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if dock.windowTitle() in titles and bar.isVisible():
            return bar.tabText(bar.currentIndex()) == dock.windowTitle()
    return dock.isVisible()


@pytest.fixture
def opened(qtbot, window, tmp_path):
    path = tmp_path / "frame.fits"
    fits.PrimaryHDU(np.random.default_rng(1).normal(1000, 3, (64, 80)).astype(np.float32)).writeto(path)
    window.resize(1400, 900)
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    return window


def test_predict_from_the_toolbar_brings_the_predict_dock_forward_and_shows_progress(qtbot, opened,
                                                                                   slow_prediction, errors):
    window = opened
    feature = window.features["predict"]
    assert feature.panel.picker.path() is not None  # the bundled model is the default for FITS
    window.docks["display"].raise_()  # the Display tab in front of Predict
    QApplication.processEvents()
    dock = window.docks["predict"]
    assert not in_front(window, dock) and not window.progress.isVisibleTo(window)

    qtbot.mouseClick(window.toolbar.widgetForAction(feature.predict_action), LEFT)
    assert feature.running
    assert in_front(window, dock) and feature.panel.cancel_button.isVisible()
    qtbot.waitUntil(lambda: window.progress.value() >= 50, timeout=10000)  # the status bar follows the run
    assert window.progress.isVisibleTo(window) and window.cancel_button.isVisibleTo(window)
    assert "tile" in window.progress.format()

    qtbot.mouseClick(window.cancel_button, LEFT)  # the status bar's Cancel cancels the prediction
    qtbot.waitUntil(lambda: not feature.running, timeout=5000)
    assert feature.panel.status.text() == "Prediction cancelled"
    assert not window.progress.isVisibleTo(window) and not window.cancel_button.isVisibleTo(window)


def test_the_window_keeps_its_status_bar_for_its_own_jobs(qtbot, opened, slow_prediction, errors):
    """Opening another file while predicting: the window's job owns the bar, and its Cancel is the window's."""
    window = opened
    feature = window.features["predict"]
    feature.predict()
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=10000)
    worker = feature.worker
    window.run_job(lambda cancel: iter(()), "Loading", lambda result: None, "Cannot load")
    feature._progress(0.5, "tile 50 of 100")
    assert window.progress.format() != "tile 50 of 100"  # the window's job owns the bar now
    qtbot.waitUntil(lambda: window.worker is None, timeout=5000)
    assert feature.worker is worker and feature.running  # ending the window's job left the prediction alone
    feature.cancel()
    qtbot.waitUntil(lambda: not feature.running, timeout=5000)


def test_the_cluster_table_is_at_the_bottom_with_its_buttons_in_sight(qtbot, opened):
    window = opened
    dock = window.docks["prediction"]
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea  # the window's width
    dock.raise_()
    QApplication.processEvents()
    results = window.features["predict"].results
    table = QRect(results.table.mapTo(results, QPoint(0, 0)), results.table.size())
    for button in (results.accept_button, results.save_button, results.export_button):
        assert not QRect(button.mapTo(results, QPoint(0, 0)), button.size()).intersects(table)
        assert not button.visibleRegion().isEmpty(), button.text()  # not scrolled out of the dock
    assert not dock.widget().verticalScrollBar().isVisible()  # the strip holds the panel; only the table scrolls


def test_results_controls_sit_beside_the_table_when_wide_and_above_it_when_narrow(qtbot):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show()
    button, table, origin = panel.accept_button, panel.table, QPoint(0, 0)
    panel.resize(1400, 300)
    qtbot.waitUntil(lambda: button.mapTo(panel, origin).x() + button.width() <= table.mapTo(panel, origin).x())
    panel.resize(300, 700)  # as narrow as it goes
    qtbot.waitUntil(lambda: button.mapTo(panel, origin).y() + button.height() <= table.mapTo(panel, origin).y())
