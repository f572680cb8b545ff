"""Overlays: named images drawn over the plane for the same viewport (masks now; labels, previews later).

An overlay is any 2-D data of the plane's shape: an array, or a plane of a lazy source (a mask HDU,
``mask.png`` of a segment, a label map on disk). Its values become uint8 indices into a 256-entry RGBA
table, so one mechanism serves a one-colour mask (0 transparent, anything else coloured), a label map
(index = class, table = class colours) and a threshold preview. Like the image, an overlay is block-reduced
for zoomed-out views, with the block *maximum*: a one-pixel mask hit or a thin label stays visible.

Qt-free; :class:`ccdstudio.gui.viewer.ImageViewer` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.render import Overview, Rendered, overview_factor, read_reduced, render_view
from ccdstudio.io.source import ArraySource, ImageSource
from ccdstudio.jobs import run

Colour = Sequence[int]


def colour_lut(colour: Colour) -> np.ndarray:
    """A table drawing 0 transparent and every other index in ``colour`` (RGB or RGBA, 0–255)."""
    rgba = (tuple(colour) + (255,))[:4]
    table = np.zeros((256, 4), np.uint8)
    table[1:] = rgba
    return table


def class_lut(colours: Sequence[Colour]) -> np.ndarray:
    """A table for label maps: index ``i`` in ``colours[i]``, index 0 (background) transparent."""
    table = np.zeros((256, 4), np.uint8)
    for index, colour in enumerate(colours[:256]):
        if index:
            table[index] = (tuple(colour) + (255,))[:4]
    return table


def to_indices(values: np.ndarray) -> np.ndarray:
    """Overlay values as uint8 table indices: integers clipped to 0..255, NaN and negatives to 0."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return values
    if values.dtype == bool:
        return values.view(np.uint8)
    if np.issubdtype(values.dtype, np.floating):
        values = np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(values, 0, 255).astype(np.uint8)


@dataclass
class Overlay:
    """One named overlay: where its data is, how it is coloured and whether it is shown."""

    name: str
    source: ImageSource
    plane: int
    lut: np.ndarray
    opacity: float = 0.5
    visible: bool = True
    overview: Overview | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        name: str,
        data: np.ndarray | tuple[ImageSource, int],
        shape: tuple[int, int],
        colour: Colour | None = None,
        lut: np.ndarray | None = None,
        opacity: float = 0.5,
        visible: bool = True,
    ) -> Overlay:
        """An overlay over an array or a ``(source, plane)`` pair of the plane's ``shape``.

        Give either ``colour`` (a mask) or ``lut`` (a 256 x 4 uint8 table); neither means red.
        """
        source, plane = (ArraySource([np.asarray(data)]), 0) if isinstance(data, np.ndarray) else data
        found = tuple(source.planes[plane].shape)
        if found != tuple(shape):
            raise CcdstudioError(f"overlay {name!r} is {found[1]}x{found[0]} but the image is {shape[1]}x{shape[0]}")
        if lut is None:
            lut = colour_lut(colour if colour is not None else (255, 40, 40))
        lut = np.asarray(lut, np.uint8)
        if lut.shape != (256, 4):
            raise CcdstudioError(f"an overlay table must be 256 x 4 RGBA, got {lut.shape}")
        return cls(name, source, plane, lut, float(opacity), bool(visible))

    def render(self, visible: tuple[float, float, float, float], screen: tuple[int, int]) -> Rendered:
        """Indices for the viewport (builds the overview on first use; call from the render thread)."""
        if self.overview is None:
            shape = tuple(self.source.planes[self.plane].shape)
            factor = overview_factor(shape)
            image = run(read_reduced(self.source, self.plane, (0, 0, shape[1], shape[0]), factor))
            self.overview = Overview(image, factor, shape)
        rendered = render_view(self.source, self.plane, self.overview, visible, screen)
        return Rendered(to_indices(rendered.image), rendered.rect, rendered.factor)
