"""Training on the project's labels from the window: the option follows the project (opened, labels saved,
the dock's tab clicked), unsaved labels are offered to be saved first, the model's save dialog starts in
the project's models folder, and the trained model is what the Predict combo shows afterwards."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from PySide6.QtWidgets import QApplication, QFileDialog

from ccdstudio.gui.ml import confirm
from ccdstudio.gui.ml.training import TrainSettings
from ccdstudio.labels.io import load_labels
from ccdstudio.labels.project import Project
from tests.gui.conftest import wait_opened
from tests.gui.ml_fixtures import CLASSES, toy_frame

pytestmark = pytest.mark.usefixtures("no_questions")


@pytest.fixture
def frame(tmp_path):
    image, labels = toy_frame(np.random.default_rng(4), (96, 96), blobs=10, hot=8)
    path = tmp_path / "data" / "frame.fits"
    path.parent.mkdir()
    fits.PrimaryHDU(image).writeto(path)
    return path, labels


@pytest.fixture
def in_project(qtbot, window, frame, tmp_path, answers):
    """The frame shown, in a new project (File > New project…), with no labels saved yet."""
    window.resize(1400, 900)
    window.open_paths([str(frame[0])])
    wait_opened(qtbot, window)
    editor = window.features["labels"]
    qtbot.waitUntil(lambda: editor.session is not None, timeout=5000)
    answers.folder = str(tmp_path / "project")
    editor.projects.new_project()
    assert editor.session.key in editor.projects.project.images
    return editor


def project_offered(form) -> bool:
    return form.source.model().item(form.source.findData("project")).isEnabled()


def test_saving_labels_offers_the_project_while_the_train_dock_is_shown(qtbot, window, frame, in_project):
    editor, train = in_project, window.features["train"]
    train.show()
    form = train.panel.form
    assert not project_offered(form)  # nothing saved yet
    editor.accept_labels(frame[1], CLASSES, "truth")
    assert not project_offered(form)  # in memory only
    editor.save()
    assert project_offered(form) and form.settings().source == "project"


def test_the_train_tab_coming_forward_refreshes_the_offer(qtbot, window, frame, in_project):
    editor, train = in_project, window.features["train"]
    window.docks["results"].raise_()
    QApplication.processEvents()
    project = editor.projects.project
    project.save_labels(editor.session.key, frame[1])  # behind the editor's back: no signal
    form = train.panel.form
    assert not project_offered(form)
    train.dock.raise_()  # as a click on its tab does
    QApplication.processEvents()
    assert project_offered(form)


def test_the_model_dialog_starts_in_the_projects_models_folder(qtbot, window, frame, in_project, monkeypatch,
                                                              tmp_path):
    starts = []
    answer = [str(tmp_path / "elsewhere" / "mine")]
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, start, *a: (starts.append(start), (answer[0], ""))[1]))
    form = window.features["train"].panel.form
    models = tmp_path / "project" / "models"
    (tmp_path / "elsewhere").mkdir()
    assert form.choose_output()
    assert starts[-1] == str(models / "model.safetensors") and models.is_dir()
    assert form.out.text() == answer[0] + ".safetensors"
    (models / "model.safetensors").write_bytes(b"")
    form.out.clear()
    form.choose_output()
    assert starts[-1] == str(models / "model-2.safetensors")  # an earlier model is not overwritten

    # no project: beside the shown image; nothing shown: the last folder used
    in_project.projects._switch(None)
    window.features["train"].refresh_project()
    form.out.clear()
    form.choose_output()
    assert starts[-1] == str(frame[0].parent / "model.safetensors")
    form.set_output_folder(None)
    form.out.clear()
    form.choose_output()
    assert starts[-1] == str(tmp_path / "elsewhere" / "model.safetensors")


@pytest.mark.parametrize("answer", ["cancel", "go on"])
def test_unsaved_project_labels_cancel_or_train_on_the_saved_ones(qtbot, window, frame, in_project, monkeypatch,
                                                                   tmp_path, answer):
    editor, train = in_project, window.features["train"]
    project = editor.projects.project
    saved = (frame[1] == 3).astype(np.uint8) * 3  # clusters only
    editor.accept_labels(saved, CLASSES, "clusters")
    editor.save()
    editor.accept_labels(frame[1], CLASSES, "all classes")  # unsaved
    asked = []
    monkeypatch.setattr(confirm, "ask_save_first", lambda parent, title, text, go_on: (asked.append(text), answer)[1])
    dialogs = []
    monkeypatch.setattr(train.panel.form, "choose_output", lambda: dialogs.append(1) and False)  # cancelled
    train.show()
    train.panel.form.source.setCurrentIndex(train.panel.form.source.findData("project"))
    train.panel.start_button.click()
    assert len(asked) == 1 and "frame.fits" in asked[0]
    assert editor.session.dirty  # not saved either way
    assert np.array_equal(load_labels(project.labels_path(editor.session.key))[0], saved)
    assert not train.running
    assert len(dialogs) == (answer == "go on")  # going on asks where the model goes next


def test_saving_first_then_training_makes_the_model_the_predict_default_as_shown(qtbot, window, frame, in_project,
                                                                                 monkeypatch, tmp_path, errors):
    editor, train, predict = in_project, window.features["train"], window.features["predict"]
    project = editor.projects.project
    editor.accept_labels(frame[1], CLASSES, "truth")  # unsaved when training starts
    monkeypatch.setattr(confirm, "ask_save_first", lambda *args: "save")
    out = tmp_path / "project" / "models" / "retrained.safetensors"
    form = train.panel.form
    train.show()
    form.apply(TrainSettings(source="project", classes="ccd", model_size="tiny", epochs=1, batch_size=8, crop=32,
                             lr=1e-2, val_split=0.2, seed=0, out=str(out)))
    form.device.setCurrentIndex(form.device.findData("cpu"))
    assert train.start()
    assert not editor.session.dirty  # saved first, through the editor
    assert np.array_equal(load_labels(project.labels_path(editor.session.key))[0], frame[1])
    qtbot.waitUntil(lambda: not train.running, timeout=120000)
    assert not errors, errors
    assert train.outcome.model == out and out.is_file()

    combo = predict.panel.picker.combo
    assert predict.panel.picker.path() == out and combo.currentText() == out.name
    assert combo.itemData(combo.currentIndex()) == str(out)
    # showing an image again or saving the project keeps it chosen, as shown
    window.open_paths([str(frame[0])])
    wait_opened(qtbot, window)
    editor.projects.save_project()
    assert predict.panel.picker.path() == out and combo.currentText() == out.name
    assert Project.open(tmp_path / "project").models[-1]["path"].endswith("retrained.safetensors")
