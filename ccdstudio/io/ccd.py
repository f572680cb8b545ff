"""CCD header conventions: DATASEC/BIASSEC/DETSEC sections, the serial and parallel overscans, gain, and
amplifiers assembled into a mosaic.

A FITS section ``[x1:x2,y1:y2]`` is 1-based and inclusive, x (columns, NAXIS1) first; ``x1 > x2`` means the
amplifier reads in the other direction. :func:`parse_section` is the one place that turns it into 0-based
``[rows, cols]`` slices (row 0 is FITS y = 1, so no flip is needed: the bottom-left origin is only a display
choice).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.source import ArraySource, ImageSource, Plane, Window

_SECTION = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")
GAIN_CARDS = ("GAIN", "EGAIN")
ADU_PER_ELECTRON = "ADU/e-"
ELECTRONS_PER_ADU = "e-/ADU"
_ELECTRONS = r"(?:e-?|electrons?)"
_ADU_PER_E = re.compile(rf"adu\s*(?:/|per)\s*{_ELECTRONS}(?![a-z])", re.IGNORECASE)
_E_PER_ADU = re.compile(rf"(?<![a-z]){_ELECTRONS}\s*(?:/|per)\s*adu", re.IGNORECASE)
BIAS_CARDS = ("BIASSEC", *(f"BIASSEC{s}" for s in "123456789ABCD"))


def section_bounds(text: str) -> tuple[int, int, int, int]:
    """``(x1, x2, y1, y2)`` of a FITS section, 1-based and in the written order (possibly reversed)."""
    match = _SECTION.match(str(text))
    if match is None:
        raise FormatError(f"{text!r} is not a FITS section like [1:2048,1:4096]")
    x1, x2, y1, y2 = (int(v) for v in match.groups())
    if min(x1, x2, y1, y2) < 1:
        raise FormatError(f"{text!r}: FITS sections count pixels from 1")
    return x1, x2, y1, y2


def parse_section(text: str) -> Window:
    """The 0-based ``(rows, cols)`` window of a FITS section ``[x1:x2,y1:y2]`` (reversed ranges allowed).

    >>> parse_section("[10:1,1:4]")
    (slice(0, 4, None), slice(0, 10, None))
    """
    x1, x2, y1, y2 = section_bounds(text)
    return slice(min(y1, y2) - 1, max(y1, y2)), slice(min(x1, x2) - 1, max(x1, x2))


def format_section(window: Window) -> str:
    """A 0-based ``[rows, cols]`` window as a FITS section (the inverse of :func:`parse_section`).

    >>> format_section((slice(0, 4), slice(0, 10)))
    '[1:10,1:4]'
    """
    rows, cols = window
    return f"[{cols.start + 1}:{cols.stop},{rows.start + 1}:{rows.stop}]"


def _array_shape(header: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(NAXIS2, NAXIS1)``; compressed HDUs keep them as ZNAXIS2/ZNAXIS1 in the table header."""
    for prefix in ("", "Z"):
        if f"{prefix}NAXIS1" in header and f"{prefix}NAXIS2" in header:
            return int(header[f"{prefix}NAXIS2"]), int(header[f"{prefix}NAXIS1"])
    return None


def clip_window(window: Window, shape: tuple[int, int] | None) -> Window | None:
    """``window`` cut to an array of ``shape`` (as it is when ``shape`` is None); None when nothing is left."""
    if shape is None:
        return window
    rows = slice(min(window[0].start, shape[0]), min(window[0].stop, shape[0]))
    cols = slice(min(window[1].start, shape[1]), min(window[1].stop, shape[1]))
    return (rows, cols) if rows.stop > rows.start and cols.stop > cols.start else None


def _card_window(header: Mapping[str, Any], card: str) -> Window | None:
    """The window of a section card, clipped to the array; None when absent or malformed."""
    if card not in header:
        return None
    try:
        window = parse_section(header[card])
    except FormatError:
        return None
    return clip_window(window, _array_shape(header))


def data_window(header: Mapping[str, Any]) -> Window | None:
    """The light-sensitive pixels (DATASEC), or None when the header has no usable DATASEC."""
    return _card_window(header, "DATASEC")


