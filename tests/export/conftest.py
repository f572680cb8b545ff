"""Small segment folders and label maps whose pixels say where they came from."""

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

SEGMENT_SHAPE = (60, 80)
SEGMENT_LAYERS = 8


def coded_layer(k: int, shape=SEGMENT_SHAPE) -> np.ndarray:
    """Layer ``k`` of a coded segment: pixel value = k * h * w + y * w + x (unique, uint16)."""
    h, w = shape
    y, x = np.indices(shape)
    return (k * h * w + y * w + x).astype(np.uint16)


def ink_labels(shape=SEGMENT_SHAPE) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[10:45, 15:60] = 1
    labels[20:25, 30:40] = 0  # a hole
    return labels


def segment_mask(shape=SEGMENT_SHAPE) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[2:58, 4:76] = True
    return mask


def make_segment(folder: Path, layers: int = SEGMENT_LAYERS, shape=SEGMENT_SHAPE) -> Path:
    """A segment folder like the Vesuvius ones: layers/NN.tif (uint16), mask.png and inklabels.png (0/255)."""
    (folder / "layers").mkdir(parents=True)
    for k in range(layers):
        tifffile.imwrite(folder / "layers" / f"{k:02d}.tif", coded_layer(k, shape))
    Image.fromarray(np.where(segment_mask(shape), 255, 0).astype(np.uint8)).save(folder / "mask.png")
    Image.fromarray(ink_labels(shape) * np.uint8(255)).save(folder / "inklabels.png")
    return folder


@pytest.fixture
def segment(tmp_path) -> Path:
    return make_segment(tmp_path / "seg0001")
