"""File > Export dataset…: tiles, crops, boxes and cut-outs of the open image, as ``ccdstudio export`` makes them.

The dialog is not modal, so the image stays in view: Preview draws the windows or boxes the export will
write (the crops drawn with the same seed, so the preview *is* the export) and Export checks everything
that can be checked before a file is written, then runs the export as a job with progress. Every field is
remembered (QSettings ``export/...``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import settings
from ccdstudio.gui.analysis.export_forms import (
    BoxesForm,
    CropsForm,
    CutoutsForm,
    ExportForm,
    TilesForm,
    parse_layers,
    restore_fields,
    save_fields,
)
from ccdstudio.gui.analysis.export_plan import (
    ExportInputs,
    ExportRequest,
    check_request,
    preview_rects,
)
from ccdstudio.gui.document import Document
from ccdstudio.labels.classes import ClassSet

LABELS_EDITOR, LABELS_OWN, LABELS_FILE = "labels being edited", "the image's own labels", "a label file"
EditorLabels = Callable[[tuple[int, int]], tuple[Any, ClassSet | None]]


class ExportDialog(QDialog):
    """Asks for an export of ``document``; ``exportRequested(request, inputs)`` once it passed the checks."""

    exportRequested = Signal(object, object)
    previewed = Signal(list)
    """The rectangles ``(x, y, w, h)`` of the last preview."""

    def __init__(self, editor_labels: EditorLabels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.setModal(False)
        self.document: Document | None = None
        self._editor_labels = editor_labels
        self.forms: list[ExportForm] = [TilesForm(), CropsForm(), BoxesForm(), CutoutsForm()]
        self.tabs = QTabWidget()
        for form, title in zip(self.forms, ("Tiles", "Crops", "Boxes", "Cut-outs")):
            self.tabs.addTab(form, title)

        self.labels_from = QComboBox()
        self.labels_path = QLineEdit()
        self.labels_path.setPlaceholderText("label file (PNG, TIFF, FITS, NPY)")
        browse_labels = QPushButton("…")
        browse_labels.clicked.connect(self._browse_labels)
        labels_row = QHBoxLayout()
        labels_row.addWidget(self.labels_from)
        labels_row.addWidget(self.labels_path, 1)
        labels_row.addWidget(browse_labels)
        self.out = QLineEdit()
        browse_out = QPushButton("…")
        browse_out.clicked.connect(self._browse_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse_out)
        self.layers = QLineEdit()
        self.layers.setPlaceholderText("all (or e.g. 15-50, 0-based)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        common = QFormLayout()
        common.addRow("Labels", labels_row)
        common.addRow("Layers", self.layers)
        common.addRow("Seed", self.seed)
        common.addRow("Output folder", out_row)

        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        buttons = QDialogButtonBox()
        self.preview_button = buttons.addButton("Preview", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.preview_button.clicked.connect(self.preview)
        self.export_button.clicked.connect(self.export)
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(common)
        layout.addWidget(self.info)
        layout.addWidget(self.progress)
        layout.addWidget(buttons)
        self.labels_from.currentTextChanged.connect(lambda text: self.labels_path.setEnabled(text == LABELS_FILE))
        self._restore()

    # ------------------------------------------------------------------ document
    def set_document(self, document: Document | None) -> None:
        self.document = document
        self.labels_from.blockSignals(True)
        chosen = self.labels_from.currentText()
        self.labels_from.clear()
        if document is not None:
            editor, _ = self._editor_labels(document.plane_info.shape)
            if editor is not None:
                self.labels_from.addItem(LABELS_EDITOR)
            if document.source.indices("labels"):
                self.labels_from.addItem(LABELS_OWN)
        self.labels_from.addItem(LABELS_FILE)
        if self.labels_from.findText(chosen) >= 0:
            self.labels_from.setCurrentText(chosen)
        self.labels_from.blockSignals(False)
        self.labels_path.setEnabled(self.labels_from.currentText() == LABELS_FILE)
        self.export_button.setEnabled(document is not None)
        self.preview_button.setEnabled(document is not None)

    # ------------------------------------------------------------------ reading the form
    def current_form(self) -> ExportForm:
        return self.forms[self.tabs.currentIndex()]

    def request(self) -> ExportRequest:
        """The export the dialog describes (raises :class:`CcdstudioError` for a field that does not parse)."""
        form = self.current_form()
        return ExportRequest(kind=form.kind, out=self.out.text().strip(), layers=parse_layers(self.layers.text()),
                             seed=self.seed.value(), **form.values())

    def inputs(self) -> ExportInputs:
        """The labels chosen: in memory (editor, file), or None for the image's own."""
        choice = self.labels_from.currentText()
        if choice == LABELS_EDITOR and self.document is not None:
            labels, classes = self._editor_labels(self.document.plane_info.shape)
            return ExportInputs(labels, classes)
        if choice == LABELS_FILE:
            path = self.labels_path.text().strip()
            if not path:
                return ExportInputs()  # no labels: tiles and plain crops still work
            from ccdstudio.labels.io import load_labels

            return ExportInputs(*load_labels(path))
        return ExportInputs()

    def _classes(self, inputs: ExportInputs) -> None:
        if inputs.classes is not None:
            for form in self.forms:
                form.set_classes(inputs.classes)

    # ------------------------------------------------------------------ actions
    def preview(self) -> list[tuple[int, int, int, int]]:
        """Draw what the export would write; returns the rectangles (empty, with the reason shown, on bad input)."""
        if self.document is None:
            return []
        try:
            inputs = self.inputs()
            rects = preview_rects(self.request(), self.document.source, inputs)
        except CcdstudioError as error:
            self._say(str(error), error=True)
            return []
        self._classes(inputs)
        what = {"tiles": "tiles", "crops": "windows", "boxes": "boxes", "cutouts": "cut-outs"}[self.current_form().kind]
        self._say(f"{len(rects)} {what} drawn on the image")
        self.previewed.emit(rects)
        return rects

    def export(self) -> bool:
        """Check the request and hand it on; False (with the reason shown) when it cannot run."""
        if self.document is None:
            return False
        try:
            request, inputs = self.request(), self.inputs()
            check_request(request, self.document.source, inputs)
        except CcdstudioError as error:
            self._say(str(error), error=True)
            return False
        self._save()
        self._say(f"exporting {request.kind} to {request.out}…")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.exportRequested.emit(request, inputs)
        return True

    def show_progress(self, fraction: float, message: str) -> None:
        self.progress.setRange(0, 0 if fraction < 0 else 1000)
        if fraction >= 0:
            self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message[:60])

    def finished_export(self, message: str, error: bool = False) -> None:
        self.progress.setVisible(False)
        self._say(message, error)

    def _say(self, text: str, error: bool = False) -> None:
        self.info.setStyleSheet("color: #d32f2f" if error else "")
        self.info.setText(text)

    # ------------------------------------------------------------------ browsing and remembering
    def _browse_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.out.text())
        if folder:
            self.out.setText(folder)

    def _browse_labels(self) -> None:
        start = str(self.document.path.parent) if self.document is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Label file", start, "Labels (*.png *.tif *.tiff *.fits *.npy)")
        if path:
            self.labels_path.setText(path)
            self.labels_from.setCurrentText(LABELS_FILE)

    def _save(self) -> None:
        store = settings.settings()
        for form in self.forms:
            save_fields(store, f"export/{form.kind}", form.fields)
        save_fields(store, "export", {"out": self.out, "layers": self.layers, "seed": self.seed,
                                      "labels_path": self.labels_path})
        store.setValue("export/tab", self.tabs.currentIndex())

    def _restore(self) -> None:
        store = settings.settings()
        for form in self.forms:
            restore_fields(store, f"export/{form.kind}", form.fields)
        restore_fields(store, "export", {"out": self.out, "layers": self.layers, "seed": self.seed,
                                         "labels_path": self.labels_path})
        self.tabs.setCurrentIndex(int(store.value("export/tab", 0)))

    def closeEvent(self, event) -> None:
        self._save()
        super().closeEvent(event)

