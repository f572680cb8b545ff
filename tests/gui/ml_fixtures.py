"""A tiny CCD-like model for the Predict and Train tests, trained once per session on toy frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ccdstudio.labels.classes import ClassSet

CLASSES = ClassSet.preset("ccd")  # background, glowing, hot_pixel, cluster
TINY = {"depth": 2, "base": 8}


def toy_frame(rng: np.random.Generator, shape=(96, 96), blobs: int = 8, hot: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """1000 ADU pedestal, 3 ADU noise; square clusters (+80 ADU, class 3) and hot pixels (+3000, class 2)."""
    image = rng.normal(1000.0, 3.0, shape).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    for _ in range(blobs):
        size = int(rng.integers(3, 7))
        y, x = rng.integers(2, shape[0] - size - 2), rng.integers(2, shape[1] - size - 2)
        image[y: y + size, x: x + size] += 80
        labels[y: y + size, x: x + size] = 3
    for _ in range(hot):
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        image[y, x] += 3000
        labels[y, x] = 2
    return image, labels


def write_frames(folder: Path, count: int, seed: int = 0, shape=(96, 96)) -> list[Path]:
    """``count`` FITS frames with ``<stem>_labels.fits`` beside them."""
    from astropy.io import fits

    from ccdstudio.labels.io import save_labels

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        image, labels = toy_frame(rng, shape)
        path = folder / f"toy{i}.fits"
        fits.PrimaryHDU(image).writeto(path, overwrite=True)
        save_labels(folder / f"toy{i}_labels.fits", labels, CLASSES)
        paths.append(path)
    return paths


def train_tiny_model(folder: Path, epochs: int = 12) -> Path:
    """Train the tiny model on three toy frames (a few seconds on one core) and return its file."""
    import torch

    from ccdstudio.jobs import run
    from ccdstudio.ml.data import NO_AUGMENTATION, find_pairs
    from ccdstudio.ml.train import TrainConfig, load_data, train

    write_frames(folder / "data", 3)
    data = load_data(find_pairs([folder / "data"]), classes=CLASSES, crop=32, val_split=0.2, seed=0)
    config = TrainConfig(epochs=epochs, batch_size=8, crop=32, samples_per_epoch=32, lr=1e-2, seed=0, device="cpu",
                         schedule="none", patience=0, class_weighting=False, tile=64, overlap=0.25,
                         augmentation=NO_AUGMENTATION)
    out = folder / "tiny.safetensors"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network gains nothing from more, and loses a lot on a busy machine
    try:
        run(train(data, out, config, TINY))
    finally:
        torch.set_num_threads(threads)
    return out
