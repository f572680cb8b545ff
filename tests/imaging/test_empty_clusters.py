"""Cluster objects with no charge of their own: summed excess over the surroundings."""

import numpy as np
import pytest
from scipy import ndimage

from ccdstudio.imaging.empty_clusters import LEVEL, significance
from ccdstudio.imaging.objects import boxed_objects


def measure(z: np.ndarray, called: np.ndarray, hot: np.ndarray | None = None) -> np.ndarray:
    """:func:`significance` of every object of ``called``, clusters and ``hot`` pixels kept out of the
    surroundings as the post-processing step keeps them."""
    objects, _ = ndimage.label(called, np.ones((3, 3), bool))
    settled = ndimage.maximum_filter(called | (False if hot is None else hot), size=3)
    return significance(z, objects, settled, boxed_objects(objects))


def test_a_deposit_stands_out_and_noise_beside_a_hot_pixel_does_not(rng):
    z = (100.0 + rng.normal(size=(60, 60))).astype(np.float32)  # any level: measured against the surroundings
    called, hot = np.zeros(z.shape, bool), np.zeros(z.shape, bool)
    z[10:12, 10:12] += 2.5  # a faint deposit of four pixels: 5 sigma summed
    called[10:12, 10:12] = True
    z[40, 40] += 300.0  # a hot pixel, and the network's cluster pixels above and below it
    hot[40, 40] = True
    called[39, 40] = called[41, 40] = True
    result = measure(z, called, hot)
    assert result[0] > LEVEL and result[1] < LEVEL
    assert result[1] == pytest.approx(0.0, abs=2.5)


def test_the_surroundings_set_the_level_and_the_noise(rng):
    z = rng.normal(size=(40, 40)).astype(np.float32)
    called = np.zeros(z.shape, bool)
    called[20, 20] = True
    z[20, 20] = 4.0
    quiet = measure(z, called)[0]
    assert measure(z + 50.0, called)[0] == pytest.approx(quiet, rel=1e-4)  # a glow's or a drift's level
    assert measure(z * 4.0, called)[0] == pytest.approx(quiet, rel=1e-4)  # the frame's scale


def test_objects_that_cannot_be_measured_are_nan(rng):
    z = rng.normal(size=(30, 30)).astype(np.float32)
    called = np.zeros(z.shape, bool)
    called[5, 5] = called[20, 20] = True
    z[5, 5] = np.nan  # no finite pixel of its own
    z[16:25, 16:25] = np.nan  # surroundings all NaN
    z[20, 20] = 8.0
    assert np.isnan(measure(z, called)).all()
