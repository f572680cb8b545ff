"""The Segment dock's overlays and their colour tables (Qt-free numpy).

Each is drawn through :meth:`ccdstudio.gui.viewer.ImageViewer.set_overlay` with a 256 x 4 RGBA table
indexed by the overlay's uint8 values; the item's opacity (the dock's slider) scales the table's alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccdstudio.gui.viewer.overlays import colour_lut


@dataclass(frozen=True)
class OverlayStyle:
    """How one of the dock's overlays looks by default."""

    name: str
    title: str
    colour: tuple[int, int, int]
    opacity: float
    visible: bool


MASK = OverlayStyle("outside mask", "Outside the mask (dimmed)", (0, 0, 0), 0.7, True)
INK = OverlayStyle("ink labels", "Ink labels", (255, 190, 0), 0.6, False)
PREDICTION = OverlayStyle("ink prediction", "Ink prediction", (255, 40, 200), 0.8, True)
STYLES = (MASK, INK, PREDICTION)


def outside_lut() -> np.ndarray:
    """Black where the mask is 0 (outside the papyrus), transparent wherever it is set."""
    table = np.zeros((256, 4), np.uint8)
    table[0] = (0, 0, 0, 255)
    return table


def probability_lut(colour: tuple[int, int, int]) -> np.ndarray:
    """``colour`` with alpha rising with the 0-255 probability: unlikely ink fades out, certain ink is solid."""
    table = np.zeros((256, 4), np.uint8)
    table[:, :3] = colour
    table[:, 3] = np.arange(256)
    return table


def lut_for(style: OverlayStyle) -> np.ndarray:
    if style is MASK:
        return outside_lut()
    if style is PREDICTION:
        return probability_lut(style.colour)
    return colour_lut(style.colour)
