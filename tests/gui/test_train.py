"""Train in the window: a tiny model trained from the panel (curves, saved model, report, Predict default),
Stop keeps the best model, the torchrun/JSON-lines path with one process, out-of-memory advice,
closing during training, and event-loop latency while training (presets: test_train_presets.py)."""

from __future__ import annotations

import json
import sys

import pytest

from ccdstudio.gui.ml import confirm
from ccdstudio.gui.ml.devices import wait_warm
from ccdstudio.gui.ml.job_runner import TrainProcess
from ccdstudio.gui.ml.training import (
    TrainSettings,
    load_training_data,
    parse_event_line,
    train_command,
)
from ccdstudio.ml.modelfile import load_model
from tests.gui.latency import LatencyProbe
from tests.gui.ml_fixtures import CLASSES, write_frames

pytestmark = pytest.mark.usefixtures("no_questions")


def set_up(window, folder, out, epochs=2):
    feature = window.features["train"]
    form = feature.panel.form
    form.apply(TrainSettings(source="folder", folders=(str(folder),), classes="ccd", model_size="tiny", epochs=epochs,
                             batch_size=8, crop=32, lr=1e-2, val_split=0.2, seed=0, out=str(out)))
    form.device.setCurrentIndex(form.device.findData("cpu"))
    return feature


