"""A fill of a large map runs in a worker thread: the window stays live, edits wait, one undo step lands."""

import threading

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from scipy import ndimage

from ccdstudio.gui.labels import tools
from ccdstudio.labels import paint
from ccdstudio.labels.stats import pixel_counts
from tests.gui.label_helpers import click, drag, image, open_for_labelling

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot, window, tmp_path, monkeypatch):
    """The 40 x 50 test image counts as a large map, so every fill on it goes to the worker thread."""
    monkeypatch.setattr(tools, "BACKGROUND_FILL_PIXELS", 1000)
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, image())
    editor = open_for_labelling(qtbot, window, path)
    labels = editor.session.labels
    labels[:, 20] = 3  # a wall: the fill left of it must stop there
    labels[5:8, 5:8] = 1  # an island inside the filled region keeps its class
    editor.session.counts[:] = pixel_counts(labels, 256)
    return editor


@pytest.fixture
def gate(monkeypatch):
    """Holds every fill until ``gate.set()``; ``gate.threads`` records whether each ran on the main thread."""
    gate = threading.Event()
    gate.threads = []
    real = paint.fill

    def held_fill(*args, **kwargs):
        gate.threads.append(threading.current_thread() is threading.main_thread())
        assert gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(paint, "fill", held_fill)
    return gate


def key(window, k, modifiers=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window, k, modifiers)


def expected_fill(labels: np.ndarray, seed: tuple[int, int], value: int) -> np.ndarray:
    """The 4-connected region of the seed's class set to ``value``, by scipy's labelling."""
    components, _ = ndimage.label(labels == labels[seed])
    out = labels.copy()
    out[components == components[seed]] = value
    return out


def test_large_fill_runs_off_the_ui_thread_as_one_undo_step(qtbot, editor, window, gate):
    session, labels = editor.session, editor.session.labels
    before = labels.copy()
    expected = expected_fill(before, (10, 2), 2)
    editor.class_dock.select(2)
    key(window, Qt.Key.Key_F)
    click(window.viewer, 10, 2)

    assert session.busy
    qtbot.waitUntil(lambda: gate.threads == [False], timeout=5000)  # computing in the worker thread
    assert np.array_equal(labels, before)
    assert "Fill" in window.statusBar().currentMessage()
    ticks = []
    timer = QTimer(interval=1)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=5000)  # the event loop runs while the fill is held
    timer.stop()
    assert session.busy and not editor.undo_action.isEnabled() and not editor.class_dock.isEnabled()

    gate.set()
    qtbot.waitUntil(lambda: not session.busy, timeout=5000)
    assert np.array_equal(labels, expected)
    assert session.stack.count() == 1 and session.stack.text(0) == "fill" and session.dirty
    assert np.array_equal(session.counts, pixel_counts(expected, 256))
    assert editor.undo_action.isEnabled() and editor.class_dock.isEnabled()
    # The record is the region's bitmap (an eighth of a byte per pixel of its box) and its one old class.
    assert session.history_bytes() <= 40 * 20 // 8 + 1

    key(window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(labels, before) and not session.dirty
    assert np.array_equal(session.counts, pixel_counts(before, 256))
    key(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.array_equal(labels, expected)


def test_edits_during_a_background_fill_wait_and_corrupt_nothing(qtbot, editor, window, gate):
    session, labels = editor.session, editor.session.labels
    before = labels.copy()
    expected = expected_fill(before, (30, 40), 2)
    editor.class_dock.select(2)
    key(window, Qt.Key.Key_F)
    click(window.viewer, 30, 40)  # right of the wall
    assert session.busy

    key(window, Qt.Key.Key_P)
    drag(window.viewer, [(30, 2), (30, 10)])  # a stroke on the other side while the fill is pending
    assert "wait for the fill" in window.statusBar().currentMessage()
    key(window, Qt.Key.Key_F)
    click(window.viewer, 10, 2)  # a second fill is refused too
    qtbot.waitUntil(lambda: gate.threads == [False], timeout=5000)

    gate.set()
    qtbot.waitUntil(lambda: not session.busy, timeout=5000)
    assert np.array_equal(labels, expected) and session.stack.count() == 1

    key(window, Qt.Key.Key_P)  # once the fill is in, strokes work again, on top of it
    editor.toolbar.size.setValue(1)
    drag(window.viewer, [(30, 2), (30, 10)])
    after_stroke = expected.copy()
    after_stroke[30, 2:11] = 2
    assert np.array_equal(labels, after_stroke) and session.stack.count() == 2
    key(window, Qt.Key.Key_Z, CTRL)
    key(window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(labels, before)


def test_background_fill_equals_the_synchronous_fill(qtbot, editor, window, monkeypatch):
    session, labels = editor.session, editor.session.labels
    before = labels.copy()
    editor.class_dock.select(2)
    key(window, Qt.Key.Key_F)
    editor.toolbar.connectivity.setCurrentIndex(1)  # 8-connected
    click(window.viewer, 10, 2)
    qtbot.waitUntil(lambda: not session.busy, timeout=5000)
    background = labels.copy()
    key(window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(labels, before)

    monkeypatch.setattr(tools, "BACKGROUND_FILL_PIXELS", labels.size)
    click(window.viewer, 10, 2)
    assert not session.busy  # done at once
    assert np.array_equal(labels, background) and session.stack.count() == 1


def test_settle_applies_a_pending_fill(editor, window, gate):
    session = editor.session
    editor.class_dock.select(2)
    key(window, Qt.Key.Key_F)
    click(window.viewer, 10, 2)
    assert session.busy and session.dirty  # a pending fill counts as an unsaved change
    gate.set()
    session.settle()
    assert not session.busy and session.labels[10, 2] == 2 and session.stack.count() == 1
