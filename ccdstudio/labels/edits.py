"""Undoable edits of a label map that store only the rectangle they change, and their history.

An :class:`Edit` holds the old and new values of one rectangle, so painting on a 10000 x 8000 map costs
memory in proportion to the brush, not the map. A fill, whose rectangle can be the whole map, is a
:class:`RegionEdit`: a packed bitmap of the region and its old class, an eighth of a byte per pixel. A brush stroke is many segment edits gathered into one
:class:`EditGroup`, so it is one undo step. :class:`History` keeps undo and redo stacks bounded by bytes
and by count, and knows whether the labels differ from what was last saved.

Rectangles are ``[y0:y0+h, x0:x0+w]`` in array coordinates (row-major, 0-based).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.stats import pixel_counts

Box = tuple[int, int, int, int]
"""``(y0, x0, y1, x1)``, end-exclusive."""

def _window(y0: int, x0: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    return slice(y0, y0 + shape[0]), slice(x0, x0 + shape[1])


@dataclass(frozen=True, eq=False)
class Edit:
    """A change of the rectangle at ``(y0, x0)`` from ``old`` to ``new`` (same shape and dtype)."""

    y0: int
    x0: int
    old: np.ndarray
    new: np.ndarray
    label: str = "edit"

    def __post_init__(self) -> None:
        if self.old.shape != self.new.shape or self.old.ndim != 2 or self.old.dtype != self.new.dtype:
            raise CcdstudioError(f"an edit needs old and new 2-D arrays of one shape, got {self.old.shape} "
                                 f"{self.old.dtype} and {self.new.shape} {self.new.dtype}")

    @classmethod
    def between(cls, y0: int, x0: int, old: np.ndarray, new: np.ndarray, label: str = "edit") -> Edit | None:
        """The edit from ``old`` to ``new`` cropped to the pixels that differ; None when nothing does."""
        changed = old != new
        rows = np.flatnonzero(changed.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(changed[rows[0]: rows[-1] + 1].any(axis=0))
        window = np.s_[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
        return cls(y0 + int(rows[0]), x0 + int(cols[0]), old[window].copy(), new[window].copy(), label)

    @property
    def box(self) -> Box:
        return self.y0, self.x0, self.y0 + self.old.shape[0], self.x0 + self.old.shape[1]

    @property
    def window(self) -> tuple[slice, slice]:
        return _window(self.y0, self.x0, self.old.shape)

    @property
    def nbytes(self) -> int:
        return self.old.nbytes + self.new.nbytes

    def count_change(self) -> np.ndarray:
        """Pixels each class gains (256 counts, negative for a loss) when the edit is applied."""
        return pixel_counts(self.new, 256) - pixel_counts(self.old, 256)

    def apply(self, labels: np.ndarray) -> None:
        """Write ``new`` into ``labels`` (in place)."""
        labels[self.window] = self.new

    def revert(self, labels: np.ndarray) -> None:
        """Write ``old`` back into ``labels`` (in place)."""
        labels[self.window] = self.old


@dataclass(frozen=True, eq=False)
class RegionEdit:
    """Pixels of one region set to class ``value`` (a fill), stored small.

    The region is a bitmap of its ``shape``-sized box at ``(y0, x0)`` packed 8 pixels a byte; ``old`` holds
    the region's previous values, as a single class (a 0-d array) when they were all one, which a fill of
    labels always is, else one byte per region pixel in row-major order. A whole 100-megapixel map
    filled holds 12.5 MB, where an :class:`Edit` of its box would hold 200 MB. Build it with :meth:`of`.
    """

    y0: int
    x0: int
    shape: tuple[int, int]
    bits: np.ndarray
    old: np.ndarray
    value: int
    gained: np.ndarray
    """Pixels each class gains when the edit is applied (256 counts), worked out when it is built."""
    label: str = "edit"

    @classmethod
    def of(cls, labels: np.ndarray, y0: int, x0: int, region: np.ndarray, value: int,
           label: str = "edit") -> RegionEdit:
        """The edit setting ``value`` where ``region`` (a boolean box at ``(y0, x0)``) is true, from ``labels``
        as they are (not yet applied)."""
        old = labels[_window(y0, x0, region.shape)][region]
        gained = np.zeros(256, np.int64)
        if old.size and old.min() == old.max():
            old = old[:1].reshape(())
            gained[old] -= region.sum(dtype=np.int64)
        else:
            gained -= pixel_counts(old, 256)
        gained[value] += region.sum(dtype=np.int64)
        return cls(y0, x0, region.shape, np.packbits(region, axis=None), old, int(value), gained, label)

    @property
    def box(self) -> Box:
        return self.y0, self.x0, self.y0 + self.shape[0], self.x0 + self.shape[1]

    @property
    def window(self) -> tuple[slice, slice]:
        return _window(self.y0, self.x0, self.shape)

    @property
    def nbytes(self) -> int:
        return self.bits.nbytes + self.old.nbytes

    def region(self) -> np.ndarray:
        """The region as a boolean array of the box's shape (unpacked on demand)."""
        return np.unpackbits(self.bits, count=self.shape[0] * self.shape[1]).view(bool).reshape(self.shape)

    def apply(self, labels: np.ndarray) -> None:
        np.copyto(labels[self.window], np.asarray(self.value, labels.dtype), where=self.region())

    def revert(self, labels: np.ndarray) -> None:
        box = labels[self.window]
        if self.old.ndim == 0:
            np.copyto(box, self.old, where=self.region())
        else:
            box[self.region()] = self.old

    def count_change(self) -> np.ndarray:
        """Pixels each class gains (256 counts, negative for a loss) when the edit is applied."""
        return self.gained


