"""Train: the Train dock, which trains a new model, or fine-tunes one (by default the Predict model when it
fits the data), on the project's labels, folders of segments or exported samples, the open segment, or
simulated frames or segments while its curves move, then shows the validation report and makes the model the
Predict default. The form follows the open document until the user changes it: the Ink preset for a scroll
segment, CCD otherwise. One process trains in a worker thread, which Pause holds between two steps; several (multi-GPU)
run ``torchrun ... ccdstudio train --json-events`` as a subprocess whose JSON lines drive the same curves.

``install(window)`` returns the :class:`TrainFeature` (``window.features["train"]``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import messages
from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml import confirm
from ccdstudio.gui.ml.docking import model_menu
from ccdstudio.gui.ml.job_events import Stopwatch, time_text
from ccdstudio.gui.ml.job_runner import TrainProcess, start_job
from ccdstudio.gui.ml.train_panel import TrainPanel
from ccdstudio.gui.ml.training import (
    OOM_ADVICE,
    TrainOutcome,
    TrainSettings,
    prepare_and_train,
    prepare_data,
    process_outcome,
    train_command,
)
from ccdstudio.gui.workers import JobWorker
from ccdstudio.jobs import CancelToken
from ccdstudio.ml.data import DataSpec

SHOWN_HEIGHT = 0.4
"""Share of the window's height the Train dock gets at least when it is shown."""


