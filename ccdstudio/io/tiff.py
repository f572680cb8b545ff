"""TIFF images: single images, multi-page stacks and ImageJ hyperstacks, read a window at a time.

Uncompressed files whose pixels lie in one contiguous block are memory-mapped (``tifffile.memmap``); tiled,
striped or compressed files are read through tifffile's zarr store, which decodes only the tiles or strips a
window touches. Every 2-D page is a plane; leading axes of a hyperstack (T, Z, C, ...) are flattened in file
order. Colour samples (RGB) become one plane per channel so no value is lost to a grey conversion.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.source import ImageSource, Plane, Window

CHANNEL_NAMES = ("red", "green", "blue", "alpha")

_SKIPPED_TAGS = {"StripOffsets", "StripByteCounts", "TileOffsets", "TileByteCounts", "ImageDescription"}
"""Tags that locate pixel data: meaningless to users and possibly millions of values long."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_warnings() -> Iterator[list[str]]:
    """Collect tifffile's log warnings instead of printing them: the error we raise says it for the user."""
    logger = logging.getLogger("tifffile")
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class TiffSource(ImageSource):
    """A TIFF file's first image series as planes; ``metadata["imagej"]`` holds ImageJ metadata if any."""

    format = "tiff"

    def __init__(self, path: str | os.PathLike[str]):
        import tifffile

        path = Path(path)
        self._file = path
        with _tifffile_warnings() as warnings:
            try:
                self._tif = tifffile.TiffFile(path)
                series = self._tif.series[0] if self._tif.series else None
            except (tifffile.TiffFileError, OSError, ValueError, IndexError, KeyError, struct.error) as error:
                raise FormatError(f"{path.name} is not a readable TIFF file ({error})") from None
        try:
            broken = [m.split("> ", 1)[-1] for m in warnings if "invalid page offset" in m or "corrupted" in m]
            if series is None or not series.shape or broken:
                why = broken[-1] if broken else "no image found in it"
                raise FormatError(f"{path.name} is a corrupt or truncated TIFF file: {why}")
            planes, metadata = self._describe(path, series)
            self._array, self.access = self._open_array(path, series)
        except BaseException:
            self._tif.close()
            raise
        super().__init__(path, planes, metadata)

    def _describe(self, path: Path, series: Any) -> tuple[list[Plane], dict[str, Any]]:
        axes, shape = series.axes, tuple(series.shape)
        if len(shape) < 2 or "Y" not in axes or "X" not in axes:
            raise FormatError(f"{path.name}: a {len(shape)}-D TIFF image ({axes}) is not a 2-D image or stack")
        samples = shape[-1] if axes.endswith("S") else None
        self._lead_shape = shape[: axes.index("Y")]
        height, width = shape[axes.index("Y")], shape[axes.index("X")]
        imagej = dict(self._tif.imagej_metadata or {})
        page = series.pages[0] if series.pages else self._tif.pages.first
        header = {**_tags(page), **imagej}
        count = int(np.prod(self._lead_shape, dtype=np.int64))
        labels = imagej.get("Labels")
        names: list[str] = []
        if not (isinstance(labels, list) and len(labels) == count):
            labels = [f"page {i}" for i in range(count)] if count > 1 else ["image"]
        for base in labels:
            if samples is None:
                names.append(str(base))
            else:
                channels = CHANNEL_NAMES if samples <= 4 else [f"channel {c}" for c in range(samples)]
                names.extend(f"{base} {c}" if count > 1 else c for c in channels[:samples])
        self._samples = samples
        dtype = np.dtype(series.dtype).newbyteorder("=")
        planes = [Plane(n, (height, width), dtype, header) for n in names]
        metadata = {"axes": axes, "shape": shape, "imagej": imagej, "compression": str(page.compression.name)}
        _check_complete(path, series)
        return planes, metadata

    def _open_array(self, path: Path, series: Any) -> tuple[Any, str]:
        """A memory map of contiguous uncompressed pixels, else a zarr array decoding tiles on demand.

        The second item, kept as :attr:`access`, says which: ``"memmap"`` or ``"zarr"``.
        """
        if series.dataoffset is not None:
            # What tifffile.memmap does, without parsing the file a second time.
            dtype = np.dtype(self._tif.byteorder + series.dtype.char)
            return np.memmap(path, dtype=dtype, mode="r", offset=series.dataoffset, shape=series.shape), "memmap"
        import zarr

        return zarr.open(series.aszarr(), mode="r"), "zarr"

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        if self._samples is None:
            lead, sample = np.unravel_index(plane, self._lead_shape) if self._lead_shape else (), ()
        else:
            flat, channel = divmod(plane, self._samples)
            lead, sample = np.unravel_index(flat, self._lead_shape) if self._lead_shape else (), (channel,)
        rows, cols = window if window is not None else (slice(None), slice(None))
        key = (*(int(i) for i in lead), rows, cols, *sample)
        try:
            with _tifffile_warnings():
                data = self._array[key]
        except (ValueError, OSError, RuntimeError) as error:
            raise FormatError(f"{self._file.name}: cannot read {self.planes[plane].name}: {error}") from None
        return np.array(data, dtype=self.planes[plane].dtype)

    def close(self) -> None:
        self._array = None
        self._tif.close()


def _tags(page: Any) -> dict[str, Any]:
    """The page's TIFF tags a user may want to see (short values only)."""
    tags: dict[str, Any] = {}
    for tag in page.tags.values():
        value = tag.value
        if tag.name in _SKIPPED_TAGS or (isinstance(value, (tuple, list, bytes, np.ndarray)) and len(value) > 16):
            continue
        tags[tag.name] = value.name if hasattr(value, "name") and not isinstance(value, str) else value
    return tags


def _check_complete(path: Path, series: Any) -> None:
    """Raise :class:`FormatError` when pixel data lies past the end of the file."""
    size = path.stat().st_size
    pages = [p for p in (series.pages[0], series.pages[-1]) if p is not None]
    for page in pages:
        ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts)]
        if ends and max(ends) > size:
            raise FormatError(f"{path.name} is truncated: image data runs to byte {max(ends)} of a {size}-byte file")
    if series.dataoffset is not None and series.dataoffset + series.nbytes > size:
        raise FormatError(f"{path.name} is truncated: the image needs {series.dataoffset + series.nbytes} bytes, "
                          f"the file has {size}")
