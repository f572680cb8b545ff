"""Frames that count electrons: the step between the peaks, and objects that dark charge explains."""

import warnings

import numpy as np
import pytest
from scipy import ndimage

from ccdstudio.imaging.dark_counts import (
    BLOCK, MIN_STEP, Lattice, block_electrons, dark_like, dark_rates, electron_counts, electron_lattice)

ELECTRON = Lattice(25.0, 1.0)
"""The peaks of :func:`counting_frame` by default."""


def counting_frame(rng: np.random.Generator, step: float = 25.0, dark: float = 0.02, shape=(384, 512)):
    """``(z, clusters)``: a frame in read noises whose electrons are ``step`` apart, with ``dark`` electrons a
    pixel, a pedestal drifting by 40 read noises along the rows and 10 along the columns, and twelve clusters
    of 8-60 electrons over a few pixels; ``clusters`` labels them 1-12."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    drift = 40.0 * np.sin(y / 70.0) + 10.0 * np.cos(x / 90.0)
    electrons = rng.poisson(dark, shape).astype(np.float32)
    clusters = np.zeros(shape, np.int32)
    for index in range(12):
        cy, cx = 40 + 60 * (index // 4) + 30 * (index % 2), 40 + 120 * (index % 4)
        blob = np.exp(-((y[cy - 3: cy + 4, cx - 3: cx + 4] - cy) ** 2 + (x[cy - 3: cy + 4, cx - 3: cx + 4] - cx) ** 2) / 2.0)
        charge = rng.poisson(blob * (8 + 52 * index / 11) / blob.sum())
        electrons[cy - 3: cy + 4, cx - 3: cx + 4] += charge
        clusters[cy - 3: cy + 4, cx - 3: cx + 4][charge > 0] = index + 1
    z = drift + step * electrons + rng.normal(size=shape)
    return z.astype(np.float32), clusters


@pytest.mark.parametrize(("step", "dark"), [(6.0, 0.02), (10.0, 0.02), (25.0, 0.002), (60.0, 0.02), (10.0, 1.0)])
def test_the_peaks_at_whole_electrons_are_found_through_the_pedestals_drift(rng, step, dark):
    z, _ = counting_frame(rng, step=step, dark=dark)
    lattice = electron_lattice(z)
    assert lattice.step == pytest.approx(step, rel=0.02)
    assert lattice.noise == pytest.approx(1.0, rel=0.2)  # more dark charge, more neighbours of an electron


def test_the_peaks_are_found_in_any_units(rng):
    """A frame scaled by 15 read noises (the noise of its darkest blocks, where the pedestal drifts), its values
    whole ADU of 0.4 read noises: the read noise is measured from the peaks, not taken from the scale. ADU of
    2 read noises, coarser than the peak of no electron is wide, still show the peaks (a step some 15 % long)."""
    z, _ = counting_frame(rng, step=8.0)
    lattice = electron_lattice(np.rint(z / 0.4) / 37.5)
    assert lattice.step == pytest.approx(8.0 / 15, rel=0.02) and lattice.noise == pytest.approx(1 / 15, rel=0.1)
    assert electron_lattice(np.rint(z / 2.0) * 2.0).step == pytest.approx(8.0, rel=0.2)


def test_frames_that_do_not_count_electrons_have_no_lattice(rng):
    assert electron_lattice(counting_frame(rng, step=0.8, dark=2.0)[0]) is None  # read noise over an electron
    assert electron_lattice(counting_frame(rng, step=0.8 * MIN_STEP, dark=0.3)[0]) is None  # peaks too close
    noise = rng.normal(size=(384, 512)).astype(np.float32)
    noise[::7, ::11] += rng.uniform(5.0, 200.0, noise[::7, ::11].shape)  # charge of any amount, no peaks
    assert electron_lattice(noise) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a width of zero
        assert electron_lattice(np.zeros((100, 100), np.float32)) is None
        assert electron_lattice(np.full((100, 100), np.nan, np.float32)) is None
    noise[:, 100] += 30.0  # a hot column: a peak of one charge, in one column
    noise[:200, 300] += 20.0
    assert electron_lattice(noise) is None


def test_electrons_are_counted_through_the_pedestals_drift(rng):
    z, clusters = counting_frame(rng, dark=0.3)
    counts = electron_counts(z, ELECTRON)
    assert counts.dtype == np.float32 and np.array_equal(counts, np.rint(counts))
    share = np.bincount(counts[clusters == 0].astype(int))[:3] / np.count_nonzero(clusters == 0)
    assert np.allclose(share, np.exp(-0.3) * np.array([1, 0.3, 0.045]), atol=0.005)  # Poisson
    z[5, 7] = np.nan
    assert np.isnan(electron_counts(z, ELECTRON)[5, 7]) and np.isfinite(electron_counts(z, ELECTRON)[5, 8])


def test_block_electrons_measure_the_dark_charge_of_each_block(rng):
    z, _ = counting_frame(rng, dark=0.3)
    z[:, 448:] += 25.0 * rng.poisson(1.0, (384, 64))  # a glowing strip of one more electron a pixel
    counts = electron_counts(z, ELECTRON)
    electrons = block_electrons(counts)
    assert electrons.shape == (384 // BLOCK, 512 // BLOCK)
    assert np.allclose(electrons[:, :7], 0.3, atol=0.05) and np.allclose(electrons[:, 7], 1.3, atol=0.2)
    counts[:, 200:300] = np.nan
    assert np.isnan(block_electrons(counts)[:, 3]).all()


def test_dark_rates_are_at_least_what_the_darker_half_of_the_frame_holds():
    electrons = np.array([[0.0, 0.002, 0.001, 0.0], [0.5, 0.004, np.nan, 0.003]])
    rates = dark_rates(electrons)
    floor = np.mean([0.0, 0.0, 0.001])  # the darker half of the seven measured blocks
    assert rates[0, 0] == pytest.approx(floor) and rates[1, 2] == pytest.approx(floor)
    assert rates[1, 0] == 0.5 and rates[1, 1] == 0.004


def test_dark_like_is_what_the_dark_charge_makes_somewhere_in_the_frame():
    # A megapixel frame with 0.01 electrons a pixel: 50 pixels of 2 electrons are expected, 0.17 of 3.
    like = dark_like(np.array([0, 1, 2, 3, 3, 8]), np.array([1, 1, 1, 1, 4, 9]), np.full(6, 0.01), 10**6)
    assert like.tolist() == [True, True, True, False, True, False]  # 3 in 4 pixels: 11 expected
    assert dark_like(np.array([7, 8]), np.array([1, 1]), np.full(2, 0.5), 10**6).tolist() == [True, False]


def test_single_dark_electrons_are_told_from_clusters(rng):
    z, clusters = counting_frame(rng)
    single = (z > 12.5 + ndimage.median_filter(z, 5)) & (clusters == 0)  # dark electrons, one pixel each
    objects, count = ndimage.label((clusters > 0) | single, np.ones((3, 3), bool))
    counts = electron_counts(z, ELECTRON)
    rates = dark_rates(block_electrons(counts))
    first = np.array([(box[0].start // BLOCK, box[1].start // BLOCK) for box in ndimage.find_objects(objects)])
    dark = dark_like(np.bincount(objects.ravel(), counts.ravel())[1:], np.bincount(objects.ravel())[1:],
                     rates[first[:, 0], first[:, 1]], z.size)
    dark = np.concatenate([[False], dark])
    assert count > 1000
    assert dark[np.unique(objects[single])].mean() > 0.99  # (2 or more electrons in a pixel: a few are not)
    brightest = ndimage.maximum_position(z, clusters, range(1, 13))
    assert not dark[[objects[position] for position in brightest]].any()  # 8 electrons or more
