"""Remapping and merging classes of existing labels: fold ``muon`` and ``electron`` into ``cluster``.

A :class:`Remap` is a table from the source class set's indices to a target class set. It is plain data
(JSON via :meth:`Remap.to_dict`), so a project can record it and apply it again at export or training time,
and applying it to a label map is one lookup-table pass. Classes left without pixels by a merge are dropped
and the remaining ones close ranks, keeping their order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.classes import ClassSet, LabelClass
from ccdstudio.labels.edits import Edit, EditGroup

_BAND_ROWS = 512


@dataclass(frozen=True)
class Remap:
    """Source class ``i`` becomes target class ``table[i]``.

    Parameters
    ----------
    source
        The class set of the labels the remap applies to.
    target
        The class set of the remapped labels.
    table
        One target index per source class.
    """

    source: ClassSet
    target: ClassSet
    table: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.table) != len(self.source):
            raise CcdstudioError(f"a remap needs one entry per source class ({len(self.source)}), "
                                 f"got {len(self.table)}")
        if any(not 0 <= t < len(self.target) for t in self.table):
            raise CcdstudioError(f"remap table {list(self.table)} points outside the {len(self.target)} "
                                 f"target classes")

    @classmethod
    def merge(cls, source: ClassSet, mapping: Mapping[int | str, int | str],
              names: Sequence[str] | None = None) -> Remap:
        """Move classes onto others; the rest keep their place.

        Parameters
        ----------
        source
            The labels' class set.
        mapping
            ``{from: to}`` by index or name, e.g. ``{4: 3, 5: 3}`` or ``{"muon": "cluster"}``. A ``to`` name
            that is not a class yet becomes a new class at the end.
        names
            New names for the resulting classes, in order (all of them).
        """
        classes = list(source)
        moves: dict[int, int] = {}
        for old, new in mapping.items():
            old_index = _resolve(source, old)
            if isinstance(new, str) and new not in [c.name for c in classes]:
                classes.append(ClassSet.from_names([c.name for c in classes] + [new])[-1])
            moves[old_index] = _resolve(ClassSet(classes), new)
        table = [moves.get(i, i) for i in range(len(source))]
        # Keep the classes something maps to (and background), in their order; renumber them 0, 1, ...
        used = sorted(set(table) | {0})
        renumber = {old: new for new, old in enumerate(used)}
        target = [classes[i] for i in used]
        if names is not None:
            if len(names) != len(target):
                raise CcdstudioError(f"--names gives {len(names)} names for {len(target)} classes "
                                     f"({', '.join(c.name for c in target)})")
            target = [LabelClass(name, c.color) for name, c in zip(names, target)]
        return cls(source, ClassSet(target), tuple(renumber[t] for t in table))

    @classmethod
    def by_name(cls, source: ClassSet, target: ClassSet) -> Remap:
        """Each source class onto the target class of the same name (added, recoloured or reordered classes).

        Raises :class:`CcdstudioError` when a source class has no namesake in ``target``.
        """
        missing = [n for n in source.names if n not in target.names]
        if missing:
            raise CcdstudioError(f"classes {missing} are not among {target.names}")
        return cls(source, target, tuple(target.index(n) for n in source.names))

    def lut(self) -> np.ndarray:
        """A 256-entry lookup table from source to target indices (identity beyond the source classes)."""
        lut = np.arange(256, dtype=np.uint8)
        lut[: len(self.table)] = self.table
        return lut

    def apply(self, labels: np.ndarray, classes: ClassSet | None = None) -> np.ndarray:
        """The remapped copy of ``labels`` (whose class set, if given, must be the remap's source)."""
        if classes is not None and classes != self.source:
            raise CcdstudioError(f"this remap is for classes {self.source.names}, not {classes.names}")
        if labels.size and int(labels.max()) >= len(self.source):
            raise CcdstudioError(f"the labels use class {int(labels.max())}, which the remap's "
                                 f"{len(self.source)} source classes do not name")
        return np.take(self.lut(), labels)

    def edit(self, labels: np.ndarray) -> EditGroup | None:
        """The remap of ``labels`` as an undoable step, stored band by band (only changed bands kept).

        Undoing it restores the indices; the caller swaps the class set back (``source``) as well.
        """
        lut = self.lut()
        edits = [e for e in self._band_edits(labels, lut) if e is not None]
        return EditGroup(tuple(edits), "remap classes") if edits else None

    def _band_edits(self, labels: np.ndarray, lut: np.ndarray) -> Iterator[Edit | None]:
        for y in range(0, labels.shape[0], _BAND_ROWS):
            band = labels[y: y + _BAND_ROWS]
            yield Edit.between(y, 0, band, np.take(lut, band), "remap classes")

    def then(self, other: Remap) -> Remap:
        """This remap followed by ``other`` (whose source must be this one's target)."""
        if other.source != self.target:
            raise CcdstudioError("remaps can only be chained when one's target is the next one's source")
        return Remap(self.source, other.target, tuple(other.table[t] for t in self.table))

    def describe(self) -> list[str]:
        """Human-readable lines: ``"muon -> cluster"`` for each class that moves or is renamed."""
        return [f"{self.source[i].name} -> {self.target[t].name}" for i, t in enumerate(self.table)
                if self.source[i].name != self.target[t].name]

    def to_dict(self) -> dict:
        return {"source": self.source.to_dict()["classes"], "target": self.target.to_dict()["classes"],
                "table": list(self.table)}

    @classmethod
    def from_dict(cls, data: Mapping) -> Remap:
        try:
            return cls(ClassSet.from_dict({"classes": data["source"]}),
                       ClassSet.from_dict({"classes": data["target"]}), tuple(int(t) for t in data["table"]))
        except (KeyError, TypeError, ValueError) as error:
            raise CcdstudioError(f"not a remap description: {error}") from None


def _resolve(classes: ClassSet, key: int | str) -> int:
    if isinstance(key, str) and not key.strip().isdigit():
        return classes.index(key)
    index = int(key)
    if not 0 <= index < len(classes):
        raise CcdstudioError(f"no class {index}: there are {len(classes)} classes ({', '.join(classes.names)})")
    return index


def parse_mapping(text: str) -> dict[int | str, int | str]:
    """Parse ``"4:3,5:3"`` or ``"muon:cluster,electron:cluster"`` into ``{from: to}``."""
    mapping: dict[int | str, int | str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        old, sep, new = item.partition(":")
        if not sep or not old.strip() or not new.strip():
            raise CcdstudioError(f"expected FROM:TO pairs like 4:3,5:3, got {item!r}")
        mapping[_key(old)] = _key(new)
    if not mapping:
        raise CcdstudioError("the class map is empty; give FROM:TO pairs like 4:3,5:3")
    return mapping


def _key(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdigit() else text
