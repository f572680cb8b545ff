"""Projects from the GUI: create, save, statistics in the dock, switching images, reopening, recovery."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ccdstudio.gui.labels import autosave as gui_autosave
from ccdstudio.labels import autosave as core_autosave
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels
from ccdstudio.labels.project import Project
from tests.gui.conftest import wait_opened
from tests.gui.label_helpers import drag, image, open_for_labelling


@pytest.fixture
def images(tmp_path):
    paths = []
    for name, value in (("a.tif", 100), ("b.tif", 200)):
        path = tmp_path / "data" / name
        path.parent.mkdir(exist_ok=True)
        tifffile.imwrite(path, image() + value)
        paths.append(path)
    return paths


def rectangle(editor, window, index, corners):
    QTest.keyClick(window, Qt.Key.Key_R)
    editor.class_dock.select(index)
    drag(window.viewer, list(corners))


def test_new_project_save_and_statistics(qtbot, window, images, tmp_path, answers):
    editor = open_for_labelling(qtbot, window, images[0])
    rectangle(editor, window, 3, ((0, 0), (3, 4)))  # 20 pixels of cluster, not saved
    editor.autosave_now()
    assert list(gui_autosave.folder().glob(f"{gui_autosave.image_key(images[0])}*"))
    answers.folder = str(tmp_path / "project")
    editor.projects.new_project()
    assert not answers.titles("ask_save")  # the shown image's labels move into the project as they are
    assert not (tmp_path / "data" / "a_labels.png").exists()
    assert not list(gui_autosave.folder().glob(f"{gui_autosave.image_key(images[0])}*"))  # no stray autosave
    project = editor.projects.project
    assert list(project.images) == ["a"] and editor.session.key == "a" and editor.session.dirty
    assert window.docks["project"].isVisibleTo(window)
    assert np.array_equal(editor.session.labels[:4, :5], np.full((4, 5), 3))  # still shown, now in the project
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    labels, classes = load_labels(tmp_path / "project" / "labels" / "a.png")
    assert labels.sum() == 3 * 20 and classes == ClassSet.preset("ccd")
    reopened = Project.open(tmp_path / "project")
    assert reopened.stats("a")["cluster"]["pixels"] == 20
    table = editor.projects.dock.table
    assert table.item(0, 0).text() == "a" and table.item(0, 3).text() == "20"  # columns: image, glowing, ...


def test_switching_images_keeps_unsaved_labels_and_close_asks(qtbot, window, images, tmp_path, answers):
    folder, editor = open_project_of(qtbot, window, images, tmp_path)
    rectangle(editor, window, 1, ((0, 0), (1, 1)))
    editor.projects.open_image("b")
    qtbot.waitUntil(lambda: editor.session.key == "b", timeout=10000)
    window.viewer.fit()
    assert not editor.session.labels.any()
    rectangle(editor, window, 2, ((5, 5), (6, 6)))
    assert sorted(s.key for s in editor.unsaved_sessions()) == ["a", "b"]
    dock = editor.projects.dock
    assert [dock.table.item(r, 0).text() for r in range(2)] == ["* a", "* b"]
    editor.projects.open_image("a")
    qtbot.waitUntil(lambda: editor.session.key == "a", timeout=10000)
    assert editor.session.labels[:2, :2].sum() == 4  # the unsaved labels of a, still in memory
    answers.save = "save"
    window.close()
    assert not window.isVisible()
    assert load_labels(folder / "labels" / "a.png")[0].sum() == 4
    assert load_labels(folder / "labels" / "b.png")[0].sum() == 8


def autosave_of_a_crash(project, key):
    """Labels of ``key`` autosaved in ``project`` by a process that is gone, as a crash leaves them."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = core_autosave.Owner(child.pid, core_autosave.Owner.me().host, None)
    crashed = np.zeros((40, 50), np.uint8)
    crashed[10:12, 10:12] = 2
    core_autosave.write(project.folder / ".autosave", key, crashed, project.classes, owner=dead)
    return crashed


def test_opening_a_project_offers_recovery(qtbot, window, images, tmp_path, answers):
    folder = tmp_path / "project"
    project = Project.create(folder)
    key = project.add_image(images[0])
    project.save()
    crashed = autosave_of_a_crash(project, key)
    answers.yes = True
    for dock in window.docks.values():
        dock.hide()
    editor = window.features["labels"]
    editor.projects.open_project(str(folder))
    wait_opened(qtbot, window)
    qtbot.waitUntil(lambda: editor.session is not None and editor.session.key == key, timeout=5000)
    assert answers.titles("ask_yes_no") == ["Recover labels"]
    assert np.array_equal(editor.session.labels, crashed) and editor.session.dirty


