"""A CCD's hot pixels from a series of class maps, and a frame corrected with them."""

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.ml.hot_mask import HotPixelCount, apply_hot_mask

NAMES = ("background", "glowing", "hot_pixel", "cluster")
BACKGROUND, GLOWING, HOT, CLUSTER = range(4)


def series(rng: np.random.Generator, frames: int = 5) -> list[np.ndarray]:
    """Class maps of one CCD: hot pixels at (5, 5) and (20, 30) in every frame, missed once; a one-pixel
    cluster called hot_pixel somewhere else in each frame."""
    maps = []
    for i in range(frames):
        labels = np.zeros((40, 50), np.uint8)
        labels[5, 5] = HOT
        labels[20, 30] = HOT if i else BACKGROUND
        y, x = rng.integers(10, 18), rng.integers(10, 25)
        labels[y, x] = HOT
        maps.append(labels)
    return maps


def test_pixels_called_hot_in_most_frames_are_the_mask(rng):
    counts = HotPixelCount(NAMES)
    for labels in series(rng):
        counts.add(labels)
    mask = counts.mask()
    assert mask[5, 5] and mask[20, 30] and mask.sum() == 2
    assert counts.mask(min_share=1.0).sum() == 1


def test_a_mask_needs_three_frames_of_one_size_and_a_hot_pixel_class(rng):
    counts = HotPixelCount(NAMES)
    for labels in series(rng, frames=2):
        counts.add(labels)
    with pytest.raises(CcdstudioError, match="at least 3 frames"):
        counts.mask()
    with pytest.raises(CcdstudioError, match="frames of one size"):
        counts.add(np.zeros((10, 10), np.uint8))
    with pytest.raises(CcdstudioError, match="hot_pixel class"):
        HotPixelCount(("background", "ink"))


def test_applying_the_mask_makes_lone_hot_calls_clusters(rng):
    mask = np.zeros((40, 50), bool)
    mask[5, 5] = mask[20, 30] = True
    labels = np.zeros((40, 50), np.uint8)
    labels[12, 15] = HOT  # a one-pixel deposit
    labels[5, 7] = HOT  # beside a hot pixel: its trail
    labels[20, 30] = GLOWING  # a hot pixel the network missed
    assert apply_hot_mask(labels, mask, NAMES) == 3
    assert labels[12, 15] == CLUSTER and labels[5, 7] == HOT
    assert labels[5, 5] == HOT and labels[20, 30] == HOT
    with pytest.raises(CcdstudioError, match="mask is 50x40 pixels, the frame 5x4"):
        apply_hot_mask(np.zeros((4, 5), np.uint8), mask, NAMES)
    with pytest.raises(CcdstudioError, match="hot_pixel and cluster"):
        apply_hot_mask(labels, mask, ("background", "hot_pixel"))
