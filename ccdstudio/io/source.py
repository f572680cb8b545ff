"""The lazy image source every reader returns and every consumer reads from.

A source is a list of 2-D :class:`Plane` objects (FITS HDUs, TIFF pages, segment layers, masks) whose pixels
are read on demand, a window at a time. Nothing is read when a source is opened beyond what describes it.
Arrays are row-major ``[y, x]`` with 0-based pixels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Window = tuple[slice, slice]
"""Rows and columns to read; a step reads every n-th pixel."""

Role = Literal["image", "mask", "labels"]


@dataclass(frozen=True)
class Plane:
    """One 2-D image in a source.

    Parameters
    ----------
    name
        What the user sees in the chooser: ``"SCI"``, ``"HDU 2"``, ``"layer 32"``, ``"mask"``.
    shape
        ``(height, width)``.
    dtype
        The dtype :meth:`ImageSource.read` returns (after BZERO/BSCALE scaling for FITS).
    header
        The plane's metadata: a FITS header, TIFF tags or ImageJ metadata.
    role
        ``"image"`` for data, ``"mask"`` for masks shown as overlays, ``"labels"`` for class maps.
    """

    name: str
    shape: tuple[int, int]
    dtype: np.dtype
    header: Mapping[str, Any] = field(default_factory=dict)
    role: Role = "image"


class ImageSource(ABC):
    """A lazily read image file: planes, metadata and windowed reads."""

    format: str = "unknown"

    def __init__(self, path: Path | None, planes: Sequence[Plane], metadata: Mapping[str, Any] | None = None):
        self.path = path
        self.planes = list(planes)
        self.metadata = dict(metadata or {})

    @abstractmethod
    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        """Return the pixels of ``plane`` inside ``window`` (the whole plane when None)."""

    def read_stack(self, planes: Sequence[int], window: Window | None = None) -> np.ndarray:
        """Return the same window of several planes as a ``(n, h, w)`` array."""
        return np.stack([self.read(p, window) for p in planes])

    def indices(self, role: Role = "image") -> list[int]:
        """Indices of the planes with ``role``."""
        return [i for i, p in enumerate(self.planes) if p.role == role]

    def close(self) -> None:
        """Release file handles and memory maps."""

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        shapes = ", ".join(f"{p.name} {p.shape[1]}x{p.shape[0]} {p.dtype}" for p in self.planes[:4])
        more = f", … {len(self.planes) - 4} more" if len(self.planes) > 4 else ""
        return f"<{type(self).__name__} {self.path or '(memory)'}: {shapes}{more}>"


class ArraySource(ImageSource):
    """A source over arrays already in memory (or numpy memory maps): NPY files, tests, results."""

    format = "array"

    def __init__(
        self,
        arrays: Sequence[np.ndarray] | np.ndarray,
        names: Sequence[str] | None = None,
        path: Path | None = None,
        metadata: Mapping[str, Any] | None = None,
        roles: Sequence[Role] | None = None,
        headers: Sequence[Mapping[str, Any]] | None = None,
    ):
        if isinstance(arrays, np.ndarray):
            arrays = list(arrays) if arrays.ndim == 3 else [arrays]
        self._arrays = list(arrays)
        names = names or [f"plane {i}" for i in range(len(self._arrays))]
        roles = roles or ["image"] * len(self._arrays)
        headers = headers or [{}] * len(self._arrays)
        planes = [Plane(n, tuple(a.shape), a.dtype, role=r, header=h)
                  for n, a, r, h in zip(names, self._arrays, roles, headers)]
        super().__init__(path, planes, metadata)

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        array = self._arrays[plane]
        return np.asarray(array if window is None else array[window])