def test_at_start_the_last_project_is_offered_when_a_crash_left_labels_in_it(qtbot, window, images, tmp_path,
                                                                             answers):
    from ccdstudio.gui import settings
    from ccdstudio.gui.labels.project_control import LAST_PROJECT_KEY
    from ccdstudio.labels.project import left_by_a_crash

    folder = tmp_path / "project"
    project = Project.create(folder)
    key = project.add_image(images[0])
    project.save()
    assert left_by_a_crash(folder) == 0
    crashed = autosave_of_a_crash(project, key)
    assert left_by_a_crash(folder) == 1
    settings.settings().setValue(LAST_PROJECT_KEY, str(folder))
    answers.yes = True
    editor = window.features["labels"]
    editor.offer_recovery()  # what the window does as it starts
    wait_opened(qtbot, window)
    qtbot.waitUntil(lambda: editor.session is not None and editor.session.key == key, timeout=5000)
    assert answers.titles("ask_yes_no") == ["Recover labels"]  # asked once, not again as the project opens
    assert editor.projects.project.folder == folder
    assert np.array_equal(editor.session.labels, crashed) and editor.session.dirty


def test_a_merge_in_the_class_dock_is_recorded_undone_and_applied_to_saved_labels(qtbot, window, images, tmp_path,
                                                                                   answers):
    folder = tmp_path / "project"
    project = Project.create(folder)
    for path in images:
        project.add_image(path)
    saved = np.zeros((40, 50), np.uint8)
    saved[0:2, 0:3] = 2  # hot pixels in b, saved before the merge
    project.save_labels("b", saved)
    project.save()
    editor = show_project(qtbot, window, folder)
    rectangle(editor, window, 2, ((5, 5), (6, 6)))
    answers.choice = 2  # hot_pixel into the others' third item: cluster
    editor.class_dock.merge(2)
    project = editor.projects.project
    assert len(project.remaps) == 1 and project.classes.names == ["background", "glowing", "cluster"]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.remaps == [] and project.classes == ClassSet.preset("ccd")
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(project.remaps) == 1 and editor.session.labels[5, 5] == 2
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(Project.open(folder).remaps) == 1  # the manifest on disk records it
    # b's labels were saved before the merge: opened, exported or trained on, they are in the new classes.
    editor.projects.open_image("b")
    qtbot.waitUntil(lambda: editor.session.key == "b", timeout=10000)
    assert editor.session.classes.names == ["background", "glowing", "cluster"]
    assert (editor.session.labels[0:2, 0:3] == 2).all() and editor.session.labels.sum() == 12
    labels, classes = load_labels(folder / "labels" / "b.png")
    assert classes.names == ["background", "glowing", "cluster"] and labels.sum() == 12
    assert load_labels(folder / "labels" / "b.png", as_saved=True)[1] == ClassSet.preset("ccd")


def test_labels_kept_in_memory_follow_a_merge_made_on_another_image(qtbot, window, images, tmp_path, answers):
    folder, editor = open_project_of(qtbot, window, images, tmp_path)
    rectangle(editor, window, 3, ((0, 0), (1, 1)))  # cluster in a, unsaved
    editor.projects.open_image("b")
    qtbot.waitUntil(lambda: editor.session.key == "b", timeout=10000)
    editor.class_dock.select(3)
    editor.class_dock.buttons["up"].click()  # cluster before hot_pixel, recorded by the project
    assert editor.projects.project.classes.names == ["background", "glowing", "cluster", "hot_pixel"]
    editor.projects.open_image("a")
    qtbot.waitUntil(lambda: editor.session.key == "a", timeout=10000)
    assert editor.session.classes.names == ["background", "glowing", "cluster", "hot_pixel"]
    assert (editor.session.labels[:2, :2] == 2).all()  # its clusters moved with their class
    assert editor.current_labels()[1] == editor.projects.project.classes
    assert len(editor.projects.project.remaps) == 1  # following is not another change of the project


def test_save_project_as_continues_in_the_new_folder(qtbot, window, images, tmp_path, answers):
    folder = tmp_path / "project"
    project = Project.create(folder)
    project.add_image(images[0])
    project.save()
    editor = show_project(qtbot, window, folder)
    rectangle(editor, window, 3, ((0, 0), (1, 2)))  # 6 pixels of cluster, unsaved
    answers.folder = str(tmp_path / "copy")
    editor.projects.actions[3].trigger()  # Save project as…
    assert editor.projects.project.folder == tmp_path / "copy"
    assert load_labels(tmp_path / "copy" / "labels" / "a.png")[0].sum() == 3 * 6 and not editor.session.dirty
    assert not (folder / "labels" / "a.png").exists()  # the original project is left as it was
    assert Project.open(tmp_path / "copy").image_path("a") == images[0]


def open_project_of(qtbot, window, images, tmp_path):
    """A saved project of ``images`` opened in the window, image "a" shown: (its folder, the label editor)."""
    folder = tmp_path / "project"
    project = Project.create(folder)
    for path in images:
        project.add_image(path)
    project.save()
    return folder, show_project(qtbot, window, folder)


def show_project(qtbot, window, folder):
    """The project in ``folder`` opened in the window, image "a" shown: the label editor."""
    for dock in window.docks.values():
        dock.hide()
    editor = window.features["labels"]
    editor.projects.open_project(str(folder))
    wait_opened(qtbot, window)
    qtbot.waitUntil(lambda: editor.session is not None and editor.session.key == "a", timeout=5000)
    window.viewer.fit()
    return editor
