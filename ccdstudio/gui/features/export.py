"""File > Export dataset…: the Export dialog (issue 5's GUI) over :mod:`ccdstudio.export`.

The dialog previews the export's windows or boxes over the image (:class:`ViewMarks`), and the export runs
as a window job on the file opened afresh, its progress shown in the dialog and the status bar.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from ccdstudio.gui.analysis import labels_bridge
from ccdstudio.gui.analysis.export_dialog import ExportDialog
from ccdstudio.gui.analysis.export_plan import ExportInputs, ExportRequest, export_job
from ccdstudio.gui.analysis.view_marks import ViewMarks
from ccdstudio.gui.document import Document
from ccdstudio.gui.icons import icon


def install(window: Any) -> ExportFeature:
    return ExportFeature(window)


class ExportFeature(QObject):
    """Owns the (lazily built) dialog and the preview marks."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: ExportDialog | None = None
        self.marks = ViewMarks(window.viewer, (255, 145, 0), width=1.5)
        self.action = QAction(icon("database-export-outline"), "Export &dataset…", window)
        self.action.setShortcut(QKeySequence("Ctrl+E"))
        self.action.setEnabled(False)
        self.action.triggered.connect(lambda *_: self.open_dialog())
        menu = window.menus["file"]
        actions = menu.actions()
        before = actions[-2] if len(actions) >= 2 else None  # the separator above Quit
        menu.insertAction(before, self.action) if before is not None else menu.addAction(self.action)
        window.documentChanged.connect(self._document_changed)

    def open_dialog(self) -> ExportDialog:
        """Show the dialog (built on first use) for the open image."""
        first_time = self.dialog is None
        if self.dialog is None:
            self.dialog = ExportDialog(lambda shape: labels_bridge.current_labels(self.window, shape), self.window)
            self.dialog.previewed.connect(self.marks.set_rects)
            self.dialog.exportRequested.connect(self.run_export)
            self.dialog.finished.connect(lambda *_: self.marks.clear())
        self.dialog.set_document(self.window.document)
        segment = self.window.features.get("segment")
        if segment is not None and segment.source is not None and not self.dialog.layers.text().strip():
            first, last = segment.layer_range()  # the layers the Segment dock works on, not all of them
            self.dialog.layers.setText(f"{first}-{last}")
        self.dialog.show()
        if first_time:  # beside the image, whose preview boxes it would hide if centred
            frame = self.window.frameGeometry()
            self.dialog.move(frame.right() - self.dialog.frameGeometry().width(), frame.top() + 60)
        self.dialog.raise_()
        return self.dialog

    def _document_changed(self, document: Document) -> None:
        self.action.setEnabled(True)
        self.marks.clear()
        if self.dialog is not None:
            self.dialog.set_document(document)

    def run_export(self, request: ExportRequest, inputs: ExportInputs) -> None:
        """Run a checked export as a window job, reporting to the dialog."""
        document, dialog = self.window.document, self.dialog
        if document is None or dialog is None:
            return
        path = document.path
        worker = self.window.run_job(lambda cancel: export_job(request, path, inputs, cancel),
                                     f"Exporting {request.kind}", lambda message: dialog.finished_export(message),
                                     "Cannot export")
        worker.progress.connect(dialog.show_progress)
        worker.failed.connect(lambda message: dialog.finished_export(message, error=True))
        worker.cancelled.connect(lambda: dialog.finished_export("export cancelled: nothing was written", error=True))
