"""Tiny synthetic CCD-like frames with exact labels, written as FITS + label files for the ML tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ccdstudio.labels.classes import ClassSet

# Tiny networks gain nothing from a second thread, and OpenMP threads slow down 10x or more when the CI
# machine's cores are busy with other test processes.
torch.set_num_threads(1)

CLASSES = ClassSet.from_names(["background", "blob", "hot_pixel"])


def toy_frame(rng: np.random.Generator, shape: tuple[int, int] = (64, 64), blobs: int = 6,
              hot: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A 1000-ADU pedestal with 3-ADU noise, square blobs (+60 ADU, class 1) and hot pixels (+3000, class 2)."""
    image = rng.normal(1000.0, 3.0, shape).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    for _ in range(blobs):
        size = int(rng.integers(3, 7))
        y, x = rng.integers(0, shape[0] - size), rng.integers(0, shape[1] - size)
        image[y: y + size, x: x + size] += 60
        labels[y: y + size, x: x + size] = 1
    for _ in range(hot):
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        image[y, x] += 3000
        labels[y, x] = 2
    return image, labels


def write_pair(folder: Path, name: str, image: np.ndarray, labels: np.ndarray | None) -> Path:
    """``folder/name.fits`` (with a header card to check it is kept) and ``folder/name_labels.fits``."""
    from astropy.io import fits

    from ccdstudio.labels.io import save_labels

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.fits"
    header = fits.Header()
    header["EXPTIME"] = (30.0, "exposure")
    fits.PrimaryHDU(image, header=header).writeto(path)
    if labels is not None:
        save_labels(folder / f"{name}_labels.fits", labels, CLASSES)
    return path


@pytest.fixture
def toy_files(tmp_path: Path, rng: np.random.Generator) -> list[Path]:
    """Three 64x64 FITS frames with labels beside them."""
    return [write_pair(tmp_path / "data", f"frame{i}", *toy_frame(rng)) for i in range(3)]
