"""The labels of one image while they are edited: the full-resolution map, its classes and its undo stack.

Every change goes through a :class:`LabelSession`: tools hand it Qt-free edits
(:mod:`ccdstudio.labels.paint`), it applies them to the uint8 map in place, keeps the pixel count of every
class up to date from the edit alone (no pass over the whole map), and announces the changed box so the
label layer redraws only that. The undo stack is bounded by count and by the memory its edits hold.

A step too slow for the UI thread (a fill of a large map) is computed in a worker thread with
:meth:`LabelSession.do_in_background`; until it is applied the session is busy and refuses edits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui.labels.commands import ClassesCommand, StepCommand
from ccdstudio.gui.workers import JobWorker
from ccdstudio.jobs import Job, Progress
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.edits import Edit, EditGroup, RegionEdit, Step, compact
from ccdstudio.labels.remap import Remap
from ccdstudio.labels.stats import pixel_counts

MAX_STEPS = 500
MAX_BYTES = 512 * 2**20
_BAND_ROWS = 512


@dataclass(frozen=True)
class SaveTarget:
    """Where "Save labels" writes without asking.

    ``kind``: ``"file"`` a label file (format from the extension, FITS keeps ``header``), ``"ink"`` the
    Vesuvius 0/255 ``inklabels.png``, ``"extension"`` the ``LABELS`` extension of the FITS image itself.
    """

    path: Path
    kind: Literal["file", "ink", "extension"] = "file"


def band_step(labels: np.ndarray, new: np.ndarray, text: str) -> EditGroup | None:
    """The change from ``labels`` to ``new`` as row bands holding only the changed pixels' boxes."""
    edits = []
    for y in range(0, labels.shape[0], _BAND_ROWS):
        edit = Edit.between(y, 0, labels[y: y + _BAND_ROWS], new[y: y + _BAND_ROWS], text)
        if edit is not None:
            edits.append(edit)
    return EditGroup(tuple(edits), text) if edits else None


