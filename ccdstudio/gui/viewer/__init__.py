"""The image viewer and what it draws: lazy planes at screen resolution, overlays, pixel conventions."""

from ccdstudio.gui.viewer.canvas import Display, ImageViewer
from ccdstudio.gui.viewer.coords import PixelConvention
from ccdstudio.gui.viewer.overlays import Overlay, class_lut, colour_lut

__all__ = ["Display", "ImageViewer", "Overlay", "PixelConvention", "class_lut", "colour_lut"]
