"""Projects in the label editor: File > New/Open/Save project, the project dock, per-project autosave.

In a project, an image's labels live in the project folder (:class:`~ccdstudio.labels.project.Project`)
and share the project's class set. A class change on one image (add, rename, recolour, reorder, merge) is
recorded as a remap of the project's classes, and its undo takes it back; labels saved under an earlier class
set are brought through the recorded remaps when they are opened (and when they are exported or trained on),
and images whose labels are in memory follow when they are shown again. Label files from elsewhere are
matched by class name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import messages, settings
from ccdstudio.gui.icons import icon
from ccdstudio.gui.labels import autosave, prompts
from ccdstudio.gui.labels.project_dock import ImageStats, ProjectDock
from ccdstudio.gui.labels.session import LabelSession, adopt_classes
from ccdstudio.gui.main_window import FILE_FILTER
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.project import Project, left_by_a_crash
from ccdstudio.labels.remap import Remap

if TYPE_CHECKING:
    from ccdstudio.gui.labels.editor import LabelEditor

LAST_PROJECT_KEY = "labels/last_project"
"""Settings key: the folder of the project opened last (its crash autosaves are offered at the next start)."""


def session_stats(session: LabelSession) -> ImageStats:
    """``{class: {"pixels", "fraction"}}`` of a session's labels as they are in memory."""
    total = max(session.labels.size, 1)
    return {name: {"pixels": n, "fraction": n / total} for name, n in zip(session.classes.names, session.class_counts())}


