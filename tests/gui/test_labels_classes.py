"""The class dock (add, rename, recolour, reorder, merge, all undoable), drawing options and accept_labels."""

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.classes import ClassSet
from tests.gui.conftest import wait_opened
from tests.gui.label_helpers import drag, image, open_for_labelling

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def editor(qtbot, window, tmp_path):
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, image())
    return open_for_labelling(qtbot, window, path)


def undo(window):
    QTest.keyClick(window, Qt.Key.Key_Z, CTRL)


def paint_blocks(editor, window):
    """Rectangles of class 1, 2 and 3 drawn with the mouse."""
    QTest.keyClick(window, Qt.Key.Key_R)
    for index, cols in ((1, (0, 4)), (2, (10, 14)), (3, (20, 24))):
        editor.class_dock.select(index)
        drag(window.viewer, [(0, cols[0]), (4, cols[1])])
    return editor.session.labels


def test_add_rename_recolour_are_undo_steps(editor, window, answers):
    session = editor.session
    assert session.classes == ClassSet.preset("ccd")  # not a FITS file and not a segment
    answers.text = "muon"
    editor.class_dock.buttons["add"].click()
    assert session.classes.names[-1] == "muon" and editor.class_dock.selected() == 4
    answers.text = "electron"
    editor.class_dock.rename(4)
    answers.colour = (1, 2, 3)
    editor.class_dock.recolour(4)
    assert session.classes[4].name == "electron" and session.classes[4].color == (1, 2, 3)
    assert editor.class_dock.table.rowCount() == 5
    undo(window)
    undo(window)
    assert session.classes.names[-1] == "muon"
    undo(window)
    assert session.classes == ClassSet.preset("ccd")
    assert editor.class_dock.table.rowCount() == 4


def test_merge_remaps_pixels_and_undo_restores_classes(editor, window, answers):
    labels = paint_blocks(editor, window)
    before = labels.copy()
    answers.choice = 2  # "hot_pixel" (index 2) into the others' third item: cluster
    editor.class_dock.merge(2)
    session = editor.session
    assert session.classes.names == ["background", "glowing", "cluster"]
    assert (labels[0:5, 10:15] == 2).all() and (labels[0:5, 20:25] == 2).all() and (labels[0:5, 0:5] == 1).all()
    assert editor.class_dock.counts_shown() == [40 * 50 - 75, 25, 50]
    undo(window)
    assert np.array_equal(labels, before) and session.classes == ClassSet.preset("ccd")
    QTest.keyClick(window, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert session.classes.names == ["background", "glowing", "cluster"]


def test_reorder_moves_pixels_with_their_class(editor, window):
    labels = paint_blocks(editor, window)
    editor.class_dock.select(3)
    editor.class_dock.buttons["up"].click()
    session = editor.session
    assert session.classes.names == ["background", "glowing", "cluster", "hot_pixel"]
    assert (labels[0:5, 20:25] == 2).all() and (labels[0:5, 10:15] == 3).all()
    assert editor.class_dock.selected() == 2  # the moved class stays selected
    undo(window)
    assert session.classes == ClassSet.preset("ccd") and (labels[0:5, 20:25] == 3).all()


def test_visibility_only_selected_and_contours_change_the_drawing(editor, window, qtbot):
    labels = paint_blocks(editor, window)
    dock, viewer = editor.class_dock, window.viewer
    dock.opacity.setValue(100)

    def colour_at(row, col):
        QApplication.processEvents()
        shot = viewer.view.viewport().grab().toImage()
        pos = viewer.scene_pos(col + 0.5, row + 0.5)
        return shot.pixelColor(pos).getRgb()[:3]

    cluster, hot = ClassSet.preset("ccd")[3].color, ClassSet.preset("ccd")[2].color
    assert colour_at(2, 22) == cluster and colour_at(2, 12) == hot
    dock.set_class_visible(3, False)
    assert colour_at(2, 22) != cluster and colour_at(2, 12) == hot
    dock.set_class_visible(3, True)
    dock.select(2)
    dock.only_selected.setChecked(True)
    assert colour_at(2, 22) != cluster and colour_at(2, 12) == hot
    dock.only_selected.setChecked(False)
    dock.contour.setChecked(True)
    assert colour_at(2, 20) == cluster and colour_at(4, 22) == cluster and colour_at(2, 22) != cluster  # edges only
    assert labels[2, 22] == 3
    dock.contour.setChecked(False)
    dock.opacity.setValue(0)
    assert editor.layer.opacity() == 0 and colour_at(2, 22) != cluster
    dock.opacity.setValue(50)
    half = colour_at(2, 22)
    assert half != cluster and all(abs(h - c / 2) <= 40 for h, c in zip(half, cluster))  # over a dark image


def test_accept_labels_is_one_undo_step_matched_by_name(editor, window):
    session = editor.session
    labels = paint_blocks(editor, window)
    before = labels.copy()
    count = session.stack.count()
    incoming = np.zeros_like(labels)
    incoming[30:35, 30:35] = 1
    incoming[0:2, 0:2] = 2
    classes = ClassSet.from_names(["background", "cluster", "muon"])
    editor.accept_labels(incoming, classes, "threshold 5 sigma", merge=True)
    assert session.stack.count() == count + 1 and session.stack.undoText() == "threshold 5 sigma"
    assert session.classes.names == ["background", "glowing", "hot_pixel", "cluster", "muon"]
    assert (labels[30:35, 30:35] == 3).all() and (labels[0:2, 0:2] == 4).all()
    assert (labels[2:5, 0:5] == 1).all()  # merge keeps what the incoming map leaves at background
    undo(window)
    assert np.array_equal(labels, before) and session.classes == ClassSet.preset("ccd")
    editor.accept_labels(incoming, classes, "prediction")
    assert labels[2, 2] == 0 and labels[31, 31] == 3  # replace
    with pytest.raises(CcdstudioError, match="do not fit"):
        editor.accept_labels(np.zeros((3, 3), np.uint8), classes, "wrong")


def test_the_four_ccd_classes_are_in_sight_in_the_default_window(qtbot, window, fits_file):
    window.resize(1400, 900)
    window.open_paths([str(fits_file)])
    wait_opened(qtbot, window)
    editor = window.features["labels"]
    window.docks["classes"].raise_()
    table = editor.class_dock.table
    qtbot.waitUntil(lambda: table.isVisible() and table.rowCount() == 4)
    QApplication.processEvents()
    for row in range(4):  # background, glowing, hot_pixel, cluster: none scrolled away
        rect = table.visualRect(table.model().index(row, 1))
        assert table.viewport().rect().contains(rect), row
