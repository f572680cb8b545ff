"""Predict: run a model over the shown image in the background and show the result as a class overlay,
with its legend, objects to step through, the cluster table, and "Accept as labels".

``install(window)`` adds the Predict and Prediction results docks, a toolbar button (Ctrl+R) and the Model
menu's entries, and returns the :class:`PredictFeature` (``window.features["predict"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from ccdstudio.gui import messages
from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml import confirm
from ccdstudio.gui.ml.job_events import Stopwatch, time_text
from ccdstudio.gui.ml.job_runner import start_job
from ccdstudio.gui.ml.docking import model_menu
from ccdstudio.gui.ml.model_picker import default_model
from ccdstudio.gui.ml.predict_panel import PredictPanel
from ccdstudio.gui.ml.prediction import OOM_ADVICE, PredictionResult, predict_image, save_prediction
from ccdstudio.gui.ml.results_panel import ResultsPanel
from ccdstudio.gui.ml.status_progress import StatusProgress
from ccdstudio.gui.viewer import class_lut
from ccdstudio.gui.workers import JobWorker

OVERLAY = "prediction"


class PredictFeature:
    """Runs predictions for the window and owns what they show."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.panel = PredictPanel()
        self.results = ResultsPanel()
        self.worker: JobWorker | None = None
        self.result: PredictionResult | None = None
        self._target: tuple[Any, int] | None = None  # (source, plane) of the running or shown prediction
        self.clock = Stopwatch()
        self._hidden: set[int] = set()

        # the controls tabbed into the right-hand column, so the image keeps the width; the cluster table at
        # the bottom with the particle Results, where its columns have the window's width
        self.dock = window.add_dock("predict", "Predict", self.panel, Qt.DockWidgetArea.RightDockWidgetArea,
                                    tab_with="ccd")
        window.add_dock("prediction", "Prediction results", self.results, Qt.DockWidgetArea.BottomDockWidgetArea,
                        tab_with="results")
        self.predict_action = self._action("&Predict", self.predict, "brain", "Ctrl+R")
        self.predict_action.setToolTip("Segment the shown image with the chosen model (Ctrl+R)")
        self.next_action = self._action("Next object", lambda: self.results.step(1), "chevron-right", "Alt+Right")
        self.prev_action = self._action("Previous object", lambda: self.results.step(-1), "chevron-left", "Alt+Left")
        window.toolbar.addSeparator()
        window.toolbar.addAction(self.predict_action)
        menu = model_menu(window)
        menu.addActions([self.predict_action, self.next_action, self.prev_action])
        menu.addSeparator()

        self.status_progress = StatusProgress(window, self.cancel)
        self.panel.predictRequested.connect(self.predict)
        self.panel.cancelRequested.connect(self.cancel)
        self.panel.classVisibilityChanged.connect(self.set_class_visible)
        self.panel.opacityChanged.connect(self._opacity_changed)
        self.panel.shownChanged.connect(self._shown_changed)
        self.panel.picker.modelChanged.connect(lambda *_: self._update_layer_choice())
        self.results.objectRequested.connect(self._centre_on)
        self.results.acceptRequested.connect(self.accept_labels)
        self.results.saveRequested.connect(self.save)
        self.results.exportRequested.connect(self.export_table)
        window.documentChanged.connect(self._document_changed)
        window.close_guards.append(self._may_close)
        self.predict_action.setEnabled(False)

    def _action(self, text: str, slot, icon_name: str, shortcut: str) -> QAction:
        action = QAction(icon(icon_name), text, self.window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        return action

    # ------------------------------------------------------------------ public
    def set_default_model(self, path: Path) -> None:
        """Make ``path`` the model Predict uses (a freshly trained one, say); it is remembered as last used."""
        self.panel.picker.set_path(Path(path))

    @property
    def running(self) -> bool:
        return self.worker is not None

    def predict(self) -> None:
        """Predict the shown plane with the chosen model in the background."""
        document, window = self.window.document, self.window
        if document is None or self.running:
            return
        model = self.panel.picker.path()
        if model is None:
            messages.show_error(window, "No model", "Choose a model file (Browse…) or train one in the Train panel.")
            return
        options = self.panel.options(model)
        source, plane = document.view_source, document.view_plane
        pedestal = document.prepared.pedestal if document.is_fits else None
        gain = window.ccd_panel.gain_adu_per_electron()
        self._target = (source, plane)
        self.clock.restart()
        read = document.predict_source  # the same pixels, with sections set by hand in its header
        worker = start_job(lambda cancel: predict_image(options, read, plane, pedestal=pedestal, gain=gain,
                                                        cancel=cancel),
                           f"Predicting with {model.name}", window, advice=OOM_ADVICE)
        self.worker = worker
        worker.progress.connect(self._progress)
        worker.finished_with.connect(lambda result: self._done(worker, result))
        worker.failed.connect(lambda message: self._failed(worker, message))
        worker.cancelled.connect(lambda: self._ended(worker, "Prediction cancelled"))
        self.panel.set_running(True)
        self.panel.status.setText(f"Predicting {document.path.name} with {model.name}…")
        # started from the toolbar or Ctrl+R, the run's progress, time and Cancel must be in sight
        self.dock.show()
        self.dock.raise_()
        self.status_progress.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def set_class_visible(self, index: int, visible: bool) -> None:
        """Show or hide one class of the prediction overlay."""
        (self._hidden.discard if visible else self._hidden.add)(index)
        if self.result is not None and OVERLAY in self.window.viewer.overlay_names():
            self.window.viewer.overlay(OVERLAY).lut = self._lut()
            self.window.viewer.schedule_render(immediately=True)

    def accept_labels(self) -> bool:
        """Hand the prediction to the labels feature as one undoable replacement; False if there is none."""
        if self.result is None:
            return False
        labels = self.window.features.get("labels")
        if labels is None or not hasattr(labels, "accept_labels"):
            self.results.summary.setText("There is no label editor in this window, so the prediction stays an "
                                         "overlay. Save it (Save…) to keep it as a label file.")
            return False
        labels.accept_labels(self.result.labels.copy(), self.result.classes, f"Prediction ({self.result.model.name})")
        self.panel.shown.setChecked(False)  # the labels show it now; under them it would hide the corrections
        self.window.statusBar().showMessage("Prediction accepted as labels (Undo restores the previous ones)", 5000)
        return True

    def save(self) -> None:
        document, result = self.window.document, self.result
        if document is None or result is None:
            return
        stem = document.path.name.split(".")[0]
        suffix = "fits" if document.is_fits else "tif"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save prediction", str(document.path.with_name(
            f"{stem}_labels.{suffix}")), "Label files (*.fits *.tif *.png *.npy)")
        if path:
            header = document.plane_info.header if document.is_fits and path.lower().endswith(".fits") else None
            try:
                save_prediction(path, result, header)
            except Exception as error:  # noqa: BLE001 - a failed write is reported, never fatal
                messages.show_error(self.window, "Cannot save the prediction", str(error))
                return
            self.window.statusBar().showMessage(f"Saved {path}", 5000)

    def export_table(self) -> None:
        result = self.result
        if result is None or result.clusters is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Export cluster table", "clusters.csv", "CSV (*.csv)")
        if path:
            try:
                result.clusters.table.to_csv(path)
            except Exception as error:  # noqa: BLE001
                messages.show_error(self.window, "Cannot export the table", str(error))

    # ------------------------------------------------------------------ worker
    def _progress(self, fraction: float, message: str) -> None:
        self.panel.show_progress(fraction, message, time_text(self.clock.elapsed, fraction if fraction >= 0 else None))
        self.status_progress.update(fraction, message)

    def _done(self, worker: JobWorker, result: PredictionResult) -> None:
        if worker is not self.worker:
            return
        self._ended(worker, "")
        document = self.window.document
        if document is None or self._target != (document.view_source, document.view_plane):
            return  # another image is shown now
        self.result = result
        self._hidden.clear()
        self.panel.shown.setChecked(True)
        self._show_overlay()
        self.panel.show_legend(result.classes, result.pixels)
        self.results.show_result(result, one_based=document.is_fits)
        self.panel.status.setText(f"Done in {self.clock.elapsed:.1f} s "
                                  f"({result.seconds:.1f} s of inference on {result.device}).")
        self.window.docks["prediction"].raise_()

    def _failed(self, worker: JobWorker, message: str) -> None:
        if worker is not self.worker:
            return
        self._ended(worker, "Prediction failed")
        messages.show_error(self.window, "Prediction failed", message)

    def _ended(self, worker: JobWorker, message: str) -> None:
        if worker is self.worker:
            self.worker = None
            self.panel.set_running(False)
            self.status_progress.stop()
            if message:
                self.panel.status.setText(message)

    # ------------------------------------------------------------------ showing
    def _lut(self):
        lut = class_lut(self.result.classes.colors)
        for index in self._hidden:
            lut[index, 3] = 0
        return lut

    def _show_overlay(self) -> None:
        self.window.viewer.set_overlay(OVERLAY, self.result.labels, lut=self._lut(),
                                       opacity=self.panel.opacity.value() / 100, visible=self.panel.shown.isChecked())

    def _opacity_changed(self, opacity: float) -> None:
        if OVERLAY in self.window.viewer.overlay_names():
            self.window.viewer.set_overlay_opacity(OVERLAY, opacity)

    def _shown_changed(self, shown: bool) -> None:
        if OVERLAY in self.window.viewer.overlay_names():
            self.window.viewer.set_overlay_visible(OVERLAY, shown)

    def _centre_on(self, x: float, y: float, across: float) -> None:
        self.window.viewer.centre_on(x, y, across)

    def _document_changed(self, document: Any) -> None:
        self.predict_action.setEnabled(True)
        self.panel.picker.suggest(default_model(document.is_fits))
        self._update_layer_choice()
        target = (document.view_source, document.view_plane)
        if self.running and self._target != target:
            self.cancel()
        if self.result is not None and self._target == target:
            self._show_overlay()  # the window clears overlays whenever it shows a plane
        elif self.result is not None:
            self.result = None
            self.panel.show_legend(None)
            self.results.show_result(None)

    def _update_layer_choice(self) -> None:
        from ccdstudio.errors import CcdstudioError
        from ccdstudio.ml.modelfile import read_info

        document, model = self.window.document, self.panel.picker.path()
        multi = False
        if document is not None and model is not None and document.source.format == "segment":
            try:
                multi = read_info(model).in_channels > 1
            except CcdstudioError:
                multi = False
        self.panel.set_layer_choice(multi)

    def _may_close(self) -> bool:
        if not self.running:
            return True
        if not confirm.ask(self.window, "Prediction running", "A prediction is running. Cancel it and close?"):
            return False
        self.cancel()
        worker = self.worker
        worker.wait(30000)
        return True


def install(window: Any) -> PredictFeature:
    return PredictFeature(window)
