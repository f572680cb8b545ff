"""Reading and writing the files users have: FITS, TIFF, scroll segments, PNG/JPEG/NPY.

Start with :func:`open_image`, which returns a lazy :class:`ImageSource` whatever the format.
"""

from ccdstudio.io.ccd import (
    MosaicSource,
    bias_windows,
    data_window,
    gain,
    has_mosaic,
    parallel_overscan,
    parse_section,
    serial_overscan,
)
from ccdstudio.io.fits import FitsSource
from ccdstudio.io.open import NpySource, open_image
from ccdstudio.io.raster import RasterSource
from ccdstudio.io.segment import SegmentSource
from ccdstudio.io.source import ArraySource, ImageSource, Plane, Window
from ccdstudio.io.stats import plane_stats
from ccdstudio.io.tiff import TiffSource
from ccdstudio.io.write import write_fits, write_png, write_tiff

__all__ = [
    "ArraySource",
    "FitsSource",
    "ImageSource",
    "MosaicSource",
    "NpySource",
    "Plane",
    "RasterSource",
    "SegmentSource",
    "TiffSource",
    "Window",
    "bias_windows",
    "data_window",
    "gain",
    "has_mosaic",
    "open_image",
    "parallel_overscan",
    "parse_section",
    "plane_stats",
    "serial_overscan",
    "write_fits",
    "write_png",
    "write_tiff",
]
