"""One entry point for every file users have: :func:`open_image` picks the reader from the content.

The first bytes decide (a ``.fits`` that is really a TIFF opens as a TIFF); the extension only names the
format in the error message when the content matches none. A folder is a scroll segment or fragment.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.source import ArraySource, ImageSource, Window

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz")
_KNOWN_SUFFIXES = (*FITS_SUFFIXES, ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".npy")


class NpySource(ArraySource):
    """A NumPy ``.npy`` file, memory-mapped: a 2-D array is one plane, a 3-D array one plane per index."""

    format = "npy"

    def __init__(self, path: str | os.PathLike[str]):
        path = Path(path)
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise FormatError(f"{path.name} is not a readable .npy file ({error})") from None
        if array.dtype.kind not in "biuf":
            raise FormatError(f"{path.name} holds {array.dtype} values, not numbers")
        array = _image_array(path, array)
        names = ["image"] if array.ndim == 2 else [f"plane {i}" for i in range(array.shape[0])]
        super().__init__(array, names=names, path=path, metadata={"shape": array.shape})

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        return np.array(super().read(plane, window))  # a copy, not a read-only view of the memory map


def _image_array(path: Path, array: np.ndarray) -> np.ndarray:
    """``array`` as 2-D or 3-D after dropping leading length-1 axes; :class:`FormatError` otherwise."""
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise FormatError(f"{path.name} holds a {array.ndim}-D array of shape {array.shape}; "
                          "expected a 2-D image or a 3-D stack of images")
    if array.dtype == bool:
        array = array.view(np.uint8)
    return array


def _signature(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return "raster"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"\x1f\x8b") and any(path.name.lower().endswith(s) for s in FITS_SUFFIXES):
        return "fits"  # gzip-compressed FITS: astropy decompresses it into memory
    return None


def open_image(path: str | os.PathLike[str], *, reverse_layers: bool = False) -> ImageSource:
    """Open a FITS, TIFF, PNG, JPEG or NPY file, or a scroll segment folder, as a lazy :class:`ImageSource`.

    Parameters
    ----------
    path
        The file, or the segment (or fragment) folder.
    reverse_layers
        For segments: list the layers from the last to the first (some scrolls are numbered inside out).

    Raises
    ------
    FormatError
        The path is missing, empty, truncated, corrupt, a folder that is not a segment, holds no 2-D or 3-D
        image, or is in a format not read here.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FormatError(f"{path}: no such file or folder")
    if path.is_dir():
        from ccdstudio.io.segment import SegmentSource

        return SegmentSource(path, reverse_layers=reverse_layers)
    if path.stat().st_size == 0:
        raise FormatError(f"{path.name} is empty (0 bytes)")
    kind = _signature(path)
    if kind == "fits":
        from ccdstudio.io.fits import FitsSource

        return FitsSource(path)
    if kind == "tiff":
        from ccdstudio.io.tiff import TiffSource

        return TiffSource(path)
    if kind == "raster":
        from ccdstudio.io.raster import RasterSource

        return RasterSource(path)
    if kind == "npy":
        return NpySource(path)
    suffix = "".join(path.suffixes[-2:]).lower() if path.name.lower().endswith(".gz") else path.suffix.lower()
    if suffix in _KNOWN_SUFFIXES:
        raise FormatError(f"{path.name} is named like a {suffix} file but its content is not one (corrupt file?)")
    raise FormatError(f"{path.name}: unknown format; ccdstudio reads FITS, TIFF, PNG, JPEG, NPY and segment folders")