class ProjectControl(QObject):
    """The open project (if any) of a :class:`LabelEditor`, its menu actions and its dock."""

    changed = Signal()
    """The project was opened, closed or changed: images added or removed, labels saved or edited."""

    def __init__(self, editor: LabelEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.window = editor.window
        self.project: Project | None = None
        self._pending_recovery: set[str] = set()
        self.dock = ProjectDock()
        self.window.add_dock("project", "Project", self.dock, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.window.docks["project"].hide()  # until a project is created or opened
        self.dock.openRequested.connect(self.open_image)
        self.dock.addRequested.connect(self.add_images)
        self.dock.removeRequested.connect(self.remove_image)
        self._refresh_timer = QTimer(self, singleShot=True, interval=500)
        self._refresh_timer.timeout.connect(self.refresh)
        self.actions = [
            self._action("New project…", self.new_project, "folder-star-outline"),
            self._action("Open project…", self.open_project, "folder-open-outline"),
            self._action("Save project", self.save_project, "content-save-all-outline"),
            self._action("Save project as…", self.save_project_as),
            self._action("Add current image to project", self.add_current_image, "image-plus"),
        ]
        self._update_actions()

    def _action(self, text: str, slot, icon_name: str = "") -> QAction:
        action = QAction(icon(icon_name), text, self.window) if icon_name else QAction(text, self.window)
        action.triggered.connect(lambda *_: slot())
        return action

    def _update_actions(self) -> None:
        has = self.project is not None
        self.actions[2].setEnabled(has)
        self.actions[3].setEnabled(has)
        self.actions[4].setEnabled(has and self.editor.document is not None)

    # ------------------------------------------------------------------ images and their labels
    def key_of(self, image_path: Path | str) -> str | None:
        """The project key of the image at ``image_path``, or None when it is not in the open project."""
        if self.project is None:
            return None
        wanted = Path(image_path).resolve()
        return next((k for k in self.project.images if self.project.image_path(k).resolve() == wanted), None)

    def load(self, key: str, shape: tuple[int, int]) -> tuple[np.ndarray, ClassSet, bool]:
        """An image's labels in the project's classes (recovered from an autosave if the user chose so)."""
        project = self.project
        assert project is not None
        if key in self._pending_recovery:
            self._pending_recovery.discard(key)
            labels = project.recover(key)
            if labels.shape == tuple(shape):
                return labels, project.classes, True
        if not project.labels_path(key).is_file():
            return np.zeros(shape, np.uint8), project.classes, False
        labels, classes = project.read_labels(key)
        if labels.shape != tuple(shape):
            raise CcdstudioError(f"the project's labels of {key} are {labels.shape[1]} x {labels.shape[0]}, "
                                 f"the image {shape[1]} x {shape[0]}")
        labels, merged = adopt_classes(labels, classes, project.classes)
        if merged != project.classes:
            project.set_classes(merged)
        return labels, merged, False

    def save_labels(self, session: LabelSession) -> bool:
        project = self.project
        assert project is not None and session.key is not None
        try:
            project.save_labels(session.key, session.labels, header=session.header, classes=session.classes)
            project.save()
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot save labels", f"{error}\n\nThe labels are kept in memory.")
            return False
        session.mark_saved()
        self.window.statusBar().showMessage(f"Labels of {session.key} saved in {project.folder}", 5000)
        self.refresh()
        return True

    def classes_changed(self, session: LabelSession) -> None:
        if self.project is not None and session.key is not None:
            self.refresh()

    def remapped(self, session: LabelSession, remap: Remap, forward: bool) -> None:
        """Record a class change of a project image's labels as the project's (undo takes it back).

        A change made from classes the project has since left (labels kept in memory while another image's
        classes changed) stays with those labels: their file is remapped when read.
        """
        project = self.project
        if project is None or session.key not in project.images:
            return
        if forward and remap.source == project.classes:
            project.add_remap(remap)
        elif not forward:
            project.undo_remap(remap)

    def follow(self, session: LabelSession) -> None:
        """Bring a project image's labels kept in memory into the project's current classes (one undo step)."""
        project = self.project
        if project is None or session.key not in project.images or session.classes == project.classes:
            return
        remap = project.remap_from(session.classes)
        if remap is not None:
            session.apply_remap(remap, "use the project's classes", record=False)

    def dirty_changed(self, session: LabelSession, dirty: bool) -> None:
        if self.project is not None and session.key in self.project.images:
            self.project.mark_changed(session.key, dirty)
        self.refresh()

    # ------------------------------------------------------------------ the dock
    def schedule_refresh(self) -> None:
        if self.project is not None:
            self._refresh_timer.start()

    def refresh(self) -> None:
        live = {s.key: session_stats(s) for s in self.editor.sessions.values() if s.key is not None}
        unsaved = {s.key for s in self.editor.sessions.values() if s.key is not None and s.dirty}
        current = self.editor.session.key if self.editor.session is not None else None
        self.dock.show_project(self.project, live, unsaved, current)  # type: ignore[arg-type]
        self._update_actions()
        self.changed.emit()

    def open_image(self, key: str) -> None:
        if self.project is not None:
            self.window.open_path(str(self.project.image_path(key)))

    def add_images(self) -> None:
        if self.project is None:
            return
        paths = prompts.ask_open_paths(self.window, "Add images to the project", str(self.project.folder),
                                       FILE_FILTER)
        for path in paths:
            if self.key_of(path) is None:
                self.project.add_image(path)
        self.refresh()

    def add_current_image(self) -> None:
        """Put the shown image into the project; its labels in memory become the project's labels of it."""
        editor = self.editor
        if self.project is None or editor.document is None or editor.session is None:
            return
        if self.key_of(editor.document.path) is None:
            key = self.project.add_image(editor.document.path)
            session = editor.session
            labels, classes = adopt_classes(session.labels, session.classes, self.project.classes)
            if classes != session.classes or labels is not session.labels:
                session.replace_labels(labels, classes, "use the project's classes")
            session.key = key
            self.project.set_classes(session.classes)
            self.project.mark_changed(key)
            session.mark_unsaved()
        self.refresh()

    def remove_image(self, key: str) -> None:
        if self.project is None:
            return
        self.project.remove_image(key)
        for session in self.editor.sessions.values():
            if session.key == key:
                session.key = None
        self.refresh()

    # ------------------------------------------------------------------ project life cycle
    def new_project(self) -> None:
        """Create a project in a folder the user chooses, with the shown image and its labels as they are
        (saved or not: they move into the project); other images' unsaved labels are asked about."""
        folder = prompts.ask_folder(self.window, "New project: choose an empty folder", "")
        editor = self.editor
        shown = editor.session if editor.document is not None else None
        if folder is None or not editor.settle_unsaved("Save them before starting the project?", keep=shown):
            return
        classes = shown.classes if shown is not None else ClassSet.preset("ccd")
        try:
            project = Project.create(folder, classes)
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot create the project", str(error))
            return
        carried = (shown.labels.copy(), shown.classes, shown.key is None and shown.dirty) if shown else None
        self._switch(project)
        if carried is not None and editor.session is not None:
            labels, classes, standalone_unsaved = carried
            editor.session.replace_labels(labels, classes, "labels carried into the project")
            if standalone_unsaved:  # the project's autosave keeps them from now on
                autosave.remove(editor.session.image_path)
        if editor.document is not None:
            self.add_current_image()

    def offer_startup_recovery(self) -> None:
        """At start: offer to open the last project when a session that ended unexpectedly left unsaved labels
        in it (they are offered back as it opens)."""
        folder = settings.settings().value(LAST_PROJECT_KEY, "")
        if self.project is not None or not folder or not Path(folder).is_dir() or not left_by_a_crash(folder):
            return
        if prompts.ask_yes_no(self.window, "Recover labels", f"A session that ended unexpectedly left unsaved "
                              f"labels in the project {Path(folder).name} ({folder}).\n\nOpen it now?"):
            self.open_project(folder, recover=True)

    def open_project(self, folder: str | None = None, recover: bool = False) -> None:
        """Open a project (``recover``: take back a crashed session's autosaves without asking again)."""
        folder = folder or prompts.ask_folder(self.window, "Open project", "")
        if folder is None or not self.editor.settle_unsaved("Save them before opening the project?"):
            return
        try:
            project = Project.open(folder)
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot open the project", str(error))
            return
        others = project.open_elsewhere()
        if others and not prompts.ask_yes_no(
                self.window, "Project in use", f"The project is open in another ccdstudio (process "
                f"{', '.join(map(str, others))}). Edits in both would overwrite each other. Open it anyway?"):
            return
        self._switch(project)
        self._offer_recovery(project, ask=not recover)
        shown = self.editor.document
        if (shown is None or self.key_of(shown.path) is None) and project.images:
            self.open_image(next(iter(project.images)))

    def _offer_recovery(self, project: Project, ask: bool = True) -> None:
        found = project.recoverable()
        if not found:
            return
        names = ", ".join(r.key for r in found)
        if not ask or prompts.ask_yes_no(self.window, "Recover labels", f"Unsaved labels of {names} were autosaved "
                                         "by a session that ended unexpectedly.\n\nRecover them? (No deletes the "
                                         "autosaves.)"):
            self._pending_recovery = {r.key for r in found}
            shown = self.editor.document
            if shown is not None and self.key_of(shown.path) in self._pending_recovery:
                self.editor.drop_all_sessions()
                self.editor.reload_current()
        else:
            project.discard_recovery()

    def _switch(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.close()
        self.project = project
        self._pending_recovery = set()
        if project is not None:
            settings.settings().setValue(LAST_PROJECT_KEY, str(project.folder))  # offered at a start after a crash
            self.window.docks["project"].show()
        self.editor.drop_all_sessions()
        self.editor.reload_current()
        self.refresh()

    def save_project(self) -> bool:
        """Save the labels of the project's images that have unsaved changes, then the manifest."""
        if self.project is None:
            return True
        for session in list(self.editor.sessions.values()):
            if session.key is not None and session.dirty and not self.save_labels(session):
                return False
        return self._save_manifest()

    def _save_manifest(self) -> bool:
        try:
            self.project.save()  # type: ignore[union-attr]
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot save the project", str(error))
            return False
        self.refresh()
        return True

    def save_project_as(self) -> None:
        if self.project is None:
            return
        folder = prompts.ask_folder(self.window, "Save project as: choose an empty folder", "")
        if folder is None:
            return
        try:
            self.project.save_as(folder)
        except CcdstudioError as error:
            messages.show_error(self.window, "Cannot save the project", str(error))
            return
        self.save_project()

    def settle(self) -> bool:
        """Before closing: save a changed manifest (image list, classes) after asking."""
        if self.project is None or not self.project.dirty:
            return True
        answer = prompts.ask_save(self.window, "Unsaved project", f"The project {self.project.folder.name} has "
                                  "unsaved changes (images or classes). Save it?")
        return answer == "discard" or (answer == "save" and self._save_manifest())

    def close(self) -> None:
        if self.project is not None:
            self.project.close()
