"""Thresholds: Fiji's automatic methods (hand-computed cases and scikit-image's equivalents on the same
256-bin histogram), ImageJ's binning of 16-bit and float images, k-sigma, hysteresis and class rules."""

import numpy as np
import pytest
from skimage import filters

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.autothreshold import METHODS, threshold_index
from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.imaging.threshold import (
    NoThreshold,
    auto_threshold,
    classify_ranges,
    hysteresis,
    imagej_histogram,
    sigma_threshold,
    threshold_range,
)


def _bimodal_uint8(rng, low=60, high=170, n_low=20000, n_high=8000):
    values = np.concatenate([rng.normal(low, 12, n_low), rng.normal(high, 20, n_high)])
    return values.clip(0, 255).astype(np.uint8).reshape(-1, 100)


def _two_values(a=10, b=200, n=5):
    return np.array([a] * n + [b] * n, dtype=np.uint8).reshape(2, n)


def test_default_on_two_values_is_midway():
    # IJ_IsoData: the class means stay 10 and 200, so the level settles at round(105); "dark background"
    # then selects 106-255.
    assert threshold_index("Default", np.bincount(_two_values().ravel(), minlength=256)) == 105
    assert auto_threshold(_two_values(), "Default") == (106.0, 255.0)
    assert auto_threshold(_two_values(), "Default", dark_background=False) == (0.0, 105.0)


def test_default_clips_a_dominant_mode():
    hist = np.zeros(256, np.int64)
    hist[[20, 100, 180]] = [1000, 10, 10]  # the mode at 20 is clipped to 1.5 x 10 = 15
    # means: low class (20*15)/15 = 20, high class (100*10+180*10)/20 = 140 -> 80; the iteration stops at 80
    assert threshold_index("Default", hist) == 80


def test_mean_and_percentile_by_hand():
    image = np.array([[0, 10, 20, 30]], dtype=np.uint8)
    assert threshold_index("Mean", np.bincount(image.ravel(), minlength=256)) == 15  # floor(60 / 4)
    # the cumulative fraction is exactly 50 % from bin 10 to 19: the first such bin wins
    assert threshold_index("Percentile", np.bincount(image.ravel(), minlength=256)) == 10


@pytest.mark.parametrize("name, reference, tolerance", [
    ("Otsu", filters.threshold_otsu, 0),
    ("Yen", filters.threshold_yen, 0),
    ("IsoData", filters.threshold_isodata, 0),
    ("Li", filters.threshold_li, 2),        # scikit-image iterates on the raw values, ImageJ on bins
    ("Triangle", filters.threshold_triangle, 1),  # ImageJ keeps the split bin in the foreground
    ("Minimum", filters.threshold_minimum, 2),    # smoothing differs at the histogram ends
])
def test_methods_agree_with_scikit_image(rng, name, reference, tolerance):
    image = _bimodal_uint8(rng)
    ours = threshold_index(name, np.bincount(image.ravel(), minlength=256))
    assert abs(ours - float(reference(image))) <= tolerance + 1e-9


def test_mean_agrees_with_scikit_image(rng):
    image = _bimodal_uint8(rng)
    assert threshold_index("Mean", np.bincount(image.ravel(), minlength=256)) == int(filters.threshold_mean(image))


def test_every_method_splits_a_bimodal_histogram(rng):
    hist = np.bincount(_bimodal_uint8(rng).ravel(), minlength=256)
    for name in METHODS:
        t = threshold_index(name, hist)
        assert 40 <= t <= 200, (name, t)


def test_sixteen_bit_images_are_binned_between_min_and_max():
    image = np.array([[1000, 3000]], dtype=np.uint16)
    hist = imagej_histogram(image)
    # ImageJ: bin = int((v - min) * 256 / (max - min + 1) + 0.5), capped at 255
    assert hist.counts[0] == 1 and hist.counts[255] == 1
    low, high = auto_threshold(image, "Otsu")
    # Otsu's first maximum is bin 0, so the objects start at bin 1 = min + 1/255 (max - min)
    assert low == pytest.approx(1000 + 2000 / 255) and high == 3000


def test_float_images_ignore_nan():
    image = np.array([[0.0, 1.0, np.nan], [0.0, 1.0, np.nan]])
    hist = imagej_histogram(image)
    assert hist.counts.sum() == 4 and hist.counts[0] == 2 and hist.counts[255] == 2
    low, high = auto_threshold(image, "Otsu")
    mask = threshold_range(image, low, high)
    assert mask.tolist() == [[False, True, False], [False, True, False]]


