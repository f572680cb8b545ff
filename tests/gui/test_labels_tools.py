"""Every label tool driven by keys and mouse on the real viewer, checked on the label array."""

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.gui.label_helpers import (
    DOUBLE,
    LEFT,
    NONE,
    PRESS,
    RELEASE,
    click,
    drag,
    image,
    open_for_labelling,
    send,
)

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot, window, tmp_path):
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, image())
    return open_for_labelling(qtbot, window, path)


def key(window, k, modifiers=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window, k, modifiers)


def test_brush_stroke_is_one_undo_step(editor, window):
    key(window, Qt.Key.Key_P)
    assert editor.tools.tool == "paint"
    editor.toolbar.size.setValue(3)
    drag(window.viewer, [(5, 5), (5, 12), (5, 25)])
    labels = editor.session.labels
    expected = np.zeros_like(labels)
    # round brush of width 3 along row 5: pixel centres closer than 1.5 to the segment (5,5)-(5,25)
    expected[4:7, 4:27] = 1
    assert np.array_equal(labels, expected)
    assert editor.session.stack.count() == 1
    assert editor.session.dirty
    assert editor.class_dock.counts_shown()[:2] == [40 * 50 - 69, 69]
    key(window, Qt.Key.Key_Z, CTRL)
    assert not labels.any() and not editor.session.dirty
    key(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.array_equal(labels, expected)


def test_square_brush_and_size_keys(editor, window):
    key(window, Qt.Key.Key_P)
    editor.toolbar.size.setValue(4)
    key(window, Qt.Key.Key_BracketRight)
    assert editor.toolbar.size.value() == 5  # grows by at least one pixel
    key(window, Qt.Key.Key_BracketLeft)
    key(window, Qt.Key.Key_BracketLeft)
    assert editor.tools.options.size == 3
    editor.toolbar.shape.setCurrentIndex(1)  # square
    click(window.viewer, 20, 20)
    rows, cols = np.nonzero(editor.session.labels)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (19, 21, 19, 21)
    assert rows.size == 9


def test_eraser_and_preserve_other_classes(editor, window):
    labels = editor.session.labels
    editor.class_dock.select(2)
    key(window, Qt.Key.Key_R)
    drag(window.viewer, [(0, 0), (9, 9)])
    editor.class_dock.select(3)
    drag(window.viewer, [(0, 10), (9, 19)])
    assert (labels[:10, :10] == 2).all() and (labels[:10, 10:20] == 3).all()
    key(window, Qt.Key.Key_E)
    editor.toolbar.size.setValue(1)
    drag(window.viewer, [(2, 0), (2, 19)])  # erase everything along row 2
    assert not labels[2, :20].any() and (labels[3, :10] == 2).all()
    editor.toolbar.mode.setCurrentIndex(2)  # preserve other classes: erase only the selected class (3)
    drag(window.viewer, [(5, 0), (5, 19)])
    assert (labels[5, :10] == 2).all() and not labels[5, 10:20].any()
    assert editor.session.stack.count() == 4


def test_paint_only_over_background(editor, window):
    labels = editor.session.labels
    editor.class_dock.select(2)
    key(window, Qt.Key.Key_R)
    drag(window.viewer, [(10, 10), (14, 14)])
    editor.class_dock.select(1)
    editor.toolbar.mode.setCurrentIndex(1)
    drag(window.viewer, [(8, 8), (16, 16)])
    assert (labels[10:15, 10:15] == 2).all()
    assert labels[8:17, 8:17].sum() == 2 * 25 + 1 * (81 - 25)


def test_fill_on_labels_four_and_eight_connected(editor, window):
    labels = editor.session.labels
    labels[:, 20] = 3  # a wall between left and right
    labels[30, 30] = labels[31, 31] = 2  # two pixels touching only at a corner
    editor.session.counts[:] = np.bincount(labels.ravel(), minlength=256)
    editor.class_dock.select(1)
    key(window, Qt.Key.Key_F)
    click(window.viewer, 10, 5)  # the background left of the wall
    assert (labels[:, :20] == 1).all() and not (labels[:, 20:] == 1).any()
    key(window, Qt.Key.Key_Z, CTRL)
    assert not (labels == 1).any()
    click(window.viewer, 30, 30)  # 4-connected: the corner does not connect
    assert labels[30, 30] == 1 and labels[31, 31] == 2
    key(window, Qt.Key.Key_Z, CTRL)
    editor.toolbar.connectivity.setCurrentIndex(1)
    click(window.viewer, 30, 30)
    assert labels[30, 30] == 1 and labels[31, 31] == 1
    assert editor.class_dock.counts_shown()[1] == 2


def test_fill_similar_image_values(editor, window):
    labels = editor.session.labels
    editor.class_dock.select(3)
    editor.toolbar.fill_source.setCurrentIndex(1)
    editor.toolbar.tolerance.setValue(5)
    key(window, Qt.Key.Key_F)
    click(window.viewer, 15, 15)
    expected = np.zeros_like(labels)
    expected[10:20, 10:30] = 3  # the bright block (1000 and one 1003, within 5), not the 100 around it
    assert np.array_equal(labels, expected)


def test_picker_selects_the_class_under_the_cursor(editor, window):
    editor.session.labels[30, 40] = 2
    key(window, Qt.Key.Key_L)
    click(window.viewer, 30, 40)
    assert editor.class_dock.selected() == 2 and editor.tools.selected == 2
    click(window.viewer, 0, 0)
    assert editor.class_dock.selected() == 0


def test_rectangle_includes_both_corners(editor, window):
    key(window, Qt.Key.Key_R)
    drag(window.viewer, [(30, 40), (25, 33), (22, 31)])
    expected = np.zeros_like(editor.session.labels)
    expected[22:31, 31:41] = 1
    assert np.array_equal(editor.session.labels, expected)


def test_polygon_clicks_then_double_click(editor, window):
    viewer = window.viewer
    key(window, Qt.Key.Key_G)
    for row, col in ((5, 5), (5, 25)):
        click(viewer, row, col)
    assert not editor.session.labels.any()  # nothing until it is closed
    send(viewer, PRESS, 25, 25)
    send(viewer, RELEASE, 25, 25, button=LEFT, buttons=NONE)
    send(viewer, DOUBLE, 25, 25)
    send(viewer, RELEASE, 25, 25, button=LEFT, buttons=NONE)
    labels = editor.session.labels.astype(bool)
    # the right triangle (5,5), (5,25), (25,25) through pixel centres: inside and all three edges
    rows, cols = np.mgrid[0:40, 0:50]
    closed = (rows >= 5) & (cols <= 25) & (cols >= rows)
    assert np.array_equal(labels, closed)
    assert editor.session.stack.count() == 1


def test_polygon_escape_cancels(editor, window):
    key(window, Qt.Key.Key_G)
    for row, col in ((5, 5), (5, 25), (25, 25)):
        click(window.viewer, row, col)
    window.viewer.view.setFocus()
    QTest.keyClick(window.viewer.view, Qt.Key.Key_Escape)
    QTest.keyClick(window.viewer.view, Qt.Key.Key_Return)
    assert not editor.session.labels.any()


def test_lasso_fills_the_freehand_outline(editor, window):
    key(window, Qt.Key.Key_H)
    drag(window.viewer, [(10, 10), (10, 20), (20, 20), (20, 10)])
    labels = editor.session.labels
    # the square through pixel centres (10,10)-(20,20): inside and outline on all four sides, nothing more
    expected = np.zeros_like(labels)
    expected[10:21, 10:21] = 1
    assert np.array_equal(labels, expected)
    assert editor.session.stack.undoText() == "lasso"


def test_pan_tool_does_not_paint_and_v_hides_the_layer(editor, window):
    key(window, Qt.Key.Key_P)
    key(window, Qt.Key.Key_Z)
    assert editor.tools.tool == "pan"
    before = window.viewer.visible_rect()
    drag(window.viewer, [(20, 20), (20, 30)])
    assert not editor.session.labels.any()
    assert editor.layer.isVisible()
    key(window, Qt.Key.Key_V)
    assert not editor.layer.isVisible()
    key(window, Qt.Key.Key_V)
    assert editor.layer.isVisible()
    assert before is not None
