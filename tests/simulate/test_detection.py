"""Detectability: clusters' signal and matched-filter significance, the ideal observer's recall, efficiency;
the local glow observer."""

import math

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from ccdstudio.simulate.ccd import GLOWING, simulate_ccd
from ccdstudio.simulate.clusters import Deposit
from ccdstudio.simulate.detection import (Efficiency, cluster_significance, dark_level, glow_observer, ideal_recall,
                                         leak_significance, pixel_noise, read_noise)
from tests.simulate.test_ccd import quiet


def test_signal_and_significance_are_in_units_of_the_read_noise(rng):
    params = quiet(read_noise=4.0, gain=2.0)  # 1 e- = 0.5 sigma
    first = Deposit.from_patch("point", 5, 5, np.array([[6.0, 8.0]], np.float32), (30, 30))
    second = Deposit.from_patch("point", 20, 20, np.full((2, 2), 2.0, np.float32), (30, 30))
    frame = simulate_ccd((30, 30), params, rng, deposits=[first, second])
    signal, significance = cluster_significance(frame)
    assert signal == pytest.approx([7.0, 4.0])
    assert significance == pytest.approx([math.hypot(3.0, 4.0), 2.0])


def test_the_shot_noise_of_glow_and_dark_charge_lowers_a_clusters_significance(rng):
    params = quiet(read_noise=4.0, gain=2.0, dark_current=2.0, glow_band=12.0, glow_band_width=10)
    patch = np.full((1, 1), 8.0, np.float32)  # 16 ADU: 4 read noises
    inside, outside = (Deposit.from_patch("point", 15, 3, patch, (30, 30)),
                       Deposit.from_patch("point", 15, 20, patch, (30, 30)))
    frame = simulate_ccd((30, 30), params, rng, deposits=[inside, outside])
    assert frame.glow_adu[:, :10] == pytest.approx(24.0) and (frame.glow_adu[:, 10:] == 0).all()
    noise = pixel_noise(frame)  # 16 + 2 * 24 + 4 * 2 ADU^2 in the band, 16 + 8 beside it
    assert noise[15, 3] == pytest.approx(math.sqrt(72.0)) and noise[15, 20] == pytest.approx(math.sqrt(24.0))
    signal, significance = cluster_significance(frame, noise)
    assert signal == pytest.approx([4.0, 4.0])  # the signal stays in read noises
    assert significance == pytest.approx([16 / math.sqrt(72.0), 16 / math.sqrt(24.0)])


def test_the_leak_is_the_significance_of_the_charge_beside_the_brightest_pixel(rng):
    params = quiet(read_noise=4.0, gain=2.0)
    lone = Deposit.from_patch("point", 5, 5, np.array([[20.0, 1.0]], np.float32), (30, 30))  # 10 and 0.5 sigma
    spread = Deposit.from_patch("point", 20, 20, np.array([[6.0, 8.0], [0.0, 6.0]], np.float32), (30, 30))
    frame = simulate_ccd((30, 30), params, rng, deposits=[lone, spread])
    assert leak_significance(frame) == pytest.approx([0.5, math.hypot(3.0, 3.0)])
    noise = pixel_noise(frame) * 2  # against twice the noise, half the significance
    assert leak_significance(frame, noise) == pytest.approx([0.25, math.hypot(1.5, 1.5)])
    _, significance = cluster_significance(frame)
    assert (leak_significance(frame) < significance).all()
    # What the readout's trail moves beside the brightest pixel is no leak: a hot pixel trails as much.
    trailing = simulate_ccd((30, 30), params.replace(cti_serial=0.01, cti_parallel=0.01), rng, deposits=[lone, spread])
    assert not np.allclose(trailing.cluster_adu, frame.cluster_adu)
    assert leak_significance(trailing) == pytest.approx(leak_significance(frame))


def test_ideal_recall_sets_its_threshold_by_the_allowed_false_detections():
    significance = np.full(100, 6.0)
    recall = ideal_recall(significance, trials=1_000_000, precision=0.95)
    # 100 clusters at 95 % precision allow about 5 noise detections among a million places: Q(t) ~ 5e-6.
    threshold = 6.0 - ndtri(recall)
    assert 1e6 * ndtr(-threshold) == pytest.approx(0.05 / 0.95 * 100 * recall, rel=1e-3)
    assert 0.9 < recall < 0.99


def test_ideal_recall_falls_with_the_places_searched_and_the_precision_asked():
    significance = np.linspace(3, 12, 200)
    assert ideal_recall(significance, 10**4) > ideal_recall(significance, 10**7)
    assert ideal_recall(significance, 10**6, precision=0.5) > ideal_recall(significance, 10**6, precision=0.99)
    assert ideal_recall(np.full(10, 40.0), 10**6) == pytest.approx(1.0)
    assert ideal_recall(np.array([]), 10**6) == 0.0


def test_efficiency_counts_per_signal_bin():
    efficiency = Efficiency()
    efficiency.add(np.array([2.0, 4.0, 4.5, 7.0, 200.0]), np.array([True, True, False, True, True]))
    assert efficiency.labels()[:2] == ["3-5", "5-10"] and efficiency.labels()[-1] == "> 100"
    assert efficiency.clusters.tolist() == [2, 1, 0, 0, 0, 1]
    assert efficiency.found.tolist() == [1, 1, 0, 0, 0, 1]
    recall = efficiency.recall()
    assert recall[0] == 0.5 and np.isnan(recall[2])


def glowing_f1(found: np.ndarray, truth: np.ndarray) -> float:
    return 2 * (found & truth).sum() / (found.sum() + truth.sum())


def test_glow_observer_finds_the_edge_when_told_the_true_pedestal_and_misses_it_when_not(rng):
    params = quiet(read_noise=3.0, gain=2.0, dark_current=1.5, glow_peak=60.0, glow_length=150.0,
                   pedestal_row_drift=6.0)
    frame = simulate_ccd((512, 512), params, rng)
    truth = frame.labels == GLOWING
    everywhere = np.ones(truth.shape, bool)
    level, sigma = dark_level(frame), read_noise(frame)
    assert sigma.min() == sigma.max() == pytest.approx(3.0)
    told = glow_observer(frame.image, level, sigma, everywhere)
    assert glowing_f1(told, truth) > 0.97
    # Told a pedestal 2 sigma too high, it calls the edge where the glow is 5 sigma: far inside the true one.
    high = glow_observer(frame.image, level + 6.0, 3.0, everywhere)
    assert high.sum() < 0.8 * truth.sum() and not (high & ~truth).any()


def test_glow_observer_averages_only_the_pixels_it_may_use(rng):
    image = np.zeros((64, 64))
    image[30:34, 30:34] = 1000.0  # a bright cluster in a frame without glow
    cluster = image > 0
    assert glow_observer(image, 0.0, 1.0, np.ones(image.shape, bool)).any()
    assert not glow_observer(image, 0.0, 1.0, ~cluster).any()
