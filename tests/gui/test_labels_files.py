"""Label files from the GUI: save/load round trips, labels found beside images, unsaved prompt, failed
saves, autosave and recovery after a kill -9."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ccdstudio.gui.labels import autosave
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels, save_labels
from tests.gui.label_helpers import drag, image, open_for_labelling


@pytest.fixture
def tiff(tmp_path):
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, image())
    return path


def paint_rectangle(editor, window, index=3, corners=((5, 6), (9, 12))):
    QTest.keyClick(window, Qt.Key.Key_R)
    editor.class_dock.select(index)
    drag(window.viewer, list(corners))
    return editor.session.labels.copy()


@pytest.mark.parametrize("name", ["out.png", "out.tif", "out.npy", "out.fits"])
def test_save_as_and_open_round_trip(qtbot, window, tiff, tmp_path, answers, name):
    editor = open_for_labelling(qtbot, window, tiff)
    painted = paint_rectangle(editor, window)
    assert painted.sum() == 3 * 5 * 7
    answers.path = str(tmp_path / name)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # no file yet: Save asks
    assert answers.titles("ask_save_path")
    labels, classes = load_labels(tmp_path / name)
    assert np.array_equal(labels, painted) and classes == ClassSet.preset("ccd")
    assert not editor.session.dirty
    editor.session.replace_labels(np.zeros_like(painted), classes, "clear")
    editor.open_labels()  # answers.path again
    assert np.array_equal(editor.session.labels, painted) and not editor.session.dirty


def test_labels_beside_the_image_load_and_save_without_asking(qtbot, window, tiff, tmp_path, answers):
    beside = tmp_path / "image_labels.png"
    existing = np.zeros((40, 50), np.uint8)
    existing[0, 0] = 1
    save_labels(beside, existing, ClassSet.from_names(["background", "ink"]))
    editor = open_for_labelling(qtbot, window, tiff)
    assert editor.session.classes.names == ["background", "ink"] and editor.session.labels[0, 0] == 1
    painted = paint_rectangle(editor, window, index=1)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not answers.asked
    assert np.array_equal(load_labels(beside)[0], painted)


def test_of_several_label_files_beside_the_image_the_last_saved_opens(qtbot, window, tiff, tmp_path, answers):
    older, newer = np.zeros((40, 50), np.uint8), np.zeros((40, 50), np.uint8)
    older[0, 0], newer[1, 1] = 1, 2
    save_labels(tmp_path / "image_labels.fits", newer, ClassSet.preset("ccd"))
    save_labels(tmp_path / "image_labels.png", older, ClassSet.preset("ccd"))  # found first by name
    os.utime(tmp_path / "image_labels.png", (1_000_000_000, 1_000_000_000))
    editor = open_for_labelling(qtbot, window, tiff)
    assert np.array_equal(editor.session.labels, newer)
    assert editor.session.target.path.name == "image_labels.fits"


def test_segment_inklabels_load_as_ink_and_save_as_0_255(qtbot, window, segment_folder, answers):
    from PIL import Image

    ink = np.zeros((40, 50), np.uint8)
    ink[20:30, 5:10] = 255
    Image.fromarray(ink).save(segment_folder / "inklabels.png")
    editor = open_for_labelling(qtbot, window, segment_folder)
    session = editor.session
    assert session.classes == ClassSet.preset("ink")
    assert np.array_equal(session.labels, (ink > 0).astype(np.uint8))
    assert not window.overlays_panel.checks["inklabels"].isChecked()  # the fixed overlay gives way
    paint_rectangle(editor, window, index=1, corners=((0, 0), (1, 1)))
    assert editor.save()
    saved = np.asarray(Image.open(segment_folder / "inklabels.png"))
    assert set(np.unique(saved)) == {0, 255} and (saved[0:2, 0:2] == 255).all() and (saved[20:30, 5:10] == 255).all()


def test_fits_labels_go_into_the_image_file(qtbot, window, fits_file):
    from astropy.io import fits

    editor = open_for_labelling(qtbot, window, fits_file)
    assert editor.session.classes == ClassSet.preset("ccd")
    painted = paint_rectangle(editor, window)
    assert editor.save_into_fits()
    with fits.open(fits_file) as hdus:
        assert [h.name for h in hdus] == ["PRIMARY", "SCI", "OTHER", "MASK", "LABELS"]
        assert np.array_equal(hdus["LABELS"].data, painted) and hdus["LABELS"].header["DATASEC"] == "[1:144,1:120]"
        assert hdus["SCI"].data[10, 20] == 12345.0
    assert editor.session.target.kind == "extension"


def test_close_asks_about_unsaved_labels(qtbot, window, tiff, tmp_path, answers):
    editor = open_for_labelling(qtbot, window, tiff)
    painted = paint_rectangle(editor, window)
    answers.save = "cancel"
    window.close()
    assert window.isVisible() and answers.titles("ask_save") == ["Unsaved labels"]
    # closing autosaved first, so even a crash during the question would lose nothing
    assert autosave.recoverable() == [] and list(autosave.folder().glob("*.autosave.npz"))
    answers.save, answers.path = "save", str(tmp_path / "saved.npy")
    window.close()
    assert not window.isVisible()
    assert np.array_equal(np.load(tmp_path / "saved.npy"), painted)
    assert not list(autosave.folder().glob("*.autosave.npz"))  # saved: the autosave is gone


def test_failed_save_keeps_the_edits(qtbot, window, tiff, tmp_path, answers, errors):
    editor = open_for_labelling(qtbot, window, tiff)
    painted = paint_rectangle(editor, window)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        answers.path = str(locked / "labels.png")
        assert not editor.save()
    finally:
        locked.chmod(0o700)
    assert errors and errors[0][0] == "Cannot save labels" and "permission" in errors[0][1]
    assert editor.session.dirty and np.array_equal(editor.session.labels, painted)


def test_read_only_file_system_message(qtbot, window, tiff, tmp_path, answers, errors, monkeypatch):
    import errno

    editor = open_for_labelling(qtbot, window, tiff)
    paint_rectangle(editor, window)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    answers.path = str(tmp_path / "labels.png")
    assert not editor.save()
    assert "disk is full" in errors[0][1] and editor.session.dirty and not (tmp_path / "labels.png").exists()


_CRASHING_SESSION = textwrap.dedent("""
    import os, signal, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings
    from ccdstudio.gui.app import create_application
    app = create_application()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, sys.argv[2])
    from ccdstudio.gui.main_window import MainWindow
    window = MainWindow()
    window.open_paths([sys.argv[1]])
    while window.worker is not None or window.document is None:
        app.processEvents()
    app.processEvents()
    from ccdstudio.labels import paint
    session = window.features["labels"].session
    session.do(paint.rectangle(session.labels, (3, 4), (7, 9), 2), "rectangle")
    window.features["labels"].autosave_now()
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_kill_9_then_next_start_offers_recovery(qtbot, tiff, isolated_settings, answers):
    result = subprocess.run([sys.executable, "-c", _CRASHING_SESSION, str(tiff), isolated_settings],
                            cwd=os.getcwd(), capture_output=True, timeout=120, check=False)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    found = autosave.recoverable()
    assert [f.image_path for f in found] == [tiff.resolve()]

    from ccdstudio.gui.main_window import MainWindow

    answers.yes = True
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    for dock in window.docks.values():
        dock.hide()
    editor = window.features["labels"]
    qtbot.waitUntil(lambda: editor.session is not None, timeout=15000)
    assert answers.titles("ask_yes_no") == ["Recover labels"]  # asked once, at start
    expected = np.zeros((40, 50), np.uint8)
    expected[3:8, 4:10] = 2
    assert np.array_equal(editor.session.labels, expected) and editor.session.dirty
    answers.save = "discard"
    window.close()
    assert autosave.recoverable() == [] and not list(autosave.folder().glob("*.autosave.npz"))


