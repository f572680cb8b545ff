"""How a pixel is named to the user: DS9 style for FITS, numpy/Fiji style for everything else.

The viewer works in array indices ``[row, col]`` (0-based). FITS files are shown origin bottom-left (row 0
at the bottom) and named as DS9 does, 1-based: array ``[row, col]`` is FITS ``(x, y) = (col + 1, row + 1)``.
TIFF, PNG, NPY and segment layers are shown origin top-left and named 0-based ``(x, y) = (col, row)``,
as numpy and Fiji do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PixelConvention:
    """Origin and numbering of displayed coordinates."""

    one_based: bool
    origin_bottom: bool

    @classmethod
    def for_fits(cls, fits: bool) -> PixelConvention:
        return cls(one_based=fits, origin_bottom=fits)

    def xy(self, row: int, col: int) -> tuple[int, int]:
        """The ``(x, y)`` the user reads for array index ``[row, col]``."""
        offset = 1 if self.one_based else 0
        return col + offset, row + offset

    def describe(self) -> str:
        """A short note for tooltips: which convention the numbers follow."""
        if self.one_based:
            return "FITS/DS9 pixels: 1-based, origin bottom-left"
        return "array pixels: 0-based, origin top-left (numpy/Fiji)"
