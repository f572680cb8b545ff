"""The main window: assembles the viewer, the docks, the actions and the status bar, and runs the jobs.

Everything slow (opening a file, switching plane, applying sections) runs as a job in a
:class:`~ccdstudio.gui.workers.JobWorker`; while one runs the status bar shows its progress and a Cancel
button, and the window keeps showing what it had. A failure is reported through
:func:`ccdstudio.gui.messages.show_error` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QWidget,
)

from ccdstudio.gui import messages, settings
from ccdstudio.gui.dialogs.sections import SectionsDialog
from ccdstudio.gui.features import install_features
from ccdstudio.gui.document import Document, Sections, open_document, show_plane
from ccdstudio.gui.icons import icon
from ccdstudio.gui.panels.ccd_panel import CcdPanel
from ccdstudio.gui.panels.display_panel import DisplayPanel
from ccdstudio.gui.panels.header_panel import HeaderPanel
from ccdstudio.gui.panels.overlays_panel import OverlaysPanel
from ccdstudio.gui.panels.pixel_table import PixelTable, format_value
from ccdstudio.gui.plane_bar import PlaneBar
from ccdstudio.gui.viewer import ImageViewer, PixelConvention
from ccdstudio.gui.workers import JobFactory, JobWorker
from ccdstudio.imaging.stretch import Calibration

FILE_FILTER = "Images (*.fits *.fit *.fts *.fz *.fits.gz *.tif *.tiff *.png *.jpg *.jpeg *.npy);;All files (*)"
OVERLAY_COLOURS = {"mask": (255, 60, 60), "labels": (40, 200, 255)}


DOCK_GROUPS = (
    ("display", "ccd", "particles", "predict"),
    ("pixels", "overlays", "header", "classes", "history"),
    ("results", "prediction", "train"),
    ("segment", "project"),
)
"""Docks shown as tabs of one stack, by key; the first of each stack is in front."""
BOTTOM_DOCK_HEIGHT = 190
"""Pixels the bottom stack (results table, Train) gets by default: the viewer keeps the rest."""


class MainWindow(QMainWindow):
    """The ccdstudio window.

    Features beyond viewing (labels, particles, export, predict, train) live in ``ccdstudio.gui.features``
    and plug in through :meth:`add_dock`, :attr:`menus`, :attr:`toolbar`, :attr:`documentChanged` and
    :attr:`close_guards`; this class only assembles the viewer and the display docks.
    """

    documentChanged = Signal(object)
    """Emitted with the new :class:`Document` after a file or plane is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ccdstudio")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.document: Document | None = None
        self._cursor: tuple[int, int] | None = None  # the array pixel under the mouse, if any
        self.files: list[str] = []
        self.worker: JobWorker | None = None
        self._workers: set[JobWorker] = set()
        self._overlay_visible: dict[str, bool] = {}
        self._plane_text = ""

        self.viewer = ImageViewer()
        self.setCentralWidget(self.viewer)
        self.display_panel = DisplayPanel()
        self.ccd_panel = CcdPanel()
        self.pixel_table = PixelTable()
        self.overlays_panel = OverlaysPanel()
        self.header_panel = HeaderPanel()
        self.plane_bar = PlaneBar()
        self.docks = {
            "display": self._dock("Display", self.display_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "ccd": self._dock("CCD", self.ccd_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "pixels": self._dock("Pixel table", self.pixel_table, Qt.DockWidgetArea.RightDockWidgetArea),
            "overlays": self._dock("Overlays", self.overlays_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "header": self._dock("Header", self.header_panel, Qt.DockWidgetArea.RightDockWidgetArea),
        }
        self.close_guards: list[Callable[[], bool]] = []
        """Called before closing; any returning False keeps the window open (e.g. unsaved labels)."""
        self._build_status_bar()
        self._build_actions()
        self._connect()
        self.features = install_features(self)
        self._arrange_docks()
        self._restore_state()

    # ------------------------------------------------------------------ building
    def add_dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea, tab_with: str = "") -> QDockWidget:
        """Add a dock that the View menu lists, optionally tabbed with the dock ``tab_with``."""
        dock = self._dock(title, widget, area)
        self.docks[key] = dock
        self.menus["view"].addAction(dock.toggleViewAction())
        if tab_with in self.docks:
            self.tabifyDockWidget(self.docks[tab_with], dock)
        return dock

    def _arrange_docks(self) -> None:
        """Tab the docks into a few stacks so the viewer keeps most of the window; the first of each is raised."""
        for group in DOCK_GROUPS:
            docks = [self.docks[key] for key in group if key in self.docks]
            for first, second in zip(docks, docks[1:]):
                self.tabifyDockWidget(first, second)
            if docks:
                docks[0].raise_()
        # Docks that scroll have no minimum height to share the window by: give the viewer most of it, the
        # display controls (histogram) their natural height and the bottom stack a strip.
        right = [self.docks[key] for key in ("display", "pixels") if key in self.docks]
        self.resizeDocks(right, [420, 260][: len(right)], Qt.Orientation.Vertical)
        if "results" in self.docks:
            self.resizeDocks([self.docks["results"]], [BOTTOM_DOCK_HEIGHT], Qt.Orientation.Vertical)
        if "display" in self.docks:
            self.resizeDocks([self.docks["display"]], [520], Qt.Orientation.Horizontal)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")  # saveState keys on object names
        # A scroll area lets a tall panel (a long form) scroll instead of raising the window's minimum height
        # above a laptop screen's.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(widget)
        scroll.setMinimumWidth(widget.minimumSizeHint().width() + 16)  # room for the vertical scroll bar
        dock.setWidget(scroll)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.position_label = QLabel("")
        self.value_label = QLabel("")
        self.plane_label = QLabel("Open a file: File > Open, drag it here, or `ccdstudio gui FILE`")
        for label in (self.position_label, self.value_label):
            label.setMinimumWidth(170)
            label.setStyleSheet("font-family: monospace")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(300)
        self.cancel_button = QPushButton(icon("close-circle-outline"), "Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        bar.addWidget(self.position_label)
        bar.addWidget(self.value_label)
        bar.addWidget(self.plane_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self.show_busy(False)

    def _action(self, text: str, slot: Callable[[], Any], icon_name: str = "", shortcut: Any = None) -> QAction:
        action = QAction(icon(icon_name), text, self) if icon_name else QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.open_action = self._action("&Open file…", self.choose_file, "folder-open-outline", key.Open)
        self.open_folder_action = self._action("Open &segment folder…", self.choose_folder, "folder-multiple-image",
                                               "Ctrl+Shift+O")
        self.next_file_action = self._action("&Next file", lambda: self.step_file(1), "skip-next", "PgDown")
        self.prev_file_action = self._action("&Previous file", lambda: self.step_file(-1), "skip-previous", "PgUp")
        quit_action = self._action("&Quit", self.close, "exit-to-app", key.Quit)
        self.zoom_in_action = self._action("Zoom &in", lambda: self.viewer.zoom(2.0), "magnify-plus-outline", key.ZoomIn)
        self.zoom_out_action = self._action("Zoom &out", lambda: self.viewer.zoom(0.5), "magnify-minus-outline",
                                            key.ZoomOut)
        self.fit_action = self._action("&Fit to window", self.viewer.fit, "fit-to-screen-outline", "Ctrl+0")
        self.actual_action = self._action("&Actual pixels (1:1)", self.viewer.zoom_actual, "numeric-1-box-outline",
                                          "Ctrl+1")
        self.sections_action = self._action("Data and bias &sections…", self.edit_sections, "crop")
        self.next_plane_action = self._action("Next plane", lambda: self.plane_bar.step(1), "chevron-up", "Up")
        self.prev_plane_action = self._action("Previous plane", lambda: self.plane_bar.step(-1), "chevron-down", "Down")
        for action in (self.next_plane_action, self.prev_plane_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open_action, self.open_folder_action])
        self.recent_menu = file_menu.addMenu(icon("history"), "Open &recent")
        file_menu.addSeparator()
        file_menu.addActions([self.prev_file_action, self.next_file_action])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_action])
        view_menu.addSeparator()
        view_menu.addActions([dock.toggleViewAction() for dock in self.docks.values()])
        image_menu = menu.addMenu("&Image")
        image_menu.addActions([self.next_plane_action, self.prev_plane_action, self.sections_action])
        self.menus = {"file": file_menu, "view": view_menu, "image": image_menu}
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)

        self.toolbar = toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.addActions([self.open_action, self.open_folder_action, self.prev_file_action, self.next_file_action])
        toolbar.addSeparator()
        toolbar.addActions([self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_action])
        toolbar.addSeparator()
        toolbar.addWidget(self.plane_bar)
        toolbar.addAction(self.sections_action)
        self._update_actions()

    def _connect(self) -> None:
        self.viewer.cursorMoved.connect(self.show_pixel)
        self.viewer.cursorLeft.connect(self._cursor_left)
        self.display_panel.displayChanged.connect(self.viewer.set_display)
        self.plane_bar.planeChosen.connect(self.choose_plane)
        self.ccd_panel.editSectionsRequested.connect(self.edit_sections)
        self.ccd_panel.calibrationChanged.connect(self._calibration_changed)
        self.overlays_panel.visibilityChanged.connect(self._overlay_toggled)
        self.overlays_panel.opacityChanged.connect(self.viewer.set_overlay_opacity)

    # ------------------------------------------------------------------ opening
    def open_paths(self, paths: list[str]) -> None:
        """Open ``paths`` as the file list (PageUp/PageDown step through it) and show the first."""
        if paths:
            self.files = [str(p) for p in paths]
            self.open_path(self.files[0])

    def open_path(self, path: str | Path) -> None:
        """Open a file or segment folder in the background; on success it replaces the shown one."""
        path = str(path)
        if path not in self.files:
            self.files.append(path)
        self.run_job(lambda cancel: open_document(path, cancel=cancel), f"Opening {Path(path).name}",
                     self.set_document, "Cannot open file")

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self._last_folder(), FILE_FILTER)
        if path:
            self.open_path(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open segment folder", self._last_folder())
        if path:
            self.open_path(path)

    def step_file(self, delta: int) -> None:
        if self.document is None or not self.files:
            return
        current = str(self.document.path)
        index = self.files.index(current) if current in self.files else 0
        if 0 <= index + delta < len(self.files):
            self.open_path(self.files[index + delta])

    def handle_drop(self, mime: QMimeData) -> bool:
        """Open the local files or folders in ``mime``; returns whether there were any."""
        paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if paths:
            self.open_paths(paths)
        return bool(paths)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.handle_drop(event.mimeData()):
            event.acceptProposedAction()

    # ------------------------------------------------------------------ planes and sections
    def choose_plane(self, plane: int) -> None:
        if self.document is None or plane == self.document.plane:
            return
        document = self.document
        self.run_job(lambda cancel: show_plane(document, plane, cancel=cancel),
                     f"Showing {plane}", self.set_document, "Cannot show plane")

    def edit_sections(self) -> None:
        if self.document is None:
            return
        dialog = SectionsDialog(self.document.sections, self.document.plane_info.shape, self)
        if dialog.exec() and dialog.result_sections is not None:
            self.apply_sections(dialog.result_sections)

    def apply_sections(self, sections: Sections) -> None:
        """Recompute levels and statistics with these data/bias sections (kept across plane switches)."""
        document = self.document
        if document is not None:
            self.run_job(lambda cancel: show_plane(document, document.plane, sections, cancel=cancel),
                         "Applying sections", self.set_document, "Cannot apply sections")

    def set_document(self, document: Document) -> None:
        """Show ``document`` (a freshly opened file or another plane of the current one)."""
        previous = self.document
        same_file = previous is not None and previous.source is document.source
        if previous is not None and not same_file:
            self.viewer.wait_idle()  # a render may still be reading the old file
            previous.source.close()
        self.document = document
        prepared = document.prepared
        self.viewer.clear_overlays()
        keep_view = same_file and previous.plane_info.shape == document.plane_info.shape
        self.viewer.set_plane(document.view_source, document.view_plane, prepared.overview,
                              prepared.outliers, origin_bottom=document.is_fits, keep_view=keep_view)
        self.ccd_panel.show_document(document)
        self.display_panel.set_sample(prepared.sample, self.calibration())
        self._add_overlays(document)
        self.header_panel.set_header(document.plane_info.header)
        self.plane_bar.set_document(document)
        self.pixel_table.clear()
        if keep_view and self._cursor is not None:  # another layer under a still mouse: its values, not the last's
            self.show_pixel(*self._cursor)
        else:
            self._cursor_left()
        info = document.plane_info
        self._plane_text = (f"{document.path.name} — {info.name}  {info.shape[1]} x {info.shape[0]}  {info.dtype}"
                            f"   ({self.convention().describe()})")
        self.plane_label.setText(self._plane_text)
        self.setWindowTitle(f"{document.path.name} — ccdstudio")
        if not same_file:
            settings.add_recent_file(document.path)
        self._update_actions()
        self.documentChanged.emit(document)

    def _add_overlays(self, document: Document) -> None:
        rows = []
        for index in document.overlay_planes():
            plane = document.source.planes[index]
            colour = OVERLAY_COLOURS.get(plane.role, (255, 60, 60))
            visible = self._overlay_visible.get(plane.name, document.source.format != "segment")
            self.viewer.set_overlay(plane.name, (document.source, index), colour=colour, opacity=0.45, visible=visible)
            rows.append((plane.name, colour, 0.45, visible))
        self.overlays_panel.set_overlays(rows)

    def _overlay_toggled(self, name: str, visible: bool) -> None:
        self._overlay_visible[name] = visible
        self.viewer.set_overlay_visible(name, visible)

    # ------------------------------------------------------------------ cursor and calibration
    def calibration(self) -> Calibration:
        pedestal = self.document.prepared.pedestal if self.document is not None else 0.0
        fits = self.document is not None and self.document.is_fits
        return Calibration(pedestal, self.ccd_panel.adu_per_electron(), "ADU" if fits else "")

    def convention(self) -> PixelConvention:
        return PixelConvention.for_fits(self.document is not None and self.document.is_fits)

    def _calibration_changed(self) -> None:
        if self.document is not None:
            self.display_panel.set_sample(self.document.prepared.sample, self.calibration())

    def show_pixel(self, row: int, col: int) -> None:
        """Status bar and pixel table for array pixel ``[row, col]`` of the shown plane."""
        document = self.document
        if document is None:
            return
        self._cursor = (row, col)
        convention, calibration = self.convention(), self.calibration()
        x, y = convention.xy(row, col)
        self.position_label.setText(f"x {x:>6}  y {y:>6}")
        raw = float(document.view_source.read(document.view_plane, (slice(row, row + 1), slice(col, col + 1)))[0, 0])
        text = f"{format_value(calibration.apply_scalar(raw))} {calibration.unit}".rstrip()
        if calibration.gain:
            text += f"  ({format_value(raw)} {calibration.raw_unit})"
        self.value_label.setText(text)
        if self.docks["pixels"].isVisible():
            self.pixel_table.show_around(document.view_source, document.view_plane, row, col, convention, calibration)

    def _cursor_left(self) -> None:
        self._cursor = None
        self.position_label.clear()
        self.value_label.clear()

    # ------------------------------------------------------------------ jobs
    def run_job(self, factory: JobFactory, title: str, on_done: Callable[[Any], None], error_title: str) -> JobWorker:
        """Run a job in the background (cancelling the one running); ``on_done`` gets its result."""
        self.cancel_job()
        worker = JobWorker(factory, title, self)
        self.worker = worker
        self._workers.add(worker)
        worker.progress.connect(self.show_progress)
        worker.finished_with.connect(lambda result: self._job_done(worker, on_done, result))
        worker.failed.connect(lambda message: self._job_failed(worker, error_title, message))
        worker.cancelled.connect(lambda: self._job_ended(worker, f"{title}: cancelled"))
        worker.finished.connect(lambda: self._workers.discard(worker))
        self.plane_label.setText(title + "…")
        self.show_busy(True)
        worker.start()
        return worker

    def cancel_job(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def show_progress(self, fraction: float, message: str) -> None:
        """The status bar's progress: ``fraction`` done (negative: unknown) and a short ``message``."""
        self.progress.setRange(0, 0 if fraction < 0 else 1000)
        if fraction >= 0:
            self.progress.setValue(int(fraction * 1000))
        # cut to the bar's width with an ellipsis (the bar clipped it mid-word); the whole line as a tooltip
        width = self.progress.maximumWidth() - 16
        self.progress.setFormat(self.progress.fontMetrics().elidedText(message, Qt.TextElideMode.ElideRight, width))
        self.progress.setToolTip(message)

    def _job_done(self, worker: JobWorker, on_done: Callable[[Any], None], result: Any) -> None:
        if worker is not self.worker:  # superseded by a newer job: its result is stale
            if isinstance(result, Document) and (self.document is None or result.source is not self.document.source):
                result.source.close()
            return
        self._job_ended(worker, "")
        try:
            on_done(result)
        except Exception as error:  # noqa: BLE001 - a plane that cannot be shown must not end the session
            messages.show_error(self, "Cannot show image", f"{type(error).__name__}: {error}")

    def _job_failed(self, worker: JobWorker, title: str, message: str) -> None:
        if worker is self.worker:
            self._job_ended(worker, "")
            messages.show_error(self, title, message)

    def _job_ended(self, worker: JobWorker, message: str) -> None:
        if worker is self.worker:
            self.worker = None
            self.show_busy(False)
            if message:
                self.statusBar().showMessage(message, 4000)
            self.plane_label.setText(self._plane_text)

    def show_busy(self, busy: bool) -> None:
        """Show (or hide) the status bar's progress bar and Cancel button."""
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def wait_for_jobs(self, timeout_ms: int = 30000) -> None:
        """Block until background jobs end (tests and closing)."""
        for worker in list(self._workers):
            worker.wait(timeout_ms)

    # ------------------------------------------------------------------ settings
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in settings.recent_files():
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", settings.clear_recent_files)

    def _last_folder(self) -> str:
        recent = settings.recent_files()
        return str(Path(recent[0]).parent) if recent else ""

    def _update_actions(self) -> None:
        has = self.document is not None
        for action in (self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_action,
                       self.sections_action, self.next_plane_action, self.prev_plane_action):
            action.setEnabled(has)
        self.prev_file_action.setEnabled(has and len(self.files) > 1)
        self.next_file_action.setEnabled(has and len(self.files) > 1)

    def _dock_keys(self) -> str:
        return ",".join(sorted(self.docks))

    def _restore_state(self) -> None:
        store = settings.settings()
        geometry, state = store.value("window/geometry"), store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None and store.value("window/docks") == self._dock_keys():
            self.restoreState(state)  # a layout saved with other docks would misplace the new ones

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if not all(guard() for guard in self.close_guards):
            event.ignore()
            return
        store = settings.settings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        store.setValue("window/docks", self._dock_keys())
        self.cancel_job()
        self.wait_for_jobs()
        self.viewer.wait_idle()
        if self.document is not None:
            self.document.source.close()
        super().closeEvent(event)
