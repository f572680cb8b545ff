"""Colour tables for display indices from :func:`ccdstudio.imaging.stretch.to_display`.

A table has 256 RGBA rows: rows 0..254 are the colormap, row 255 (``NONFINITE_INDEX``) is the colour of
NaN and Inf pixels, chosen to be absent from the map so bad pixels never pass for data.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ccdstudio.imaging.stretch import DISPLAY_LEVELS, NONFINITE_INDEX

COLORMAPS = ("grey", "viridis", "inferno", "magma", "plasma", "cividis", "turbo")
"""Names offered in the display panel; all but grey are pyqtgraph's bundled maps."""

NONFINITE_COLOUR = {"grey": (255, 0, 255), "turbo": (255, 255, 255)}
"""NaN/Inf colour per map (magenta, absent from grey and the perceptual maps); others default to magenta."""


def colormap_lut(name: str) -> np.ndarray:
    """The 256 x 4 uint8 table for colormap ``name``."""
    if name == "grey":
        ramp = np.linspace(0, 255, DISPLAY_LEVELS).round().astype(np.uint8)
        rgb = np.stack([ramp, ramp, ramp], axis=1)
    else:
        rgb = pg.colormap.get(name).getLookupTable(0.0, 1.0, DISPLAY_LEVELS, alpha=False)
    return _with_nonfinite(rgb, NONFINITE_COLOUR.get(name, (255, 0, 255)))


def discrete_lut(bands: int, name: str = "turbo") -> np.ndarray:
    """A table of ``bands`` flat colour steps, for integer-valued data (electrons on a skipper CCD).

    With levels ``(-0.5, bands - 0.5)`` and a linear stretch, value ``k`` falls in band ``k``. Band 0 is
    black so empty pixels recede; the others are spread evenly over ``name``.
    """
    bands = max(int(bands), 2)
    colours = pg.colormap.get(name).getLookupTable(0.2, 0.9, bands - 1, alpha=False)
    colours = np.vstack([[0, 0, 0], colours]).astype(np.uint8)
    band_of_index = np.minimum((np.arange(DISPLAY_LEVELS) + 0.5) * bands / DISPLAY_LEVELS, bands - 1).astype(int)
    return _with_nonfinite(colours[band_of_index], (255, 0, 255))


def _with_nonfinite(rgb: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    table = np.full((NONFINITE_INDEX + 1, 4), 255, np.uint8)
    table[:DISPLAY_LEVELS, :3] = rgb
    table[NONFINITE_INDEX, :3] = colour
    return table
