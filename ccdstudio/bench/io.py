"""I/O figures: opening a big file and reading one window, against reading the whole image.

The inputs are written to a temporary folder first, so both sides read from the page cache; what is compared
is how much work the reader does, not the disk.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time
from ccdstudio.io import open_image


def _window(shape: tuple[int, int], size: int) -> tuple[slice, slice]:
    """A ``size`` x ``size`` window in the middle of an image."""
    r, c = (shape[0] - size) // 2, (shape[1] - size) // 2
    return slice(r, r + size), slice(c, c + size)


def _open_and_read(path: Path, plane: int, window: tuple[slice, slice]) -> np.ndarray:
    with open_image(path) as source:
        return source.read(plane, window)


def _fits_figure(folder: Path, side: int, size: int, rng: np.random.Generator) -> Figure:
    from astropy.io import fits

    path = folder / "frame.fits"
    fits.PrimaryHDU(rng.normal(1000, 5, (side, side)).astype(np.float32)).writeto(path)
    window = _window((side, side), size)

    def full_read() -> np.ndarray:
        with fits.open(path, memmap=False) as hdul:
            return np.array(hdul[0].data)[window]

    baseline = best_time(full_read)
    value = best_time(lambda: _open_and_read(path, 0, window))
    return Figure("io", f"FITS {side}x{side} float32: open + read {size}x{size} window", value, "s",
                  baseline, "full astropy read")


def _tiff_figure(folder: Path, shape: tuple[int, int], size: int, rng: np.random.Generator) -> Figure:
    import tifffile

    path = folder / "image.tif"
    tifffile.imwrite(path, rng.integers(0, 65535, shape, dtype=np.uint16))
    window = _window(shape, size)
    baseline = best_time(lambda: tifffile.imread(path)[window])
    value = best_time(lambda: _open_and_read(path, 0, window))
    return Figure("io", f"TIFF {shape[1]}x{shape[0]} uint16: open + read {size}x{size} window", value, "s",
                  baseline, "tifffile.imread")


def _segment_figure(folder: Path, layers: int, shape: tuple[int, int], size: int, rng: np.random.Generator) -> Figure:
    import tifffile

    layer_folder = folder / "segment" / "layers"
    layer_folder.mkdir(parents=True)
    tifffile.imwrite(layer_folder / "00.tif", rng.integers(0, 65535, shape, dtype=np.uint16))
    for i in range(1, layers):
        # Only layer 0 is read; the others are full-size files whose data is a hole, to spare the disk.
        tifffile.imwrite(layer_folder / f"{i:02d}.tif", shape=shape, dtype=np.uint16)
    window = _window(shape, size)
    baseline = best_time(lambda: tifffile.imread(layer_folder / "00.tif")[window])
    value = best_time(lambda: _open_and_read(folder / "segment", 0, window))
    return Figure("io", f"segment {layers} x {shape[1]}x{shape[0]} uint16: open + read layer 0 {size}x{size} window",
                  value, "s", baseline, "read the whole layer", note="layers 1+ are sparse files")


def run(quick: bool) -> Iterator[Figure]:
    """Window reads of a big FITS, a big TIFF and a 65-layer segment (smaller inputs when ``quick``)."""
    rng = np.random.default_rng(0)
    side, shape, layers, size = (1024, (1600, 2000), 8, 256) if quick else (4096, (8000, 10000), 65, 1024)
    with tempfile.TemporaryDirectory(prefix="ccdstudio-bench-io-") as tmp:
        folder = Path(tmp)
        yield _fits_figure(folder, side, size, rng)
        yield _tiff_figure(folder, shape, size, rng)
        yield _segment_figure(folder, layers, shape, size, rng)