def test_training_from_the_panel_plots_saves_reports_and_sets_the_predict_default(qtbot, window, data_folder, tmp_path,
                                                                                  errors):
    out = tmp_path / "model.safetensors"
    feature = set_up(window, data_folder, out)
    feature.panel.start_button.click()
    assert feature.running
    qtbot.waitUntil(lambda: not feature.running, timeout=120000)
    assert not errors
    curves = feature.panel.curves
    curves.redraw()
    counts = curves.point_counts()
    assert counts["step"] >= 8 and counts["train"] == counts["validation"] == counts["f1_macro"] == 2
    # the model file is the one the run described, and Predict now uses it
    model = load_model(out, classes=CLASSES, in_channels=1)
    assert model.info.architecture.depth == 2 and model.info.training["config"]["epochs"] == 2
    assert window.features["predict"].panel.picker.path() == out
    # the confusion matrix counts every labelled validation pixel once; the report follows from it
    outcome = feature.outcome
    from ccdstudio.ml.data import find_pairs

    data = load_training_data(feature.settings, find_pairs([data_folder]))
    labelled = sum(int((data.items[i].labels[w] != 255).sum()) for i, w in data.validation)
    confusion = outcome.confusion
    assert confusion.shape == (4, 4) and confusion.sum() == labelled
    cluster = CLASSES.index("cluster")
    tp = confusion[cluster, cluster]
    precision, recall = tp / max(confusion[:, cluster].sum(), 1), tp / max(confusion[cluster].sum(), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    assert outcome.report["cluster"]["f1-score"] == pytest.approx(f1)
    report = feature.panel.report
    assert report.table.rowCount() == 4 + 2 + 1 and report.confusion is confusion
    assert feature.panel.tabs.currentWidget() is report


def test_stop_keeps_the_best_model_and_still_reports(qtbot, window, data_folder, tmp_path, errors):
    out = tmp_path / "stopped.safetensors"
    feature = set_up(window, data_folder, out, epochs=500)
    feature.start()
    qtbot.waitUntil(lambda: bool(feature.panel.curves.epochs), timeout=120000)
    qtbot.waitUntil(out.is_file, timeout=30000)
    feature.panel.stop_button.click()
    qtbot.waitUntil(lambda: not feature.running, timeout=60000)
    assert not errors
    assert feature.outcome.stopped == "cancelled" and feature.outcome.model == out
    assert feature.outcome.confusion is not None and load_model(out).info.metrics["epoch"] >= 1


def test_event_lines_are_parsed_and_other_text_is_logged(qtbot):
    assert parse_event_line('{"event": "step", "loss": 0.5}') == {"event": "step", "loss": 0.5}
    assert parse_event_line("training on 3 image(s)") is None
    assert parse_event_line("{not json") is None and parse_event_line("[1, 2]") is None
    lines = [json.dumps({"fraction": 0.5, "message": "m", "event": "step", "epoch": 1, "step": 1, "loss": 0.25}),
             "a warning on stdout", json.dumps({"event": "epoch", "epoch": 1, "loss": 0.3, "val_loss": 0.4})]
    # the last line without a newline, and printed in two pieces, must still arrive whole
    text = "\n".join(lines)
    script = (f"import sys; sys.stdout.write({text[:-7]!r}); sys.stdout.flush(); "
              f"sys.stdout.write({text[-7:]!r}); sys.stderr.write('on stderr\\n')")
    process = TrainProcess([sys.executable, "-c", script])
    events, logs, ended = [], [], []
    process.event.connect(events.append)
    process.log.connect(logs.append)
    process.ended.connect(lambda code, asked: ended.append(code))
    process.start()
    qtbot.waitUntil(lambda: bool(ended), timeout=20000)
    assert [e["event"] for e in events] == ["step", "epoch"] and events[1]["val_loss"] == 0.4
    assert "a warning on stdout" in logs and "on stderr" in logs and ended == [0]


def test_the_subprocess_path_drives_the_same_curves(qtbot, window, data_folder, tmp_path, errors):
    out = tmp_path / "process.safetensors"
    feature = set_up(window, data_folder, out, epochs=1)
    assert feature.start(subprocess=True)
    assert not feature.panel.pause_button.isEnabled() and not feature.pause()  # torchrun ranks cannot be held
    qtbot.waitUntil(lambda: not feature.running, timeout=180000)
    assert not errors, errors
    log = feature.panel.log.toPlainText()
    assert "ccdstudio train --json-events" in log and "exit code 0" in log
    feature.panel.curves.redraw()
    counts = feature.panel.curves.point_counts()
    assert counts["step"] >= 4 and counts["validation"] == 1
    assert feature.outcome.model == out and feature.outcome.confusion is not None
    assert window.features["predict"].panel.picker.path() == out


def test_torchrun_command_parses_with_the_cli(tmp_path):
    from ccdstudio.cli import build_parser
    from ccdstudio.ml.data import DataSpec

    settings = TrainSettings(source="folder", folders=("x",), classes="ccd", model_size="small", epochs=3, crop=64,
                             lr=2e-3, processes=2, out=str(tmp_path / "m.safetensors"), layers="3-5")
    command = train_command(settings, [DataSpec(tmp_path / "a.fits", tmp_path / "a_labels.fits")])
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    args = build_parser().parse_args(command[command.index("ccdstudio") + 1:])
    assert args.json_events and args.epochs == 3 and args.crop == 64 and args.lr == 2e-3
    assert args.layers == (3, 5) and args.classes == "ccd" and args.model_config == "depth=4,base=8"
    assert args.data == [f"{tmp_path / 'a.fits'}:{tmp_path / 'a_labels.fits'}"]
    assert "torch.distributed.run" not in train_command(settings, [], processes=1)


def test_out_of_memory_is_reported_with_advice(qtbot, window, data_folder, tmp_path, errors, monkeypatch):
    from ccdstudio.gui.ml import training

    def exhausted(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(training, "load_training_data", exhausted)
    feature = set_up(window, data_folder, tmp_path / "m.safetensors")
    feature.start()
    qtbot.waitUntil(lambda: not feature.running, timeout=30000)
    assert errors and "ran out of memory" in errors[0][1] and "batch size" in errors[0][1]


def test_closing_during_training_asks_stops_and_keeps_the_best_model(qtbot, window, data_folder, tmp_path, monkeypatch):
    out = tmp_path / "closing.safetensors"
    feature = set_up(window, data_folder, out, epochs=500)
    answers = [False, True]
    monkeypatch.setattr(confirm, "ask", lambda *args: answers.pop(0))
    feature.start()
    qtbot.waitUntil(out.is_file, timeout=120000)
    assert not window.close() and feature.running
    assert window.close()
    assert feature.worker is None or not feature.worker.isRunning()
    assert load_model(out).info.metrics["epoch"] >= 1


def test_the_window_stays_responsive_while_training(qtbot, window, tmp_path):
    folder = write_frames(tmp_path / "big", 2, seed=3, shape=(256, 256))[0].parent
    feature = set_up(window, folder, tmp_path / "latency.safetensors", epochs=10)
    feature.panel.form.crop.setValue(64)
    assert wait_warm()  # the libraries load in the background while the window starts
    with LatencyProbe(qtbot) as probe:
        feature.start()
        qtbot.waitUntil(lambda: not feature.running, timeout=300000)
    feature.panel.curves.redraw()
    assert feature.panel.curves.point_counts()["step"] > 0
    assert probe.samples > 50
    assert probe.responsive(), probe.describe()


def test_the_projects_saved_labels_are_offered_as_training_data(qtbot, window, tmp_path):
    from types import SimpleNamespace

    from ccdstudio.labels.io import load_labels
    from ccdstudio.labels.project import Project

    images = write_frames(tmp_path / "data", 2, seed=2)
    project = Project.create(tmp_path / "project", CLASSES)
    keys = [project.add_image(path) for path in images]
    labels, _ = load_labels(images[0].with_name("toy0_labels.fits"))
    project.save_labels(keys[0], labels)  # only the first image has saved labels
    window.features["labels"] = SimpleNamespace(projects=SimpleNamespace(project=project))
    feature = window.features["train"]
    specs = feature.project_specs()
    assert [s.image for s in specs] == [images[0].resolve()] and specs[0].labels.is_file()
    feature.show()
    form = feature.panel.form
    assert form.source.model().item(form.source.findData("project")).isEnabled()
    assert form.settings().source == "project"


def test_closing_the_train_dock_gives_the_viewer_its_room_back(qtbot, window):
    window.resize(1400, 900)
    feature, results = window.features["train"], window.docks["results"]
    feature.show()
    qtbot.waitUntil(lambda: feature.dock.height() >= 0.35 * window.height(), timeout=5000)
    feature.dock.toggleViewAction().trigger()  # the dock's close button
    qtbot.waitUntil(lambda: results.isVisible() and results.height() < 0.3 * window.height(), timeout=5000)


def test_the_train_tab_clicked_gets_its_room_and_another_tab_gives_it_back(qtbot, window):
    window.resize(1400, 900)
    feature, results = window.features["train"], window.docks["results"]
    qtbot.waitUntil(lambda: results.isVisible(), timeout=5000)
    assert results.height() < 0.3 * window.height()
    feature.dock.raise_()  # as a click on its tab does
    qtbot.waitUntil(lambda: feature.dock.height() >= 0.35 * window.height(), timeout=5000)
    results.raise_()
    qtbot.waitUntil(lambda: results.height() < 0.3 * window.height(), timeout=5000)


def test_a_run_stopped_before_its_first_epoch_claims_no_model(tmp_path):
    """A model file already there is an earlier run's: it is neither reported nor made Predict's default."""
    from ccdstudio.gui.ml.training import outcome

    earlier = tmp_path / "m.safetensors"
    earlier.write_bytes(b"an earlier run's model")
    assert outcome(earlier, {"stopped": "cancelled", "best_epoch": 0}, ["a", "b"]).model is None
    assert outcome(earlier, {"stopped": "cancelled", "best_epoch": 2}, ["a", "b"]).model == earlier
