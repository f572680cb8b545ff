"""PNG and JPEG images (OpenCV), and their sizes read from the file header without decoding.

Neither format can be read a window at a time, so pixels are decoded on the first read and kept. Colour
images become one plane per channel (red, green, blue, then alpha) rather than grey, so that no value is lost
and a single channel (an infrared band, a mask painted in red) can be chosen; :class:`RasterFile` gives the
grey view that segment masks, ink labels and IR images need (OpenCV's luminance weights).
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.source import ImageSource, Plane, Window
from ccdstudio.io.tiff import CHANNEL_NAMES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
"""PNG colour type -> channels OpenCV returns: grey, RGB, palette (as RGB), grey+alpha, RGBA."""


def raster_header(path: str | os.PathLike[str]) -> tuple[tuple[int, int], np.dtype, int]:
    """``((height, width), dtype, channels)`` of a PNG or JPEG, read from its header only.

    Raises :class:`FormatError` when the header is missing or damaged.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(33)
        if head.startswith(PNG_SIGNATURE):
            if len(head) < 33 or head[12:16] != b"IHDR":
                raise FormatError(f"{path.name} is a corrupt PNG file (no image header)")
            width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
            if colour not in _PNG_CHANNELS or width == 0 or height == 0:
                raise FormatError(f"{path.name} is a corrupt PNG file (bad image header)")
            return (height, width), np.dtype(np.uint16 if depth == 16 else np.uint8), _PNG_CHANNELS[colour]
        if head.startswith(JPEG_SIGNATURE):
            handle.seek(2)
            return _jpeg_header(path, handle)
    raise FormatError(f"{path.name} is neither a PNG nor a JPEG file")


def _jpeg_header(path: Path, handle: object) -> tuple[tuple[int, int], np.dtype, int]:
    """Walk the JPEG markers up to the start-of-frame, which holds the size and the component count."""
    while True:
        marker = handle.read(2)  # type: ignore[attr-defined]
        while marker[:1] == b"\xff" and marker[1:2] == b"\xff":  # fill bytes before a marker
            marker = marker[1:] + handle.read(1)  # type: ignore[attr-defined]
        length_bytes = handle.read(2)  # type: ignore[attr-defined]
        if len(marker) < 2 or marker[0] != 0xFF or len(length_bytes) < 2:
            raise FormatError(f"{path.name} is a corrupt JPEG file (no frame header)")
        code, length = marker[1], struct.unpack(">H", length_bytes)[0]
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) start a frame.
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            frame = handle.read(6)  # type: ignore[attr-defined]
            if len(frame) < 6:
                raise FormatError(f"{path.name} is a corrupt JPEG file (short frame header)")
            precision, height, width, channels = struct.unpack(">BHHB", frame)
            dtype = np.dtype(np.uint16 if precision > 8 else np.uint8)
            return (height, width), dtype, channels
        handle.seek(length - 2, 1)  # type: ignore[attr-defined]


def decode(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a PNG or JPEG to ``(h, w)`` or ``(h, w, channels)`` in RGB(A) order."""
    import cv2

    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8)  # imdecode, unlike imread, copes with non-ASCII paths on Windows
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise FormatError(f"{path.name} is a corrupt or truncated image file")
    if image.ndim == 3:
        order = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}.get(image.shape[2])
        image = cv2.cvtColor(image, order) if order is not None else image
        if image.shape[2] == 4 and raster_header(path)[2] == 2:
            image = np.ascontiguousarray(image[..., [0, 3]])  # OpenCV expands grey+alpha PNGs to RGBA
    return image


class RasterFile:
    """A grey PNG/JPEG whose size is known at once and whose pixels are decoded on the first read.

    Used for the pieces of a segment (masks, ink labels, IR images, JPEG layers): opening the segment must
    not decode them.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.shape, self.dtype, _ = raster_header(self.path)
        self._pixels: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._pixels is not None

    def read(self, window: Window | None = None) -> np.ndarray:
        with self._lock:
            if self._pixels is None:
                self._pixels = to_grey(decode(self.path))
                if self._pixels.shape != self.shape:
                    raise FormatError(f"{self.path.name}: decoded size {self._pixels.shape} differs from its header")
            pixels = self._pixels
        return np.array(pixels if window is None else pixels[window])

    def release(self) -> None:
        """Forget the decoded pixels (they are decoded again on the next read)."""
        with self._lock:
            self._pixels = None


def to_grey(image: np.ndarray) -> np.ndarray:
    """A single-channel view of a decoded image: grey stays, colour is converted by luminance, alpha dropped."""
    if image.ndim == 2:
        return image
    import cv2

    channels = image.shape[2]
    if channels == 1:
        return image[..., 0]
    if channels == 2:  # grey + alpha
        return np.ascontiguousarray(image[..., 0])
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


class RasterSource(ImageSource):
    """A PNG or JPEG file: one plane when grey, one per channel when colour."""

    def __init__(self, path: str | os.PathLike[str]):
        path = Path(path)
        self._file = path
        shape, dtype, channels = raster_header(path)
        with open(path, "rb") as handle:
            self.format = "png" if handle.read(8) == PNG_SIGNATURE else "jpeg"
        self._pixels: np.ndarray | None = None
        self._lock = threading.Lock()
        if channels == 1:
            names = ["image"]
        elif channels == 2:
            names = ["grey", "alpha"]
        else:
            names = list(CHANNEL_NAMES[:channels])
        planes = [Plane(name, shape, dtype) for name in names]
        super().__init__(path, planes, {"channels": channels})

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        with self._lock:
            if self._pixels is None:
                pixels = decode(self._file)
                if pixels.ndim == 2:
                    pixels = pixels[..., None]
                if pixels.shape[2] != len(self.planes) or pixels.shape[:2] != self.planes[0].shape:
                    raise FormatError(f"{self._file.name}: decoded image {pixels.shape} differs from its header")
                self._pixels = pixels
        channel = self._pixels[..., plane]
        return np.array(channel if window is None else channel[window])

    def close(self) -> None:
        self._pixels = None
