"""Class sets: the names, colours and indices that give a label map its meaning.

A label map is a uint8 array of class indices; its :class:`ClassSet` travels with it (FITS ``CLASSn``
cards, TIFF metadata, a JSON sidecar) so that no label file is ambiguous. Index 0 is background.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ccdstudio.errors import CcdstudioError

Color = tuple[int, int, int]


@dataclass(frozen=True)
class LabelClass:
    """One class: its name and display colour (RGB, 0–255)."""

    name: str
    color: Color


PRESETS: dict[str, list[LabelClass]] = {
    "ccd": [
        LabelClass("background", (0, 0, 0)),
        LabelClass("glowing", (255, 170, 0)),
        LabelClass("hot_pixel", (255, 40, 40)),
        LabelClass("cluster", (40, 200, 255)),
    ],
    # Ink in a colour that stands out on bright papyrus (inklabels.png itself is 0/255 whatever the colour).
    "ink": [LabelClass("background", (0, 0, 0)), LabelClass("ink", (0, 200, 255))],
}

_PALETTE: list[Color] = [
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
]


class ClassSet(Sequence[LabelClass]):
    """An ordered list of classes; a class's position is its index in label maps."""

    def __init__(self, classes: Iterable[LabelClass]) -> None:
        self._classes = list(classes)
        names = [c.name for c in self._classes]
        if not names:
            raise CcdstudioError("a class set needs at least one class")
        if len(set(names)) != len(names):
            raise CcdstudioError(f"class names must be unique: {names}")
        if len(names) > 256:
            raise CcdstudioError("at most 256 classes fit in a uint8 label map")

    @classmethod
    def preset(cls, name: str) -> ClassSet:
        """A named preset: ``"ccd"`` (background, glowing, hot_pixel, cluster) or ``"ink"``."""
        try:
            return cls(PRESETS[name])
        except KeyError:
            raise CcdstudioError(f"unknown class preset {name!r}; choose from {', '.join(PRESETS)}") from None

    @classmethod
    def from_names(cls, names: Sequence[str], colors: Sequence[Color] | None = None) -> ClassSet:
        """Classes with the given names; colours from ``colors``, a matching preset, or a palette."""
        known = {c.name: c.color for preset in PRESETS.values() for c in preset}
        chosen = list(colors) if colors else [known.get(n, _PALETTE[i % len(_PALETTE)]) for i, n in enumerate(names)]
        return cls(LabelClass(n, tuple(int(v) for v in c)) for n, c in zip(names, chosen))

    @classmethod
    def default(cls, count: int) -> ClassSet:
        """``count`` classes for a label map that came without names: ``background``, ``class 1``, ..."""
        return cls.from_names(["background"] + [f"class {i}" for i in range(1, max(int(count), 1))])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._classes]

    @property
    def colors(self) -> list[Color]:
        return [c.color for c in self._classes]

    def index(self, name: str) -> int:  # type: ignore[override]
        """The index of the class called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise CcdstudioError(f"no class {name!r} in {self.names}") from None

    def _position(self, key: int | str) -> int:
        if isinstance(key, str):
            return self.index(key)
        if not 0 <= key < len(self):
            raise CcdstudioError(f"no class {key}: the class set has {len(self)} classes")
        return int(key)

    def added(self, name: str, color: Color | None = None) -> ClassSet:
        """A copy with one more class at the end (colour from a preset or the palette when not given)."""
        if color is None:
            color = ClassSet.from_names([*self.names, name])[-1].color
        return ClassSet([*self._classes, LabelClass(name, tuple(int(v) for v in color))])

    def renamed(self, key: int | str, name: str) -> ClassSet:
        """A copy with class ``key`` (index or name) called ``name``; indices are unchanged."""
        position = self._position(key)
        return ClassSet(LabelClass(name, c.color) if i == position else c for i, c in enumerate(self))

    def recolored(self, key: int | str, color: Color) -> ClassSet:
        """A copy with class ``key`` (index or name) shown in ``color``; indices are unchanged."""
        position = self._position(key)
        rgb = tuple(int(v) for v in color)
        return ClassSet(LabelClass(c.name, rgb) if i == position else c for i, c in enumerate(self))

    def padded(self, count: int) -> ClassSet:
        """A copy with at least ``count`` classes, the new ones named ``class n`` (made unique if taken)."""
        result = self
        for i in range(len(self), count):
            name = f"class {i}"
            while name in result.names:
                name += "'"
            result = result.added(name)
        return result

    def lut(self) -> np.ndarray:
        """A ``(256, 3)`` uint8 colour table for label maps (unused indices black)."""
        table = np.zeros((256, 3), np.uint8)
        table[: len(self)] = self.colors
        return table

    def to_dict(self) -> dict:
        """A JSON-ready description: ``{"classes": [{"index", "name", "color"}, ...]}``."""
        return {"classes": [{"index": i, "name": c.name, "color": list(c.color)} for i, c in enumerate(self)]}

    @classmethod
    def from_dict(cls, data: Mapping) -> ClassSet:
        """The inverse of :meth:`to_dict`."""
        try:
            items = sorted(data["classes"], key=lambda c: c["index"])
            return cls(LabelClass(str(c["name"]), tuple(int(v) for v in c["color"])) for c in items)
        except (KeyError, TypeError, ValueError) as error:
            raise CcdstudioError(f"not a class set description: {error}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ClassSet:
        return cls.from_dict(json.loads(text))

    def __getitem__(self, index):  # type: ignore[override]
        return self._classes[index]

    def __len__(self) -> int:
        return len(self._classes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClassSet) and self._classes == other._classes

    def __hash__(self) -> int:
        return hash(tuple(self._classes))

    def __repr__(self) -> str:
        return f"ClassSet({self.names})"
