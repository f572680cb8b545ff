"""Threshold, mask clean-up and Analyze Particles in the window (issue 3's GUI).

The "Particles" dock edits a threshold with a live preview over the view, applies it to the
whole plane as a job, cleans the resulting working mask with undoable morphology, and measures its
particles; the "Results" dock shows the table, centres the view on a clicked particle and marks the
selected ones. Label maps go to the labels feature through :mod:`ccdstudio.gui.analysis.labels_bridge`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.outline import pixel_outlines
from ccdstudio.gui import messages, settings
from ccdstudio.gui.analysis import labels_bridge
from ccdstudio.gui.analysis.engine import ThresholdEngine
from ccdstudio.gui.analysis.mask_history import MaskHistory
from ccdstudio.gui.analysis.particles_dock import ParticlesDock
from ccdstudio.gui.analysis.particles_panel import ResultsPanel
from ccdstudio.gui.analysis.preview import ThresholdPreview
from ccdstudio.gui.analysis.rule import ThresholdRule
from ccdstudio.gui.analysis.view_marks import ViewMarks
from ccdstudio.gui.document import Document
from ccdstudio.gui.viewer.overlays import class_lut
from ccdstudio.imaging import morphology
from ccdstudio.imaging.particles import ParticleResult, analyze_particles_job
from ccdstudio.imaging.threshold import classify_ranges
from ccdstudio.jobs import Job, Progress
from ccdstudio.labels.classes import ClassSet

MASK_OVERLAY = "threshold mask"
RESULT_OVERLAY = "particles"
RESULT_COLOUR = (255, 235, 0)
"""Outlines and masks of the analysed particles: yellow, unlike every class colour (clusters are cyan)."""
LABELS_OVERLAY = "labels (from analysis)"
RULE_KEY = "particles/rule"
RESULTS_HEIGHT = 260
FOCUS_PIXELS = 64
"""The view shows at least this many pixels across around a clicked particle."""


def install(window: Any) -> ParticlesFeature:
    return ParticlesFeature(window)


def _compute(message: str, function: Callable[[], Any]) -> Job[Any]:
    """A one-step job (the work itself cannot report progress)."""
    yield Progress(None, message)
    return function()


class ParticlesFeature(QObject):
    """Owns the threshold engine of the shown plane, the working mask and the last particle result."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        viewer = window.viewer
        self.history = MaskHistory(self)
        self.dock = ParticlesDock(self.history.stack, window.ccd_panel.adu_per_electron)
        self.results = ResultsPanel()
        self.preview = ThresholdPreview(viewer, parent=self)
        self.selected_marks = ViewMarks(viewer, (255, 214, 0), width=1.5)
        self.focus_marks = ViewMarks(viewer, (118, 255, 3), width=2.5)
        self.engine: ThresholdEngine | None = None
        self.document: Document | None = None
        self.result: ParticleResult | None = None
        self.classes = ClassSet.preset("ccd")
        area = Qt.DockWidgetArea
        window.add_dock("particles", "Particles", self.dock, area.RightDockWidgetArea, tab_with="display")
        window.add_dock("results", "Results", self.results, area.BottomDockWidgetArea)
        menu = window.menus["image"]
        menu.addSeparator()
        self.apply_action = menu.addAction("Apply &threshold", self.apply_threshold)
        self.analyze_action = menu.addAction("Analyze &particles", self.analyze)
        self._restore_rule()
        self._connect()

    def _connect(self) -> None:
        panel, mask, recipes = self.dock.threshold, self.dock.mask, self.dock.recipes
        panel.ruleChanged.connect(self.preview.set_rule)
        panel.previewToggled.connect(self.preview.set_enabled)
        panel.applyRequested.connect(self.apply_threshold)
        self.preview.status.connect(panel.info.setText)
        self.preview.set_rule(panel.rule())
        self.history.changed.connect(self._mask_changed)
        mask.operationRequested.connect(self.run_mask_operation)
        mask.defectsRequested.connect(self.defects_to_labels)
        mask.visibilityToggled.connect(lambda on: self._show_mask(self.history.mask))
        recipes.cleanRequested.connect(self.clean_prediction)
        recipes.rulesRequested.connect(self.rules_to_labels)
        self.dock.particles.analyzeRequested.connect(self.analyze)
        self.results.particleActivated.connect(self.focus_particle)
        self.results.selectionChanged.connect(self.mark_particles)
        self.results.exportRequested.connect(self._ask_export_csv)
        self.results.saveMaskRequested.connect(self._ask_save_mask)
        self.results.toLabelsRequested.connect(self.particles_to_labels)
        self.window.documentChanged.connect(self._document_changed)

    # ------------------------------------------------------------------ document
    def _document_changed(self, document: Document) -> None:
        """A new plane resets the engine and the mask; the same plane again only restores the overlays."""
        self.document = document
        engine = self.engine
        if engine is None or engine.source is not document.view_source or engine.plane != document.view_plane:
            self.engine = ThresholdEngine(document.view_source, document.view_plane)
            self.preview.set_engine(self.engine)
            self.history.reset()
            self.set_result(None)
            self.dock.threshold.set_data_range(document.prepared.sample)
            self.classes = ClassSet.preset("ccd" if document.is_fits else "ink")
            self.results.set_classes(self.classes)
            self.dock.recipes.set_classes(self.classes)
        else:  # the window cleared every overlay when it showed the document again
            self._show_mask(self.history.mask)
            self._show_result()

    def _gain(self) -> float | None:
        return self.window.ccd_panel.gain_adu_per_electron()

    # ------------------------------------------------------------------ threshold and mask
    def apply_threshold(self) -> None:
        """Threshold the whole plane (a job); the mask becomes the working mask (one undo step)."""
        engine, rule = self.engine, self.dock.threshold.rule()
        if engine is None:
            return
        settings.settings().setValue(RULE_KEY, json.dumps(dataclasses.asdict(rule) | {"gain": None}))
        self.window.run_job(lambda cancel: engine.full_mask(rule, cancel), f"Thresholding ({rule.describe()})",
                            lambda mask: self._applied(mask, rule), "Cannot threshold")

    def _applied(self, mask: np.ndarray, rule: ThresholdRule) -> None:
        self.dock.threshold.preview.setChecked(False)  # the mask is what matters now
        self.history.push(mask, rule.describe())

    def run_mask_operation(self, text: str, function: Callable[[np.ndarray], np.ndarray]) -> None:
        """Apply ``function`` to the working mask as a job and record it as the undo step ``text``."""
        mask = self.history.mask
        if mask is None:
            return
        self.window.run_job(lambda cancel: _compute(text, lambda: function(mask)), text,
                            lambda new: self.history.push(new, text), f"Cannot {text.lower()}")

    def clean_prediction(self, params: morphology.CleanParams) -> None:
        """Fiji's clean-up recipe on the shown plane; the result becomes the working mask."""
        engine = self.engine
        if engine is not None:
            self.window.run_job(lambda cancel: _compute("cleaning", lambda: morphology.clean_prediction(
                engine.image(), params)), "Clean prediction", lambda mask: self.history.push(mask, "Clean prediction"),
                "Cannot clean the prediction")

    def _mask_changed(self, mask: np.ndarray | None) -> None:
        self.dock.mask.set_mask(mask)
        self._show_mask(mask)

    def _show_mask(self, mask: np.ndarray | None) -> None:
        viewer = self.window.viewer
        if mask is None or self.document is None:
            viewer.remove_overlay(MASK_OVERLAY)
        else:
            viewer.set_overlay(MASK_OVERLAY, mask, colour=(255, 64, 129), opacity=0.55,
                               visible=self.dock.mask.show_mask.isChecked())

    # ------------------------------------------------------------------ particles
    def analyze(self) -> None:
        """Measure the particles of the working mask on the shown plane (a job)."""
        mask, engine = self.history.mask, self.engine
        if engine is None or self.document is None:
            return
        if mask is None:
            messages.show_error(self.window, "Nothing to analyze", "Apply a threshold first: Analyze Particles "
                                                                    "measures the particles of the working mask.")
            return
        try:
            options = self.dock.particles.options(gain=self._gain())
        except CcdstudioError as error:  # a typed range the user must fix
            messages.show_error(self.window, "Analyze particles", str(error))
            return
        rule, ccd = self.dock.threshold.rule(), self.document.is_fits
        lines = rule.lines if rule.method == "pedestal" else None

        def job(cancel: Any) -> Job[ParticleResult]:
            chosen = options
            if ccd:  # CCD energies are sums above the pedestal the threshold used
                yield Progress(None, "measuring the pedestal")
                chosen = dataclasses.replace(options, pedestal=engine.background(lines).pedestal)
            return (yield from analyze_particles_job(mask, engine.image(), chosen, cancel))

        summarize = self.dock.particles.summarize.isChecked()
        self.window.run_job(job, "Analyzing particles", lambda result: self.set_result(result, summarize),
                            "Cannot analyze particles")

    def set_result(self, result: ParticleResult | None, summarize: bool = True) -> None:
        """Show a particle result (None clears it)."""
        self.result = result
        self.results.set_result(result, summarize)
        self.selected_marks.clear()
        self.focus_marks.clear()
        self._show_result()
        if result is not None:
            dock = self.window.docks["results"]
            dock.show()
            dock.raise_()
            if dock.height() < RESULTS_HEIGHT:  # room for a dozen rows, once the dock is laid out
                QTimer.singleShot(0, lambda: self.window.resizeDocks([dock], [RESULTS_HEIGHT], Qt.Orientation.Vertical))

    def _show_result(self) -> None:
        viewer, result = self.window.viewer, self.result
        show = self.dock.particles.show.currentText()
        if result is None or show == "Nothing" or self.document is None or not len(result.table):
            viewer.remove_overlay(RESULT_OVERLAY)
        elif show == "Count masks":
            counts = result.count_mask
            indices = np.where(counts > 0, (counts - 1) % 255 + 1, 0).astype(np.uint8)
            colours = np.random.default_rng(0).integers(60, 256, (256, 3))  # fixed colours, one per index
            viewer.set_overlay(RESULT_OVERLAY, indices, lut=class_lut([(0, 0, 0), *map(tuple, colours[1:])]),
                               opacity=0.7)
        else:
            data = result.outlines if show == "Outlines" else result.masks
            viewer.set_overlay(RESULT_OVERLAY, data, colour=RESULT_COLOUR, opacity=0.9 if show == "Outlines" else 0.5)

    def focus_particle(self, row: int) -> None:
        """Centre the view on particle ``row`` of the table and outline it."""
        result = self.result
        if result is None:
            return
        table = result.table
        # ImageJ's centroid puts a pixel's centre at +0.5, which is where the viewer draws it: no shift needed
        x, y = float(table["X"][row]), float(table["Y"][row])
        bx, by, w, h = (round(float(table[name][row])) for name in ("BX", "BY", "Width", "Height"))
        self.window.viewer.centre_on(x, y, max(FOCUS_PIXELS, 4 * max(w, h)))
        inside = result.count_mask[by:by + h, bx:bx + w] == int(table["label"][row])
        self.focus_marks.set_outlines(o + (bx, by) for o in pixel_outlines(inside))

    def mark_particles(self, rows: list[int]) -> None:
        """Draw the bounding boxes of the selected particles."""
        if self.result is None or not rows:
            self.selected_marks.clear()
            return
        table, index = self.result.table, np.asarray(rows)
        self.selected_marks.set_rects(zip(table["BX"][index], table["BY"][index], table["Width"][index],
                                          table["Height"][index]))

    # ------------------------------------------------------------------ saving
    def _default_path(self, suffix: str) -> str:
        document = self.document
        return str(document.path.with_name(document.path.name.split(".")[0] + suffix)) if document else suffix

    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export results", self._default_path("_results.csv"),
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> None:
        """Write the Results table in ImageJ's CSV layout."""
        if self.result is not None:
            self._guarded("Cannot export the results", lambda: self.result.table.to_csv(path))

    def _ask_save_mask(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save mask", self._default_path("_mask.png"),
                                              "Mask, 0/255 (*.png);;Count mask, particle i = i (*.tif)")
        if path:
            self.save_mask(path)

    def save_mask(self, path: str | Path) -> None:
        """Fiji's "Masks" output as a PNG (0/255), or the count mask as a TIFF (particle ``i`` has value ``i``)."""
        from ccdstudio.io.write import write_png, write_tiff

        result = self.result
        if result is None:
            return
        if Path(path).suffix.lower() in (".tif", ".tiff"):
            counts = result.count_mask
            data = counts.astype(np.uint16) if counts.max(initial=0) <= 65535 else counts.astype(np.uint32)
            self._guarded("Cannot save the mask", lambda: write_tiff(path, data))
        else:
            self._guarded("Cannot save the mask", lambda: write_png(path, result.masks))

    def _guarded(self, title: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - a disk or format error to report, not a crash
            messages.show_error(self.window, title, str(error))

    # ------------------------------------------------------------------ labels
    def particles_to_labels(self, cls: int) -> None:
        """Write the measured particles into the label map as class ``cls`` (one undo step there)."""
        if self.result is not None:
            self._guarded("Cannot write labels", lambda: self._hand_over(
                *labels_bridge.paint_mask(self.window, self.result.masks, cls, self.classes),
                f"Particles → {self.classes[cls].name if cls < len(self.classes) else cls}"))

    def defects_to_labels(self, min_line_length: int, max_cluster_size: int) -> None:
        """Line objects of the mask as hot pixels, the rest up to the cap as clusters, into the labels."""
        mask = self.history.mask
        if mask is None:
            return

        def build() -> tuple[np.ndarray, ClassSet]:
            labels, classes = labels_bridge.current_labels(self.window, mask.shape)
            classes = classes if classes is not None and {"hot_pixel", "cluster"} <= set(classes.names) \
                else ClassSet.preset("ccd")
            defects = morphology.classify_defects(mask, hot_class=classes.index("hot_pixel"),
                                                  cluster_class=classes.index("cluster"),
                                                  min_line_length=min_line_length, max_cluster_size=max_cluster_size)
            labels = np.zeros(mask.shape, np.uint8) if labels is None else labels
            np.copyto(labels, defects, where=defects > 0)
            return labels, classes

        self.window.run_job(lambda cancel: _compute("classifying defects", build), "Hot pixels and clusters",
                            lambda found: self._hand_over(*found, "Hot pixels and clusters"), "Cannot classify")

    def rules_to_labels(self, rules: list[tuple[float, float, int]]) -> None:
        """A label map from intensity rules on the shown plane (replaces the labels, one undo step)."""
        engine = self.engine
        if engine is None or not rules:
            return
        classes = self.dock.recipes.classes
        self.window.run_job(lambda cancel: _compute("applying rules", lambda: classify_ranges(engine.image(), rules)),
                            "Intensity rules", lambda labels: self._hand_over(labels, classes, "Intensity rules"),
                            "Cannot apply the rules")

    def _hand_over(self, labels: np.ndarray, classes: ClassSet, title: str) -> None:
        if labels_bridge.labels_feature(self.window) is not None:
            labels_bridge.hand_over(self.window, labels, classes, title)
            return
        # no labels editor installed: show the map so the work is not lost from sight
        self.window.viewer.set_overlay(LABELS_OVERLAY, labels, lut=class_lut(classes.colors), opacity=0.6)
        self.window.statusBar().showMessage(f"{title}: shown as an overlay (no labels editor to take it)", 6000)

    # ------------------------------------------------------------------ settings
    def _restore_rule(self) -> None:
        text = settings.settings().value(RULE_KEY)
        if not text:
            return
        try:
            self.dock.threshold.set_rule(ThresholdRule(**json.loads(str(text))))
        except (TypeError, ValueError, StopIteration):
            pass  # settings from another version: keep the defaults