def test_constant_and_empty_images():
    with pytest.raises(NoThreshold):
        auto_threshold(np.full((4, 4), 7, np.uint16), "Otsu")
    with pytest.raises(NoThreshold):
        auto_threshold(np.full((4, 4), 7, np.uint8), "Default")
    with pytest.raises(CcdstudioError, match="finite"):
        auto_threshold(np.full((4, 4), np.nan), "Otsu")
    with pytest.raises(CcdstudioError, match="unknown threshold method"):
        auto_threshold(np.arange(16.0).reshape(4, 4), "Magic")


def test_threshold_range_is_inclusive_and_skips_nan():
    image = np.array([1.0, 2.0, 3.0, np.nan])
    assert threshold_range(image, 2, 3).tolist() == [False, True, True, False]
    assert threshold_range(image, 2).tolist() == [False, True, True, False]
    assert not threshold_range(image, 10, 20).any()
    with pytest.raises(CcdstudioError):
        threshold_range(image, 3, 2)


def test_sigma_threshold_uses_the_robust_pedestal(rng):
    image = rng.normal(1000.0, 4.0, (64, 64))
    image[10, 10] = 1100.0
    image[30, 30:33] = [1030.0, 1014.0, 1009.0]
    pedestal, sigma = robust_pedestal(image)
    found = sigma_threshold(image, 5.0, gain=2.0)
    assert found.mask.tolist() == (image >= pedestal + 5 * sigma).tolist()
    assert found.mask[10, 10] and found.mask[30, 30]
    assert float(found.sigma_electrons) == pytest.approx(sigma / 2.0)


def test_sigma_threshold_per_row_follows_drift(rng):
    image = rng.normal(0.0, 2.0, (32, 200)) + np.arange(32)[:, None] * 50.0  # pedestal drifts row to row
    image[20, 100] += 40.0
    found = sigma_threshold(image, 6.0, lines="rows")
    assert found.mask[20, 100] and found.mask.sum() <= 2
    assert not sigma_threshold(image, 6.0).mask[20, 100]  # one pedestal for all rows misses it


def test_hysteresis_grows_seeds_into_connected_pixels():
    seeds = np.zeros((5, 7), bool)
    grow = np.zeros((5, 7), bool)
    grow[1, 1:4] = True  # touches the seed
    grow[4, 0] = True    # isolated: dropped
    grow[2, 4] = True    # diagonal to the run: kept with 8-connectivity only
    seeds[1, 2] = True
    assert hysteresis(seeds, grow, 8).sum() == 4
    assert hysteresis(seeds, grow, 4).sum() == 3
    # background -1, 0, 1 in thirds (median 0, MAD 1, sigma 1.4826): seeds at 10 (> 5 sigma), grow pixels
    # at 5 (> 3 sigma)
    image = np.indices((20, 20)).sum(axis=0) % 3 - 1.0
    image[:5, :7][grow] = 5.0
    image[:5, :7][seeds] = 10.0
    found = sigma_threshold(image, 5.0, 3.0)
    assert found.mask.sum() == 4 and found.mask[1, 2] and not found.mask[4, 0]


def test_classify_ranges_later_rules_win():
    image = np.array([[0.0, 5.0, 10.0, 20.0, np.nan]])
    labels = classify_ranges(image, [(4, 12, 1), (9, 30, 3)])
    assert labels.tolist() == [[0, 1, 3, 3, 0]] and labels.dtype == np.uint8


def test_each_amplifier_of_a_mosaic_keeps_its_own_pedestal_and_noise():
    from ccdstudio.imaging.threshold import amplifier_background
    from ccdstudio.io.source import ArraySource

    rng = np.random.default_rng(3)
    planes = [rng.normal(1000, 2, (30, 40)), rng.normal(3000, 8, (30, 40))]
    headers = [{"DATASEC": "[1:40,1:30]", "DETSEC": "[1:40,1:30]"}, {"DATASEC": "[1:40,1:30]", "DETSEC": "[80:41,1:30]"}]
    pedestal, sigma = amplifier_background(ArraySource(planes, headers=headers))
    assert pedestal.shape == sigma.shape == (30, 80)
    np.testing.assert_allclose(pedestal[:, :40], 1000, atol=0.5)
    np.testing.assert_allclose(pedestal[:, 40:], 3000, atol=2)
    np.testing.assert_allclose(sigma[:, :40], 2, rtol=0.15)
    np.testing.assert_allclose(sigma[:, 40:], 8, rtol=0.15)
    rows, _ = amplifier_background(ArraySource(planes, headers=headers), "rows")
    assert rows.shape == (30, 80) and np.ptp(rows[:, 40:]) > 0  # a pedestal per row of each amplifier
