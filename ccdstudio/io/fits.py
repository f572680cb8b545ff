"""FITS images: every image HDU a plane, memory-mapped, scaled window by window.

Astropy refuses to memory-map data with BZERO/BSCALE/BLANK (it would have to scale the whole array), so the
file is opened with ``do_not_scale_image_data=True`` and :class:`Scaling` converts only the window read.
The result follows the FITS convention for the output type: BITPIX 16 with BZERO 32768 is ``uint16``
(likewise 8 -> ``int8``, 32 -> ``uint32``, 64 -> ``uint64``), other scaled integers are ``float32`` (8/16-bit)
or ``float64`` (32/64-bit) with BLANK pixels set to NaN. NaN and Inf in float images are kept as they are.

Arrays are ``[y, x]`` 0-based: FITS pixel (x, y) (1-based) is ``array[y - 1, x - 1]``. Display code shows FITS
with the origin at the bottom left; nothing here flips rows.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.source import ImageSource, Plane, Role, Window

FITS_BLOCK = 2880
"""FITS files are written in blocks of this many bytes."""

MASK_NAMES = ("DQ", "BPM", "BADPIX", "FLAGS")
"""EXTNAMEs of integer HDUs that are bit masks in common pipelines (besides names containing MASK)."""

_UNSIGNED_ZERO = {8: (-128, np.int8), 16: (1 << 15, np.uint16), 32: (1 << 31, np.uint32), 64: (1 << 63, np.uint64)}
"""BITPIX -> the BZERO that marks the other-signedness integer type, and that type (FITS standard 5.3)."""


@dataclass(frozen=True)
class Scaling:
    """How raw FITS values become the values users see: ``BZERO + BSCALE * raw``, BLANK -> NaN."""

    bitpix: int
    bzero: float = 0.0
    bscale: float = 1.0
    blank: int | None = None

    @classmethod
    def from_header(cls, header: Any) -> Scaling:
        blank = header.get("BLANK")
        return cls(
            bitpix=int(header.get("BITPIX", -32)),
            bzero=float(header.get("BZERO", 0.0)),
            bscale=float(header.get("BSCALE", 1.0)),
            blank=int(blank) if isinstance(blank, (int, np.integer)) and not isinstance(blank, bool) else None,
        )

    @property
    def is_identity(self) -> bool:
        return self.bitpix < 0 or (self.bzero == 0 and self.bscale == 1)

    @property
    def _unsigned(self) -> bool:
        zero, _ = _UNSIGNED_ZERO.get(self.bitpix, (None, None))
        return self.bscale == 1 and self.bzero == zero

    def dtype(self, raw: np.dtype) -> np.dtype:
        """The dtype of scaled data read from raw data of dtype ``raw``."""
        if self.is_identity:
            # Integer images with a BLANK but no scaling stay integers, as in astropy.
            return raw.newbyteorder("=")
        if self._unsigned:
            return np.dtype(_UNSIGNED_ZERO[self.bitpix][1])
        return np.dtype(np.float32 if self.bitpix in (8, 16) else np.float64)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Scale ``raw`` (any byte order) into a new native-order array."""
        out_dtype = self.dtype(raw.dtype)
        if self.is_identity:
            return raw.astype(out_dtype)  # a native-order copy, never a view of the memory map
        if self._unsigned:
            # Adding BZERO = 2**(n-1) is flipping the sign bit of the two's-complement value.
            native = raw.astype(raw.dtype.newbyteorder("="))
            sign_bit = np.array(1 << (self.bitpix - 1)).astype(native.dtype)
            return (native ^ sign_bit).view(out_dtype)
        out = raw.astype(out_dtype)
        if self.bscale != 1:
            out *= out_dtype.type(self.bscale)
        if self.bzero != 0:
            out += out_dtype.type(self.bzero)
        if self.blank is not None:
            out[raw == self.blank] = np.nan
        return out


def is_mask_hdu(name: str, dtype: np.dtype) -> bool:
    """Whether an HDU called ``name`` holds a mask (DAMIC-M ``MASK...``, or an integer DQ/BPM bit mask)."""
    upper = name.upper()
    if upper.startswith("MASK"):
        return True
    return np.issubdtype(dtype, np.integer) and ("MASK" in upper or upper in MASK_NAMES)


