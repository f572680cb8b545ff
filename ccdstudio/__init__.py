"""ccdstudio: label, segment and measure very large scientific images, and train U-Nets on them."""

__version__ = "0.1.0"
