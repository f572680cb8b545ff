"""Vesuvius Challenge scroll segments and fragments: a folder of layer images read lazily.

A segment folder holds ``layers/00.tif`` ... ``layers/64.tif`` (two or three digits, TIFF or JPEG, any count),
and optionally ``mask.png`` or ``<id>_mask.png`` and ``inklabels.png`` or ``<id>_inklabels.png``. A fragment
has ``surface_volume/`` instead of ``layers/`` and may add ``ir.png``. Each layer is far larger than one
wants to read at once (10000 x 8000 uint16 is 160 MB, 65 of them more than RAM), so opening reads only file
headers: a layer file is opened on its first read and a few recently used ones stay open. TIFF layers are
read a window at a time (memory maps or strips); JPEG and PNG layers, which cannot be, are decoded once into
an on-disk cache and memory-mapped from there (:mod:`ccdstudio.io.segment_cache`).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.raster import RasterFile
from ccdstudio.io.segment_cache import DecodedLayer
from ccdstudio.io.source import ImageSource, Plane, Role, Window
from ccdstudio.io.tiff import TiffSource

LAYER_FOLDERS = ("layers", "surface_volume")
LAYER_SUFFIXES = (".tif", ".tiff", ".jpg", ".jpeg", ".png")
"""In order of preference when a layer exists in several formats."""

OPEN_LAYERS = 8
"""Layer files kept open (memory maps are cheap, but a JPEG that could not be cached is held decoded)."""


class _LayerReader(Protocol):
    def read(self, window: Window | None = None) -> np.ndarray: ...

    def close(self) -> None: ...


class _TiffLayer:
    def __init__(self, path: Path):
        self._source = TiffSource(path)
        self.shape, self.dtype = self._source.planes[0].shape, self._source.planes[0].dtype

    def read(self, window: Window | None = None) -> np.ndarray:
        return self._source.read(0, window)

    def close(self) -> None:
        self._source.close()


def _open_layer(path: Path) -> _TiffLayer | DecodedLayer:
    return _TiffLayer(path) if path.suffix.lower() in (".tif", ".tiff") else DecodedLayer(path)


def layer_files(folder: Path) -> list[Path]:
    """The numbered images in ``folder`` (``00.tif``, ``017.jpg``...), in layer order."""
    by_number: dict[int, Path] = {}
    for path in folder.iterdir():
        suffix = path.suffix.lower()
        if path.stem.isdigit() and suffix in LAYER_SUFFIXES and path.is_file():
            number = int(path.stem)
            current = by_number.get(number)
            if current is None or LAYER_SUFFIXES.index(suffix) < LAYER_SUFFIXES.index(current.suffix.lower()):
                by_number[number] = path
    return [by_number[n] for n in sorted(by_number)]


def find_segment(folder: str | os.PathLike[str]) -> tuple[Path, Path] | None:
    """``(segment root, layer folder)`` for a segment or fragment folder, or for its layer folder itself."""
    folder = Path(folder)
    for name in LAYER_FOLDERS:
        if (folder / name).is_dir() and layer_files(folder / name):
            return folder, folder / name
    if folder.is_dir() and layer_files(folder):
        return (folder.parent if folder.name in LAYER_FOLDERS else folder), folder
    return None


def _find_piece(root: Path, segment_id: str, piece: str) -> Path | None:
    for name in (f"{piece}.png", f"{segment_id}_{piece}.png"):
        if (root / name).is_file():
            return root / name
    return None


def _check_numbering(files: list[Path], folder: Path) -> None:
    """Raise :class:`FormatError` where numbers are missing between the first layer and the last: every layer
    after a gap would be shifted in z."""
    numbers = {int(f.stem) for f in files}
    missing = sorted(set(range(min(numbers), max(numbers) + 1)) - numbers)
    if missing:
        width = len(files[0].stem)
        names = ", ".join(f"{n:0{width}d}" for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise FormatError(f"{folder.name}/ lacks layer {names} (of {files[0].stem} to {files[-1].stem}): the layers "
                          "after it would be shifted in z")


def _size(shape: tuple[int, ...]) -> str:
    """``WxH`` (and ``xC`` for channels), as image sizes are written for people."""
    return f"{shape[1]}x{shape[0]}" + (f"x{shape[2]}" if len(shape) > 2 else "")


class SegmentSource(ImageSource):
    """A scroll segment or fragment: its layers, then ``mask``, ``inklabels`` and ``ir`` when present.

    ``metadata["segment_id"]`` is the folder name and ``metadata["layers"]`` the layer count; with
    ``reverse_layers`` the layer planes come in reverse z order (names still say which file each is).
    """

    format = "segment"

    def __init__(self, folder: str | os.PathLike[str], reverse_layers: bool = False):
        found = find_segment(folder)
        if found is None:
            raise FormatError(
                f"{Path(folder).name or folder} is not a scroll segment: expected a layers/ or surface_volume/ "
                "folder of numbered images (00.tif, 01.tif, ...)")
        root, layer_folder = found
        files = layer_files(layer_folder)
        _check_numbering(files, layer_folder)
        if reverse_layers:
            files = files[::-1]
        first = _open_layer(files[0])
        self._files = files
        self._open: OrderedDict[int, _LayerReader] = OrderedDict({0: first})
        self._lock = threading.Lock()
        segment_id = root.name
        planes = [Plane(f"layer {f.stem}", first.shape, first.dtype, {"file": f.name}) for f in files]
        self._pieces: list[RasterFile] = []
        pieces: tuple[tuple[str, Role], ...] = (("mask", "mask"), ("inklabels", "labels"), ("ir", "image"))
        for piece, role in pieces:
            path = _find_piece(root, segment_id, piece)
            if path is not None:
                raster = RasterFile(path)
                if raster.shape[:2] != first.shape[:2]:
                    first.close()
                    raise FormatError(f"{path.name} is {_size(raster.shape)} but the layers are {_size(first.shape)}")
                self._pieces.append(raster)
                planes.append(Plane(piece, raster.shape, raster.dtype, {"file": path.name}, role))
        metadata = {
            "segment_id": segment_id,
            "layers": len(files),
            "layer_folder": layer_folder.name,
            "reversed": reverse_layers,
        }
        super().__init__(root, planes, metadata)

    def check_layers(self) -> None:
        """Read every TIFF layer's header (not its pixels) and raise :class:`FormatError` naming the layers that
        are unreadable, truncated, or of another size or type than the first."""
        problems = []
        for index, path in enumerate(self._files):
            if path.suffix.lower() not in (".tif", ".tiff"):
                continue  # a JPEG's size shows only once decoded, when it is read
            try:
                layer = _TiffLayer(path)
            except FormatError as error:
                problems.append(str(error))
                continue
            layer.close()
            unlike = self._unlike_the_first(index, layer)
            if unlike:
                problems.append(unlike)
        if problems:
            more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
            raise FormatError("; ".join(problems[:3]) + more)

    @property
    def open_layers(self) -> list[int]:
        """Indices of the layer planes whose files are open now (most recently used last)."""
        with self._lock:
            return list(self._open)

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        if plane >= len(self._files):
            return self._pieces[plane - len(self._files)].read(window)
        layer = self._layer(plane)
        unlike = self._unlike_the_first(plane, layer)
        if unlike:
            raise FormatError(unlike)
        return layer.read(window)

    def _unlike_the_first(self, index: int, layer: _TiffLayer | DecodedLayer) -> str | None:
        """What sets layer ``index`` apart from the first in size or type (every layer plane is taken to be
        like it), None when nothing does."""
        first = self.planes[0]
        if (layer.shape, layer.dtype) == (first.shape, first.dtype):
            return None
        return (f"{self._files[index].name} is {_size(layer.shape)} {layer.dtype}, unlike the first layer "
                f"({_size(first.shape)} {first.dtype})")

    def _layer(self, index: int) -> _TiffLayer | DecodedLayer:
        with self._lock:
            layer = self._open.get(index)
            if layer is not None:
                self._open.move_to_end(index)
                return layer  # type: ignore[return-value]
        layer = _open_layer(self._files[index])
        with self._lock:
            self._open[index] = layer
            while len(self._open) > OPEN_LAYERS:
                _, evicted = self._open.popitem(last=False)
                evicted.close()
        return layer

    def close(self) -> None:
        with self._lock:
            for layer in self._open.values():
                layer.close()
            self._open.clear()
        for piece in self._pieces:
            piece.release()
