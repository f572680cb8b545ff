"""Writing FITS, TIFF and PNG files atomically: a crash or a full disk never leaves half a file behind.

Every writer goes through :func:`ccdstudio.io.atomic.atomic_path` and turns operating-system failures (full
disk, read-only folder, missing permission) into a :class:`CcdstudioError` the user can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.atomic import writing

PlaneSpec = tuple[np.ndarray, Mapping[str, Any] | None, str | None]
"""``(array, header cards or None, EXTNAME or None)`` for one FITS extension."""

_IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)
"""The pixel types ImageJ opens natively; others are written as plain TIFF."""


def _header(cards: Mapping[str, Any] | None) -> Any:
    """An astropy Header from a mapping of card -> value or (value, comment); astropy Headers pass through."""
    from astropy.io import fits

    if cards is None:
        return fits.Header()
    if isinstance(cards, fits.Header):
        return cards.copy()
    header = fits.Header()
    for key, value in cards.items():
        header[key] = tuple(value) if isinstance(value, tuple) else value
    return header


def _fits_array(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype.kind not in "iuf" or array.ndim not in (2, 3):
        raise CcdstudioError(f"cannot write a {array.ndim}-D {array.dtype} array as a FITS image")
    return array


def write_fits(path: str | os.PathLike[str], planes: Sequence[PlaneSpec] | np.ndarray,
               header: Mapping[str, Any] | None = None) -> None:
    """Write an image, or several as extensions, to a FITS file.

    Parameters
    ----------
    path
        The file to write (replaced atomically if it exists).
    planes
        A 2-D or 3-D array for a single-HDU file, or ``(array, cards, name)`` tuples: then the primary HDU is
        empty and each array is an image extension with EXTNAME ``name``. ``uint16`` is stored with BZERO
        32768 and reads back as ``uint16``.
    header
        Cards for the primary HDU.
    """
    from astropy.io import fits

    if isinstance(planes, np.ndarray):
        hdus = [fits.PrimaryHDU(_fits_array(planes), header=_header(header))]
    else:
        hdus = [fits.PrimaryHDU(header=_header(header))]
        for array, cards, name in planes:
            hdus.append(fits.ImageHDU(_fits_array(array), header=_header(cards), name=name))
    with writing(path) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)


def write_tiff(path: str | os.PathLike[str], array: np.ndarray, metadata: Mapping[str, Any] | None = None) -> None:
    """Write a 2-D image or a 3-D stack (``(z, y, x)``) to a TIFF that ImageJ and Fiji open.

    ``uint8``, ``uint16`` and ``float32`` are written as ImageJ hyperstacks with ``metadata`` in the ImageJ
    description (``Labels`` names the slices, other keys become ``key=value`` lines); other types (``bool``
    becomes ``uint8``) as plain TIFF with ``metadata`` as JSON. The file is uncompressed so it can be
    memory-mapped when read back.
    """
    import tifffile

    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.ndim not in (2, 3) or array.dtype.kind not in "iuf":
        raise CcdstudioError(f"cannot write a {array.ndim}-D {array.dtype} array as a TIFF image")
    meta = dict(metadata or {})
    with writing(path) as tmp:
        if array.dtype in _IMAGEJ_DTYPES:
            meta.setdefault("axes", "ZYX" if array.ndim == 3 else "YX")
            tifffile.imwrite(tmp, array, imagej=True, metadata=meta)
        else:
            tifffile.imwrite(tmp, array, metadata=meta or None)


def write_png(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a grey (``(h, w)``) or RGB/RGBA (``(h, w, 3|4)``) 8- or 16-bit image to a PNG.

    ``bool`` arrays (masks) are written as 0/255 so every viewer shows them.
    """
    import cv2

    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    colour = array.ndim == 3 and array.shape[2] in (3, 4)
    if array.dtype not in (np.uint8, np.uint16) or not (array.ndim == 2 or colour):
        raise CcdstudioError(f"a PNG holds 8- or 16-bit grey or colour images, not a {array.shape} {array.dtype} array")
    if colour:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR if array.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:
        raise CcdstudioError(f"cannot encode {path} as PNG")
    with writing(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