def data_window_of(header: Mapping[str, Any], shape: tuple[int, ...]) -> Window | None:
    """DATASEC's window when it is ``shape`` (say, of labels that cover only the data section), else None."""
    window = data_window(header)
    return window if window is not None and tuple(s.stop - s.start for s in window) == tuple(shape) else None


def bias_windows(header: Mapping[str, Any]) -> list[Window]:
    """The overscan and prescan pixels: the BIASSEC card(s), else what lies outside DATASEC.

    Without a BIASSEC, the columns beside the data section (serial prescan/overscan, over the data rows) and
    the rows above or below it (parallel overscan, full width) are returned, without overlaps.
    """
    cards = [w for w in (_card_window(header, card) for card in BIAS_CARDS) if w is not None]
    if cards:
        return cards
    data, shape = data_window(header), _array_shape(header)
    if data is None or shape is None:
        return []
    (r0, r1), (c0, c1) = (data[0].start, data[0].stop), (data[1].start, data[1].stop)
    height, width = shape
    candidates = [
        (slice(r0, r1), slice(0, c0)),
        (slice(r0, r1), slice(c1, width)),
        (slice(0, r0), slice(0, width)),
        (slice(r1, height), slice(0, width)),
    ]
    return [(rows, cols) for rows, cols in candidates if rows.stop > rows.start and cols.stop > cols.start]


def serial_overscan(header: Mapping[str, Any]) -> Window | None:
    """The serial overscan (or prescan): of :func:`bias_windows`, the widest one beside the data rows
    (spanning at least half the plane's rows and not the data columns); None when there is none."""
    shape, data = _array_shape(header), data_window(header)
    if shape is None:
        return None
    serial = []
    for rows, cols in bias_windows(header):
        beside = data is None or cols.stop <= data[1].start or cols.start >= data[1].stop
        if beside and 2 * (rows.stop - rows.start) >= shape[0]:
            serial.append((rows, cols))
    return max(serial, key=lambda w: w[1].stop - w[1].start, default=None)


def parallel_overscan(header: Mapping[str, Any]) -> Window | None:
    """The parallel overscan: the rows beyond DATASEC's (the larger block, above or below it) over its
    columns; None without a DATASEC or such rows."""
    shape, data = _array_shape(header), data_window(header)
    if shape is None or data is None:
        return None
    below, above = data[0].start, shape[0] - data[0].stop
    if max(below, above) == 0:
        return None
    rows = slice(data[0].stop, shape[0]) if above >= below else slice(0, data[0].start)
    return rows, data[1]


def gain(header: Mapping[str, Any]) -> float | None:
    """The gain from GAIN or EGAIN (units as written, usually e-/ADU), or None when absent or unusable."""
    card = _gain_card(header)
    return None if card is None else float(header[card])


def gain_unit(header: Mapping[str, Any]) -> str | None:
    """:data:`ADU_PER_ELECTRON` or :data:`ELECTRONS_PER_ADU` where the gain card's comment names its unit
    (``[ADU/e-]``, ``e-/ADU``, ``electrons per ADU``...), else None: the number alone does not tell."""
    card = _gain_card(header)
    comments = getattr(header, "comments", None)
    if card is None or comments is None:
        return None
    comment = str(comments[card])
    if _ADU_PER_E.search(comment):
        return ADU_PER_ELECTRON
    if _E_PER_ADU.search(comment):
        return ELECTRONS_PER_ADU
    return None


def _gain_card(header: Mapping[str, Any]) -> str | None:
    """The first of :data:`GAIN_CARDS` holding a positive number."""
    for card in GAIN_CARDS:
        try:
            value = float(header[card])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            return card
    return None


@dataclass(frozen=True)
class _Amplifier:
    """Where one amplifier's data lands in the mosaic: 0-based start and size on the detector, and flips."""

    plane: int
    source: Window  # the data section inside the amplifier's array
    row0: int
    col0: int
    height: int
    width: int
    flip_rows: bool
    flip_cols: bool