class LabelSession(QObject):
    """One image's labels being edited.

    Parameters
    ----------
    labels, classes
        The uint8 map (edited in place) and its class set.
    image_path
        The labelled image (file or segment folder).
    target
        Where Save writes without asking (None: Save asks); unused in a project, which knows its files.
    key
        The image's key in the open project, if any.
    header
        The image plane's FITS header, kept in FITS label files.
    """

    pixelsChanged = Signal(object)
    """``(y0, x0, y1, x1)`` of pixels that changed (end-exclusive)."""
    classesChanged = Signal()
    remapped = Signal(object, bool)
    """``(remap, forward)``: a class change that maps the old classes onto the new ones was done (forward)
    or undone; an open project records it (and takes it back)."""
    dirtyChanged = Signal(bool)
    stackReplaced = Signal(object, object)
    """``(old, new)`` undo stacks, after the history was trimmed to its memory bound."""
    busyChanged = Signal(bool)
    """A step started being computed off the UI thread (True), or was applied or failed (False)."""
    failed = Signal(str)
    """Computing a step off the UI thread failed (the labels are unchanged)."""

    def __init__(self, labels: np.ndarray, classes: ClassSet, image_path: Path, target: SaveTarget | None = None,
                 key: str | None = None, header: Any = None, max_steps: int = MAX_STEPS,
                 max_bytes: int = MAX_BYTES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if labels.ndim != 2 or labels.dtype != np.uint8:
            raise CcdstudioError(f"labels must be a 2-D uint8 map, got {labels.shape} {labels.dtype}")
        self.labels = labels
        self.classes = classes
        self.image_path = image_path
        self.target = target
        self.key = key
        self.header = header
        self.max_steps, self.max_bytes = max_steps, max_bytes
        self.counts = pixel_counts(labels, 256)
        self.changes = 0
        """Grows with every change, undo and redo; the autosave compares it with what it last wrote."""
        self._stroke: list[Edit] | None = None
        self._stroke_text = ""
        self._worker: JobWorker | None = None
        self.busy_text = ""
        """What is being computed off the UI thread ("fill"), for a status line."""
        self.stack = self._new_stack()

    # ------------------------------------------------------------------ state
    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    @property
    def dirty(self) -> bool:
        """Whether the labels differ from the last save (undoing back to it makes them clean)."""
        return not self.stack.isClean() or self._stroke is not None or self.busy

    def mark_saved(self) -> None:
        self.stack.setClean()

    def mark_unsaved(self) -> None:
        """Count the labels as unsaved (e.g. recovered from an autosave) until the next save."""
        self.stack.resetClean()
        self.dirtyChanged.emit(True)

    def _new_stack(self) -> QUndoStack:
        stack = QUndoStack(self)
        stack.setUndoLimit(self.max_steps)
        stack.cleanChanged.connect(self._clean_changed)  # a method: disconnected when the session goes
        return stack

    def _clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean)

    # ------------------------------------------------------------------ applying
    def apply_step(self, step: Step, forward: bool = True) -> None:
        """Apply (or revert) a recorded step and announce it; commands call this on undo and redo."""
        edits = step.edits if isinstance(step, EditGroup) else (step,)
        for edit in edits if forward else reversed(edits):
            self._write(edit, forward)
        self.changes += 1
        self.pixelsChanged.emit(step.box)

    def _write(self, edit: Edit | RegionEdit, forward: bool) -> None:
        if forward:
            edit.apply(self.labels)
            self.counts += edit.count_change()
        else:
            edit.revert(self.labels)
            self.counts -= edit.count_change()

    def set_classes(self, classes: ClassSet, remap: Remap | None = None, forward: bool = True) -> None:
        """Swap the class set (commands call this; users go through :meth:`change_classes`)."""
        self.classes = classes
        self.changes += 1
        if remap is not None:
            self.remapped.emit(remap, forward)
        self.classesChanged.emit()

    # ------------------------------------------------------------------ strokes
    def begin_stroke(self, text: str) -> None:
        """Start gathering edits into one undo step (a brush stroke)."""
        self._check_idle()
        self._stroke, self._stroke_text = [], text

    def stroke(self, edit: Edit | None) -> None:
        """Apply one segment of the open stroke at once (the user sees it while dragging)."""
        if edit is None:
            return
        if self._stroke is None:
            raise CcdstudioError("no stroke is open")
        self._stroke.append(edit)
        self._write(edit, True)
        self.changes += 1
        self.pixelsChanged.emit(edit.box)

    def end_stroke(self) -> None:
        """Close the stroke as one undo step (stored as one box when that is smaller than its pieces)."""
        edits, self._stroke = self._stroke, None
        if edits:
            step = compact(EditGroup(tuple(edits), self._stroke_text), self.labels)
            self._push(StepCommand(self, step, self._stroke_text))

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    # ------------------------------------------------------------------ one-shot changes
    def do(self, step: Step | None, text: str) -> bool:
        """Apply a tool's edit (fill, rectangle, polygon) as one undo step; False when nothing changed."""
        self._check_idle()
        if step is None:
            return False
        self.apply_step(step)
        self._push(StepCommand(self, step, text))
        return True

    def change_classes(self, new: ClassSet, step: Step | None = None, text: str = "change classes",
                       remap: Remap | None = None) -> None:
        """Switch to ``new`` classes and apply ``step`` (the remapped pixels) as one undo step.

        ``remap`` says how the old classes map onto ``new`` (a merge, a reorder, or each class onto itself
        for an added, renamed or recoloured class); it is announced with :attr:`remapped` so an open project
        records the change. None for a change it should not record.
        """
        self._check_idle()
        old = self.classes
        if step is not None:
            self.apply_step(step)
        self.set_classes(new, remap)
        self._push(ClassesCommand(self, old, new, step, text, remap))

    def relabel(self, new: ClassSet, text: str) -> None:
        """Switch to ``new`` classes whose first indices mean what they meant (add, rename, recolour)."""
        remap = Remap(self.classes, new, tuple(range(len(self.classes))))
        self.change_classes(new, None, text, remap)

    def apply_remap(self, remap: Remap, text: str, record: bool = True) -> None:
        """Remap the labels by ``remap`` (from the current classes) as one undo step; announced when ``record``."""
        self.change_classes(remap.target, remap.edit(self.labels), text, remap if record else None)

    def replace_labels(self, new: np.ndarray, classes: ClassSet, text: str) -> None:
        """Make ``new`` (same shape) the labels and ``classes`` their classes, as one undo step.

        When ``classes`` keep every current class name, the class change is announced as a remap by name.
        """
        if new.shape != self.labels.shape:
            raise CcdstudioError(f"labels of shape {new.shape} do not fit the {self.labels.shape} image")
        step = band_step(self.labels, new, text)
        if classes != self.classes:
            keeps_names = set(self.classes.names) <= set(classes.names)
            self.change_classes(classes, step, text, Remap.by_name(self.classes, classes) if keeps_names else None)
        else:
            self.do(step, text)

    # ------------------------------------------------------------------ work off the UI thread
    @property
    def busy(self) -> bool:
        """Whether a step is being computed off the UI thread (edits raise until it is applied)."""
        return self._worker is not None

    def _check_idle(self) -> None:
        if self.busy:
            raise CcdstudioError(f"wait for the {self.busy_text} to finish before changing these labels")

    def do_in_background(self, compute: Callable[[], Step | None], text: str) -> None:
        """Compute a step (a fill of a large map) in a worker thread, then apply it with :meth:`do`.

        ``compute`` reads the labels; until its step is applied the session is :attr:`busy` and every edit
        raises :class:`CcdstudioError` (the editor also holds undo and redo), so nothing changes the map
        under it and the step lands as the one undo step a synchronous :meth:`do` would make.
        """
        self._check_idle()
        worker = JobWorker(lambda cancel: _step_job(compute, text), text, self)
        worker.finished_with.connect(self._computed)
        worker.failed.connect(self._compute_failed)
        worker.finished.connect(worker.deleteLater)
        self._worker, self.busy_text = worker, text
        self.busyChanged.emit(True)
        worker.start()

    def settle(self) -> None:
        """Wait for a step being computed and apply it now (before the session goes away)."""
        if self._worker is not None:
            self._worker.wait()
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)

    def _computed(self, step: Step | None) -> None:
        self._worker = None
        self.busyChanged.emit(False)
        self.do(step, self.busy_text)

    def _compute_failed(self, message: str) -> None:
        self._worker = None
        self.busyChanged.emit(False)
        self.failed.emit(f"{self.busy_text} failed: {message}")

    # ------------------------------------------------------------------ history bound
    def _push(self, command: QUndoCommand) -> None:
        self.stack.push(command)
        self._trim()

    def history_bytes(self) -> int:
        return sum(self.stack.command(i).nbytes for i in range(self.stack.count()))

    def _trim(self) -> None:
        """Drop the oldest steps while the history holds more than ``max_bytes`` (the newest is kept).

        QUndoStack cannot forget its oldest commands, so a trimmed history is a new stack holding copies
        of the newest ones; after a push there is nothing to redo, so nothing else is lost.
        """
        if self.stack.count() < 2 or self.history_bytes() <= self.max_bytes:
            return
        commands = [self.stack.command(i) for i in range(self.stack.count())]
        clean = self.stack.cleanIndex()
        kept, total = [], 0
        for command in reversed(commands):
            if kept and total + command.nbytes > self.max_bytes:
                break
            kept.insert(0, command)
            total += command.nbytes
        first = len(commands) - len(kept)
        old, self.stack = self.stack, self._new_stack()
        if clean < first:
            self.stack.resetClean()
        for index, command in enumerate(kept, start=first):
            self.stack.push(command.copy())
            if index + 1 == clean:
                self.stack.setClean()
        self.stackReplaced.emit(old, self.stack)
        old.deleteLater()

    # ------------------------------------------------------------------ statistics
    def class_counts(self) -> list[int]:
        """Pixels per class of the current labels."""
        return [int(n) for n in self.counts[: len(self.classes)]]


def _step_job(compute: Callable[[], Step | None], text: str) -> Job[Step | None]:
    yield Progress(None, text)
    return compute()


def adopt_classes(labels: np.ndarray, classes: ClassSet, into: ClassSet) -> tuple[np.ndarray, ClassSet]:
    """``labels`` (of ``classes``) re-indexed into the class set ``into`` by class name.

    Names ``into`` lacks are appended to it (with their colours), so no labelled pixel loses its class.
    Returns the re-indexed labels (``labels`` itself when nothing moves) and the extended class set.
    """
    target, table = into, []
    for label_class in classes:
        if label_class.name not in target.names:
            target = target.added(label_class.name, label_class.color)
        table.append(target.index(label_class.name))
    if table == list(range(len(table))):
        return labels, target
    lut = np.arange(256, dtype=np.uint8)
    lut[: len(table)] = table
    return np.take(lut, labels), target
