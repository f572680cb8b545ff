"""Export figures: random crops of a 65-layer segment (time and memory), window sampling, box finding.

Baselines, measured in the same run: the raw I/O of reading the same windows from memory-mapped layers and
writing them with the same atomic TIFF writer (the floor any crop export pays); a sampler that reads every candidate window
(what the coarse screen avoids); and connected-component labelling alone (what box finding adds to).
"""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time

GROUP = "export"
LAYERS = 65


def run(quick: bool) -> Iterator[Figure]:
    shape = (1024, 768) if quick else (4000, 3000)
    size, count, layers = (128, 8, (15, 50)) if quick else (1028, 20, (15, 50))
    with tempfile.TemporaryDirectory(prefix="ccdstudio-bench-export-") as tmp:
        folder = _synthetic_segment(Path(tmp) / "segment", shape)
        yield from _crops(folder, Path(tmp), shape, size, count, layers)
    yield _sampling(quick)
    yield _boxes(quick)


def _synthetic_segment(folder: Path, shape: tuple[int, int]) -> Path:
    """65 uint16 layers, a mask over most of the frame and blobs of ink, written like a real segment."""
    import cv2
    import tifffile

    from ccdstudio.io.write import write_png

    rng = np.random.default_rng(0)
    (folder / "layers").mkdir(parents=True)
    layer = rng.integers(20000, 40000, size=shape, dtype=np.uint16)
    for k in range(LAYERS):
        tifffile.imwrite(folder / "layers" / f"{k:02d}.tif", layer + np.uint16(k))
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (shape[1] // 2, shape[0] // 2), (shape[1] * 9 // 20, shape[0] * 9 // 20), 0, 0, 360, 255, -1)
    write_png(folder / "mask.png", mask)
    write_png(folder / "inklabels.png", _ink(shape, rng) * np.uint8(255))
    return folder


def _ink(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Blobs of ink covering about a fifth of the frame, made at 1/32 scale and enlarged."""
    import cv2
    from scipy import ndimage

    small = ndimage.gaussian_filter(rng.normal(size=(shape[0] // 32 + 1, shape[1] // 32 + 1)), 2)
    ink = (small > np.quantile(small, 0.8)).astype(np.uint8)
    return cv2.resize(ink, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _crops(folder: Path, tmp: Path, shape: tuple[int, int], size: int, count: int,
           layers: tuple[int, int]) -> Iterator[Figure]:
    import tifffile

    from ccdstudio.export.crops import CropOptions, export_crops
    from ccdstudio.io import open_image, write_tiff
    from ccdstudio.jobs import run as run_job

    options = CropOptions(size=size, count=count, min_fraction=0.15, layers=layers, flip=0.5, rot90=0.5, seed=1)
    outputs = iter(range(1000))

    def export() -> None:
        with open_image(folder) as source:
            run_job(export_crops(source, tmp / f"crops{next(outputs)}", options))

    elapsed = best_time(export, repeat=1)
    tracemalloc.start()  # a second run, as tracing slows everything down
    export()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    windows = [(p["y"], p["x"]) for s in _manifest(tmp / "crops0")["samples"] for p in s["pieces"]]

    def raw_io() -> None:
        for i, (y, x) in enumerate(windows):
            for k in range(layers[0], layers[1] + 1):
                data = tifffile.memmap(folder / "layers" / f"{k:02d}.tif")[y : y + size, x : x + size]
                write_tiff(tmp / f"raw{i}_{k}.tif", np.array(data))

    baseline = best_time(raw_io, repeat=1)
    n_layers = layers[1] - layers[0] + 1
    what = f"{count} crops {size}x{size} x {n_layers} layers of a {LAYERS}-layer {shape[1]}x{shape[0]} segment"
    yield Figure(GROUP, f"crops: {what}", elapsed, "s", baseline, "read windows + io.write_tiff",
                 note="includes window drawing and label/mask files")
    stack_mb = n_layers * shape[0] * shape[1] * 2 / 2**20
    yield Figure(GROUP, "crops: peak traced memory", peak / 2**20, "MiB", stack_mb, "the layer range loaded whole",
                 note="layers are read one window at a time")


def _manifest(folder: Path) -> dict:
    from ccdstudio.export.output import read_manifest

    return read_manifest(folder)


def _sampling(quick: bool) -> Figure:
    from ccdstudio.export.sampling import random_windows

    shape, size, count = ((2000, 1600), 256, 10) if quick else ((10000, 8000), 1028, 40)
    labels = _ink(shape, np.random.default_rng(1))

    def screened() -> None:
        random_windows(shape, size, count, np.random.default_rng(2), labels=labels, cls=1, min_fraction=0.3)

    def naive() -> None:
        rng, found = np.random.default_rng(2), 0
        while found < count:
            y, x = rng.integers(0, shape[0] - size + 1), rng.integers(0, shape[1] - size + 1)
            found += (labels[y : y + size, x : x + size] == 1).mean() > 0.3

    value, baseline = best_time(screened), best_time(naive)
    return Figure(GROUP, f"random_windows: {count} windows {size}px > 30% ink in {shape[1]}x{shape[0]}", value, "s",
                  baseline, "reading every candidate window")


def _boxes(quick: bool) -> Figure:
    from scipy import ndimage

    from ccdstudio.export.boxes import find_boxes

    side = 1024 if quick else 4096
    rng = np.random.default_rng(3)
    labels = np.zeros((side, side), np.uint8)
    n = side * side // 2000  # a busy CCD frame: hot pixels and small clusters
    ys, xs = rng.integers(0, side - 4, n), rng.integers(0, side - 4, n)
    for i, (y, x) in enumerate(zip(ys, xs)):
        h, w = rng.integers(1, 4, 2)
        labels[y : y + h, x : x + w] = 2 if h * w == 1 else 3

    def components() -> None:
        for cls in (2, 3):
            regions, _ = ndimage.label(labels == cls, structure=np.ones((3, 3), bool))
            ndimage.find_objects(regions)

    value = best_time(lambda: find_boxes(labels), repeat=1)
    return Figure(GROUP, f"find_boxes: {n} regions in a {side}x{side} label map", value, "s",
                  best_time(components), "scipy.ndimage.label + find_objects", note="adds each region's mask and solidity")
