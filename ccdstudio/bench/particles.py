"""Particle analysis speed: the full ImageJ Results table of a 4k x 4k CCD-like frame with ~14,000 particles,
next to scikit-image (``label`` + ``regionprops_table``) and OpenCV (``connectedComponentsWithStats``,
area and box only), all timed in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ccdstudio.bench import Figure, best_time

GROUP = "particles"


def synthetic_frame(size: int = 4096, particles: int = 14_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A CCD-like frame (pedestal 1000 ADU, read noise 3 ADU) with ``particles`` charge blobs, tracks and
    hot pixels; and the 5-sigma mask of it."""
    import cv2

    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 3.0, (size, size)).astype(np.float32)
    charge = np.zeros((size, size), np.float32)
    centres = rng.integers(8, size - 8, (particles, 2))
    kinds = rng.random(particles)
    for (y, x), kind in zip(centres, kinds):
        if kind < 0.8:  # diffusion-limited point-like clusters
            cv2.circle(charge, (int(x), int(y)), int(rng.integers(1, 4)), float(rng.uniform(30, 300)), -1)
        elif kind < 0.95:  # short straight tracks
            dx, dy = rng.integers(-12, 13, 2)
            cv2.line(charge, (int(x), int(y)), (int(x + dx), int(y + dy)), float(rng.uniform(30, 100)), 1)
        else:  # hot pixels
            charge[y, x] = float(rng.uniform(50, 500))
    image += charge
    return image, image >= 1000.0 + 5 * 3.0


def run(quick: bool) -> Iterator[Figure]:
    import cv2
    from skimage import measure

    from ccdstudio.imaging.particles import ParticleOptions, analyze_particles

    size, count = (1024, 900) if quick else (4096, 14_000)
    image, mask = synthetic_frame(size, count)
    repeat = 3 if quick else 2
    options = ParticleOptions(pedestal=1000.0)
    n = len(analyze_particles(mask, image, options).table)
    ours = best_time(lambda: analyze_particles(mask, image, options), repeat)
    mask_u8 = mask.view(np.uint8)
    opencv = best_time(lambda: cv2.connectedComponentsWithStats(mask_u8, connectivity=8, ltype=cv2.CV_32S),
                       repeat)

    def skimage_table() -> None:
        labels = measure.label(mask, connectivity=2)
        measure.regionprops_table(labels, properties=("area", "bbox", "centroid", "perimeter"))

    scikit = best_time(skimage_table, 1 if not quick else repeat)
    note = f"{size}x{size}, {n} particles, all columns but Feret"
    yield Figure(GROUP, "Results table vs skimage label+regionprops", ours, "s", scikit,
                 "skimage label + regionprops_table(area, bbox, centroid, perimeter)", note=note)
    yield Figure(GROUP, "Results table vs OpenCV components+stats", ours, "s", opencv,
                 "cv2.connectedComponentsWithStats (area and box only)", note=note)