class TrainFeature:
    """Starts, follows and stops training runs for the window."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.panel = TrainPanel()
        self.worker: JobWorker | None = None
        self.process: TrainProcess | None = None
        self.outcome: TrainOutcome | None = None
        self.settings: TrainSettings | None = None
        self._stop = CancelToken()
        self._finished_event: dict[str, Any] = {}
        self.clock = Stopwatch()
        self._pausable = False
        self._following_projects = False
        self._following_predict = False
        self.dock = window.add_dock("train", "Train", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea,
                                    tab_with="results")
        self.show_action = QAction(icon("school-outline"), "&Train a model…", window)
        self.show_action.triggered.connect(self.show)
        window.toolbar.addAction(self.show_action)
        model_menu(window).addAction(self.show_action)
        self.panel.startRequested.connect(lambda: self.start())
        self.panel.pauseRequested.connect(lambda paused: self.pause() if paused else self.resume())
        self.panel.stopRequested.connect(self.stop)
        # the project's labels are offered as soon as there are saved ones: whenever the project changes, an
        # image is shown, or the dock comes to the front (tab clicked); the label editor's project signal is
        # reached once every feature is installed
        window.documentChanged.connect(lambda *_: self.refresh_project())
        self.dock.visibilityChanged.connect(self._visibility_changed)
        self.dock.toggleViewAction().toggled.connect(lambda shown: None if shown else self._give_room_back())
        QTimer.singleShot(0, self.panel, self.refresh_project)
        window.close_guards.append(self._may_close)

    # ------------------------------------------------------------------ public
    @property
    def running(self) -> bool:
        return self.worker is not None or (self.process is not None and self.process.running)

    def show(self) -> None:
        self.refresh_project()
        self.dock.show()
        self.dock.raise_()
        self._make_room()

    def _visibility_changed(self, visible: bool) -> None:
        """Its tab clicked: the form and curves get their room; another tab of the stack clicked: it goes back."""
        if visible:
            self.refresh_project()
            self._make_room()
        elif self.dock.toggleViewAction().isChecked() and not self.window.isMinimized():
            self._give_room_back()

    def _make_room(self) -> None:
        # the curves need room: a bottom dock shares its height with others and may have been squeezed
        wanted = int(self.window.height() * SHOWN_HEIGHT)
        if not self.dock.isFloating() and self.dock.height() < wanted:
            self.window.resizeDocks([self.dock], [wanted], Qt.Orientation.Vertical)

    def _give_room_back(self) -> None:
        """Closed: the bottom stack shrinks back to its strip, so the viewer regains what :meth:`show` took."""
        from ccdstudio.gui.main_window import BOTTOM_DOCK_HEIGHT  # (the window module imports the features)

        others = [d for d in self.window.docks.values() if d is not self.dock and d.isVisible()
                  and self.window.dockWidgetArea(d) == self.window.dockWidgetArea(self.dock)]
        if others:
            self.window.resizeDocks(others[:1], [BOTTOM_DOCK_HEIGHT], Qt.Orientation.Vertical)

    def project_specs(self) -> list[DataSpec]:
        """The project's images whose labels are saved (the labels feature's ``project``, if any)."""
        project = self._project()
        if project is None:
            return []
        specs = []
        for key in project.images:
            labels = project.labels_path(key)
            if labels.is_file():
                specs.append(DataSpec(project.image_path(key), labels))
        return specs

    def start(self, subprocess: bool | None = None) -> bool:
        """Start training with the panel's settings; ``subprocess`` forces (or avoids) the torchrun path,
        which is otherwise taken for more than one process per node. Returns whether it started."""
        if self.running:
            return False
        form = self.panel.form
        if form.settings().source == "project" and not self._settle_unsaved_labels():
            return False
        if not form.settings().out and not form.choose_output():
            return False
        settings = form.settings()
        try:
            settings.check()
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot start training", str(error))
            return False
        self.settings, self.outcome, self._finished_event = settings, None, {}
        self._stop = CancelToken()
        self.clock.restart()
        self.panel.curves.clear()
        self.panel.log.clear()
        self.panel.tabs.setCurrentWidget(self.panel.curves)
        in_subprocess = subprocess if subprocess is not None else settings.processes > 1
        self._pausable = not in_subprocess
        self.panel.set_running(True, pausable=self._pausable)
        project = self.project_specs()
        if settings.source == "project":
            self.add_log(f"training on the saved labels of {len(project)} project image(s)")
        if in_subprocess:
            worker = self._run(lambda cancel: prepare_data(settings, project, cancel), "Preparing training data")
            worker.finished_with.connect(lambda specs: self._launch(worker, settings, specs))
        else:
            stop = self._stop
            worker = self._run(lambda cancel: prepare_and_train(settings, project, stop, cancel), "Training")
            worker.finished_with.connect(lambda outcome: self._finished(worker, outcome))
        start = f"fine-tuning {Path(settings.init).name}" if settings.init else f"training a {settings.model_size} model"
        self.add_log(f"{start} for {settings.epochs} epochs on {settings.source} data, device {settings.device}; "
                     f"best model -> {settings.out}")
        return True

    def pause(self) -> bool:
        """Hold the in-process run after its current step, keeping all its state; False if there is none
        (a torchrun subprocess is never paused: its ranks would time out waiting for each other)."""
        if not self._pausable or self.worker is None or self.worker.paused:
            return False
        self.worker.pause()
        self.panel.set_paused(True)
        self.add_log("pausing after the current step")
        return True

    def resume(self) -> None:
        """Let a paused run go on."""
        if self.worker is not None and self.worker.paused:
            self.worker.resume()
        self.panel.set_paused(False)

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.paused

    def stop(self) -> None:
        """End the run at its next step, keeping the best model (its report is still computed)."""
        if self.process is not None and self.process.running:
            self.process.stop()
        self._stop.cancel()
        if self.running:
            self.add_log("stopping; the best model so far is kept")
        self.resume()  # a paused run must reach its next step to stop there

    def add_log(self, line: str) -> None:
        self.panel.add_log(f"[{time.strftime('%H:%M:%S')}] {line}")

    # ------------------------------------------------------------------ running
    def _run(self, factory, title: str) -> JobWorker:
        worker = start_job(factory, title, self.window, self._event, OOM_ADVICE)
        self.worker = worker
        worker.progress.connect(lambda fraction, message: self._progress(fraction if fraction >= 0 else None, message))
        worker.failed.connect(lambda message: self._failed(worker, message))
        worker.cancelled.connect(lambda: self._ended(worker, "cancelled"))
        worker.pausedChanged.connect(lambda paused: self._paused_changed(worker, paused))
        return worker

    def _paused_changed(self, worker: JobWorker, paused: bool) -> None:
        """The worker halted or went on: the clock (elapsed, time left) leaves the pause out."""
        if worker is not self.worker:
            return
        if paused:
            self.clock.pause()
            self.add_log("paused; Resume goes on from here, Stop keeps the best model so far")
            self.panel.show_progress(None, "paused", time_text(self.clock.elapsed, None) + ", paused")
        else:
            self.clock.resume()
            self.add_log("resumed")

    def _launch(self, worker: JobWorker, settings: TrainSettings, specs: list[DataSpec]) -> None:
        """Start the ``ccdstudio train --json-events`` subprocess (torchrun for several processes)."""
        if worker is not self.worker:
            return
        self.worker = None
        if self._stop.cancelled:
            self._ended(None, "stopped")
            return
        self.process = TrainProcess(train_command(settings, specs), self.window)
        self.process.event.connect(self._event)
        self.process.log.connect(self.add_log)
        self.process.ended.connect(lambda code, asked: self._process_ended(settings, specs, code, asked))
        self.process.start()

    def _process_ended(self, settings: TrainSettings, specs: list[DataSpec], code: int, asked: bool) -> None:
        self.add_log(f"training process ended (exit code {code})")
        self.process = None
        if not Path(settings.out).is_file():
            self._ended(None, "no model was saved")
            if not asked:
                messages.show_error(self.window, "Training failed",
                                    f"The training process ended with exit code {code} before saving a model; "
                                    "see the log in the Train panel.")
            return
        finished = self._finished_event or {"stopped": "stopped" if asked else "completed"}
        try:
            outcome = process_outcome(settings.out, finished)
        except CcdstudioError as error:
            self._failed(None, str(error))
            return
        self._finished(None, outcome)

    def _event(self, event: dict[str, Any]) -> None:
        self.panel.curves.add_event(event)
        kind = event.get("event")
        if "fraction" in event or (kind == "step" and self.process is not None):
            self._progress(event.get("fraction"), str(event.get("message", "")))
        if kind == "epoch":
            metric = f", F1 {event['f1_macro']:.3f}, IoU {event['iou_mean']:.3f}" if "f1_macro" in event else ""
            self.add_log(f"epoch {event['epoch']}: loss {event['loss']:.4f}, validation loss {event['val_loss']:.4f}"
                         f"{metric}  ({event.get('seconds', 0):.1f} s, {event.get('mpix_per_s', 0):.2f} Mpix/s)")
        elif kind == "checkpoint" and event.get("kind") == "best":
            self.add_log(f"saved the best model so far to {event.get('path')}")
        elif kind == "finished":
            self._finished_event = dict(event)
            self.add_log(f"finished ({event.get('stopped')}); best epoch {event.get('best_epoch')}")
        elif kind in ("error", "warning"):
            self.add_log(f"{kind}: {event.get('message')}")

    def _progress(self, fraction: float | None, message: str) -> None:
        self.panel.show_progress(fraction, message, time_text(self.clock.elapsed, fraction))

    def _finished(self, worker: JobWorker | None, outcome: TrainOutcome) -> None:
        if worker is not self.worker:
            return
        self.outcome = outcome
        self._ended(worker, outcome.stopped)
        if outcome.model is None:
            self.add_log("no epoch finished, so no model was saved")
            return
        title = (f"{outcome.model.name}: best epoch {outcome.best_epoch}, validation loss {outcome.best_val_loss:.4f} "
                 f"({outcome.stopped}); rows are true classes, columns predicted")
        self.panel.report.show_report(outcome.report, outcome.classes, outcome.confusion, title)
        self.panel.tabs.setCurrentWidget(self.panel.report)
        predict = self.window.features.get("predict") if hasattr(self.window, "features") else None
        if predict is not None:
            predict.set_default_model(outcome.model)
        project = self._project()
        if project is not None:
            try:
                project.add_model(outcome.model, best_epoch=outcome.best_epoch, stopped=outcome.stopped)
            except (CcdstudioError, TypeError, ValueError) as error:
                self.add_log(f"could not record the model in the project: {error}")
        self.add_log(f"model saved to {outcome.model}; it is now the Predict default")
        self.window.statusBar().showMessage(f"Trained {outcome.model.name}: now the Predict default", 8000)

    def _failed(self, worker: JobWorker | None, message: str) -> None:
        if worker is not self.worker:
            return
        self._ended(worker, "failed")
        self.add_log(f"error: {message}")
        messages.show_error(self.window, "Training failed", message)

    def _ended(self, worker: JobWorker | None, how: str) -> None:
        if worker is self.worker:
            self.worker = None
        if not self.running:
            self.panel.set_running(False)
            self.clock.resume()
            self.panel.show_progress(None, f"training {how}", time_text(self.clock.elapsed, None))

    # ------------------------------------------------------------------ window
    def refresh_project(self) -> None:
        """Offer the project's saved labels and the open segment's ink labels as training data (or not),
        follow the open document's kind and the Predict model, and start the model's save dialog in the
        project's ``models`` folder, else beside the shown image."""
        self._follow_projects()
        self._follow_predict()
        project, document = self._project(), getattr(self.window, "document", None)
        form = self.panel.form
        form.set_project_available(bool(self.project_specs()))
        form.follow_document(*self._document_defaults(document))
        if project is not None:
            form.set_output_folder(Path(project.folder) / "models")
        else:
            form.set_output_folder(Path(document.path).parent if document is not None else None)

    @staticmethod
    def _document_defaults(document: Any) -> tuple[str | None, Path | None]:
        """``(preset, segment)`` for the open ``document``: Ink for a scroll segment, CCD for anything else,
        None without one; and the segment's folder when it has ink labels to train on."""
        if document is None:
            return None, None
        if document.source.format != "segment":
            return "CCD", None
        labelled = any(plane.role == "labels" for plane in document.source.planes)
        return "Ink", Path(document.source.path) if labelled else None

    def _follow_predict(self) -> None:
        """Offer the Predict panel's model to start from, following its choice, once."""
        predict = getattr(self.window, "features", {}).get("predict")
        if predict is not None and not self._following_predict:
            picker = predict.panel.picker
            picker.modelChanged.connect(self.panel.form.set_predict_model)
            self.panel.form.set_predict_model(picker.path())
            self._following_predict = True

    def _labels(self) -> Any:
        return getattr(self.window, "features", {}).get("labels")

    def _project(self) -> Any:
        """The open labelling project: the label editor's ``projects.project`` (or a ``project`` attribute)."""
        labels = self._labels()
        project = getattr(labels, "project", None)
        return project if project is not None else getattr(getattr(labels, "projects", None), "project", None)

    def _follow_projects(self) -> None:
        """Listen to the label editor's project (opened, closed, images added, labels saved), once."""
        changed = getattr(getattr(self._labels(), "projects", None), "changed", None)
        if changed is not None and not self._following_projects:
            changed.connect(self.refresh_project)
            self._following_projects = True

    def _settle_unsaved_labels(self) -> bool:
        """Before training on the project: offer to save the labels of its images that are changed in memory
        (training reads the saved ones). False when the user cancelled or a save failed."""
        editor, project = self._labels(), self._project()
        if project is None or not hasattr(editor, "unsaved_sessions"):
            return True
        unsaved = [s for s in editor.unsaved_sessions() if s.key is not None and s.key in project.images]
        if not unsaved:
            return True
        names = "\n".join(f"  {s.image_path.name}" for s in unsaved)
        answer = confirm.ask_save_first(
            self.window, "Unsaved labels", f"Labels of these project images are changed but not saved:\n{names}\n\n"
            "Training reads the saved labels. Save the changes first?", "Train on saved labels")
        if answer == "save":
            return all(editor.save(session) for session in unsaved)
        return answer == "go on"

    def _may_close(self) -> bool:
        if not self.running:
            return True
        out = self.settings.out if self.settings is not None else "its file"
        if not confirm.ask(self.window, "Training running",
                           f"A model is being trained. Stop it and close? The best model so far is kept in {out}."):
            return False
        self._stop.cancel()
        worker, process = self.worker, self.process
        if worker is not None:
            worker.cancel()
            worker.wait(60000)
        if process is not None:
            process.stop()
            process.wait(15000)
        return True


def install(window: Any) -> TrainFeature:
    return TrainFeature(window)