def _amplifier(plane: int, item: Plane) -> _Amplifier | None:
    header = item.header
    if "DETSEC" not in header:
        return None
    try:
        dx1, dx2, dy1, dy2 = section_bounds(header["DETSEC"])
        sx1, sx2, sy1, sy2 = (section_bounds(header["DATASEC"]) if "DATASEC" in header
                              else (1, item.shape[1], 1, item.shape[0]))
    except FormatError:
        return None
    width, height = abs(dx2 - dx1) + 1, abs(dy2 - dy1) + 1
    source = (slice(min(sy1, sy2) - 1, max(sy1, sy2)), slice(min(sx1, sx2) - 1, max(sx1, sx2)))
    fits_array = source[0].stop <= item.shape[0] and source[1].stop <= item.shape[1]
    if (abs(sx2 - sx1) + 1, abs(sy2 - sy1) + 1) != (width, height) or not fits_array:
        return None  # binned or inconsistent sections: not placed
    # A section written high-to-low on one side and low-to-high on the other is read mirrored.
    return _Amplifier(plane, source, min(dy1, dy2) - 1, min(dx1, dx2) - 1, height, width,
                      flip_rows=(dy2 < dy1) != (sy2 < sy1), flip_cols=(dx2 < dx1) != (sx2 < sx1))


def _amplifiers(source: ImageSource) -> list[_Amplifier]:
    found = [_amplifier(i, p) for i, p in enumerate(source.planes) if p.role == "image"]
    return [a for a in found if a is not None]


def has_mosaic(source: ImageSource) -> bool:
    """Whether ``source`` has two or more amplifier planes placed by DETSEC that can be assembled."""
    return mosaic_shape(source) is not None


def amplifier_planes(source: ImageSource) -> list[int]:
    """The planes :class:`MosaicSource` assembles (image planes with usable DETSEC and DATASEC), in order."""
    return [a.plane for a in _amplifiers(source)]


def assemble(source: ImageSource, arrays: Mapping[int, np.ndarray]) -> np.ndarray:
    """The mosaic of per-amplifier ``arrays`` (plane index -> an array of that plane's shape, e.g. the class
    map predicted on it with its overscans), placed exactly as :class:`MosaicSource` places ``source``."""
    missing = [p for p in amplifier_planes(source) if p not in arrays]
    if missing:
        raise FormatError(f"no array for amplifier plane(s) {missing}")
    for index, array in arrays.items():
        if array.shape != source.planes[index].shape:
            raise FormatError(f"plane {index} is {source.planes[index].shape}, its array {array.shape}")
    empty = np.zeros((0, 0), np.uint8)
    stand_in = ArraySource([arrays.get(i, empty) for i in range(len(source.planes))],
                           names=[p.name for p in source.planes], metadata=source.metadata,
                           roles=[p.role for p in source.planes], headers=[p.header for p in source.planes])
    return MosaicSource(stand_in).read()


def split_mosaic(source: ImageSource, mosaic: np.ndarray, fill: Any = 0) -> dict[int, np.ndarray]:
    """The inverse of :func:`assemble`: each amplifier plane's part of a ``mosaic`` of the whole CCD (labels
    drawn on the mosaic, say) on an array of that plane's shape, ``fill`` outside its data section."""
    amplifiers = _amplifiers(source)
    shape = _extent(amplifiers)
    if mosaic.shape != shape:
        raise FormatError(f"the array is {mosaic.shape[1]}x{mosaic.shape[0]} but the mosaic {shape[1]}x{shape[0]}")
    parts = {}
    for amp in amplifiers:
        block = mosaic[amp.row0: amp.row0 + amp.height, amp.col0: amp.col0 + amp.width]
        part = np.full(source.planes[amp.plane].shape, fill, mosaic.dtype)
        part[amp.source] = block[:: -1 if amp.flip_rows else 1, :: -1 if amp.flip_cols else 1]
        parts[amp.plane] = part
    return parts


def mosaic_shape(source: ImageSource) -> tuple[int, int] | None:
    """``(height, width)`` of the mosaic of a multi-amplifier ``source``, None when it has none."""
    amplifiers = _amplifiers(source)
    return _extent(amplifiers) if len(amplifiers) >= 2 else None


def _extent(amplifiers: Sequence[_Amplifier]) -> tuple[int, int]:
    return max(a.row0 + a.height for a in amplifiers), max(a.col0 + a.width for a in amplifiers)