@dataclass(frozen=True, eq=False)
class EditGroup:
    """Edits made one after another (a brush stroke's segments) that undo and redo as one step."""

    edits: tuple[Edit, ...]
    label: str = "edit"

    @property
    def box(self) -> Box:
        return union_box(e.box for e in self.edits)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.edits)

    def apply(self, labels: np.ndarray) -> None:
        for edit in self.edits:
            edit.apply(labels)

    def revert(self, labels: np.ndarray) -> None:
        # Later edits saw the results of earlier ones, so they are taken back first.
        for edit in reversed(self.edits):
            edit.revert(labels)


Step = Edit | RegionEdit | EditGroup


def union_box(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all ``boxes``."""
    y0s, x0s, y1s, x1s = zip(*boxes)
    return min(y0s), min(x0s), max(y1s), max(x1s)


def merge_edits(edits: Sequence[Edit], labels: np.ndarray, label: str | None = None) -> Edit:
    """One edit over the union box of ``edits``, which have all been applied to ``labels`` in order."""
    if not edits:
        raise CcdstudioError("no edits to merge")
    y0, x0, y1, x1 = union_box(e.box for e in edits)
    new = labels[y0:y1, x0:x1].copy()
    old = new.copy()
    # The earliest edit's ``old`` is the oldest state of its box, so it is written last.
    for edit in reversed(edits):
        ey0, ex0, ey1, ex1 = edit.box
        old[ey0 - y0: ey1 - y0, ex0 - x0: ex1 - x0] = edit.old
    return Edit(y0, x0, old, new, label if label is not None else edits[0].label)


def compact(group: EditGroup, labels: np.ndarray) -> Step:
    """``group`` as a single edit when its union box costs less memory than its pieces."""
    if len(group.edits) == 1:
        return group.edits[0]
    y0, x0, y1, x1 = group.box
    union_bytes = 2 * (y1 - y0) * (x1 - x0) * labels.itemsize
    return merge_edits(group.edits, labels, group.label) if union_bytes <= group.nbytes else group


@dataclass
class History:
    """Undo and redo stacks of applied steps, bounded by memory and by count.

    The oldest steps are dropped when either bound is passed; the newest step is always kept, so the last
    change can be undone however large it is.

    Parameters
    ----------
    max_bytes
        Memory the undo and redo stacks may hold together.
    max_steps
        Most undo steps kept.
    """

    max_bytes: int = 512 * 2**20
    max_steps: int = 500
    _undo: list[tuple[int, Step]] = field(default_factory=list, repr=False)
    _redo: list[tuple[int, Step]] = field(default_factory=list, repr=False)
    _group: list[Edit] | None = field(default=None, repr=False)
    _group_label: str = field(default="", repr=False)
    _ids: count = field(default_factory=lambda: count(1), repr=False)
    _base_state: int = field(default=0, repr=False)
    _saved_state: int = field(default=0, repr=False)

    # -- recording

    def do(self, edit: Step | None, labels: np.ndarray) -> Step | None:
        """Apply ``edit`` to ``labels`` and record it (None, an empty change, is ignored)."""
        if edit is None:
            return None
        edit.apply(labels)
        self.push(edit)
        return edit

    def push(self, edit: Step | None) -> None:
        """Record an edit already applied; inside :meth:`begin`/:meth:`end` it joins the open group."""
        if edit is None:
            return
        if self._group is not None:
            self._group.extend(edit.edits if isinstance(edit, EditGroup) else [edit])
            return
        self._undo.append((next(self._ids), edit))
        self._redo.clear()
        self._trim()

    def begin(self, label: str) -> None:
        """Start gathering edits (a brush stroke) into one undo step called ``label``."""
        if self._group is not None:
            raise CcdstudioError("an edit group is already open")
        self._group, self._group_label = [], label

    def end(self, labels: np.ndarray | None = None) -> Step | None:
        """Close the open group and record it; with ``labels``, store it as one box when that is smaller."""
        if self._group is None:
            raise CcdstudioError("no edit group is open")
        edits, self._group = self._group, None
        if not edits:
            return None
        group = EditGroup(tuple(edits), self._group_label)
        step = compact(group, labels) if labels is not None else group
        self.push(step)
        return step

    @property
    def grouping(self) -> bool:
        """Whether a group (stroke) is open."""
        return self._group is not None

    # -- undo and redo

    def undo(self, labels: np.ndarray) -> Step | None:
        """Revert the newest step in ``labels``; return it (for its box), or None if there is none."""
        self._close_open_group(labels)
        if not self._undo:
            return None
        entry = self._undo.pop()
        entry[1].revert(labels)
        self._redo.append(entry)
        return entry[1]

    def redo(self, labels: np.ndarray) -> Step | None:
        """Apply the newest undone step again; return it, or None if there is none."""
        if not self._redo:
            return None
        entry = self._redo.pop()
        entry[1].apply(labels)
        self._undo.append(entry)
        return entry[1]

    def _close_open_group(self, labels: np.ndarray) -> None:
        if self._group is not None:
            self.end(labels)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        """What Undo would take back ("brush", "fill", ...), for the menu."""
        return self._undo[-1][1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1][1].label if self._redo else None

    def __len__(self) -> int:
        return len(self._undo)

    @property
    def nbytes(self) -> int:
        """Memory held by both stacks."""
        return sum(step.nbytes for _, step in self._undo + self._redo)

    def clear(self) -> None:
        """Forget every step (after loading other labels); the current state counts as saved."""
        self._undo.clear()
        self._redo.clear()
        self._group = None
        self._base_state = self._saved_state = 0

    # -- saved state

    @property
    def _state(self) -> int:
        # A state is named by the id of the step that led to it; the oldest reachable one by _base_state.
        return self._undo[-1][0] if self._undo else self._base_state

    def mark_saved(self) -> None:
        """Note that the labels as they are now have been saved."""
        self._saved_state = self._state

    @property
    def dirty(self) -> bool:
        """Whether the labels differ from the last saved state (undoing back to it makes them clean)."""
        return self._state != self._saved_state or bool(self._group)

    def _trim(self) -> None:
        while len(self._undo) > self.max_steps:
            self._drop_oldest()
        while len(self._undo) > 1 and self.nbytes > self.max_bytes:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        self._base_state, _ = self._undo.pop(0)