def test_file_opened_at_start_is_offered_its_autosave_once(qtbot, tiff, isolated_settings, answers, monkeypatch):
    """``ccdstudio gui FILE`` after a crash: the file's own prompt recovers it; the start-up offer skips it."""
    result = subprocess.run([sys.executable, "-c", _CRASHING_SESSION, str(tiff), isolated_settings],
                            cwd=os.getcwd(), capture_output=True, timeout=120, check=False)
    assert result.returncode == -9, result.stderr.decode()[-2000:]

    from ccdstudio.gui.labels import prompts
    from ccdstudio.gui.main_window import MainWindow

    questions = []
    monkeypatch.setattr(prompts, "ask_yes_no", lambda parent, title, text, *a, **k: questions.append(text) or True)
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_paths([str(tiff)])  # as `ccdstudio gui FILE` does, before the event loop runs the start-up offer
    window.show()
    editor = window.features["labels"]
    qtbot.waitUntil(lambda: editor.session is not None and editor.session.dirty, timeout=15000)
    qtbot.wait(200)
    assert len(questions) == 1 and "image.tif were autosaved" in questions[0]
    answers.save = "discard"
    window.close()


def test_save_dialog_lists_the_suggested_files_kind():
    from ccdstudio.gui.labels.files import LABEL_FILTER
    from ccdstudio.gui.labels.prompts import matching_filter

    assert matching_filter(LABEL_FILTER, "/data/frame_labels.fits") == "FITS (*.fits *.fit *.fts)"
    assert matching_filter(LABEL_FILTER, "a/inklabels.PNG") == "PNG, indexed (*.png)"
    assert matching_filter(LABEL_FILTER, "labels.tif").startswith("TIFF")
    assert matching_filter(LABEL_FILTER, "labels.unknown") == ""


def test_recovery_declined_deletes_the_autosave(qtbot, window, tiff, answers):
    from ccdstudio.labels import autosave as core

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = core.Owner(child.pid, core.Owner.me().host, None)
    autosave.write(tiff, np.ones((40, 50), np.uint8), ClassSet.preset("ccd"))  # writes the index
    core.write(autosave.folder(), autosave.image_key(tiff), np.ones((40, 50), np.uint8), ClassSet.preset("ccd"),
               owner=dead)
    answers.yes = False
    editor = open_for_labelling(qtbot, window, tiff)
    assert answers.titles("ask_yes_no") == ["Recover labels"]
    assert not editor.session.labels.any() and not editor.session.dirty
    assert autosave.recoverable() == []


def test_autosave_interval_setting(qtbot, window):
    from ccdstudio.gui import settings

    assert window.features["labels"].autosave_timer.interval() == 60_000
    settings.settings().setValue(autosave.INTERVAL_KEY, 15)
    assert autosave.interval_seconds() == 15
