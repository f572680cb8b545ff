"""Undo commands over the Qt-free edit records: one command per brush stroke, fill, shape or class change.

A command only points at a :class:`~ccdstudio.labels.edits.Edit` (or group) that stores the changed
rectangle's old and new values; the session applies and reverts it. Commands are pushed *after* their
edit was applied (a stroke is drawn while the mouse moves), so the first :meth:`redo` Qt makes on
:meth:`QUndoStack.push` does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.edits import Step
from ccdstudio.labels.remap import Remap

if TYPE_CHECKING:
    from ccdstudio.gui.labels.session import LabelSession


class StepCommand(QUndoCommand):
    """Pixels changed by one tool use (a stroke, a fill, a polygon, ...)."""

    def __init__(self, session: LabelSession, step: Step, text: str, applied: bool = True) -> None:
        super().__init__(text)
        self.session = session
        self.step = step
        self._skip_redo = applied

    @property
    def nbytes(self) -> int:
        return self.step.nbytes

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.session.apply_step(self.step, forward=True)

    def undo(self) -> None:
        self.session.apply_step(self.step, forward=False)

    def copy(self) -> StepCommand:
        """The same change as a new command whose effect is already applied (to rebuild a stack)."""
        return StepCommand(self.session, self.step, self.text(), applied=True)


class ClassesCommand(QUndoCommand):
    """A change of the class set (add, rename, recolour, reorder, merge), with the pixels it remaps.

    Undo swaps the old class set back and restores the old indices, so labels and classes always agree.
    ``remap`` (old classes onto new, or None) is announced on redo and undo so an open project can record
    the change and take it back.
    """

    def __init__(self, session: LabelSession, old: ClassSet, new: ClassSet, step: Step | None, text: str,
                 remap: Remap | None = None, applied: bool = True) -> None:
        super().__init__(text)
        self.session = session
        self.old, self.new, self.step, self.remap = old, new, step, remap
        self._skip_redo = applied

    @property
    def nbytes(self) -> int:
        return self.step.nbytes if self.step is not None else 0

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        if self.step is not None:
            self.session.apply_step(self.step, forward=True)
        self.session.set_classes(self.new, self.remap, forward=True)

    def undo(self) -> None:
        if self.step is not None:
            self.session.apply_step(self.step, forward=False)
        self.session.set_classes(self.old, self.remap, forward=False)

    def copy(self) -> ClassesCommand:
        return ClassesCommand(self.session, self.old, self.new, self.step, self.text(), self.remap, applied=True)
