"""Pause in the Train panel: the job worker holds a job between two events and lets it go on with its state,
the clock leaves the pause out, a paused run still stops (keeping the best model) or closes."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from ccdstudio.gui.ml.job_events import Stopwatch
from ccdstudio.gui.workers import JobWorker
from ccdstudio.jobs import Progress, check
from ccdstudio.ml.modelfile import load_model
from tests.gui.test_train import set_up

LEFT = Qt.MouseButton.LeftButton


pytestmark = pytest.mark.usefixtures("no_questions")


def counting(n, cancel, delay=0.005):
    total = 0
    for i in range(n):
        check(cancel)
        time.sleep(delay)
        total += i  # state the generator keeps across a pause
        yield Progress((i + 1) / n, f"step {i + 1}")
    return total


def test_a_paused_worker_holds_between_events_and_goes_on_with_its_state(qtbot):
    worker = JobWorker(lambda cancel: counting(200, cancel))
    events, halted, results = [], [], []
    worker.progress.connect(lambda f, m: events.append(m))
    worker.pausedChanged.connect(halted.append)
    worker.finished_with.connect(results.append)
    worker.start()
    qtbot.waitUntil(lambda: len(events) >= 5, timeout=5000)
    worker.pause()
    assert worker.paused
    qtbot.waitUntil(lambda: halted == [True], timeout=5000)
    seen = len(events)
    qtbot.wait(300)  # 60 steps' worth of time
    assert len(events) == seen and worker.isRunning() and not results
    worker.resume()
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert worker.wait(5000)
    assert results == [sum(range(200))] and halted == [True, False]
    assert events == [f"step {i + 1}" for i in range(200)]  # nothing lost, nothing repeated


def test_cancel_ends_a_paused_worker(qtbot):
    worker = JobWorker(lambda cancel: counting(10000, cancel))
    halted = []
    worker.pausedChanged.connect(halted.append)
    worker.start()
    worker.pause()
    qtbot.waitUntil(lambda: halted == [True], timeout=5000)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.cancel()
    assert worker.wait(5000)


def test_the_stopwatch_leaves_pauses_out():
    now = [100.0]
    watch = Stopwatch(lambda: now[0])
    now[0] = 110.0
    watch.pause()
    now[0] = 170.0
    assert watch.elapsed == 10.0 and watch.paused
    watch.pause()  # pausing twice changes nothing
    now[0] = 180.0
    watch.resume()
    now[0] = 185.0
    assert watch.elapsed == 15.0 and not watch.paused
    watch.restart()
    assert watch.elapsed == 0.0


def halted(qtbot, feature):
    """Wait until the training worker has really stopped between two steps."""
    qtbot.waitUntil(lambda: "paused; Resume" in feature.panel.log.toPlainText(), timeout=30000)


def test_pause_holds_training_and_resume_finishes_it(qtbot, window, data_folder, tmp_path, errors):
    out = tmp_path / "paused.safetensors"
    feature = set_up(window, data_folder, out, epochs=3)
    panel = feature.panel
    curves = panel.curves
    qtbot.mouseClick(panel.start_button, LEFT)
    qtbot.waitUntil(lambda: len(curves.step_losses) >= 2, timeout=60000)
    assert panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.pause_button, LEFT)
    assert feature.paused and panel.pause_button.text() == "Resume"
    halted(qtbot, feature)
    steps, elapsed = len(curves.step_losses), feature.clock.elapsed
    qtbot.wait(800)
    assert len(curves.step_losses) == steps and feature.running
    assert feature.clock.elapsed == pytest.approx(elapsed)  # the paused time does not count
    assert panel.time_label.text().endswith("paused")
    qtbot.mouseClick(panel.pause_button, LEFT)
    assert not feature.paused and panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: not feature.running, timeout=120000)
    assert not errors
    history = feature.outcome.history
    assert [e["epoch"] for e in history] == [1, 2, 3]  # the run went on where it was, not from the start
    assert feature.outcome.stopped == "completed" and out.is_file()
    assert not panel.pause_button.isEnabled()


def test_stop_while_paused_keeps_the_best_model(qtbot, window, data_folder, tmp_path, errors):
    out = tmp_path / "stopped.safetensors"
    feature = set_up(window, data_folder, out, epochs=500)
    feature.start()
    qtbot.waitUntil(out.is_file, timeout=120000)
    assert feature.pause()
    halted(qtbot, feature)
    qtbot.mouseClick(feature.panel.stop_button, LEFT)
    qtbot.waitUntil(lambda: not feature.running, timeout=60000)
    assert not errors
    assert feature.outcome.stopped == "cancelled" and feature.outcome.model == out
    assert feature.outcome.confusion is not None and load_model(out).info.metrics["epoch"] >= 1


def test_closing_while_paused_stops_and_keeps_the_best_model(qtbot, window, data_folder, tmp_path):
    out = tmp_path / "closing.safetensors"
    feature = set_up(window, data_folder, out, epochs=500)
    feature.start()
    qtbot.waitUntil(out.is_file, timeout=120000)
    feature.pause()
    halted(qtbot, feature)
    assert window.close()
    assert feature.worker is None or not feature.worker.isRunning()
    assert load_model(out).info.metrics["epoch"] >= 1
