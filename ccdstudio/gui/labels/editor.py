"""The label editor in the main window: one label session per shown image, its layer, tools, docks and files.

When the window shows an image, the editor finds its labels (:mod:`.files`, or the open project), offers
an autosave left by a crash, and shows them as the label layer; sessions with unsaved changes stay in
memory (with their undo history) while other images are shown, and the close guard asks about them.

Other features hand results over with :meth:`LabelEditor.accept_labels` (one undo step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QApplication, QMenu, QUndoView

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import messages
from ccdstudio.gui.document import Document
from ccdstudio.gui.icons import icon
from ccdstudio.gui.labels import autosave, files, prompts
from ccdstudio.gui.labels.class_dock import ClassDock
from ccdstudio.gui.labels.layer import LabelLayerItem, argb_table
from ccdstudio.gui.labels.project_control import ProjectControl
from ccdstudio.gui.labels.session import LabelSession, SaveTarget, adopt_classes
from ccdstudio.gui.labels.toolbar import LabelToolBar
from ccdstudio.gui.labels.tools import ToolController
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import check_labels

SessionKey = tuple[str, tuple[int, int]]
PRESETS = (("ccd", "CCD: background, glowing, hot_pixel, cluster"), ("ink", "Ink: background, ink"))


def _image_id(path: Path | str) -> str:
    return str(Path(path).resolve())


class LabelEditor(QObject):
    """Label editing for a :class:`~ccdstudio.gui.main_window.MainWindow` (``window.features["labels"]``)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.viewer = window.viewer
        self.sessions: dict[SessionKey, LabelSession] = {}
        self.session: LabelSession | None = None
        self.document: Document | None = None
        self._image_cache: tuple[Any, np.ndarray] | None = None
        self._autosaved: dict[int, int] = {}
        self._recover_without_asking: set[str] = set()

        self.layer = LabelLayerItem()
        self.viewer.box.addItem(self.layer, ignoreBounds=True)
        self.undo_group = QUndoGroup(self)
        self.tools = ToolController(self.viewer, self._read_image, self)
        self.toolbar = LabelToolBar(self.tools, window)
        window.addToolBar(self.toolbar)
        self.class_dock = ClassDock()
        right = Qt.DockWidgetArea.RightDockWidgetArea
        window.add_dock("classes", "Classes", self.class_dock, right)
        self.history = QUndoView(self.undo_group)
        self.history.setEmptyLabel("(opened)")
        window.add_dock("history", "Undo history", self.history, right, tab_with="classes")
        window.docks["classes"].raise_()
        self.projects = ProjectControl(self)
        self._build_actions()
        self.autosave_timer = QTimer(self, interval=autosave.interval_seconds() * 1000)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()

        self.class_dock.selectedChanged.connect(self._class_selected)
        self.class_dock.drawingChanged.connect(self._update_drawing)
        self.tools.picked.connect(self.class_dock.select)
        self.tools.failed.connect(lambda message: window.statusBar().showMessage(message, 5000))
        window.documentChanged.connect(self.show_document)
        window.close_guards.append(self.close_guard)
        QTimer.singleShot(0, self.offer_recovery)

    # ------------------------------------------------------------------ actions
    def _action(self, text: str, slot, shortcut: Any = None, icon_name: str = "") -> QAction:
        action = QAction(icon(icon_name), text, self.window) if icon_name else QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda *_: slot())
        return action

    def _build_actions(self) -> None:
        self.undo_action = self.undo_group.createUndoAction(self.window, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setIcon(icon("undo"))
        self.redo_action = self.undo_group.createRedoAction(self.window, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setIcon(icon("redo"))
        self.show_action = self._action("Show labels", self._show_toggled, "V", "eye-outline")
        self.show_action.setCheckable(True)
        self.show_action.setChecked(True)
        self.new_action = self._action("New labels…", self.new_labels, icon_name="tag-plus-outline")
        self.open_action = self._action("Open labels…", self.open_labels, icon_name="tag-arrow-down-outline")
        self.save_action = self._action("Save labels", self.save, QKeySequence.StandardKey.Save,
                                        "content-save-outline")
        self.save_as_action = self._action("Save labels as…", self.save_as, "Ctrl+Alt+S")
        self.save_fits_action = self._action("Save labels into the FITS image (LABELS extension)", self.save_into_fits)

        file_menu: QMenu = self.window.menus["file"]
        before = file_menu.actions()[-1] if file_menu.actions() else None  # Quit stays last
        label_actions = [self.new_action, self.open_action, self.save_action, self.save_as_action,
                         self.save_fits_action]
        file_menu.insertSeparator(before)
        file_menu.insertActions(before, label_actions)
        file_menu.insertSeparator(before)
        file_menu.insertActions(before, self.projects.actions)
        file_menu.insertSeparator(before)

        menu = self.window.menuBar().addMenu("&Labels")
        menu.addActions([self.undo_action, self.redo_action])
        menu.addSeparator()
        menu.addActions(list(self.toolbar.tool_actions.values()))
        menu.addActions([self.toolbar.smaller, self.toolbar.bigger])
        menu.addSeparator()
        menu.addAction(self.show_action)
        self.menu = menu
        self.toolbar.insertActions(self.toolbar.actions()[0], [self.undo_action, self.redo_action, self.show_action])
        self.toolbar.insertSeparator(self.toolbar.tool_actions["pan"])
        self._update_actions()

    def _update_actions(self) -> None:
        has = self.session is not None
        for action in (self.new_action, self.open_action, self.save_action, self.save_as_action):
            action.setEnabled(has)
        self.save_fits_action.setEnabled(has and self.document is not None and self.document.is_fits)
        for action in self.toolbar.actions():
            if action not in (self.undo_action, self.redo_action):
                action.setEnabled(has)

    # ------------------------------------------------------------------ documents and sessions
    def show_document(self, document: Document) -> None:
        """Show the labels of the image now on screen (loading or creating them the first time)."""
        if self.document is None or document.source is not self.document.source:
            self._image_cache = None
        self.document = document
        key: SessionKey = (_image_id(document.path), tuple(document.plane_info.shape))  # type: ignore[assignment]
        session = self.sessions.get(key)
        if session is None:
            session = self._load_session(document)
            self.sessions[key] = session
        self._activate(session)
        self._hide_static_label_overlays(document)
        self._forget_clean_sessions()

    def _load_session(self, document: Document) -> LabelSession:
        shape = tuple(document.plane_info.shape)
        project_key = self.projects.key_of(document.path)
        target: SaveTarget | None = None
        recovered = False
        try:
            if project_key is not None:
                labels, classes, recovered = self.projects.load(project_key, shape)
            else:
                found = files.find_labels(document)
                if found is not None:
                    labels, classes, target = found
                else:
                    labels, classes = np.zeros(shape, np.uint8), ClassSet.preset(files.default_preset(document))
                labels, classes, recovered = self._recover(document.path, shape, labels, classes)
        except CcdstudioError as error:
            # The unreadable file is left alone: these labels are not tied to it (nor to the project).
            messages.show_error(self.window, "Cannot read the labels", f"{error}\nStarting with empty labels; "
                                "Save will ask where to write them.")
            labels, classes, target = np.zeros(shape, np.uint8), ClassSet.preset(files.default_preset(document)), None
            project_key = None
        header = document.plane_info.header if document.is_fits else None  # TIFF tags are no FITS cards
        # Decoders may hand back read-only arrays (Pillow); the session edits its map in place.
        labels = np.require(labels, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"])
        session = LabelSession(labels, classes, Path(document.path), target, project_key,
                               header, parent=self)
        if recovered:
            session.mark_unsaved()
        session.pixelsChanged.connect(lambda box, s=session: self._pixels_changed(s, box))
        session.classesChanged.connect(lambda s=session: self._classes_changed(s))
        session.remapped.connect(lambda remap, forward, s=session: self.projects.remapped(s, remap, forward))
        session.dirtyChanged.connect(lambda dirty, s=session: self._dirty_changed(s, dirty))
        session.stackReplaced.connect(self._stack_replaced)
        session.busyChanged.connect(lambda busy, s=session: self._busy_changed(s, busy))
        session.failed.connect(lambda message: self.window.statusBar().showMessage(message, 5000))
        self.undo_group.addStack(session.stack)
        return session

    def _recover(self, image_path: Path, shape, labels, classes) -> tuple[np.ndarray, ClassSet, bool]:
        """Offer the autosave a crashed session left for this image (outside a project)."""
        found = autosave.recoverable_for(image_path, shape)
        if found is None:
            return labels, classes, False
        when = _time_text(found.autosave.time)
        image = _image_id(image_path)
        if image in self._recover_without_asking or prompts.ask_yes_no(
                self.window, "Recover labels",
                f"Labels of {Path(image_path).name} were autosaved at {when} by a session that ended without "
                "saving them.\n\nRecover them? (No deletes the autosave.)"):
            self._recover_without_asking.discard(image)
            recovered, recovered_classes = autosave.read(found)
            return recovered, recovered_classes, True
        autosave.discard(found)
        return labels, classes, False

    def _activate(self, session: LabelSession) -> None:
        self.projects.follow(session)
        self.session = session
        self.undo_group.setActiveStack(None if session.busy else session.stack)
        self.class_dock.setEnabled(not session.busy)
        self.tools.session = session
        self.layer.set_labels(session.labels)
        self.class_dock.set_session(session)
        self.tools.selected = self.class_dock.selected()
        self._update_drawing()
        self._update_actions()
        self.projects.refresh()

    def _forget_clean_sessions(self) -> None:
        """Free the labels of other images that are saved (unsaved ones stay until saved or discarded)."""
        for key, session in list(self.sessions.items()):
            if session is not self.session and not session.dirty:
                self._drop(key)

    def _drop(self, key: SessionKey) -> None:
        session = self.sessions.pop(key)
        session.settle()
        self.undo_group.removeStack(session.stack)
        self._autosaved.pop(id(session), None)
        session.deleteLater()

    def drop_all_sessions(self) -> None:
        """Forget every session (after the user saved or discarded them, e.g. when a project opens)."""
        self.session = None
        self.tools.session = None
        self.class_dock.set_session(None)
        self.layer.set_labels(None)
        for key in list(self.sessions):
            self._drop(key)
        self._update_actions()

    def reload_current(self) -> None:
        """Load the shown image's labels afresh (after the project changed)."""
        if self.document is not None:
            self.show_document(self.document)

    def _hide_static_label_overlays(self, document: Document) -> None:
        # The main window shows a segment's inklabels and a FITS LABELS extension as fixed overlays; the
        # editable layer replaces them, so a stale copy is not drawn under it.
        names = {p.name for p in document.source.planes if p.role == "labels" or p.name.upper() == "LABELS"}
        for name, check in self.window.overlays_panel.checks.items():
            if name in names and check.isChecked():
                check.setChecked(False)

    # ------------------------------------------------------------------ session signals
    def _pixels_changed(self, session: LabelSession, box) -> None:
        if session is self.session:
            self.layer.labels_changed(box)
            self.projects.schedule_refresh()

    def _classes_changed(self, session: LabelSession) -> None:
        self.projects.classes_changed(session)

    def _dirty_changed(self, session: LabelSession, dirty: bool) -> None:
        self.projects.dirty_changed(session, dirty)

    def _stack_replaced(self, old, new) -> None:
        self.undo_group.removeStack(old)
        self.undo_group.addStack(new)
        if self.session is not None and self.session.stack is new:
            self.undo_group.setActiveStack(new)

    def _busy_changed(self, session: LabelSession, busy: bool) -> None:
        """While a session computes a step off the UI thread: busy cursor, and no undo, redo or class change
        (the tools refuse to paint), so the step lands on the labels it was computed from."""
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
            self.window.statusBar().showMessage(f"{session.busy_text.capitalize()}…")
        else:
            QApplication.restoreOverrideCursor()
            self.window.statusBar().clearMessage()
        if session is self.session:
            self.undo_group.setActiveStack(None if busy else session.stack)
            self.class_dock.setEnabled(not busy)

    def _class_selected(self, index: int) -> None:
        self.tools.selected = index

    def _update_drawing(self) -> None:
        if self.session is None:
            return
        dock = self.class_dock
        only = dock.selected() if dock.only_selected.isChecked() else None
        self.layer.set_table(argb_table(self.session.classes, dock.hidden(), only))
        self.layer.set_contour(dock.contour.isChecked())
        self.layer.setOpacity(dock.opacity.value() / 100)

    def _show_toggled(self) -> None:
        self.layer.setVisible(self.show_action.isChecked())

    def _read_image(self) -> np.ndarray:
        """The shown plane as an array (for the fill that follows image values); read once per plane."""
        document = self.document
        if document is None:
            raise CcdstudioError("no image is shown")
        tag = (id(document.view_source), document.view_plane)
        if self._image_cache is None or self._image_cache[0] != tag:
            self._image_cache = (tag, np.asarray(document.view_source.read(document.view_plane)))
        return self._image_cache[1]

    # ------------------------------------------------------------------ hand-over from other features
    def current_labels(self) -> tuple[np.ndarray, ClassSet] | None:
        """The label map of the shown image (the editor's own array: copy it before changing it) and its
        classes, or None when no image is shown."""
        session = self.session
        return None if session is None else (session.labels, session.classes)

    def accept_labels(self, labels: np.ndarray, classes: ClassSet, title: str, merge: bool = False) -> None:
        """Make ``labels`` (a uint8 map of the shown image's shape, indices into ``classes``) the labels of
        the shown image, as ONE undo step called ``title``.

        Classes are matched by name: a class the labels' set lacks is added at its end, so a threshold
        result labelled "cluster" lands in the existing "cluster" class. With ``merge``, only the non-zero
        pixels of ``labels`` are written and every other pixel keeps its label; otherwise the map is
        replaced. Raises :class:`CcdstudioError` when no image is shown or the shape differs.
        """
        session = self.session
        if session is None:
            raise CcdstudioError("open an image before adding labels to it")
        labels = check_labels(labels, classes)
        if labels.shape != session.shape:
            raise CcdstudioError(f"labels of {labels.shape[1]} x {labels.shape[0]} do not fit the shown image "
                                 f"({session.shape[1]} x {session.shape[0]})")
        session.settle()  # a fill still running in the background lands first, as its own undo step
        mapped, target = adopt_classes(labels, classes, session.classes)
        new = np.where(labels > 0, mapped, session.labels) if merge else mapped
        session.replace_labels(new, target, title)

    # ------------------------------------------------------------------ label files
    def new_labels(self) -> None:
        """Start empty labels with a chosen class preset (undoable)."""
        if self.session is None or self.document is None:
            return
        default = 1 if files.default_preset(self.document) == "ink" else 0
        choice = prompts.ask_choice(self.window, "New labels", "Classes:", [t for _, t in PRESETS], default)
        if choice is None:
            return
        self.session.replace_labels(np.zeros(self.session.shape, np.uint8), ClassSet.preset(PRESETS[choice][0]),
                                    "new labels")
        if self.session.key is None:
            self.session.target = None

    def open_labels(self) -> None:
        """Replace the labels with a file's (undoable; Save then writes to that file)."""
        if self.session is None:
            return
        path = prompts.ask_open_path(self.window, "Open labels", str(self.session.image_path.parent),
                                     files.LABEL_FILTER)
        if path is None:
            return
        try:
            labels, classes, target = files.open_labels(Path(path), self.session.shape)
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot open labels", str(error))
            return
        self.session.replace_labels(labels, classes, f"open {Path(path).name}")
        if self.session.key is None:
            self.session.target = target
            self.session.mark_saved()

    def save(self, session: LabelSession | None = None) -> bool:
        """Save a session's labels (the shown one's by default) where they belong; False if not saved.

        A failed write (read-only folder, full disk) is reported and the labels stay in memory, unsaved.
        """
        session = session or self.session
        if session is None:
            return True
        if session.key is not None and self.projects.project is not None:
            return self.projects.save_labels(session)
        if session.target is None:
            return self.save_as(session)
        return self._write(session, session.target)

    def save_as(self, session: LabelSession | None = None) -> bool:
        session = session or self.session
        if session is None or self.document is None:
            return False
        suggestion = session.target.path if session.target is not None else files.suggested_path(self.document)
        path = prompts.ask_save_path(self.window, f"Save labels of {session.image_path.name}", str(suggestion),
                                     files.LABEL_FILTER)
        if path is None:
            return False
        kind = "ink" if Path(path).name.lower().endswith("inklabels.png") and len(session.classes) == 2 else "file"
        return self._write(session, SaveTarget(Path(path), kind))  # type: ignore[arg-type]

    def save_into_fits(self) -> bool:
        """Write the labels as the ``LABELS`` extension of the FITS image (its other HDUs kept)."""
        if self.session is None or self.document is None or not self.document.is_fits:
            return False
        return self._write(self.session, SaveTarget(Path(self.document.path), "extension"))

    def _write(self, session: LabelSession, target: SaveTarget) -> bool:
        try:
            files.write(session, target)
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot save labels", f"{error}\n\nThe labels are kept in memory; "
                                "save them somewhere else with Save labels as….")
            return False
        session.target = target
        session.mark_saved()
        autosave.remove(session.image_path)
        self.window.statusBar().showMessage(f"Labels saved to {target.path}", 5000)
        return True

    # ------------------------------------------------------------------ autosave, recovery, closing
    def autosave_now(self) -> None:
        """Autosave every session changed since its last autosave (the timer calls this; so does closing)."""
        for session in self.sessions.values():
            if not session.dirty or self._autosaved.get(id(session)) == session.changes:
                continue
            try:
                if session.key is not None and self.projects.project is not None:
                    self.projects.project.autosave(session.key, session.labels, session.classes)
                else:
                    autosave.write(session.image_path, session.labels, session.classes)
            except CcdstudioError as error:
                self.window.statusBar().showMessage(f"Autosave failed: {error}", 10000)
                continue
            self._autosaved[id(session)] = session.changes

    def offer_recovery(self) -> None:
        """At start: offer to open the images whose labels a crashed session left unsaved, or else the last
        project, if it holds such labels."""
        # An image open or being opened (from the command line, say) is offered its own autosave as it opens.
        opened = {image for image, _ in self.sessions} | {_image_id(p) for p in getattr(self.window, "files", [])}
        found = [f for f in autosave.recoverable() if _image_id(f.image_path) not in opened]
        if not found:
            self.projects.offer_startup_recovery()
            return
        names = "\n".join(f"  {f.image_path}  ({_time_text(f.autosave.time)})" for f in found[:10])
        if prompts.ask_yes_no(self.window, "Recover labels",
                              f"A session that ended unexpectedly left unsaved labels of:\n{names}\n\n"
                              f"Open {found[-1].image_path.name} and recover its labels now? (The others are "
                              "offered when you open them.)"):
            self._recover_without_asking.add(_image_id(found[-1].image_path))
            self.window.open_path(str(found[-1].image_path))

    def unsaved_sessions(self) -> list[LabelSession]:
        return [s for s in self.sessions.values() if s.dirty]

    def settle_unsaved(self, question: str, keep: LabelSession | None = None) -> bool:
        """Ask about unsaved labels (Save / Discard / Cancel), those of ``keep`` left as they are; True when it
        is fine to go on."""
        unsaved = [s for s in self.unsaved_sessions() if s is not keep]
        if not unsaved:
            return True
        self.autosave_now()  # whatever the answer, a crash during it loses nothing
        names = "\n".join(f"  {s.image_path.name}" for s in unsaved)
        answer = prompts.ask_save(self.window, "Unsaved labels", f"Labels of these images are not saved:\n{names}"
                                  f"\n\n{question}")
        if answer == "cancel":
            return False
        if answer == "save":
            return all(self.save(s) for s in unsaved)
        for session in unsaved:
            if session.key is None:
                autosave.remove(session.image_path)
            session.mark_saved()  # discarded: nothing more to ask or autosave
        return True

    def close_guard(self) -> bool:
        """The window's close guard: settle unsaved labels, then end autosaving."""
        for session in self.sessions.values():
            session.settle()
        if not self.settle_unsaved("Save them before closing?") or not self.projects.settle():
            return False
        self.autosave_timer.stop()
        self.projects.close()
        return True


def _time_text(timestamp: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