def _axis(out: slice, start: int, size: int, flip: bool, src_start: int) -> tuple[slice, slice] | None:
    """Map a strided mosaic range onto one amplifier along one axis.

    Returns the slice of the output array it fills and the ascending slice of the amplifier data to read
    (to be reversed when ``flip``); None when the amplifier is outside the range.
    """
    step = out.step or 1
    count = len(range(out.start, out.stop, step))
    first = max(0, -(-(start - out.start) // step))  # first output index landing on the amplifier
    last = min(count, -(-(start + size - out.start) // step))  # one past the last
    if last <= first:
        return None
    offsets = [out.start + k * step - start for k in (first, last - 1)]  # detector offsets into the amp
    if flip:
        low, high = size - 1 - offsets[1], size - 1 - offsets[0]
    else:
        low, high = offsets
    return slice(first, last), slice(src_start + low, src_start + high + 1, step)


class SectionedSource(ImageSource):
    """``source`` with the DATASEC and BIASSEC cards of one plane's header replaced (sections set by hand),
    for what reads them (a model's overscan pedestal); pixels are read from ``source``, which stays open."""

    def __init__(self, source: ImageSource, plane: int, data: Window | None, bias: Sequence[Window]):
        header = {key: value for key, value in source.planes[plane].header.items()
                  if key != "DATASEC" and key not in BIAS_CARDS}
        if data is not None:
            header["DATASEC"] = format_section(data)
        header.update(zip(BIAS_CARDS, (format_section(window) for window in bias)))
        planes = list(source.planes)
        planes[plane] = replace(planes[plane], header=header)
        super().__init__(source.path, planes, source.metadata)
        self.format = source.format
        self._source = source

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        return self._source.read(plane, window)


class MosaicSource(ImageSource):
    """One plane assembling the amplifier planes of a multi-extension FITS, placed by DETSEC.

    Each amplifier contributes its DATASEC (prescan and overscan trimmed), mirrored where DETSEC and DATASEC
    run in opposite directions. Windows are read lazily from the amplifiers they touch. Pixels no amplifier
    covers are NaN (float data) or 0. The wrapped source stays open and owned by the caller.
    """

    format = "mosaic"

    def __init__(self, source: ImageSource):
        amplifiers = _amplifiers(source)
        if len(amplifiers) < 2:
            raise FormatError("no mosaic: fewer than two amplifier HDUs with usable DETSEC and DATASEC cards")
        self._source = source
        self._amplifiers = amplifiers
        height, width = _extent(amplifiers)
        self._dtype = np.result_type(*(source.planes[a.plane].dtype for a in amplifiers))
        primary = source.metadata.get("primary_header") or {}
        header = primary.copy() if hasattr(primary, "copy") else dict(primary)  # a FITS header keeps its comments
        plane = Plane("mosaic", (height, width), self._dtype, header)
        metadata = {**source.metadata, "amplifiers": [source.planes[a.plane].name for a in amplifiers]}
        super().__init__(source.path, [plane], metadata)

    @property
    def wrapped(self) -> ImageSource:
        """The multi-extension source whose amplifiers this mosaic assembles."""
        return self._source

    def read(self, plane: int = 0, window: Window | None = None) -> np.ndarray:
        height, width = self.planes[0].shape
        rows, cols = window if window is not None else (slice(None), slice(None))
        rows = slice(*rows.indices(height))
        cols = slice(*cols.indices(width))
        if (rows.step or 1) < 1 or (cols.step or 1) < 1:
            raise ValueError("mosaic windows read with positive steps only")
        shape = (len(range(rows.start, rows.stop, rows.step)), len(range(cols.start, cols.stop, cols.step)))
        fill = np.nan if np.issubdtype(self._dtype, np.floating) else 0
        out = np.full(shape, fill, dtype=self._dtype)
        for amp in self._amplifiers:
            along_rows = _axis(rows, amp.row0, amp.height, amp.flip_rows, amp.source[0].start)
            along_cols = _axis(cols, amp.col0, amp.width, amp.flip_cols, amp.source[1].start)
            if along_rows is None or along_cols is None:
                continue
            data = self._source.read(amp.plane, (along_rows[1], along_cols[1]))
            out[along_rows[0], along_cols[0]] = data[:: -1 if amp.flip_rows else 1, :: -1 if amp.flip_cols else 1]
        return out