class FitsSource(ImageSource):
    """A FITS file whose image HDUs (and the slices of 3-D cubes) are planes.

    Plane headers are the astropy :class:`~astropy.io.fits.Header` of their HDU; ``metadata["hdus"]`` maps each
    plane to its HDU number and ``metadata["primary_header"]`` holds the primary header.
    """

    format = "fits"

    def __init__(self, path: str | os.PathLike[str]):
        from astropy.io import fits

        path = Path(path)
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self._hdul = fits.open(path, memmap=not gzipped, do_not_scale_image_data=True, lazy_load_hdus=False)
            except (OSError, ValueError, TypeError, IndexError, KeyError) as error:
                raise FormatError(f"{path.name} is not a readable FITS file ({error})") from None
        self._lock = threading.Lock()
        try:
            planes, self._index = self._describe(path, gzipped)
        except BaseException:
            self._hdul.close()
            raise
        metadata = {
            "hdus": [hdu for hdu, _ in self._index],
            "primary_header": self._hdul[0].header,
            "memmap": not gzipped,
        }
        super().__init__(path, planes, metadata)

    def _describe(self, path: Path, gzipped: bool) -> tuple[list[Plane], list[tuple[int, int | None]]]:
        """Planes and, for each, ``(hdu number, cube slice or None)``; checks that the data is all there."""
        from astropy.io.fits import CompImageHDU, ImageHDU, PrimaryHDU

        size = path.stat().st_size
        planes: list[Plane] = []
        index: list[tuple[int, int | None]] = []
        skipped: list[str] = []
        for number, hdu in enumerate(self._hdul):
            if not isinstance(hdu, (PrimaryHDU, ImageHDU, CompImageHDU)):
                continue
            header = hdu.header
            shape = _image_shape(hdu)
            if not shape:
                continue  # an empty primary HDU (or extension) only carries cards
            name = str(header.get("EXTNAME", "")).strip() or f"HDU {number}"
            squeezed = _squeeze_leading(shape)
            if len(squeezed) not in (2, 3):
                skipped.append(f"{name} has {len(shape)} axes {shape}")
                continue
            if not gzipped:
                _check_complete(path.name, name, self._hdul.fileinfo(number), header, size, _is_compressed(hdu))
            raw = _raw_dtype(hdu)
            dtype = Scaling.from_header(header).dtype(raw)
            role: Role = "mask" if is_mask_hdu(name, dtype) else "image"
            height, width = squeezed[-2:]
            slices = [None] if len(squeezed) == 2 else list(range(squeezed[0]))
            for k in slices:
                planes.append(Plane(name if k is None else f"{name} [{k}]", (height, width), dtype, header, role))
                index.append((number, k))
        if not planes:
            why = "; ".join(skipped) or "it holds no image HDU (only headers or tables)"
            raise FormatError(f"{path.name}: no 2-D or 3-D image to show: {why}")
        return planes, index

    def hdu_number(self, plane: int) -> int:
        """The HDU (0 = primary) that holds ``plane``."""
        return self._index[plane][0]

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        number, k = self._index[plane]
        hdu = self._hdul[number]
        rows, cols = window if window is not None else (slice(None), slice(None))
        lead = (0,) * (len(_image_shape(hdu)) - (2 if k is None else 3)) + (() if k is None else (k,))
        key = (*lead, rows, cols)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if _is_compressed(hdu):
                    with self._lock:  # decompression seeks a shared file handle
                        raw = _section(hdu, key)
                else:
                    raw = hdu.data[key]
            except (OSError, TypeError, ValueError) as error:  # damaged tiles, short buffers
                raise FormatError(f"{self.path.name if self.path else 'FITS'}: cannot read "
                                  f"{self.planes[plane].name}: {error}") from None
        return Scaling.from_header(hdu.header).apply(np.asarray(raw))

    def raw_array(self, plane: int) -> np.ndarray | None:
        """The unscaled memory-mapped array behind ``plane`` (None for compressed or gzipped files)."""
        number, _ = self._index[plane]
        hdu = self._hdul[number]
        return hdu.data if _is_memmapped(hdu) else None

    def close(self) -> None:
        self._hdul.close()


def _image_shape(hdu: Any) -> tuple[int, ...]:
    """``(..., NAXIS2, NAXIS1)`` from the header, without touching the data."""
    header = hdu.header
    if _is_compressed(hdu):
        return tuple(int(n) for n in hdu.shape)
    naxis = int(header.get("NAXIS", 0))
    shape = tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(naxis, 0, -1))
    return () if not shape or 0 in shape else shape


def _squeeze_leading(shape: Sequence[int]) -> tuple[int, ...]:
    """Drop leading length-1 axes (radio cubes often carry ``(1, 1, h, w)``)."""
    shape = tuple(shape)
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    return shape


def _raw_dtype(hdu: Any) -> np.dtype:
    bitpix = int(hdu.header["BITPIX"])  # a compressed HDU's header describes the image, not the table
    return np.dtype({8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}[bitpix])


def _check_complete(file: str, name: str, info: dict[str, Any], header: Any, size: int, compressed: bool) -> None:
    """Raise :class:`FormatError` when the file ends before the data of this HDU does (padding may be missing).

    A compressed HDU's header describes the image, not the table that holds it, so there the span astropy
    computed from the table header is used, less the padding it may include.
    """
    if compressed:
        needed = info["datLoc"] + info["datSpan"] - (FITS_BLOCK - 1)
    else:
        bitpix = abs(int(header.get("BITPIX", 8)))
        count = int(np.prod([int(header.get(f"NAXIS{i}", 0)) for i in range(1, int(header.get("NAXIS", 0)) + 1)]))
        needed = info["datLoc"] + bitpix // 8 * int(header.get("GCOUNT", 1)) * (int(header.get("PCOUNT", 0)) + count)
    if needed > size:
        raise FormatError(f"{file} is truncated: {name} needs {needed} bytes but the file has {size}")


def _is_memmapped(hdu: Any) -> bool:
    """Whether the HDU's data is a view of a memory map (compressed HDUs never are)."""
    if _is_compressed(hdu):
        return False
    import mmap

    base = hdu.data
    while base is not None:
        if isinstance(base, (mmap.mmap, np.memmap)):
            return True
        base = getattr(base, "base", None)
    return False


def _is_compressed(hdu: Any) -> bool:
    from astropy.io.fits import CompImageHDU

    return isinstance(hdu, CompImageHDU)


def _section(hdu: Any, key: tuple[Any, ...]) -> np.ndarray:
    """Read a window of a compressed HDU, decompressing only the tiles it touches.

    Astropy sections take unit-step slices only, so a strided window is read whole and then subsampled.
    """
    plain = tuple(slice(s.start, s.stop) if isinstance(s, slice) else s for s in key)
    steps = tuple(slice(None, None, s.step) for s in key if isinstance(s, slice))
    data = hdu.section[plain]
    return data[steps] if any(s.step not in (None, 1) for s in steps) else data
