"""Segment: the scroll-segment dock — layer range, projections, mask/ink/prediction overlays, ink prediction
and cleaning a prediction into labels.

``install(window)`` adds the Segment dock (shown only while a segment is open) and returns the
:class:`SegmentFeature` (``window.features["segment"]``).

How a projection is shown: it is wrapped in a one-plane :class:`~ccdstudio.io.source.ArraySource`, prepared
like any plane (:func:`ccdstudio.imaging.render.prepare_plane`) and handed to ``window.viewer.set_plane`` with
the view kept, plus its level sample to the Display dock. The window's :class:`~ccdstudio.gui.document.Document`
is left alone (it still names the current layer), so overlays, labels and every other feature keep working on
the same pixel grid; moving the layer slider shows the layer again, and "Show projection" swaps back from the
cache without recomputing. While the projection is shown, the status bar's value and the Pixel table are the
projection's (uncalibrated: a standard deviation or mean of layers is not in ADU over a pedestal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import messages, settings
from ccdstudio.gui.document import Document
from ccdstudio.gui.panels.pixel_table import format_value
from ccdstudio.gui.segment import jobs
from ccdstudio.gui.segment.jobs import InkPrediction, LayerRange, ProjectionView
from ccdstudio.gui.segment.overlays import INK, MASK, PREDICTION, STYLES, OverlayStyle, lut_for
from ccdstudio.gui.segment.panel import SegmentPanel
from ccdstudio.gui.workers import JobWorker
from ccdstudio.imaging.stretch import Calibration
from ccdstudio.io.segment_window import centred_window, layer_order
from ccdstudio.io.source import ImageSource

MODEL_FILTER = "Model files (*.safetensors);;All files (*)"
PREDICTION_FOLDER_KEY = "segment/prediction_folder"
"""Settings key: the folder the last ink prediction was written into (asked for each time, offered again)."""


class SegmentFeature:
    """Owns the Segment dock and what it shows over the window's viewer."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.panel = SegmentPanel()
        self.dock = window.add_dock("segment", "Segment", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.document: Document | None = None
        self.default: LayerRange | None = None
        """The range centred on the estimated surface, once estimated."""
        self.projection: ProjectionView | None = None
        """The last projection computed (shown or not), reused while range and mode stay the same."""
        self.showing_projection = False
        self.prediction: np.ndarray | None = None
        self.prediction_file: Path | None = None
        self._estimators: set[JobWorker] = set()
        self._opened_plane: int | None = None  # the layer a segment opened on, until the surface is known
        self._layer_text = ""

        panel = self.panel
        panel.rangeChanged.connect(lambda *_: self._projection_inputs_changed())
        panel.modeChanged.connect(lambda *_: self._projection_inputs_changed())
        panel.centreRequested.connect(self.centre_on_surface)
        panel.reverseToggled.connect(self.reopen)
        panel.projectionToggled.connect(self.set_projection_shown)
        panel.overlayVisibilityChanged.connect(self._overlay_toggled)
        panel.overlayOpacityChanged.connect(self._opacity_changed)
        panel.predictRequested.connect(self.choose_model_and_predict)
        panel.cleanRequested.connect(self.clean_into_labels)
        window.documentChanged.connect(self._document_changed)
        window.viewer.cursorMoved.connect(self._show_projection_value)
        window.close_guards.append(self._stop_estimators)
        self._document_changed(None)

    # ------------------------------------------------------------------ document
    @property
    def source(self) -> ImageSource | None:
        return self.document.source if self.document is not None else None

    def _document_changed(self, document: Document | None) -> None:
        is_segment = document is not None and document.source.format == "segment"
        self.dock.toggleViewAction().setEnabled(is_segment)
        self.dock.setVisible(is_segment)
        self.panel.setEnabled(is_segment)
        if not is_segment:
            self.document, self.default, self.projection = None, None, None
            self.prediction, self.prediction_file, self.showing_projection = None, None, False
            self.panel.set_projection_shown(False)
            return
        new_source = self.source is not document.source
        self.document = document
        self.showing_projection = False  # set_document has put a layer on screen
        self.panel.set_projection_shown(False)
        if new_source:
            self._segment_opened(document.source)
        self._add_overlays()

    def _segment_opened(self, source: ImageSource) -> None:
        self.dock.raise_()
        self._opened_plane = self.document.plane if self.document is not None else None
        self.projection, self.prediction = None, None
        n = len(layer_order(source))
        self.default = None
        first, last = centred_window((n - 1) // 2, jobs.default_count(n), n)  # until the surface is known
        self.panel.set_layers(n, first, last, bool(source.metadata.get("reversed", False)))
        self.panel.set_surface_text("Estimating the surface layer…")
        self.centre_on_surface()
        remembered = settings.settings().value(PREDICTION_FOLDER_KEY, "")
        self.prediction_file = jobs.find_prediction(source, *([Path(remembered)] if remembered else []))
        self.panel.set_overlay_available(PREDICTION.name, self.prediction_file is not None, visible=False)
        self.panel.set_prediction_text(f"Found {self.prediction_file.name}: tick Ink prediction to show it"
                                       if self.prediction_file else "No prediction yet: Predict ink… makes one")

    # ------------------------------------------------------------------ layer range
    def layer_range(self) -> tuple[int, int]:
        return self.panel.layer_range()

    def set_layer_range(self, first: int, last: int) -> None:
        """Choose layers ``first..last`` (stack positions), as if typed into the dock."""
        self.panel.set_layers(self.panel.first.maximum() + 1, first, last, self.panel.reverse.isChecked())
        self._projection_inputs_changed()

    def centre_on_surface(self) -> None:
        """Estimate the surface in the background and centre the range on it (the default on opening)."""
        source = self.source
        if source is None:
            return
        worker = JobWorker(lambda cancel: jobs.default_range(source, cancel), "Estimating the surface", self.window)
        self._estimators.add(worker)
        worker.finished_with.connect(lambda found: self._surface_found(source, found))
        worker.failed.connect(lambda message: self.panel.set_surface_text(f"Surface not estimated: {message}"))
        worker.finished.connect(lambda: self._estimators.discard(worker))
        worker.start()

    def _surface_found(self, source: ImageSource, found: LayerRange) -> None:
        if source is not self.source:
            return  # another segment was opened meanwhile
        self.default = found
        self.panel.set_layers(found.layers, found.first, found.last, self.panel.reverse.isChecked())
        note = "" if found.reliable else " (no contrast between layers: the middle one is assumed)"
        self.panel.set_surface_text(f"Surface: layer {found.surface} of {found.layers}{note}")
        self._projection_inputs_changed()
        document = self.document
        if found.reliable and document is not None and document.plane == self._opened_plane \
                and self.window.worker is None:  # show the papyrus's surface, not the air, unless moved already
            self.window.choose_plane(layer_order(source)[found.surface])

    def _stop_estimators(self) -> bool:
        for worker in list(self._estimators):
            worker.cancel()
            worker.wait(10000)
        return True

    def reopen(self, reverse: bool) -> None:
        """Open the segment again with its layers in reverse file order (z-reversal), or back."""
        document = self.document
        if document is None:
            return
        worker = self.window.run_job(lambda cancel: jobs.reopen_segment(document.path, reverse, cancel),
                                     f"Reopening {document.path.name}", self.window.set_document,
                                     "Cannot reopen the segment")

        def restore(*_: Any) -> None:  # the box follows the segment actually shown
            self.panel.set_layers(self.panel.first.maximum() + 1, *self.layer_range(), not reverse)

        worker.failed.connect(restore)
        worker.cancelled.connect(restore)

    # ------------------------------------------------------------------ projection
    def set_projection_shown(self, shown: bool) -> None:
        """Show the projection of the range in the chosen mode (computing it if needed), or the layer again."""
        document = self.document
        if document is None:
            return
        self.panel.set_projection_shown(shown)
        if not shown:
            if self.showing_projection:
                self.showing_projection = False
                self._show_prepared(document.view_source, document.view_plane, document.prepared,
                                    self._layer_text)
            return
        first, last = self.layer_range()
        mode = self.panel.current_mode()
        cached = self.projection
        if cached is not None and (cached.first, cached.last, cached.mode) == (first, last, mode):
            self._show_projection(document.source, cached)
            return
        source = document.source
        worker = self.window.run_job(lambda cancel: jobs.projection_view(source, first, last, mode, cancel),
                                     f"{mode} projection of layers {first}-{last}",
                                     lambda view: self._show_projection(source, view),
                                     "Cannot compute the projection")
        if not self.showing_projection:  # a failed or cancelled first projection unchecks the button
            worker.failed.connect(lambda *_: self.panel.set_projection_shown(False))
            worker.cancelled.connect(lambda: self.panel.set_projection_shown(False))

    def _projection_inputs_changed(self) -> None:
        if self.panel.show_projection.isChecked():
            self.set_projection_shown(True)

    def _show_projection(self, source: ImageSource, view: ProjectionView) -> None:
        if source is not self.source:
            return  # computed for a segment no longer shown
        self.projection = view
        if not self.panel.show_projection.isChecked():
            return  # unchecked while computing
        if not self.showing_projection:
            self._layer_text = self.window.plane_label.text()  # the layer's description, back when it is
        self.showing_projection = True
        path = self.document.path.name
        self._show_prepared(view.source, 0, view.prepared, f"{path} — {view.describe()}")

    def _show_prepared(self, source: ImageSource, plane: int, prepared: Any, text: str) -> None:
        window = self.window
        window.viewer.set_plane(source, plane, prepared.overview, prepared.outliers, origin_bottom=False,
                                keep_view=True)
        window.display_panel.set_sample(prepared.sample, window.calibration())
        window.plane_label.setText(text)
        if window.pixel_table.position is not None:  # the table follows what is on screen, cursor or not
            self._fill_pixel_table(source, plane, *window.pixel_table.position)

    def _show_projection_value(self, row: int, col: int) -> None:
        # Runs after the window's own handler (connected first), so the projection's values win.
        if self.showing_projection and self.projection is not None:
            value = float(self.projection.source.read(0, (slice(row, row + 1), slice(col, col + 1)))[0, 0])
            self.window.value_label.setText(f"{format_value(value)} ({self.projection.mode})")
            self._fill_pixel_table(self.projection.source, 0, row, col)

    def _fill_pixel_table(self, source: ImageSource, plane: int, row: int, col: int) -> None:
        window = self.window
        if window.docks["pixels"].isVisible():
            calibration = Calibration(raw_unit="") if self.showing_projection else window.calibration()
            window.pixel_table.show_around(source, plane, row, col, window.convention(), calibration)

    # ------------------------------------------------------------------ overlays
    def _add_overlays(self) -> None:
        source = self.source
        masks, labels = source.indices("mask"), source.indices("labels")
        self._set_overlay(MASK, (source, masks[0]) if masks else None)
        self._set_overlay(INK, (source, labels[0]) if labels else None)
        self._set_overlay(PREDICTION, self.prediction)
        if self.prediction is None and self.prediction_file is not None:
            self.panel.set_overlay_available(PREDICTION.name, True)

    def _set_overlay(self, style: OverlayStyle, data: Any) -> None:
        viewer = self.window.viewer
        viewer.remove_overlay(style.name)
        if data is not None:
            visible, opacity = self.panel.overlay_state(style.name)
            try:
                viewer.set_overlay(style.name, data, lut=lut_for(style), opacity=opacity, visible=visible)
            except CcdstudioError:  # e.g. a mask of another size than the layers: not offered
                data = None
        self.panel.set_overlay_available(style.name, data is not None)

    def _overlay_toggled(self, name: str, visible: bool) -> None:
        if name == PREDICTION.name and visible and self.prediction is None and self.prediction_file is not None:
            self.load_prediction(self.prediction_file)
        elif name in self.window.viewer.overlay_names():
            self.window.viewer.set_overlay_visible(name, visible)

    def _opacity_changed(self, name: str, opacity: float) -> None:
        if name in self.window.viewer.overlay_names():
            self.window.viewer.set_overlay_opacity(name, opacity)

    def overlay_names(self) -> list[str]:
        """The dock's overlays now on the viewer."""
        return [s.name for s in STYLES if s.name in self.window.viewer.overlay_names()]

    # ------------------------------------------------------------------ prediction
    def load_prediction(self, path: Path, then: Any = None) -> None:
        """Read a ``<segment>_prediction.png`` and show it (then call ``then()``)."""
        source = self.source
        shape = tuple(source.planes[layer_order(source)[0]].shape)
        self.window.run_job(lambda cancel: jobs.load_prediction(Path(path), shape, cancel),
                            f"Reading {Path(path).name}", lambda image: self._prediction_ready(source, image, then),
                            "Cannot read the prediction")

    def _prediction_ready(self, source: ImageSource, image: np.ndarray, then: Any = None) -> None:
        if source is not self.source:
            return
        self.prediction = image
        self.panel.set_overlay_available(PREDICTION.name, True, visible=True)
        self._set_overlay(PREDICTION, image)
        if then is not None:
            then()

    def choose_model_and_predict(self) -> None:
        from ccdstudio.gui.ml.model_picker import last_model

        start = last_model()
        path, _ = QFileDialog.getOpenFileName(self.window, "Ink model", str(start or ""), MODEL_FILTER)
        if not path or self.source is None:
            return
        # asked, not assumed: scroll data are often read-only or shared
        stem = jobs.segment_stem(self.source)
        folder = QFileDialog.getExistingDirectory(
            self.window, f"Folder for {stem}{jobs.PREDICTION_SUFFIX} and {stem}_predicted_inklabels.png",
            str(settings.settings().value(PREDICTION_FOLDER_KEY, "") or Path(self.source.path).parent))
        if folder:
            settings.settings().setValue(PREDICTION_FOLDER_KEY, folder)
            self.predict(Path(path), Path(folder))

    def predict(self, model: Path, folder: Path, device: str = "auto") -> None:
        """Predict ink over the whole segment from the chosen range with ``model``, write it into ``folder``
        and show it."""
        from ccdstudio.gui.ml.model_picker import remember_model

        source = self.source
        if source is None:
            return
        first, last = self.layer_range()
        remember_model(model)
        self.window.run_job(lambda cancel: jobs.predict_ink(model, source, first, last, folder, device, cancel),
                            f"Predicting ink with {model.name}", lambda result: self._predicted(source, result),
                            "Cannot predict ink")

    def _predicted(self, source: ImageSource, result: InkPrediction) -> None:
        if source is not self.source:
            return
        self.prediction_file = result.path
        text = f"Predicted from layers {result.first}-{result.last} in {result.seconds:.1f} s → {result.path.name}"
        self.panel.set_prediction_text("; ".join([text, *result.warnings]))
        self._prediction_ready(source, result.probability)

    def clean_into_labels(self) -> None:
        """Clean the prediction with the dock's recipe and hand it to the labels feature (one undo step)."""
        if self.source is None:
            return
        if self.prediction is None:
            if self.prediction_file is None:
                messages.show_error(self.window, "Clean into labels", "Predict ink or open a segment with a "
                                    "<segment>_prediction.png first.")
            else:
                self.load_prediction(self.prediction_file, then=self.clean_into_labels)
            return
        probability, params = self.prediction, self.panel.clean_params()
        self.window.run_job(lambda cancel: jobs.clean_into_labels(probability, params, cancel),
                            "Cleaning the prediction", self._accept_labels, "Cannot clean the prediction")

    def _accept_labels(self, result: tuple[np.ndarray, Any]) -> None:
        labels, classes = result
        editor = getattr(self.window, "features", {}).get("labels")
        if editor is None or not hasattr(editor, "accept_labels"):
            messages.show_error(self.window, "Clean into labels", "Label editing is not available in this window.")
            return
        try:
            editor.accept_labels(labels, classes, "clean ink prediction")
        except CcdstudioError as error:
            messages.show_error(self.window, "Clean into labels", str(error))


def install(window: Any) -> SegmentFeature:
    return SegmentFeature(window)
