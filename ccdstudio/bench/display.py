"""Benchmarks of what the user waits for when an image is shown: the first view and a zoomed-in re-render.

First view = open the file, sample levels, build the overview (everything before pixels appear), timed
against reading the whole plane with tifffile / astropy, which is what a naive viewer does first. Peak
memory of both is measured with tracemalloc (numpy reports its buffers to it).
"""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time

GROUP = "display"
SCREEN = (1600, 1000)


def _ccd_like(shape: tuple[int, int], dtype: type, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 5.0, shape).astype(np.float32)
    hits = rng.integers(0, min(shape), (50, 2))
    image[hits[:, 0], hits[:, 1]] = 20000.0
    return image.astype(dtype)


def _first_view(path: Path) -> None:
    from ccdstudio.imaging.render import prepare_plane
    from ccdstudio.imaging.stretch import cut_levels
    from ccdstudio.io import open_image
    from ccdstudio.jobs import run

    with open_image(path) as source:
        prepared = run(prepare_plane(source, 0))
        cut_levels(prepared.sample, "zscale")


def _peak_mb(func: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _zoomed_render(path: Path) -> Callable[[], object]:
    """A re-render of a 1:1 view at the middle of the plane (the overview is built beforehand)."""
    from ccdstudio.imaging.render import prepare_plane, render_view
    from ccdstudio.io import open_image
    from ccdstudio.jobs import run

    source = open_image(path)
    prepared = run(prepare_plane(source, 0))
    height, width = source.planes[0].shape
    x0, y0 = width // 2 - SCREEN[0] // 2, height // 2 - SCREEN[1] // 2
    visible = (x0, y0, x0 + SCREEN[0], y0 + SCREEN[1])
    return lambda: render_view(source, 0, prepared.overview, visible, SCREEN, prepared.outliers, margin=0.0)


def run(quick: bool) -> Iterator[Figure]:
    import tifffile
    from astropy.io import fits

    tiff_shape = (1600, 2000) if quick else (8000, 10000)
    fits_shape = (1024, 1024) if quick else (4096, 4096)
    repeat = 3 if quick else 2
    with tempfile.TemporaryDirectory(prefix="ccdstudio-bench-") as folder:
        tiff_path, fits_path = Path(folder) / "layer.tif", Path(folder) / "frame.fits"
        tifffile.imwrite(tiff_path, _ccd_like(tiff_shape, np.uint16))
        fits.PrimaryHDU(_ccd_like(fits_shape, np.float32)).writeto(fits_path)

        tiff_name = f"{tiff_shape[1]}x{tiff_shape[0]} uint16 TIFF"
        baseline = best_time(lambda: tifffile.imread(tiff_path), repeat)
        yield Figure(GROUP, f"first view, {tiff_name}", best_time(lambda: _first_view(tiff_path), repeat), "s",
                     baseline, "tifffile.imread (full read)", note="open + levels + overview")
        yield Figure(GROUP, f"first view peak memory, {tiff_name}", _peak_mb(lambda: _first_view(tiff_path)), "MiB",
                     _peak_mb(lambda: tifffile.imread(tiff_path)), "tifffile.imread (full read)")
        render = _zoomed_render(tiff_path)
        yield Figure(GROUP, f"zoomed-in 1:1 re-render {SCREEN[0]}x{SCREEN[1]}, {tiff_name}",
                     best_time(render, repeat + 2), "s", baseline, "tifffile.imread (full read)")

        fits_name = f"{fits_shape[1]}x{fits_shape[0]} float32 FITS"
        baseline = best_time(lambda: fits.getdata(fits_path, memmap=False), repeat)
        yield Figure(GROUP, f"first view, {fits_name}", best_time(lambda: _first_view(fits_path), repeat), "s",
                     baseline, "astropy getdata (full read)", note="open + levels + overview")
        yield Figure(GROUP, f"first view peak memory, {fits_name}", _peak_mb(lambda: _first_view(fits_path)), "MiB",
                     _peak_mb(lambda: fits.getdata(fits_path, memmap=False)), "astropy getdata (full read)")
