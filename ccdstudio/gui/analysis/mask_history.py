"""The working mask of the threshold dock and its undo stack.

Every change (a threshold applied, a morphology step, a clean-up recipe) is one undo step. A step keeps
the mask before and after it bit-packed (an eighth of a byte per pixel: 2 MiB for a 4096² frame), so a long
session of edits stays small.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


class _Packed:
    """A boolean mask stored one bit per pixel."""

    def __init__(self, mask: np.ndarray | None) -> None:
        self.shape = None if mask is None else mask.shape
        self.bits = None if mask is None else np.packbits(mask, axis=None)

    def unpack(self) -> np.ndarray | None:
        if self.bits is None:
            return None
        count = self.shape[0] * self.shape[1]
        return np.unpackbits(self.bits, count=count).view(bool).reshape(self.shape)


class _Change(QUndoCommand):
    def __init__(self, history: MaskHistory, before: np.ndarray | None, after: np.ndarray | None, text: str):
        super().__init__(text)
        self._history = history
        self._before, self._after = _Packed(before), _Packed(after)
        self._first = after

    def redo(self) -> None:
        after, self._first = (self._first if self._first is not None else self._after.unpack()), None
        self._history._set(after)

    def undo(self) -> None:
        self._history._set(self._before.unpack())


class MaskHistory(QObject):
    """The current mask (None before the first threshold) with undo and redo."""

    changed = Signal(object)
    """The new mask (bool array or None)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self.mask: np.ndarray | None = None

    def push(self, mask: np.ndarray | None, text: str) -> None:
        """Make ``mask`` current, as an undoable step called ``text``."""
        after = None if mask is None else np.ascontiguousarray(mask, dtype=bool)
        self.stack.push(_Change(self, self.mask, after, text))

    def reset(self) -> None:
        """Forget the mask and its history (another plane is shown)."""
        self.stack.clear()
        self._set(None)

    def _set(self, mask: np.ndarray | None) -> None:
        self.mask = mask
        self.changed.emit(mask)
