"""Reading and writing the files users have: FITS, TIFF, scroll segments, PNG/JPEG/NPY."""

from ccdstudio.io.source import ArraySource, ImageSource, Plane, Window

__all__ = ["ArraySource", "ImageSource", "Plane", "Window"]
